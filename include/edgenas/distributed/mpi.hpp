// edgenas/distributed/mpi.hpp — search::Cluster on MPI: the optional distributed build
// (cmake -DEDGENAS_WITH_MPI=ON, Debian's Open MPI; docs/distributed.md).
//
//   edgenas::distributed::MpiCluster cluster(/*latency_rank=*/-1);   // MPI_Init
//   edgenas::search::Pipeline search(config, callbacks, &cluster);   // on every worker rank
//
// Waiting ranks poll and sleep instead of spinning: a rank that waits for the leader (while it
// measures latency, or trains the chosen network alone) must not steal the core being measured.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/search/cluster.hpp"

namespace edgenas::distributed {

/// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun).
inline bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

class MpiCluster final : public search::Cluster {
 public:
  /// Initialises MPI. `latency_rank` (≥ 1, or −1 for none) only measures latency; the other
  /// ranks are the workers, in rank order. A bad rank is reported by check(), after MPI is up,
  /// so that the error reaches the user through abort() instead of leaving ranks waiting.
  explicit MpiCluster(int latency_rank = -1) : latency_rank_(latency_rank) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);  // only the main thread calls MPI
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (latency_rank_ >= size_ || latency_rank_ == 0 || latency_rank_ < -1 || (latency_rank_ > 0 && size_ < 2))
      latency_rank_ = bad_rank;  // check() says why
    // Every rank must name the same device rank (an MPMD command line may give it to only some).
    int lowest = latency_rank_, highest = latency_rank_;
    MPI_Allreduce(MPI_IN_PLACE, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &highest, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (lowest != highest && latency_rank_ != bad_rank) latency_rank_ = disagreeing;
    MPI_Comm_split(MPI_COMM_WORLD, rank_ == latency_rank_ && latency_rank_ > 0 ? MPI_UNDEFINED : 0, rank_, &workers_);
    if (workers_ != MPI_COMM_NULL) {
      MPI_Comm_rank(workers_, &worker_);
      MPI_Comm_size(workers_, &worker_count_);
    }
  }
  MpiCluster(const MpiCluster&) = delete;
  MpiCluster& operator=(const MpiCluster&) = delete;

  /// Every rank waits (politely) for the others, then MPI ends.
  ~MpiCluster() override {
    MPI_Request r;
    MPI_Ibarrier(MPI_COMM_WORLD, &r);
    wait(r);
    if (workers_ != MPI_COMM_NULL) MPI_Comm_free(&workers_);
    MPI_Finalize();
  }

  /// Throws if the latency rank given cannot be one.
  void check(int given_latency_rank) const {
    EDGENAS_CHECK(latency_rank_ != disagreeing, Status::invalid_argument,
                  "--latency-rank %d here, another on other ranks: give every rank the same --latency-rank",
                  given_latency_rank);
    EDGENAS_CHECK(latency_rank_ != bad_rank, Status::invalid_argument,
                  "--latency-rank %d: the job has ranks 0..%d; rank 0 leads the search (journal, report), so the "
                  "device rank is one of 1..%d",
                  given_latency_rank, size_ - 1, size_ - 1);
  }

