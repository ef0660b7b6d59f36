// Pareto utilities against brute-force definitions.
#include <catch2/catch.hpp>
#include <edgenas/core/rng.hpp>
#include <edgenas/search/pareto.hpp>
#include <set>

using namespace edgenas;
using search::Objectives;

namespace {

std::vector<Objectives> random_points(Rng& rng, int n, int m, bool ties) {
  std::vector<Objectives> p(static_cast<std::size_t>(n), Objectives(static_cast<std::size_t>(m)));
  for (auto& x : p)
    for (auto& v : x) v = ties ? rng.between(0, 5) : rng.uniform_double();
  return p;
}

// Exact area of the union of [x, rx] × [y, ry] over points better than the reference.
double brute_hypervolume(const std::vector<Objectives>& p, double rx, double ry) {
  std::vector<double> xs = {rx};
  for (const auto& q : p)
    if (q[0] < rx && q[1] < ry) xs.push_back(q[0]);
  std::sort(xs.begin(), xs.end());
  double area = 0.0;
  for (std::size_t i = 0; i + 1 < xs.size(); ++i) {
    double lowest = ry;
    for (const auto& q : p)
      if (q[0] <= xs[i] && q[0] < rx && q[1] < ry) lowest = std::min(lowest, q[1]);
    area += (xs[i + 1] - xs[i]) * (ry - lowest);
  }
  return area;
}

}  // namespace

TEST_CASE("dominance and non-dominated fronts match their definitions", "[search][pareto]") {
  CHECK(search::dominates(Objectives{1, 2}, Objectives{2, 2}));
  CHECK_FALSE(search::dominates(Objectives{1, 2}, Objectives{1, 2}));
  CHECK_FALSE(search::dominates(Objectives{1, 3}, Objectives{2, 2}));
  Rng rng(4);
  for (int trial = 0; trial < 50; ++trial) {
    const auto points = random_points(rng, rng.between(1, 40), rng.between(2, 3), trial % 2 == 0);
    const auto fronts = search::non_dominated_fronts(points);
    // Peel fronts by brute force: front k = points not dominated by any point still remaining.
    std::set<std::size_t> remaining;
    for (std::size_t i = 0; i < points.size(); ++i) remaining.insert(i);
    for (const auto& front : fronts) {
      std::set<std::size_t> expected;
      for (std::size_t i : remaining) {
        bool dominated = false;
        for (std::size_t j : remaining) dominated = dominated || search::dominates(points[j], points[i]);
        if (!dominated) expected.insert(i);
      }
      REQUIRE(std::set<std::size_t>(front.begin(), front.end()) == expected);
      for (std::size_t i : front) remaining.erase(i);
    }
    CHECK(remaining.empty());
    const auto pf = search::pareto_front(points);
    CHECK(std::set<std::size_t>(pf.begin(), pf.end()) == std::set<std::size_t>(fronts[0].begin(), fronts[0].end()));
  }
}

TEST_CASE("crowding distance: boundaries infinite, interior by neighbours' spread", "[search][pareto]") {
  const std::vector<Objectives> p = {{0, 4}, {1, 2}, {2, 1}, {4, 0}};
  const auto d = search::crowding_distance(p, {0, 1, 2, 3});
  CHECK(std::isinf(d[0]));
  CHECK(std::isinf(d[3]));
  // Point 1: (2 − 0)/4 + (4 − 1)/4 = 1.25; point 2: (4 − 1)/4 + (2 − 0)/4 = 1.25.
  CHECK(d[1] == Approx(1.25));
  CHECK(d[2] == Approx(1.25));
}

TEST_CASE("2-D hypervolume equals the exact union area", "[search][pareto]") {
  CHECK(search::hypervolume_2d({{1, 3}, {2, 2}, {3, 1}}, {4, 4}) == Approx(6.0));
  CHECK(search::hypervolume_2d({{5, 5}}, {4, 4}) == 0.0);  // worse than the reference
  Rng rng(5);
  for (int trial = 0; trial < 100; ++trial) {
    const auto p = random_points(rng, rng.between(0, 30), 2, trial % 3 == 0);
    CHECK(search::hypervolume_2d(p, {1.0, 1.0}) == Approx(brute_hypervolume(p, 1.0, 1.0)).margin(1e-12));
    CHECK(search::hypervolume_2d(p, {6.0, 6.0}) == Approx(brute_hypervolume(p, 6.0, 6.0)).margin(1e-12));
  }
}
