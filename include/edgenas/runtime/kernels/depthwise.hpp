// edgenas/runtime/kernels/depthwise.hpp — batch-1 inference depthwise k×k convolution with
// the bias and the activation fused: edgenas's own kernel, which the runtime's plan chooses
// per layer where it beats XNNPACK (runtime/xnnpack/plan.hpp).
//
// Why it is fast: interior output pixels go in groups of P along the row, and the kernel walks
// the input row once per kernel row, so each input vector loaded feeds every pixel of the group
// that reads it (P + (P − 1)·(s − 1) + k − 1 loads for P·k FMAs instead of 2 per FMA), with
// that kernel row's k weight vectors held in registers; kernel size, stride and group are
// compile-time for k = 3, 5, 7 and s = 1, 2, so the whole group unrolls into straight FMAs.
// Groups at the left and right edges read a zero vector for taps outside the image; rows clip
// by bounds. ReLU, ReLU6, h-sigmoid and h-swish are applied in registers before the store;
// sigmoid and swish over the finished row while it is in L1. XNNPACK ae108ef
// has unipass microkernels up to 25 taps; a 7×7 layer there runs as a grouped GEMM, ~10× slower.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include "edgenas/core/activation.hpp"
#include "edgenas/core/error.hpp"
#include "edgenas/ops/activation_function.hpp"
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
inline void store(float* p, Vec<L> v) noexcept {
  __builtin_memcpy(p, &v, sizeof v);
}

alignas(64) inline constexpr float zeros[16] = {};

// Lane-wise max and min by mask (portable across GCC and Clang vector extensions).
template <int L>
using Mask [[gnu::vector_size(L * sizeof(std::int32_t))]] = std::int32_t;
template <int L>
[[gnu::always_inline]] inline Vec<L> vmax(Vec<L> a, Vec<L> b) {
  const Mask<L> m = a > b;
  return (Vec<L>)(((Mask<L>)a & m) | ((Mask<L>)b & ~m));
}
template <int L>
[[gnu::always_inline]] inline Vec<L> vmin(Vec<L> a, Vec<L> b) {
  const Mask<L> m = a < b;
  return (Vec<L>)(((Mask<L>)a & m) | ((Mask<L>)b & ~m));
}

// The activations that need no exp, applied to a finished accumulator in registers (sigmoid
// and swish run over the finished row instead: activate_row).
template <int L>
[[gnu::always_inline]] inline Vec<L> epilogue(Vec<L> v, Activation a) {
  const Vec<L> zero = Vec<L>{} + 0.0f, one = zero + 1.0f;
  switch (a) {
    case Activation::relu:
      return vmax<L>(v, zero);
    case Activation::relu6:
      return vmin<L>(vmax<L>(v, zero), zero + 6.0f);
    case Activation::hsigmoid:
      return vmin<L>(vmax<L>(v * (1.0f / 6.0f) + 0.5f, zero), one);
    case Activation::hswish:
      return v * vmin<L>(vmax<L>(v * (1.0f / 6.0f) + 0.5f, zero), one);
    default:
      return v;
  }
}

// P adjacent output pixels from column ox of row oy, channel tiles [c, c + L) for c in
// [c_begin, c_end). Clipped: some taps may fall left or right of the image and read zeros
// instead. The loops inside a tile have compile-time bounds and unroll completely (the tap test
// folds away), leaving straight-line loads and FMAs on register accumulators; the tile loop is
// innermost-but-one so the address arithmetic is paid once per group.
template <int L, int K, int S, int P, bool Clipped>
[[gnu::always_inline]] inline void pixel_group(const float* __restrict x, const float* __restrict w,
                                               const float* __restrict bias, int c_begin, int c_end, int C, int W,
                                               const ops::Window& win, int oy, int ox, Activation act,
                                               float* __restrict out) {
  const int ky0 = win.ky_begin(oy), ky1 = win.ky_end(oy), ix0 = win.in_x(ox);
  const float* rows = x + std::int64_t{win.in_y(oy)} * W * C;
  for (int c = c_begin; c + L <= c_end; c += L) {
    Vec<L> acc[P];
    const Vec<L> b = load<L>(bias + c);
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) acc[p] = b;
    for (int ky = ky0; ky < ky1; ++ky) {
      const float* row = rows + std::int64_t{ky} * W * C + c;
      const float* wr = w + ky * K * C + c;
      Vec<L> wk[K];
#pragma GCC unroll 16
      for (int kx = 0; kx < K; ++kx) wk[kx] = load<L>(wr + kx * C);
#pragma GCC unroll 32
      for (int j = 0; j < (P - 1) * S + K; ++j) {
        const int ix = ix0 + j;
        const float* src;
        if constexpr (Clipped)
          src = ix >= 0 && ix < W ? row + std::int64_t{ix} * C : zeros;  // no pointer outside the image
        else
          src = row + std::int64_t{ix} * C;
        const Vec<L> v = load<L>(src);
#pragma GCC unroll 16
        for (int p = 0; p < P; ++p) {
          const int kx = j - S * p;
          if (kx >= 0 && kx < K) acc[p] += v * wk[kx];
        }
      }
    }
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) store<L>(out + std::int64_t{p} * C + c, epilogue<L>(acc[p], act));
  }
}

