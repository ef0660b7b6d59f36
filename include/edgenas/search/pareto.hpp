// edgenas/search/pareto.hpp — multi-objective bookkeeping for the search: dominance, NSGA-II's
// non-dominated sorting and crowding distance, the Pareto front and the 2-D hypervolume.
//
// Objectives are all minimised (maximise accuracy by minimising its negation or error).
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "edgenas/core/error.hpp"

namespace edgenas::search {

using Objectives = std::vector<double>;

/// a dominates b: no worse in every objective and better in at least one.
inline bool dominates(std::span<const double> a, std::span<const double> b) {
  EDGENAS_CHECK(a.size() == b.size(), Status::invalid_argument, "dominates: %zu vs %zu objectives", a.size(), b.size());
  bool better = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    better = better || a[i] < b[i];
  }
  return better;
}

/// NSGA-II fast non-dominated sort: fronts of point indices, best first (Deb et al., 2002).
inline std::vector<std::vector<std::size_t>> non_dominated_fronts(const std::vector<Objectives>& points) {
  const std::size_t n = points.size();
  std::vector<std::vector<std::size_t>> dominated_by_me(n);
  std::vector<int> domination_count(n, 0);
  std::vector<std::vector<std::size_t>> fronts(1);
  for (std::size_t p = 0; p < n; ++p) {
    for (std::size_t q = 0; q < n; ++q) {
      if (p == q) continue;
      if (dominates(points[p], points[q])) dominated_by_me[p].push_back(q);
      else if (dominates(points[q], points[p])) ++domination_count[p];
    }
    if (domination_count[p] == 0) fronts[0].push_back(p);
  }
  while (!fronts.back().empty()) {
    std::vector<std::size_t> next;
    for (std::size_t p : fronts.back())
      for (std::size_t q : dominated_by_me[p])
        if (--domination_count[q] == 0) next.push_back(q);
    fronts.push_back(std::move(next));
  }
  fronts.pop_back();
  return fronts;
}

/// Indices of the non-dominated points (the Pareto front), in input order.
inline std::vector<std::size_t> pareto_front(const std::vector<Objectives>& points) {
  if (points.empty()) return {};
  std::vector<std::size_t> front = non_dominated_fronts(points).front();
  std::sort(front.begin(), front.end());
  return front;
}

/// NSGA-II crowding distance of each member of one front (boundary points: infinity).
inline std::vector<double> crowding_distance(const std::vector<Objectives>& points, const std::vector<std::size_t>& front) {
  std::vector<double> distance(front.size(), 0.0);
  if (front.size() <= 2) {
    std::fill(distance.begin(), distance.end(), std::numeric_limits<double>::infinity());
    return distance;
  }
  const std::size_t m = points[front[0]].size();
  std::vector<std::size_t> order(front.size());
  for (std::size_t k = 0; k < m; ++k) {
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return points[front[a]][k] < points[front[b]][k]; });
    const double lo = points[front[order.front()]][k], hi = points[front[order.back()]][k];
    distance[order.front()] = distance[order.back()] = std::numeric_limits<double>::infinity();
    if (hi <= lo) continue;
    for (std::size_t i = 1; i + 1 < order.size(); ++i)
      distance[order[i]] += (points[front[order[i + 1]]][k] - points[front[order[i - 1]]][k]) / (hi - lo);
  }
  return distance;
}

/// Area dominated by 2-objective points and bounded by `reference` (both minimised; points
/// not better than the reference in both objectives contribute nothing).
inline double hypervolume_2d(const std::vector<Objectives>& points, const Objectives& reference) {
  EDGENAS_CHECK(reference.size() == 2, Status::invalid_argument, "hypervolume_2d: reference has %zu objectives",
                reference.size());
  std::vector<std::pair<double, double>> p;
  for (const auto& x : points) {
    EDGENAS_CHECK(x.size() == 2, Status::invalid_argument, "hypervolume_2d: a point has %zu objectives", x.size());
    if (x[0] < reference[0] && x[1] < reference[1]) p.emplace_back(x[0], x[1]);
  }
  std::sort(p.begin(), p.end());  // by the first objective, then the second
  // The staircase of non-dominated points: first objective rising, second strictly falling.
  std::vector<std::pair<double, double>> stairs;
  for (const auto& q : p)
    if (stairs.empty() || q.second < stairs.back().second) stairs.push_back(q);
  double volume = 0.0;
  for (std::size_t i = 0; i < stairs.size(); ++i) {
    const double right = i + 1 < stairs.size() ? stairs[i + 1].first : reference[0];
    volume += (right - stairs[i].first) * (reference[1] - stairs[i].second);
  }
  return volume;
}

}  // namespace edgenas::search
