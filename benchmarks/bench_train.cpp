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
  step();  // allocate every buffer
  for (auto _ : state) step();
  state.counters["img/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(train_step)->ArgNames({"threads", "batch"})->Args({1, 128})->Args({2, 128})->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
