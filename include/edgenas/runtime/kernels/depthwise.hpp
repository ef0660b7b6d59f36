// edgenas/runtime/kernels/depthwise.hpp — batch-1 inference depthwise k×k convolution with
// the bias and the activation fused: edgenas's own kernel, which the runtime's plan chooses
// per layer where it beats XNNPACK (runtime/xnnpack/plan.hpp).
//
// Why it is fast: interior output pixels go in groups of P along the row, and the kernel walks
// the input row once per kernel row, so each input vector loaded feeds every pixel of the group
// that reads it (P + (P − 1)·(s − 1) + k − 1 loads for P·k FMAs instead of 2 per FMA), with
// that kernel row's k weight vectors held in registers; kernel size, stride and group are
// compile-time for k = 3, 5, 7 and s = 1, 2, so the whole group unrolls into straight FMAs.
// Columns whose window leaves the image take the clipped per-pixel path; rows clip by bounds.
// The activation runs over each finished output row while it is still in L1. XNNPACK ae108ef
// has unipass microkernels up to 25 taps; a 7×7 layer there runs as a grouped GEMM, ~10× slower.
#pragma once

#include <cstdint>
#include <algorithm>
#include <utility>
#include <vector>

#include "edgenas/core/activation.hpp"
#include "edgenas/core/error.hpp"
#include "edgenas/ops/depthwise.hpp"
#include "edgenas/ops/lanes.hpp"
#include "edgenas/ops/window.hpp"

