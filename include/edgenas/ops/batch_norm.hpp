// edgenas/ops/batch_norm.hpp — batch normalisation over N·H·W per channel, and folding into a conv.
//
// Training mode normalises with the batch's statistics (biased variance, as in the paper and
// PyTorch) and updates the running averages with the unbiased variance; eval mode uses the
// running averages. Statistics are accumulated in double, per thread chunk, in chunk order.
#pragma once

#include <cmath>
#include <span>
#include <utility>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/ops/activation.hpp"
#include "edgenas/core/tensor.hpp"

namespace edgenas::ops {

/// What training-mode forward keeps for backward.
struct BatchNormCache {
  std::vector<float> mean;     // batch mean per channel
  std::vector<float> inv_std;  // 1 / sqrt(batch variance + eps) per channel
};

struct BatchNormConfig {
  float eps = 1e-5f;
  float momentum = 0.1f;  // running = (1 - momentum)·running + momentum·batch
};

namespace detail {

inline void check_channel_params(const char* op, const char* name, std::size_t size, int channels) {
  EDGENAS_CHECK(size == static_cast<std::size_t>(channels), Status::invalid_shape,
                "%s: %s has %zu values, expected one per channel (%d)", op, name, size, channels);
}

// Per-channel sums of several terms over all rows: fn(row, c, float* acc) adds its terms to
// acc[t·C + c]. Each thread sums its rows in float within blocks of 256 rows (vectorised) and
// in double across blocks; chunks are combined in order, so results are reproducible.
template <int Terms, typename Fn>
std::vector<double> channel_sums(std::int64_t rows, int C, Fn&& fn) {
  const std::size_t width = static_cast<std::size_t>(Terms) * static_cast<std::size_t>(C);
  std::vector<std::vector<double>> partial(static_cast<std::size_t>(parallel_chunks(rows)), std::vector<double>(width, 0.0));
  parallel_for(rows, [&](int chunk, std::int64_t first, std::int64_t last) {
    double* total = partial[static_cast<std::size_t>(chunk)].data();
    std::vector<float> block(width);
    for (std::int64_t b = first; b < last; b += 256) {
      std::fill(block.begin(), block.end(), 0.0f);
      const std::int64_t end = std::min(last, b + 256);
      for (std::int64_t r = b; r < end; ++r) fn(r, block.data());
      for (std::size_t i = 0; i < width; ++i) total[i] += block[i];
    }
  });
  std::vector<double> sums(width, 0.0);
  for (const auto& p : partial)
    for (std::size_t i = 0; i < width; ++i) sums[i] += p[i];
  return sums;
}

// y[r, c] = x[r, c]·scale[c] + shift[c]
inline void channel_affine(const float* x, std::int64_t rows, int C, const float* scale, const float* shift, float* y) {
  parallel_for(rows, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t r = first; r < last; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      for (int c = 0; c < C; ++c) yr[c] = xr[c] * scale[c] + shift[c];
    }
  });
}

}  // namespace detail

