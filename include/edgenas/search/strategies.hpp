// edgenas/search/strategies.hpp — random search, regularized (aging) evolution, NSGA-II, a
// REINFORCE controller (MnasNet), and the architectures a differentiable search's learned
// distribution derives (FBNet: search/differentiable.hpp learns it).
//
// A strategy proposes architectures (as Choices inside the space, always within the hard
// budgets) and receives their validation accuracy from `Accuracy`, which is the expensive
// part (a supernet sub-network, or training). Every architecture is evaluated at most once:
// the evaluation budget counts distinct architectures. Given the same seed and the same
// accuracies, a strategy proposes the same sequence — which is what makes a search resumable
// from a journal of the accuracies it already received.
//
// Candidates are handed to the evaluator in rounds, so that several processes can evaluate a
// round together: random search and initial populations `batch` at a time, NSGA-II a generation,
// evolution `proposals` children (the only setting of the three that changes results: each
// round's parents are chosen before its children are scored; 1 is Real et al.'s algorithm) and
// REINFORCE `proposals` samples per policy update.
#pragma once

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edgenas/core/rank_correlation.hpp"
#include "edgenas/search/candidate.hpp"
#include "edgenas/search/pareto.hpp"
#include "edgenas/search/policy.hpp"

namespace edgenas::search {

enum class Strategy { random, evolution, nsga2, reinforce, differentiable };
inline constexpr Strategy all_strategies[] = {Strategy::random, Strategy::evolution, Strategy::nsga2,
                                              Strategy::reinforce, Strategy::differentiable};

inline constexpr std::string_view strategy_name(Strategy s) {
  switch (s) {
    case Strategy::random:
      return "random";
    case Strategy::evolution:
      return "evolution";
    case Strategy::nsga2:
      return "nsga2";
    case Strategy::reinforce:
      return "reinforce";
    case Strategy::differentiable:
      return "differentiable";
  }
  return "?";
}
inline Strategy parse_strategy(std::string_view name) {
  for (Strategy s : all_strategies)
    if (strategy_name(s) == name) return s;
  EDGENAS_FAIL(Status::invalid_argument,
               "unknown search strategy \"%.*s\" (random, evolution, nsga2, reinforce, differentiable)",
               static_cast<int>(name.size()), name.data());
}

/// How a strategy proposes architectures (the pipeline's settings are search::SearchConfig).
struct StrategyConfig {
  Strategy strategy = Strategy::evolution;
  int evaluations = 100;        // distinct architectures evaluated
  int population = 16;          // evolution and NSGA-II
  int tournament = 4;           // evolution: sample size per parent choice
  double mutation_rate = 0.15;  // per choice
  double crossover_rate = 0.5;  // NSGA-II
  std::uint64_t seed = 1;
  int proposals = 1;            // evolution: children per round; reinforce: samples per policy update
  int batch = 1;                // random architectures handed to the evaluator at once
  // MnasNet's soft reward ACC·(LAT/T)^w replaces plain accuracy when target_ms > 0.
  double reward_target_ms = 0.0;
  double reward_exponent = -0.07;
  // REINFORCE: step size on the logits (per unit of normalised advantage), entropy bonus, and
  // the decay of the moving-average baseline.
  double policy_lr = 0.1;
  double entropy_weight = 0.02;
  double baseline_decay = 0.9;
  // differentiable: the learned distribution the architectures are derived from (not owned;
  // none: uniform, which makes it random search).
  const CategoricalPolicy* learned = nullptr;
};

/// What the single-objective strategies maximise.
inline double fitness(const Candidate& c, const StrategyConfig& config) {
  if (config.reward_target_ms <= 0.0 || c.costs.latency_ms <= 0.0) return c.accuracy;
  return c.accuracy * std::pow(c.costs.latency_ms / config.reward_target_ms, config.reward_exponent);
}

/// Minimised objectives: error and latency (parameters when no latency predictor is given).
inline Objectives objectives(const Candidate& c) {
  return {1.0 - c.accuracy, c.costs.latency_ms > 0.0 ? c.costs.latency_ms : static_cast<double>(c.costs.params)};
}

/// Indices of the candidates on the Pareto front (accuracy vs latency), by increasing latency.
inline std::vector<std::size_t> front_of(const std::vector<Candidate>& history) {
  std::vector<Objectives> points;
  for (const Candidate& c : history) points.push_back(objectives(c));
  std::vector<std::size_t> front = pareto_front(points);
  std::sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) { return points[a][1] < points[b][1]; });
  return front;
}

