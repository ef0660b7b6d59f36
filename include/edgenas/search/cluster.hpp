// edgenas/search/cluster.hpp — a search spread over processes: workers that train the supernet
// data-parallel and evaluate candidates, and optionally one device rank that only measures
// latency (hardware in the loop on the target while training runs elsewhere).
//
// An interface, so the library needs no MPI: distributed/mpi.hpp implements it when edgenas is
// built with EDGENAS_WITH_MPI (docs/distributed.md). Rank 0 is worker 0, the leader: it alone
// reads and writes the search's folder (journal, checkpoints, tables, report) and sends the
// others what they need, so the ranks need not share a file system.
#pragma once

#include <string>

#include "edgenas/core/collective.hpp"

namespace edgenas::search {

class Cluster : public Collective {
 public:
  /// This process in the whole job, and the job's size (workers and the device rank).
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// The rank that measures latency and nothing else; −1: none (the leader measures).
  virtual int latency_rank() const = 0;
  /// A message to one rank, and the next message from one rank (in the order sent).
  virtual void send(int to, const std::string& bytes) = 0;
  virtual std::string receive(int from) = 0;
};

}  // namespace edgenas::search