// The SIMD width tiles start from: one native register (wider tiles would spill).
#if defined(__AVX512F__)
inline constexpr int native_lanes = 16;
#elif defined(__AVX__)
inline constexpr int native_lanes = 8;
#else
inline constexpr int native_lanes = 4;
#endif

// Calls tiles.template operator()<L>(begin, end) for the channel ranges [begin, end) covered by
// tiles of L lanes: the widest native tiles first, then 8, 4 and 1.
template <typename Tiles>
inline void for_tiles(int C, Tiles&& tiles) {
  int c = 0;
  const auto range = [&]<int L>() {
    const int end = c + (C - c) / L * L;
    if (end > c) tiles.template operator()<L>(c, end);
    c = end;
  };
  if constexpr (native_lanes >= 16) range.template operator()<16>();
  if constexpr (native_lanes >= 8) range.template operator()<8>();
  range.template operator()<4>();
  range.template operator()<1>();
}

// Output pixels [first, last) of row oy: groups of 8, then the rest (1 to 7 pixels) as one
// group, clipped (taps outside the image's columns read zeros). One group of 7 rather than
// 4 + 2 + 1 loads each kernel row's weights once and its shared input columns once: on 7-wide
// outputs (14×14 stride 2, 7×7) that is a third fewer loads per FMA.
template <int K, int S, bool Clipped>
inline void groups(const float* x, const float* w, const float* bias, int C, int W, const ops::Window& win, int oy,
                   int first, int last, Activation act, float* out_row) {
  const auto run = [&]<int P, bool Clip>(int ox) {
    for_tiles(C, [&]<int L>(int begin, int end) {
      pixel_group<L, K, S, P, Clip>(x, w, bias, begin, end, C, W, win, oy, ox, act, out_row + std::int64_t{ox} * C);
    });
  };
  int ox = first;
  for (; ox + 8 <= last; ox += 8) run.template operator()<8, Clipped>(ox);
  // The 1–7 pixels left as one clipped group, its size a compile-time P (one of 1..7).
  [&]<int... P>(std::integer_sequence<int, P...>) {
    (void)((last - ox == P + 1 && (run.template operator()<P + 1, true>(ox), true)) || ...);
  }(std::make_integer_sequence<int, 7>{});
}

// Row oy of the output: the interior in unchecked groups of 8, the edges in clipped groups. A
// row of at most 8 pixels is one group; otherwise the left edge group is 4 wide (a group of one
// pixel loads three times per FMA) and the right one takes what the 8s leave (1 to 8 + edge).
template <int K, int S>
inline void output_row(const float* x, const float* w, const float* bias, int C, int W, const ops::Window& win, int oy,
                       Activation act, float* out_row) {
  if (win.out_w <= 8) return groups<K, S, true>(x, w, bias, C, W, win, oy, 0, win.out_w, act, out_row);
  int first = 0;
  while (first < win.out_w && win.kx_begin(first) > 0) ++first;
  int last = win.out_w;
  while (last > first && win.kx_end(last - 1) < K) --last;
  const int left = std::min(win.out_w, (first + 3) / 4 * 4);
  const int right = left + std::max(0, last - left) / 8 * 8;
  groups<K, S, true>(x, w, bias, C, W, win, oy, 0, left, act, out_row);
  groups<K, S, false>(x, w, bias, C, W, win, oy, left, right, act, out_row);
  groups<K, S, true>(x, w, bias, C, W, win, oy, right, win.out_w, act, out_row);
}

