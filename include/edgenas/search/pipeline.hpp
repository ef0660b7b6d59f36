// edgenas/search/pipeline.hpp — the search as a library call (opt-in: needs edgenas::data
// and XNNPACK, like edgenas/latency.hpp).
//
//   edgenas::search::SearchConfig config = edgenas::search::presets::quick();
//   edgenas::search::Pipeline search(config, {.progress = show, .cancel = stop_requested});
//   if (!search.run()) { /* cancelled: construct it again with config.resume = true */ }
//   const edgenas::search::SearchReport& report = search.report();
//
// The stages, each a member function run in this order by run():
//   1. load_data       the training set split into training and a held-out validation part (the
//                      search never sees the test set; only the final report does); then the
//                      memory plan (batch sizes that fit config.memory_budget);
//   2. measure_latency the device tables given, or one measured here and now (resumable); the
//                      settings are recorded in the journal, or checked against it on resume;
//   3. train_supernet  the weight-sharing supernet, sandwich rule, checkpointed every epoch;
//   4. search          the strategy proposes architectures within the budgets, scored by their
//                      sub-network's validation accuracy after batch-norm recalibration;
//   5. train_final     the most accurate architecture under each latency budget is retrained
//                      (or fine-tuned), tested and measured for real; model files;
//   6. write_report    result.json, front.tsv, front.svg, report.md.
// Every step is journaled (OUT/journal.jsonl) or checkpointed, so a search that was killed or
// cancelled continues where it stopped and ends with the same front and chosen networks.
//
// Given a Cluster (search/cluster.hpp; MPI in distributed/mpi.hpp), every worker process runs
// the same stages: the supernet trains data-parallel (its shards spread over the workers), each
// round of candidates is evaluated spread over them, and the leader (rank 0) alone reads and
// writes OUT, trains the chosen networks and writes the report. A device rank, if the cluster
// has one, measures the latency table and the chosen networks (search/latency_service.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "edgenas/core/atomic_file.hpp"
#include "edgenas/core/binary_file.hpp"
#include "edgenas/data.hpp"
#include "edgenas/data/source.hpp"
#include "edgenas/export/model_file.hpp"
#include "edgenas/latency.hpp"
#include "edgenas/quant/model.hpp"
#include "edgenas/runtime/reference/int8_inference.hpp"
#include "edgenas/runtime/xnnpack.hpp"
#include "edgenas/runtime/xnnpack/int8_evaluate.hpp"
#include "edgenas/search.hpp"
#include "edgenas/search/cluster.hpp"
#include "edgenas/search/config.hpp"
#include "edgenas/search/differentiable.hpp"
#include "edgenas/search/latency_service.hpp"
#include "edgenas/search/memory.hpp"
#include "edgenas/search/rank_check.hpp"
#include "edgenas/search/report.hpp"
#include "edgenas/search/time_budget.hpp"
#include "edgenas/train.hpp"
#include "edgenas/train/qat.hpp"

namespace edgenas::search {

enum class Stage { data, latency, supernet, search, final_training, report };

inline constexpr const char* stage_name(Stage s) {
  constexpr const char* names[] = {"data", "latency", "supernet", "search", "final training", "report"};
  return names[static_cast<int>(s)];
}

/// One step of a long task: a batch, a measured piece, an evaluated architecture.
struct ProgressEvent {
  Stage stage;
  std::string task;     // e.g. "supernet epoch 2", "latency table", "search (evolution)"
  std::size_t done = 0, total = 0;
  std::string detail;   // e.g. "loss 0.412" or "best 88.10%, last 86.20% at 0.187 ms"
};

struct Callbacks {
  std::function<void(const ProgressEvent&)> progress;  // every step
  std::function<void(const std::string&)> log;         // one line per milestone
  /// Polled at every step; returning true stops the search (Pipeline::run returns false).
  /// Nothing acknowledged is lost: run it again with config.resume = true.
  std::function<bool()> cancel;
};

class Pipeline {
 public:
  /// Checks the settings and budgets (an impossible budget fails here, before any work) and
  /// creates the output folder; the journal is opened once the data has loaded.
  explicit Pipeline(SearchConfig config, Callbacks callbacks = {}, Cluster* cluster = nullptr)
      : config_(std::move(config)), callbacks_(std::move(callbacks)), cluster_(cluster),
        started_(std::chrono::steady_clock::now()) {
    EDGENAS_CHECK(!cluster_ || (cluster_->latency_rank() != cluster_->rank() && cluster_->latency_rank() != 0),
                  Status::invalid_argument,
                  "Pipeline: rank %d is the latency rank: it runs serve_latency(), and rank 0 leads the search",
                  cluster_ ? cluster_->rank() : 0);
    check_config(config_);
    read_data();  // all of it, validated, before anything is written to config_.out
    fit_space_to_data();
    std::sort(config_.latency_budgets_ms.begin(), config_.latency_budgets_ms.end());
    budgets_.params = limit(config_.params_budget);
    budgets_.arena_bytes = limit(config_.arena_budget);
    budgets_.flash_bytes = limit(config_.flash_budget);
    budgets_.macs = limit(config_.macs_budget);
    const FeasibleSampler early(config_.space, budgets_, {}, precision());  // budgets other than latency, now
    if (!config_.latency_budgets_ms.empty()) budgets_.latency_ms = config_.latency_budgets_ms.back();
    namespace fs = std::filesystem;
    if (!leader()) return;  // only the leader touches OUT
    fs::create_directories(config_.out);
    const std::string journal_path = path("journal.jsonl");
    EDGENAS_CHECK(config_.resume || !fs::exists(journal_path) || fs::file_size(journal_path) == 0,
                  Status::invalid_argument,
                  "%s already holds a search (%s); pass --resume to continue it, or choose another --out",
                  config_.out.c_str(), journal_path.c_str());
  }

  /// The settings as run: after the memory plan lowered batch sizes, if it did.
  const SearchConfig& config() const noexcept { return config_; }
  const MemoryPlan& memory_plan() const noexcept { return plan_; }

  /// All stages. False when cancelled (everything acknowledged is on disk).
  bool run() {
    try {
      load_data();
      measure_latency();
      train_supernet();
      search();
      train_final();
      write_report();
      if (cluster_ && leader()) release_latency_rank(*cluster_);
      return true;
    } catch (const Error& e) {
      if (e.status() != Status::cancelled) throw;
      log("cancelled: run again with resume to continue");
      return false;
    }
  }

  // ---- 1. data ------------------------------------------------------------------------------
  void load_data() {
    require(source_.has_value(), "load_data", "a new Pipeline (the data of a pipeline is loaded once)");
    // The images at the space's largest resolution and its channels; the supernet resizes each
    // batch to its sub-networks' resolutions, final training uses copies at the chosen one.
    const int r = *std::max_element(config_.space.resolutions.begin(), config_.space.resolutions.end());
    const int c = config_.space.in_channels;
    data::DataSource& src = *source_;
    train_ = data::conform(src.train, r, r, c);
    if (!src.validation.labels.empty()) {
      validation_ = data::conform(src.validation, r, r, c);
    } else {
      // A sixth of the training images at most (Fashion-MNIST: the 5 000 asked for of 60 000).
      const std::size_t v = std::min(static_cast<std::size_t>(config_.validation_images), train_.size() / 6);
      EDGENAS_CHECK(v >= 1, Status::invalid_argument, "%s: %zu training images leave none for validation",
                    src.path.c_str(), train_.size());
      std::tie(train_, validation_) = data::split(train_, v, config_.seed);
    }
    epoch_scale_ =
        config_.reference_images > 0
            ? std::clamp(static_cast<double>(config_.reference_images) / static_cast<double>(train_.size()), 1.0, 25.0)
            : 1.0;
    if (config_.train_images > 0) data::keep_head(train_, static_cast<std::size_t>(config_.train_images));
    test_ = data::conform(src.test, r, r, c);
    if (config_.test_images > 0) data::keep_head(test_, static_cast<std::size_t>(config_.test_images));
    augmentation_ = augmentation_for(config_.augmentation, src.images, r);
    pictures_ = src.images;
    const std::string dir = src.path;
    for (const std::string& n : src.notes) log("data: " + n);
    source_.reset();  // the copies above are what the search uses
    norm_ = data::compute_normalization(train_);
    const std::size_t supernet_images = config_.supernet_images > 0
                                            ? std::min(train_.size(), static_cast<std::size_t>(config_.supernet_images))
                                            : train_.size();
    log("data: " + std::to_string(train_.size()) + " training (" + std::to_string(supernet_images) +
        " for the supernet), " + std::to_string(validation_.size()) + " validation (held out from training), " +
        std::to_string(test_.size()) + " test images from " + dir + ", " + std::to_string(r) + "x" + std::to_string(r) +
        "x" + std::to_string(c) + ", " + std::to_string(train_.classes) + " classes, augmentation " +
        augmentation_name(augmentation_));
    if (epoch_scale_ > 1.0) {
      char line[200];
      std::snprintf(line, sizeof line, "data: epochs x%.2f (the presets count passes over %lld images)", epoch_scale_,
                    static_cast<long long>(config_.reference_images));
      log(line);
    }
    // The final training's copy of the training and validation images, if it takes both, is
    // memory the process will hold on top of what it holds now.
    const std::int64_t final_copy =
        config_.final_with_validation
            ? static_cast<std::int64_t>(train_.pixels.size() + validation_.pixels.size() +
                                        sizeof(std::int32_t) * (train_.labels.size() + validation_.labels.size()))
            : 0;
    plan_ = plan_memory(config_, resident_bytes() + final_copy);
    // The workspace every network shares, sized once for the largest step (it never grows
    // while a pass runs; untouched memory is not resident).
    activations_->stored.reserve(static_cast<std::size_t>(plan_.stored_bytes));
    activations_->scratch.reserve(static_cast<std::size_t>(plan_.scratch_bytes));
    if (config_.memory_budget > 0) {
      if (plan_.batch != config_.batch || plan_.eval_batch != config_.eval_batch)
        log("memory: batch " + std::to_string(plan_.batch) + ", evaluation batch " + std::to_string(plan_.eval_batch) +
            " to fit " + format_bytes(config_.memory_budget) + " (estimated peak " + format_bytes(plan_.peak_bytes) + ")");
      config_.batch = plan_.batch;
      config_.eval_batch = plan_.eval_batch;
    }
  }

