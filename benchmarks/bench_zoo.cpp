// bench_zoo — MobileNetV2-1.0, MobileNetV3-Small and MobileNetV3-Large (224×224, batch 1,
// 1 thread) through edgenas's XNNPACK runtime, next to a plain hand-written XNNPACK subgraph of
// the same network (baseline/xnnpack_mobilenet.hpp, no edgenas code), in one run.
//
//   build/release/benchmarks/bench_zoo --benchmark_min_time=2 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>

#include <edgenas/core/rng.hpp>
#include <edgenas/runtime/xnnpack.hpp>
#include <edgenas/zoo.hpp>

#include "baseline/xnnpack_mobilenet.hpp"
#include "ratio_reporter.hpp"

namespace {

template <typename Net>
void edgenas_runtime(benchmark::State& state) {
  const edgenas::Genotype g = edgenas::genotype_of<Net>();
  std::vector<float> weights(static_cast<std::size_t>(edgenas::inference_weight_count(g.view())));
  edgenas::Rng rng(1);
  for (float& w : weights) w = rng.uniform(-0.1f, 0.1f);
  edgenas::xnnpack::Runtime runtime(g, weights, /*threads*/ 1);
  for (std::int64_t i = 0; i < runtime.input().size(); ++i) runtime.input().data()[i] = rng.uniform(-1.0f, 1.0f);
  for (auto _ : state) runtime.invoke();
}

void baseline_runtime(benchmark::State& state, baseline::Model (*model)()) {
  baseline::Network net(model());
  for (auto _ : state) net.run();
}

}  // namespace

BENCHMARK_TEMPLATE(edgenas_runtime, edgenas::zoo::MobileNetV2)->Name("edgenas/mobilenet_v2")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_runtime, edgenas::zoo::MobileNetV3Small)->Name("edgenas/mobilenet_v3_small")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_runtime, edgenas::zoo::MobileNetV3Large)->Name("edgenas/mobilenet_v3_large")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(baseline_runtime, v2, baseline::mobilenet_v2)->Name("baseline/mobilenet_v2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(baseline_runtime, v3s, baseline::mobilenet_v3_small)->Name("baseline/mobilenet_v3_small")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(baseline_runtime, v3l, baseline::mobilenet_v3_large)->Name("baseline/mobilenet_v3_large")->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter({"edgenas"}, {"baseline"}, "time ratio edgenas runtime / hand-written XNNPACK (1 thread, batch 1, same run):");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
