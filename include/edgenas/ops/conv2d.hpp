// edgenas/ops/conv2d.hpp — full k×k convolution (the stem), SAME padding, stride 1 or 2.
//
// Weights are OHWI [O][k][k][I] (XNNPACK's convolution layout), bias [O] or empty. The stem has
// few input channels, so each call re-lays the weights as [k][k][I][O] and vectorises over
// output channels — a direct loop, no im2col scratch proportional to the image.
#pragma once

#include <span>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"
#include "edgenas/ops/gemm.hpp"
#include "edgenas/ops/lanes.hpp"
#include "edgenas/ops/window.hpp"

namespace edgenas::ops {

namespace detail {

// The weight gradient of taps kx0 … kx0 + K − 1 of one kernel row and input channel from
// output row `grow`: a tile of output channels per tap accumulates in registers over the row
// (updating the gradient in memory per pixel was a store-to-load chain). xrow points at input
// row in_y(oy) + ky, channel i (pixels I floats apart); dw_row at [ky][0][i][0] of the
// [k][k][I][O] partial gradient. Kernels up to 7 take a whole row (kx0 = 0), larger ones go
// tap by tap (K = 1).
template <int Lanes, int K>
inline void conv2d_weight_grad_taps(const float* xrow, int I, const float* grow, int o, int O, const Window& win,
                                    int kx0, float* dw_row) {
  Lane<Lanes> acc[K];
  for (auto& a : acc) a.setZero();
  for (int ox = 0; ox < win.out_w; ++ox) {
    const auto g = lanes<Lanes>(grow + std::int64_t{ox} * O + o);
    for (int kx = 0; kx < K; ++kx) {
      const int ix = win.in_x(ox) + kx0 + kx;
      if (ix >= 0 && ix < win.in_w) acc[kx] += g * xrow[std::int64_t{ix} * I];
    }
  }
  for (int kx = 0; kx < K; ++kx) lanes<Lanes>(dw_row + static_cast<std::size_t>(kx0 + kx) * I * O + o) += acc[kx];
}

inline void check_conv_params(const char* op, int kernel, int in_c, int out_c, std::size_t w_size, std::size_t b_size) {
  const std::size_t expected = static_cast<std::size_t>(out_c) * kernel * kernel * in_c;
  EDGENAS_CHECK(w_size == expected, Status::invalid_shape, "%s: weight has %zu values, expected %zu (%d×%d×%d×%d)", op,
                w_size, expected, out_c, kernel, kernel, in_c);
  EDGENAS_CHECK(b_size == 0 || b_size == static_cast<std::size_t>(out_c), Status::invalid_shape,
                "%s: bias has %zu values, expected %d or none", op, b_size, out_c);
}

}  // namespace detail

/// y = conv_k×k(x) + b with SAME padding. y must be [N, ceil(H/s), ceil(W/s), O].
inline void conv2d_forward(ConstTensorView x, std::span<const float> w, std::span<const float> b, int kernel,
                           int stride, TensorView y) {
  const Shape xs = x.shape(), ys = y.shape();
  check_window("conv2d_forward", xs, ys, kernel, stride, ys.c);
  detail::check_conv_params("conv2d_forward", kernel, xs.c, ys.c, w.size(), b.size());
  const Window win(xs, kernel, stride);
  const int I = xs.c, O = ys.c;
  std::vector<float> wt(w.size());  // [k·k·I][O]: output channels innermost
  gemm::transpose(w.data(), O, std::int64_t{kernel} * kernel * I, wt.data());
  parallel_for(xs.n, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t n = first; n < last; ++n) {
      const float* xi = x.data() + n * xs.per_image();
      for (int oy = 0; oy < win.out_h; ++oy) {
        for (int ox = 0; ox < win.out_w; ++ox) {
          float* out = y.data() + n * ys.per_image() + (std::int64_t{oy} * win.out_w + ox) * O;
          // A tile of output channels accumulates in registers over every tap and input channel.
          detail::for_channel_tiles(O, [&]<int Lanes>(int o) {
            detail::Lane<Lanes> acc =
                b.empty() ? detail::Lane<Lanes>::Zero() : detail::Lane<Lanes>(detail::lanes<Lanes>(b.data() + o));
            for (int ky = win.ky_begin(oy); ky < win.ky_end(oy); ++ky)
              for (int kx = win.kx_begin(ox); kx < win.kx_end(ox); ++kx) {
                const float* in = xi + (std::int64_t{win.in_y(oy) + ky} * xs.w + win.in_x(ox) + kx) * I;
                const float* wk = wt.data() + static_cast<std::size_t>((ky * kernel + kx) * I) * O + o;
                for (int i = 0; i < I; ++i) acc += in[i] * detail::lanes<Lanes>(wk + std::int64_t{i} * O);
              }
            detail::lanes<Lanes>(out + o) = acc;
          });
        }
      }
    }
  });
}

