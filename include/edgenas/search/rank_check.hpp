// edgenas/search/rank_check.hpp — how well the supernet ranks architectures: architectures of a
// search, spread across its latency range, trained alone on one short fixed schedule; Kendall's
// τ and Spearman's ρ between their supernet accuracy and their accuracy trained alone, and how
// many of the supernet's top 5 are the top 5 trained alone. The search can only be as good as
// this ranking (Pipeline::rank_check runs it; `edgenas search --rank-check N`).
#pragma once

#include <algorithm>
#include <cmath>
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
  double standalone_accuracy = 0;   // validation accuracy trained alone
};

struct RankCheck {
  int epochs = 0;  // of the stand-alone schedule (passes over the reference images)
  std::vector<RankedArchitecture> architectures;
  double kendall_tau = 0, spearman_rho = 0;
  std::size_t top5_overlap = 0;
  // The same Kendall τ for signals that cost nothing to compute — what the supernet must beat:
  // the architectures ranked by their parameters, MACs and predicted latency (larger first).
  double params_tau = 0, macs_tau = 0, latency_tau = 0;
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

/// The correlations of a check whose architectures are filled in.
inline void score(RankCheck& r) {
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
}

/// One line: the correlations, and the free signals' τ beside them.
inline std::string summary(const RankCheck& r) {
  char line[320];
  std::snprintf(line, sizeof line,
                "%zu architectures trained alone for %d epoch(s): Kendall tau %.3f, Spearman rho %.3f, top-5 overlap "
                "%zu of %zu; free signals' tau: parameters %.3f, MACs %.3f, latency %.3f",
                r.architectures.size(), r.epochs, r.kendall_tau, r.spearman_rho, r.top5_overlap,
                std::min<std::size_t>(5, r.architectures.size()), r.params_tau, r.macs_tau, r.latency_tau);
  return line;
}

inline json::Value to_json(const RankCheck& r) {
  json::Value::Array archs;
  for (const RankedArchitecture& a : r.architectures)
    archs.push_back(json::Value()
                        .set("genotype", to_string(a.candidate.genotype))
                        .set("latency_ms", a.candidate.costs.latency_ms)
                        .set("params", a.candidate.costs.params)
                        .set("macs", a.candidate.costs.macs)
                        .set("supernet_accuracy", a.candidate.accuracy)
                        .set("standalone_accuracy", a.standalone_accuracy));
  return json::Value()
      .set("architectures", static_cast<int>(r.architectures.size()))
      .set("standalone_epochs", r.epochs)
      .set("kendall_tau", r.kendall_tau)
      .set("spearman_rho", r.spearman_rho)
      .set("top5_overlap", static_cast<int>(r.top5_overlap))
      .set("free_signals_tau",
           json::Value().set("params", r.params_tau).set("macs", r.macs_tau).set("latency", r.latency_tau))
      .set("ranked", std::move(archs));
}

}  // namespace edgenas::search
