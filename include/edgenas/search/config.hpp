// edgenas/search/config.hpp — everything that decides a search, as one value.
//
// A SearchConfig is what the pipeline (search/pipeline.hpp) runs and what its journal records:
// it serialises itself to JSON, and a resumed search compares the recorded settings with its
// own and names the first that differs. The presets are plain values written with designated
// initialisers; start from one and change fields:
//
//   edgenas::search::SearchConfig c = edgenas::search::presets::quick();
//   c.latency_budgets_ms = {0.15};
//   c.out = "out/my-search";
//
// Conventions: a size of 0 means "all" (images) or "none" (budgets).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "edgenas/core/json.hpp"
#include "edgenas/search/strategies.hpp"
#include "edgenas/space/search_space.hpp"
#include "edgenas/space/space_json.hpp"

namespace edgenas::search {

/// How the chosen networks get their final weights.
enum class FinalTraining { retrain, fine_tune };  // from scratch | from the supernet's weights

inline constexpr std::string_view final_training_name(FinalTraining f) {
  return f == FinalTraining::retrain ? "retrain" : "fine-tune";
}
inline FinalTraining parse_final_training(std::string_view name) {
  if (name == "retrain") return FinalTraining::retrain;
  if (name == "fine-tune") return FinalTraining::fine_tune;
  EDGENAS_FAIL(Status::invalid_argument, "final training \"%.*s\": retrain or fine-tune", static_cast<int>(name.size()),
               name.data());
}

struct SearchConfig {
  std::string preset = "custom";  // a label for reports
  SearchSpace space = spaces::fmnist();
  std::string data{};              // any format data::load reads (docs/data.md); empty: Debian's Fashion-MNIST
  std::string out = "out/search";  // journal, checkpoints, latency table, report, model files
  bool resume = false;             // continue the search in `out` (else `out` must hold none)

  // ---- budgets: the chosen networks must meet every one ------------------------------------
  std::vector<double> latency_budgets_ms{};  // one chosen network per budget; empty: none
  // Arena and flash in bytes of the precision searched for (quant/footprint.hpp); 0: none.
  std::int64_t params_budget = 0, arena_budget = 0, flash_budget = 0, macs_budget = 0;
  std::vector<std::string> tables{};  // device latency tables (budgets hold on the slowest); empty: measure here
  int latency_threads = 1;            // threads the deployed model will use
  int fit_networks = 20;              // whole networks measured to fit the table's overhead
  // What budgets hold for: "typical" latency, or "p90", the 90th percentile of single runs (a
  // budget that must hold on a busy device).
  std::string latency_statistic = "typical";
  bool fast_timing = false;           // fewer timing repetitions (smoke tests)

  // ---- the search ----------------------------------------------------------------------------
  Strategy strategy = Strategy::evolution;
  int evaluations = 40, population = 10;
  // Evolution: children proposed per round, evaluated together (on several processes when
  // distributed). 0: one per worker process, so 1 on one machine (Real et al.'s algorithm).
  int proposals = 0;
  double reward_target_ms = 0.0, reward_exponent = -0.07;  // MnasNet soft reward when target > 0
  double policy_lr = 0.1, entropy_weight = 0.02;           // reinforce: logit step size, entropy bonus
  // differentiable (FBNet): Adam's step on the architecture logits, and the latency term's
  // α·(ln LAT_µs)^β; one architecture epoch (a pass over the validation split) follows every
  // supernet epoch.
  double arch_lr = 0.01, latency_alpha = 0.2, latency_beta = 0.6;
  // How the final network is chosen among the evaluated ones within the budgets: "accuracy" (the
  // supernet's), or "accuracy+macs" (the rank sum of the supernet's accuracy and the MACs, which
  // ranked architectures trained alone better than either alone; strategies.hpp).
  std::string choose_by = "accuracy";

  // ---- data: images of the training split used by each stage (0: all) ---------------------
  std::int64_t train_images = 0, supernet_images = 0, validation_images = 5000, test_images = 0,
               calibration_images = 2000;

