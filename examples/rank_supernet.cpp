// How well another supernet ranks the architectures of an earlier ranking check: re-scores the
// architectures of OUT/rank-check.json (written by `edgenas search --rank-check N`) on a supernet
// checkpoint and correlates with their stand-alone accuracies from that file — so supernet
// schedules (epochs, progressive shrinking, batch-norm recalibration images, …) are compared on
// the same architectures without training them alone again:
//
//   rank_supernet --supernet OTHER/supernet.ckpt --rank-check OUT/rank-check.json
//       [--space fmnist|FILE.json] [--calibration-images 2000] [--validation-images 5000]
//       [--split-seed 1] [--threads 2] [--standalone-epochs E --standalone-seed S [--standalone-seed S2 …]
//       [--save FILE]]
//
// Besides the supernet's validation accuracy it reports the τ of its validation loss (a finer
// signal than the share of 5 000 images right) and, as every check does, the τ of free signals
// (parameters, MACs, latency) that the supernet has to beat.
//
// With --standalone-epochs the architectures are also trained alone again (E epochs of the
// check's schedule, once per training seed S) and the supernet is scored against the mean of the
// file's trainings and these: the reference's own repeatability (the mean τ between pairs of
// trainings) is reported, and from it the τ a noise-free ranking would reach against that mean
// and what the supernet's τ means against the architectures' true order
// (edgenas/core/rank_ceiling.hpp). --save writes the check with the new trainings added (its own
// supernet's accuracies kept), so later supernets are scored against the less noisy mean.
// `--ceiling SELF_TAU` prints that table alone, for a repeatability measured before, without a
// supernet or any training (`--signal-tau T --trainings K` converts a τ measured against the mean
// of K trainings).
//
// The validation split must be the one the check used (the search's --validation-images and
// --seed: the defaults are the presets').
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <edgenas/core/rank_ceiling.hpp>
#include <edgenas/data.hpp>
#include <edgenas/data/source.hpp>
#include <edgenas/search.hpp>
#include <edgenas/search/rank_check.hpp>
#include <edgenas/space/space_json.hpp>
#include <edgenas/train.hpp>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace edgenas;

namespace {
[[noreturn]] void usage(const char* problem) {
  std::fprintf(
      stderr,
      "rank_supernet: %s\nusage: rank_supernet --supernet FILE --rank-check FILE [--space NAME|FILE.json] "
      "[--calibration-images N] [--validation-images N] [--split-seed N] [--threads N] "
      "[--standalone-epochs N --standalone-seed N [--standalone-seed N ...] [--save FILE] [--train-images N]]\n"
      "       rank_supernet --ceiling SELF_TAU [--architectures N] [--signal-tau T [--trainings K]]\n",
      problem);
  std::exit(2);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  EDGENAS_CHECK(in.good(), Status::io_error, "%s: cannot open", path.c_str());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

long long whole_number(const std::string& arg, const char* text, long long lo, long long hi) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < lo || v > hi)
    usage((arg + " " + text + ": expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi))
              .c_str());
  return v;
}
double fraction(const std::string& arg, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (*text == '\0' || *end != '\0' || !(v > -1 && v < 1))
    usage((arg + " " + text + ": expected a Kendall tau between -1 and 1").c_str());
  return v;
}

// What a reference that repeats itself with τ `self` lets a ranking signal show (no training).
void print_ceiling(double self, std::size_t architectures, std::optional<double> signal, int signal_trainings) {
  EDGENAS_CHECK(self > 0, Status::invalid_argument, "--ceiling %g: the reference must agree with itself above 0", self);
  std::printf(
      "reference: two trainings agree with Kendall tau %.3f (reliability %.3f of one training)\n\n"
      "| reference = mean of | noise-free signal's tau | drawn at %zu architectures: mean +- sd "
      "| draws with tau >= 0.6 | tau against the true order that measures 0.6 on average |\n"
      "|---:|---:|---:|---:|---:|\n",
      self, reference_reliability(self), architectures);
  for (int k = 1; k <= 4; ++k) {
    const RankCeilingDraws d = simulate_rank_ceiling(self, k, architectures, 0.6);
    const double needed = signal_tau_against_truth(0.6, self, k);
    char need[32] = "out of reach";  // the model's ceiling is below 0.6
    if (needed < 1) std::snprintf(need, sizeof need, "%.3f", needed);
    std::printf("| %d training%s | %.3f | %.3f +- %.3f | %.0f %% | %s |\n", k, k == 1 ? "" : "s",
                perfect_signal_tau(self, k), d.mean, d.sd, 100 * d.share_at_least, need);
  }
  if (signal)
    std::printf("\na signal measured at tau %.3f against %s: about %.3f against the true order\n", *signal,
                signal_trainings == 1 ? "one training"
                                      : ("the mean of " + std::to_string(signal_trainings) + " trainings").c_str(),
                signal_tau_against_truth(*signal, self, signal_trainings));
}
}  // namespace

