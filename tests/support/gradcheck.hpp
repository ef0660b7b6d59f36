// Central finite differences against analytic gradients.
//
// Kernels are float32, so the check is float32 too: the loss L = Σ r ⊙ f(θ) is summed in
// double, and each derivative is (L(θ+h) − L(θ−h)) / 2h with h = 1e-2. Most ops are linear in
// the perturbed argument (conv in x and w), where central differences are exact up to float
// rounding (~1e-7·|L|/h); for the smooth non-linear ones (BN, SE, sigmoid) truncation adds ~h².
// Measured on these shapes, both stay below
//     |analytic − numeric| ≤ 1e-4 + 5e-4 · max(|analytic|, |numeric|),
// tight enough that scaling any weight gradient by 1.002 fails the depthwise tests.
// Inputs near an activation's kink are kept further than h from it by the tests themselves.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <edgenas/core.hpp>
#include <span>
#include <string>

namespace edgenas::test {

struct GradTolerance {
  double abs = 1e-4;  // see above
  double rel = 5e-4;
};

/// Checks up to `max_checks` entries of `param` (all if it is smaller; otherwise a random
/// subset) against `analytic`, re-evaluating `loss()` after each perturbation.
template <typename Loss>
void check_gradient(const std::string& what, std::span<float> param, std::span<const float> analytic, Loss&& loss,
                    Rng& rng, float h = 1e-2f, GradTolerance tol = {}, int max_checks = 48) {
  REQUIRE(param.size() == analytic.size());
  const std::size_t n = param.size();
  const bool all = n <= static_cast<std::size_t>(max_checks);
  const std::size_t checks = all ? n : static_cast<std::size_t>(max_checks);
  for (std::size_t k = 0; k < checks; ++k) {
    const std::size_t i = all ? k : rng.below(static_cast<std::uint32_t>(n));
    const float saved = param[i];
    param[i] = saved + h;
    const double plus = loss();
    param[i] = saved - h;
    const double minus = loss();
    param[i] = saved;
    const double numeric = (plus - minus) / (2.0 * double{h});
    const double a = analytic[i];
    INFO(what << "[" << i << "]: analytic " << a << ", finite difference " << numeric);
    CHECK(std::abs(a - numeric) <= tol.abs + tol.rel * std::max(std::abs(a), std::abs(numeric)));
  }
}

}  // namespace edgenas::test