  std::string data_shape{};    // "HxWxC" of CSV rows or N×F arrays that are not square images
  int label_column = -1;       // CSV without a header naming it: 0-based, −1 the last column
  double test_fraction = 0.2;  // held out as the test split when the data has none
  // auto: random crops (padding 1/14 of the side) and horizontal flips for pictures, none for
  // rows of values (CSV, N×F arrays); or none, crop, flip, crop+flip.
  std::string augmentation = "auto";
  // Epochs count passes over this many images: a smaller training set trains proportionally
  // more epochs (at most 25×), so a preset tuned on Fashion-MNIST also trains 1 500 images. 0: as given.
  std::int64_t reference_images = 50'000;
  // ---- training --------------------------------------------------------------------------------
  int supernet_epochs = 2;
  int batch = 128;                    // the memory budget may lower it (recorded: it decides results)
  // Supernet steps split the batch into this many shards (batch norm per shard), gradients summed
  // in shard order; the shards are spread over the worker processes. 0: one per worker.
  int shards = 0;
  int eval_batch = 250;               // batch-norm recalibration and validation
  bool progressive_shrinking = false;
  std::string supernet_init{};        // start from this supernet checkpoint instead of training one
  // The sandwich's random sub-networks use at least this share of their nearest budget
  // (candidate.hpp, Budgets::share; drawn by rejection). 0: any feasible one.
  double sandwich_near_budget = 0.0;
  // A network checkpoint (`edgenas train`'s OUT/train.ckpt, trained on the same data) the
  // supernet's smaller sub-networks distill from instead of its largest. Empty: in-place.
  std::string supernet_teacher{};
  FinalTraining final_training = FinalTraining::retrain;
  int final_epochs = 8;
  double final_lr = 0.2;
  // Random erasing in the final training of pictures: the probability that a training image
  // gets a random rectangle (data/loader.hpp). Not in the supernet's training, which underfits.
  double final_erase = 0.0;
  // L2 weight decay of the final training (SGD, conv and FC weights).
  double final_weight_decay = 1e-4;
  // The final training also trains on the validation images (the architecture is chosen; the
  // last sixth of the data then helps the model instead of only measuring it). Its validation
  // accuracy is then not held out. fp32 only: int8 chooses its method on the validation images.
  bool final_with_validation = false;
  // Decay of a moving average of the final training's weights (train/weight_average.hpp), which
  // becomes the model; 0: none (the last weights are the model).
  double final_weight_average = 0.0;
  // int8: candidates are evaluated quantized (calibrated on calibration_images), latency is
  // int8 latency, and the chosen networks get post-training quantization then QAT.
  std::string precision = "fp32";  // fp32 or int8
  int qat_epochs = 2;
  double qat_lr = 0.001;  // measured: 0.01 cost the full preset's network 0.28 points more (docs/quantization.md)
  std::int64_t quant_calibration_images = 500;  // int8: images that calibrate activation ranges

