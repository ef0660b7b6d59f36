// edgenas/core/rank_ceiling.hpp — how high any ranking signal can correlate with a noisy
// reference. A stand-alone training's accuracy is the architecture's true accuracy plus noise
// (seed, augmentation, a finite validation set); two trainings of the same architectures agree
// only to some Kendall τ (the reference's repeatability). A noise-free signal can still agree
// with one training better than a second training does, since only one side is noisy.
//
// Model: value = truth + independent Gaussian noise per training, truth Gaussian. Then the
// correlation of two trainings is the reliability r, and Greiner's relation for bivariate normal
// variables, τ = (2/π)·asin(ρ), turns each Pearson ρ into the τ it implies. The mean of k
// trainings has reliability k·r / (1 + (k − 1)·r) (Spearman–Brown). `simulate_rank_ceiling`
// draws the model at a finite number of architectures, where τ scatters around these values.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/core/rank_correlation.hpp"
#include "edgenas/core/rng.hpp"

namespace edgenas {

/// The Kendall τ a Pearson correlation `rho` implies between bivariate normal variables.
inline double tau_of_correlation(double rho) { return 2.0 / std::numbers::pi * std::asin(std::clamp(rho, -1.0, 1.0)); }
/// Inverse of tau_of_correlation.
inline double correlation_of_tau(double tau) { return std::sin(std::numbers::pi / 2.0 * std::clamp(tau, -1.0, 1.0)); }

/// The reliability (share of a training's variance that is the architectures' own) of the mean
/// of `trainings` trainings, from the τ between two single trainings.
inline double reference_reliability(double self_tau, int trainings = 1) {
  EDGENAS_CHECK(self_tau > 0 && self_tau < 1, Status::invalid_argument,
                "reference_reliability: the reference's τ against itself %g must lie in (0, 1)", self_tau);
  EDGENAS_CHECK(trainings >= 1, Status::invalid_argument, "reference_reliability: %d trainings", trainings);
  const double r = correlation_of_tau(self_tau), k = trainings;
  return k * r / (1 + (k - 1) * r);
}

/// The τ a noise-free signal (the true order) reaches, on average, against the mean of
/// `trainings` trainings of a reference whose single trainings agree with τ `self_tau`.
inline double perfect_signal_tau(double self_tau, int trainings = 1) {
  return tau_of_correlation(std::sqrt(reference_reliability(self_tau, trainings)));
}

/// A signal's τ against the truth, from its τ measured against the mean of `trainings`
/// trainings (the reference's noise taken out; 1 when the measurement exceeds the model's ceiling).
inline double signal_tau_against_truth(double measured_tau, double self_tau, int trainings = 1) {
  return tau_of_correlation(correlation_of_tau(measured_tau) / std::sqrt(reference_reliability(self_tau, trainings)));
}

struct RankCeilingDraws {
  double mean = 0, sd = 0;        // of a noise-free signal's τ against the reference
  double share_at_least = 0;      // of draws with τ ≥ the target
  double reference_self_tau = 0;  // mean τ between two single trainings in the draws (the model's check)
};

/// The noise-free signal's τ against the mean of `trainings` trainings, drawn `draws` times
/// for `architectures` architectures: its spread at this size and how often it reaches `target`.
inline RankCeilingDraws simulate_rank_ceiling(double self_tau, int trainings, std::size_t architectures, double target,
                                              int draws = 2000, std::uint64_t seed = 1) {
  EDGENAS_CHECK(architectures >= 3 && draws >= 2, Status::invalid_argument,
                "simulate_rank_ceiling: %zu architectures, %d draws (need ≥ 3 and ≥ 2)", architectures, draws);
  const double r = reference_reliability(self_tau);  // of one training
  const double noise = std::sqrt((1 - r) / r);       // per training, truth of variance 1
  Rng rng(seed);
  std::vector<double> truth(architectures), mean(architectures), first(architectures), second(architectures);
  double sum = 0, sum_sq = 0, hits = 0, self_sum = 0;
  for (int d = 0; d < draws; ++d) {
    for (std::size_t i = 0; i < architectures; ++i) {
      truth[i] = rng.normal();
      first[i] = truth[i] + noise * rng.normal();
      second[i] = truth[i] + noise * rng.normal();
      mean[i] = first[i] + (trainings > 1 ? second[i] : 0.0);
      for (int t = 2; t < trainings; ++t) mean[i] += truth[i] + noise * rng.normal();
      mean[i] /= trainings;
    }
    const double tau = kendall_tau(truth, mean);
    sum += tau, sum_sq += tau * tau, hits += tau >= target;
    self_sum += kendall_tau(first, second);
  }
  const double n = draws, m = sum / n;
  return {m, std::sqrt(std::max(0.0, (sum_sq - n * m * m) / (n - 1))), hits / n, self_sum / n};
}

}  // namespace edgenas
