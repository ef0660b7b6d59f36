// Compares a kernel's float output with a double-precision reference.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace edgenas::test {

/// Requires |got − expected| ≤ tol·(1 + |expected|) everywhere; reports the worst element.
inline void require_close(const std::string& what, const float* got, const std::vector<double>& expected,
                          double tol = 1e-5) {
  double worst = 0.0;
  std::size_t worst_at = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double err = std::abs(got[i] - expected[i]) / (1.0 + std::abs(expected[i]));
    if (!(err <= worst)) {  // also catches NaN
      worst = std::isnan(err) ? INFINITY : err;
      worst_at = i;
    }
  }
  INFO(what << ": worst relative error " << worst << " at element " << worst_at << " (got " << got[worst_at]
            << ", expected " << expected[worst_at] << ")");
  REQUIRE(worst <= tol);
}

}  // namespace edgenas::test