  // ---- 2. latency ---------------------------------------------------------------------------
  void measure_latency() {
    if (leader()) measure_latency_here();
    share_latency_with_workers();
    for (latency::Table& t : tables_)
      t.select(config_.latency_statistic == "p90" ? latency::Statistic::run_p90 : latency::typical_statistic(t));
    latency_of_ = [this](const Genotype& g) {
      double worst = 0.0;
      for (const latency::Table& t : tables_) worst = std::max(worst, t.predict_ms(g));
      return worst;
    };
    sampler_.emplace(config_.space, budgets_, latency_of_, precision());
  }

 private:
  // The leader's part of measure_latency: the journal, the tables (measured here, on the device
  // rank, or given), and the settings recorded or checked.
  void measure_latency_here() {
    open_journal();  // only now: a search that failed on its data leaves no journal behind
    resolve_parallel_settings();
    // Before anything in `out` is written: resuming with, say, another --space must not replace
    // the finished run's latency table, kernel plan and space.json (the tables' keys, known only
    // once they are loaded, are checked again below).
    require_journaled_settings(to_json(config_));
    // The space as searched (after --space auto or "resolutions": "data" followed the data):
    // what `edgenas latency build --space OUT/space.json` takes to measure a table on a board.
    write_file_atomically(path("space.json"), json::dump(to_json(config_.space)) + "\n");
    tables_.clear();
    // The kernel plan (which implementation runs each depthwise layer shape) lives with the
    // search: a resumed search, its tables and its final measurement use the same choices.
    std::string plan_message;
    latency::use_kernel_plan_file(path("kernel-plan.json"), &plan_message);
    if (!plan_message.empty()) log("latency: " + plan_message);
    std::vector<std::string> keys;
    latency::TimingOptions timing;
    if (config_.fast_timing) timing = {.warmup_runs = 1, .round_seconds = 0.0005, .min_rounds = 3, .max_rounds = 3};
    // The runtimes timed together take memory too: an eighth of a memory budget at most.
    if (config_.memory_budget > 0) timing.memory_bytes = std::min(timing.memory_bytes, config_.memory_budget / 8);
    const auto warn_drift = [&](const latency::Drift& d, const std::string& when) {
      table_drift_ = d;
      table_drift_when_ = when;
      if (!d.significant) return;
      char line[320];
      std::snprintf(line, sizeof line,
                    "latency: warning: the device's speed differs by %+.1f %% %s (%d reference pieces re-timed); "
                    "predictions may be off by that much: check the table (edgenas latency check) or build it again",
                    100.0 * (d.ratio - 1), when.c_str(), d.pieces);
      log(line);
    };
    if (config_.tables.empty() && device_rank() >= 0) {
      const std::string file = path("latency-" + std::to_string(config_.latency_threads) + "t" +
                                    (config_.precision == "fp32" ? "" : "-" + config_.precision) + ".json");
      log("latency: rank " + std::to_string(device_rank()) + " measures the pieces of space " + config_.space.name +
          " on its device (" + std::to_string(config_.latency_threads) +
          (config_.latency_threads == 1 ? " thread" : " threads") + "); " + file + " keeps its table");
      TableRequest request{config_.space,           config_.latency_threads, config_.fit_networks, config_.seed,
                           config_.precision,       timing,                  {}};
      if (std::filesystem::exists(file)) request.table = read_text_file(file);
      const std::string text = request_table(*cluster_, request);
      tables_.push_back(latency::parse_table(text, file, latency::this_device(config_.latency_threads, config_.precision),
                                             latency::DeviceCheck::warn_if_different));
      write_file_atomically(file, text);
      log("latency: the device: " + latency::describe(tables_.back().device));
      keys.push_back(tables_.back().device.key());
      warn_drift(tables_.back().drift_at_end, "at the end of the latency table's build, against the build as a whole");
    } else if (config_.tables.empty()) {
      const std::string file = path("latency-" + std::to_string(config_.latency_threads) + "t" +
                                    (config_.precision == "fp32" ? "" : "-" + config_.precision) + ".json");
      // A resumed run finds its table (complete or part-built): what is in it is kept, not re-measured.
      log(std::string(std::filesystem::exists(file)
                          ? "latency: reusing the table in " + file + " (pieces it lacks are measured: "
                          : "latency: measuring the pieces into " + file + " (") +
          "space " + config_.space.name + ", this device, " + std::to_string(config_.latency_threads) +
          (config_.latency_threads == 1 ? " thread)" : " threads)"));
      tables_.push_back(latency::build_table(
          config_.space, file, config_.latency_threads, config_.fit_networks, config_.seed, timing,
          [&](std::size_t d, std::size_t n, const std::string& key) {
            step(Stage::latency, "latency table", d, n, key.empty() ? "a fitting network" : key);
          },
          config_.precision));
      keys.push_back(tables_.back().device.key());
      warn_drift(tables_.back().drift_at_end, "at the end of the latency table's build, against the build as a whole");
    } else {
      const latency::Fingerprint here = latency::this_device(config_.latency_threads, config_.precision);
      for (const std::string& file : config_.tables) {
        std::string warning;
        tables_.push_back(latency::load_table(file, here, latency::DeviceCheck::warn_if_different, &warning));
        keys.push_back(tables_.back().device.key() + " " + file);
        if (!warning.empty()) log("latency: " + warning + " (used as that device's table)");
        // A table of this device may be hours old: its reference pieces, timed again, say
        // whether the device still runs at the speed it was measured at.
        else if (tables_.size() == 1)
          warn_drift(latency::measure_with_references(tables_.back(), {}, timing)
                         .drift(tables_.back(), tables_.back().statistic),
                     "now, against when " + file + " was measured");
      }
    }
    // The settings: a new run records them, a resumed one must match them.
    json::Value settings = to_json(config_);
    json::Value::Array table_keys;
    for (const std::string& k : keys) table_keys.emplace_back(k);
    settings.set("table_keys", std::move(table_keys));
    if (journal_->records().empty()) {
      json::Value record = json::Value().set("type", "settings");
      for (const auto& [key, value] : settings.as_object("settings")) record.set(key, value);
      journal_->append(record);
    } else {
      require_journaled_settings(settings);
    }
  }

  // A resumed search must run with the settings its journal started with.
  void require_journaled_settings(const json::Value& settings) const {
    if (journal_->records().empty()) return;
    const std::string diff = first_difference(journal_->records().front(), settings);
    EDGENAS_CHECK(diff.empty(), Status::invalid_argument,
                  "%s: this search was started with %s; resume with the same settings or use another --out",
                  journal_->path().c_str(), diff.c_str());
  }

  // Shards and proposals per round decide results. Left to default (0), a resumed search keeps
  // the recorded ones (1 in journals from before them) and a new one takes one per worker; given,
  // they must match the journal like every setting.
  void resolve_parallel_settings() {
    const json::Value* recorded = journal_->records().empty() ? nullptr : &journal_->records().front();
    const auto resolve = [&](int& value, const char* key) {
      if (value != 0) return;
      const json::Value* v = recorded ? recorded->find(key) : nullptr;
      value = v ? v->as_int(key, 1) : recorded ? 1 : workers();
    };
    resolve(config_.shards, "shards");
    resolve(config_.proposals, "proposals");
    EDGENAS_CHECK(config_.shards % workers() == 0, Status::invalid_argument,
                  "%s: the supernet trains with %d shards per step, which %d worker processes cannot share evenly; "
                  "run it on a number of workers that divides %d",
                  config_.out.c_str(), config_.shards, workers(), config_.shards);
    EDGENAS_CHECK(config_.batch % config_.shards == 0, Status::invalid_argument,
                  "search config: a batch of %d does not split into %d equal shards (choose --batch or --shards so "
                  "that they do)",
                  config_.batch, config_.shards);
  }

