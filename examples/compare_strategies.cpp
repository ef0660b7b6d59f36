// Compares search strategies at an equal evaluation budget over several seeds, on the supernet
// a search trained (OUT/supernet.ckpt) and the latency table it measured (OUT/latency-1t.json):
//
//   compare_strategies --supernet OUT/supernet.ckpt --table OUT/latency-1t.json
//       [--space fmnist] [--evaluations 60] [--seeds 5] [--latency-budget 0.25] [--params-budget 100000]
//
// For each strategy and seed: the best validation accuracy found within the budgets and the
// hypervolume of the (error, latency) front up to (1, budget). Sub-network accuracy is a
// deterministic function of the architecture, so evaluations are cached across runs (the
// strategies still each spend their full budget of distinct architectures).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <edgenas/data.hpp>
#include <edgenas/latency.hpp>
#include <edgenas/search.hpp>
#include <edgenas/space/space_json.hpp>
#include <edgenas/train.hpp>
#include <map>
#include <unordered_map>
#include <string>

using namespace edgenas;

namespace {
[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "compare_strategies: %s\nusage: compare_strategies --supernet FILE --table FILE [--space fmnist] "
               "[--evaluations N] [--seeds N] [--latency-budget MS] [--params-budget N] [--threads N] "
               "[--validation-images N] [--calibration-images N] [--split-seed N]\n",
               problem);
  std::exit(2);
}

struct Stats {
  double mean = 0, stddev = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x / static_cast<double>(v.size());
  for (double x : v) s.stddev += (x - s.mean) * (x - s.mean) / static_cast<double>(std::max<std::size_t>(1, v.size() - 1));
  s.stddev = std::sqrt(s.stddev);
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  std::string supernet_path, table_path, space_name = "fmnist";
  int evaluations = 60, seeds = 5, threads = 2;
  double latency_budget = 0.25;
  std::int64_t params_budget = 100'000;
  std::size_t validation_images = 5000, calibration_images = 2000;
  std::uint64_t split_seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--supernet") supernet_path = value();
    else if (arg == "--table") table_path = value();
    else if (arg == "--space") space_name = value();
    else if (arg == "--evaluations") evaluations = std::atoi(value());
    else if (arg == "--seeds") seeds = std::atoi(value());
    else if (arg == "--threads") threads = std::atoi(value());
    else if (arg == "--latency-budget") latency_budget = std::atof(value());
    else if (arg == "--params-budget") params_budget = std::atoll(value());
    else if (arg == "--validation-images") validation_images = std::strtoull(value(), nullptr, 10);
    else if (arg == "--calibration-images") calibration_images = std::strtoull(value(), nullptr, 10);
    else if (arg == "--split-seed") split_seed = std::strtoull(value(), nullptr, 10);
    else usage(("unknown argument " + arg).c_str());
  }
  if (supernet_path.empty() || table_path.empty()) usage("--supernet and --table are required");
  if (evaluations < 2 || seeds < 1 || threads < 1) usage("evaluations >= 2, seeds >= 1, threads >= 1");
  try {
    set_num_threads(threads);
    const std::optional<SearchSpace> named_space = spaces::named(space_name);
    if (!named_space) usage(("unknown --space " + space_name + " (fmnist, fmnist-mcu, mobilenetv3)").c_str());
    const SearchSpace& space = *named_space;
    const latency::Table table = latency::load_table(table_path, latency::this_device(1), latency::DeviceCheck::warn_if_different);
    const search::LatencyFn latency_of = [&](const Genotype& g) { return table.predict_ms(g); };
    search::Budgets budgets;
    budgets.latency_ms = latency_budget;
    budgets.params = params_budget;
    const search::FeasibleSampler sampler(space, budgets, latency_of);

    // The same split as `edgenas search --seed split_seed`.
    auto [train_set, validation] = data::split(data::load_fashion_mnist(data::Split::train), validation_images, split_seed);
    const auto norm = data::compute_normalization(train_set);
    train::Supernet supernet(space, 1);
    train::SupernetTrainer loader(supernet, train_set, norm, {});
    loader.resume(supernet_path);
    const train::SubnetEvaluator evaluator(supernet, train_set, validation, norm, {calibration_images, 250});

    std::unordered_map<Genotype, double, GenotypeHash> cache;
    const auto start = std::chrono::steady_clock::now();
    std::printf("| strategy | seed | best feasible validation accuracy | hypervolume (error x latency <= %.3g ms) |\n|---|---|---|---|\n",
                latency_budget);
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> results;
    for (search::Strategy s : search::all_strategies) {
      for (int seed = 1; seed <= seeds; ++seed) {
        search::StrategyConfig config;
        config.strategy = s;
        config.evaluations = evaluations;
        config.population = std::max(4, evaluations / 5);
        config.tournament = std::max(2, config.population / 4);
        config.seed = static_cast<std::uint64_t>(seed);
        search::SearchRun run(sampler, config, [&](const search::Candidate& c) {
          if (auto it = cache.find(c.genotype); it != cache.end()) return it->second;
          return cache[c.genotype] = evaluator.accuracy(c.choices, c.genotype);
        });
        const auto history = run.run();
        const double best = history[static_cast<std::size_t>(search::best_within(history, budgets))].accuracy;
        const double hv = search::hypervolume(history, latency_budget);
        const std::string name(search::strategy_name(s));
        results[name].first.push_back(best);
        results[name].second.push_back(hv);
        std::printf("| %s | %d | %.2f %% | %.5f |\n", name.c_str(), seed, 100 * best, hv);
        std::fflush(stdout);
      }
    }
    std::printf("\n| strategy | best accuracy, mean ± sd | hypervolume, mean ± sd |\n|---|---|---|\n");
    for (const auto& [name, r] : results) {
      const Stats a = stats(r.first), h = stats(r.second);
      std::printf("| %s | %.2f ± %.2f %% | %.5f ± %.5f |\n", name.c_str(), 100 * a.mean, 100 * a.stddev, h.mean, h.stddev);
    }
    std::printf("\n%zu distinct architectures evaluated in all, %.0f s\n", cache.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  } catch (const Error& e) {
    std::fprintf(stderr, "compare_strategies: %s\n", e.what());
    return 1;
  }
  return 0;
}
