// edgenas/search/differentiable.hpp — differentiable architecture search (FBNet, Wu et al.
// 2019) on the weight-sharing supernet.
//
// θ are logits per decision of the space (a CategoricalPolicy). One architecture step, on a
// batch of the validation split:
//   1. Gumbel-softmax: y_d = softmax((θ_d + g_d) / τ) per decision, a_d = argmax y_d — one
//      architecture a runs (hard, straight-through: GDAS's form of FBNet's relaxation, since the
//      supernet shares its weights between a decision's options and one path is what it trains);
//   2. the sub-network a (supernet weights, batch statistics) runs forward and backward: the
//      cross-entropy CE and, per block, ∂CE/∂h for a scale h on its branch and on its output
//      (train::Network::block_gates);
//   3. FBNet's loss L = CE · α · (ln LAT)^β, LAT the predicted latency of a in µs. Its gradient
//      reaches θ through y: CE through the straight-through gate of each decision (a block's
//      kernel, expand, SE and activation: the block's branch gate; a stage's depth: the gate on
//      the stage's output), LAT through Σ_i y_{d,i} · LAT(a with decision d = i) — the expected
//      latency of the relaxed decision, exact for the table's additive predictor;
//   4. Adam on θ.
// τ falls geometrically from `initial_temperature` to `final_temperature` over the steps. The
// resolution and width multiplier only get the latency term (no single path tells how the loss
// depends on them). Weight updates alternate with architecture epochs (search/pipeline.hpp:
// FBNet trains the weights on the training split, then θ on the validation split, every
// epoch); the sandwich's random sub-networks are drawn from θ once it learns.
#pragma once

#include <cmath>
#include <functional>
#include <vector>

#include "edgenas/core/json.hpp"
#include "edgenas/data/loader.hpp"
#include "edgenas/data/resize.hpp"
#include "edgenas/ops/loss.hpp"
#include "edgenas/search/policy.hpp"
#include "edgenas/train/network.hpp"
#include "edgenas/train/supernet.hpp"

namespace edgenas::search {

struct DifferentiableConfig {
  double lr = 0.01;  // Adam on θ (FBNet's)
  double initial_temperature = 5.0, final_temperature = 0.5;
  double latency_alpha = 0.2, latency_beta = 0.6;  // FBNet's α, β (latency in µs)
  std::int64_t total_steps = 1;                    // over which τ anneals
};

/// A Gumbel-softmax draw: the hard architecture and the relaxed weights y per decision.
struct RelaxedSample {
  Choices choices;
  std::vector<std::vector<double>> soft;
};

/// ∂CE/∂(gate of each decision) of the sampled architecture, from its network's block gates:
/// blocks in genotype order (fixed blocks first), unused blocks 0, resolution and width 0.
inline std::vector<double> decision_gates(const SearchSpace& space, const Choices& c,
                                          const train::Network::BlockGates& g) {
  std::vector<double> gates;
  gates.push_back(0.0);  // resolution
  gates.push_back(0.0);  // width
  std::size_t block = space.fixed.size();
  for (std::size_t s = 0; s < space.stages.size(); ++s) {
    const auto depth = static_cast<std::size_t>(space.stages[s].depths[static_cast<std::size_t>(c.depth[s])]);
    gates.push_back(g.output.at(block + depth - 1));  // the stage's output: its last block's
    for (std::size_t j = 0; j < c.blocks[s].size(); ++j)
      for (int k = 0; k < 4; ++k) gates.push_back(j < depth ? g.branch.at(block + j) : 0.0);
    block += depth;
  }
  // The layout above mirrors SearchSpace::for_each_decision (4 decisions per block): a decision
  // added there must be added here.
  std::size_t decisions = 0;
  space.for_each_decision(c, [&](const int&, int, bool) { ++decisions; });
  EDGENAS_CHECK(gates.size() == decisions, Status::runtime_error,
                "differentiable search: %zu gates for the %zu decisions of space %s", gates.size(), decisions,
                space.name.c_str());
  return gates;
}

class ArchitectureLearner {
 public:
  using LatencyUs = std::function<double(const Choices&)>;

  ArchitectureLearner(const SearchSpace& space, DifferentiableConfig config)
      : space_(space), config_(config), policy_(space) {
    EDGENAS_CHECK(config_.lr > 0 && config_.initial_temperature > 0 && config_.final_temperature > 0 &&
                      config_.latency_alpha > 0 && config_.latency_beta >= 0 && config_.total_steps >= 1,
                  Status::invalid_argument,
                  "differentiable search: lr %g, temperature %g to %g, alpha %g, beta %g, %lld steps", config_.lr,
                  config_.initial_temperature, config_.final_temperature, config_.latency_alpha, config_.latency_beta,
                  static_cast<long long>(config_.total_steps));
    for (const auto& z : policy_.logits()) m_.emplace_back(z.size(), 0.0), v_.emplace_back(z.size(), 0.0);
  }

