// edgenas/core/rng.hpp — a seeded, portable random number generator.
//
// xoshiro256** seeded through SplitMix64. Unlike <random>'s distributions, every draw here is
// specified bit for bit, so a seed gives the same weights, batches and architectures with any
// standard library and on any target (x86, aarch64, armhf, Cortex-M).
#pragma once

#include <cmath>
#include <cstdint>

namespace edgenas {

class Rng {
 public:
  explicit constexpr Rng(std::uint64_t seed = 0x9E3779B97F4A7C15ull) noexcept { reseed(seed); }

  constexpr void reseed(std::uint64_t seed) noexcept {
    for (auto& word : state_) word = splitmix64(seed);
  }

  /// An independent generator for sub-task `stream` (e.g. one per worker thread or layer).
  constexpr Rng fork(std::uint64_t stream) const noexcept {
    std::uint64_t mix = state_[0] ^ (stream * 0xD1B54A32D192ED03ull);
    return Rng(splitmix64(mix));
  }

  constexpr std::uint64_t next_u64() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 24 bits of precision (exactly representable as float).
  constexpr float uniform() noexcept { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
  constexpr float uniform(float lo, float hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Uniform in [0, 1) with 53 bits, for double-precision tests.
  constexpr double uniform_double() noexcept {
    return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
  }

  /// Uniform integer in [0, bound) without modulo bias (Lemire's method). bound must be > 0.
  constexpr std::uint32_t below(std::uint32_t bound) noexcept {
    std::uint64_t product = (next_u64() >> 32) * bound;
    auto low = static_cast<std::uint32_t>(product);
    if (low < bound) {
      const std::uint32_t threshold = static_cast<std::uint32_t>(-bound) % bound;
      while (low < threshold) {
        product = (next_u64() >> 32) * bound;
        low = static_cast<std::uint32_t>(product);
      }
    }
    return static_cast<std::uint32_t>(product >> 32);
  }
  /// Uniform integer in [lo, hi] inclusive.
  constexpr int between(int lo, int hi) noexcept {
    return lo + static_cast<int>(below(static_cast<std::uint32_t>(hi - lo + 1)));
  }
  constexpr bool coin(float p_true = 0.5f) noexcept { return uniform() < p_true; }

  /// Standard normal draw (Box–Muller; the second value of each pair is kept for the next call).
  float normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 0.0;
    while (u1 <= 0.0) u1 = uniform_double();
    const double u2 = uniform_double();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    spare_ = static_cast<float>(radius * std::sin(angle));
    has_spare_ = true;
    return static_cast<float>(radius * std::cos(angle));
  }
  float normal(float mean, float stddev) noexcept { return mean + stddev * normal(); }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  static constexpr std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  std::uint64_t state_[4]{};
  float spare_ = 0.0f;
  bool has_spare_ = false;
};

}  // namespace edgenas