namespace detail {
inline void batch_norm_forward_train_statistics(ConstTensorView x, std::span<const float> gamma, std::span<const float> beta,
                                     std::span<float> running_mean, std::span<float> running_var,
                                     BatchNormConfig config, TensorView y, BatchNormCache& cache) {
  const Shape xs = x.shape();
  const int C = xs.c;
  const std::int64_t M = xs.rows();
  EDGENAS_CHECK(y.shape() == xs, Status::invalid_shape, "batch_norm_forward_train: output shape differs from input");
  EDGENAS_CHECK(M >= 2, Status::invalid_shape,
                "batch_norm_forward_train: %lld value(s) per channel; batch statistics need at least 2",
                static_cast<long long>(M));
  for (auto [name, size] : {std::pair{"gamma", gamma.size()}, {"beta", beta.size()},
                            {"running_mean", running_mean.size()}, {"running_var", running_var.size()}})
    check_channel_params("batch_norm_forward_train", name, size, C);

  // One pass: Σ(x − k) and Σ(x − k)² with k the first row, so the variance does not suffer
  // from cancellation when |mean| ≫ std.
  const float* xp = x.data();
  const std::vector<float> shift_k(xp, xp + C);
  const float* k = shift_k.data();
  const std::vector<double> sums = channel_sums<2>(M, C, [&](std::int64_t r, float* acc) {
    const float* row = xp + r * C;
    for (int c = 0; c < C; ++c) {
      const float d = row[c] - k[c];
      acc[c] += d;
      acc[C + c] += d * d;
    }
  });
  std::vector<double> mean(static_cast<std::size_t>(C)), sq(static_cast<std::size_t>(C));
  for (std::size_t c = 0; c < static_cast<std::size_t>(C); ++c) {
    const double shifted_mean = sums[c] / static_cast<double>(M);
    mean[c] = k[c] + shifted_mean;
    sq[c] = std::max(0.0, sums[static_cast<std::size_t>(C) + c] - static_cast<double>(M) * shifted_mean * shifted_mean);
  }

  cache.mean.resize(static_cast<std::size_t>(C));
  cache.inv_std.resize(static_cast<std::size_t>(C));
  for (std::size_t c = 0; c < static_cast<std::size_t>(C); ++c) {
    const double var = sq[c] / static_cast<double>(M);
    const double inv_std = 1.0 / std::sqrt(var + config.eps);
    cache.mean[c] = static_cast<float>(mean[c]);
    cache.inv_std[c] = static_cast<float>(inv_std);
    const double unbiased = sq[c] / static_cast<double>(M - 1);
    running_mean[c] = static_cast<float>((1.0 - config.momentum) * running_mean[c] + config.momentum * mean[c]);
    running_var[c] = static_cast<float>((1.0 - config.momentum) * running_var[c] + config.momentum * unbiased);
  }
}
}  // namespace detail

/// Per-channel scale and shift that eval-mode batch norm applies (also what folding uses).
inline void batch_norm_eval_affine(std::span<const float> gamma, std::span<const float> beta,
                                   std::span<const float> running_mean, std::span<const float> running_var, float eps,
                                   std::span<float> scale, std::span<float> shift) {
  for (std::size_t c = 0; c < gamma.size(); ++c) {
    const double s = gamma[c] / std::sqrt(double{running_var[c]} + eps);
    scale[c] = static_cast<float>(s);
    shift[c] = static_cast<float>(beta[c] - running_mean[c] * s);
  }
}

/// Eval-mode forward with the running statistics. y may alias x.
inline void batch_norm_forward_eval(ConstTensorView x, std::span<const float> gamma, std::span<const float> beta,
                                    std::span<const float> running_mean, std::span<const float> running_var, float eps,
                                    TensorView y) {
  const int C = x.shape().c;
  EDGENAS_CHECK(y.shape() == x.shape(), Status::invalid_shape, "batch_norm_forward_eval: output shape differs from input");
  for (auto [name, size] : {std::pair{"gamma", gamma.size()}, {"beta", beta.size()},
                            {"running_mean", running_mean.size()}, {"running_var", running_var.size()}})
    detail::check_channel_params("batch_norm_forward_eval", name, size, C);
  std::vector<float> scale(static_cast<std::size_t>(C)), shift(static_cast<std::size_t>(C));
  batch_norm_eval_affine(gamma, beta, running_mean, running_var, eps, scale, shift);
  detail::channel_affine(x.data(), x.shape().rows(), C, scale.data(), shift.data(), y.data());
}

