// edgenas/latency/timing.hpp — robust wall-clock timing on a shared, noisy machine.
//
// Warm up, then time rounds of repeated runs; a round is accepted when its spread
// (p90 − p10) / median is within bounds, otherwise the next round gets more samples, up to a
// limit. The result carries median, p10/p90, MAD and whether it settled, so callers report
// confidence instead of trusting one number.
#pragma once

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "edgenas/core/error.hpp"

namespace edgenas::latency {

struct TimingOptions {
  int warmup_runs = 3;
  int min_runs = 11;             // per round
  double min_round_seconds = 0.05;
  int max_runs = 2000;           // per round, whatever min_round_seconds says
  double max_spread = 0.15;      // accepted (p90 − p10) / median
  int max_rounds = 4;            // each retry doubles the samples
  int pin_cpu = -1;              // ≥ 0: pin the measuring thread to this CPU (Linux)
};

struct Measurement {
  double median_ms = 0, p10_ms = 0, p90_ms = 0, mad_ms = 0, min_ms = 0;
  int runs = 0;
  int rounds = 0;
  bool stable = false;  // the spread bound was met
  double spread() const noexcept { return median_ms > 0 ? (p90_ms - p10_ms) / median_ms : 0.0; }
};

namespace detail {
inline double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}
inline Measurement summarise(const std::vector<double>& ms) {
  Measurement m;
  m.median_ms = percentile(ms, 0.5);
  m.p10_ms = percentile(ms, 0.1);
  m.p90_ms = percentile(ms, 0.9);
  m.min_ms = *std::min_element(ms.begin(), ms.end());
  std::vector<double> dev;
  for (double x : ms) dev.push_back(std::abs(x - m.median_ms));
  m.mad_ms = percentile(dev, 0.5);
  m.runs = static_cast<int>(ms.size());
  return m;
}

// Restores the thread's CPU affinity when the measurement ends.
class ScopedPin {
 public:
  explicit ScopedPin(int cpu) {
    if (cpu < 0) return;
    active_ = sched_getaffinity(0, sizeof saved_, &saved_) == 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    EDGENAS_CHECK(active_ && sched_setaffinity(0, sizeof one, &one) == 0, Status::invalid_argument,
                  "timing: cannot pin the measuring thread to CPU %d", cpu);
  }
  ~ScopedPin() {
    if (active_) sched_setaffinity(0, sizeof saved_, &saved_);
  }

 private:
  bool active_ = false;
  cpu_set_t saved_{};
};
}  // namespace detail

/// Times `run()` as described above.
template <typename Run>
Measurement measure(Run&& run, const TimingOptions& options = {}) {
  EDGENAS_CHECK(options.min_runs >= 3 && options.max_rounds >= 1, Status::invalid_argument,
                "timing: need min_runs >= 3 and max_rounds >= 1");
  detail::ScopedPin pin(options.pin_cpu);
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < options.warmup_runs; ++i) run();
  Measurement best;
  int target = options.min_runs;
  for (int round = 1; round <= options.max_rounds; ++round) {
    std::vector<double> samples;
    const auto round_start = clock::now();
    while (static_cast<int>(samples.size()) < options.max_runs &&
           (static_cast<int>(samples.size()) < target ||
            std::chrono::duration<double>(clock::now() - round_start).count() < options.min_round_seconds)) {
      const auto t0 = clock::now();
      run();
      samples.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }
    Measurement m = detail::summarise(samples);
    m.rounds = round;
    m.stable = m.spread() <= options.max_spread;
    if (round == 1 || m.spread() < best.spread()) best = m;
    if (m.stable) return m;
    target *= 2;  // a noisy round: more samples next time
  }
  best.rounds = options.max_rounds;
  return best;  // not stable: the caller sees stable == false and the spread
}

}  // namespace edgenas::latency
