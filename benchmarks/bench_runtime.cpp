// bench_runtime — the XNNPACK runtime and the latency predictor.
//
//  * zoo/…: MobileNetV2-1.0, MobileNetV3-Small and -Large (224×224, batch 1) through edgenas's
//    runtime on 1 and 2 threads (edgenas: the per-layer plan measured here, XNNPACK or
//    edgenas's depthwise kernel per layer; edgenas_xnnpack_only: XNNPACK everywhere), next to a
//    plain hand-written XNNPACK subgraph of the same network (baseline/xnnpack_mobilenet.hpp,
//    no edgenas code) on 1 thread, in one run;
//  * twin/…: the all-7×7 Fashion-MNIST network of issue #10 and its 5×5 twin;
//  * zoo/…/edgenas_int8: the same networks int8 (TFLite scheme, XNNPACK qint8/qcint8 with the
//    h-swish lookups between segments), next to their fp32 runs;
//  * block/…: single MBConv blocks at MobileNet shapes (Args: H, C_in, expanded, C_out,
//    kernel, stride, SE), as XNNPACK's bench/subgraph/depthwise-separable.cc does;
//  * predictor/…: latency predictions per second over random genotypes of both spaces;
//  * breakdown/{fp32,int8}/…: every piece (stem, each block, head) of one network on its own,
//    next to the whole network, in both precisions — which blocks dominate and where int8 gains
//    or loses. MobileNetV3-Small unless EDGENAS_BREAKDOWN_GENOTYPE names a zoo network
//    (mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large) or holds a genotype in text form.
//
//   build/release/benchmarks/bench_runtime --benchmark_min_time=2 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include <edgenas/core/rng.hpp>
#include <edgenas/latency/table.hpp>
#include <edgenas/runtime/xnnpack.hpp>
#include <edgenas/runtime/xnnpack/int8_runtime.hpp>
#include <edgenas/zoo.hpp>

#include "baseline/xnnpack_mobilenet.hpp"
#include "ratio_reporter.hpp"

