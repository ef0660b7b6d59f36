// edgenas/search/rank_check.hpp — how well the supernet ranks architectures: architectures of a
// search, spread across its latency range, trained alone on one short fixed schedule; Kendall's
// τ and Spearman's ρ between their supernet accuracy and their accuracy trained alone, and how
// many of the supernet's top 5 are the top 5 trained alone. The search can only be as good as
// this ranking (Pipeline::rank_check runs it; `edgenas search --rank-check N`).
//
// One short training is a noisy reference (two seeds of the same architectures agree only to τ
// ≈ 0.5 on Fashion-MNIST), so each architecture may be trained several times with different
// seeds: the reference is then the mean, and the check reports how well the trainings agree with
// each other — what any ranking signal can reach against that reference (core/rank_ceiling.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "edgenas/core/json.hpp"
#include "edgenas/core/rank_correlation.hpp"
#include "edgenas/search/candidate.hpp"
#include "edgenas/train/trainer.hpp"

namespace edgenas::search {

struct RankedArchitecture {
  Candidate candidate;              // .accuracy: the supernet's (validation, BN recalibrated)
  double standalone_accuracy = 0;   // validation accuracy trained alone: the mean of `trainings`
  std::vector<double> trainings{};  // each training's, in the order of RankCheck::seeds
};

struct RankCheck {
  int epochs = 0;  // of the stand-alone schedule (passes over the reference images)
  std::vector<std::uint64_t> seeds{};  // of the stand-alone trainings (every architecture has one per seed)
  std::vector<RankedArchitecture> architectures;
  // How well the trainings agree with each other: the mean Kendall τ over pairs of them (0 with one).
  double reference_self_tau = 0;
  double kendall_tau = 0, spearman_rho = 0;
  std::size_t top5_overlap = 0;
  // The same Kendall τ for signals that cost nothing to compute — what the supernet must beat:
  // the architectures ranked by their parameters, MACs and predicted latency (larger first).
  double params_tau = 0, macs_tau = 0, latency_tau = 0;
  // The τ of the rank sum of the supernet's accuracy and the MACs: the ranking
  // `--choose-by accuracy+macs` picks the final network by (strategies.hpp).
  double supernet_macs_tau = 0;
};

/// The one short fixed schedule on which architectures are trained alone to compare them (the
/// ranking check; examples/compare_strategies): from scratch, peak learning rate 0.2 after a
/// warm-up of half the epochs (at most one), cosine to 0, weight decay 1e-4.
inline train::TrainConfig standalone_schedule(int epochs, int batch, const data::Augmentation& augmentation,
                                              std::uint64_t seed) {
  train::TrainConfig tc;
  tc.epochs = epochs;
  tc.batch_size = batch;
  tc.lr = 0.2f;
  tc.warmup_epochs = std::min(1.0f, 0.5f * static_cast<float>(epochs));
  tc.optimizer.weight_decay = 1e-4f;
  tc.augmentation = augmentation;
  tc.seed = seed;
  return tc;
}

/// `n` of the evaluated candidates, evenly spaced in order of predicted latency (fastest and
/// slowest included), as indices into `history`.
inline std::vector<std::size_t> spread_by_latency(const std::vector<Candidate>& history, std::size_t n) {
  std::vector<std::size_t> order(history.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return history[a].costs.latency_ms < history[b].costs.latency_ms; });
  if (n >= order.size()) return order;
  std::vector<std::size_t> picked;
  for (std::size_t i = 0; i < n; ++i) {
    const double at = n == 1 ? 0.0 : static_cast<double>(i) * static_cast<double>(order.size() - 1) / static_cast<double>(n - 1);
    picked.push_back(order[static_cast<std::size_t>(std::lround(at))]);
  }
  return picked;
}

/// Adds one training's validation accuracy to `a`; its stand-alone accuracy becomes the mean.
inline void add_training(RankedArchitecture& a, double accuracy) {
  a.trainings.push_back(accuracy);
  double sum = 0;
  for (double t : a.trainings) sum += t;
  a.standalone_accuracy = sum / static_cast<double>(a.trainings.size());
}

/// The mean Kendall τ between pairs of the architectures' trainings (0 with fewer than two each).
inline double reference_self_tau(const std::vector<RankedArchitecture>& architectures) {
  if (architectures.empty()) return 0;
  const std::size_t k = architectures.front().trainings.size();
  for (const RankedArchitecture& a : architectures)
    EDGENAS_CHECK(a.trainings.size() == k, Status::invalid_argument,
                  "rank check: %s has %zu stand-alone trainings, the first architecture %zu",
                  to_string(a.candidate.genotype).c_str(), a.trainings.size(), k);
  if (k < 2) return 0;
  double sum = 0;
  int pairs = 0;
  for (std::size_t s = 0; s < k; ++s)
    for (std::size_t t = s + 1; t < k; ++t, ++pairs) {
      std::vector<double> first, second;
      for (const RankedArchitecture& a : architectures) {
        first.push_back(a.trainings[s]);
        second.push_back(a.trainings[t]);
      }
      sum += kendall_tau(first, second);
    }
  return sum / pairs;
}

