// bench_ops — the trainer's depthwise and pointwise kernels (forward and backward) next to
// XNNPACK's inference operators on the same shapes, in one binary and one run, so the ratio
// edgenas / XNNPACK is measured side by side. Each benchmark reports GFLOP/s (2 FLOPs per MAC).
// At the end a table lists, per shape, how many times longer edgenas's forward takes than
// XNNPACK's (1 thread, batch 1 for both).
//
//   build/release/benchmarks/bench_ops --benchmark_min_time=0.2 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>
#include <edgenas/core/rng.hpp>
#include <edgenas/ops.hpp>

#include "ratio_reporter.hpp"
#include <limits>
#include <string>
#include <vector>

using namespace edgenas;

namespace {

struct DepthwiseShape {
  const char* origin;
  int h, w, c, kernel, stride;
};
struct PointwiseShape {
  const char* origin;
  int h, w, in_c, out_c;
};

// MobileNet shapes from the issue, then the Fashion-MNIST search space's.
const DepthwiseShape depthwise_shapes[] = {
    {"mobilenet", 112, 112, 32, 3, 1}, {"mobilenet", 56, 56, 144, 3, 2}, {"mobilenet", 14, 14, 480, 5, 1},
    {"fmnist", 28, 28, 64, 3, 1},      {"fmnist", 14, 14, 96, 5, 1},
};
const PointwiseShape pointwise_shapes[] = {
    {"mobilenet", 56, 56, 24, 144}, {"mobilenet", 14, 14, 480, 80}, {"mobilenet", 7, 7, 960, 160},
    {"fmnist", 28, 28, 16, 64},     {"fmnist", 14, 14, 96, 24},
};

std::string name(const DepthwiseShape& s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c) + "_k" + std::to_string(s.kernel) +
         "s" + std::to_string(s.stride);
}
std::string name(const PointwiseShape& s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.in_c) + "to" + std::to_string(s.out_c);
}