// Any other kernel size: the clipped per-pixel path everywhere.
inline void generic_output_row(const float* x, const float* w, const float* bias, int C, int W, int k,
                               const ops::Window& win, int oy, float* out_row) {
  for (int ox = 0; ox < win.out_w; ++ox)
    ops::detail::for_channel_tiles(C, [&]<int L>(int c) {
      ops::detail::depthwise_pixel<L>(x, w, bias, c, C, W, k, win, oy, ox, out_row + std::int64_t{ox} * C);
    });
}

// The activation over a finished row (sigmoid and swish need exp, which the in-register epilogue
// leaves out; other kernel sizes apply all of them here). Eigen's vectorised exp rather than
// ops::activate<A>'s scalar std::exp: a swish row took 6× longer with the scalar one.
template <Activation A>
inline void activate_row(float* p, std::int64_t n) {
  Eigen::Map<Eigen::ArrayXf> v(p, n);
  if constexpr (A == Activation::sigmoid)
    v = ((-v).exp() + 1.0f).inverse();
  else if constexpr (A == Activation::swish)
    v = v * ((-v).exp() + 1.0f).inverse();
  else
    for (std::int64_t i = 0; i < n; ++i) p[i] = ops::activate<A>(p[i]);
}

inline void activate_row(Activation a, float* p, std::int64_t n) {
  if (a != Activation::identity) ops::with_activation(a, [&]<Activation A>() { activate_row<A>(p, n); });
}

}  // namespace detail

/// Output rows [row_begin, row_end) of one image: x [h, w, c], weights [k, k, c] (channel
/// innermost), bias [c], y [out_h, out_w, c]. Rows are independent: threads split them.
inline void depthwise_rows(const DepthwiseLayer& layer, const float* x, const float* weights, const float* bias,
                           float* y, int row_begin, int row_end) {
  const ops::Window win({1, layer.h, layer.w, layer.c}, layer.kernel, layer.stride);
  const int C = layer.c;
  const std::int64_t row_floats = std::int64_t{win.out_w} * C;
  for (int oy = row_begin; oy < row_end; ++oy) {
    float* out = y + oy * row_floats;
    const Activation act = layer.act;
    const auto run = [&]<int K, int S>() { detail::output_row<K, S>(x, weights, bias, C, layer.w, win, oy, act, out); };
    const int k = layer.kernel, s = layer.stride;
    if (k == 3 && s == 1)
      run.template operator()<3, 1>();
    else if (k == 3 && s == 2)
      run.template operator()<3, 2>();
    else if (k == 5 && s == 1)
      run.template operator()<5, 1>();
    else if (k == 5 && s == 2)
      run.template operator()<5, 2>();
    else if (k == 7 && s == 1)
      run.template operator()<7, 1>();
    else if (k == 7 && s == 2)
      run.template operator()<7, 2>();
    else {
      detail::generic_output_row(x, weights, bias, C, layer.w, k, win, oy, out);
      detail::activate_row(act, out, row_floats);
      continue;
    }
    if (act == Activation::sigmoid || act == Activation::swish) detail::activate_row(act, out, row_floats);
  }
}

/// The whole image on the calling thread.
inline void depthwise(const DepthwiseLayer& layer, const float* x, const float* weights, const float* bias, float* y) {
  EDGENAS_CHECK(layer.kernel >= 1 && layer.kernel % 2 == 1 && (layer.stride == 1 || layer.stride == 2) && layer.h > 0 &&
                    layer.w > 0 && layer.c > 0,
                Status::invalid_argument, "kernels::depthwise: %dx%dx%d, kernel %d, stride %d", layer.h, layer.w,
                layer.c, layer.kernel, layer.stride);
  depthwise_rows(layer, x, weights, bias, y, 0, layer.out_h());
}

}  // namespace edgenas::kernels