  // Worker 0 sends the other workers the resolved settings and the tables (as JSON text: every
  // worker predicts from the same numbers, so all draw the same architectures).
  void share_latency_with_workers() {
    if (workers() <= 1) return;
    std::string text;
    if (leader()) {
      json::Value::Array tables;
      for (const latency::Table& t : tables_) tables.emplace_back(json::dump(latency::to_json(t), -1));
      text = json::dump(json::Value()
                            .set("shards", config_.shards)
                            .set("proposals", config_.proposals)
                            .set("batch", config_.batch)
                            .set("eval_batch", config_.eval_batch)
                            .set("tables", std::move(tables)),
                        -1);
    }
    cluster_->broadcast(text);
    const json::Value v = json::parse(text, "settings from rank 0");
    std::vector<latency::Table> tables;
    const latency::Fingerprint here = latency::this_device(config_.latency_threads, config_.precision);
    for (const json::Value& t : v.at("tables", "settings").as_array("tables"))
      tables.push_back(latency::parse_table(t.as_string("table"), "rank 0's latency table", here,
                                            latency::DeviceCheck::warn_if_different));
    tables_ = std::move(tables);
    config_.shards = v.at("shards", "settings").as_int("shards", 1);
    config_.proposals = v.at("proposals", "settings").as_int("proposals", 1);
    config_.batch = v.at("batch", "settings").as_int("batch", 1);
    config_.eval_batch = v.at("eval_batch", "settings").as_int("eval_batch", 1);
  }

 public:

  // ---- 3. supernet --------------------------------------------------------------------------
  void train_supernet() {
    require(sampler_.has_value() && !train_.labels.empty(), "train_supernet", "load_data and measure_latency");
    supernet_ = std::make_unique<train::Supernet>(config_.space, config_.seed);
    train::SupernetConfig sc;
    sc.epochs = scaled_epochs(config_.supernet_epochs);
    sc.batch_size = config_.batch;
    sc.lr = 0.15f;
    sc.warmup_epochs = std::min(0.5f, 0.5f * static_cast<float>(config_.supernet_epochs));
    sc.optimizer.weight_decay = 5e-5f;
    sc.augmentation = augmentation_;
    sc.progressive_shrinking = config_.progressive_shrinking;
    sc.seed = config_.seed;
    const std::string checkpoint = path("supernet.ckpt");
    sc.checkpoint = leader() ? checkpoint : "";
    std::function<Candidate(Rng&)> draw = [this](Rng& r) { return sampler_->random(r); };
    if (differentiable()) {  // FBNet: the weights train for the architectures θ favours
      start_architecture_learning(scaled_epochs(config_.supernet_epochs));
      draw = [this](Rng& r) { return sampler_->sample(learner_->policy(), r); };
    }
    sc.sample = [this, draw, near = config_.sandwich_near_budget](Rng& rng) {
      return sampler_->near_budget(draw, near, rng).choices;
    };
    if (!config_.supernet_teacher.empty()) {
      teacher_ = train::load_network(config_.supernet_teacher);
      teacher_->share_activations(activations_);  // its logits are copied before any sub-network runs
      sc.teacher = teacher_.get();
    }
    sc.images = static_cast<std::size_t>(config_.supernet_images);  // the first ones, not a copy
    sc.shards = config_.shards;
    sc.collective = workers() > 1 ? cluster_ : nullptr;
    train::SupernetTrainer st(*supernet_, train_, norm_, sc);
    st.share_activations(activations_);
    if (leader() && std::filesystem::exists(checkpoint)) {
      st.resume(checkpoint);
      journal_recovered_epochs("supernet_epoch", json::Value(), st.epochs_done());
    } else if (leader() && !config_.supernet_init.empty()) {
      st.resume(config_.supernet_init);
    }
    st.synchronize();  // the leader's weights on every worker
    // (a resume may be one behind; a given supernet may hold more epochs than this search trains)
    if (differentiable()) architecture_epochs_up_to(std::min(st.epochs_done(), sc.epochs));
    if (!st.finished())
      log("supernet: " + std::to_string(supernet_->parameter_count()) + " shared weights; training epochs " +
          std::to_string(st.epochs_done() + 1) + ".." + std::to_string(sc.epochs) + " of " + std::to_string(sc.epochs) +
          " (sandwich rule, " +
          (sc.teacher ? "distillation from " + config_.supernet_teacher : "in-place distillation") +
          (sc.progressive_shrinking ? ", progressive shrinking" : "") + ")");
    while (!st.finished()) {
      const std::string task = "supernet epoch " + std::to_string(st.epochs_done() + 1);
      const auto e = st.train_epoch(training_progress(Stage::supernet, task));
      record(json::Value()
                           .set("type", "supernet_epoch")
                           .set("epoch", e.epoch)
                           .set("loss", e.loss)
                           .set("accuracy", e.accuracy)
                           .set("distill_loss", e.distill_loss)
                           .set("seconds", e.seconds));
      char line[160];
      std::snprintf(line, sizeof line, "supernet epoch %d: largest loss %.4f, training accuracy %.2f%%, distillation loss %.4f, %.0f s",
                    e.epoch, e.loss, 100 * e.accuracy, e.distill_loss, e.seconds);
      log(line);
      if (differentiable()) architecture_epochs_up_to(e.epoch);
    }
    if (differentiable()) architecture_epochs_up_to(sc.epochs);  // all of them, after a given supernet
    teacher_.reset();
  }

  // ---- 4. search ----------------------------------------------------------------------------
  void search() {
    require(supernet_ != nullptr, "search", "train_supernet");
    const std::unordered_map<Genotype, double, GenotypeHash> known = journaled_accuracies();
    if (!known.empty()) log("search: " + std::to_string(known.size()) + " evaluations recovered from the journal");
    evaluator_.emplace(*supernet_, train_, validation_, norm_,
                       train::SubnetEvalConfig{static_cast<std::size_t>(config_.calibration_images), config_.eval_batch});
    evaluator_->share_activations(activations_);
    StrategyConfig sc;
    sc.strategy = config_.strategy;
    sc.evaluations = config_.evaluations;
    sc.population = std::min(config_.population, config_.evaluations);
    sc.tournament = std::max(2, sc.population / 4);
    sc.seed = config_.seed;
    sc.reward_target_ms = config_.reward_target_ms;
    sc.reward_exponent = config_.reward_exponent;
    sc.policy_lr = config_.policy_lr;
    sc.entropy_weight = config_.entropy_weight;
    sc.proposals = config_.proposals;
    sc.batch = workers();
    if (differentiable()) sc.learned = &learner_->policy();
    const std::string task = "search (" + std::string(strategy_name(config_.strategy)) + ")";
    double best = 0.0;
    SearchRun run(
        *sampler_, sc,
        [&](const std::vector<Candidate>& round) {
          // Candidates not in the journal, dealt out to the workers in turn: worker w scores
          // the w-th, (w + W)-th, … of them; the leader journals them all in order.
          std::vector<double> accuracy(round.size());
          std::vector<std::size_t> todo;
          for (std::size_t i = 0; i < round.size(); ++i) {
            if (auto it = known.find(round[i].genotype); it != known.end()) accuracy[i] = it->second;
            else todo.push_back(i);
          }
          if (todo.empty()) return accuracy;
          check_cancel();
          const auto W = static_cast<std::size_t>(workers()), w = static_cast<std::size_t>(worker());
          std::vector<double> mine;
          for (std::size_t p = w; p < todo.size(); p += W) mine.push_back(candidate_accuracy(round[todo[p]]));
          const std::vector<double> all = W > 1 ? cluster_->gather(mine) : mine;
          std::size_t at = 0;
          for (std::size_t from = 0; from < W; ++from)
            for (std::size_t p = from; p < todo.size(); p += W) accuracy[todo[p]] = all.at(at++);
          for (std::size_t i : todo) {
            const Candidate& c = round[i];
            record(json::Value()
                       .set("type", "candidate")
                       .set("genotype", to_string(c.genotype))
                       .set("accuracy", accuracy[i])
                       .set("latency_ms", c.costs.latency_ms)
                       .set("params", c.costs.params)
                       .set("macs", c.costs.macs)
                       .set("arena_bytes", c.costs.arena_bytes)
                       .set("flash_bytes", c.costs.flash_bytes));
          }
          return accuracy;
        },
        [&](const std::vector<Candidate>& h) {
          best = std::max(best, h.back().accuracy);
          char detail[80];
          std::snprintf(detail, sizeof detail, "best %.2f%%, last %.2f%% at %.3f ms", 100 * best, 100 * h.back().accuracy,
                        h.back().costs.latency_ms);
          step(Stage::search, task, h.size(), static_cast<std::size_t>(sc.evaluations), detail);
        });
    history_ = run.run();
    front_ = front_of(history_);
  }

