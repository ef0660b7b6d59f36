// edgenas/runtime/reference/kernels.hpp — single-image inference kernels for microcontrollers.
//
// Plain loops over raw pointers: no heap, no threads, no exceptions, no Eigen, nothing but
// <cstdint>-level C++ — what a Cortex-M build can afford, and short enough to read as the
// definition of each operation. NHWC, float32, SAME padding exactly as the trainer's kernels
// (ops/window.hpp). The trainer's batched kernels in ops/ are the fast path on a host; these
// compute the same functions (tested against them and against XNNPACK).
#pragma once

#include <cstdint>

#include "edgenas/core/shape.hpp"
#include "edgenas/ops/activation_function.hpp"

namespace edgenas::reference::kernels {

/// Full k×k convolution, weights [O][k][k][I], bias [O].
inline void conv2d(const float* x, Shape in, const float* w, const float* bias, int k, int stride, float* y,
                   Shape out) noexcept {
  const int pad_t = same_padding_before(in.h, k, stride), pad_l = same_padding_before(in.w, k, stride);
  for (int oy = 0; oy < out.h; ++oy)
    for (int ox = 0; ox < out.w; ++ox)
      for (int o = 0; o < out.c; ++o) {
        float acc = bias[o];
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * stride - pad_t + ky;
          if (iy < 0 || iy >= in.h) continue;
          for (int kx = 0; kx < k; ++kx) {
            const int ix = ox * stride - pad_l + kx;
            if (ix < 0 || ix >= in.w) continue;
            const float* px = x + (std::int64_t{iy} * in.w + ix) * in.c;
            const float* pw = w + ((std::int64_t{o} * k + ky) * k + kx) * in.c;
            for (int i = 0; i < in.c; ++i) acc += px[i] * pw[i];
          }
        }
        y[(std::int64_t{oy} * out.w + ox) * out.c + o] = acc;
      }
}

/// Depthwise k×k convolution, weights [k][k][C], bias [C].
inline void depthwise(const float* x, Shape in, const float* w, const float* bias, int k, int stride, float* y,
                      Shape out) noexcept {
  const int pad_t = same_padding_before(in.h, k, stride), pad_l = same_padding_before(in.w, k, stride);
  const int C = in.c;
  for (int oy = 0; oy < out.h; ++oy)
    for (int ox = 0; ox < out.w; ++ox) {
      float* py = y + (std::int64_t{oy} * out.w + ox) * C;
      for (int c = 0; c < C; ++c) py[c] = bias[c];
      for (int ky = 0; ky < k; ++ky) {
        const int iy = oy * stride - pad_t + ky;
        if (iy < 0 || iy >= in.h) continue;
        for (int kx = 0; kx < k; ++kx) {
          const int ix = ox * stride - pad_l + kx;
          if (ix < 0 || ix >= in.w) continue;
          const float* px = x + (std::int64_t{iy} * in.w + ix) * C;
          const float* pw = w + (std::int64_t{ky} * k + kx) * C;
          for (int c = 0; c < C; ++c) py[c] += px[c] * pw[c];
        }
      }
    }
}

/// 1×1 convolution (and, with pixels = 1, a fully-connected layer): weights [O][I], bias [O].
/// With `accumulate`, y += result (a residual added in place onto its shortcut). y may not
/// alias x.
inline void pointwise(const float* x, std::int64_t pixels, int in, const float* w, const float* bias, int out,
                      float* y, bool accumulate = false) noexcept {
  for (std::int64_t p = 0; p < pixels; ++p) {
    const float* px = x + p * in;
    float* py = y + p * out;
    for (int o = 0; o < out; ++o) {
      const float* pw = w + std::int64_t{o} * in;
      float acc = bias[o];
      for (int i = 0; i < in; ++i) acc += px[i] * pw[i];
      py[o] = accumulate ? py[o] + acc : acc;
    }
  }
}

/// x ← act(x) for n values.
inline void activate(Activation a, float* x, std::int64_t n) noexcept {
  ops::with_activation(a, [&]<Activation A>() {
    for (std::int64_t i = 0; i < n; ++i) x[i] = ops::activate<A>(x[i]);
  });
}

/// Mean over the pixels of [pixels][C] into [C].
inline void global_average_pool(const float* x, std::int64_t pixels, int C, float* y) noexcept {
  for (int c = 0; c < C; ++c) y[c] = 0.0f;
  for (std::int64_t p = 0; p < pixels; ++p)
    for (int c = 0; c < C; ++c) y[c] += x[p * C + c];
  const float inv = 1.0f / static_cast<float>(pixels);
  for (int c = 0; c < C; ++c) y[c] *= inv;
}

/// Squeeze-and-excitation in place on [pixels][C]: pool, FC to R + ReLU, FC to C + h-sigmoid,
/// scale. scratch: 2·C + R floats.
inline void squeeze_excite(float* x, std::int64_t pixels, int C, int R, const float* w1, const float* b1,
                           const float* w2, const float* b2, float* scratch) noexcept {
  float* pooled = scratch;
  float* hidden = scratch + C;
  float* gate = scratch + C + R;
  global_average_pool(x, pixels, C, pooled);
  pointwise(pooled, 1, C, w1, b1, R, hidden);
  activate(Activation::relu, hidden, R);
  pointwise(hidden, 1, R, w2, b2, C, gate);
  activate(Activation::hsigmoid, gate, C);
  for (std::int64_t p = 0; p < pixels; ++p)
    for (int c = 0; c < C; ++c) x[p * C + c] *= gate[c];
}

}  // namespace edgenas::reference::kernels
