// edgenas/ops/depthwise.hpp — depthwise k×k convolution (SAME padding, stride 1 or 2).
//
// Weights are [k][k][C] (XNNPACK's depthwise layout: channel innermost), bias [C] or empty.
// Every kernel accumulates a register-sized tile of channels (16, 8, 4, 1 lanes) in locals and
// writes memory once, so inner loops are fixed-length and vectorise: forward per output pixel,
// the input gradient per input pixel (gathering the outputs that read it), the weight gradient
// per tap along an output row. Images are split across threads.
#pragma once

#include <span>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"
#include "edgenas/ops/lanes.hpp"
#include "edgenas/ops/window.hpp"

namespace edgenas::ops {

namespace detail {

// One output pixel, channels [c, c + Lanes).
template <int Lanes>
inline void depthwise_pixel(const float* __restrict x, const float* __restrict w, const float* bias, int c, int C,
                            int W, int k, const Window& win, int oy, int ox, float* __restrict out) {
  Lane<Lanes> acc = bias ? Lane<Lanes>(lanes<Lanes>(bias + c)) : Lane<Lanes>::Zero();
  const int ky0 = win.ky_begin(oy), ky1 = win.ky_end(oy), kx0 = win.kx_begin(ox), kx1 = win.kx_end(ox);
  const int iy0 = win.in_y(oy), ix0 = win.in_x(ox);
  for (int ky = ky0; ky < ky1; ++ky) {
    for (int kx = kx0; kx < kx1; ++kx) {
      const float* in = x + (std::int64_t{iy0 + ky} * W + (ix0 + kx)) * C + c;
      const float* wk = w + (ky * k + kx) * C + c;
      acc += lanes<Lanes>(in) * lanes<Lanes>(wk);
    }
  }
  lanes<Lanes>(out + c) = acc;
}

// Two horizontally adjacent output pixels whose windows lie fully inside the image's columns:
// each weight vector loaded serves both (3 loads per 2 FMAs instead of 2 per 1).
template <int Lanes>
inline void depthwise_pixel_pair(const float* __restrict x, const float* __restrict w, const float* bias, int c, int C,
                                 int W, int k, const Window& win, int oy, int ox, float* __restrict out) {
  Lane<Lanes> acc0 = bias ? Lane<Lanes>(lanes<Lanes>(bias + c)) : Lane<Lanes>::Zero();
  Lane<Lanes> acc1 = acc0;
  const int ky0 = win.ky_begin(oy), ky1 = win.ky_end(oy);
  const int iy0 = win.in_y(oy), ix0 = win.in_x(ox);
  const std::int64_t step = std::int64_t{win.stride} * C;
  for (int ky = ky0; ky < ky1; ++ky) {
    const float* row = x + (std::int64_t{iy0 + ky} * W + ix0) * C + c;
    const float* wrow = w + ky * k * C + c;
    for (int kx = 0; kx < k; ++kx) {
      const float* in0 = row + std::int64_t{kx} * C;
      const float* in1 = in0 + step;
      const auto wk = lanes<Lanes>(wrow + kx * C);
      acc0 += lanes<Lanes>(in0) * wk;
      acc1 += lanes<Lanes>(in1) * wk;
    }
  }
  lanes<Lanes>(out + c) = acc0;
  lanes<Lanes>(out + C + c) = acc1;
}

// Input gradient of one input pixel, channels [c, c + Lanes): gathers every output pixel that
// read it, so the sum stays in registers and dx is written once.
template <int Lanes>
inline void depthwise_input_grad_pixel(const float* __restrict dy, const float* __restrict w, int c, int C, int k,
                                       const Window& win, int iy, int ix, float* __restrict dx) {
  float acc[Lanes] = {};
  const int oy0 = win.oy_begin_reading(iy), oy1 = win.oy_end_reading(iy);
  const int ox0 = win.ox_begin_reading(ix), ox1 = win.ox_end_reading(ix);
  for (int oy = oy0; oy < oy1; ++oy) {
    const int ky = iy - win.in_y(oy);
    for (int ox = ox0; ox < ox1; ++ox) {
      const int kx = ix - win.in_x(ox);
      const float* g = dy + (std::int64_t{oy} * win.out_w + ox) * C + c;
      const float* wk = w + (ky * k + kx) * C + c;
      for (int j = 0; j < Lanes; ++j) acc[j] += g[j] * wk[j];
    }
  }
  for (int j = 0; j < Lanes; ++j) dx[c + j] = acc[j];
}

// Input pixels ix and ix + stride of row iy together: they read the same taps, the second one
// output column further, so each weight load feeds two FMAs. Both must read only outputs
// inside the image (win.ox_begin_reading/ox_end_reading unclipped).
template <int Lanes>
inline void depthwise_input_grad_pair(const float* __restrict dy, const float* __restrict w, int c, int C, int k,
                                      const Window& win, int iy, int ix, float* __restrict dx) {
  Lane<Lanes> acc0 = Lane<Lanes>::Zero(), acc1 = Lane<Lanes>::Zero();
  const int oy0 = win.oy_begin_reading(iy), oy1 = win.oy_end_reading(iy);
  const int ox0 = win.ox_begin_reading(ix), ox1 = win.ox_end_reading(ix);
  for (int oy = oy0; oy < oy1; ++oy) {
    const float* wrow = w + (iy - win.in_y(oy)) * k * C + c;
    const float* grow = dy + std::int64_t{oy} * win.out_w * C + c;
    for (int ox = ox0; ox < ox1; ++ox) {
      const auto wk = lanes<Lanes>(wrow + (ix - win.in_x(ox)) * C);
      acc0 += lanes<Lanes>(grow + std::int64_t{ox} * C) * wk;
      acc1 += lanes<Lanes>(grow + std::int64_t{ox + 1} * C) * wk;
    }
  }
  lanes<Lanes>(dx + std::int64_t{ix} * C + c) = acc0;
  lanes<Lanes>(dx + std::int64_t{ix + win.stride} * C + c) = acc1;
}

// The weight gradient of taps kx0 … kx0 + K − 1 of kernel row ky from output row oy, channels
// [c, c + Lanes): the K accumulators stay in registers while the row passes once, so one
// gradient load feeds K FMAs (tap by tap it was two loads per FMA). Columns whose taps all fall
// inside the image skip the bounds checks. Kernels of 3, 5, 7 take a whole row (kx0 = 0);
// others go tap by tap (K = 1).
template <int Lanes, int K>
inline void depthwise_weight_grad_taps(const float* __restrict x, const float* __restrict dy, int c, int C, int W,
                                       const Window& win, int oy, int ky, int kx0, float* __restrict dw_row) {
  Lane<Lanes> acc[K];
  for (auto& a : acc) a.setZero();
  const float* xrow = x + std::int64_t{win.in_y(oy) + ky} * W * C + c;
  const float* grow = dy + std::int64_t{oy} * win.out_w * C + c;
  const auto edge_column = [&](int ox) {
    const auto g = lanes<Lanes>(grow + std::int64_t{ox} * C);
    for (int kx = 0; kx < K; ++kx) {
      const int ix = win.in_x(ox) + kx0 + kx;
      if (ix >= 0 && ix < W) acc[kx] += g * lanes<Lanes>(xrow + std::int64_t{ix} * C);
    }
  };
  const int inner_begin = std::min(win.ox_begin(kx0), win.out_w);
  const int inner_end = std::max(win.ox_end(kx0 + K - 1), inner_begin);
  for (int ox = 0; ox < inner_begin; ++ox) edge_column(ox);
  for (int ox = inner_begin; ox < inner_end; ++ox) {
    const auto g = lanes<Lanes>(grow + std::int64_t{ox} * C);
    const float* in = xrow + std::int64_t{win.in_x(ox) + kx0} * C;
    for (int kx = 0; kx < K; ++kx) acc[kx] += g * lanes<Lanes>(in + std::int64_t{kx} * C);
  }
  for (int ox = inner_end; ox < win.out_w; ++ox) edge_column(ox);
  for (int kx = 0; kx < K; ++kx) lanes<Lanes>(dw_row + (kx0 + kx) * C + c) += acc[kx];
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
        for (int ox = 0; ox < win.out_w;) {
          float* out = yi + (std::int64_t{oy} * win.out_w + ox) * C;
          if (ox + 1 < win.out_w && win.kx_begin(ox) == 0 && win.kx_end(ox + 1) == kernel) {
            detail::for_channel_tiles(C, [&]<int Lanes>(int c) {
              detail::depthwise_pixel_pair<Lanes>(xi, w.data(), bias, c, C, xs.w, kernel, win, oy, ox, out);
            });
            ox += 2;
          } else {
            detail::for_channel_tiles(C, [&]<int Lanes>(int c) {
              detail::depthwise_pixel<Lanes>(xi, w.data(), bias, c, C, xs.w, kernel, win, oy, ox, out);
            });
            ox += 1;
          }
        }
      }
    }
  });
}