  // ---- the supernet's ranking, measured (optional, after search) -------------------------------
  /// `n` evaluated architectures spread across the latency range, each trained alone from
  /// scratch for `epochs` (scaled like every schedule) `trainings` times (seeds seed, seed + 1, …)
  /// and validated on the held-out split: how well the supernet ranked them against the mean of
  /// their trainings (search/rank_check.hpp). Journaled per training, so a killed check resumes,
  /// and a check asked again with more trainings trains only the new ones; written to
  /// OUT/rank-check.json. The leader runs it.
  RankCheck rank_check(int n, int epochs, int trainings = 1) {
    require(evaluator_.has_value(), "rank_check", "search");
    EDGENAS_CHECK(n >= 2 && epochs >= 1 && trainings >= 1, Status::invalid_argument,
                  "rank check: %d architectures trained alone %d time(s) for %d epochs (at least 2 architectures, "
                  "1 training, 1 epoch)",
                  n, trainings, epochs);
    RankCheck r;
    r.epochs = epochs;
    for (int t = 0; t < trainings; ++t) r.seeds.push_back(config_.seed + static_cast<std::uint64_t>(t));
    if (!leader()) return r;
    // Trained by an earlier (interrupted or shorter) check, by genotype and seed; records written
    // before repeated trainings have no seed: theirs was the search's.
    std::map<std::pair<std::string, std::uint64_t>, double> trained;
    for (const json::Value& rec : journal_->records())
      if (type_of(rec) == "rank_check" && rec.at("epochs", "rank_check").as_int("epochs") == epochs) {
        const json::Value* seed = rec.find("seed");
        trained[{rec.at("genotype", "rank_check").as_string("genotype"),
                 seed ? static_cast<std::uint64_t>(seed->as_int64("seed", 0)) : config_.seed}] =
            rec.at("accuracy", "rank_check").as_number("accuracy");
      }
    const std::vector<std::size_t> picked = spread_by_latency(history_, static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < picked.size(); ++i) {
      const Candidate& c = history_[picked[i]];
      const std::string g = to_string(c.genotype);
      RankedArchitecture a{c};
      for (const std::uint64_t seed : r.seeds) {
        if (const auto it = trained.find({g, seed}); it != trained.end()) {
          add_training(a, it->second);
          continue;
        }
        sets_ = sets_at(c.genotype.input.h);
        train::Network net(c.genotype, seed);
        net.share_activations(activations_);
        const train::TrainConfig tc = standalone_schedule(scaled_epochs(epochs), config_.batch, augmentation_, seed);
        train::Trainer trainer(net, *sets_.train, norm_, tc);
        std::string task = "rank check " + std::to_string(i + 1) + "/" + std::to_string(picked.size());
        if (trainings > 1) task += " seed " + std::to_string(seed);
        while (!trainer.finished()) trainer.train_epoch(training_progress(Stage::search, task));
        const double accuracy = train::evaluate(net, *sets_.validation, norm_, config_.eval_batch).accuracy;
        record(json::Value()
                   .set("type", "rank_check")
                   .set("genotype", g)
                   .set("epochs", epochs)
                   .set("seed", static_cast<std::int64_t>(seed))
                   .set("accuracy", accuracy)
                   .set("supernet_accuracy", c.accuracy));
        add_training(a, accuracy);
      }
      r.architectures.push_back(std::move(a));
    }
    score(r);
    write_file_atomically(path("rank-check.json"), json::dump(to_json(r)) + "\n");
    log("rank check: " + summary(r));
    return r;
  }

  // ---- 5. final training --------------------------------------------------------------------
  void train_final() {
    require(evaluator_.has_value(), "train_final", "search");
    if (!leader()) return;  // the leader trains and measures the chosen networks
    const bool retrain = config_.final_training == FinalTraining::retrain;
    chosen_.clear();
    std::vector<double> targets = config_.latency_budgets_ms;
    if (targets.empty()) targets.push_back(std::numeric_limits<double>::infinity());
    for (std::size_t b = 0; b < targets.size(); ++b) {
      Budgets bb = budgets_;
      bb.latency_ms = targets[b];
      const std::ptrdiff_t pick =
          config_.choose_by == "accuracy+macs" ? best_by_accuracy_and_macs(history_, bb) : best_within(history_, bb);
      ChosenNetwork ch;
      ch.budget_ms = targets[b];
      if (pick < 0) {
        log("budget " + format_ms(targets[b]) + ": no evaluated architecture meets it");
        chosen_.push_back(ch);
        continue;
      }
      const Candidate& cand = history_[static_cast<std::size_t>(pick)];
      sets_ = sets_at(cand.genotype.input.h);
      const data::Dataset &train = *sets_.train, &validation = *sets_.validation, &test = *sets_.test;
      ch.found = true;
      ch.candidate = cand;
      std::unique_ptr<train::Network> net;
      if (retrain) {
        net = std::make_unique<train::Network>(cand.genotype, config_.seed);
        net->share_activations(activations_);
      } else {
        net = evaluator_->network(cand.choices, cand.genotype);
      }
      train::TrainConfig tc;
      tc.epochs = scaled_epochs(config_.final_epochs);
      tc.batch_size = config_.batch;
      tc.lr = static_cast<float>(config_.final_lr);
      tc.warmup_epochs = retrain ? 1.0f : 0.2f;
      tc.optimizer.weight_decay = static_cast<float>(config_.final_weight_decay);
      tc.augmentation = augmentation_;
      if (pictures_) tc.augmentation.erase_probability = static_cast<float>(config_.final_erase);
      tc.seed = config_.seed;
      tc.weight_average = static_cast<float>(config_.final_weight_average);
      const std::string tag = targets.size() == 1 ? "" : "-" + std::to_string(b + 1);
      tc.checkpoint = path("final" + tag + ".ckpt");
      // The validation images join the final training when asked (the choice is made): a copy
      // of both, for this training only.
      const data::Dataset fit = config_.final_with_validation ? data::concatenate(train, validation) : data::Dataset{};
      ch.validation_held_out = !config_.final_with_validation;
      const data::Dataset& images = config_.final_with_validation ? fit : train;
      const json::Value budget_key = std::isfinite(targets[b]) ? json::Value(targets[b]) : json::Value();
      if (tc.epochs > 0 && config_.time_budget_minutes > 0)
        tc.epochs = epochs_within_time(tc, images, cand.genotype, budget_key, targets.size() - b);
      ch.final_epochs = tc.epochs;
      if (tc.epochs > 0) {
        const bool paced = config_.time_budget_minutes > 0;
        train::Trainer trainer(*net, images, norm_, tc);
        if (std::filesystem::exists(tc.checkpoint)) {
          trainer.resume(tc.checkpoint);
          journal_recovered_epochs("finetune_epoch", budget_key, trainer.epochs_done());
        }
        while (true) {
          if (paced) keep_to_time_budget(trainer, budget_key);
          if (trainer.finished()) break;
          const std::string task = std::string(retrain ? "retrain epoch " : "fine-tune epoch ") +
                                   std::to_string(trainer.epochs_done() + 1) + "/" +
                                   std::to_string(trainer.config().epochs);
          const auto e = trainer.train_epoch(training_progress(Stage::final_training, task));
          journal_->append(json::Value()
                               .set("type", "finetune_epoch")
                               .set("budget_ms", budget_key)
                               .set("epoch", e.epoch)
                               .set("loss", e.loss)
                               .set("accuracy", e.accuracy)
                               .set("seconds", e.seconds)
                               .set("images", static_cast<double>(images.size())));
        }
        ch.final_epochs = trainer.config().epochs;
        // The average becomes the model; the last weights' test accuracy is kept beside it.
        if (train::WeightAverage* average = trainer.weight_average()) {
          ch.test_accuracy_without_average = train::evaluate(*net, test, norm_, config_.eval_batch).accuracy;
          average->swap();
        }
      }
      ch.validation_accuracy = train::evaluate(*net, validation, norm_, config_.eval_batch).accuracy;
      const train::EvalStats t = train::evaluate(*net, test, norm_, config_.eval_batch);
      ch.test_accuracy = ch.float_test_accuracy = t.accuracy;
      Model model{cand.genotype, net->inference_weights(), norm_.mean, norm_.stddev, {}};
      ch.model_path = path("model" + tag + ".enas");
      ch.precision = config_.precision;
      if (int8()) {
        quantize_chosen(ch, model);
        ch.xnnpack_agreement = int8_agreement(*model.int8, 500);
      } else {
        ch.xnnpack_agreement = xnnpack_agreement(model, t.predictions, 500);
      }
      save_model(ch.model_path, model);
      measure_chosen(ch);
      char line[200];
      std::snprintf(line, sizeof line,
                    "budget %s: test accuracy %.2f%%, latency %.4f ms measured, %.4f ms predicted, %lld parameters",
                    format_ms(targets[b]).c_str(), 100 * ch.test_accuracy, ch.measured_ms, cand.costs.latency_ms,
                    static_cast<long long>(cand.costs.params));
      log(line);
      chosen_.push_back(ch);
    }
  }

