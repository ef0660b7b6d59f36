// edgenas/quant/scheme.hpp — the int8 scheme of TensorFlow Lite, fixed once.
//
//   real = scale · (q − zero_point)
//   weights:     int8, symmetric per output channel (zero point 0, range [−127, 127])
//   activations: int8, asymmetric per tensor (range [−128, 127], 0.0 exactly representable)
//   biases:      int32, scale = input scale × weight scale, zero point 0
//   requantize:  a real multiplier M ∈ (0, 2^31) is a 32-bit fixed-point m ∈ [2^30, 2^31) and a
//                shift (M = m · 2^(shift−31)), applied as gemmlowp does: saturating rounding
//                doubling high multiply, then rounding right shift (round half away from zero).
//
// docs/quantization.md lists every place edgenas's arithmetic differs from TFLite's. Deploy
// layer: nothing but the standard library (firmware includes it).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "edgenas/core/error.hpp"

namespace edgenas::quant {

inline constexpr int qmin = -128, qmax = 127;
inline constexpr int weight_qmax = 127;  // symmetric weights use [−127, 127]

/// An activation tensor's quantization (per tensor).
struct QuantParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  friend constexpr bool operator==(const QuantParams&, const QuantParams&) = default;
};

/// The output quantization of sigmoid and h-sigmoid, fixed as TFLite's int8 LOGISTIC: [0, 1)
/// in steps of 1/256.
inline constexpr QuantParams unit_interval_params{1.0f / 256.0f, -128};

inline bool valid(const QuantParams& p) noexcept {
  return std::isfinite(p.scale) && p.scale > 0.0f && p.zero_point >= qmin && p.zero_point <= qmax;
}

/// Parameters covering [lo, hi] (widened to contain 0, so that padding and ReLU's zero are
/// exact), the zero point nudged to an integer as TFLite's ChooseQuantizationParams.
inline QuantParams choose_params(float lo, float hi) noexcept {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (!(hi - lo > 1e-8f) || !std::isfinite(hi - lo)) return {1.0f / 256.0f, 0};  // an all-zero (or broken) range
  const double scale = (static_cast<double>(hi) - lo) / (qmax - qmin);
  const double zp_from_min = qmin - lo / scale;
  const double zp_from_max = qmax - hi / scale;
  const double error_min = std::abs(qmin) + std::abs(lo / scale);
  const double error_max = std::abs(qmax) + std::abs(hi / scale);
  const double zp = error_min < error_max ? zp_from_min : zp_from_max;
  const auto nudged = static_cast<std::int32_t>(std::clamp(std::round(zp), double{qmin}, double{qmax}));
  return {static_cast<float>(scale), nudged};
}

/// Symmetric per-channel weight scale for weights whose largest magnitude is max_abs.
inline float weight_scale(float max_abs) noexcept {
  return max_abs > 0.0f && std::isfinite(max_abs) ? max_abs / weight_qmax : 1.0f;
}

inline std::int8_t quantize(float x, const QuantParams& p) noexcept {
  const float q = std::nearbyint(x / p.scale) + static_cast<float>(p.zero_point);
  return static_cast<std::int8_t>(std::clamp(q, float{qmin}, float{qmax}));
}
inline float dequantize(std::int32_t q, const QuantParams& p) noexcept {
  return p.scale * static_cast<float>(q - p.zero_point);
}

/// x quantized to the grid of p and back (what fake quantization computes).
inline float fake_quantize(float x, const QuantParams& p) noexcept { return dequantize(quantize(x, p), p); }

// ---- fixed-point requantization (gemmlowp) -----------------------------------------------

/// A real multiplier as m · 2^(shift − 31), m ∈ [2^30, 2^31).
struct Multiplier {
  std::int32_t m = 0;
  int shift = 0;
};

/// The range of shifts this scheme accepts: real multipliers in [2^−31, 2^31).
inline constexpr int min_shift = -31, max_shift = 30;

/// TFLite's QuantizeMultiplier. Fails (naming `what`) for multipliers that are not finite and
/// positive or whose shift falls outside [min_shift, max_shift].
inline Multiplier quantize_multiplier(double real, const char* what) {
  EDGENAS_CHECK(std::isfinite(real) && real > 0.0, Status::invalid_argument,
                "%s: int8 requantization multiplier %g is not a positive finite number", what, real);
  int shift = 0;
  const double q = std::frexp(real, &shift);  // real = q · 2^shift, q ∈ [0.5, 1)
  auto m = static_cast<std::int64_t>(std::llround(q * static_cast<double>(1ll << 31)));
  if (m == (1ll << 31)) m /= 2, ++shift;
  EDGENAS_CHECK(shift >= min_shift && shift <= max_shift, Status::invalid_argument,
                "%s: int8 requantization multiplier %g needs shift %d, outside [%d, %d] (scales of wildly "
                "different magnitude)",
                what, real, shift, min_shift, max_shift);
  return {static_cast<std::int32_t>(m), shift};
}

/// gemmlowp's SaturatingRoundingDoublingHighMul: round(a · b / 2^31), saturating.
constexpr std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) noexcept {
  if (a == b && a == std::numeric_limits<std::int32_t>::min()) return std::numeric_limits<std::int32_t>::max();
  const std::int64_t ab = std::int64_t{a} * b;
  const std::int64_t nudge = ab >= 0 ? (1ll << 30) : (1 - (1ll << 30));
  return static_cast<std::int32_t>((ab + nudge) / (1ll << 31));  // C++ division truncates toward 0
}

/// gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounding half away from zero.
constexpr std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) noexcept {
  const std::int32_t mask = static_cast<std::int32_t>((1ll << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/// TFLite's MultiplyByQuantizedMultiplier: x · m · 2^(shift − 31), rounded.
constexpr std::int32_t requantize(std::int32_t x, Multiplier q) noexcept {
  const int left = q.shift > 0 ? q.shift : 0, right = q.shift > 0 ? 0 : -q.shift;
  // (x · 2^left saturates only for accumulators beyond 2^(31 − left): never for this scheme's
  // layers, whose multipliers are < 1 except for tiny SE scales.)
  const auto shifted = static_cast<std::int32_t>(
      std::clamp<std::int64_t>(std::int64_t{x} * (std::int64_t{1} << left), std::numeric_limits<std::int32_t>::min(),
                               std::numeric_limits<std::int32_t>::max()));
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, q.m), right);
}

/// Clamps an int32 result onto [lo, hi] ⊆ [−128, 127].
constexpr std::int8_t saturate(std::int32_t x, std::int32_t lo = qmin, std::int32_t hi = qmax) noexcept {
  return static_cast<std::int8_t>(x < lo ? lo : (x > hi ? hi : x));
}

}  // namespace edgenas::quant