/// Gradients of conv2d_forward. Writes dx (skipped if dx has no data); adds to dw and db
/// (db may be empty).
inline void conv2d_backward(ConstTensorView x, std::span<const float> w, int kernel, int stride, ConstTensorView dy,
                            TensorView dx, std::span<float> dw, std::span<float> db) {
  const Shape xs = x.shape(), ys = dy.shape();
  check_window("conv2d_backward", xs, ys, kernel, stride, ys.c);
  detail::check_conv_params("conv2d_backward", kernel, xs.c, ys.c, w.size(), db.size());
  EDGENAS_CHECK(dw.size() == w.size(), Status::invalid_shape,
                "conv2d_backward: weight gradient has %zu values, weight %zu", dw.size(), w.size());
  EDGENAS_CHECK(!dx.data() || dx.shape() == xs, Status::invalid_shape,
                "conv2d_backward: input gradient shape differs from input shape");
  const Window win(xs, kernel, stride);
  const int I = xs.c, O = ys.c, taps_by_in = kernel * kernel * I;
  std::vector<float> wt;  // [k·k·I][O], only for the input gradient
  if (dx.data()) {
    wt.resize(w.size());
    gemm::transpose(w.data(), O, taps_by_in, wt.data());
  }
  const int chunks = parallel_chunks(xs.n);
  std::vector<std::vector<float>> partial_dwt(static_cast<std::size_t>(chunks), std::vector<float>(w.size(), 0.0f));
  std::vector<std::vector<float>> partial_db(static_cast<std::size_t>(chunks), std::vector<float>(O, 0.0f));
  parallel_for(xs.n, [&](int chunk, std::int64_t first, std::int64_t last) {
    float* pdw = partial_dwt[static_cast<std::size_t>(chunk)].data();
    float* pdb = partial_db[static_cast<std::size_t>(chunk)].data();
    for (std::int64_t n = first; n < last; ++n) {
      const float* xi = x.data() + n * xs.per_image();
      const float* gi = dy.data() + n * ys.per_image();
      // Weight gradient a kernel row (and input channel) at a time, from each output row.
      for (int oy = 0; oy < win.out_h; ++oy)
        for (int ky = win.ky_begin(oy); ky < win.ky_end(oy); ++ky)
          for (int i = 0; i < I; ++i) {
            const float* xrow = xi + std::int64_t{win.in_y(oy) + ky} * xs.w * I + i;
            const float* grow = gi + std::int64_t{oy} * win.out_w * O;
            float* dw_row = pdw + (static_cast<std::size_t>(ky * kernel) * I + i) * O;
            const auto taps = [&]<int K>(int kx0) {
              detail::for_channel_tiles(O, [&]<int Lanes>(int o) {
                detail::conv2d_weight_grad_taps<Lanes, K>(xrow, I, grow, o, O, win, kx0, dw_row);
              });
            };
            switch (kernel) {
              case 1:
                taps.template operator()<1>(0);
                break;
              case 3:
                taps.template operator()<3>(0);
                break;
              case 5:
                taps.template operator()<5>(0);
                break;
              case 7:
                taps.template operator()<7>(0);
                break;
              default:
                for (int kx = 0; kx < kernel; ++kx) taps.template operator()<1>(kx);
            }
          }
      for (std::int64_t p = 0; p < std::int64_t{win.out_h} * win.out_w; ++p)
        for (int o = 0; o < O; ++o) pdb[o] += gi[p * O + o];
      if (!dx.data()) continue;  // the stem needs no input gradient
      float* dxi = dx.data() + n * xs.per_image();
      std::fill(dxi, dxi + xs.per_image(), 0.0f);
      for (int oy = 0; oy < win.out_h; ++oy)
        for (int ox = 0; ox < win.out_w; ++ox) {
          const float* __restrict g = gi + (std::int64_t{oy} * win.out_w + ox) * O;
          for (int ky = win.ky_begin(oy); ky < win.ky_end(oy); ++ky)
            for (int kx = win.kx_begin(ox); kx < win.kx_end(ox); ++kx) {
              const std::int64_t at = (std::int64_t{win.in_y(oy) + ky} * xs.w + win.in_x(ox) + kx) * I;
              const std::size_t tap = static_cast<std::size_t>((ky * kernel + kx) * I) * O;
              for (int i = 0; i < I; ++i) {
                const float* wk = wt.data() + tap + static_cast<std::size_t>(i) * O;
                float sum = 0.0f;
                for (int o = 0; o < O; ++o) sum += g[o] * wk[o];
                dxi[at + i] += sum;
              }
            }
        }
    }
  });
  for (const auto& p : partial_dwt)
    for (int o = 0; o < O; ++o)
      for (int t_i = 0; t_i < taps_by_in; ++t_i)
        dw[static_cast<std::size_t>(o) * taps_by_in + t_i] += p[static_cast<std::size_t>(t_i) * O + o];
  if (!db.empty())
    for (const auto& p : partial_db)
      for (int o = 0; o < O; ++o) db[static_cast<std::size_t>(o)] += p[static_cast<std::size_t>(o)];
}

}  // namespace edgenas::ops