  // The final training's epochs under config.time_budget_minutes: as many as fit in what the
  // earlier stages left (shared equally by the networks still to train, less a reserve for
  // testing, measuring and exporting each), at most the configured count, at least one. Sized
  // from timed training steps on a scratch network of the same architecture (keep_to_time_budget
  // then corrects it at the real epochs' pace); journaled, so a resume trains the same count.
  int epochs_within_time(const train::TrainConfig& tc, const data::Dataset& images, const Genotype& genotype,
                         const json::Value& budget_key, std::size_t networks_left) {
    // A resume: as planned (and re-planned) before.
    if (const json::Value* plan = last_record({"final_plan", "final_replan"}, budget_key))
      return plan->at("epochs", "final_plan").as_int("epochs", 1, 100000);
    // Measured on the full preset: its epochs ran 5–8 % slower than the sample (38 s against 36 s;
    // the sample's images stay in cache, the real epochs also write checkpoints). A tenth more.
    const double epoch_seconds = 1.1 * sampled_epoch_seconds(tc, images, genotype);
    // After each training: evaluation, XNNPACK's agreement and the latency measurement (7 s on the
    // full preset); int8 adds QAT, an epoch of which (batch 32, fake quantization)
    // took 4.7 float epochs (34 s against 7.3 s on 10 000 images): counted as five.
    const double after = 30.0 + (int8() ? 5.0 * scaled_epochs(config_.qat_epochs) * epoch_seconds : 0.0);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const double left = config_.time_budget_minutes * 60.0 - elapsed;
    const double share = left / static_cast<double>(networks_left) - after;
    const int epochs =
        static_cast<int>(std::clamp(std::floor(share / epoch_seconds), 1.0, static_cast<double>(tc.epochs)));
    journal_->append(json::Value()
                         .set("type", "final_plan")
                         .set("budget_ms", budget_key)
                         .set("epochs", epochs)
                         .set("epoch_seconds", epoch_seconds)
                         .set("seconds_left", left)
                         .set("training_seconds", share));
    char line[240];
    std::snprintf(line, sizeof line, "time budget: %.1f of %g min left, %.1f s per epoch: %d of %d final epochs%s",
                  left / 60.0, config_.time_budget_minutes, epoch_seconds, epochs, tc.epochs,
                  share < epoch_seconds ? " (the budget is spent; one epoch all the same)" : "");
    log(line);
    return epochs;
  }

  // Whether a journal record belongs to the final training under this latency budget.
  static bool of_budget(const json::Value& r, const json::Value& budget_key) {
    const json::Value* b = r.find("budget_ms");
    return b && json::dump(*b, -1) == json::dump(budget_key, -1);
  }

  // The journal's last record of one of `types` for this budget's final training, if any.
  const json::Value* last_record(std::initializer_list<std::string_view> types, const json::Value& budget_key) const {
    const json::Value* found = nullptr;
    for (const json::Value& r : journal_->records())
      if (std::find(types.begin(), types.end(), type_of(r)) != types.end() && of_budget(r, budget_key)) found = &r;
    return found;
  }

  // Before each final epoch under a time budget: at the pace the epochs so far really ran
  // (journaled, so a resume decides the same), how many fit in the plan's training seconds? The
  // training is lengthened (up to --finetune-epochs) or shortened to that, and the change journaled.
  void keep_to_time_budget(train::Trainer& trainer, const json::Value& budget_key) {
    const json::Value* first = last_record({"final_plan"}, budget_key);
    if (!first || !first->find("training_seconds")) return;  // planned by a version that did not re-plan
    const double training_seconds = first->at("training_seconds", "final_plan").as_number("training_seconds");
    const double sampled_seconds = first->at("epoch_seconds", "final_plan").as_number("epoch_seconds");
    const int done = trainer.epochs_done();
    std::vector<double> seconds(static_cast<std::size_t>(done) + 1, -1.0);  // the latest record of each epoch
    for (const json::Value& r : journal_->records()) {
      if (type_of(r) != "finetune_epoch" || !r.find("seconds") || !of_budget(r, budget_key)) continue;
      const int e = r.at("epoch", "finetune_epoch").as_int("epoch", 1, 100000);
      if (e <= done) seconds[static_cast<std::size_t>(e)] = r.at("seconds", "finetune_epoch").as_number("seconds");
    }
    double timed_seconds = 0;
    int timed = 0;
    for (int e = 1; e <= done; ++e)
      if (seconds[static_cast<std::size_t>(e)] >= 0) timed_seconds += seconds[static_cast<std::size_t>(e)], ++timed;
    if (timed == 0) return;
    // Epochs recovered from a checkpoint have no time in the journal: counted at the others' pace.
    const double spent = timed_seconds * done / timed;
    const int planned = trainer.config().epochs;
    const int fit = epochs_at_pace(planned, scaled_epochs(config_.final_epochs), training_seconds, done, spent);
    if (fit == planned) return;
    trainer.set_epochs(fit);
    journal_->append(json::Value()
                         .set("type", "final_replan")
                         .set("budget_ms", budget_key)
                         .set("after_epoch", done)
                         .set("epochs", fit)
                         .set("epoch_seconds", spent / done));
    char line[200];
    std::snprintf(line, sizeof line, "time budget: epochs take %.1f s, not %.1f s as sampled: %d final epochs, not %d",
                  spent / done, sampled_seconds, fit, planned);
    log(line);
  }

  // Seconds per epoch of training `genotype` on `images`: a scratch network trains a sample of
  // 24 batches twice (the first pass warms caches and allocations) and the second is scaled.
  double sampled_epoch_seconds(train::TrainConfig tc, const data::Dataset& images, const Genotype& genotype) {
    const std::size_t batch = static_cast<std::size_t>(tc.batch_size);
    const data::Dataset sample = data::head(images, 24 * batch);
    train::Network scratch(genotype, config_.seed);
    scratch.share_activations(activations_);
    tc.epochs = 2;
    tc.checkpoint.clear();
    train::Trainer trainer(scratch, sample, norm_, tc);
    trainer.train_epoch();
    const double seconds = trainer.train_epoch().seconds;
    return seconds * static_cast<double>(images.size() / batch) / static_cast<double>(sample.size() / batch);
  }

  // ---- 6. report ----------------------------------------------------------------------------
  const SearchReport& write_report() {
    require(!tables_.empty(), "write_report", "the stages before it");
    if (!leader()) return report_;
    report_ = {};
    report_.device = latency::describe(tables_.front().device);
    report_.table_drift = table_drift_.ratio;
    report_.table_drift_significant = table_drift_.significant;
    report_.table_drift_when = table_drift_when_;
    report_.latency_statistic = config_.latency_statistic;
    report_.time_budget_minutes = config_.time_budget_minutes;
    report_.space = config_.space.name;
    report_.strategy = std::string(strategy_name(config_.strategy));
    report_.choose_by = config_.choose_by;
    report_.preset = config_.preset;
    report_.seed = config_.seed;
    report_.history = history_;
    report_.front = front_;
    report_.chosen = chosen_;
    report_.budgets = budgets_;
    report_.latency_budgets = config_.latency_budgets_ms;
    report_.hypervolume = hypervolume(history_, std::isfinite(budgets_.latency_ms) ? budgets_.latency_ms : 1.0);
    report_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    report_.peak_memory_bytes = peak_resident_bytes();
    search::write_report(config_.out, report_);
    const bool finished_before = std::any_of(journal_->records().begin(), journal_->records().end(),
                                             [](const json::Value& r) { return type_of(r) == "finished"; });
    if (!finished_before)  // resuming a finished search rewrites its report, not its journal
      journal_->append(json::Value().set("type", "finished").set("front_size", static_cast<int>(front_.size())));
    return report_;
  }

  const SearchReport& report() const noexcept { return report_; }
  const std::vector<Candidate>& history() const noexcept { return history_; }
  /// Activation memory of the training and evaluation steps (shared by every network).
  const train::Activations& activations() const noexcept { return *activations_; }

 private:
  static std::int64_t limit(std::int64_t budget) {
    return budget > 0 ? budget : std::numeric_limits<std::int64_t>::max();
  }
  static std::string format_ms(double ms) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f ms", ms);
    return std::isfinite(ms) ? b : "none";
  }