/// Gradient of batch_norm_forward_eval w.r.t. its input (frozen statistics). dx may alias dy.
inline void batch_norm_backward_eval(std::span<const float> gamma, std::span<const float> running_var, float eps,
                                     ConstTensorView dy, TensorView dx) {
  const int C = dy.shape().c;
  EDGENAS_CHECK(dx.shape() == dy.shape(), Status::invalid_shape, "batch_norm_backward_eval: gradient shapes differ");
  std::vector<float> scale(static_cast<std::size_t>(C)), zero(static_cast<std::size_t>(C), 0.0f);
  for (std::size_t c = 0; c < static_cast<std::size_t>(C); ++c)
    scale[c] = static_cast<float>(gamma[c] / std::sqrt(double{running_var[c]} + eps));
  detail::channel_affine(dy.data(), dy.shape().rows(), C, scale.data(), zero.data(), dx.data());
}

// ---- batch norm fused with the activation that follows it ------------------------------
//
// Training spends much of its time streaming activations through memory. The fused forms
// never store the normalised tensor: forward writes f(bn(x)) in the pass after the statistics,
// backward recomputes bn(x) from x on the fly. Results equal the separate ops (tested).

/// y = act(γ·(x − mean)·inv_std + β) with the statistics of `cache`: the second pass of
/// batch_norm_act_forward_train. Called again on the same x it writes the same bits, which lets
/// training recompute an activation in backward instead of keeping it (train/network.hpp).
/// y may alias x.
inline void batch_norm_act_apply(ConstTensorView x, std::span<const float> gamma, std::span<const float> beta,
                                 const BatchNormCache& cache, Activation act, TensorView y) {
  const int C = x.shape().c;
  EDGENAS_CHECK(y.shape() == x.shape() && cache.mean.size() == static_cast<std::size_t>(C) &&
                    cache.inv_std.size() == static_cast<std::size_t>(C) && gamma.size() == cache.mean.size() &&
                    beta.size() == cache.mean.size(),
                Status::invalid_shape, "batch_norm_act_apply: %d channels, statistics for %zu, output shape %s",
                C, cache.mean.size(), y.shape() == x.shape() ? "equal" : "different");
  std::vector<float> scale(static_cast<std::size_t>(C)), shift(static_cast<std::size_t>(C));
  for (std::size_t c = 0; c < static_cast<std::size_t>(C); ++c) {
    scale[c] = gamma[c] * cache.inv_std[c];
    shift[c] = beta[c] - cache.mean[c] * scale[c];
  }
  with_activation(act, [&]<Activation A>() {
    const float* xp = x.data();
    float* yp = y.data();
    const float *sc = scale.data(), *sh = shift.data();
    parallel_for(x.shape().rows(), [&](int, std::int64_t first, std::int64_t last) {
      const float* __restrict s_ = sc;
      const float* __restrict h_ = sh;
      for (std::int64_t r = first; r < last; ++r) {
        const float* xr = xp + r * C;
        float* yr = yp + r * C;
        for (int c = 0; c < C; ++c) yr[c] = activate<A>(xr[c] * s_[c] + h_[c]);
      }
    });
  });
}

/// y = act(batch_norm_train(x)); fills `cache` (mean, inv_std) for the fused backward.
/// y may alias x.
inline void batch_norm_act_forward_train(ConstTensorView x, std::span<const float> gamma, std::span<const float> beta,
                                         std::span<float> running_mean, std::span<float> running_var,
                                         BatchNormConfig config, Activation act, TensorView y, BatchNormCache& cache) {
  // Statistics and the running-average update as in batch_norm_forward_train, then one pass.
  detail::batch_norm_forward_train_statistics(x, gamma, beta, running_mean, running_var, config, y, cache);
  batch_norm_act_apply(x, gamma, beta, cache, act, y);
}

/// y = act(batch_norm_eval(x)).
inline void batch_norm_act_forward_eval(ConstTensorView x, std::span<const float> gamma, std::span<const float> beta,
                                        std::span<const float> running_mean, std::span<const float> running_var,
                                        float eps, Activation act, TensorView y) {
  batch_norm_forward_eval(x, gamma, beta, running_mean, running_var, eps, y);
  if (act != Activation::identity) activation_forward(act, y, y);
}

