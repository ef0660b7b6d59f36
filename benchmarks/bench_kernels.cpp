// bench_kernels — edgenas's batch-1 depthwise kernel against XNNPACK's depthwise operator, both
// run as the runtime runs them (a one-layer xnnpack::Runtime: 64-byte-aligned arena, no
// activation so only the convolution is compared), for kernels 3, 5, 7 and strides 1, 2 at
// every depthwise width of the zoo networks and of the fmnist space, 1 thread, in one run. The
// table at the end lists edgenas / XNNPACK per shape (below 1: edgenas's kernel is faster).
//
// And how close XNNPACK's 1×1 convolutions (GEMMs) of MobileNetV2 run to this core's peak: each
// `pw/...` shape against a loop of independent vector FMAs doing the same number of
// multiply-adds (`/fma_peak`), in the same run. A ratio near 1 leaves nothing for another GEMM
// to win (docs/results.md, issue #10).
//
//   build/release/benchmarks/bench_kernels --benchmark_min_time=0.1 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <cmath>
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

// ---- 1×1 convolutions against the FMA peak ---------------------------------------------------

// MobileNetV2's 1×1 convolutions at 224×224 (pixels side, input and output channels; relu6 on
// expansions, linear on projections).
struct Pointwise {
  int side, in, out;
  bool relu6;
};
constexpr Pointwise mobilenet_v2_pointwise[] = {
    {112, 32, 16, false}, {112, 16, 96, true},  {56, 96, 24, false},  {56, 24, 144, true},  {56, 144, 24, false},
    {28, 144, 32, false}, {28, 32, 192, true},  {28, 192, 32, false}, {14, 192, 64, false}, {14, 64, 384, true},
    {14, 384, 64, false}, {14, 384, 96, false}, {14, 96, 576, true},  {14, 576, 96, false}, {7, 576, 160, false},
    {7, 160, 960, true},  {7, 960, 160, false}, {7, 960, 320, false}, {7, 320, 1280, true},
};

double pointwise_macs(const Pointwise& p) { return static_cast<double>(p.side) * p.side * p.in * p.out; }

void pointwise_xnnpack(benchmark::State& state, Pointwise p) {
  edgenas::Rng rng(5);
  std::vector<float> weights(static_cast<std::size_t>(p.in) * p.out), bias(static_cast<std::size_t>(p.out));
  std::vector<float> input(static_cast<std::size_t>(p.side) * p.side * p.in), output(input.size() / p.in * p.out);
  for (auto* v : {&weights, &bias, &input})
    for (float& x : *v) x = rng.uniform(-0.5f, 0.5f);
  xnn_operator_t op = nullptr;
  const float lo = p.relu6 ? 0.0f : -INFINITY, hi = p.relu6 ? 6.0f : INFINITY;
  if (xnn_initialize(nullptr) != xnn_status_success ||
      xnn_create_convolution2d_nhwc_f32(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, static_cast<std::size_t>(p.in),
                                        static_cast<std::size_t>(p.out), static_cast<std::size_t>(p.in),
                                        static_cast<std::size_t>(p.out), weights.data(), bias.data(), lo, hi, 0,
                                        &op) != xnn_status_success ||
      xnn_setup_convolution2d_nhwc_f32(op, 1, static_cast<std::size_t>(p.side), static_cast<std::size_t>(p.side),
                                       input.data(), output.data(), nullptr) != xnn_status_success) {
    state.SkipWithError("XNNPACK refused the 1x1 convolution");
    if (op != nullptr) xnn_delete_operator(op);  // created, then refused at setup
    return;
  }
  for (auto _ : state) xnn_run_operator(op, nullptr);
  xnn_delete_operator(op);
  state.counters["GMAC/s"] =
      benchmark::Counter(pointwise_macs(p) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Twelve independent accumulator vectors (more than FMA latency × issue width on the cores we
// know), the widest vectors the build targets; each step one FMA per accumulator.
#if defined(__AVX512F__)
#include <immintrin.h>
using FmaVector = __m512;
inline FmaVector fma_splat(float x) { return _mm512_set1_ps(x); }
inline FmaVector fma_step(FmaVector acc, FmaVector a, FmaVector b) { return _mm512_fmadd_ps(acc, a, b); }
inline float fma_sum(FmaVector v) { return _mm512_reduce_add_ps(v); }
constexpr int fma_lanes = 16;
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
using FmaVector = __m256;
inline FmaVector fma_splat(float x) { return _mm256_set1_ps(x); }
inline FmaVector fma_step(FmaVector acc, FmaVector a, FmaVector b) { return _mm256_fmadd_ps(acc, a, b); }
inline float fma_sum(FmaVector v) {
  alignas(32) float f[8];
  _mm256_store_ps(f, v);
  return f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
}
constexpr int fma_lanes = 8;
#elif defined(__aarch64__)  // (armhf lacks vaddvq_f32 and may lack vfmaq_f32: scalar below)
#include <arm_neon.h>
using FmaVector = float32x4_t;
inline FmaVector fma_splat(float x) { return vdupq_n_f32(x); }
inline FmaVector fma_step(FmaVector acc, FmaVector a, FmaVector b) { return vfmaq_f32(b, acc, a); }
inline float fma_sum(FmaVector v) { return vaddvq_f32(v); }
constexpr int fma_lanes = 4;
#else
using FmaVector = float;
inline FmaVector fma_splat(float x) { return x; }
inline FmaVector fma_step(FmaVector acc, FmaVector a, FmaVector b) { return std::fma(acc, a, b); }
inline float fma_sum(FmaVector v) { return v; }
constexpr int fma_lanes = 1;
#endif

void fma_peak(benchmark::State& state, double macs) {
  constexpr int accumulators = 12;
  const auto steps = static_cast<std::int64_t>(std::ceil(macs / (accumulators * fma_lanes)));
  FmaVector acc[accumulators];
  for (int i = 0; i < accumulators; ++i) acc[i] = fma_splat(0.001f * static_cast<float>(i));
  const FmaVector a = fma_splat(0.9999f), b = fma_splat(1e-4f);
  for (auto _ : state) {
    // Rounding after every step keeps the compiler from folding steps (no -ffast-math here).
    for (std::int64_t s = 0; s < steps; ++s)
      for (int i = 0; i < accumulators; ++i) acc[i] = fma_step(acc[i], a, b);
  }
  float sum = 0;
  for (int i = 0; i < accumulators; ++i) sum += fma_sum(acc[i]);
  benchmark::DoNotOptimize(sum);
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(steps) * accumulators * fma_lanes * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (const Pointwise& p : mobilenet_v2_pointwise) {
    const std::string name = "pw/mobilenet_v2/" + std::to_string(p.side) + "x" + std::to_string(p.side) + "_" +
                             std::to_string(p.in) + "to" + std::to_string(p.out);
    benchmark::RegisterBenchmark((name + "/xnnpack").c_str(), pointwise_xnnpack, p)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((name + "/fma_peak").c_str(), fma_peak, pointwise_macs(p))
        ->Unit(benchmark::kMicrosecond);
  }
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
  RatioReporter reporter({
      {{"/edgenas"},
       {"/xnnpack"},
       "time ratio edgenas's depthwise kernel / XNNPACK's depthwise operator (1 thread, batch 1, same run):"},
      {{"/xnnpack"},
       {"/fma_peak"},
       "time ratio XNNPACK's 1x1 convolution / the same multiply-adds at this core's FMA peak (1 = at peak):"},
  });
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