  // Every number a user can set, with its range: NaN fails every comparison, so it is refused
  // too, and the message names the field and the range (limits: docs/reliability.md).
  static void check_config(const SearchConfig& c) {
    const auto in = [](double v, double lo, double hi, const char* what) {
      EDGENAS_CHECK(v >= lo && v <= hi, Status::invalid_argument, "search config: %s = %g, expected %g to %g", what, v,
                    lo, hi);
    };
    constexpr double big = 1e15;  // budgets in bytes, parameters and MACs
    in(c.evaluations, 1, 1e6, "evaluations");
    if (c.strategy == Strategy::evolution || c.strategy == Strategy::nsga2) in(c.population, 2, 1e5, "population");
    in(c.batch, 1, 1e5, "batch");
    in(c.shards, 0, 4096, "shards (0: one per worker)");
    in(c.proposals, 0, 1e5, "proposals (0: one per worker)");
    in(c.eval_batch, 1, 1e5, "eval_batch");
    EDGENAS_CHECK(c.precision == "fp32" || c.precision == "int8", Status::invalid_argument,
                  "search config: precision \"%s\", expected fp32 or int8", c.precision.c_str());
    in(c.qat_epochs, 0, 1e4, "qat_epochs");
    in(c.qat_lr, 1e-9, 10, "qat_lr");
    in(static_cast<double>(c.quant_calibration_images), 1, 1e8, "quant_calibration_images");
    in(c.supernet_epochs, 0, 1e4, "supernet_epochs");
    in(c.final_epochs, 0, 1e4, "final_epochs");
    in(c.final_lr, 1e-9, 10, "final_lr");
    in(c.final_erase, 0, 1, "final_erase (a probability)");
    in(c.final_weight_decay, 0, 0.5, "final_weight_decay");
    in(c.final_weight_average, 0, 0.999999, "final_weight_average (a decay)");
    in(c.time_budget_minutes, 0, 1e6, "time_budget_minutes");
    in(c.sandwich_near_budget, 0, 1, "sandwich_near_budget (a share of the budget)");
    EDGENAS_CHECK(c.choose_by == "accuracy" || c.choose_by == "accuracy+macs", Status::invalid_argument,
                  "search config: choose_by \"%s\", expected accuracy or accuracy+macs", c.choose_by.c_str());
    EDGENAS_CHECK(!(c.final_with_validation && c.precision == "int8"), Status::invalid_argument,
                  "search config: final_with_validation with int8: the int8 search chooses between post-training "
                  "quantization and QAT on the validation images, which must stay held out (train the final network "
                  "on the training images only)");
    in(c.threads, 1, max_threads, "threads");
    in(c.latency_threads, 1, max_threads, "latency_threads");
    in(c.fit_networks, 2, 1e4, "fit_networks");
    for (const auto& [v, what] : {std::pair{c.train_images, "train_images"},
                                  {c.supernet_images, "supernet_images"},
                                  {c.test_images, "test_images"}})
      in(static_cast<double>(v), 0, 1e9, what);
    in(static_cast<double>(c.validation_images), 1, 1e9, "validation_images");
    in(static_cast<double>(c.calibration_images), 2, 1e9, "calibration_images");
    for (const auto& [v, what] : {std::pair{c.params_budget, "params_budget"},
                                  {c.arena_budget, "arena_budget"},
                                  {c.flash_budget, "flash_budget"},
                                  {c.macs_budget, "macs_budget"},
                                  {c.memory_budget, "memory_budget"}})
      in(static_cast<double>(v), 0, big, what);
    for (double b : c.latency_budgets_ms) in(b, 1e-6, 1e6, "latency budget (ms)");
    if (c.reward_target_ms != 0) in(c.reward_target_ms, 1e-6, 1e6, "reward_target_ms (0: no soft reward)");
    in(c.reward_exponent, -10, 0, "reward_exponent");
    in(c.policy_lr, 1e-9, 1e3, "policy_lr");
    in(c.entropy_weight, 0, 1e3, "entropy_weight");
    in(c.arch_lr, 1e-9, 10, "arch_lr");
    in(c.latency_alpha, 1e-9, 1e3, "latency_alpha");
    in(c.latency_beta, 0, 10, "latency_beta");
    in(c.test_fraction, 0.01, 0.9, "test_fraction");
    in(c.label_column, -1, 1e6, "label_column (-1: the last)");
    in(static_cast<double>(c.reference_images), 0, 1e9, "reference_images");
    const std::string& a = c.augmentation;
    EDGENAS_CHECK(a == "auto" || a == "auto/no-flip" || a == "auto/no-crop" || a == "none" || a == "crop" ||
                      a == "flip" || a == "crop+flip",
                  Status::invalid_argument,
                  "search config: augmentation \"%s\", expected auto (or auto/no-flip, auto/no-crop), none, crop, flip "
                  "or crop+flip",
                  a.c_str());
  }

  // ---- the data ------------------------------------------------------------------------------
  void read_data() {
    const std::string path = config_.data.empty() ? data::fashion_mnist_dir() : config_.data;
    data::LoadOptions o;
    o.test_fraction = config_.test_fraction;
    o.seed = config_.seed;
    o.shape = config_.data_shape;
    o.label_column = config_.label_column;
    source_ = data::load(path, o);
    EDGENAS_CHECK(!source_->validation.labels.empty() || source_->train.size() >= 6, Status::invalid_argument,
                  "%s: %zu training images leave none for validation (a sixth of them is held out)", path.c_str(),
                  source_->train.size());
  }

  // `--space auto` (a space without stages) becomes spaces::for_data; "resolutions": "data" (none
  // given) takes the data's; every space takes the data's class count. Images are made to fit
  // the space's channels (1 ↔ 3) and resolution when loaded.
  void fit_space_to_data() {
    const data::DataSource& d = *source_;
    SearchSpace& s = config_.space;
    if (s.name == "auto" && s.stages.empty()) {  // spaces::from_data()
      s = spaces::for_data(d.height(), d.width(), d.channels(), d.classes());
      log("space: auto for " + std::to_string(d.height()) + "x" + std::to_string(d.width()) + "x" +
          std::to_string(d.channels()) + " images in " + std::to_string(d.classes()) + " classes: resolutions " +
          join(s.resolutions) + ", " + std::to_string(s.stages.size()) + " stages, stem stride " +
          std::to_string(s.stem.stride) + " (" + json::dump(to_json(s), -1) + ")");
    }
    if (s.resolutions.empty()) {
      s.resolutions = spaces::resolutions_for(std::min(d.height(), d.width()));
      log("space: resolutions " + join(s.resolutions) + " from the data");
    }
    if (s.head.classes != d.classes()) {
      log("space: " + std::to_string(d.classes()) + " classes (the data's) instead of the space's " +
          std::to_string(s.head.classes));
      s.head.classes = d.classes();
    }
    EDGENAS_CHECK(s.in_channels == d.channels() || (s.in_channels == 3 && d.channels() == 1) ||
                      (s.in_channels == 1 && d.channels() == 3),
                  Status::invalid_shape, "%s: images of %d channels, the space %s takes %d (1 and 3 convert)",
                  d.path.c_str(), d.channels(), s.name.c_str(), s.in_channels);
    validate_space(s);
  }

  static std::string join(const std::vector<int>& v) {
    std::string out;
    for (int x : v) out += (out.empty() ? "" : ",") + std::to_string(x);
    return out;
  }

  // "auto" (also "auto/no-flip", "auto/no-crop"): crops and flips for pictures, none for rows.
  static data::Augmentation augmentation_for(const std::string& name, bool pictures, int side) {
    data::Augmentation a = data::default_augmentation(true, side);
    if (name.rfind("auto", 0) == 0) {
      if (!pictures) return data::Augmentation::none();
      if (name == "auto/no-crop") a.crop_padding = 0;
      if (name == "auto/no-flip") a.horizontal_flip = false;
      return a;
    }
    if (name != "crop" && name != "crop+flip") a.crop_padding = 0;
    if (name != "flip" && name != "crop+flip") a.horizontal_flip = false;
    return a;
  }
  static std::string augmentation_name(const data::Augmentation& a) {
    if (a.crop_padding == 0 && !a.horizontal_flip) return "none";
    std::string s = a.crop_padding ? "random crops (padding " + std::to_string(a.crop_padding) + ")" : "";
    if (a.horizontal_flip) s += s.empty() ? "horizontal flips" : " and horizontal flips";
    return s;
  }
  int scaled_epochs(int epochs) const { return static_cast<int>(std::lround(epochs * epoch_scale_)); }

  // The training, validation and test images at resolution r (the chosen network's): the
  // loaded ones, or copies resized once with the supernet's filter.
  struct Sets {
    const data::Dataset *train, *validation, *test;
  };
  Sets sets_at(int r) {
    if (r == train_.height) return {&train_, &validation_, &test_};
    auto it = resized_.find(r);
    if (it == resized_.end()) {
      std::array<data::Dataset, 3> x{data::conform(train_, r, r, train_.channels),
                                     data::conform(validation_, r, r, validation_.channels),
                                     data::conform(test_, r, r, test_.channels)};
      it = resized_.emplace(r, std::move(x)).first;
    }
    return {&it->second[0], &it->second[1], &it->second[2]};
  }

  // ---- the journal ---------------------------------------------------------------------------
  static std::string type_of(const json::Value& record) {
    return record.at("type", "journal record").as_string("type");
  }

