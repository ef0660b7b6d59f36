// bench_train — training throughput of the Fashion-MNIST reference network: images per second
// of forward + backward + SGD step at batch 128, on 1 and 2 threads, on real Fashion-MNIST
// batches (steady state: buffers allocated by a warm-up step).
//
//   build/release/benchmarks/bench_train --benchmark_min_time=2
//
// The PyTorch peer (benchmarks/peers/pytorch_reference_net.py) measures the same network.
#include <benchmark/benchmark.h>

#include <edgenas/data.hpp>
#include <edgenas/train.hpp>
#include <edgenas/zoo.hpp>
#include <vector>

using namespace edgenas;

namespace {

void train_step(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  set_num_threads(threads);
  static const data::Dataset images = data::head(data::load_fashion_mnist(data::Split::train), 4096);
  const data::Normalization norm = data::compute_normalization(images);
  train::Network net(genotype_of<zoo::FashionReference>(), 1);
  train::Optimizer opt(net.parameters(), {});
  data::BatchLoader loader(images, batch, norm);
  const auto order = loader.order(1, 0, true);
  Tensor x, dlogits;
  std::vector<std::int32_t> labels;
  std::size_t b = 0;
  auto step = [&] {
    loader.fill(order, b, {2, true}, 1, 0, x, labels);
    b = (b + 1) % loader.batches(true);
    net.zero_grad();
    const ConstTensorView logits = net.forward(x, true);
    if (dlogits.shape() != logits.shape()) dlogits.resize(logits.shape());
    benchmark::DoNotOptimize(ops::softmax_cross_entropy(logits, labels, 0.1f, dlogits));
    net.backward(dlogits);
    opt.step(0.01f);
  };
  for (int i = 0; i < 3; ++i) step();  // allocate every buffer (and settle the activation workspace)
  for (auto _ : state) step();
  state.counters["img/s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

// What a search spends its supernet time on: sandwich steps of the fmnist supernet (largest,
// smallest and two random sub-networks per step) at batch 128, 10 steps per iteration.
void supernet_steps(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  static const data::Dataset images = data::head(data::load_fashion_mnist(data::Split::train), 1280);
  const data::Normalization norm = data::compute_normalization(images);
  train::Supernet supernet(spaces::fmnist(), 1);
  train::SupernetConfig config;
  config.epochs = 1'000'000;
  config.batch_size = 128;
  config.augmentation = {2, true};
  train::SupernetTrainer trainer(supernet, images, norm, config);
  trainer.train_epoch();  // build the cached networks and allocate every buffer
  for (auto _ : state) trainer.train_epoch();
  state.counters["steps/s"] = benchmark::Counter(10.0, benchmark::Counter::kIsIterationInvariantRate);
}

// Memory bandwidth the trainer's threads get: y = 0.5·y + x over two 64 MB arrays split like
// the kernels' rows. On the 2-vCPU VM one thread already takes (nearly) all of it, which is why
// the kernels avoid passes over memory rather than adding threads (ops/fused_backward.hpp).
void stream_triad(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  const std::int64_t n = std::int64_t{1} << 24;
  static std::vector<float> x(static_cast<std::size_t>(n), 1.0f), y(static_cast<std::size_t>(n), 2.0f);
  for (auto _ : state) {
    parallel_for(n, [&](int, std::int64_t first, std::int64_t last) {
      for (std::int64_t i = first; i < last; ++i)
        y[static_cast<std::size_t>(i)] = 0.5f * y[static_cast<std::size_t>(i)] + x[static_cast<std::size_t>(i)];
    });
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter(3.0 * 4.0 * static_cast<double>(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(stream_triad)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(train_step)
    ->ArgNames({"threads", "batch"})
    ->Args({1, 128})
    ->Args({2, 128})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(supernet_steps)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