namespace {

// A network through edgenas's runtime: the per-layer plan measured on this device (before
// timing starts), or XNNPACK for every layer.
void run_network(benchmark::State& state, const edgenas::Genotype& g, edgenas::xnnpack::PlanMode mode) {
  std::vector<float> weights(static_cast<std::size_t>(edgenas::inference_weight_count(g.view())));
  edgenas::Rng rng(1);
  for (float& w : weights) w = rng.uniform(-0.1f, 0.1f);
  edgenas::xnnpack::Runtime runtime(g, weights, static_cast<int>(state.range(0)), 1, mode);
  for (std::int64_t i = 0; i < runtime.input().size(); ++i) runtime.input().data()[i] = rng.uniform(-1.0f, 1.0f);
  for (auto _ : state) runtime.invoke();
  int own = 0;
  for (const auto& s : runtime.steps()) own += s.implementation == edgenas::xnnpack::Implementation::edgenas;
  state.counters["own_layers"] = own;
}

template <typename Net>
void edgenas_runtime(benchmark::State& state) {
  run_network(state, edgenas::genotype_of<Net>(), edgenas::xnnpack::PlanMode::measured);
}
template <typename Net>
void edgenas_xnnpack_only(benchmark::State& state) {
  run_network(state, edgenas::genotype_of<Net>(), edgenas::xnnpack::PlanMode::xnnpack);
}

// The all-7×7 Fashion-MNIST network and its 5×5 twin (a fifth fewer MACs).
void twin(benchmark::State& state, int kernel, edgenas::xnnpack::PlanMode mode) {
  const std::string k = std::to_string(kernel);
  const std::string text = "in:28x28x1 stem:16:k3:s1:hswish mb:16:e6:k" + k + ":s1:hswish mb:24:e6:k" + k +
                           ":s2:hswish mb:40:e6:k" + k + ":s2:hswish mb:80:e6:k" + k +
                           ":s1:hswish head:128:hswish fc:10";
  run_network(state, edgenas::parse_genotype(text), mode);
}

template <typename Net>
void edgenas_runtime_int8(benchmark::State& state) {
  const edgenas::Genotype g = edgenas::genotype_of<Net>();
  edgenas::xnnpack::Int8Runtime runtime(edgenas::xnnpack::random_int8_model(g, 1), static_cast<int>(state.range(0)));
  edgenas::Rng rng(1);
  for (std::int8_t& x : runtime.input()) x = static_cast<std::int8_t>(rng.between(-128, 127));
  for (auto _ : state) runtime.invoke();
  state.counters["segments"] = runtime.segment_count();
}

void baseline_runtime(benchmark::State& state, baseline::Model (*model)()) {
  baseline::Network net(model());
  for (auto _ : state) net.run();
}

// One MBConv block: Args {H, C_in, expanded, C_out, kernel, stride, SE}.
void block(benchmark::State& state) {
  const int h = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1));
  const edgenas::BlockGene b{static_cast<int>(state.range(3)), static_cast<int>(state.range(2)),
                             static_cast<int>(state.range(4)), static_cast<int>(state.range(5)), state.range(6) != 0,
                             edgenas::Activation::hswish};
  const edgenas::Genotype g = edgenas::genotype_of<edgenas::zoo::MobileNetV3Small>();
  const edgenas::xnnpack::Piece piece{edgenas::xnnpack::Piece::Kind::block, {1, h, h, in}, b};
  std::vector<float> weights(static_cast<std::size_t>(edgenas::xnnpack::piece_weight_count(g, piece)), 0.01f);
  edgenas::xnnpack::Runtime runtime(g, piece, weights, 1);
  for (auto _ : state) runtime.invoke();
  const edgenas::BlockShapes shapes{{1, h, h, in}, {1, h, h, b.expanded}, runtime.output().shape()};
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(edgenas::block_macs(b, shapes)),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// Predictions per second from a table holding every piece of the space (values arbitrary:
// only the lookup cost is measured).
void predictor(benchmark::State& state, edgenas::SearchSpace (*space)()) {
  const edgenas::SearchSpace s = space();
  edgenas::latency::Table table;
  for (const auto& job : edgenas::latency::space_pieces(s)) table.entries[job.piece.key].median_ms = 0.1;
  table.index();
  edgenas::Rng rng(1);
  std::vector<edgenas::Genotype> nets;
  for (int i = 0; i < 256; ++i) nets.push_back(s.sample(rng));
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(table.predict_ms(nets[i++ & 255]));
  state.counters["predictions/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK_TEMPLATE(edgenas_runtime, edgenas::zoo::MobileNetV2)->Name("zoo/mobilenet_v2/edgenas")->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_runtime, edgenas::zoo::MobileNetV3Small)->Name("zoo/mobilenet_v3_small/edgenas")->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_runtime, edgenas::zoo::MobileNetV3Large)->Name("zoo/mobilenet_v3_large/edgenas")->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_runtime_int8, edgenas::zoo::MobileNetV2)->Name("zoo/mobilenet_v2/edgenas_int8")->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_runtime_int8, edgenas::zoo::MobileNetV3Small)->Name("zoo/mobilenet_v3_small/edgenas_int8")->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_runtime_int8, edgenas::zoo::MobileNetV3Large)->Name("zoo/mobilenet_v3_large/edgenas_int8")->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_xnnpack_only, edgenas::zoo::MobileNetV2)
    ->Name("zoo/mobilenet_v2/edgenas_xnnpack_only")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_xnnpack_only, edgenas::zoo::MobileNetV3Small)
    ->Name("zoo/mobilenet_v3_small/edgenas_xnnpack_only")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(edgenas_xnnpack_only, edgenas::zoo::MobileNetV3Large)
    ->Name("zoo/mobilenet_v3_large/edgenas_xnnpack_only")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(twin, k7, 7, edgenas::xnnpack::PlanMode::measured)
    ->Name("twin/k7/edgenas")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(twin, k5, 5, edgenas::xnnpack::PlanMode::measured)
    ->Name("twin/k5/edgenas")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(twin, k7x, 7, edgenas::xnnpack::PlanMode::xnnpack)
    ->Name("twin/k7/edgenas_xnnpack_only")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(twin, k5x, 5, edgenas::xnnpack::PlanMode::xnnpack)
    ->Name("twin/k5/edgenas_xnnpack_only")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(baseline_runtime, v2, baseline::mobilenet_v2)->Name("zoo/mobilenet_v2/baseline")->ArgName("threads")->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(baseline_runtime, v3s, baseline::mobilenet_v3_small)->Name("zoo/mobilenet_v3_small/baseline")->ArgName("threads")->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(baseline_runtime, v3l, baseline::mobilenet_v3_large)->Name("zoo/mobilenet_v3_large/baseline")->ArgName("threads")->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(block)
    ->ArgNames({"H", "Cin", "Cexp", "Cout", "k", "s", "se"})
    ->Args({112, 16, 64, 24, 3, 2, 0})
    ->Args({56, 24, 72, 24, 3, 1, 0})
    ->Args({56, 24, 72, 40, 5, 2, 1})
    ->Args({28, 40, 240, 80, 3, 2, 0})
    ->Args({14, 80, 480, 112, 3, 1, 1})
    ->Args({14, 112, 672, 160, 5, 2, 1})
    ->Args({7, 160, 960, 160, 5, 1, 1})
    ->Args({28, 16, 64, 24, 3, 2, 1})
    ->Args({14, 24, 96, 40, 5, 2, 1})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(predictor, fmnist, edgenas::spaces::fmnist)->Name("predictor/fmnist");
BENCHMARK_CAPTURE(predictor, mobilenetv3, edgenas::spaces::mobilenetv3)->Name("predictor/mobilenetv3");

// The network the breakdown looks at: EDGENAS_BREAKDOWN_GENOTYPE, a zoo name or a genotype in
// text form; MobileNetV3-Small when unset.
edgenas::Genotype breakdown_genotype() {
  const char* text = std::getenv("EDGENAS_BREAKDOWN_GENOTYPE");
  const std::string name = text ? text : "";
  if (name.empty() || name == "mobilenet_v3_small") return edgenas::genotype_of<edgenas::zoo::MobileNetV3Small>();
  if (name == "mobilenet_v2") return edgenas::genotype_of<edgenas::zoo::MobileNetV2>();
  if (name == "mobilenet_v3_large") return edgenas::genotype_of<edgenas::zoo::MobileNetV3Large>();
  return edgenas::parse_genotype(name);
}

// Registers breakdown/fp32/<i> <piece key> and breakdown/int8/<i> <piece key> for every piece
// of the network, plus the whole network in both precisions: which blocks dominate, and
// where int8 gains or loses against fp32.
void register_breakdown() {
  const edgenas::Genotype g = breakdown_genotype();
  const auto pieces = edgenas::latency::pieces_of(g);
  const auto add = [&](const std::string& label, edgenas::xnnpack::Piece piece) {
    benchmark::RegisterBenchmark(("breakdown/fp32/" + label).c_str(), [g, piece](benchmark::State& state) {
      std::vector<float> weights(static_cast<std::size_t>(edgenas::xnnpack::piece_weight_count(g, piece)), 0.01f);
      edgenas::xnnpack::Runtime runtime(g, piece, weights, 1);
      for (auto _ : state) runtime.invoke();
    })->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("breakdown/int8/" + label).c_str(), [g, piece](benchmark::State& state) {
      const edgenas::xnnpack::Int8Piece p = edgenas::xnnpack::int8_piece(g, piece);
      edgenas::xnnpack::Int8Runtime runtime(edgenas::xnnpack::random_int8_model(p.genotype, 7), 1, 1,
                                            edgenas::xnnpack::Segmentation::fused, p.ops);
      for (auto _ : state) runtime.invoke();
      state.counters["segments"] = runtime.segment_count();
    })->Unit(benchmark::kMicrosecond);
  };
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    char label[256];
    std::snprintf(label, sizeof label, "%02zu %s", i, pieces[i].key.c_str());
    add(label, pieces[i].piece);
  }
  add("whole network", {});
}

int main(int argc, char** argv) {
  register_breakdown();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(
      {{{"/edgenas/"},
        {"/baseline/"},
        "time ratio edgenas runtime (per-layer plan) / hand-written XNNPACK (batch 1, same run):"},
       {{"/edgenas_xnnpack_only/"},
        {"/baseline/"},
        "time ratio edgenas runtime with XNNPACK for every layer / hand-written XNNPACK (same run):"},
       {{"zoo/mobilenet_v3_small/edgenas/threads:2"},
        {"zoo/mobilenet_v3_small/edgenas/threads:1"},
        "time ratio 2 threads / 1 thread, MobileNetV3-Small, per-layer plan (same run):"},
       {{"twin/k7/"}, {"twin/k5/"}, "time ratio all-7x7 network / its 5x5 twin (1 thread, same run):"},
       {{"/edgenas_int8/", "breakdown/int8/"},
        {"/edgenas/", "breakdown/fp32/"},
        "time ratio int8 / fp32, both through XNNPACK (batch 1, same run):"}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
