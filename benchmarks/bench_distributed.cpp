// Data-parallel supernet training on MPI, side by side in one run (docs/distributed.md):
//
//   mpirun -n 2 --bind-to none build/mpi/benchmarks/bench_distributed
//       --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true   (one line)
//
// An epoch of the fmnist supernet (the presets' space: sandwich steps of batch 128 over 1 280
// Fashion-MNIST images) with 1 rank x 1 thread, 2 ranks x 1 thread (2 shards of 64) and 1 rank
// x 2 threads, plus the all-reduce of its gradients alone (what the scaling model needs). Rank 0
// runs Google Benchmark; rank 1 joins the 2-rank benchmarks on command and sleeps otherwise.
#include <benchmark/benchmark.h>

#include <edgenas/data.hpp>
#include <edgenas/distributed/mpi.hpp>
#include <edgenas/train/supernet_trainer.hpp>
#include <memory>

#include "ratio_reporter.hpp"

using namespace edgenas;

namespace {

distributed::MpiCluster* cluster = nullptr;
constexpr std::size_t epoch_images = 1280;

const data::Dataset& images() {
  static const data::Dataset d = data::head(data::load_fashion_mnist(data::Split::train), epoch_images);
  return d;
}

// A trainer of its own supernet (same seed everywhere), alive for the whole run.
struct Training {
  train::Supernet supernet{spaces::fmnist(), 1};
  std::unique_ptr<train::SupernetTrainer> trainer;
  explicit Training(bool distributed) {
    train::SupernetConfig c;
    c.epochs = 1'000'000;
    c.batch_size = 128;
    c.augmentation = {2, true};
    c.shards = distributed ? 2 : 1;
    c.collective = distributed ? cluster : nullptr;
    trainer = std::make_unique<train::SupernetTrainer>(supernet, images(), data::compute_normalization(images()), c);
  }
};

Training& distributed_training() {
  static Training t(true);
  return t;
}

Training& alone_training() {
  static Training t(false);
  return t;
}

// Rank 0 tells rank 1 what to do next: "epoch" (train one with me), "reduce" or "quit".
void command(const std::string& what) { cluster->send(1, what); }

void supernet_epoch(benchmark::State& state) {
  const int ranks = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1));
  set_num_threads(threads);
  Training& t = ranks == 2 ? distributed_training() : alone_training();
  for (auto _ : state) {
    if (ranks == 2) command("epoch");
    t.trainer->train_epoch();
  }
  state.counters["img/s"] = benchmark::Counter(static_cast<double>(epoch_images), benchmark::Counter::kIsIterationInvariantRate);
}

// The gradient all-reduce of one step on its own: the supernet's weights, summed in shard order.
void gradient_allreduce(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(distributed_training().supernet.parameter_count());
  std::vector<float> mine(n, 1.0f), total(n);
  const std::vector<std::span<const float>> shards{mine};
  for (auto _ : state) {
    command("reduce");
    cluster->sum_in_order(shards, total);
  }
  state.counters["MB"] = static_cast<double>(n * sizeof(float)) / 1e6;
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(n * sizeof(float)) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void serve_rank0() {
  for (;;) {
    const std::string what = cluster->receive(0);
    if (what == "quit") return;
    set_num_threads(1);
    if (what == "epoch") distributed_training().trainer->train_epoch();
    if (what == "reduce") {
      const std::size_t n = static_cast<std::size_t>(distributed_training().supernet.parameter_count());
      static std::vector<float> mine(n, 2.0f), total(n);
      const std::vector<std::span<const float>> shards{mine};
      cluster->sum_in_order(shards, total);
    }
  }
}

}  // namespace

BENCHMARK(supernet_epoch)
    ->ArgNames({"ranks", "threads"})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({1, 2})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(gradient_allreduce)->UseRealTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  distributed::MpiCluster mpi;
  cluster = &mpi;
  if (mpi.size() != 2) {
    if (mpi.rank() == 0) std::fprintf(stderr, "bench_distributed: run it with mpirun -n 2 (this job has %d ranks)\n", mpi.size());
    return 1;
  }
  // Both ranks build their 2-rank trainer, and every trainer trains an untimed epoch first
  // (it builds its cached networks and buffers then).
  set_num_threads(1);
  distributed_training().trainer->train_epoch();
  if (mpi.rank() == 1) {
    serve_rank0();
    return 0;
  }
  alone_training().trainer->train_epoch();
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter({RatioComparison{{"ranks:2/threads:1"}, {"ranks:1/threads:1"},
                                          "2 ranks x 1 thread / 1 rank x 1 thread, time per epoch (1.6x throughput = 0.625)"},
                          RatioComparison{{"ranks:1/threads:2"}, {"ranks:1/threads:1"},
                                          "1 rank x 2 threads / 1 rank x 1 thread, time per epoch"}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  command("quit");
  return 0;
}
