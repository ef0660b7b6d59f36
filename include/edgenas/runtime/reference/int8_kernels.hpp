// edgenas/runtime/reference/int8_kernels.hpp — the integer reference: every int8 operation as
// plain loops over int8 and int32, nothing else (no float at inference, no heap, no Eigen).
//
// This is the ground truth every int8 runtime is checked against, and what a microcontroller
// runs. Arithmetic is TFLite's (quant/scheme.hpp); where it differs it says so here and in
// docs/quantization.md. NHWC, single image, SAME padding as the float kernels (padding is a
// real zero: the input zero point, i.e. skipped).
#pragma once

#include <cstdint>

#include "edgenas/core/shape.hpp"
#include "edgenas/quant/scheme.hpp"

namespace edgenas::reference::int8 {

using quant::Multiplier;

/// What a convolution needs besides its tensors: the input zero point, one requantization
/// multiplier per output channel (its 32-bit value and its shift in separate arrays, 5 bytes a
/// channel in flash rather than an 8-byte struct), the output zero point and the clamp (fused
/// ReLU/ReLU6, or the whole int8 range).
struct Requantization {
  std::int32_t input_zero_point = 0;
  const std::int32_t* multipliers = nullptr;  // per output channel
  const std::int8_t* shifts = nullptr;        // per output channel
  std::int32_t output_zero_point = 0;
  std::int32_t lo = quant::qmin, hi = quant::qmax;
};

inline std::int8_t finish(std::int32_t acc, const Requantization& r, int channel) noexcept {
  const Multiplier m{r.multipliers[channel], r.shifts[channel]};
  return quant::saturate(quant::requantize(acc, m) + r.output_zero_point, r.lo, r.hi);
}

/// Full k×k convolution: weights [O][k][k][I], bias int32 [O].
inline void conv2d(const std::int8_t* x, Shape in, const std::int8_t* w, const std::int32_t* bias, int k, int stride,
                   const Requantization& r, std::int8_t* y, Shape out) noexcept {
  const int pad_t = same_padding_before(in.h, k, stride), pad_l = same_padding_before(in.w, k, stride);
  for (int oy = 0; oy < out.h; ++oy)
    for (int ox = 0; ox < out.w; ++ox)
      for (int o = 0; o < out.c; ++o) {
        std::int32_t acc = bias[o];
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * stride - pad_t + ky;
          if (iy < 0 || iy >= in.h) continue;
          for (int kx = 0; kx < k; ++kx) {
            const int ix = ox * stride - pad_l + kx;
            if (ix < 0 || ix >= in.w) continue;
            const std::int8_t* px = x + (std::int64_t{iy} * in.w + ix) * in.c;
            const std::int8_t* pw = w + ((std::int64_t{o} * k + ky) * k + kx) * in.c;
            for (int i = 0; i < in.c; ++i) acc += (std::int32_t{px[i]} - r.input_zero_point) * pw[i];
          }
        }
        y[(std::int64_t{oy} * out.w + ox) * out.c + o] = finish(acc, r, o);
      }
}

/// Depthwise k×k convolution: weights [k][k][C], bias int32 [C].
inline void depthwise(const std::int8_t* x, Shape in, const std::int8_t* w, const std::int32_t* bias, int k, int stride,
                      const Requantization& r, std::int8_t* y, Shape out) noexcept {
  const int pad_t = same_padding_before(in.h, k, stride), pad_l = same_padding_before(in.w, k, stride);
  const int C = in.c;
  for (int oy = 0; oy < out.h; ++oy)
    for (int ox = 0; ox < out.w; ++ox)
      for (int c = 0; c < C; ++c) {
        std::int32_t acc = bias[c];
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * stride - pad_t + ky;
          if (iy < 0 || iy >= in.h) continue;
          for (int kx = 0; kx < k; ++kx) {
            const int ix = ox * stride - pad_l + kx;
            if (ix < 0 || ix >= in.w) continue;
            acc += (std::int32_t{x[(std::int64_t{iy} * in.w + ix) * C + c]} - r.input_zero_point) *
                   w[(std::int64_t{ky} * k + kx) * C + c];
          }
        }
        y[(std::int64_t{oy} * out.w + ox) * C + c] = finish(acc, r, c);
      }
}

