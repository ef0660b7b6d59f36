// Compares search strategies at an equal evaluation budget over several seeds, on the supernet
// a search trained (OUT/supernet.ckpt) and the latency table it measured (OUT/latency-1t.json):
//
//   compare_strategies --supernet OUT/supernet.ckpt --table OUT/latency-1t.json
//       [--space fmnist] [--evaluations 60] [--seeds 5] [--latency-budget 0.25] [--params-budget 100000]
//       [--strategies random,evolution,nsga2,reinforce,differentiable] [--arch-epochs 6]
//       [--arch-lr 0.01] [--latency-alpha 0.2] [--latency-beta 0.6] [--retrain-epochs 0]
//
// For each strategy and seed: the best validation accuracy found within the budgets, the
// hypervolume of the (error, latency) front up to (1, budget), and with --retrain-epochs E that
// best architecture trained alone for E epochs on the ranking check's fixed schedule
// (search::standalone_schedule) and tested on the test split. Sub-network accuracy is a
// deterministic function of the architecture, so evaluations are cached across runs (the
// strategies still each spend their full budget of distinct architectures), and so are
// retrainings. The differentiable search first learns its distribution for --arch-epochs passes
// over the validation split on the given supernet's weights (as `edgenas search --supernet`
// does; the tool alternates them with weight epochs when it trains the supernet itself); its
// seconds column is that learning, which the others do not spend.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <edgenas/data.hpp>
#include <edgenas/data/source.hpp>
#include <edgenas/latency.hpp>
#include <edgenas/search.hpp>
#include <edgenas/search/differentiable.hpp>
#include <edgenas/search/rank_check.hpp>
#include <edgenas/space/space_json.hpp>
#include <edgenas/train.hpp>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>

using namespace edgenas;

namespace {
[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "compare_strategies: %s\nusage: compare_strategies --supernet FILE --table FILE [--space fmnist] "
               "[--evaluations N] [--seeds N] [--latency-budget MS] [--params-budget N] [--threads N] "
               "[--validation-images N] [--calibration-images N] [--split-seed N] [--strategies A,B,...] "
               "[--arch-epochs N] [--arch-lr X] [--latency-alpha X] [--latency-beta X] [--retrain-epochs N]\n",
               problem);
  std::exit(2);
}

long long whole_number(const std::string& arg, const char* text, long long lo, long long hi) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < lo || v > hi)
    usage((arg + " " + text + ": expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi))
              .c_str());
  return v;
}

double positive_number(const std::string& arg, const char* text, bool zero_too = false) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (*text == '\0' || *end != '\0' || !((v > 0 || (zero_too && v == 0)) && v < 1e9))
    usage((arg + " " + text + (zero_too ? ": expected a number >= 0" : ": expected a positive number")).c_str());
  return v;
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

struct Results {
  std::vector<double> best, volume, test, seconds;
};
}  // namespace

