// edgenas/latency/timing.hpp — robust wall-clock timing on a shared, noisy machine.
//
// Items (pieces of a network, whole networks) are timed in rounds: each round visits every
// item still measuring in a fresh random order and times it for a short while, so slow drift
// and bursts of interference spread over all items instead of hitting whichever was being
// timed at that moment. Each visit gives a round median. On a shared machine the device's
// speed moves by several per cent within seconds, and it moves for every item alike (measured
// on a 2-vCPU VM: round medians of different networks correlate by 0.5–0.7, and removing the
// shared part halves their spread), so each visit is divided by the device's speed at that
// moment: the median, over the visits of *other* items just before and after it, of their
// time relative to their own typical time. An item's latency is the median of its
// speed-corrected round medians; its 95 % confidence interval comes from their order
// statistics, and an item stops once that interval is within ±max_ci of the median (the
// stopping rule), or after max_rounds (then stable == false and the interval says how
// uncertain it is). run_p90_ms is different: the 90th percentile of single runs as they came,
// uncorrected — what a latency budget that must hold on a busy device is about.
#pragma once

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/core/rng.hpp"

namespace edgenas::latency {

struct TimingOptions {
  int warmup_runs = 2;           // per item, before its first round
  int revisit_warmup_runs = 1;   // per item and round, untimed, before its timed runs
  double round_seconds = 0.002;  // per item and round: one run at least, more until this long
  int min_rounds = 11;
  int max_rounds = 41;
  double max_ci = 0.02;          // done when the 95 % interval of the median is within ±2 %
  std::uint64_t seed = 1;        // the order of the items in each round
  int pin_cpu = -1;              // ≥ 0: pin the measuring thread to this CPU (Linux)
  // Runtimes kept alive at once to be interleaved (latency tables time larger sets in groups):
  // what timing adds to a search's memory.
  std::int64_t memory_bytes = std::int64_t{64} << 20;
  // Visits of other items either side of a visit that estimate the device's speed at that
  // moment; 0 turns the correction off (so do fewer than 4 items, or fewer than 4 such visits).
  int speed_window = 8;
};

struct Measurement {
  // Over the speed-corrected round medians: median, interquartile mean, percentiles, median
  // absolute deviation; min_ms is the fastest single run.
  double median_ms = 0, trimmed_ms = 0, p10_ms = 0, p90_ms = 0, mad_ms = 0, min_ms = 0;
  double ci_low_ms = 0, ci_high_ms = 0;  // 95 % confidence interval of median_ms
  double run_p90_ms = 0;                 // 90th percentile of single runs, uncorrected
  double uncorrected_ms = 0;             // median of the round medians without the speed correction
  int runs = 0;
  int rounds = 0;
  bool stable = false;  // the interval met max_ci
  double spread() const noexcept { return median_ms > 0 ? (p90_ms - p10_ms) / median_ms : 0.0; }
  double ci_half_width() const noexcept { return median_ms > 0 ? (ci_high_ms - ci_low_ms) / (2 * median_ms) : 0.0; }
};

namespace detail {
inline double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}
// Order statistics [lo, hi] (0-based, inclusive) of n sorted values that bracket the median
// with ≥ 95 % confidence (binomial, normal approximation); the whole range for small n.
inline std::pair<std::size_t, std::size_t> median_interval(std::size_t n) {
  const double half = 0.98 * std::sqrt(static_cast<double>(n));  // 1.96 · √n / 2
  const double lo = std::floor(static_cast<double>(n) / 2 - half) - 1,
               hi = std::ceil(static_cast<double>(n) / 2 + half);
  return {lo < 0 ? 0 : static_cast<std::size_t>(lo), std::min(n - 1, static_cast<std::size_t>(std::max(0.0, hi)))};
}
inline Measurement summarise(const std::vector<double>& round_medians, double min_run_ms, int runs) {
  Measurement m;
  std::vector<double> sorted = round_medians;
  std::sort(sorted.begin(), sorted.end());
  m.median_ms = percentile(sorted, 0.5);
  // Interquartile mean: the middle half of the rounds (all of them below 4).
  const std::size_t cut = sorted.size() >= 4 ? sorted.size() / 4 : 0;
  double middle = 0;
  for (std::size_t i = cut; i < sorted.size() - cut; ++i) middle += sorted[i];
  m.trimmed_ms = middle / static_cast<double>(sorted.size() - 2 * cut);
  m.p10_ms = percentile(sorted, 0.1);
  m.p90_ms = percentile(sorted, 0.9);
  const auto [lo, hi] = median_interval(sorted.size());
  m.ci_low_ms = sorted[lo];
  m.ci_high_ms = sorted[hi];
  m.min_ms = min_run_ms;
  std::vector<double> dev;
  for (double x : sorted) dev.push_back(std::abs(x - m.median_ms));
  m.mad_ms = percentile(dev, 0.5);
  m.runs = runs;
  m.rounds = static_cast<int>(sorted.size());
  return m;
}

struct Visit {
  std::size_t item;
  double ms;  // the round median of that visit
};

// The device's speed at each visit relative to the run's typical speed (1: typical, 1.1: 10 %
// slower): the median, over up to `window` visits of other items on either side (no further
// than 4·window visits away), of their time relative to their item's typical time; 1 where
// fewer than 4 such visits exist, and everywhere with fewer than 4 items (one of them would
// pass for the device). Two passes: items' typical times from the raw round
// medians, then from the corrected ones.
inline std::vector<double> visit_speeds(const std::vector<Visit>& visits, std::size_t items, int window) {
  std::vector<double> speed(visits.size(), 1.0);
  if (window <= 0 || items < 4) return speed;  // too few items to tell the device from one of them
  std::vector<std::vector<double>> per_item(items);
  std::vector<double> typical(items, 1.0), near;
  const auto w = static_cast<std::size_t>(window);
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& v : per_item) v.clear();
    for (std::size_t v = 0; v < visits.size(); ++v) per_item[visits[v].item].push_back(visits[v].ms / speed[v]);
    for (std::size_t i = 0; i < items; ++i)
      if (!per_item[i].empty()) typical[i] = percentile(per_item[i], 0.5);
    for (std::size_t v = 0; v < visits.size(); ++v) {
      near.clear();
      std::size_t left = 0, right = 0;
      for (std::size_t u = v; u-- > 0 && left < w && v - u <= 4 * w;)
        if (visits[u].item != visits[v].item) near.push_back(visits[u].ms / typical[visits[u].item]), ++left;
      for (std::size_t u = v + 1; u < visits.size() && right < w && u - v <= 4 * w; ++u)
        if (visits[u].item != visits[v].item) near.push_back(visits[u].ms / typical[visits[u].item]), ++right;
      speed[v] = near.size() >= 4 ? percentile(near, 0.5) : 1.0;
    }
  }
  return speed;
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