/// What the second pass of batch-norm(+act) backward needs per channel, from the first:
///   dx = scale·(g − a − x̂·b),  g = dy·act'(x·scale + shift),  x̂ = (x − mean)·inv_std.
struct BatchNormBackward {
  Activation act = Activation::identity;
  std::vector<float> scale, shift, mean, inv_std, a, b;
};

namespace detail {
// dL/d(bn output) = dy · f'(bn(x)) for n channels from c0, recomputed in both passes instead of
// stored. Each row goes through a stack tile of ≤ 256 channels: first this plain map loop, then
// the sums or the output. GCC vectorises the two simple loops for every activation; the single
// fused loop stayed scalar for most of them.
inline constexpr int bn_tile = 256;
template <Activation A>
inline void grad_through_act(const BatchNormBackward& bn, const float* __restrict xr, const float* __restrict gr,
                             int c0, int n, float* __restrict out) {
  const float* __restrict sc = bn.scale.data() + c0;
  const float* __restrict sh = bn.shift.data() + c0;
  for (int c = 0; c < n; ++c) out[c] = gr[c] * derivative<A>(xr[c] * sc[c] + sh[c]);
}
}  // namespace detail

/// Second pass of batch-norm(+act) backward on `rows` rows of C channels: writes their input
/// gradient to dx (which may alias dy: each row is read before it is written). Kernels that
/// consume the gradient call it block by block, so the gradient never travels through memory.
inline void batch_norm_act_backward_rows(const BatchNormBackward& bn, const float* x, const float* dy,
                                         std::int64_t rows, float* dx) {
  const int C = static_cast<int>(bn.scale.size());
  with_activation(bn.act, [&]<Activation A>() {
    float gb[detail::bn_tile];
    for (std::int64_t r = 0; r < rows; ++r)
      for (int c0 = 0; c0 < C; c0 += detail::bn_tile) {
        const int n = std::min(detail::bn_tile, C - c0);
        const float* __restrict xr = x + r * C + c0;
        detail::grad_through_act<A>(bn, xr, dy + r * C + c0, c0, n, gb);
        const float* __restrict sc = bn.scale.data() + c0;
        const float* __restrict mu = bn.mean.data() + c0;
        const float* __restrict is = bn.inv_std.data() + c0;
        const float* __restrict av = bn.a.data() + c0;
        const float* __restrict bv = bn.b.data() + c0;
        float* __restrict o = dx + r * C + c0;
        for (int c = 0; c < n; ++c) o[c] = sc[c] * (gb[c] - av[c] - (xr[c] - mu[c]) * is[c] * bv[c]);
      }
  });
}

