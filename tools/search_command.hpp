// `edgenas search`: supernet training, search under budgets, fine-tuning, report — resumable.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace edgenas::cli {

struct SearchOptions {
  std::string preset = "quick";  // tiny | quick | full: defaults for everything below left at -1
  std::string space = "fmnist";
  std::string data;              // Fashion-MNIST-format IDX directory (default: the Debian package's)
  std::string out = "out/search";
  bool resume = false;
  std::string strategy = "evolution";
  int evaluations = -1, population = -1;
  std::vector<double> latency_budgets;  // ms; one chosen network per budget
  std::int64_t params_budget = -1, arena_budget = -1, macs_budget = -1;
  std::vector<std::string> tables;      // device tables; a budget must hold on the slowest
  double reward_target_ms = 0.0, reward_exponent = -0.07;
  int supernet_epochs = -1;
  std::string supernet;                 // a trained supernet checkpoint to search (no training)
  bool progressive_shrinking = false;
  int finetune_epochs = -1;
  double finetune_lr = -1;              // default: 0.1 fine-tuning, 0.2 retraining
  std::string final_training;           // "retrain" (from scratch) or "fine-tune" (from the supernet); preset default
  long supernet_images = -1;            // training images the supernet sees (the rest: fine-tuning)
  long train_images = -1, validation_images = -1, test_images = -1, calibration_images = -1;
  int threads = 2, latency_threads = 1;
  std::uint64_t seed = 1;
  bool json = false, quiet = false;
};

int search_command(SearchOptions options);

}  // namespace edgenas::cli