/// Times `items` things as described above; run(i) runs item i once. done(i, measurement) is
/// called as each item finishes (its interval met, or max_rounds reached).
template <typename Run, typename Done = void (*)(std::size_t, const Measurement&)>
std::vector<Measurement> measure_interleaved(std::size_t items, Run&& run, const TimingOptions& options = {},
                                             Done&& done = [](std::size_t, const Measurement&) {}) {
  EDGENAS_CHECK(options.min_rounds >= 1 && options.max_rounds >= options.min_rounds && options.round_seconds >= 0,
                Status::invalid_argument, "timing: need 1 <= min_rounds <= max_rounds and round_seconds >= 0");
  detail::ScopedPin pin(options.pin_cpu);
  using clock = std::chrono::steady_clock;
  const auto time_once = [&](std::size_t i) {
    const auto t0 = clock::now();
    run(i);
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  // Warm-up; the last warm-up run sets how many runs fill a round.
  std::vector<int> runs_per_round(items, 1);
  for (std::size_t i = 0; i < items; ++i) {
    double ms = 0;
    for (int w = 0; w < std::max(1, options.warmup_runs); ++w) ms = time_once(i);
    runs_per_round[i] = static_cast<int>(std::clamp(options.round_seconds * 1e3 / std::max(ms, 1e-6), 1.0, 1e5));
  }
  std::vector<detail::Visit> visits;                       // every visit, in the order they happened
  std::vector<std::vector<std::size_t>> visits_of(items);  // indices into visits
  std::vector<std::vector<double>> run_samples(items);     // single runs, at most 64 per visit
  std::vector<double> min_ms(items, std::numeric_limits<double>::infinity());
  std::vector<int> runs(items, 0);
  std::vector<Measurement> result(items);
  std::vector<std::size_t> active(items);
  for (std::size_t i = 0; i < items; ++i) active[i] = i;
  Rng rng(options.seed);
  std::vector<double> samples, corrected;
  for (int round = 1; round <= options.max_rounds && !active.empty(); ++round) {
    for (std::size_t k = active.size(); k > 1; --k)  // Fisher–Yates: a fresh order every round
      std::swap(active[k - 1], active[static_cast<std::size_t>(rng.between(0, static_cast<int>(k) - 1))]);
    for (std::size_t i : active) {
      samples.clear();
      // The previous item left the caches to itself: one untimed run first, or the cold run
      // inflates the round (measured: whole fmnist networks timed 9 % slower without it).
      for (int w = 0; w < options.revisit_warmup_runs; ++w) run(i);
      for (int r = 0; r < runs_per_round[i]; ++r) samples.push_back(time_once(i));
      visits_of[i].push_back(visits.size());
      visits.push_back({i, detail::percentile(samples, 0.5)});
      runs[i] += runs_per_round[i];
      min_ms[i] = std::min(min_ms[i], *std::min_element(samples.begin(), samples.end()));
      for (std::size_t r = 0, stride = samples.size() / 64 + 1; r < samples.size(); r += stride)
        run_samples[i].push_back(samples[r]);
    }
    const std::vector<double> speed = detail::visit_speeds(visits, items, options.speed_window);
    std::vector<std::size_t> still;
    for (std::size_t i : active) {
      corrected.clear();
      for (std::size_t v : visits_of[i]) corrected.push_back(visits[v].ms / speed[v]);
      Measurement m = detail::summarise(corrected, min_ms[i], runs[i]);
      m.run_p90_ms = detail::percentile(run_samples[i], 0.9);
      corrected.clear();
      for (std::size_t v : visits_of[i]) corrected.push_back(visits[v].ms);
      m.uncorrected_ms = detail::percentile(corrected, 0.5);
      m.stable = round >= options.min_rounds && m.ci_half_width() <= options.max_ci;
      result[i] = m;
      if (m.stable || round == options.max_rounds)
        done(i, m);
      else
        still.push_back(i);
    }
    active = std::move(still);
  }
  return result;
}

/// Times `run()` as described above (one item).
template <typename Run>
Measurement measure(Run&& run, const TimingOptions& options = {}) {
  return measure_interleaved(
      1, [&](std::size_t) { run(); }, options)[0];
}

}  // namespace edgenas::latency
