// edgenas/search/candidate.hpp — an evaluated architecture, the budgets it must meet, and
// feasible sampling.
//
// Hard budgets (latency, parameters, arena, flash, MACs) cost nothing to check: latency comes
// from the device tables' predictor, the rest from the genotype's constexpr arithmetic (arena
// and flash in the bytes of the precision searched for, quant/footprint.hpp). So a search
// only ever spends training-free evaluations on architectures that fit, and a budget nothing
// in the space can meet is reported before any work starts.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "edgenas/quant/footprint.hpp"
#include "edgenas/space/cost.hpp"
#include "edgenas/space/search_space.hpp"

namespace edgenas::search {

/// Predicted latency of an architecture (the largest over several device tables, if so).
using LatencyFn = std::function<double(const Genotype&)>;

struct Costs {
  double latency_ms = 0.0;
  std::int64_t params = 0, macs = 0, arena_bytes = 0, flash_bytes = 0;
};

inline Costs costs_of(const Genotype& g, const LatencyFn& latency, Precision precision = Precision::fp32) {
  const NetworkView v = g.view();
  const Footprint f = footprint(v, precision);
  return {latency ? latency(g) : 0.0, parameter_count(v), mac_count(v), f.arena_bytes, f.flash_bytes};
}

struct Candidate {
  Choices choices;
  Genotype genotype;
  Costs costs;
  double accuracy = 0.0;  // validation accuracy
};

/// Hard limits; infinity / max means none.
struct Budgets {
  double latency_ms = std::numeric_limits<double>::infinity();
  std::int64_t params = std::numeric_limits<std::int64_t>::max();
  std::int64_t arena_bytes = std::numeric_limits<std::int64_t>::max();
  std::int64_t macs = std::numeric_limits<std::int64_t>::max();
  std::int64_t flash_bytes = std::numeric_limits<std::int64_t>::max();

  /// Empty when every budget holds; otherwise names the first one broken, with both values.
  std::string violation(const Costs& c) const {
    char buf[160] = "";
    if (c.latency_ms > latency_ms) std::snprintf(buf, sizeof buf, "latency %.4f ms > %.4f ms", c.latency_ms, latency_ms);
    else if (c.params > params) std::snprintf(buf, sizeof buf, "parameters %lld > %lld", static_cast<long long>(c.params), static_cast<long long>(params));
    else if (c.arena_bytes > arena_bytes)
      std::snprintf(buf, sizeof buf, "arena %lld bytes > %lld", static_cast<long long>(c.arena_bytes), static_cast<long long>(arena_bytes));
    else if (c.flash_bytes > flash_bytes)
      std::snprintf(buf, sizeof buf, "flash %lld bytes > %lld", static_cast<long long>(c.flash_bytes),
                    static_cast<long long>(flash_bytes));
    else if (c.macs > macs) std::snprintf(buf, sizeof buf, "MACs %lld > %lld", static_cast<long long>(c.macs), static_cast<long long>(macs));
    return buf;
  }
  /// How much of its nearest budget an architecture uses: the largest of cost / budget over the
  /// budgets that are set (0 when none is).
  double share(const Costs& c) const noexcept {
    constexpr std::int64_t none = std::numeric_limits<std::int64_t>::max();
    double s = std::isfinite(latency_ms) ? c.latency_ms / latency_ms : 0.0;
    const std::pair<std::int64_t, std::int64_t> counted[] = {
        {c.params, params}, {c.arena_bytes, arena_bytes}, {c.flash_bytes, flash_bytes}, {c.macs, macs}};
    for (const auto& [cost, budget] : counted)
      if (budget != none) s = std::max(s, static_cast<double>(cost) / static_cast<double>(budget));
    return s;
  }
  /// Every budget holds (no message formatted: this runs for every sample a search draws).
  bool admits(const Costs& c) const noexcept {
    return c.latency_ms <= latency_ms && c.params <= params && c.arena_bytes <= arena_bytes &&
           c.flash_bytes <= flash_bytes && c.macs <= macs;
  }
};

/// Draws architectures of `space` that meet `budgets` (arena and flash in `precision`), by
/// rejection.
class FeasibleSampler {
 public:
  FeasibleSampler(const SearchSpace& space, Budgets budgets, LatencyFn latency, Precision precision = Precision::fp32,
                  int max_tries = 20000)
      : space_(space), budgets_(budgets), latency_(std::move(latency)), precision_(precision), max_tries_(max_tries) {
    const std::string broken = budgets_.violation(costs(space_.smallest_choices()));
    EDGENAS_CHECK(broken.empty(), Status::invalid_argument,
                  "impossible budget: even the smallest architecture of space %s breaks it (%s)", space_.name.c_str(),
                  broken.c_str());
  }