/// Hypervolume of the front in (error, latency) up to (1, reference_ms): larger is better.
inline double hypervolume(const std::vector<Candidate>& history, double reference_ms) {
  std::vector<Objectives> points;
  for (const Candidate& c : history) points.push_back(objectives(c));
  return hypervolume_2d(points, {1.0, reference_ms});
}

/// The most accurate candidate that meets `budgets`, or -1.
inline std::ptrdiff_t best_within(const std::vector<Candidate>& history, const Budgets& budgets) {
  std::ptrdiff_t best = -1;
  for (std::size_t i = 0; i < history.size(); ++i)
    if (budgets.admits(history[i].costs) && (best < 0 || history[i].accuracy > history[static_cast<std::size_t>(best)].accuracy))
      best = static_cast<std::ptrdiff_t>(i);
  return best;
}

/// The candidate that meets `budgets` with the largest rank sum of its supernet accuracy and its
/// MACs among those that meet them (ties: the more accurate, then the first), or -1. The supernet
/// and the MACs rank architectures trained alone about equally well and agree little with each
/// other; their rank sum ranked better than either on the ranking checks of docs/results.md.
inline std::ptrdiff_t best_by_accuracy_and_macs(const std::vector<Candidate>& history, const Budgets& budgets) {
  std::vector<std::size_t> within;
  std::vector<double> accuracy, macs;
  for (std::size_t i = 0; i < history.size(); ++i)
    if (budgets.admits(history[i].costs)) {
      within.push_back(i);
      accuracy.push_back(history[i].accuracy);
      macs.push_back(static_cast<double>(history[i].costs.macs));
    }
  const std::vector<double> score = rank_sum(accuracy, macs);
  std::ptrdiff_t best = -1;
  for (std::size_t k = 0; k < within.size(); ++k) {
    const auto b = static_cast<std::size_t>(best);
    if (best < 0 || score[k] > score[b] || (score[k] == score[b] && accuracy[k] > accuracy[b]))
      best = static_cast<std::ptrdiff_t>(k);
  }
  return best < 0 ? -1 : static_cast<std::ptrdiff_t>(within[static_cast<std::size_t>(best)]);
}

class SearchRun {
 public:
  /// The expensive part: the accuracy of a candidate (decoded and costed already).
  using Accuracy = std::function<double(const Candidate&)>;
  /// The accuracies of a round of candidates, in order (e.g. spread over processes).
  using RoundAccuracy = std::function<std::vector<double>(const std::vector<Candidate>& round)>;
  /// Called after every new evaluation with the history so far.
  using Progress = std::function<void(const std::vector<Candidate>& history)>;

  SearchRun(const FeasibleSampler& sampler, StrategyConfig config, Accuracy accuracy, Progress progress = {})
      : SearchRun(sampler, config, one_at_a_time(std::move(accuracy)), std::move(progress)) {}

  SearchRun(const FeasibleSampler& sampler, StrategyConfig config, RoundAccuracy accuracy, Progress progress = {})
      : sampler_(sampler), config_(config), accuracy_(std::move(accuracy)), progress_(std::move(progress)) {
    EDGENAS_CHECK(config_.evaluations >= 1, Status::invalid_argument, "search: %d evaluations", config_.evaluations);
    EDGENAS_CHECK(
        config_.strategy == Strategy::random || config_.strategy == Strategy::reinforce ||
            config_.strategy == Strategy::differentiable || (config_.population >= 2 && config_.tournament >= 1),
        Status::invalid_argument, "search: population %d, tournament %d", config_.population, config_.tournament);
    EDGENAS_CHECK(config_.proposals >= 1 && config_.batch >= 1, Status::invalid_argument,
                  "search: %d proposals per round, batches of %d", config_.proposals, config_.batch);
  }

  /// Every distinct architecture evaluated, in order.
  const std::vector<Candidate>& run() {
    Rng rng(config_.seed);
    switch (config_.strategy) {
      case Strategy::random: random_search(rng); break;
      case Strategy::evolution: evolution(rng); break;
      case Strategy::nsga2: nsga2(rng); break;
      case Strategy::reinforce:
        reinforce(rng);
        break;
      case Strategy::differentiable:
        derive(rng);
        break;
    }
    return history_;
  }

