// edgenas/ops/squeeze_excite.hpp — squeeze-and-excitation: channel attention from global context.
//
//   s = mean_HW(x)                [N, C]
//   h = inner(s·W1ᵀ + b1)          [N, R]   (inner: ReLU)
//   g = gate(h·W2ᵀ + b2)           [N, C]   (gate: h-sigmoid, as in MobileNetV3)
//   y = x ⊙ g                      broadcast over H×W
//
// W1 is [R][C], W2 is [C][R]; R (the reduced width) is chosen by the caller — the block layer
// decides the ratio and rounding. Both activations are parameters, so EfficientNet-style
// (swish, sigmoid) SE is the same op.
#pragma once

#include <span>

#include "edgenas/ops/activation.hpp"
#include "edgenas/ops/dense.hpp"
#include "edgenas/ops/pooling.hpp"
#include "edgenas/space/genes.hpp"

namespace edgenas::ops {

struct SqueezeExcite {
  std::span<const float> w_reduce;  // [R][C]
  std::span<const float> b_reduce;  // [R]
  std::span<const float> w_expand;  // [C][R]
  std::span<const float> b_expand;  // [C]
  Activation inner = Activation::relu;
  Activation gate = Activation::hsigmoid;

  int reduced() const noexcept { return static_cast<int>(b_reduce.size()); }
};

struct SqueezeExciteGrad {
  std::span<float> w_reduce, b_reduce, w_expand, b_expand;
};

/// What the forward pass keeps for backward: each intermediate, [N,1,1,·].
struct SqueezeExciteCache {
  Tensor pooled, hidden_pre, hidden, gate_pre, gate;
};

namespace detail {
inline void check_se(const char* op, const SqueezeExcite& se, int C) {
  const std::size_t R = se.b_reduce.size();
  EDGENAS_CHECK(R > 0, Status::invalid_shape, "%s: reduced width is 0 (b_reduce is empty)", op);
  EDGENAS_CHECK(se.w_reduce.size() == R * C && se.w_expand.size() == R * C && se.b_expand.size() == static_cast<std::size_t>(C),
                Status::invalid_shape,
                "%s: for %d channels reduced to %zu, expected w_reduce %zu, w_expand %zu, b_expand %d values; got %zu, %zu, %zu",
                op, C, R, R * C, R * C, C, se.w_reduce.size(), se.w_expand.size(), se.b_expand.size());
}
inline void ensure(Tensor& t, Shape s) {
  if (t.shape() != s) t.resize(s);
}
}  // namespace detail

/// y = x ⊙ g with the gate of the last squeeze_excite_forward: its last step. Called again on
/// the same x it writes the same bits (training recomputes instead of keeping y). y may alias x.
inline void squeeze_excite_apply(ConstTensorView x, const SqueezeExciteCache& cache, TensorView y) {
  const Shape xs = x.shape();
  EDGENAS_CHECK(y.shape() == xs && cache.gate.shape() == (Shape{xs.n, 1, 1, xs.c}), Status::invalid_shape,
                "squeeze_excite_apply: input, output and gate shapes do not match (was forward run on this input?)");
  const float* g = cache.gate.data();
  parallel_for(xs.n, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t n = first; n < last; ++n) {
      Eigen::Map<const RowMajorMatrix<float>> in(x.data() + n * xs.per_image(), xs.pixels(), xs.c);
      Eigen::Map<RowMajorMatrix<float>> out(y.data() + n * xs.per_image(), xs.pixels(), xs.c);
      out = in.array().rowwise() * Eigen::Map<const Eigen::RowVectorXf>(g + n * xs.c, xs.c).array();
    }
  });
}

/// y = x ⊙ gate(x). y may alias x. Fills `cache` for squeeze_excite_backward.
inline void squeeze_excite_forward(ConstTensorView x, const SqueezeExcite& se, TensorView y, SqueezeExciteCache& cache) {
  const Shape xs = x.shape();
  EDGENAS_CHECK(y.shape() == xs, Status::invalid_shape, "squeeze_excite_forward: output shape differs from input");
  detail::check_se("squeeze_excite_forward", se, xs.c);
  const Shape vec{xs.n, 1, 1, xs.c}, red{xs.n, 1, 1, se.reduced()};
  detail::ensure(cache.pooled, vec);
  detail::ensure(cache.hidden_pre, red);
  detail::ensure(cache.hidden, red);
  detail::ensure(cache.gate_pre, vec);
  detail::ensure(cache.gate, vec);
  global_average_pool_forward(x, cache.pooled);
  linear_forward(cache.pooled.view(), se.w_reduce, se.b_reduce, cache.hidden_pre);
  activation_forward(se.inner, cache.hidden_pre.view(), cache.hidden);
  linear_forward(cache.hidden.view(), se.w_expand, se.b_expand, cache.gate_pre);
  activation_forward(se.gate, cache.gate_pre.view(), cache.gate);
  squeeze_excite_apply(x, cache, y);
}

