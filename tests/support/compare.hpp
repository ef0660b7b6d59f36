// Compares a kernel's float output with a double-precision reference.
#pragma once

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "edgenas/core/tensor.hpp"

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

/// Requires every value of `got` within rel × max(1, largest |want|) of `want` (logits of two
/// runtimes: relative to the largest logit).
inline void require_close_to_largest(ConstTensorView got, ConstTensorView want, double rel) {
  REQUIRE(got.size() == want.size());
  double scale = 0.0;
  for (std::int64_t i = 0; i < want.size(); ++i) scale = std::max(scale, double{std::abs(want.data()[i])});
  for (std::int64_t i = 0; i < want.size(); ++i) {
    INFO("value " << i << ": got " << got.data()[i] << ", expected " << want.data()[i]);
    REQUIRE(std::abs(got.data()[i] - want.data()[i]) <= rel * std::max(1.0, scale));
  }
}

}  // namespace edgenas::test