namespace detail {
inline void check_depthwise_backward(const char* op, Shape xs, Shape ys, int kernel, int stride, TensorView dx,
                                     std::size_t w_size, std::size_t dw_size, std::size_t db_size) {
  check_window(op, xs, ys, kernel, stride, xs.c);
  check_depthwise_params(op, kernel, xs.c, w_size, db_size);
  EDGENAS_CHECK(dw_size == w_size, Status::invalid_shape, "%s: weight gradient has %zu values, weight %zu", op,
                dw_size, w_size);
  EDGENAS_CHECK(!dx.data() || dx.shape() == xs, Status::invalid_shape,
                "%s: input gradient shape differs from input shape", op);
}

// The gradients image by image: dy_image(n) returns image n of dY — a pointer into it, or
// a per-thread buffer it has just filled (fused_backward.hpp).
template <typename DyImage>
inline void depthwise_backward(ConstTensorView x, std::span<const float> w, int kernel, int stride, DyImage&& dy_image,
                               TensorView dx, std::span<float> dw, std::span<float> db) {
  const Shape xs = x.shape();
  const Window win(xs, kernel, stride);
  const int C = xs.c;
  const int chunks = parallel_chunks(xs.n);
  std::vector<std::vector<float>> partial_dw(static_cast<std::size_t>(chunks), std::vector<float>(w.size(), 0.0f));
  std::vector<std::vector<float>> partial_db(static_cast<std::size_t>(chunks), std::vector<float>(C, 0.0f));
  parallel_for(xs.n, [&](int chunk, std::int64_t first, std::int64_t last) {
    float* pdw = partial_dw[static_cast<std::size_t>(chunk)].data();
    float* pdb = partial_db[static_cast<std::size_t>(chunk)].data();
    for (std::int64_t n = first; n < last; ++n) {
      const float* xi = x.data() + n * xs.per_image();
      const float* gi = dy_image(n);
      if (dx.data()) {
        float* dxi = dx.data() + n * xs.per_image();
        // Groups of 2·stride pixels: pairs (ix, ix + stride) where every tap reads inside the
        // image, single pixels near the edges.
        const int group = 2 * stride;
        const auto unclipped = [&](int ix) {
          return ix + win.pad_left - (kernel - 1) >= 0 && (ix + win.pad_left) / stride + 1 <= win.out_w;
        };
        for (int iy = 0; iy < xs.h; ++iy) {
          float* row = dxi + std::int64_t{iy} * xs.w * C;
          for (int ix = 0; ix < xs.w;) {
            if (ix + group <= xs.w && unclipped(ix) && unclipped(ix + group - 1)) {
              for (int j = 0; j < stride; ++j)
                for_channel_tiles(C, [&]<int Lanes>(int c) {
                  depthwise_input_grad_pair<Lanes>(gi, w.data(), c, C, kernel, win, iy, ix + j, row);
                });
              ix += group;
            } else {
              for_channel_tiles(C, [&]<int Lanes>(int c) {
                depthwise_input_grad_pixel<Lanes>(gi, w.data(), c, C, kernel, win, iy, ix,
                                                          row + std::int64_t{ix} * C);
              });
              ix += 1;
            }
          }
        }
      }
      for (int oy = 0; oy < win.out_h; ++oy) {
        for (int ky = win.ky_begin(oy); ky < win.ky_end(oy); ++ky) {
          float* dw_row = pdw + ky * kernel * C;
          const auto taps = [&]<int K>(int kx0) {
            for_channel_tiles(C, [&]<int Lanes>(int c) {
              depthwise_weight_grad_taps<Lanes, K>(xi, gi, c, C, xs.w, win, oy, ky, kx0, dw_row);
            });
          };
          switch (kernel) {
            case 3: taps.template operator()<3>(0); break;
            case 5: taps.template operator()<5>(0); break;
            case 7: taps.template operator()<7>(0); break;
            default:
              for (int kx = 0; kx < kernel; ++kx) taps.template operator()<1>(kx);
          }
        }
        const float* g = gi + std::int64_t{oy} * win.out_w * C;
        for (int ox = 0; ox < win.out_w; ++ox)
          for (int c = 0; c < C; ++c) pdb[c] += g[std::int64_t{ox} * C + c];
      }
    }
  });
  for (const auto& p : partial_dw)
    for (std::size_t i = 0; i < dw.size(); ++i) dw[i] += p[i];
  if (!db.empty())
    for (const auto& p : partial_db)
      for (int c = 0; c < C; ++c) db[static_cast<std::size_t>(c)] += p[static_cast<std::size_t>(c)];
}
}  // namespace detail

/// Gradients of depthwise_forward. Writes dx (skipped if dx has no data); adds to dw and db
/// (db may be empty).
inline void depthwise_backward(ConstTensorView x, std::span<const float> w, int kernel, int stride,
                               ConstTensorView dy, TensorView dx, std::span<float> dw, std::span<float> db) {
  const Shape ys = dy.shape();
  detail::check_depthwise_backward("depthwise_backward", x.shape(), ys, kernel, stride, dx, w.size(), dw.size(),
                                   db.size());
  detail::depthwise_backward(
      x, w, kernel, stride, [&](std::int64_t n) { return dy.data() + n * ys.per_image(); }, dx, dw, db);
}

}  // namespace edgenas::ops