int main(int argc, char** argv) {
  std::string supernet_path, check_path, save_path, space_name = "fmnist";
  long long calibration_images = 2000, validation_images = 5000, split_seed = 1, threads = 2, standalone_epochs = 0,
            architectures = 24, signal_trainings = 1, train_images = 0;
  std::vector<std::uint64_t> standalone_seeds;
  std::optional<double> ceiling, signal_tau;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--supernet")
      supernet_path = value();
    else if (arg == "--rank-check")
      check_path = value();
    else if (arg == "--space")
      space_name = value();
    else if (arg == "--calibration-images")
      calibration_images = whole_number(arg, value(), 2, 1'000'000);
    else if (arg == "--validation-images")
      validation_images = whole_number(arg, value(), 1, 1'000'000);
    else if (arg == "--split-seed")
      split_seed = whole_number(arg, value(), 0, 1ll << 53);
    else if (arg == "--threads")
      threads = whole_number(arg, value(), 1, 256);
    else if (arg == "--standalone-epochs")
      standalone_epochs = whole_number(arg, value(), 0, 10000);
    else if (arg == "--standalone-seed")
      standalone_seeds.push_back(static_cast<std::uint64_t>(whole_number(arg, value(), 0, 1ll << 53)));
    else if (arg == "--train-images")  // the stand-alone trainings use only the first N (tests)
      train_images = whole_number(arg, value(), 1, 1'000'000'000);
    else if (arg == "--save")
      save_path = value();
    else if (arg == "--ceiling")
      ceiling = fraction(arg, value());
    else if (arg == "--architectures")
      architectures = whole_number(arg, value(), 3, 10000);
    else if (arg == "--signal-tau")
      signal_tau = fraction(arg, value());
    else if (arg == "--trainings")
      signal_trainings = whole_number(arg, value(), 1, 1000);
    else
      usage(("unknown argument " + arg).c_str());
  }
  if (signal_tau && !ceiling) usage("--signal-tau goes with --ceiling SELF_TAU (the reference's repeatability)");
  if (ceiling) try {
      print_ceiling(*ceiling, static_cast<std::size_t>(architectures), signal_tau, static_cast<int>(signal_trainings));
      return 0;
    } catch (const Error& e) {
      std::fprintf(stderr, "rank_supernet: %s\n", e.what());
      return 1;
    }
  if (supernet_path.empty() || check_path.empty()) usage("--supernet and --rank-check are required");
  if (standalone_epochs > 0 && standalone_seeds.empty()) standalone_seeds.push_back(2);
  if (!save_path.empty() && standalone_epochs == 0) usage("--save goes with --standalone-epochs (trainings to add)");
  try {
    set_num_threads(static_cast<int>(threads));
    std::optional<SearchSpace> named = spaces::named(space_name);
    const SearchSpace space =
        named ? std::move(*named) : search_space_from_json(json::parse(read_text(space_name), space_name.c_str()));

    // The earlier check: its architectures and their stand-alone accuracies (one or more trainings).
    search::RankCheck file =
        search::rank_check_from_json(json::parse(read_text(check_path), check_path.c_str()), check_path.c_str());
    std::vector<Choices> choices;
    for (const search::RankedArchitecture& a : file.architectures) {
      const std::optional<Choices> c = space.encode(a.candidate.genotype);
      EDGENAS_CHECK(c.has_value(), Status::invalid_argument, "%s: %s is not an architecture of space %s (--space)",
                    check_path.c_str(), to_string(a.candidate.genotype).c_str(), space.name.c_str());
      choices.push_back(*c);
    }
    EDGENAS_CHECK(standalone_epochs == 0 || standalone_epochs == file.epochs, Status::invalid_argument,
                  "--standalone-epochs %lld: %s's trainings are %d epochs (the reference is the mean of trainings "
                  "on one schedule)",
                  standalone_epochs, check_path.c_str(), file.epochs);
    for (const std::uint64_t seed : standalone_seeds)
      EDGENAS_CHECK(std::count(file.seeds.begin(), file.seeds.end(), seed) == 0 &&
                        std::count(standalone_seeds.begin(), standalone_seeds.end(), seed) == 1,
                    Status::invalid_argument,
                    "--standalone-seed %llu: already a training of the reference (%s's seeds, or given twice)",
                    static_cast<unsigned long long>(seed), check_path.c_str());

    // The same split as `edgenas search --seed split_seed --validation-images N`.
    auto [train_set, validation] =
        data::split(data::load_fashion_mnist(data::Split::train), static_cast<std::size_t>(validation_images),
                    static_cast<std::uint64_t>(split_seed));
    const auto norm = data::compute_normalization(train_set);
    // More trainings of each architecture (the reference becomes the mean of all).
    const data::Dataset standalone_set =
        train_images > 0 ? data::head(train_set, static_cast<std::size_t>(train_images)) : data::Dataset{};
    const data::Dataset& standalone_images = train_images > 0 ? standalone_set : train_set;
    for (const std::uint64_t seed : standalone_seeds) {
      const auto activations = std::make_shared<train::Activations>();
      std::printf("| trained alone (mean of %zu) | seed %llu (%lld epochs) | architecture |\n|---|---|---|\n",
                  file.seeds.size(), static_cast<unsigned long long>(seed), standalone_epochs);
      for (search::RankedArchitecture& a : file.architectures) {
        const Genotype& g = a.candidate.genotype;
        train::Network net(g, seed);
        net.share_activations(activations);
        train::Trainer trainer(net, standalone_images, norm,
                               search::standalone_schedule(static_cast<int>(standalone_epochs), 128,
                                                           data::default_augmentation(true, g.input.h), seed));
        while (!trainer.finished()) trainer.train_epoch();
        const double accuracy = train::evaluate(net, validation, norm, 250).accuracy;
        std::printf("| %.2f %% | %.2f %% | %s |\n", 100 * a.standalone_accuracy, 100 * accuracy, to_string(g).c_str());
        std::fflush(stdout);
        search::add_training(a, accuracy);
      }
      file.seeds.push_back(seed);
      std::printf("\n");
    }
    const double file_tau = file.kendall_tau, file_rho = file.spearman_rho;
    search::score(file);
    if (!save_path.empty()) {
      write_file_atomically(save_path, json::dump(search::to_json(file)) + "\n");
      std::printf("saved %s: %zu trainings per architecture; its own supernet against their mean: %s\n\n",
                  save_path.c_str(), file.seeds.size(), search::summary(file).c_str());
    }

    train::Supernet supernet(space, 1);
    train::SupernetTrainer loader(supernet, train_set, norm, {});
    loader.resume(supernet_path);
    const train::SubnetEvaluator evaluator(supernet, train_set, validation, norm,
                                           {static_cast<std::size_t>(calibration_images), 250});
    const std::size_t trainings = file.seeds.size();
    std::printf(
        "| latency (ms) | supernet accuracy | supernet loss | trained alone (%d epochs, mean of %zu) | architecture |\n"
        "|---|---|---|---|---|\n",
        file.epochs, trainings);
    search::RankCheck r = file, by_loss = file;  // by_loss: the supernet's validation loss (lower first) as the signal
    for (std::size_t i = 0; i < r.architectures.size(); ++i) {
      search::RankedArchitecture& a = r.architectures[i];
      const train::EvalStats stats = evaluator.stats(choices[i], a.candidate.genotype);
      a.candidate.accuracy = stats.accuracy;
      by_loss.architectures[i].candidate.accuracy = -stats.loss;
      std::printf("| %.4f | %.2f %% | %.4f | %.2f %% | %s |\n", a.candidate.costs.latency_ms, 100 * a.candidate.accuracy,
                  stats.loss, 100 * a.standalone_accuracy, to_string(a.candidate.genotype).c_str());
      std::fflush(stdout);
    }
    search::score(r);
    search::score(by_loss);
    if (trainings >= 2) {
      const double self = r.reference_self_tau;
      std::printf(
          "\nthe reference against itself: %zu trainings agree with each other at Kendall tau %.3f (mean over "
          "pairs)\n",
          trainings, self);
      if (self > 0 && self < 1) {
        const int k = static_cast<int>(trainings);
        const RankCeilingDraws d = simulate_rank_ceiling(self, k, r.architectures.size(), 0.6);
        std::printf(
            "a noise-free ranking would reach tau %.3f against the mean of %d such trainings (%.3f +- %.3f at %zu "
            "architectures, tau >= 0.6 in %.0f %% of draws); the supernet's tau %.3f against that mean is about %.3f "
            "against the architectures' true order (rank_ceiling.hpp's model)\n",
            perfect_signal_tau(self, k), k, d.mean, d.sd, r.architectures.size(), 100 * d.share_at_least, r.kendall_tau,
            signal_tau_against_truth(r.kendall_tau, self, k));
      }
    }
    std::printf("\n%s (the check's own supernet: tau %.3f, rho %.3f against the file's reference)\n",
                search::summary(r).c_str(), file_tau, file_rho);
    std::printf("ranked by the supernet's validation loss instead: Kendall tau %.3f, Spearman rho %.3f, top-5 overlap %zu\n",
                by_loss.kendall_tau, by_loss.spearman_rho, by_loss.top5_overlap);
  } catch (const Error& e) {
    std::fprintf(stderr, "rank_supernet: %s\n", e.what());
    return 1;
  }
  return 0;
}