/// The correlations of a check whose architectures are filled in.
inline void score(RankCheck& r) {
  r.reference_self_tau = reference_self_tau(r.architectures);
  std::vector<double> supernet, alone, params, macs, latency;
  for (const RankedArchitecture& a : r.architectures) {
    supernet.push_back(a.candidate.accuracy);
    alone.push_back(a.standalone_accuracy);
    params.push_back(static_cast<double>(a.candidate.costs.params));
    macs.push_back(static_cast<double>(a.candidate.costs.macs));
    latency.push_back(a.candidate.costs.latency_ms);
  }
  r.kendall_tau = kendall_tau(supernet, alone);
  r.spearman_rho = spearman_rho(supernet, alone);
  r.top5_overlap = top_k_overlap(supernet, alone, 5);
  r.params_tau = kendall_tau(params, alone);
  r.macs_tau = kendall_tau(macs, alone);
  r.latency_tau = kendall_tau(latency, alone);
  r.supernet_macs_tau = kendall_tau(rank_sum(supernet, macs), alone);
}

/// One line: the correlations, and the free signals' τ beside them.
inline std::string summary(const RankCheck& r) {
  char line[400], reference[120] = "";
  const std::size_t k = r.architectures.empty() ? 0 : r.architectures.front().trainings.size();
  if (k >= 2)
    std::snprintf(reference, sizeof reference, " (mean of %zu trainings, which agree with each other at tau %.3f)", k,
                  r.reference_self_tau);
  std::snprintf(line, sizeof line,
                "%zu architectures trained alone for %d epoch(s)%s: Kendall tau %.3f, Spearman rho %.3f, top-5 overlap "
                "%zu of %zu; free signals' tau: parameters %.3f, MACs %.3f, latency %.3f; supernet and MACs (rank "
                "sum) %.3f",
                r.architectures.size(), r.epochs, reference, r.kendall_tau, r.spearman_rho, r.top5_overlap,
                std::min<std::size_t>(5, r.architectures.size()), r.params_tau, r.macs_tau, r.latency_tau,
                r.supernet_macs_tau);
  return line;
}

inline json::Value to_json(const RankCheck& r) {
  json::Value::Array archs, seeds;
  for (const RankedArchitecture& a : r.architectures) {
    json::Value::Array trainings;
    for (double t : a.trainings) trainings.emplace_back(t);
    archs.push_back(json::Value()
                        .set("genotype", to_string(a.candidate.genotype))
                        .set("latency_ms", a.candidate.costs.latency_ms)
                        .set("params", a.candidate.costs.params)
                        .set("macs", a.candidate.costs.macs)
                        .set("supernet_accuracy", a.candidate.accuracy)
                        .set("standalone_accuracy", a.standalone_accuracy)
                        .set("standalone_trainings", json::Value(std::move(trainings))));
  }
  for (std::uint64_t s : r.seeds) seeds.emplace_back(static_cast<std::int64_t>(s));
  return json::Value()
      .set("architectures", static_cast<int>(r.architectures.size()))
      .set("standalone_epochs", r.epochs)
      .set("standalone_seeds", json::Value(std::move(seeds)))
      .set("reference_self_tau", r.reference_self_tau)
      .set("kendall_tau", r.kendall_tau)
      .set("spearman_rho", r.spearman_rho)
      .set("top5_overlap", static_cast<int>(r.top5_overlap))
      .set("free_signals_tau",
           json::Value().set("params", r.params_tau).set("macs", r.macs_tau).set("latency", r.latency_tau))
      .set("supernet_macs_tau", r.supernet_macs_tau)
      .set("ranked", std::move(archs));
}

/// A check written by to_json (`where` names the file in errors). Checks written before
/// repeated trainings hold one training per architecture, of the search's seed (`default_seed`).
inline RankCheck rank_check_from_json(const json::Value& v, const char* where, std::uint64_t default_seed = 1) {
  RankCheck r;
  r.epochs = v.at("standalone_epochs", where).as_int("standalone_epochs");
  if (const json::Value* seeds = v.find("standalone_seeds"))
    for (const json::Value& s : seeds->as_array("standalone_seeds"))
      r.seeds.push_back(static_cast<std::uint64_t>(s.as_int64("standalone_seeds", 0)));
  else
    r.seeds.push_back(default_seed);
  for (const json::Value& a : v.at("ranked", where).as_array("ranked")) {
    RankedArchitecture ra;
    ra.candidate.genotype = parse_genotype(a.at("genotype", where).as_string("genotype"));
    ra.candidate.costs.latency_ms = a.at("latency_ms", where).as_number("latency_ms");
    ra.candidate.costs.params = a.at("params", where).as_int64("params", 0);
    ra.candidate.costs.macs = a.at("macs", where).as_int64("macs", 0);
    ra.candidate.accuracy = a.at("supernet_accuracy", where).as_number("supernet_accuracy");
    if (const json::Value* trainings = a.find("standalone_trainings"))
      for (const json::Value& t : trainings->as_array("standalone_trainings"))
        add_training(ra, t.as_number("standalone_trainings", 0, 1));
    else
      add_training(ra, a.at("standalone_accuracy", where).as_number("standalone_accuracy"));
    EDGENAS_CHECK(ra.trainings.size() == r.seeds.size(), Status::invalid_argument,
                  "%s: %s has %zu stand-alone trainings for %zu seeds", where, to_string(ra.candidate.genotype).c_str(),
                  ra.trainings.size(), r.seeds.size());
    r.architectures.push_back(std::move(ra));
  }
  EDGENAS_CHECK(r.architectures.size() >= 2, Status::invalid_argument, "%s: fewer than 2 architectures", where);
  score(r);
  return r;
}

}  // namespace edgenas::search
