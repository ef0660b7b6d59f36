// `edgenas search`: the product, end to end.
//
//   1. data: the training set split into training and a held-out validation part (the search
//      never sees the test set; only the final report does);
//   2. latency: the device tables given, or one measured here and now (resumable);
//   3. supernet: trained with the sandwich rule, checkpointed every epoch;
//   4. search: a strategy proposes architectures within the budgets, scored by their
//      sub-network's validation accuracy after batch-norm recalibration;
//   5. the most accurate architecture under each latency budget is fine-tuned (or retrained)
//      and measured for real; report, front plot, model files.
// Every step is journaled (out/journal.jsonl) or checkpointed, so `--resume` after any crash
// continues and ends with the same front and the same chosen networks.
#include "search_command.hpp"

#include <chrono>
#include <edgenas/data.hpp>
#include <edgenas/export/model_file.hpp>
#include <edgenas/runtime/xnnpack.hpp>
#include <edgenas/search.hpp>
#include <edgenas/train.hpp>
#include <filesystem>
#include <map>

#include "cli_common.hpp"
#include "report.hpp"

namespace edgenas::cli {
namespace {

namespace fs = std::filesystem;

struct Preset {
  long supernet_images, train_images, validation_images, test_images, calibration_images;
  int supernet_epochs, batch, evaluations, population, finetune_epochs, fit_networks;
  bool fast_timing;
  const char* final_training;
  std::vector<double> latency_budgets;
  std::int64_t params_budget;
};

// tiny: seconds, for CI and for trying the flow on a board. quick: the README's main job
// (≤ 20 minutes on 2 cores). full: the long run for the best model (≤ 2 hours on 2 cores).
Preset preset_named(const std::string& name) {
  if (name == "tiny") return {1000, 1000, 500, 1000, 500, 1, 50, 8, 4, 1, 3, true, "fine-tune", {}, -1};
  if (name == "quick") return {20000, -1, 5000, -1, 2000, 2, 128, 40, 10, 8, 20, false, "retrain", {0.25}, 100'000};
  if (name == "full") return {-1, -1, 5000, -1, 2000, 6, 128, 200, 24, 30, 40, false, "retrain", {0.25}, 100'000};
  EDGENAS_FAIL(Status::invalid_argument, "unknown preset \"%s\" (tiny, quick, full)", name.c_str());
}

template <typename T>
void fill(T& value, T preset_value) {
  if (value < 0) value = preset_value;
}

json::Value to_json_array(const std::vector<double>& v) {
  json::Value::Array a;
  for (double x : v) a.emplace_back(x);
  return a;
}

/// The settings that decide the result: a resumed run must match them exactly.
json::Value settings_record(const SearchOptions& o, const SearchSpace& space, const std::vector<std::string>& table_keys) {
  json::Value::Array tables;
  for (const auto& k : table_keys) tables.emplace_back(k);
  return json::Value()
      .set("type", "settings")
      .set("space", to_json(space))
      .set("strategy", o.strategy)
      .set("evaluations", o.evaluations)
      .set("population", o.population)
      .set("latency_budgets_ms", to_json_array(o.latency_budgets))
      .set("params_budget", o.params_budget)
      .set("arena_budget", o.arena_budget)
      .set("macs_budget", o.macs_budget)
      .set("tables", std::move(tables))
      .set("reward_target_ms", o.reward_target_ms)
      .set("reward_exponent", o.reward_exponent)
      .set("supernet_epochs", o.supernet_epochs)
      .set("supernet", o.supernet)
      .set("progressive_shrinking", o.progressive_shrinking)
      .set("finetune_epochs", o.finetune_epochs)
      .set("final_training", o.final_training)
      .set("finetune_lr", o.finetune_lr)
      .set("supernet_images", static_cast<std::int64_t>(o.supernet_images))
      .set("train_images", static_cast<std::int64_t>(o.train_images))
      .set("validation_images", static_cast<std::int64_t>(o.validation_images))
      .set("test_images", static_cast<std::int64_t>(o.test_images))
      .set("calibration_images", static_cast<std::int64_t>(o.calibration_images))
      .set("threads", o.threads)
      .set("seed", static_cast<std::int64_t>(o.seed));
}

void check_same_settings(const json::Value& recorded, const json::Value& now, const std::string& journal) {
  for (const auto& [key, value] : now.as_object("settings")) {
    const json::Value* old = recorded.find(key);
    const std::string a = old ? json::dump(*old, -1) : "(absent)", b = json::dump(value, -1);
    EDGENAS_CHECK(a == b, Status::invalid_argument,
                  "%s: this search was started with %s = %s, now %s; resume with the same settings or use another --out",
                  journal.c_str(), key.c_str(), a.c_str(), b.c_str());
  }
}

std::int64_t limit(std::int64_t budget) { return budget > 0 ? budget : std::numeric_limits<std::int64_t>::max(); }

/// Share of `count` test images whose class through XNNPACK equals the trainer's.
double xnnpack_agreement(const Model& model, const data::Dataset& test, const data::Normalization& norm,
                         const std::vector<std::int32_t>& trainer_classes, std::size_t count) {
  xnnpack::Runtime rt(model.genotype, model.weights, 1, 1);
  data::BatchLoader loader(test, 1, norm);
  const auto order = loader.order(0, 0, false);
  Tensor image, logits({1, 1, 1, model.genotype.head.classes});
  std::vector<std::int32_t> labels, classes;
  count = std::min(count, test.size());
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

}  // namespace

int search_command(SearchOptions o) {
  const auto started = std::chrono::steady_clock::now();
  const Preset p = preset_named(o.preset);
  fill(o.supernet_images, p.supernet_images);
  fill(o.train_images, p.train_images);
  fill(o.validation_images, p.validation_images);
  fill(o.test_images, p.test_images);
  fill(o.calibration_images, p.calibration_images);
  fill(o.supernet_epochs, p.supernet_epochs);
  fill(o.evaluations, p.evaluations);
  fill(o.population, p.population);
  fill(o.finetune_epochs, p.finetune_epochs);
  if (o.final_training.empty()) o.final_training = p.final_training;
  EDGENAS_CHECK(o.final_training == "retrain" || o.final_training == "fine-tune", Status::invalid_argument,
                "--final %s: retrain or fine-tune", o.final_training.c_str());
  const bool retrain = o.final_training == "retrain";
  fill(o.finetune_lr, retrain ? 0.2 : 0.1);
  fill(o.params_budget, p.params_budget);
  if (o.latency_budgets.empty()) o.latency_budgets = p.latency_budgets;
  std::sort(o.latency_budgets.begin(), o.latency_budgets.end());
  const search::Strategy strategy = search::parse_strategy(o.strategy);
  const SearchSpace space = space_named(o.space);
  set_num_threads(o.threads);

  fs::create_directories(o.out);
  const std::string journal_path = (fs::path(o.out) / "journal.jsonl").string();
  EDGENAS_CHECK(o.resume || !fs::exists(journal_path) || fs::file_size(journal_path) == 0, Status::invalid_argument,
                "%s already holds a search (%s); pass --resume to continue it, or choose another --out", o.out.c_str(),
                journal_path.c_str());
  search::Journal journal(journal_path);
  if (journal.torn_bytes() && !o.quiet)
    std::fprintf(stderr, "journal: dropped an unfinished record of %zu bytes (the run was interrupted mid-write)\n",
                 journal.torn_bytes());
  const auto say = [&](const char* fmt, auto... args) {
    if (!o.quiet) std::fprintf(stderr, fmt, args...);
  };

  // Budgets other than latency are checked before anything is measured or trained.
  {
    search::Budgets early;
    early.params = limit(o.params_budget);
    early.arena_bytes = limit(o.arena_budget);
    early.macs = limit(o.macs_budget);
    const search::FeasibleSampler check(space, early, {});
  }

  // ---- latency tables ------------------------------------------------------------------
  std::vector<latency::Table> tables;
  std::vector<std::string> table_keys;
  if (o.tables.empty()) {
    const std::string path = (fs::path(o.out) / ("latency-" + std::to_string(o.latency_threads) + "t.json")).string();
    latency::TimingOptions timing;
    if (p.fast_timing) timing = {1, 3, 0.002, 50, 1.0, 1, -1};
    say("latency: measuring the pieces of space %s on this device (%d thread%s) into %s\n", space.name.c_str(),
        o.latency_threads, o.latency_threads == 1 ? "" : "s", path.c_str());
    tables.push_back(build_table(space, path, o.latency_threads, p.fit_networks, o.seed, timing, o.quiet));
    table_keys.push_back(tables.back().device.key());
  } else {
    for (const std::string& path : o.tables) {
      std::string warning;
      tables.push_back(latency::load_table(path, latency::this_device(o.latency_threads),
                                           latency::DeviceCheck::warn_if_different, &warning));
      table_keys.push_back(tables.back().device.key() + " " + path);
      if (!warning.empty()) say("latency: %s (used as that device's table)\n", warning.c_str());
    }
  }
  const search::LatencyFn latency_of = [&tables](const Genotype& g) {
    double worst = 0.0;
    for (const latency::Table& t : tables) worst = std::max(worst, t.predict_ms(g));
    return worst;
  };

  // ---- settings: new run, or the same as the journal's --------------------------------
  const json::Value settings = settings_record(o, space, table_keys);
  if (journal.records().empty()) journal.append(settings);
  else check_same_settings(journal.records().front(), settings, journal_path);

  // ---- data ----------------------------------------------------------------------------
  const std::string dir = o.data.empty() ? data::fashion_mnist_dir() : o.data;
  auto [train_set, validation] = data::split(data::load_fashion_mnist(data::Split::train, dir),
                                             static_cast<std::size_t>(o.validation_images), o.seed);
  if (o.train_images > 0) train_set = data::head(train_set, static_cast<std::size_t>(o.train_images));
  data::Dataset test = data::load_fashion_mnist(data::Split::test, dir);
  if (o.test_images > 0) test = data::head(test, static_cast<std::size_t>(o.test_images));
  const data::Normalization norm = data::compute_normalization(train_set);
  say("data: %zu training (%zu for the supernet), %zu validation (held out from training), %zu test images from %s\n",
      train_set.size(), o.supernet_images > 0 ? std::min<std::size_t>(train_set.size(), static_cast<std::size_t>(o.supernet_images)) : train_set.size(),
      validation.size(), test.size(), dir.c_str());

  // ---- budgets -------------------------------------------------------------------------
  search::Budgets budgets;
  if (!o.latency_budgets.empty()) budgets.latency_ms = o.latency_budgets.back();
  budgets.params = limit(o.params_budget);
  budgets.arena_bytes = limit(o.arena_budget);
  budgets.macs = limit(o.macs_budget);
  const search::FeasibleSampler sampler(space, budgets, latency_of);

  // ---- supernet ------------------------------------------------------------------------
  train::Supernet supernet(space, o.seed);
  train::SupernetConfig sc;
  sc.epochs = o.supernet_epochs;
  sc.batch_size = p.batch;
  sc.lr = 0.15f;
  sc.warmup_epochs = std::min(0.5f, 0.5f * static_cast<float>(o.supernet_epochs));
  sc.optimizer.weight_decay = 5e-5f;
  sc.augmentation = {2, true};
  sc.progressive_shrinking = o.progressive_shrinking;
  sc.seed = o.seed;
  sc.checkpoint = (fs::path(o.out) / "supernet.ckpt").string();
  sc.sample = [&sampler](Rng& rng) { return sampler.random(rng); };
  const data::Dataset supernet_set =
      o.supernet_images > 0 ? data::head(train_set, static_cast<std::size_t>(o.supernet_images)) : train_set;
  train::SupernetTrainer st(supernet, supernet_set, norm, sc);
  if (fs::exists(sc.checkpoint)) st.resume(sc.checkpoint);
  else if (!o.supernet.empty()) st.resume(o.supernet);
  if (!st.finished())
    say("supernet: %lld shared weights; training epochs %d..%d of %d (sandwich rule, in-place distillation%s)\n",
        static_cast<long long>(supernet.parameter_count()), st.epochs_done() + 1, sc.epochs, sc.epochs,
        sc.progressive_shrinking ? ", progressive shrinking" : "");
  while (!st.finished()) {
    Progress bar("supernet epoch " + std::to_string(st.epochs_done() + 1), o.quiet);
    const auto e = st.train_epoch(loss_progress(bar));
    journal.append(json::Value()
                       .set("type", "supernet_epoch")
                       .set("epoch", e.epoch)
                       .set("loss", e.loss)
                       .set("accuracy", e.accuracy)
                       .set("distill_loss", e.distill_loss)
                       .set("seconds", e.seconds));
    say("supernet epoch %d: largest loss %.4f, training accuracy %.2f%%, distillation loss %.4f, %.0f s\n", e.epoch,
        e.loss, 100 * e.accuracy, e.distill_loss, e.seconds);
  }

  // ---- search --------------------------------------------------------------------------
  std::map<std::string, double> known;  // accuracies already in the journal
  for (const json::Value& r : journal.records())
    if (r.at("type", "journal record").as_string("type") == "candidate")
      known[r.at("genotype", "candidate").as_string("genotype")] = r.at("accuracy", "candidate").as_number("accuracy");
  if (!known.empty()) say("search: %zu evaluations recovered from the journal\n", known.size());
  const train::SubnetEvaluator evaluator(supernet, train_set, validation, norm,
                                         {static_cast<std::size_t>(o.calibration_images), 250});
  search::SearchConfig config;
  config.strategy = strategy;
  config.evaluations = o.evaluations;
  config.population = std::min(o.population, o.evaluations);
  config.tournament = std::max(2, config.population / 4);
  config.seed = o.seed;
  config.reward_target_ms = o.reward_target_ms;
  config.reward_exponent = o.reward_exponent;
  Progress search_bar("search (" + o.strategy + ")", o.quiet);
  double best_so_far = 0.0;
  search::SearchRun run(
      sampler, config,
      [&](const Choices& c, const Genotype& g) {
        const std::string key = to_string(g);
        if (auto it = known.find(key); it != known.end()) return it->second;
        const double acc = evaluator.accuracy(c);
        const search::Costs k = sampler.costs(c);
        journal.append(json::Value()
                           .set("type", "candidate")
                           .set("genotype", key)
                           .set("accuracy", acc)
                           .set("latency_ms", k.latency_ms)
                           .set("params", k.params)
                           .set("macs", k.macs)
                           .set("arena_bytes", k.arena_bytes));
        return acc;
      },
      [&](const std::vector<search::Candidate>& h) {
        best_so_far = std::max(best_so_far, h.back().accuracy);
        char detail[64];
        std::snprintf(detail, sizeof detail, "best %.2f%%, last %.2f%% at %.3f ms", 100 * best_so_far,
                      100 * h.back().accuracy, h.back().costs.latency_ms);
        search_bar.update(h.size(), static_cast<std::size_t>(config.evaluations), detail);
      });
  const std::vector<search::Candidate> history = run.run();
  const std::vector<std::size_t> front = search::front_of(history);

  // ---- the chosen networks: fine-tune (or retrain), test, measure ----------------------
  std::vector<Chosen> chosen;
  std::vector<double> targets = o.latency_budgets;
  if (targets.empty()) targets.push_back(std::numeric_limits<double>::infinity());
  for (std::size_t b = 0; b < targets.size(); ++b) {
    search::Budgets bb = budgets;
    bb.latency_ms = targets[b];
    const std::ptrdiff_t pick = search::best_within(history, bb);
    Chosen ch;
    ch.budget_ms = targets[b];
    if (pick < 0) {
      say("budget %.3f ms: no evaluated architecture meets it\n", targets[b]);
      chosen.push_back(ch);
      continue;
    }
    const search::Candidate& cand = history[static_cast<std::size_t>(pick)];
    ch.found = true;
    ch.candidate = cand;
    std::unique_ptr<train::Network> net =
        retrain ? std::make_unique<train::Network>(cand.genotype, o.seed) : evaluator.network(cand.choices);
    train::TrainConfig tc;
    tc.epochs = o.finetune_epochs;
    tc.batch_size = p.batch;
    tc.lr = static_cast<float>(o.finetune_lr);
    tc.warmup_epochs = retrain ? 1.0f : 0.2f;
    tc.optimizer.weight_decay = 1e-4f;
    tc.augmentation = {2, true};
    tc.seed = o.seed;
    const std::string tag = targets.size() == 1 ? "" : "-" + std::to_string(b + 1);
    tc.checkpoint = (fs::path(o.out) / ("final" + tag + ".ckpt")).string();
    if (tc.epochs > 0) {
      train::Trainer trainer(*net, train_set, norm, tc);
      if (fs::exists(tc.checkpoint)) trainer.resume(tc.checkpoint);
      while (!trainer.finished()) {
        Progress bar((retrain ? "retrain epoch " : "fine-tune epoch ") + std::to_string(trainer.epochs_done() + 1) +
                         "/" + std::to_string(tc.epochs),
                     o.quiet);
        const auto e = trainer.train_epoch(loss_progress(bar));
        journal.append(json::Value()
                           .set("type", "finetune_epoch")
                           .set("budget_ms", std::isfinite(targets[b]) ? json::Value(targets[b]) : json::Value())
                           .set("epoch", e.epoch)
                           .set("loss", e.loss)
                           .set("accuracy", e.accuracy)
                           .set("seconds", e.seconds));
      }
    }
    ch.validation_accuracy = train::evaluate(*net, validation, norm, 250).accuracy;
    const train::EvalStats t = train::evaluate(*net, test, norm, 250);
    ch.test_accuracy = t.accuracy;
    Model model{cand.genotype, net->inference_weights(), norm.mean, norm.stddev};
    ch.model_path = (fs::path(o.out) / ("model" + tag + ".enas")).string();
    save_model(ch.model_path, model);
    ch.xnnpack_agreement = xnnpack_agreement(model, test, norm, t.predictions, 500);
    ch.measured_ms = latency::measure_network(cand.genotype, o.latency_threads).median_ms;
    say("budget %.3f ms: test accuracy %.2f%%, latency %.4f ms measured, %.4f ms predicted, %lld parameters\n",
        targets[b], 100 * ch.test_accuracy, ch.measured_ms, cand.costs.latency_ms,
        static_cast<long long>(cand.costs.params));
    chosen.push_back(ch);
  }

  // ---- report --------------------------------------------------------------------------
  Report r;
  r.device = latency::describe(tables.front().device);
  r.space = space.name;
  r.strategy = o.strategy;
  r.preset = o.preset;
  r.seed = o.seed;
  r.history = history;
  r.front = front;
  r.chosen = chosen;
  r.budgets = budgets;
  r.latency_budgets = o.latency_budgets;
  r.hypervolume = search::hypervolume(history, std::isfinite(budgets.latency_ms) ? budgets.latency_ms : 1.0);
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  write_report(o.out, r);
  journal.append(json::Value().set("type", "finished").set("front_size", static_cast<int>(front.size())));
  if (o.json) std::printf("%s\n", json::dump(report_json(r)).c_str());
  else print_summary(r, o.out);
  return 0;
}

}  // namespace edgenas::cli
