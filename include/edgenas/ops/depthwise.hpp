// edgenas/ops/depthwise.hpp — depthwise k×k convolution (SAME padding, stride 1 or 2).
//
// Weights are [k][k][C] (XNNPACK's depthwise layout: channel innermost), bias [C] or empty.
// Each output pixel accumulates its channels in register-sized tiles (16, 8, 4, 1 lanes), so
// the inner loops are fixed-length and vectorise; images are split across threads.
#pragma once

#include <span>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"
#include "edgenas/ops/window.hpp"

namespace edgenas::ops {

namespace detail {

// One output pixel, channels [c, c + Lanes).
template <int Lanes>
inline void depthwise_pixel(const float* __restrict x, const float* __restrict w, const float* bias, int c, int C,
                            int W, int k, const Window& win, int oy, int ox, float* __restrict out) {
  float acc[Lanes];
  for (int j = 0; j < Lanes; ++j) acc[j] = bias ? bias[c + j] : 0.0f;
  const int ky0 = win.ky_begin(oy), ky1 = win.ky_end(oy), kx0 = win.kx_begin(ox), kx1 = win.kx_end(ox);
  const int iy0 = win.in_y(oy), ix0 = win.in_x(ox);
  for (int ky = ky0; ky < ky1; ++ky) {
    for (int kx = kx0; kx < kx1; ++kx) {
      const float* in = x + (std::int64_t{iy0 + ky} * W + (ix0 + kx)) * C + c;
      const float* wk = w + (ky * k + kx) * C + c;
      for (int j = 0; j < Lanes; ++j) acc[j] += in[j] * wk[j];
    }
  }
  for (int j = 0; j < Lanes; ++j) out[c + j] = acc[j];
}

// Gradient contributions of one output pixel, channels [c, c + Lanes).
template <int Lanes>
inline void depthwise_pixel_backward(const float* __restrict x, const float* __restrict w, const float* __restrict g,
                                     int c, int C, int W, int k, const Window& win, int oy, int ox,
                                     float* __restrict dx, float* __restrict dw) {
  const int ky0 = win.ky_begin(oy), ky1 = win.ky_end(oy), kx0 = win.kx_begin(ox), kx1 = win.kx_end(ox);
  const int iy0 = win.in_y(oy), ix0 = win.in_x(ox);
  float grad[Lanes];
  for (int j = 0; j < Lanes; ++j) grad[j] = g[c + j];
  for (int ky = ky0; ky < ky1; ++ky) {
    for (int kx = kx0; kx < kx1; ++kx) {
      const std::int64_t at = (std::int64_t{iy0 + ky} * W + (ix0 + kx)) * C + c;
      const int tap = (ky * k + kx) * C + c;
      if (dx)
        for (int j = 0; j < Lanes; ++j) dx[at + j] += grad[j] * w[tap + j];
      for (int j = 0; j < Lanes; ++j) dw[tap + j] += grad[j] * x[at + j];
    }
  }
}

// Runs `pixel<Lanes>(c)` over the channel tiles of one pixel.
template <typename Pixel>
inline void for_channel_tiles(int C, Pixel&& pixel) {
  int c = 0;
  for (; c + 16 <= C; c += 16) pixel.template operator()<16>(c);
  for (; c + 8 <= C; c += 8) pixel.template operator()<8>(c);
  for (; c + 4 <= C; c += 4) pixel.template operator()<4>(c);
  for (; c < C; ++c) pixel.template operator()<1>(c);
}

inline void check_depthwise_params(const char* op, int kernel, int channels, std::size_t w_size, std::size_t b_size) {
  EDGENAS_CHECK(w_size == static_cast<std::size_t>(kernel) * kernel * channels, Status::invalid_shape,
                "%s: weight has %zu values, expected %d (%d×%d×%d)", op, w_size, kernel * kernel * channels, kernel,
                kernel, channels);
  EDGENAS_CHECK(b_size == 0 || b_size == static_cast<std::size_t>(channels), Status::invalid_shape,
                "%s: bias has %zu values, expected %d or none", op, b_size, channels);
}

}  // namespace detail

/// y = depthwise_k×k(x) + b with SAME padding. y must be [N, ceil(H/s), ceil(W/s), C].
inline void depthwise_forward(ConstTensorView x, std::span<const float> w, std::span<const float> b, int kernel,
                              int stride, TensorView y) {
  const Shape xs = x.shape();
  check_window("depthwise_forward", xs, y.shape(), kernel, stride, xs.c);
  detail::check_depthwise_params("depthwise_forward", kernel, xs.c, w.size(), b.size());
  const Window win(xs, kernel, stride);
  const int C = xs.c;
  const float* bias = b.empty() ? nullptr : b.data();
  parallel_for(xs.n, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t n = first; n < last; ++n) {
      const float* xi = x.data() + n * xs.per_image();
      float* yi = y.data() + n * y.shape().per_image();
      for (int oy = 0; oy < win.out_h; ++oy) {
        for (int ox = 0; ox < win.out_w; ++ox) {
          float* out = yi + (std::int64_t{oy} * win.out_w + ox) * C;
          detail::for_channel_tiles(C, [&]<int Lanes>(int c) {
            detail::depthwise_pixel<Lanes>(xi, w.data(), bias, c, C, xs.w, kernel, win, oy, ox, out);
          });
        }
      }
    }
  });
}