  // ---- execution -----------------------------------------------------------------------------
  int threads = 2;
  std::uint64_t seed = 1;
  std::int64_t memory_budget = 0;  // bytes of peak memory to fit (batch sizes are lowered); 0: none
  // Minutes of wall time for the whole run: the final training gets as many of its final_epochs
  // as fit in what the earlier stages left (pipeline.hpp, epochs_within_time). 0: none, all of them.
  double time_budget_minutes = 0.0;
};

/// Presets: tiny (seconds, smoke tests and boards), quick (the README's main job, about ten
/// minutes on 2 cores), full (the long run for the best model, within an hour: --time-budget 60).
namespace presets {
inline SearchConfig tiny() {
  return {.preset = "tiny",
          .fit_networks = 3,
          .fast_timing = true,
          .evaluations = 8,
          .population = 4,
          .train_images = 1000,
          .supernet_images = 1000,
          .validation_images = 500,
          .test_images = 1000,
          .calibration_images = 500,
          .supernet_epochs = 1,
          .batch = 50,
          .final_training = FinalTraining::fine_tune,
          .final_epochs = 1,
          .final_lr = 0.1};
}
inline SearchConfig quick() {
  return {.preset = "quick",
          .latency_budgets_ms = {0.25},
          .params_budget = 100'000,
          .evaluations = 40,
          .population = 10,
          .supernet_images = 20'000,
          .supernet_epochs = 2,
          .final_epochs = 8};
}
// full: 2 supernet epochs of progressive shrinking and 100 evaluations (94.16 % in 49 min with 30
// final epochs, against 94.11 % in 76 min with 6 sandwich epochs and 200); the final training then
// takes as many epochs (up to 60) as fit in the hour. The strategy is FBNet's without its latency
// term (the budgets alone bound latency): the one whose picks retrained best in the equal-cost
// comparison; three seeds here 94.68 / 94.41 / 94.10 % in 54–58 min, level with evolution's
// 94.50 / 94.36 / 94.46 % (docs/results.md).
inline SearchConfig full() {
  return {.preset = "full",
          .latency_budgets_ms = {0.25},
          .params_budget = 100'000,
          .fit_networks = 40,
          .strategy = Strategy::differentiable,
          .evaluations = 100,
          .population = 24,
          .latency_beta = 0.0,
          .supernet_epochs = 2,
          .progressive_shrinking = true,
          .final_epochs = 60,
          .time_budget_minutes = 60};
}
/// The preset called `name` (tiny, quick, full).
inline SearchConfig named(std::string_view name) {
  if (name == "tiny") return tiny();
  if (name == "quick") return quick();
  if (name == "full") return full();
  EDGENAS_FAIL(Status::invalid_argument, "unknown preset \"%.*s\" (tiny, quick, full)", static_cast<int>(name.size()),
               name.data());
}
}  // namespace presets

/// Every field, by name. Inverse: search_config_from_json.
inline json::Value to_json(const SearchConfig& c) {
  json::Value::Array budgets, tables;
  for (double b : c.latency_budgets_ms) budgets.emplace_back(b);
  for (const std::string& t : c.tables) tables.emplace_back(t);
  return json::Value()
      .set("preset", c.preset)
      .set("space", to_json(c.space))
      .set("data", c.data)
      .set("data_shape", c.data_shape)
      .set("label_column", c.label_column)
      .set("test_fraction", c.test_fraction)
      .set("augmentation", c.augmentation)
      .set("reference_images", c.reference_images)
      .set("out", c.out)
      .set("resume", c.resume)
      .set("latency_budgets_ms", std::move(budgets))
      .set("params_budget", c.params_budget)
      .set("arena_budget", c.arena_budget)
      .set("flash_budget", c.flash_budget)
      .set("macs_budget", c.macs_budget)
      .set("tables", std::move(tables))
      .set("latency_threads", c.latency_threads)
      .set("fit_networks", c.fit_networks)
      .set("latency_statistic", c.latency_statistic)
      .set("fast_timing", c.fast_timing)
      .set("strategy", std::string(strategy_name(c.strategy)))
      .set("evaluations", c.evaluations)
      .set("population", c.population)
      .set("proposals", c.proposals)
      .set("reward_target_ms", c.reward_target_ms)
      .set("reward_exponent", c.reward_exponent)
      .set("policy_lr", c.policy_lr)
      .set("entropy_weight", c.entropy_weight)
      .set("arch_lr", c.arch_lr)
      .set("latency_alpha", c.latency_alpha)
      .set("latency_beta", c.latency_beta)
      .set("choose_by", c.choose_by)
      .set("train_images", c.train_images)
      .set("supernet_images", c.supernet_images)
      .set("validation_images", c.validation_images)
      .set("test_images", c.test_images)
      .set("calibration_images", c.calibration_images)
      .set("supernet_epochs", c.supernet_epochs)
      .set("batch", c.batch)
      .set("shards", c.shards)
      .set("eval_batch", c.eval_batch)
      .set("progressive_shrinking", c.progressive_shrinking)
      .set("supernet_init", c.supernet_init)
      .set("sandwich_near_budget", c.sandwich_near_budget)
      .set("supernet_teacher", c.supernet_teacher)
      .set("final_training", std::string(final_training_name(c.final_training)))
      .set("final_epochs", c.final_epochs)
      .set("final_lr", c.final_lr)
      .set("final_erase", c.final_erase)
      .set("final_weight_decay", c.final_weight_decay)
      .set("final_with_validation", c.final_with_validation)
      .set("final_weight_average", c.final_weight_average)
      .set("time_budget_minutes", c.time_budget_minutes)
      .set("precision", c.precision)
      .set("qat_epochs", c.qat_epochs)
      .set("qat_lr", c.qat_lr)
      .set("quant_calibration_images", c.quant_calibration_images)
      .set("threads", c.threads)
      .set("seed", c.seed < (1ull << 53) ? json::Value(static_cast<double>(c.seed))
                                         : json::Value(std::to_string(c.seed)))  // JSON numbers hold 53 bits
      .set("memory_budget", c.memory_budget);
}

inline SearchConfig search_config_from_json(const json::Value& v) {
  static constexpr const char* what = "search config";
  SearchConfig c;
  const auto i64 = [&](const char* key) {
    const double d = v.at(key, what).as_number(key);
    EDGENAS_CHECK(d == std::floor(d) && std::abs(d) < 9.0e15, Status::corrupt_data, "%s: %s = %g is not an integer", what,
                  key, d);
    return static_cast<std::int64_t>(d);
  };
  const auto integer = [&](const char* key) { return v.at(key, what).as_int(key); };
  const auto number = [&](const char* key) { return v.at(key, what).as_number(key); };
  const auto text = [&](const char* key) { return v.at(key, what).as_string(key); };
  const auto flag = [&](const char* key) { return v.at(key, what).as_bool(key); };
  c.preset = text("preset");
  c.space = search_space_from_json(v.at("space", what));
  c.data = text("data");
  if (v.find("data_shape")) {  // (configs written before other data than Fashion-MNIST have none)
    c.data_shape = text("data_shape");
    c.label_column = integer("label_column");
    c.test_fraction = number("test_fraction");
    c.augmentation = text("augmentation");
    c.reference_images = i64("reference_images");
  } else {
    c.reference_images = 0;  // epochs as given, as before
  }
  c.out = text("out");
  c.resume = flag("resume");
  for (const json::Value& b : v.at("latency_budgets_ms", what).as_array("latency_budgets_ms"))
    c.latency_budgets_ms.push_back(b.as_number("latency_budgets_ms"));
  c.params_budget = i64("params_budget");
  c.arena_budget = i64("arena_budget");
  if (v.find("flash_budget")) c.flash_budget = i64("flash_budget");  // (older configs: none)
  c.macs_budget = i64("macs_budget");
  for (const json::Value& t : v.at("tables", what).as_array("tables")) c.tables.push_back(t.as_string("tables"));
  c.latency_threads = integer("latency_threads");
  c.fit_networks = integer("fit_networks");
  if (v.find("latency_statistic")) c.latency_statistic = text("latency_statistic");  // (older configs: typical)
  EDGENAS_CHECK(c.latency_statistic == "typical" || c.latency_statistic == "p90", Status::corrupt_data,
                "%s: latency_statistic \"%s\", expected typical or p90", what, c.latency_statistic.c_str());
  c.fast_timing = flag("fast_timing");
  c.strategy = parse_strategy(text("strategy"));
  c.evaluations = integer("evaluations");
  c.population = integer("population");
  c.proposals = v.find("proposals") ? integer("proposals") : 1;  // (older configs: one at a time)
  c.reward_target_ms = number("reward_target_ms");
  c.reward_exponent = number("reward_exponent");
  if (v.find("policy_lr")) {  // (configs written before the reinforce strategy have none)
    c.policy_lr = number("policy_lr");
    c.entropy_weight = number("entropy_weight");
  }
  if (v.find("arch_lr")) {  // (configs written before the differentiable strategy have none)
    c.arch_lr = number("arch_lr");
    c.latency_alpha = number("latency_alpha");
    c.latency_beta = number("latency_beta");
  }
  if (v.find("choose_by")) c.choose_by = text("choose_by");  // (older configs: by accuracy)
  c.train_images = i64("train_images");
  c.supernet_images = i64("supernet_images");
  c.validation_images = i64("validation_images");
  c.test_images = i64("test_images");
  c.calibration_images = i64("calibration_images");
  c.supernet_epochs = integer("supernet_epochs");
  c.batch = integer("batch");
  c.shards = v.find("shards") ? integer("shards") : 1;  // (older configs: the whole batch at once)
  c.eval_batch = integer("eval_batch");
  c.progressive_shrinking = flag("progressive_shrinking");
  c.supernet_init = text("supernet_init");
  if (v.find("sandwich_near_budget")) c.sandwich_near_budget = number("sandwich_near_budget");  // (older: 0)
  if (v.find("supernet_teacher")) c.supernet_teacher = text("supernet_teacher");                // (older: none)
  c.final_training = parse_final_training(text("final_training"));
  c.final_epochs = integer("final_epochs");
  c.final_lr = number("final_lr");
  if (v.find("final_erase")) c.final_erase = number("final_erase");  // (older configs: none)
  if (v.find("final_weight_decay")) c.final_weight_decay = number("final_weight_decay");  // (older: 1e-4)
  if (v.find("final_with_validation")) c.final_with_validation = flag("final_with_validation");  // (older: false)
  if (v.find("final_weight_average")) c.final_weight_average = number("final_weight_average");   // (older: none)
  if (v.find("time_budget_minutes")) c.time_budget_minutes = number("time_budget_minutes");      // (older: none)
  if (v.find("precision")) {  // (configs written before int8 have none: fp32)
    c.precision = text("precision");
    c.qat_epochs = integer("qat_epochs");
    c.qat_lr = number("qat_lr");
    c.quant_calibration_images = i64("quant_calibration_images");
  }
  EDGENAS_CHECK(c.precision == "fp32" || c.precision == "int8", Status::corrupt_data,
                "%s: precision \"%s\", expected fp32 or int8", what, c.precision.c_str());
  c.threads = integer("threads");
  if (v.at("seed", what).kind() == json::Value::Kind::string) {
    const std::string seed = text("seed");
    char* end = nullptr;
    c.seed = std::strtoull(seed.c_str(), &end, 10);
    EDGENAS_CHECK(!seed.empty() && *end == '\0', Status::corrupt_data, "%s: seed \"%s\" is not a number", what,
                  seed.c_str());
  } else {
    c.seed = static_cast<std::uint64_t>(i64("seed"));
  }
  c.memory_budget = i64("memory_budget");
  return c;
}

inline bool operator==(const SearchConfig& a, const SearchConfig& b) {
  return json::dump(to_json(a), -1) == json::dump(to_json(b), -1);
}

/// Fields that do not change what a search computes: where it reads and writes, its label,
/// whether it resumes, and the memory budget (whatever it changes — the batch sizes — is
/// recorded itself).
inline bool is_setting(std::string_view field) {
  return field != "preset" && field != "data" && field != "out" && field != "resume" && field != "memory_budget";
}

/// The first field that decides results and differs, as "seed = 7, now 8"; empty if none.
/// `recorded` is what a journal holds (to_json of the run that started it).
inline std::string first_difference(const json::Value& recorded, const json::Value& now) {
  const json::Value* strategy = recorded.find("strategy");
  const std::string started =
      strategy && strategy->kind() == json::Value::Kind::string ? strategy->as_string("strategy") : "";
  for (const auto& [key, value] : now.as_object("settings")) {
    if (!is_setting(key)) continue;
    const json::Value* old = recorded.find(key);
    // Settings added with the distributed search: a journal from before them ran with 1.
    if (!old && (key == "proposals" || key == "shards") && json::dump(value, -1) == "1") continue;
    // Random erasing came later: a journal from before it trained without.
    if (!old && key == "final_erase" && json::dump(value, -1) == "0") continue;
    // So did the final training's weight decay setting: before it, 1e-4.
    if (!old && key == "final_weight_decay" && value.as_number(key.c_str()) == 1e-4) continue;
    // And training the final network on the validation images too: before it, never.
    if (!old && key == "final_with_validation" && json::dump(value, -1) == "false") continue;
    // Nor did they average the final training's weights.
    if (!old && key == "final_weight_average" && json::dump(value, -1) == "0") continue;
    // Nor draw the sandwich near the budgets, or distill the supernet from a teacher.
    if (!old && key == "sandwich_near_budget" && json::dump(value, -1) == "0") continue;
    if (!old && key == "supernet_teacher" && json::dump(value, -1) == "\"\"") continue;
    // Nor choose the final network by anything but the supernet's accuracy.
    if (!old && key == "choose_by" && json::dump(value, -1) == "\"accuracy\"") continue;
    // Nor size it to a time budget.
    if (!old && key == "time_budget_minutes" && json::dump(value, -1) == "0") continue;
    // Settings of a strategy added later: a journal from before it did not use them.
    if (!old && (key == "policy_lr" || key == "entropy_weight") && !started.empty() && started != "reinforce") continue;
    if (!old && (key == "arch_lr" || key == "latency_alpha" || key == "latency_beta") && !started.empty() &&
        started != "differentiable")
      continue;
    const std::string a = old ? json::dump(*old, -1) : "(not recorded: an older edgenas started it)",
                      b = json::dump(value, -1);
    if (a != b) return key + " = " + a + ", now " + b;
  }
  return {};
}

}  // namespace edgenas::search
