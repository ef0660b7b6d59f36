// edgenas/search/policy.hpp — a probability distribution over a space's architectures: one
// independent categorical distribution (softmax of logits) per decision of the space
// (SearchSpace::for_each_decision). The REINFORCE controller (search/strategies.hpp) learns it
// from rewards, as MnasNet's controller does; the differentiable search (FBNet,
// search/differentiable.hpp) learns it by gradient (MnasNet uses an LSTM; independent logits are the
// factorised policy of ENAS-style ablations and have one parameter per option).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "edgenas/core/rng.hpp"
#include "edgenas/space/search_space.hpp"

namespace edgenas::search {

class CategoricalPolicy {
 public:
  /// Uniform over every decision of `space`.
  explicit CategoricalPolicy(const SearchSpace& space) : space_(space), shape_(space.smallest_choices()) {
    space_.for_each_decision(
        shape_, [&](int&, int options, bool) { logits_.emplace_back(static_cast<std::size_t>(options), 0.0); });
  }

  const std::vector<std::vector<double>>& logits() const noexcept { return logits_; }
  std::vector<std::vector<double>>& logits() noexcept { return logits_; }

  /// The softmax of decision d's logits.
  std::vector<double> probabilities(std::size_t d) const {
    const std::vector<double>& z = logits_[d];
    const double top = *std::max_element(z.begin(), z.end());
    std::vector<double> p(z.size());
    double sum = 0;
    for (std::size_t i = 0; i < z.size(); ++i) sum += p[i] = std::exp(z[i] - top);
    for (double& x : p) x /= sum;
    return p;
  }

  /// An architecture drawn from the policy (decisions with one option draw nothing).
  Choices sample(Rng& rng) const {
    Choices c = shape_;
    std::size_t d = 0;
    space_.for_each_decision(c, [&](int& value, int options, bool) {
      const std::vector<double> p = probabilities(d++);
      value = 0;
      if (options == 1) return;
      double u = rng.uniform_double();
      while (value + 1 < options && u >= p[static_cast<std::size_t>(value)]) u -= p[static_cast<std::size_t>(value++)];
    });
    return c;
  }

  /// The most probable option of every decision.
  Choices most_likely() const {
    Choices c = shape_;
    std::size_t d = 0;
    space_.for_each_decision(c, [&](int& value, int, bool) {
      const std::vector<double>& z = logits_[d++];
      value = static_cast<int>(std::max_element(z.begin(), z.end()) - z.begin());
    });
    return c;
  }

  /// log π(c): the sum over the decisions the architecture uses (the others do not matter).
  double log_probability(const Choices& c) const {
    double sum = 0;
    std::size_t d = 0;
    space_.for_each_decision(c, [&](const int& value, int, bool used) {
      if (used) sum += std::log(probabilities(d)[static_cast<std::size_t>(value)]);
      ++d;
    });
    return sum;
  }

  /// Mean entropy of the decisions, in nats (log of the options when uniform).
  double entropy() const {
    double sum = 0;
    for (std::size_t d = 0; d < logits_.size(); ++d)
      for (double p : probabilities(d)) sum -= p > 0 ? p * std::log(p) : 0.0;
    return logits_.empty() ? 0.0 : sum / static_cast<double>(logits_.size());
  }

  /// logits += step · ∇ log π(c) (Williams 1992: onehot − softmax per used decision).
  void add_log_probability_gradient(const Choices& c, double step) {
    std::size_t d = 0;
    space_.for_each_decision(c, [&](const int& value, int, bool used) {
      if (used) {
        const std::vector<double> p = probabilities(d);
        for (std::size_t i = 0; i < p.size(); ++i)
          logits_[d][i] += step * ((static_cast<int>(i) == value ? 1.0 : 0.0) - p[i]);
      }
      ++d;
    });
  }

  /// logits += step · ∇ entropy(): ∂H_d/∂z_i = −p_i (log p_i + H_d) per decision (scaled like entropy()).
  void add_entropy_gradient(double step) {
    const double per_decision = logits_.empty() ? 0.0 : step / static_cast<double>(logits_.size());
    for (std::size_t d = 0; d < logits_.size(); ++d) {
      const std::vector<double> p = probabilities(d);
      double h = 0;
      for (double x : p) h -= x > 0 ? x * std::log(x) : 0.0;
      for (std::size_t i = 0; i < p.size(); ++i)
        logits_[d][i] -= per_decision * (p[i] > 0 ? p[i] * (std::log(p[i]) + h) : 0.0);
    }
  }

 private:
  SearchSpace space_;  // a copy, like FeasibleSampler's
  Choices shape_;      // how many blocks each stage holds
  std::vector<std::vector<double>> logits_;
};

}  // namespace edgenas::search