/// Gradients of depthwise_forward. Writes dx (skipped if dx has no data); adds to dw and db
/// (db may be empty).
inline void depthwise_backward(ConstTensorView x, std::span<const float> w, int kernel, int stride,
                               ConstTensorView dy, TensorView dx, std::span<float> dw, std::span<float> db) {
  const Shape xs = x.shape();
  check_window("depthwise_backward", xs, dy.shape(), kernel, stride, xs.c);
  detail::check_depthwise_params("depthwise_backward", kernel, xs.c, w.size(), db.size());
  EDGENAS_CHECK(dw.size() == w.size(), Status::invalid_shape,
                "depthwise_backward: weight gradient has %zu values, weight %zu", dw.size(), w.size());
  EDGENAS_CHECK(!dx.data() || dx.shape() == xs, Status::invalid_shape,
                "depthwise_backward: input gradient shape differs from input shape");
  const Window win(xs, kernel, stride);
  const int C = xs.c;
  const Shape ys = dy.shape();
  const int chunks = parallel_chunks(xs.n);
  std::vector<std::vector<float>> partial_dw(static_cast<std::size_t>(chunks), std::vector<float>(w.size(), 0.0f));
  std::vector<std::vector<float>> partial_db(static_cast<std::size_t>(chunks), std::vector<float>(C, 0.0f));
  parallel_for(xs.n, [&](int chunk, std::int64_t first, std::int64_t last) {
    float* pdw = partial_dw[static_cast<std::size_t>(chunk)].data();
    float* pdb = partial_db[static_cast<std::size_t>(chunk)].data();
    for (std::int64_t n = first; n < last; ++n) {
      const float* xi = x.data() + n * xs.per_image();
      const float* gi = dy.data() + n * ys.per_image();
      float* dxi = dx.data() ? dx.data() + n * xs.per_image() : nullptr;
      if (dxi) std::fill(dxi, dxi + xs.per_image(), 0.0f);
      for (int oy = 0; oy < win.out_h; ++oy) {
        for (int ox = 0; ox < win.out_w; ++ox) {
          const float* g = gi + (std::int64_t{oy} * win.out_w + ox) * C;
          for (int c = 0; c < C; ++c) pdb[c] += g[c];
          detail::for_channel_tiles(C, [&]<int Lanes>(int c) {
            detail::depthwise_pixel_backward<Lanes>(xi, w.data(), g, c, C, xs.w, kernel, win, oy, ox, dxi, pdw);
          });
        }
      }
    }
  });
  for (const auto& p : partial_dw)
    for (std::size_t i = 0; i < dw.size(); ++i) dw[i] += p[i];
  if (!db.empty())
    for (const auto& p : partial_db)
      for (int c = 0; c < C; ++c) db[static_cast<std::size_t>(c)] += p[static_cast<std::size_t>(c)];
}

}  // namespace edgenas::ops
