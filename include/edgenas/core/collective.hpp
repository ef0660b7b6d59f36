// edgenas/core/collective.hpp — the few collective operations data-parallel training and a
// distributed search need, as an interface: MPI implements it (distributed/mpi.hpp, optional
// build), tests implement it with threads, a single process needs none.
//
// Every operation is a fixed computation of its inputs, never of timing: sums are formed in
// worker order, so a job gives the same bits on every run and for every worker count that
// divides its shards (docs/distributed.md).
#pragma once

#include <span>
#include <string>
#include <vector>

namespace edgenas {

class Collective {
 public:
  virtual ~Collective() = default;
  /// This process among the workers (0 … workers() − 1); worker 0 leads (journal, checkpoints).
  virtual int worker() const = 0;
  virtual int workers() const = 0;
  /// Every worker passes its consecutive shards' values (the same count each, in shard order);
  /// `total` becomes, on every worker, the left-to-right sum over all shards of all workers:
  /// ((s0 + s1) + s2) + … — exactly what one process adding them in order computes.
  virtual void sum_in_order(std::span<const std::span<const float>> mine, std::span<float> total) = 0;
  /// Every worker's values, concatenated in worker order (counts may differ).
  virtual std::vector<double> gather(std::span<const double> mine) = 0;
  /// Worker 0's bytes on every worker.
  virtual void broadcast(std::string& bytes) = 0;
};

/// The left-to-right sum of `shards` into `total` (what Collective::sum_in_order computes).
inline void sum_shards_in_order(std::span<const std::span<const float>> shards, std::span<float> total) {
  if (shards.empty()) return;
  std::copy(shards[0].begin(), shards[0].end(), total.begin());
  for (std::size_t k = 1; k < shards.size(); ++k)
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += shards[k][i];
}

}  // namespace edgenas
