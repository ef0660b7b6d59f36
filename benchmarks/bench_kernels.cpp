// bench_kernels — edgenas's batch-1 depthwise kernel against XNNPACK's depthwise operator, both
// run as the runtime runs them (a one-layer xnnpack::Runtime: 64-byte-aligned arena, no
// activation so only the convolution is compared), for kernels 3, 5, 7 and strides 1, 2 at
// every depthwise width of the zoo networks and of the fmnist space, 1 thread, in one run. The
// table at the end lists edgenas / XNNPACK per shape (below 1: edgenas's kernel is faster).
//
//   build/release/benchmarks/bench_kernels --benchmark_min_time=0.1 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>

#include <edgenas/core/rng.hpp>
#include <edgenas/runtime/xnnpack.hpp>
#include <string>

#include "ratio_reporter.hpp"

namespace {

using edgenas::xnnpack::PlanMode;

// Feature maps (side × channels) that meet a depthwise layer: MobileNetV2, MobileNetV3-Small and
// -Large at 224×224, then the fmnist space (28×28 input, expansions 1–6 of 16–80 channels).
struct Map {
  const char* origin;
  int side, channels;
};
constexpr Map maps[] = {
    {"zoo", 112, 16},   {"zoo", 112, 32},   {"zoo", 112, 96},    {"zoo", 56, 72},   {"zoo", 56, 144},
    {"zoo", 28, 88},    {"zoo", 28, 192},   {"zoo", 28, 240},    {"zoo", 14, 200},  {"zoo", 14, 384},
    {"zoo", 14, 576},   {"zoo", 14, 672},   {"zoo", 7, 576},     {"zoo", 7, 960},   {"fmnist", 28, 16},
    {"fmnist", 28, 96}, {"fmnist", 14, 24}, {"fmnist", 14, 144}, {"fmnist", 7, 40}, {"fmnist", 7, 480},
};

void depthwise(benchmark::State& state, Map m, int kernel, int stride, PlanMode mode) {
  edgenas::Genotype holder;
  holder.input = {1, m.side, m.side, 1};
  edgenas::xnnpack::Piece piece{edgenas::xnnpack::Piece::Kind::depthwise, {1, m.side, m.side, m.channels}, {}};
  piece.block = {m.channels, m.channels, kernel, stride, false, edgenas::Activation::identity};
  std::vector<float> weights(static_cast<std::size_t>(edgenas::xnnpack::piece_weight_count(holder, piece)));
  edgenas::Rng rng(3);
  for (float& w : weights) w = rng.uniform(-0.5f, 0.5f);
  edgenas::xnnpack::Runtime runtime(holder, piece, weights, 1, 1, mode);
  for (std::int64_t i = 0; i < runtime.input().size(); ++i) runtime.input().data()[i] = rng.uniform(-1.0f, 1.0f);
  for (auto _ : state) runtime.invoke();
  const double macs = static_cast<double>(runtime.output().shape().size()) * kernel * kernel;
  state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (const Map& m : maps)
    for (int kernel : {3, 5, 7})
      for (int stride : {1, 2}) {
        const std::string name = std::string("dw/") + m.origin + "/" + std::to_string(m.side) + "x" +
                                 std::to_string(m.side) + "x" + std::to_string(m.channels) + "_k" +
                                 std::to_string(kernel) + "s" + std::to_string(stride);
        for (const auto& [mode, label] :
             {std::pair{PlanMode::edgenas, "/edgenas"}, std::pair{PlanMode::xnnpack, "/xnnpack"}})
          benchmark::RegisterBenchmark((name + label).c_str(), depthwise, m, kernel, stride, mode)
              ->Unit(benchmark::kMicrosecond);
      }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(
      {"/edgenas"}, {"/xnnpack"},
      "time ratio edgenas's depthwise kernel / XNNPACK's depthwise operator (1 thread, batch 1, same run):");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