std::vector<float> random_values(std::size_t n, Rng& rng) {
  std::vector<float> v(n + XNN_EXTRA_BYTES / sizeof(float));  // XNNPACK may read past the end
  for (auto& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

void set_gflops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

double depthwise_flops(const DepthwiseShape& s, int batch) {
  return 2.0 * batch * same_output_extent(s.h, s.stride) * same_output_extent(s.w, s.stride) * s.c * s.kernel * s.kernel;
}
double pointwise_flops(const PointwiseShape& s, int batch) { return 2.0 * batch * s.h * s.w * s.in_c * s.out_c; }

void depthwise_forward(benchmark::State& state, DepthwiseShape s, int batch, int threads) {
  set_num_threads(threads);
  Rng rng(1);
  Tensor x({batch, s.h, s.w, s.c});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(-1.0f, 1.0f);
  const auto w = random_values(static_cast<std::size_t>(s.kernel * s.kernel * s.c), rng);
  const auto b = random_values(static_cast<std::size_t>(s.c), rng);
  Tensor y(same_window_output(x.shape(), s.stride, s.c));
  const std::span<const float> ws(w.data(), static_cast<std::size_t>(s.kernel * s.kernel * s.c)),
      bs(b.data(), static_cast<std::size_t>(s.c));
  for (auto _ : state) {
    ops::depthwise_forward(x, ws, bs, s.kernel, s.stride, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, depthwise_flops(s, batch));
}

// Backward = input gradient + weight and bias gradients: twice the forward's MACs.
void depthwise_backward(benchmark::State& state, DepthwiseShape s, int batch, int threads) {
  set_num_threads(threads);
  Rng rng(2);
  Tensor x({batch, s.h, s.w, s.c}), dx(x.shape());
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(-1.0f, 1.0f);
  Tensor dy(same_window_output(x.shape(), s.stride, s.c));
  for (std::int64_t i = 0; i < dy.size(); ++i) dy[i] = rng.uniform(-1.0f, 1.0f);
  const auto w = random_values(static_cast<std::size_t>(s.kernel * s.kernel * s.c), rng);
  std::vector<float> dw(static_cast<std::size_t>(s.kernel * s.kernel * s.c)), db(static_cast<std::size_t>(s.c));
  for (auto _ : state) {
    ops::depthwise_backward(x, std::span<const float>(w.data(), dw.size()), s.kernel, s.stride, dy, dx, dw, db);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * depthwise_flops(s, batch));
}

void pointwise_forward(benchmark::State& state, PointwiseShape s, int batch, int threads) {
  set_num_threads(threads);
  Rng rng(3);
  Tensor x({batch, s.h, s.w, s.in_c}), y({batch, s.h, s.w, s.out_c});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(-1.0f, 1.0f);
  const auto w = random_values(static_cast<std::size_t>(s.in_c * s.out_c), rng);
  const auto b = random_values(static_cast<std::size_t>(s.out_c), rng);
  for (auto _ : state) {
    ops::pointwise_forward(x, std::span<const float>(w.data(), static_cast<std::size_t>(s.in_c * s.out_c)),
                           std::span<const float>(b.data(), static_cast<std::size_t>(s.out_c)), y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, pointwise_flops(s, batch));
}

void pointwise_backward(benchmark::State& state, PointwiseShape s, int batch, int threads) {
  set_num_threads(threads);
  Rng rng(4);
  Tensor x({batch, s.h, s.w, s.in_c}), dx(x.shape()), dy({batch, s.h, s.w, s.out_c});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(-1.0f, 1.0f);
  for (std::int64_t i = 0; i < dy.size(); ++i) dy[i] = rng.uniform(-1.0f, 1.0f);
  const auto w = random_values(static_cast<std::size_t>(s.in_c * s.out_c), rng);
  std::vector<float> dw(static_cast<std::size_t>(s.in_c * s.out_c)), db(static_cast<std::size_t>(s.out_c));
  for (auto _ : state) {
    ops::pointwise_backward(x, std::span<const float>(w.data(), dw.size()), dy, dx, dw, db);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * pointwise_flops(s, batch));
}

// XNNPACK's operator API, single-threaded (no pthreadpool), same layouts as edgenas.
void run_xnnpack_convolution(benchmark::State& state, int h, int w, int in_c, int out_c, int kernel, int stride,
                             bool depthwise, double flops) {
  if (xnn_initialize(nullptr) != xnn_status_success) {
    state.SkipWithError("xnn_initialize failed");
    return;
  }
  Rng rng(5);
  const int groups = depthwise ? in_c : 1;
  const auto input = random_values(static_cast<std::size_t>(h * w * in_c), rng);
  const auto weights = random_values(static_cast<std::size_t>(kernel * kernel * in_c * (depthwise ? 1 : out_c)), rng);
  const auto bias = random_values(static_cast<std::size_t>(out_c), rng);
  const int oh = same_output_extent(h, stride), ow = same_output_extent(w, stride);
  std::vector<float> output(static_cast<std::size_t>(oh * ow * out_c) + XNN_EXTRA_BYTES / sizeof(float));
  const auto pad_h = static_cast<std::uint32_t>(same_padding_total(h, kernel, stride));
  const auto pad_w = static_cast<std::uint32_t>(same_padding_total(w, kernel, stride));
  xnn_operator_t op = nullptr;
  xnn_status status = xnn_create_convolution2d_nhwc_f32(
      pad_h / 2, pad_w - pad_w / 2, pad_h - pad_h / 2, pad_w / 2, static_cast<std::uint32_t>(kernel),
      static_cast<std::uint32_t>(kernel), static_cast<std::uint32_t>(stride), static_cast<std::uint32_t>(stride), 1, 1,
      static_cast<std::uint32_t>(groups), static_cast<std::size_t>(depthwise ? 1 : in_c),
      static_cast<std::size_t>(depthwise ? 1 : out_c), static_cast<std::size_t>(in_c), static_cast<std::size_t>(out_c),
      weights.data(), bias.data(), -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity(),
      depthwise ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0, &op);
  if (status == xnn_status_success)
    status = xnn_setup_convolution2d_nhwc_f32(op, 1, static_cast<std::size_t>(h), static_cast<std::size_t>(w),
                                              input.data(), output.data(), nullptr);
  if (status != xnn_status_success) {
    state.SkipWithError("XNNPACK convolution create/setup failed");
    if (op) xnn_delete_operator(op);
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  set_gflops(state, flops);
}

void register_all() {
  for (const auto& s : depthwise_shapes) {
    const std::string shape = std::string(s.origin) + "/" + name(s);
    benchmark::RegisterBenchmark(("edgenas_depthwise_forward/" + shape).c_str(), depthwise_forward, s, 1, 1);
    benchmark::RegisterBenchmark(("xnnpack_depthwise/" + shape).c_str(), [s](benchmark::State& st) {
      run_xnnpack_convolution(st, s.h, s.w, s.c, s.c, s.kernel, s.stride, true, depthwise_flops(s, 1));
    });
    benchmark::RegisterBenchmark(("edgenas_depthwise_backward/" + shape).c_str(), depthwise_backward, s, 1, 1);
  }
  for (const auto& s : pointwise_shapes) {
    const std::string shape = std::string(s.origin) + "/" + name(s);
    benchmark::RegisterBenchmark(("edgenas_pointwise_forward/" + shape).c_str(), pointwise_forward, s, 1, 1);
    benchmark::RegisterBenchmark(("xnnpack_pointwise/" + shape).c_str(), [s](benchmark::State& st) {
      run_xnnpack_convolution(st, s.h, s.w, s.in_c, s.out_c, 1, 1, false, pointwise_flops(s, 1));
    });
    benchmark::RegisterBenchmark(("edgenas_pointwise_backward/" + shape).c_str(), pointwise_backward, s, 1, 1);
  }
  // Training-sized batches of the Fashion-MNIST shapes on both threads.
  for (const auto& s : depthwise_shapes) {
    if (std::string(s.origin) != "fmnist") continue;
    const std::string shape = "batch32_2threads/" + name(s);
    benchmark::RegisterBenchmark(("edgenas_depthwise_forward_train/" + shape).c_str(), depthwise_forward, s, 32, 2)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("edgenas_depthwise_backward_train/" + shape).c_str(), depthwise_backward, s, 32, 2)
        ->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter({"edgenas_depthwise_forward", "edgenas_pointwise_forward"},
                         {"xnnpack_depthwise", "xnnpack_pointwise"},
                         "forward time ratio edgenas / XNNPACK (1 thread, batch 1, same run):");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