  /// Ends every rank of the job with `code` (after an error on any one of them).
  [[noreturn]] void abort(int code) const {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int latency_rank() const override { return latency_rank_ < 0 ? -1 : latency_rank_; }
  int worker() const override { return worker_; }
  int workers() const override { return worker_count_; }

  void sum_in_order(std::span<const std::span<const float>> mine, std::span<float> total) override {
    const int W = worker_count_, w = worker_;
    if (W == 1) return sum_shards_in_order(mine, total);
    const auto n = total.size();
    if (W == 2 && mine.size() == 1) {
      // Two shards: exchange them; s0 + s1 is the same bits on both (IEEE addition commutes).
      MPI_Request r[2];
      for_each_piece(n, large_piece, [&](std::size_t at, int count) {
        MPI_Irecv(total.data() + at, count, MPI_FLOAT, 1 - w, sum_tag, workers_, &r[0]);
        MPI_Isend(mine[0].data() + at, count, MPI_FLOAT, 1 - w, sum_tag, workers_, &r[1]);
        wait(r[0]);
        wait(r[1]);
      });
      for (std::size_t i = 0; i < n; ++i) total[i] += mine[0][i];
      return;
    }
    // A chain in pieces, so the workers overlap: worker w receives the running sum of the shards
    // before its own, adds its shards in order and passes it on; the last one broadcasts.
    std::vector<MPI_Request> sends;
    for_each_piece(n, chain_piece, [&](std::size_t at, int count) {
      float* acc = total.data() + at;
      if (w == 0) {
        std::copy_n(mine[0].data() + at, count, acc);
      } else {
        MPI_Request r;
        MPI_Irecv(acc, count, MPI_FLOAT, w - 1, sum_tag, workers_, &r);
        wait(r);
      }
      for (std::size_t k = w == 0 ? 1 : 0; k < mine.size(); ++k)
        for (int i = 0; i < count; ++i) acc[i] += mine[k][at + static_cast<std::size_t>(i)];
      if (w + 1 < W) {
        sends.emplace_back();
        MPI_Isend(acc, count, MPI_FLOAT, w + 1, sum_tag, workers_, &sends.back());
      }
    });
    for (MPI_Request& r : sends) wait(r);
    for_each_piece(n, chain_piece, [&](std::size_t at, int count) {
      MPI_Request r;
      MPI_Ibcast(total.data() + at, count, MPI_FLOAT, W - 1, workers_, &r);
      wait(r);
    });
  }

  std::vector<double> gather(std::span<const double> mine) override {
    const int count = static_cast<int>(mine.size());
    std::vector<int> counts(static_cast<std::size_t>(worker_count_)), offsets(counts.size());
    MPI_Request r;
    MPI_Iallgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, workers_, &r);
    wait(r);
    int total = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) offsets[i] = total, total += counts[i];
    std::vector<double> all(static_cast<std::size_t>(total));
    MPI_Iallgatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, workers_, &r);
    wait(r);
    return all;
  }

  void broadcast(std::string& bytes) override {
    std::uint64_t n = bytes.size();
    MPI_Request r;
    MPI_Ibcast(&n, 1, MPI_UINT64_T, 0, workers_, &r);
    wait(r);
    bytes.resize(n);
    for_each_piece(n, large_piece, [&](std::size_t at, int count) {
      MPI_Ibcast(bytes.data() + at, count, MPI_CHAR, 0, workers_, &r);
      wait(r);
    });
  }

  void send(int to, const std::string& bytes) override {
    EDGENAS_CHECK(bytes.size() < (std::size_t{1} << 31), Status::invalid_argument, "MpiCluster: a message of %zu bytes",
                  bytes.size());
    MPI_Request r;
    MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_CHAR, to, message_tag, MPI_COMM_WORLD, &r);
    wait(r);
  }

  std::string receive(int from) override {
    MPI_Status status;
    for (int flag = 0, spins = 0; !flag; ++spins) {
      MPI_Iprobe(from, message_tag, MPI_COMM_WORLD, &flag, &status);
      if (!flag) pause(spins);
    }
    int count = 0;
    MPI_Get_count(&status, MPI_CHAR, &count);
    std::string bytes(static_cast<std::size_t>(count), '\0');
    MPI_Recv(bytes.data(), count, MPI_CHAR, from, message_tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return bytes;
  }

 private:
  static constexpr int sum_tag = 11, message_tag = 12;
  static constexpr int bad_rank = -2, disagreeing = -3;  // latency ranks check() refuses

  // Spin briefly (a gradient exchange completes in microseconds), then sleep between polls.
  static void pause(int spins) {
    if (spins >= 64) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  static void wait(MPI_Request& request) {
    for (int done = 0, spins = 0;; ++spins) {
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (done) return;
      pause(spins);
    }
  }
  // MPI counts are ints: large buffers go in pieces. The chain of sum_in_order uses pieces of
  // 256 KiB, so that its workers overlap (R − 1 + P piece times instead of R − 1 buffer times).
  static constexpr std::size_t chain_piece = std::size_t{1} << 16, large_piece = std::size_t{1} << 28;
  template <class F>
  static void for_each_piece(std::size_t n, std::size_t piece, F&& f) {
    for (std::size_t at = 0; at < n; at += piece) f(at, static_cast<int>(std::min(piece, n - at)));
  }

  int rank_ = 0, size_ = 1, latency_rank_ = -1, worker_ = -1, worker_count_ = 0;
  MPI_Comm workers_ = MPI_COMM_NULL;
};

}  // namespace edgenas::distributed
