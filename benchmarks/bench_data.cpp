// Reading data sets: Fashion-MNIST as 70 000 PNG files in class folders (the image-folder
// reader: list, read every header, decode, on all cores) side by side with the same images from
// the gzipped IDX files. The PNG tree comes from scripts/fashion-mnist-png.sh (default
// out/fashion-mnist-png; EDGENAS_PNG_TREE overrides). Target (issue #9): ≤ 10 s on 2 cores.
//   build/release/benchmarks/bench_data --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <edgenas/data/source.hpp>
#include <filesystem>

using namespace edgenas;

namespace {

std::string png_tree() {
  const char* env = std::getenv("EDGENAS_PNG_TREE");
  return env && *env ? env : "out/fashion-mnist-png";
}

void BM_ReadPngTree(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  if (!std::filesystem::exists(png_tree())) {
    state.SkipWithError(("no PNG tree at " + png_tree() + ": run scripts/fashion-mnist-png.sh").c_str());
    return;
  }
  std::size_t images = 0;
  for (auto _ : state) {
    const data::DataSource d = data::load(png_tree());
    images = d.train.size() + d.test.size();
    benchmark::DoNotOptimize(d.train.pixels.data());
  }
  state.counters["images"] = static_cast<double>(images);
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ReadIdx(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  std::size_t images = 0;
  for (auto _ : state) {
    const data::DataSource d = data::load(data::fashion_mnist_dir());
    images = d.train.size() + d.test.size();
    benchmark::DoNotOptimize(d.train.pixels.data());
  }
  state.counters["images"] = static_cast<double>(images);
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_ReadPngTree)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadIdx)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