namespace edgenas::kernels {

/// The layer a kernel call computes: one image [h, w, c] → [⌈h/s⌉, ⌈w/s⌉, c].
struct DepthwiseLayer {
  int h = 0, w = 0, c = 0;
  int kernel = 3, stride = 1;
  Activation act = Activation::identity;
  int out_h() const noexcept { return same_output_extent(h, stride); }
  int out_w() const noexcept { return same_output_extent(w, stride); }
};

namespace detail {

using ops::detail::Lane;
using ops::detail::lanes;

template <int N, typename F>
inline void unrolled(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { (f(std::integral_constant<int, I>{}), ...); }
  (std::make_integer_sequence<int, N>{});
}

// A vector of L floats as a GCC/Clang vector type: unlike Eigen arrays held in a C array,
// these stay in registers (AVX-512: one zmm for L = 16; AVX2, NEON: split into native vectors).
template <int L>
using Vec [[gnu::vector_size(L * sizeof(float)), gnu::aligned(alignof(float))]] = float;
template <int L>
inline Vec<L> load(const float* p) noexcept {
  Vec<L> v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <int L>
inline void store(float* p, Vec<L> v) noexcept { __builtin_memcpy(p, &v, sizeof v); }

// P adjacent output pixels from column ox of row oy (all of their taps inside the image's
// columns), channels [c, c + L).
template <int L, int K, int S, int P>
inline void pixel_group(const float* __restrict x, const float* __restrict w, const float* __restrict bias, int c,
                        int C, int W, const ops::Window& win, int oy, int ox, float* __restrict out) {
  Vec<L> acc[P];
  const Vec<L> b = load<L>(bias + c);
  for (auto& a : acc) a = b;
  const int ky0 = win.ky_begin(oy), ky1 = win.ky_end(oy);
  const float* column = x + std::int64_t{win.in_x(ox)} * C + c;
  for (int ky = ky0; ky < ky1; ++ky) {
    const float* in = column + std::int64_t{win.in_y(oy) + ky} * W * C;
    const float* wr = w + ky * K * C + c;
    Vec<L> wk[K];
    unrolled<K>([&](auto kx) { wk[kx] = load<L>(wr + kx * C); });
    unrolled<(P - 1) * S + K>([&](auto j) {
      const Vec<L> v = load<L>(in + std::int64_t{j} * C);
      unrolled<P>([&](auto p) {
        constexpr int kx = decltype(j)::value - S * decltype(p)::value;
        if constexpr (kx >= 0 && kx < K) acc[p] += v * wk[kx];
      });
    });
  }
  unrolled<P>([&](auto p) { store<L>(out + std::int64_t{p} * C + c, acc[p]); });
}

// The SIMD width tiles start from: one native register (wider tiles would spill).
#if defined(__AVX512F__)
inline constexpr int native_lanes = 16;
#elif defined(__AVX__)
inline constexpr int native_lanes = 8;
#else
inline constexpr int native_lanes = 4;
#endif

// Runs tile.template operator()<L>(c) over channel tiles [c, c + L) of C channels.
template <typename Tile>
inline void for_tiles(int C, Tile&& tile) {
  int c = 0;
  if constexpr (native_lanes >= 16)
    for (; c + 16 <= C; c += 16) tile.template operator()<16>(c);
  if constexpr (native_lanes >= 8)
    for (; c + 8 <= C; c += 8) tile.template operator()<8>(c);
  for (; c + 4 <= C; c += 4) tile.template operator()<4>(c);
  for (; c < C; ++c) tile.template operator()<1>(c);
}

// Output pixels [first, last) of row oy, all inside the image's columns: groups of 8, then 4, 2, 1.
template <int K, int S>
inline void interior(const float* x, const float* w, const float* bias, int C, int W, const ops::Window& win, int oy,
                     int first, int last, float* out_row) {
  int ox = first;
  const auto groups = [&]<int P>() {
    for (; ox + P <= last; ox += P)
      for_tiles(C, [&]<int L>(int c) {
        pixel_group<L, K, S, P>(x, w, bias, c, C, W, win, oy, ox, out_row + std::int64_t{ox} * C);
      });
  };
  groups.template operator()<8>();
  groups.template operator()<4>();
  groups.template operator()<2>();
  groups.template operator()<1>();
}

// Row oy of the output: the interior in groups, clipped pixels at the edges.
template <int K, int S>
inline void output_row(const float* x, const float* w, const float* bias, int C, int W, const ops::Window& win,
                       int oy, float* out_row) {
  int first = 0;
  while (first < win.out_w && win.kx_begin(first) > 0) ++first;
  int last = win.out_w;
  while (last > first && win.kx_end(last - 1) < K) --last;
  const auto clipped = [&](int ox) {
    ops::detail::for_channel_tiles(C, [&]<int L>(int c) {
      ops::detail::depthwise_pixel<L>(x, w, bias, c, C, W, K, win, oy, ox, out_row + std::int64_t{ox} * C);
    });
  };
  for (int ox = 0; ox < first; ++ox) clipped(ox);
  interior<K, S>(x, w, bias, C, W, win, oy, first, last, out_row);
  for (int ox = std::max(last, first); ox < win.out_w; ++ox) clipped(ox);
}

// Any other kernel size: the clipped per-pixel path everywhere.
inline void generic_output_row(const float* x, const float* w, const float* bias, int C, int W, int k,
                               const ops::Window& win, int oy, float* out_row) {
  for (int ox = 0; ox < win.out_w; ++ox)
    ops::detail::for_channel_tiles(C, [&]<int L>(int c) {
      ops::detail::depthwise_pixel<L>(x, w, bias, c, C, W, k, win, oy, ox, out_row + std::int64_t{ox} * C);
    });
}

template <Activation A>
inline void activate_row(float* p, std::int64_t n) {
  Eigen::Map<Eigen::ArrayXf> v(p, n);
  if constexpr (A == Activation::relu)
    v = v.max(0.0f);
  else if constexpr (A == Activation::relu6)
    v = v.max(0.0f).min(6.0f);
  else if constexpr (A == Activation::hsigmoid)
    v = (v * (1.0f / 6.0f) + 0.5f).max(0.0f).min(1.0f);
  else if constexpr (A == Activation::hswish)
    v = v * (v * (1.0f / 6.0f) + 0.5f).max(0.0f).min(1.0f);
  else if constexpr (A == Activation::sigmoid)
    v = ((-v).exp() + 1.0f).inverse();
  else if constexpr (A == Activation::swish)
    v = v * ((-v).exp() + 1.0f).inverse();
}

inline void activate_row(Activation a, float* p, std::int64_t n) {
  switch (a) {
    case Activation::identity: return;
    case Activation::relu: return activate_row<Activation::relu>(p, n);
    case Activation::relu6: return activate_row<Activation::relu6>(p, n);
    case Activation::hsigmoid: return activate_row<Activation::hsigmoid>(p, n);
    case Activation::hswish: return activate_row<Activation::hswish>(p, n);
    case Activation::sigmoid: return activate_row<Activation::sigmoid>(p, n);
    case Activation::swish: return activate_row<Activation::swish>(p, n);
  }
}

}  // namespace detail

/// Floats of scratch depthwise_rows needs: narrow maps (≤ 16 output columns) with 5×5 or
/// larger kernels, where clipped edge pixels would dominate, are computed from a copy whose rows carry their zero padding
/// (every pixel then takes the grouped path); wider maps need none.
inline std::int64_t depthwise_scratch_floats(const DepthwiseLayer& layer) {
  const ops::Window win({1, layer.h, layer.w, layer.c}, layer.kernel, layer.stride);
  const bool clipped = win.pad_left > 0 || win.kx_end(win.out_w - 1) < layer.kernel;
  if (win.out_w > 16 || layer.kernel < 5 || !clipped) return 0;
  return std::int64_t{layer.h} * ((win.out_w - 1) * layer.stride + layer.kernel) * layer.c;
}

/// Fills input rows [row_begin, row_end) of the scratch copy (when depthwise_scratch_floats > 0).
inline void pad_columns(const DepthwiseLayer& layer, const float* x, float* scratch, int row_begin, int row_end) {
  const ops::Window win({1, layer.h, layer.w, layer.c}, layer.kernel, layer.stride);
  const int C = layer.c, padded_w = (win.out_w - 1) * layer.stride + layer.kernel;
  const std::int64_t left = std::int64_t{win.pad_left} * C, row = std::int64_t{layer.w} * C;
  const std::int64_t right = std::int64_t{padded_w} * C - left - row;
  for (int iy = row_begin; iy < row_end; ++iy) {
    float* out = scratch + std::int64_t{iy} * padded_w * C;
    std::fill(out, out + left, 0.0f);
    std::copy(x + iy * row, x + (iy + 1) * row, out + left);
    std::fill(out + left + row, out + left + row + right, 0.0f);
  }
}

/// Output rows [row_begin, row_end) of one image: x [h, w, c], weights [k, k, c] (channel
/// innermost), bias [c], y [out_h, out_w, c]; `scratch` as filled by pad_columns when
/// depthwise_scratch_floats(layer) > 0, else unused. Rows are independent: threads split them.
inline void depthwise_rows(const DepthwiseLayer& layer, const float* x, const float* weights, const float* bias,
                           float* y, int row_begin, int row_end, const float* scratch = nullptr) {
  ops::Window win({1, layer.h, layer.w, layer.c}, layer.kernel, layer.stride);
  int width = layer.w;
  if (depthwise_scratch_floats(layer) > 0) {  // read the padded copy: no column is clipped
    EDGENAS_CHECK(scratch != nullptr, Status::invalid_argument, "kernels::depthwise_rows: %dx%d map needs scratch",
                  layer.h, layer.w);
    x = scratch;
    width = win.in_w = (win.out_w - 1) * layer.stride + layer.kernel;
    win.pad_left = 0;
  }
  const int C = layer.c;
  const std::int64_t row_floats = std::int64_t{win.out_w} * C;
  for (int oy = row_begin; oy < row_end; ++oy) {
    float* out = y + oy * row_floats;
    const auto run = [&]<int K, int S>() { detail::output_row<K, S>(x, weights, bias, C, width, win, oy, out); };
    const int k = layer.kernel, s = layer.stride;
    if (k == 3 && s == 1) run.template operator()<3, 1>();
    else if (k == 3 && s == 2) run.template operator()<3, 2>();
    else if (k == 5 && s == 1) run.template operator()<5, 1>();
    else if (k == 5 && s == 2) run.template operator()<5, 2>();
    else if (k == 7 && s == 1) run.template operator()<7, 1>();
    else if (k == 7 && s == 2) run.template operator()<7, 2>();
    else detail::generic_output_row(x, weights, bias, C, width, k, win, oy, out);
    detail::activate_row(layer.act, out, row_floats);
  }
}

/// The whole image on the calling thread (scratch allocated here when the layer needs it).
inline void depthwise(const DepthwiseLayer& layer, const float* x, const float* weights, const float* bias, float* y) {
  EDGENAS_CHECK(layer.kernel >= 1 && layer.kernel % 2 == 1 && (layer.stride == 1 || layer.stride == 2) &&
                    layer.h > 0 && layer.w > 0 && layer.c > 0,
                Status::invalid_argument, "kernels::depthwise: %dx%dx%d, kernel %d, stride %d", layer.h, layer.w,
                layer.c, layer.kernel, layer.stride);
  std::vector<float> scratch(static_cast<std::size_t>(depthwise_scratch_floats(layer)));
  if (!scratch.empty()) pad_columns(layer, x, scratch.data(), 0, layer.h);
  depthwise_rows(layer, x, weights, bias, y, 0, layer.out_h(), scratch.data());
}

}  // namespace edgenas::kernels