  const CategoricalPolicy& policy() const noexcept { return policy_; }
  CategoricalPolicy& policy() noexcept { return policy_; }
  std::int64_t steps() const noexcept { return steps_; }

  /// τ at the current step: geometric from the initial to the final temperature.
  double temperature() const {
    const double f = std::min(1.0, static_cast<double>(steps_) / static_cast<double>(config_.total_steps));
    return config_.initial_temperature * std::pow(config_.final_temperature / config_.initial_temperature, f);
  }

  RelaxedSample sample(Rng& rng) const {
    RelaxedSample s{policy_.most_likely(), {}};
    const double tau = temperature();
    std::size_t d = 0;
    space_.for_each_decision(s.choices, [&](int& value, int options, bool) {
      const std::vector<double>& z = policy_.logits()[d++];
      std::vector<double> y(static_cast<std::size_t>(options));
      double top = -1e300;
      for (std::size_t i = 0; i < y.size(); ++i) {
        const double u = std::max(rng.uniform_double(), 1e-300);
        y[i] = (z[i] - std::log(-std::log(u))) / tau;  // Gumbel(0, 1) noise
        top = std::max(top, y[i]);
      }
      double sum = 0;
      for (double& x : y) sum += x = std::exp(x - top);
      for (double& x : y) x /= sum;
      value = static_cast<int>(std::max_element(y.begin(), y.end()) - y.begin());
      s.soft.push_back(std::move(y));
    });
    return s;
  }

  /// ∂L/∂θ for L = CE · α (ln LAT)^β at the sample (see the top of this file); `gates` from
  /// decision_gates, `latency_us` the predictor in µs.
  std::vector<std::vector<double>> gradient(const RelaxedSample& s, double cross_entropy,
                                            const std::vector<double>& gates, const LatencyUs& latency_us) const {
    const double tau = temperature(), alpha = config_.latency_alpha, beta = config_.latency_beta;
    const double lat = std::max(latency_us(s.choices), 3.0);  // ln > 1: the powers stay defined
    const double log_lat = std::log(lat);
    const double ce_weight = alpha * std::pow(log_lat, beta);
    const double lat_weight = cross_entropy * alpha * beta * std::pow(log_lat, beta - 1) / lat;
    std::vector<std::vector<double>> grad;
    for (const auto& z : policy_.logits()) grad.emplace_back(z.size(), 0.0);
    std::vector<std::pair<std::size_t, int>> used;  // (decision, chosen option)
    std::size_t d = 0;
    space_.for_each_decision(s.choices, [&](const int& value, int options, bool u) {
      if (u && options > 1) used.emplace_back(d, value);
      ++d;
    });
    for (const auto& [dec, a] : used) {
      const std::vector<double>& y = s.soft[dec];
      const auto chosen = static_cast<std::size_t>(a);
      std::vector<double> lat_if(y.size());
      double expected = 0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        lat_if[i] = i == chosen ? lat : latency_us(with_decision(s.choices, dec, static_cast<int>(i)));
        expected += y[i] * lat_if[i];
      }
      for (std::size_t j = 0; j < y.size(); ++j) {
        const double ce = gates[dec] * y[chosen] * ((j == chosen ? 1.0 : 0.0) - y[j]) / tau;
        const double latency = y[j] * (lat_if[j] - expected) / tau;
        grad[dec][j] = ce_weight * ce + lat_weight * latency;
      }
    }
    return grad;
  }

  /// One Adam step (β1 0.9, β2 0.999) down the gradient.
  void apply(const std::vector<std::vector<double>>& grad) {
    ++steps_;
    const double b1 = 0.9, b2 = 0.999, c1 = 1 - std::pow(b1, static_cast<double>(steps_)),
                 c2 = 1 - std::pow(b2, static_cast<double>(steps_));
    auto& z = policy_.logits();
    for (std::size_t d = 0; d < z.size(); ++d)
      for (std::size_t i = 0; i < z[d].size(); ++i) {
        m_[d][i] = b1 * m_[d][i] + (1 - b1) * grad[d][i];
        v_[d][i] = b2 * v_[d][i] + (1 - b2) * grad[d][i] * grad[d][i];
        z[d][i] -= config_.lr * (m_[d][i] / c1) / (std::sqrt(v_[d][i] / c2) + 1e-8);
      }
  }

