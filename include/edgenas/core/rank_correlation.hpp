// edgenas/core/rank_correlation.hpp — how well one ordering agrees with another: Kendall's τ
// and Spearman's ρ (ties share their average rank), and the overlap of the top k. Used to judge
// the latency predictor (predicted vs measured) and the supernet (its accuracy of an
// architecture vs the architecture trained alone).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <numeric>
#include <span>
#include <vector>

#include "edgenas/core/error.hpp"

namespace edgenas {

/// Kendall's τ-b: (concordant − discordant) pairs over the pairs not tied, corrected for ties in
/// either list; 0 when a list is constant.
inline double kendall_tau(std::span<const double> a, std::span<const double> b) {
  EDGENAS_CHECK(a.size() == b.size(), Status::invalid_argument, "kendall_tau: %zu and %zu values", a.size(), b.size());
  double concordant = 0, discordant = 0, tied_a = 0, tied_b = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      const double x = a[i] - a[j], y = b[i] - b[j];
      if (x == 0 && y == 0) continue;
      if (x == 0) ++tied_a;
      else if (y == 0) ++tied_b;
      else if ((x > 0) == (y > 0)) ++concordant;
      else ++discordant;
    }
  const double n1 = concordant + discordant + tied_b, n2 = concordant + discordant + tied_a;  // pairs untied in a, in b
  return n1 > 0 && n2 > 0 ? (concordant - discordant) / std::sqrt(n1 * n2) : 0.0;
}

/// Ranks 1..n of `v`, ties given the average of the ranks they span.
inline std::vector<double> average_ranks(std::span<const double> v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return v[i] < v[j]; });
  std::vector<double> rank(v.size());
  for (std::size_t first = 0; first < order.size();) {
    std::size_t last = first + 1;
    while (last < order.size() && v[order[last]] == v[order[first]]) ++last;
    const double r = 0.5 * static_cast<double>(first + 1 + last);  // mean of ranks first+1 … last
    for (std::size_t k = first; k < last; ++k) rank[order[k]] = r;
    first = last;
  }
  return rank;
}

/// The sum of each element's average ranks in `a` and in `b`: a ranking by two signals at once,
/// equally weighted whatever their scales.
inline std::vector<double> rank_sum(std::span<const double> a, std::span<const double> b) {
  EDGENAS_CHECK(a.size() == b.size(), Status::invalid_argument, "rank_sum: %zu and %zu values", a.size(), b.size());
  std::vector<double> sum = average_ranks(a);
  const std::vector<double> rb = average_ranks(b);
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += rb[i];
  return sum;
}

/// Spearman's ρ: Pearson's correlation of the average ranks; 0 when a list is constant.
inline double spearman_rho(std::span<const double> a, std::span<const double> b) {
  EDGENAS_CHECK(a.size() == b.size(), Status::invalid_argument, "spearman_rho: %zu and %zu values", a.size(), b.size());
  const std::vector<double> x = average_ranks(a), y = average_ranks(b);
  const double n = static_cast<double>(x.size()), mean = (n + 1) / 2;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mean) * (y[i] - mean);
    sxx += (x[i] - mean) * (x[i] - mean);
    syy += (y[i] - mean) * (y[i] - mean);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

/// How many of the k largest of `a` are among the k largest of `b` (by index; ties by index).
inline std::size_t top_k_overlap(std::span<const double> a, std::span<const double> b, std::size_t k) {
  EDGENAS_CHECK(a.size() == b.size(), Status::invalid_argument, "top_k_overlap: %zu and %zu values", a.size(), b.size());
  k = std::min(k, a.size());
  const auto top = [&](std::span<const double> v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return v[i] > v[j]; });
    order.resize(k);
    std::sort(order.begin(), order.end());
    return order;
  };
  const std::vector<std::size_t> ta = top(a), tb = top(b);
  std::vector<std::size_t> both;
  std::set_intersection(ta.begin(), ta.end(), tb.begin(), tb.end(), std::back_inserter(both));
  return both.size();
}

}  // namespace edgenas