namespace detail {
// First pass of the backward of batch norm followed by `act`: Σg and Σg·x̂ per channel over
// all rows; adds them to dbeta and dgamma. beta only enters through bn(x) inside act', so it
// may be empty when act is the identity (plain batch norm).
inline BatchNormBackward batch_norm_act_backward_sums(const char* op, ConstTensorView x, std::span<const float> gamma,
                                                      std::span<const float> beta, const BatchNormCache& cache,
                                                      Activation act, ConstTensorView dy, std::span<float> dgamma,
                                                      std::span<float> dbeta) {
  const Shape xs = x.shape();
  const int C = xs.c;
  const std::int64_t M = xs.rows();
  EDGENAS_CHECK(dy.shape() == xs, Status::invalid_shape, "%s: input and output gradient shapes differ", op);
  EDGENAS_CHECK(cache.mean.size() == static_cast<std::size_t>(C), Status::invalid_argument,
                "%s: cache holds %zu channels, input has %d (was forward_train run?)", op, cache.mean.size(), C);
  for (auto [name, size] : {std::pair{"gamma", gamma.size()}, {"dgamma", dgamma.size()}, {"dbeta", dbeta.size()}})
    check_channel_params(op, name, size, C);
  if (act != Activation::identity) check_channel_params(op, "beta", beta.size(), C);
  const auto channels = static_cast<std::size_t>(C);
  BatchNormBackward bn{act, std::vector<float>(channels), std::vector<float>(channels), cache.mean, cache.inv_std,
                       std::vector<float>(channels), std::vector<float>(channels)};
  for (std::size_t c = 0; c < channels; ++c) {
    bn.scale[c] = gamma[c] * bn.inv_std[c];
    bn.shift[c] = (beta.empty() ? 0.0f : beta[c]) - bn.mean[c] * bn.scale[c];
  }
  const float* xp = x.data();
  const float* g = dy.data();
  const std::vector<double> sums = with_activation(act, [&]<Activation A>() {
    return channel_sums<2>(M, C, [&](std::int64_t r, float* acc) {
      float gb[bn_tile];
      for (int c0 = 0; c0 < C; c0 += bn_tile) {
        const int n = std::min(bn_tile, C - c0);
        const float* __restrict xr = xp + r * C + c0;
        grad_through_act<A>(bn, xr, g + r * C + c0, c0, n, gb);
        const float* __restrict mu = bn.mean.data() + c0;
        const float* __restrict is = bn.inv_std.data() + c0;
        float* __restrict sum_g = acc + c0;
        float* __restrict sum_gx = acc + C + c0;
        for (int c = 0; c < n; ++c) {
          sum_g[c] += gb[c];
          sum_gx[c] += gb[c] * ((xr[c] - mu[c]) * is[c]);
        }
      }
    });
  });
  for (std::size_t c = 0; c < channels; ++c) {
    dgamma[c] += static_cast<float>(sums[channels + c]);
    dbeta[c] += static_cast<float>(sums[c]);
    bn.a[c] = static_cast<float>(sums[c] / static_cast<double>(M));
    bn.b[c] = static_cast<float>(sums[channels + c] / static_cast<double>(M));
  }
  return bn;
}

}  // namespace detail

/// First pass of batch_norm_act_backward (x: the conv output it normalised; dy: the gradient
/// w.r.t. the activation output): adds to dgamma and dbeta, returns what the second pass needs.
inline BatchNormBackward batch_norm_act_backward_sums(ConstTensorView x, std::span<const float> gamma,
                                                      std::span<const float> beta, const BatchNormCache& cache,
                                                      Activation act, ConstTensorView dy, std::span<float> dgamma,
                                                      std::span<float> dbeta) {
  return detail::batch_norm_act_backward_sums("batch_norm_act_backward_sums", x, gamma, beta, cache, act, dy, dgamma,
                                              dbeta);
}

/// Second pass of batch-norm(+act) backward over whole tensors, in parallel: dx (may alias dy)
/// from the coefficients of the first pass.
inline void batch_norm_act_backward_apply(const BatchNormBackward& bn, ConstTensorView x, ConstTensorView dy,
                                          TensorView dx) {
  EDGENAS_CHECK(dx.shape() == x.shape() && dy.shape() == x.shape(), Status::invalid_shape,
                "batch_norm_act_backward: input, output gradient and input gradient shapes differ");
  EDGENAS_CHECK(bn.scale.size() == static_cast<std::size_t>(x.shape().c), Status::invalid_shape,
                "batch_norm_act_backward: coefficients for %zu channels, input has %d", bn.scale.size(), x.shape().c);
  const int C = x.shape().c;
  parallel_for(x.shape().rows(), [&](int, std::int64_t first, std::int64_t last) {
    batch_norm_act_backward_rows(bn, x.data() + first * C, dy.data() + first * C, last - first, dx.data() + first * C);
  });
}