/// 1×1 convolution over `pixels` pixels (pixels = 1: a fully-connected layer): weights [O][I].
inline void pointwise(const std::int8_t* x, std::int64_t pixels, int in, const std::int8_t* w, const std::int32_t* bias,
                      int out, const Requantization& r, std::int8_t* y) noexcept {
  for (std::int64_t p = 0; p < pixels; ++p)
    for (int o = 0; o < out; ++o) {
      const std::int8_t* px = x + p * in;
      const std::int8_t* pw = w + std::int64_t{o} * in;
      std::int32_t acc = bias[o];
      for (int i = 0; i < in; ++i) acc += (std::int32_t{px[i]} - r.input_zero_point) * pw[i];
      y[p * out + o] = finish(acc, r, o);
    }
}

/// y = table[x + 128]: any function of one int8 value (the activations that are not a clamp).
inline void lookup(const std::int8_t* x, std::int64_t n, const std::int8_t* table, std::int8_t* y) noexcept {
  for (std::int64_t i = 0; i < n; ++i) y[i] = table[x[i] + 128];
}

/// Mean over pixels of [pixels][C]: Σ(q − z_in) requantized once by s_in / (pixels · s_out).
/// (TFLite's reference MEAN requantizes by s_in / s_out and then divides by the count with its
/// own rounding: the two differ by at most one step; one rounding is the more exact.)
inline void global_average_pool(const std::int8_t* x, std::int64_t pixels, int C, std::int32_t input_zero_point,
                                Multiplier m, std::int32_t output_zero_point, std::int8_t* y) noexcept {
  for (int c = 0; c < C; ++c) {
    std::int32_t acc = 0;
    for (std::int64_t p = 0; p < pixels; ++p) acc += std::int32_t{x[p * C + c]} - input_zero_point;
    y[c] = quant::saturate(quant::requantize(acc, m) + output_zero_point);
  }
}

/// Squeeze-and-excitation scaling, TFLite's int8 MUL broadcast over pixels:
/// y = requantize((x − z_x) · (g − z_g), s_x · s_g / s_y) + z_y.
inline void scale_channels(const std::int8_t* x, std::int64_t pixels, int C, std::int32_t x_zero_point,
                           const std::int8_t* gate, std::int32_t gate_zero_point, Multiplier m,
                           std::int32_t output_zero_point, std::int8_t* y) noexcept {
  for (std::int64_t p = 0; p < pixels; ++p)
    for (int c = 0; c < C; ++c) {
      const std::int32_t prod = (std::int32_t{x[p * C + c]} - x_zero_point) * (std::int32_t{gate[c]} - gate_zero_point);
      y[p * C + c] = quant::saturate(quant::requantize(prod, m) + output_zero_point);
    }
}

/// TFLite's int8 ADD: both inputs brought to a common scale with 20 bits of headroom, summed,
/// requantized to the output.
struct AddParams {
  std::int32_t a_zero_point = 0, b_zero_point = 0, output_zero_point = 0;
  Multiplier a, b, output;
  static constexpr int left_shift = 20;

  static AddParams make(const quant::QuantParams& pa, const quant::QuantParams& pb, const quant::QuantParams& out,
                        const char* what) {
    const double twice_max = 2.0 * (pa.scale > pb.scale ? pa.scale : pb.scale);
    return {pa.zero_point,
            pb.zero_point,
            out.zero_point,
            quant::quantize_multiplier(pa.scale / twice_max, what),
            quant::quantize_multiplier(pb.scale / twice_max, what),
            quant::quantize_multiplier(twice_max / ((1 << left_shift) * static_cast<double>(out.scale)), what)};
  }
};

inline void add(const std::int8_t* a, const std::int8_t* b, std::int64_t n, const AddParams& p, std::int8_t* y) noexcept {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t sa = quant::requantize((std::int32_t{a[i]} - p.a_zero_point) * (1 << AddParams::left_shift), p.a);
    const std::int32_t sb = quant::requantize((std::int32_t{b[i]} - p.b_zero_point) * (1 << AddParams::left_shift), p.b);
    y[i] = quant::saturate(quant::requantize(sa + sb, p.output) + p.output_zero_point);
  }
}

}  // namespace edgenas::reference::int8