  void open_journal() {
    if (journal_) return;
    journal_.emplace(path("journal.jsonl"));
    if (journal_->torn_bytes())
      log("journal: dropped an unfinished record of " + std::to_string(journal_->torn_bytes()) +
          " bytes (the run was interrupted mid-write)");
    // A record this build does not know would be skipped and its work done again: refuse it.
    static constexpr const char* known[] = {"settings",   "supernet_epoch", "arch_epoch", "candidate", "finetune_epoch",
                                            "final_plan", "final_replan",   "finished",   "rank_check"};
    for (std::size_t i = 0; i < journal_->records().size(); ++i) {
      const json::Value& r = journal_->records()[i];
      EDGENAS_CHECK(r.is_object() && r.find("type") && r.at("type", "record").kind() == json::Value::Kind::string,
                    Status::corrupt_data, "%s line %zu: a record without a \"type\"", journal_->path().c_str(), i + 1);
      const std::string type = type_of(r);
      EDGENAS_CHECK(
          std::any_of(std::begin(known), std::end(known), [&](const char* k) { return type == k; }),
          Status::corrupt_data,
          "%s line %zu: unknown record type \"%s\" (this build writes settings, supernet_epoch, arch_epoch, "
          "candidate, finetune_epoch, final_plan, final_replan, finished and rank_check; was the journal edited, or "
          "written by another version?)",
          journal_->path().c_str(), i + 1, type.c_str());
      EDGENAS_CHECK((i == 0) == (type == "settings"), Status::corrupt_data, "%s line %zu: a \"%s\" record where %s",
                    journal_->path().c_str(), i + 1, type.c_str(),
                    i == 0 ? "the settings must come first" : "only the first line holds settings");
    }
  }

  // A kill between an epoch's checkpoint and its journal record leaves the epoch trained but
  // not journaled: record it now (its statistics went with the torn record), so the journal
  // lists every epoch the checkpoint holds, once.
  void journal_recovered_epochs(const char* type, const json::Value& budget_key, int epochs_done) {
    std::vector<bool> journaled(static_cast<std::size_t>(epochs_done) + 1, false);
    for (const json::Value& r : journal_->records()) {
      if (type_of(r) != type) continue;
      if (const json::Value* b = r.find("budget_ms"); b && json::dump(*b, -1) != json::dump(budget_key, -1)) continue;
      const int e = r.at("epoch", type).as_int("epoch", 1, 100000);
      if (e <= epochs_done) journaled[static_cast<std::size_t>(e)] = true;
    }
    for (int e = 1; e <= epochs_done; ++e) {
      if (journaled[static_cast<std::size_t>(e)]) continue;
      json::Value r = json::Value().set("type", type);
      if (std::string(type) == "finetune_epoch") r.set("budget_ms", budget_key);
      journal_->append(r.set("epoch", e).set("recovered_from_checkpoint", true));
      log(std::string("journal: ") + type + " " + std::to_string(e) +
          " was in the checkpoint but not in the journal (interrupted between the two); recorded now");
    }
  }

  // ---- processes ---------------------------------------------------------------------------
  bool leader() const noexcept { return !cluster_ || cluster_->rank() == 0; }
  int worker() const noexcept { return cluster_ ? cluster_->worker() : 0; }
  int workers() const noexcept { return cluster_ ? cluster_->workers() : 1; }
  int device_rank() const noexcept { return cluster_ ? cluster_->latency_rank() : -1; }

  /// Appends to the journal (the leader's; the other workers have none).
  void record(const json::Value& r) {
    if (leader()) journal_->append(r);
  }