namespace detail {
inline void batch_norm_act_backward(const char* op, ConstTensorView x, std::span<const float> gamma,
                                    std::span<const float> beta, const BatchNormCache& cache, Activation act,
                                    ConstTensorView dy, TensorView dx, std::span<float> dgamma, std::span<float> dbeta) {
  EDGENAS_CHECK(dx.shape() == x.shape(), Status::invalid_shape, "%s: input and input gradient shapes differ", op);
  batch_norm_act_backward_apply(batch_norm_act_backward_sums(op, x, gamma, beta, cache, act, dy, dgamma, dbeta), x,
                                dy, dx);
}
}  // namespace detail

/// Gradients of batch_norm_act_forward_train (x is its input, the conv output). Writes dx
/// (may alias dy); adds to dgamma and dbeta.
inline void batch_norm_act_backward(ConstTensorView x, std::span<const float> gamma, std::span<const float> beta,
                                    const BatchNormCache& cache, Activation act, ConstTensorView dy, TensorView dx,
                                    std::span<float> dgamma, std::span<float> dbeta) {
  detail::check_channel_params("batch_norm_act_backward", "beta", beta.size(), x.shape().c);
  detail::batch_norm_act_backward("batch_norm_act_backward", x, gamma, beta, cache, act, dy, dx, dgamma, dbeta);
}

/// Training-mode forward: normalises with batch statistics, updates running_mean/running_var,
/// fills `cache` for batch_norm_backward. y may alias x. (Batch norm with identity activation.)
inline void batch_norm_forward_train(ConstTensorView x, std::span<const float> gamma, std::span<const float> beta,
                                     std::span<float> running_mean, std::span<float> running_var,
                                     BatchNormConfig config, TensorView y, BatchNormCache& cache) {
  batch_norm_act_forward_train(x, gamma, beta, running_mean, running_var, config, Activation::identity, y, cache);
}

/// Gradients of batch_norm_forward_train (x is its input, cache what it filled). Writes dx
/// (may alias dy); adds to dgamma and dbeta:
///   dx = γ·σ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂))
inline void batch_norm_backward(ConstTensorView x, std::span<const float> gamma, const BatchNormCache& cache,
                                ConstTensorView dy, TensorView dx, std::span<float> dgamma, std::span<float> dbeta) {
  detail::batch_norm_act_backward("batch_norm_backward", x, gamma, {}, cache, Activation::identity, dy, dx, dgamma,
                                  dbeta);
}

/// How a conv's weights are laid out relative to its output channels.
enum class WeightLayout {
  output_major,   // [O][...]: full conv OHWI, pointwise [O][I], linear
  channel_minor,  // [...][C]: depthwise [k][k][C]
};

/// Folds eval-mode batch norm into the preceding conv: afterwards conv(x; w, b) equals
/// bn(conv(x; w_old, b_old)). `bias` must hold one value per channel (zeros if the conv had none).
inline void fold_batch_norm(std::span<float> weight, std::span<float> bias, WeightLayout layout,
                            std::span<const float> gamma, std::span<const float> beta,
                            std::span<const float> running_mean, std::span<const float> running_var, float eps) {
  const std::size_t C = bias.size();
  EDGENAS_CHECK(C > 0 && weight.size() % C == 0, Status::invalid_shape,
                "fold_batch_norm: %zu weights do not split into %zu channels", weight.size(), C);
  for (auto [name, size] : {std::pair{"gamma", gamma.size()}, {"beta", beta.size()},
                            {"running_mean", running_mean.size()}, {"running_var", running_var.size()}})
    detail::check_channel_params("fold_batch_norm", name, size, static_cast<int>(C));
  std::vector<float> scale(C), shift(C);
  batch_norm_eval_affine(gamma, beta, running_mean, running_var, eps, scale, shift);
  const std::size_t per_channel = weight.size() / C;
  for (std::size_t i = 0; i < weight.size(); ++i)
    weight[i] *= scale[layout == WeightLayout::output_major ? i / per_channel : i % C];
  for (std::size_t c = 0; c < C; ++c) bias[c] = bias[c] * scale[c] + shift[c];
}

}  // namespace edgenas::ops