 private:
  static RoundAccuracy one_at_a_time(Accuracy accuracy) {
    return [accuracy = std::move(accuracy)](const std::vector<Candidate>& round) {
      std::vector<double> a;
      for (const Candidate& c : round) a.push_back(accuracy(c));
      return a;
    };
  }

  bool done() const { return static_cast<int>(history_.size()) >= config_.evaluations || attempts_ > 50 * config_.evaluations; }
  /// No room for another proposal in this round: the evaluations are spoken for.
  bool full() const {
    return static_cast<int>(history_.size() + round_.size()) >= config_.evaluations || attempts_ > 50 * config_.evaluations;
  }

  /// The candidate's index into history_: its earlier evaluation's, or the one it will have when
  /// the round is evaluated (call while !full()).
  std::size_t propose(Candidate cand) {
    ++attempts_;
    if (auto it = seen_.find(cand.genotype); it != seen_.end()) return it->second;
    const std::size_t index = history_.size() + round_.size();
    seen_.emplace(cand.genotype, index);
    round_.push_back(std::move(cand));
    return index;
  }

  /// Evaluates the round's new candidates together and appends them to the history.
  void evaluate_round() {
    if (round_.empty()) return;
    const std::vector<double> accuracy = accuracy_(round_);
    EDGENAS_CHECK(accuracy.size() == round_.size(), Status::runtime_error, "search: %zu accuracies for %zu candidates",
                  accuracy.size(), round_.size());
    for (std::size_t i = 0; i < round_.size(); ++i) {
      round_[i].accuracy = accuracy[i];
      history_.push_back(std::move(round_[i]));
      if (progress_) progress_(history_);
    }
    round_.clear();
  }

  /// Random architectures (their accuracy does not steer the draws: any batch size gives the
  /// same sequence) until `members` holds `size`.
  void fill_randomly(std::vector<std::size_t>& members, std::size_t size, Rng& rng) {
    while (!done() && members.size() < size) {
      while (!full() && members.size() < size && static_cast<int>(round_.size()) < config_.batch)
        members.push_back(propose(sampler_.random(rng)));
      evaluate_round();
    }
  }

  void random_search(Rng& rng) {
    std::vector<std::size_t> all;
    fill_randomly(all, std::numeric_limits<std::size_t>::max(), rng);
  }

  /// Real et al. (2019): the oldest member dies, the best of a random sample has a child.
  void evolution(Rng& rng) {
    std::vector<std::size_t> initial;
    fill_randomly(initial, static_cast<std::size_t>(config_.population), rng);
    std::deque<std::size_t> population(initial.begin(), initial.end());
    std::vector<std::size_t> children;
    while (!done()) {
      children.clear();
      for (int j = 0; j < config_.proposals && !full(); ++j) {
        std::size_t parent = population[rng.below(static_cast<std::uint32_t>(population.size()))];
        for (int i = 1; i < config_.tournament; ++i) {
          const std::size_t other = population[rng.below(static_cast<std::uint32_t>(population.size()))];
          if (fitness(history_[other], config_) > fitness(history_[parent], config_)) parent = other;
        }
        children.push_back(propose(sampler_.mutate(history_[parent], config_.mutation_rate, rng)));
      }
      evaluate_round();
      for (std::size_t c : children) {
        population.push_back(c);
        population.pop_front();
      }
    }
  }

  /// Deb et al. (2002): binary tournaments on (front rank, crowding), uniform crossover and
  /// mutation, then parents and children compete for the next population. A generation's
  /// children are drawn from its parents alone: one round.
  void nsga2(Rng& rng) {
    std::vector<std::size_t> population;
    fill_randomly(population, static_cast<std::size_t>(config_.population), rng);
    while (!done()) {
      const auto [rank, crowd] = rank_and_crowding(population);
      const auto pick = [&] {
        const std::size_t a = rng.below(static_cast<std::uint32_t>(population.size()));
        const std::size_t b = rng.below(static_cast<std::uint32_t>(population.size()));
        const bool a_better = rank[a] < rank[b] || (rank[a] == rank[b] && crowd[a] > crowd[b]);
        return population[a_better ? a : b];
      };
      std::vector<std::size_t> next = population;
      for (int i = 0; i < config_.population && !full(); ++i) {
        const std::size_t a = pick(), b = pick();
        Candidate child = rng.uniform_double() < config_.crossover_rate
                              ? sampler_.candidate(sampler_.space().crossover(history_[a].choices, history_[b].choices, rng))
                              : history_[a];
        child = sampler_.mutate(child, config_.mutation_rate, rng);
        if (!sampler_.budgets().admits(child.costs)) child = history_[a];
        const std::size_t c = propose(std::move(child));
        if (std::find(next.begin(), next.end(), c) == next.end()) next.push_back(c);
      }
      evaluate_round();
      population = select(next);
    }
  }