  /// The accuracies the journal holds, on every worker (the leader reads them, the others are
  /// sent them: exact, as hexadecimal floating point).
  std::unordered_map<Genotype, double, GenotypeHash> journaled_accuracies() {
    std::unordered_map<Genotype, double, GenotypeHash> known;
    std::string text;
    if (leader())
      for (const json::Value& r : journal_->records())
        if (type_of(r) == "candidate") {
          const std::string g = r.at("genotype", "candidate").as_string("genotype");
          const double a = r.at("accuracy", "candidate").as_number("accuracy");
          known[parse_genotype(g)] = a;
          char hex[40];
          std::snprintf(hex, sizeof hex, "%a", a);
          text += g + "\t" + hex + "\n";
        }
    if (workers() <= 1) return known;
    cluster_->broadcast(text);
    if (leader()) return known;
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t tab = text.find('\t', at), end = text.find('\n', at);
      EDGENAS_CHECK(tab < end && end != std::string::npos, Status::corrupt_data, "search: malformed accuracies from rank 0");
      known[parse_genotype(text.substr(at, tab - at))] = std::strtod(text.substr(tab + 1, end - tab - 1).c_str(), nullptr);
      at = end + 1;
    }
    return known;
  }

  // ---- differentiable search (search/differentiable.hpp) ----------------------------------------
  bool differentiable() const noexcept { return config_.strategy == Strategy::differentiable; }

  // θ for `epochs` architecture epochs: uniform, or the last journaled state (sent to every worker).
  void start_architecture_learning(int epochs) {
    DifferentiableConfig dc;
    dc.lr = config_.arch_lr;
    dc.latency_alpha = config_.latency_alpha;
    dc.latency_beta = config_.latency_beta;
    dc.total_steps = std::max<std::int64_t>(1, static_cast<std::int64_t>(epochs) * architecture_batches());
    learner_.emplace(config_.space, dc);
    arch_epochs_done_ = 0;
    std::string state;
    if (leader())
      for (const json::Value& r : journal_->records())
        if (type_of(r) == "arch_epoch") {
          arch_epochs_done_ = r.at("epoch", "arch_epoch").as_int("epoch", 1, 100000);
          state = json::dump(r.at("state", "arch_epoch"), -1);
        }
    share_architecture_state(state);
    if (arch_epochs_done_ > 0)
      log("differentiable search: " + std::to_string(arch_epochs_done_) +
          " architecture epochs recovered from the journal");
  }

  // Architecture steps take batches of the supernet's size, smaller if the validation split is.
  int architecture_batch() const {
    return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(config_.batch), validation_.size()));
  }
  std::size_t architecture_batches() const {
    return validation_.size() / static_cast<std::size_t>(architecture_batch());
  }

  // Architecture epochs until `epoch` are done: the leader learns, the workers receive θ.
  void architecture_epochs_up_to(int epoch) {
    while (arch_epochs_done_ < epoch) {
      const int e = arch_epochs_done_ + 1;
      std::string state;
      if (leader()) {
        check_cancel();
        step(Stage::supernet, "architecture epoch " + std::to_string(e), 0, 1, "");
        const ArchitectureEpoch a = architecture_epoch(*learner_, *supernet_, validation_, norm_, architecture_batch(),
                                                       latency_of_, config_.seed, e, activations_);
        state = json::dump(learner_->state(), -1);
        record(json::Value()
                   .set("type", "arch_epoch")
                   .set("epoch", e)
                   .set("cross_entropy", a.cross_entropy)
                   .set("latency_ms", a.latency_ms)
                   .set("entropy", a.entropy)
                   .set("state", learner_->state()));
        char line[200];
        std::snprintf(
            line, sizeof line,
            "architecture epoch %d: %zu steps, cross-entropy %.4f, sampled latency %.4f ms, entropy %.3f nats "
            "per decision, temperature %.2f",
            e, a.steps, a.cross_entropy, a.latency_ms, a.entropy, learner_->temperature());
        log(line);
      }
      share_architecture_state(state);
      arch_epochs_done_ = e;
    }
  }

  // The leader's θ (JSON text; empty: none yet) on every worker.
  void share_architecture_state(std::string& state) {
    if (workers() > 1) cluster_->broadcast(state);
    if (!state.empty()) learner_->restore(json::parse(state, "architecture state"));  // (exact: doubles round-trip)
  }

  double candidate_accuracy(const Candidate& c) {
    return int8() ? int8_candidate_accuracy(c) : evaluator_->accuracy(c.choices, c.genotype);
  }

  static std::string read_text_file(const std::string& file) {
    const std::vector<std::uint8_t> bytes = read_binary_file(file, "file");
    return {bytes.begin(), bytes.end()};
  }

  void require(bool ok, const char* stage, const char* before) const {
    EDGENAS_CHECK(ok, Status::invalid_argument, "Pipeline::%s: run %s first", stage, before);
  }

  std::string path(const std::string& name) const { return (std::filesystem::path(config_.out) / name).string(); }

  void log(const std::string& line) const {
    if (callbacks_.log) callbacks_.log(line);
  }
  void check_cancel() const {
    if (callbacks_.cancel && callbacks_.cancel()) EDGENAS_FAIL(Status::cancelled, "search cancelled");
  }
  void step(Stage stage, const std::string& task, std::size_t done, std::size_t total, const std::string& detail) const {
    if (callbacks_.progress) callbacks_.progress({stage, task, done, total, detail});
    check_cancel();
  }
  /// A trainer's per-batch callback: progress with the batch loss, and the cancel check.
  std::function<void(std::size_t, std::size_t, double)> training_progress(Stage stage, std::string task) const {
    return [this, stage, task = std::move(task)](std::size_t batch, std::size_t batches, double loss) {
      char detail[32];
      std::snprintf(detail, sizeof detail, "loss %.3f", loss);
      step(stage, task, batch, batches, detail);
    };
  }

  bool int8() const noexcept { return config_.precision == "int8"; }
  Precision precision() const noexcept { return int8() ? Precision::int8 : Precision::fp32; }

  // The normalised training images int8 calibration uses (made once).
  ConstTensorView quant_calibration() {
    if (quant_images_.size() == 0 || quant_resolution_ != sets_.train->height) {
      const std::size_t n = std::min(static_cast<std::size_t>(config_.quant_calibration_images), sets_.train->size());
      quant_resolution_ = sets_.train->height;
      data::BatchLoader loader(*sets_.train, static_cast<int>(n), norm_, n);
      std::vector<std::int32_t> labels;
      loader.fill(loader.order(0, 0, false), 0, data::Augmentation::none(), 0, 0, quant_images_, labels);
    }
    return quant_images_;
  }

  // A candidate as deployed in int8: its sub-network (batch norm recalibrated) quantized after
  // calibration, validated through XNNPACK int8.
  double int8_candidate_accuracy(const Candidate& c) {
    sets_ = sets_at(c.genotype.input.h);
    const auto net = evaluator_->network(c.choices, c.genotype);
    const std::vector<float> folded = net->inference_weights();
    const quant::Ranges r = train::QatNetwork::calibrate(c.genotype, folded, quant_calibration());
    const quant::QuantizedModel m = quant::quantize(c.genotype, folded, quant::activation_params(quant::build_graph(c.genotype.view()), r));
    return xnnpack::int8_accuracy(m, *sets_.validation, norm_, config_.threads, std::min(config_.eval_batch, 50));
  }

  // Times a chosen network. With a table measured here, the table's reference pieces are timed
  // with it: the device may have drifted since the table was built, and the report says so.
  void measure_chosen(ChosenNetwork& ch) {
    const Genotype& g = ch.candidate.genotype;
    if (device_rank() >= 0) {  // on the device (with its drift, when it built the table)
      const DeviceMeasurement m =
          request_measurement(*cluster_, g, config_.latency_threads, config_.precision, tables_.front().statistic);
      ch.measured_ms = m.ms;
      ch.device_drift = m.drift.ratio;
      ch.device_drift_significant = m.drift.significant;
      return;
    }
    if (!config_.tables.empty()) {  // tables of other devices: no reference to compare with
      ch.measured_ms = latency::value_of(latency::measure_network(g, config_.latency_threads, {}, config_.precision),
                                         tables_.front().statistic);
      return;
    }
    const auto [timed, drift] = latency::measure_networks_with_drift(tables_.front(), {g});
    ch.measured_ms = latency::value_of(timed.front(), tables_.front().statistic);
    ch.device_drift = drift.ratio;
    ch.device_drift_significant = drift.significant;
    if (drift.significant) {
      char line[200];
      std::snprintf(line, sizeof line,
                    "latency: the device is %.1f %% %s than when the latency table was measured (%d reference pieces); "
                    "measured latencies are as of now",
                    100.0 * std::abs(drift.ratio - 1), drift.ratio > 1 ? "slower" : "faster", drift.pieces);
      log(line);
    }
  }

  // Post-training quantization of a chosen network, then QAT; the one more accurate on the
  // validation split goes into the model and the report (QAT cost the full and quick presets'
  // networks accuracy: docs/quantization.md).
  void quantize_chosen(ChosenNetwork& ch, Model& model) {
    const Genotype& g = model.genotype;
    const int batch = std::min(config_.eval_batch, 50);
    const auto accuracy = [&](const quant::QuantizedModel& q, const data::Dataset& d) {
      return xnnpack::int8_accuracy(q, d, norm_, config_.threads, batch);
    };
    const quant::Ranges ranges = train::QatNetwork::calibrate(g, model.weights, quant_calibration());
    quant::QuantizedModel q = quant::quantize(g, model.weights, quant::activation_params(quant::build_graph(g.view()), ranges));
    ch.post_training_accuracy = accuracy(q, *sets_.test);
    ch.post_training_validation_accuracy = accuracy(q, *sets_.validation);
    ch.int8_method = "post-training";
    ch.test_accuracy = ch.post_training_accuracy;
    if (config_.qat_epochs > 0) {
      train::QatNetwork qat(g, model.weights, ranges);
      train::QatConfig qc;
      qc.epochs = scaled_epochs(config_.qat_epochs);
      qc.batch_size = std::min(config_.batch, qc.batch_size);
      qc.lr = static_cast<float>(config_.qat_lr);
      qc.augmentation = augmentation_;
      qc.seed = config_.seed;
      train::train_qat(qat, *sets_.train, norm_, qc, training_progress(Stage::final_training, "QAT"));
      quant::QuantizedModel trained = qat.quantized();
      ch.qat_accuracy = accuracy(trained, *sets_.test);
      ch.qat_validation_accuracy = accuracy(trained, *sets_.validation);
      if (ch.qat_validation_accuracy > ch.post_training_validation_accuracy) {
        q = std::move(trained);
        ch.int8_method = "QAT";
        ch.test_accuracy = ch.qat_accuracy;
      }
    }
    q.input_mean = norm_.mean, q.input_stddev = norm_.stddev;
    model.int8 = std::move(q);
    log("int8: " + int8_summary(ch));
  }

  /// Share of `count` test images whose class through XNNPACK int8 equals the integer reference's.
  double int8_agreement(const quant::QuantizedModel& model, std::size_t count) const {
    xnnpack::Int8Runtime rt(model, 1, 1);
    reference::Int8Network ref(model);
    const data::Dataset& test_ = *sets_.test;
    data::BatchLoader loader(test_, 1, norm_);
    const auto order = loader.order(0, 0, false);
    Tensor image;
    std::vector<std::int32_t> labels;
    count = std::min(count, test_.size());
    std::size_t same = 0;
    for (std::size_t i = 0; i < count; ++i) {
      loader.fill(order, i, data::Augmentation::none(), 0, 0, image, labels);
      const std::span<const float> x(image.data(), static_cast<std::size_t>(image.size()));
      rt.run(x);
      ref.run(x);
      same += rt.predicted_class(0) == ref.predicted_class();
    }
    return count ? static_cast<double>(same) / static_cast<double>(count) : 1.0;
  }

  /// Share of `count` test images whose class through XNNPACK equals the trainer's.
  double xnnpack_agreement(const Model& model, const std::vector<std::int32_t>& trainer_classes, std::size_t count) const {
    xnnpack::Runtime rt(model.genotype, model.weights, 1, 1);
    const data::Dataset& test_ = *sets_.test;
    data::BatchLoader loader(test_, 1, norm_);
    const auto order = loader.order(0, 0, false);
    Tensor image, logits({1, 1, 1, model.genotype.head.classes});
    std::vector<std::int32_t> labels, classes;
    count = std::min(count, test_.size());
    std::size_t same = 0;
    for (std::size_t i = 0; i < count; ++i) {
      loader.fill(order, i, data::Augmentation::none(), 0, 0, image, labels);
      rt.run(image, logits);
      classes.clear();
      train::predicted_classes(logits, classes);
      same += classes[0] == trainer_classes[i];
    }
    return count ? static_cast<double>(same) / static_cast<double>(count) : 1.0;
  }

  SearchConfig config_;
  Callbacks callbacks_;
  Cluster* cluster_ = nullptr;  // not owned; none: this process alone
  std::chrono::steady_clock::time_point started_;
  Budgets budgets_;
  std::optional<Journal> journal_;
  MemoryPlan plan_;
  std::optional<data::DataSource> source_;  // as read, until load_data conforms it to the space
  data::Dataset train_, validation_, test_;
  std::unordered_map<int, std::array<data::Dataset, 3>> resized_;  // train, validation, test at other resolutions
  Sets sets_{&train_, &validation_, &test_};                       // the sets at the resolution being worked on
  data::Normalization norm_;
  data::Augmentation augmentation_{};
  bool pictures_ = true;  // images (erasing applies), not rows of values
  double epoch_scale_ = 1.0;
  std::vector<latency::Table> tables_;
  latency::Drift table_drift_;    // the device's speed against the (first) table's
  std::string table_drift_when_;  // which moments that compares
  LatencyFn latency_of_;
  std::optional<FeasibleSampler> sampler_;
  std::shared_ptr<train::Activations> activations_ = std::make_shared<train::Activations>();
  std::unique_ptr<train::Supernet> supernet_;
  std::unique_ptr<train::Network> teacher_;  // config.supernet_teacher, while the supernet trains
  std::optional<train::SubnetEvaluator> evaluator_;
  std::optional<ArchitectureLearner> learner_;  // differentiable search: θ
  int arch_epochs_done_ = 0;
  std::vector<Candidate> history_;
  std::vector<std::size_t> front_;
  std::vector<ChosenNetwork> chosen_;
  Tensor quant_images_;  // int8 calibration images, normalised
  int quant_resolution_ = 0;  // of quant_images_
  SearchReport report_;
};

}  // namespace edgenas::search