using edgenas::squeeze_excite_scratch_floats;  // (space/genes.hpp) what squeeze_excite_inplace needs

/// Inference form: x ← x ⊙ gate(x) in place, intermediates in caller scratch (no allocation,
/// nothing kept for backward).
inline void squeeze_excite_inplace(TensorView x, const SqueezeExcite& se, std::span<float> scratch) {
  const Shape xs = x.shape();
  detail::check_se("squeeze_excite_inplace", se, xs.c);
  const int C = xs.c, R = se.reduced();
  EDGENAS_CHECK(xs.n == 1 && static_cast<std::int64_t>(scratch.size()) >= squeeze_excite_scratch_floats(C, R),
                Status::invalid_argument, "squeeze_excite_inplace: batch %d (must be 1), scratch %zu floats (need %lld)",
                xs.n, scratch.size(), static_cast<long long>(squeeze_excite_scratch_floats(C, R)));
  TensorView pooled(scratch.data(), {1, 1, 1, C}), hidden(scratch.data() + C, {1, 1, 1, R}),
      gate(scratch.data() + C + R, {1, 1, 1, C});
  global_average_pool_forward(x, pooled);
  linear_forward(pooled, se.w_reduce, se.b_reduce, hidden);
  activation_forward(se.inner, hidden, hidden);
  linear_forward(hidden, se.w_expand, se.b_expand, gate);
  activation_forward(se.gate, gate, gate);
  Eigen::Map<RowMajorMatrix<float>> image(x.data(), xs.pixels(), C);
  image.array().rowwise() *= Eigen::Map<const Eigen::RowVectorXf>(gate.data(), C).array();
}

/// Gradients of squeeze_excite_forward (x is its input). Writes dx; adds to the weight gradients.
inline void squeeze_excite_backward(ConstTensorView x, const SqueezeExcite& se, const SqueezeExciteCache& cache,
                                    ConstTensorView dy, TensorView dx, const SqueezeExciteGrad& grad) {
  const Shape xs = x.shape();
  EDGENAS_CHECK(dy.shape() == xs && dx.shape() == xs, Status::invalid_shape,
                "squeeze_excite_backward: input, output gradient and input gradient shapes differ");
  detail::check_se("squeeze_excite_backward", se, xs.c);
  EDGENAS_CHECK(cache.gate.shape() == (Shape{xs.n, 1, 1, xs.c}), Status::invalid_argument,
                "squeeze_excite_backward: cache does not match the input (was forward run on it?)");
  const Shape vec{xs.n, 1, 1, xs.c}, red{xs.n, 1, 1, se.reduced()};
  Tensor d_gate(vec), d_hidden(red), d_pooled(vec);
  // dL/dg[n,c] = Σ_hw dy·x
  parallel_for(xs.n, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t n = first; n < last; ++n) {
      Eigen::Map<const RowMajorMatrix<float>> in(x.data() + n * xs.per_image(), xs.pixels(), xs.c);
      Eigen::Map<const RowMajorMatrix<float>> g(dy.data() + n * xs.per_image(), xs.pixels(), xs.c);
      Eigen::Map<Eigen::RowVectorXf>(d_gate.data() + n * xs.c, xs.c) = (in.array() * g.array()).colwise().sum();
    }
  });
  activation_backward(se.gate, cache.gate_pre.view(), d_gate.view(), d_gate.view());
  linear_backward(cache.hidden.view(), se.w_expand, d_gate.view(), d_hidden.view(), grad.w_expand, grad.b_expand);
  activation_backward(se.inner, cache.hidden_pre.view(), d_hidden.view(), d_hidden.view());
  linear_backward(cache.pooled.view(), se.w_reduce, d_hidden.view(), d_pooled.view(), grad.w_reduce, grad.b_reduce);
  // dx = dy ⊙ g  +  dL/ds / (H·W)
  const float inv = 1.0f / static_cast<float>(xs.pixels());
  parallel_for(xs.n, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t n = first; n < last; ++n) {
      Eigen::Map<const RowMajorMatrix<float>> g(dy.data() + n * xs.per_image(), xs.pixels(), xs.c);
      Eigen::Map<RowMajorMatrix<float>> out(dx.data() + n * xs.per_image(), xs.pixels(), xs.c);
      const auto gate = Eigen::Map<const Eigen::RowVectorXf>(cache.gate.data() + n * xs.c, xs.c).array();
      const Eigen::RowVectorXf from_pool = Eigen::Map<const Eigen::RowVectorXf>(d_pooled.data() + n * xs.c, xs.c) * inv;
      out = (g.array().rowwise() * gate).rowwise() + from_pool.array();
    }
  });
}

}  // namespace edgenas::ops