int main(int argc, char** argv) {
  std::string supernet_path, table_path, space_name = "fmnist";
  int evaluations = 60, seeds = 5, threads = 2, arch_epochs = 6, retrain_epochs = 0;
  double latency_budget = 0.25;
  search::DifferentiableConfig fbnet;
  std::int64_t params_budget = 100'000;
  std::size_t validation_images = 5000, calibration_images = 2000;
  std::uint64_t split_seed = 1;
  std::vector<search::Strategy> strategies(std::begin(search::all_strategies), std::end(search::all_strategies));
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
      return argv[++i];
    };
    const auto count = [&](long long lo, long long hi) { return whole_number(arg, value(), lo, hi); };
    if (arg == "--supernet") supernet_path = value();
    else if (arg == "--table") table_path = value();
    else if (arg == "--space") space_name = value();
    else if (arg == "--evaluations")
      evaluations = static_cast<int>(count(2, 1'000'000));
    else if (arg == "--seeds")
      seeds = static_cast<int>(count(1, 1000));
    else if (arg == "--threads")
      threads = static_cast<int>(count(1, 256));
    else if (arg == "--latency-budget")
      latency_budget = positive_number(arg, value());
    else if (arg == "--params-budget")
      params_budget = count(1, 1ll << 50);
    else if (arg == "--validation-images")
      validation_images = static_cast<std::size_t>(count(1, 1'000'000));
    else if (arg == "--calibration-images")
      calibration_images = static_cast<std::size_t>(count(2, 1'000'000));
    else if (arg == "--split-seed")
      split_seed = static_cast<std::uint64_t>(count(0, 1ll << 53));
    else if (arg == "--arch-epochs")
      arch_epochs = static_cast<int>(count(1, 10'000));
    else if (arg == "--arch-lr")
      fbnet.lr = positive_number(arg, value());
    else if (arg == "--latency-alpha")
      fbnet.latency_alpha = positive_number(arg, value());
    else if (arg == "--latency-beta")
      fbnet.latency_beta = positive_number(arg, value(), true);
    else if (arg == "--retrain-epochs")
      retrain_epochs = static_cast<int>(count(0, 10'000));
    else if (arg == "--strategies") {
      strategies.clear();
      std::stringstream list(value());
      for (std::string name; std::getline(list, name, ',');) {
        try {
          strategies.push_back(search::parse_strategy(name));
        } catch (const Error& e) {
          usage(e.what());
        }
      }
    } else {
      usage(("unknown argument " + arg).c_str());
    }
  }
  if (supernet_path.empty() || table_path.empty()) usage("--supernet and --table are required");
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
    const data::Dataset full_train = data::load_fashion_mnist(data::Split::train);
    auto [train_set, validation] = data::split(full_train, validation_images, split_seed);
    const data::Dataset test_set = data::load_fashion_mnist(data::Split::test);
    const auto norm = data::compute_normalization(train_set);
    train::Supernet supernet(space, 1);
    train::SupernetTrainer loader(supernet, train_set, norm, {});
    loader.resume(supernet_path);
    const train::SubnetEvaluator evaluator(supernet, train_set, validation, norm, {calibration_images, 250});
    const auto activations = std::make_shared<train::Activations>();

    std::unordered_map<Genotype, double, GenotypeHash> cache, retrained;
    const auto test_accuracy = [&](const Genotype& g) {
      if (auto it = retrained.find(g); it != retrained.end()) return it->second;
      train::Network net(g, split_seed);
      net.share_activations(activations);
      train::Trainer trainer(
          net, train_set, norm,
          search::standalone_schedule(retrain_epochs, 128, data::default_augmentation(true, g.input.h), split_seed));
      while (!trainer.finished()) trainer.train_epoch();
      return retrained[g] = train::evaluate(net, test_set, norm, 250).accuracy;
    };
    const auto start = std::chrono::steady_clock::now();
    std::printf(
        "| strategy | seed | best feasible validation accuracy | hypervolume (error x latency <= %.3g ms) | "
        "test accuracy trained alone (%d epochs) | seconds before evaluating |\n|---|---|---|---|---|---|\n",
        latency_budget, retrain_epochs);
    std::map<std::string, Results> results;
    for (search::Strategy s : strategies) {
      for (int seed = 1; seed <= seeds; ++seed) {
        search::StrategyConfig config;
        config.strategy = s;
        config.evaluations = evaluations;
        config.population = std::max(4, evaluations / 5);
        config.tournament = std::max(2, config.population / 4);
        config.seed = static_cast<std::uint64_t>(seed);
        const auto learning_start = std::chrono::steady_clock::now();
        std::optional<search::ArchitectureLearner> learner;
        if (s == search::Strategy::differentiable) {
          search::DifferentiableConfig dc = fbnet;
          dc.total_steps = static_cast<std::int64_t>(arch_epochs) * static_cast<std::int64_t>(validation.size() / 128);
          learner.emplace(space, dc);
          for (int e = 1; e <= arch_epochs; ++e)
            search::architecture_epoch(*learner, supernet, validation, norm, 128, latency_of,
                                       static_cast<std::uint64_t>(seed), e, activations);
          config.learned = &learner->policy();
        }
        const double learning_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - learning_start).count();
        search::SearchRun run(sampler, config, [&](const search::Candidate& c) {
          if (auto it = cache.find(c.genotype); it != cache.end()) return it->second;
          return cache[c.genotype] = evaluator.accuracy(c.choices, c.genotype);
        });
        const auto history = run.run();
        const search::Candidate& best = history[static_cast<std::size_t>(search::best_within(history, budgets))];
        const double hv = search::hypervolume(history, latency_budget);
        const double test = retrain_epochs > 0 ? test_accuracy(best.genotype) : 0.0;
        Results& r = results[std::string(search::strategy_name(s))];
        r.best.push_back(best.accuracy);
        r.volume.push_back(hv);
        r.test.push_back(test);
        r.seconds.push_back(learning_seconds);
        std::printf("| %s | %d | %.2f %% | %.5f | %.2f %% | %.0f |\n", std::string(search::strategy_name(s)).c_str(),
                    seed, 100 * best.accuracy, hv, 100 * test, learning_seconds);
        std::fflush(stdout);
      }
    }
    std::printf(
        "\n| strategy | best validation accuracy, mean ± sd | hypervolume, mean ± sd | test accuracy trained "
        "alone, mean ± sd |\n|---|---|---|---|\n");
    for (const auto& [name, r] : results) {
      const Stats a = stats(r.best), h = stats(r.volume), t = stats(r.test);
      std::printf("| %s | %.2f ± %.2f %% | %.5f ± %.5f | %.2f ± %.2f %% |\n", name.c_str(), 100 * a.mean,
                  100 * a.stddev, h.mean, h.stddev, 100 * t.mean, 100 * t.stddev);
    }
    std::printf("\n%zu distinct architectures evaluated in all, %zu trained alone, %.0f s\n", cache.size(),
                retrained.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  } catch (const Error& e) {
    std::fprintf(stderr, "compare_strategies: %s\n", e.what());
    return 1;
  }
  return 0;
}