  const SearchSpace& space() const noexcept { return space_; }
  const Budgets& budgets() const noexcept { return budgets_; }
  Costs costs(const Choices& c) const { return costs_of(space_.decode(c), latency_, precision_); }

  /// `c` decoded and costed: the one time a search does either for an architecture.
  Candidate candidate(Choices c) const {
    Genotype g = space_.decode(c);
    const Costs k = costs_of(g, latency_, precision_);
    return {std::move(c), std::move(g), k, 0.0};
  }

  Candidate random(Rng& rng) const {
    constexpr std::int64_t most = std::numeric_limits<std::int64_t>::max();
    Costs least{std::numeric_limits<double>::infinity(), most, most, most, most};
    Costs last;
    for (int t = 0; t < max_tries_; ++t) {
      Candidate c = candidate(space_.random_choices(rng));
      if (budgets_.admits(c.costs)) return c;
      last = c.costs;
      least = {std::min(least.latency_ms, last.latency_ms), std::min(least.params, last.params),
               std::min(least.macs, last.macs), std::min(least.arena_bytes, last.arena_bytes),
               std::min(least.flash_bytes, last.flash_bytes)};
    }
    EDGENAS_FAIL(Status::invalid_argument,
                 "impossible budget: none of %d random architectures of space %s fits (e.g. %s); the smallest seen "
                 "had latency %.4f ms, %lld parameters, %lld arena bytes, %lld flash bytes, %lld MACs",
                 max_tries_, space_.name.c_str(), budgets_.violation(last).c_str(), least.latency_ms,
                 static_cast<long long>(least.params), static_cast<long long>(least.arena_bytes),
                 static_cast<long long>(least.flash_bytes), static_cast<long long>(least.macs));
  }

  /// A draw of `policy` (anything with `Choices sample(Rng&) const`, e.g. a CategoricalPolicy)
  /// that meets the budgets, by rejection; a uniformly random feasible one if 1 000 draws fail.
  template <class Policy>
  Candidate sample(const Policy& policy, Rng& rng) const {
    for (int t = 0; t < 1000; ++t) {
      Candidate c = candidate(policy.sample(rng));
      if (budgets_.admits(c.costs)) return c;
    }
    return random(rng);
  }

  /// The first of up to `tries` feasible draws of `draw(rng)` that uses at least `at_least` of
  /// its nearest budget (Budgets::share); the nearest of them if none does. With `at_least` 0,
  /// the first draw: the same as `draw` alone.
  template <class Draw>
  Candidate near_budget(Draw&& draw, double at_least, Rng& rng, int tries = 200) const {
    Candidate nearest = draw(rng);
    for (int t = 1; t < tries && budgets_.share(nearest.costs) < at_least; ++t) {
      Candidate c = draw(rng);
      if (budgets_.share(c.costs) > budgets_.share(nearest.costs)) nearest = std::move(c);
    }
    return nearest;
  }

  /// A feasible mutation of `parent` (the parent itself if none is found).
  Candidate mutate(const Candidate& parent, double rate, Rng& rng) const {
    for (int t = 0; t < 200; ++t) {
      Candidate c = candidate(space_.mutate(parent.choices, rate, rng));
      if (budgets_.admits(c.costs)) return c;
    }
    return parent;
  }

 private:
  SearchSpace space_;  // a copy: samplers outlive the expressions that build their spaces
  Budgets budgets_;
  LatencyFn latency_;
  Precision precision_;
  int max_tries_;
};

}  // namespace edgenas::search