  /// θ, Adam's moments and the step: what a journal record holds (doubles round-trip in JSON).
  json::Value state() const {
    const auto arrays = [](const std::vector<std::vector<double>>& a) {
      json::Value::Array out;
      for (const auto& row : a) {
        json::Value::Array r;
        for (double x : row) r.emplace_back(x);
        out.emplace_back(std::move(r));
      }
      return json::Value(std::move(out));
    };
    return json::Value()
        .set("steps", static_cast<double>(steps_))
        .set("logits", arrays(policy_.logits()))
        .set("m", arrays(m_))
        .set("v", arrays(v_));
  }
  void restore(const json::Value& v) {
    const auto arrays = [&](const char* key, std::vector<std::vector<double>>& into) {
      const auto& rows = v.at(key, "architecture state").as_array(key);
      EDGENAS_CHECK(rows.size() == into.size(), Status::corrupt_data,
                    "architecture state: %zu rows of %s, the space has %zu decisions", rows.size(), key, into.size());
      for (std::size_t d = 0; d < rows.size(); ++d) {
        const auto& row = rows[d].as_array(key);
        EDGENAS_CHECK(row.size() == into[d].size(), Status::corrupt_data,
                      "architecture state: decision %zu of %s has %zu options, the space %zu", d, key, row.size(),
                      into[d].size());
        for (std::size_t i = 0; i < row.size(); ++i) into[d][i] = row[i].as_number(key);
      }
    };
    arrays("logits", policy_.logits());
    arrays("m", m_);
    arrays("v", v_);
    steps_ = static_cast<std::int64_t>(v.at("steps", "architecture state").as_number("steps"));
  }

 private:
  Choices with_decision(Choices c, std::size_t target, int option) const {
    std::size_t d = 0;
    space_.for_each_decision(c, [&](int& value, int, bool) {
      if (d++ == target) value = option;
    });
    return c;
  }

  SearchSpace space_;
  DifferentiableConfig config_;
  CategoricalPolicy policy_;
  std::vector<std::vector<double>> m_, v_;
  std::int64_t steps_ = 0;
};

struct ArchitectureEpoch {
  double cross_entropy = 0;  // mean over the steps
  double latency_ms = 0;     // mean predicted latency of the sampled architectures
  double entropy = 0;        // of the policy after the epoch (mean per decision, nats)
  std::size_t steps = 0;
};

/// One pass of architecture steps over `validation` (batches of `batch`; a last partial batch
/// is dropped) with the supernet's weights. Deterministic for (seed, epoch).
inline ArchitectureEpoch architecture_epoch(ArchitectureLearner& learner, const train::Supernet& supernet,
                                            const data::Dataset& validation, const data::Normalization& norm, int batch,
                                            const std::function<double(const Genotype&)>& latency_ms,
                                            std::uint64_t seed, int epoch,
                                            const std::shared_ptr<train::Activations>& activations) {
  const SearchSpace& space = supernet.space();
  std::unordered_map<int, data::Dataset> resized;
  const auto at_resolution = [&](int r) -> const data::Dataset& {
    if (r == validation.height && r == validation.width) return validation;
    auto it = resized.find(r);
    if (it == resized.end()) it = resized.emplace(r, data::conform(validation, r, r, validation.channels)).first;
    return it->second;
  };
  const std::size_t batches = validation.size() / static_cast<std::size_t>(batch);
  EDGENAS_CHECK(batches >= 1, Status::invalid_argument,
                "differentiable search: %zu validation images make no batch of %d", validation.size(), batch);
  const std::vector<std::size_t> order = data::BatchLoader(validation, batch, norm).order(seed, epoch, true);
  const ArchitectureLearner::LatencyUs latency_us = [&](const Choices& c) {
    return 1000.0 * latency_ms(space.decode(c));
  };
  ArchitectureEpoch e;
  Tensor images, dlogits;
  std::vector<std::int32_t> labels;
  for (std::size_t b = 0; b < batches; ++b) {
    Rng rng = Rng(seed).fork(0xFB00000000ull + static_cast<std::uint64_t>(epoch) * 1000003u + b);
    const RelaxedSample s = learner.sample(rng);
    const Genotype g = space.decode(s.choices);
    train::Network net(g);
    net.share_activations(activations);
    supernet.extract(s.choices, net);
    net.track_block_gates(true);
    data::BatchLoader(at_resolution(g.input.h), batch, norm)
        .fill(order, b, data::Augmentation::none(), seed, epoch, images, labels);
    const ConstTensorView logits = net.forward(images, true);
    dlogits.resize(logits.shape());
    const double ce = ops::softmax_cross_entropy(logits, labels, 0.0f, dlogits);
    EDGENAS_CHECK(std::isfinite(ce), Status::runtime_error,
                  "differentiable search: the loss of %s is not finite (architecture epoch %d, batch %zu)",
                  to_string(g).c_str(), epoch, b);
    net.backward(dlogits);
    learner.apply(learner.gradient(s, ce, decision_gates(space, s.choices, net.block_gates()), latency_us));
    e.cross_entropy += ce / static_cast<double>(batches);
    e.latency_ms += latency_ms(g) / static_cast<double>(batches);
  }
  e.entropy = learner.policy().entropy();
  e.steps = batches;
  return e;
}

}  // namespace edgenas::search
