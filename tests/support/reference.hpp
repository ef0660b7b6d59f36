// Naive reference implementations in double precision: plain loops, written from the
// definitions and independent of the kernels under test (no tiling, no Eigen, no threads).
#pragma once

#include <cmath>
#include <edgenas/core.hpp>
#include <span>
#include <vector>

namespace edgenas::test::reference {

inline int out_extent(int in, int stride) { return (in + stride - 1) / stride; }
inline int pad_before(int in, int k, int stride) {
  const int total = (out_extent(in, stride) - 1) * stride + k - in;
  return total > 0 ? total / 2 : 0;
}

/// Full convolution, OHWI weights, SAME padding. Returns NHWC values.
inline std::vector<double> conv2d(const Tensor& x, std::span<const float> w, std::span<const float> b, int O, int k,
                                  int s) {
  const Shape xs = x.shape();
  const int Ho = out_extent(xs.h, s), Wo = out_extent(xs.w, s);
  const int pt = pad_before(xs.h, k, s), pl = pad_before(xs.w, k, s);
  std::vector<double> y(static_cast<std::size_t>(xs.n) * Ho * Wo * O);
  for (int n = 0; n < xs.n; ++n)
    for (int oy = 0; oy < Ho; ++oy)
      for (int ox = 0; ox < Wo; ++ox)
        for (int o = 0; o < O; ++o) {
          double acc = b.empty() ? 0.0 : b[static_cast<std::size_t>(o)];
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx)
              for (int i = 0; i < xs.c; ++i) {
                const int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
                if (iy < 0 || iy >= xs.h || ix < 0 || ix >= xs.w) continue;
                acc += double{x(n, iy, ix, i)} * w[static_cast<std::size_t>(((o * k + ky) * k + kx) * xs.c + i)];
              }
          y[static_cast<std::size_t>(((n * Ho + oy) * Wo + ox) * O + o)] = acc;
        }
  return y;
}

/// Depthwise convolution, [k][k][C] weights, SAME padding.
inline std::vector<double> depthwise(const Tensor& x, std::span<const float> w, std::span<const float> b, int k, int s) {
  const Shape xs = x.shape();
  const int Ho = out_extent(xs.h, s), Wo = out_extent(xs.w, s);
  const int pt = pad_before(xs.h, k, s), pl = pad_before(xs.w, k, s);
  std::vector<double> y(static_cast<std::size_t>(xs.n) * Ho * Wo * xs.c);
  for (int n = 0; n < xs.n; ++n)
    for (int oy = 0; oy < Ho; ++oy)
      for (int ox = 0; ox < Wo; ++ox)
        for (int c = 0; c < xs.c; ++c) {
          double acc = b.empty() ? 0.0 : b[static_cast<std::size_t>(c)];
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
              if (iy < 0 || iy >= xs.h || ix < 0 || ix >= xs.w) continue;
              acc += double{x(n, iy, ix, c)} * w[static_cast<std::size_t>((ky * k + kx) * xs.c + c)];
            }
          y[static_cast<std::size_t>(((n * Ho + oy) * Wo + ox) * xs.c + c)] = acc;
        }
  return y;
}

/// Gradients of depthwise() for the output gradient g: each output scatters g·w into dx and
/// g·x into dw (the kernels gather instead). Returns dx; dw is overwritten.
inline std::vector<double> depthwise_backward(const Tensor& x, std::span<const float> w, const Tensor& g, int k, int s,
                                              std::vector<double>& dw) {
  const Shape xs = x.shape();
  const int Ho = out_extent(xs.h, s), Wo = out_extent(xs.w, s);
  const int pt = pad_before(xs.h, k, s), pl = pad_before(xs.w, k, s);
  std::vector<double> dx(static_cast<std::size_t>(xs.size()), 0.0);
  dw.assign(w.size(), 0.0);
  for (int n = 0; n < xs.n; ++n)
    for (int oy = 0; oy < Ho; ++oy)
      for (int ox = 0; ox < Wo; ++ox)
        for (int c = 0; c < xs.c; ++c)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
              if (iy < 0 || iy >= xs.h || ix < 0 || ix >= xs.w) continue;
              const auto tap = static_cast<std::size_t>((ky * k + kx) * xs.c + c);
              const double gv = g(n, oy, ox, c);
              dx[static_cast<std::size_t>(((n * xs.h + iy) * xs.w + ix) * xs.c + c)] += gv * w[tap];
              dw[tap] += gv * x(n, iy, ix, c);
            }
  return dx;
}

/// rows × in  times  [out][in]ᵀ  + b.
inline std::vector<double> dense(const float* x, std::int64_t rows, int in, std::span<const float> w,
                                 std::span<const float> b, int out) {
  std::vector<double> y(static_cast<std::size_t>(rows) * out);
  for (std::int64_t r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[static_cast<std::size_t>(o)];
      for (int i = 0; i < in; ++i) acc += double{x[r * in + i]} * w[static_cast<std::size_t>(o * in + i)];
      y[static_cast<std::size_t>(r * out + o)] = acc;
    }
  return y;
}

inline double hsigmoid(double x) { return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline double activation(Activation a, double x) {
  switch (a) {
    case Activation::identity: return x;
    case Activation::relu: return std::max(x, 0.0);
    case Activation::relu6: return std::min(std::max(x, 0.0), 6.0);
    case Activation::hsigmoid: return hsigmoid(x);
    case Activation::hswish: return x * hsigmoid(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::swish: return x * sigmoid(x);
  }
  return x;
}

/// Batch norm with the given per-channel statistics.
inline std::vector<double> batch_norm(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& var,
                                      std::span<const float> gamma, std::span<const float> beta, double eps) {
  std::vector<double> y(static_cast<std::size_t>(x.size()));
  const int C = x.shape().c;
  for (std::int64_t i = 0; i < x.size(); ++i) {
    const auto c = static_cast<std::size_t>(i % C);
    y[static_cast<std::size_t>(i)] = (x[i] - mean[c]) / std::sqrt(var[c] + eps) * gamma[c] + beta[c];
  }
  return y;
}

/// Per-channel mean and biased variance over N·H·W.
inline void channel_moments(const Tensor& x, std::vector<double>& mean, std::vector<double>& var) {
  const int C = x.shape().c;
  const std::int64_t M = x.shape().rows();
  mean.assign(static_cast<std::size_t>(C), 0.0);
  var.assign(static_cast<std::size_t>(C), 0.0);
  for (std::int64_t i = 0; i < x.size(); ++i) mean[static_cast<std::size_t>(i % C)] += x[i];
  for (auto& m : mean) m /= static_cast<double>(M);
  for (std::int64_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - mean[static_cast<std::size_t>(i % C)];
    var[static_cast<std::size_t>(i % C)] += d * d;
  }
  for (auto& v : var) v /= static_cast<double>(M);
}

}  // namespace edgenas::test::reference