  /// Williams (1992) as MnasNet uses it: architectures sampled from a policy of independent
  /// categorical logits per decision (drawn again until one meets the budgets), reward =
  /// fitness (ACC·(LAT/T)^w with --reward-target), advantage = reward − moving-average
  /// baseline, divided by the rewards' standard deviation so far (the step size then does not
  /// depend on how narrow the accuracies are), plus an entropy bonus that keeps it exploring.
  /// An architecture sampled again is not evaluated again: its recorded reward teaches the policy.
  void reinforce(Rng& rng) {
    CategoricalPolicy policy(sampler_.space());
    std::vector<std::size_t> round;
    std::vector<double> rewards;  // every reward the policy learned from, for the scale
    double baseline = 0;
    while (!done()) {
      round.clear();
      for (int j = 0; j < config_.proposals && !full(); ++j) round.push_back(propose(sampler_.sample(policy, rng)));
      evaluate_round();
      double mean = 0;
      for (std::size_t i : round) rewards.push_back(fitness(history_[i], config_)), mean += rewards.back();
      mean /= static_cast<double>(round.size());
      if (rewards.size() == round.size()) baseline = mean;  // the first round
      double center = 0, spread = 0;
      for (double r : rewards) center += r / static_cast<double>(rewards.size());
      for (double r : rewards) spread += (r - center) * (r - center) / static_cast<double>(rewards.size());
      spread = std::sqrt(spread);
      if (spread > 0)
        for (std::size_t k = 0; k < round.size(); ++k) {
          const double advantage = (rewards[rewards.size() - round.size() + k] - baseline) / spread;
          policy.add_log_probability_gradient(history_[round[k]].choices,
                                              config_.policy_lr * advantage / static_cast<double>(round.size()));
        }
      policy.add_entropy_gradient(config_.policy_lr * config_.entropy_weight);
      baseline = config_.baseline_decay * baseline + (1 - config_.baseline_decay) * mean;
    }
  }

  /// FBNet's derivation: the most likely architecture of the learned distribution (if it meets
  /// the budgets), then samples from it that do, `batch` at a time (their accuracies do not
  /// steer the draws).
  void derive(Rng& rng) {
    const CategoricalPolicy uniform(sampler_.space());
    const CategoricalPolicy& policy = config_.learned ? *config_.learned : uniform;
    Candidate top = sampler_.candidate(policy.most_likely());
    bool first = sampler_.budgets().admits(top.costs);
    while (!done()) {
      while (!full() && static_cast<int>(round_.size()) < config_.batch) {
        propose(first ? std::move(top) : sampler_.sample(policy, rng));
        first = false;
      }
      evaluate_round();
    }
  }

  std::pair<std::vector<int>, std::vector<double>> rank_and_crowding(const std::vector<std::size_t>& members) const {
    std::vector<Objectives> points;
    for (std::size_t m : members) points.push_back(objectives(history_[m]));
    std::vector<int> rank(members.size());
    std::vector<double> crowd(members.size());
    int r = 0;
    for (const auto& front : non_dominated_fronts(points)) {
      const auto d = crowding_distance(points, front);
      for (std::size_t i = 0; i < front.size(); ++i) rank[front[i]] = r, crowd[front[i]] = d[i];
      ++r;
    }
    return {rank, crowd};
  }

  std::vector<std::size_t> select(const std::vector<std::size_t>& members) const {
    const auto [rank, crowd] = rank_and_crowding(members);
    std::vector<std::size_t> order(members.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return rank[a] < rank[b] || (rank[a] == rank[b] && crowd[a] > crowd[b]);
    });
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < order.size() && static_cast<int>(out.size()) < config_.population; ++i) out.push_back(members[order[i]]);
    return out;
  }

  const FeasibleSampler& sampler_;
  StrategyConfig config_;
  RoundAccuracy accuracy_;
  Progress progress_;
  std::vector<Candidate> history_;
  std::vector<Candidate> round_;  // proposed, not yet evaluated (indices follow history_)
  std::unordered_map<Genotype, std::size_t, GenotypeHash> seen_;
  int attempts_ = 0;
};

}  // namespace edgenas::search
