// The search as a library: a cancelled search resumes to exactly the front of one that ran
// straight through; settings are checked on resume; the memory plan measures what training
// uses and refuses a budget nothing fits.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <edgenas/search/pipeline.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "../support/temp_dir.hpp"

using namespace edgenas;
using namespace edgenas::search;

namespace {

// A small space (the one tests/cli/tiny_space.json describes) so a whole search takes seconds.
SearchSpace small_space() {
  SearchSpace s;
  s.name = "tiny-fmnist";
  s.resolutions = {28};
  s.in_channels = 1;
  s.width_multipliers = {0.5, 1.0};
  s.stem = {16, 3, 2, Activation::hswish};
  const std::vector<Activation> acts{Activation::relu, Activation::hswish};
  s.stages = {{{1, 2}, 16, 1, {3, 5}, {1, 3}, {false, true}, acts}, {{1, 2}, 32, 2, {3, 5}, {3, 4}, {false, true}, acts}};
  s.head = {64, Activation::hswish, 0, 10};
  return s;
}

SearchConfig small_config(const std::string& out, const std::string& table) {
  SearchConfig c = presets::tiny();
  c.space = small_space();
  c.out = out;
  c.tables = {table};
  c.train_images = 600;
  c.supernet_images = 600;
  c.validation_images = 300;
  c.test_images = 300;
  c.calibration_images = 300;
  c.evaluations = 6;
  c.latency_budgets_ms = {1.0};
  c.seed = 5;
  return c;
}

// A latency table of small_space() in `dir`, timed just enough to be valid (fast, not accurate).
std::string quick_table(const test::TempDir& dir, const std::string& name = "table.json") {
  latency::build_table(small_space(), dir.file(name), 1, 3, 1,
                       {.warmup_runs = 1, .round_seconds = 0.0005, .min_rounds = 3, .max_rounds = 3});
  return dir.file(name);
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a cancelled search resumes to the front of an uninterrupted one", "[search][pipeline]") {
  set_num_threads(2);
  const test::TempDir dir("pipeline");
  const std::string table = quick_table(dir);

  std::vector<std::string> stages_seen;
  Callbacks watch;
  watch.progress = [&](const ProgressEvent& e) {
    if (stages_seen.empty() || stages_seen.back() != stage_name(e.stage)) stages_seen.push_back(stage_name(e.stage));
    REQUIRE(e.done <= e.total);
  };
  Pipeline straight(small_config(dir.file("straight"), table), watch);
  REQUIRE(straight.run());
  CHECK(stages_seen == std::vector<std::string>{"supernet", "search", "final training"});
  CHECK(straight.history().size() == 6);
  const std::string expected = read(dir.file("straight/front.tsv"));
  REQUIRE(expected.find("chosen\t") != std::string::npos);

  // Cancelled at three points: inside supernet training, inside the search, inside the final
  // training; each time resumed with the same settings.
  SearchConfig config = small_config(dir.file("cancelled"), table);
  for (const Stage stop_in : {Stage::supernet, Stage::search, Stage::final_training}) {
    int steps = 0;
    Callbacks cb;
    Stage current = Stage::data;
    cb.progress = [&](const ProgressEvent& e) { current = e.stage, ++steps; };
    cb.cancel = [&] { return current == stop_in && steps % 3 == 2; };
    Pipeline p(config, cb);
    INFO("cancelled in " << stage_name(stop_in));
    CHECK_FALSE(p.run());
    config.resume = true;
  }
  Pipeline last(config);
  REQUIRE(last.run());
  CHECK(read(dir.file("cancelled/front.tsv")) == expected);

  // Journal edge cases. Resuming a finished search rewrites its report, not its journal.
  const std::string journal_path = dir.file("cancelled/journal.jsonl");
  const auto count = [&](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = text.find(what, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  REQUIRE(Pipeline(config).run());
  CHECK(count(read(journal_path), "\"type\":\"finished\"") == 1);
  CHECK(read(dir.file("cancelled/front.tsv")) == expected);
  // A kill between an epoch's checkpoint and its journal record: the epoch is journaled on
  // resume (once), and the result is the same.
  {
    std::string text = read(journal_path);
    const std::size_t last_epoch = text.rfind("{\"type\":\"supernet_epoch\"");
    REQUIRE(last_epoch != std::string::npos);
    text.erase(last_epoch, text.find('\n', last_epoch) + 1 - last_epoch);
    std::ofstream(journal_path, std::ios::trunc) << text;
  }
  std::vector<std::string> logged;
  Callbacks keep_log;
  keep_log.log = [&](const std::string& line) { logged.push_back(line); };
  REQUIRE(Pipeline(config, keep_log).run());
  CHECK(count(read(journal_path), "\"recovered_from_checkpoint\":true") == 1);
  CHECK(std::any_of(logged.begin(), logged.end(), [](const std::string& l) {
    return l.find("was in the checkpoint but not in the journal") != std::string::npos;
  }));
  CHECK(read(dir.file("cancelled/front.tsv")) == expected);
  REQUIRE(Pipeline(config).run());  // and not again
  CHECK(count(read(journal_path), "\"recovered_from_checkpoint\":true") == 1);
  // A record of a type this build does not know is an error naming its line, not skipped.
  const std::string intact = read(journal_path);
  std::ofstream(journal_path, std::ios::app) << "{\"type\": \"candidat\", \"genotype\": \"x\"}\n";
  CHECK_THROWS_WITH(Pipeline(config).run(),
                    Catch::Contains("journal.jsonl line ") && Catch::Contains("unknown record type \"candidat\""));
  std::ofstream(journal_path, std::ios::trunc) << intact;
  // A search that fails on its data leaves no journal, so the same command with good data runs
  // without --resume.
  SearchConfig bad_data = small_config(dir.file("bad-data"), table);
  bad_data.data = dir.file("no-such-folder");
  CHECK_THROWS_WITH(Pipeline(bad_data).run(), Catch::Contains("no-such-folder"));
  CHECK_FALSE(std::filesystem::exists(dir.file("bad-data/journal.jsonl")));
  bad_data.data.clear();
  CHECK_NOTHROW(Pipeline(bad_data));

  // A resume with other settings names the difference; without resume the folder is refused.
  SearchConfig other = config;
  other.evaluations = 7;
  CHECK_THROWS_WITH(Pipeline(other).run(), Catch::Contains("started with evaluations = 6, now 7"));
  // … and is refused before it writes anything: another space, with its latency to be measured
  // here, leaves the run's space.json as it was and measures no table.
  const std::string space_json = read(dir.file("cancelled/space.json"));
  SearchConfig other_space = config;
  other_space.space = spaces::fmnist_mcu();
  other_space.tables.clear();
  CHECK_THROWS_WITH(Pipeline(other_space).run(), Catch::Contains("started with space = "));
  CHECK(read(dir.file("cancelled/space.json")) == space_json);
  CHECK_FALSE(std::filesystem::exists(dir.file("cancelled/latency-1t.json")));
  config.resume = false;
  CHECK_THROWS_WITH(Pipeline(config), Catch::Contains("already holds a search") && Catch::Contains("--resume"));

  // Budgets for a busy device: every candidate's latency is the table's p90 prediction.
  SearchConfig busy = small_config(dir.file("p90"), table);
  busy.latency_statistic = "p90";
  Pipeline p90(busy);
  REQUIRE(p90.run());
  latency::Table t = latency::load_table(table, latency::this_device(1));
  t.select(latency::Statistic::run_p90);
  for (const Candidate& c : p90.history()) CHECK(c.costs.latency_ms == Approx(t.predict_ms(c.genotype)).epsilon(1e-9));
  CHECK_THAT(read(dir.file("p90/report.md")), Catch::Contains("90th percentile of single runs"));
}

TEST_CASE("the memory plan measures training activations and fits a budget by lowering the batch", "[search][memory]") {
  set_num_threads(1);
  const SearchSpace space = small_space();
  const Genotype largest = space.decode(space.largest_choices());
  // The estimate is a line through batches 2 and 4; at 32 it matches a real step within the
  // rounding allowance.
  for (const bool train : {true, false}) {
    const search::detail::ActivationLine line(largest, train);
    const search::detail::StepBytes real = search::detail::step_activation_bytes(largest, 32, train), est = line(32);
    CHECK(est.stored >= real.stored);
    CHECK(est.stored <= real.stored + 64 * 256);
    CHECK(est.scratch >= real.scratch);
    CHECK(est.scratch <= real.scratch + 64 * 256);
  }

  SearchConfig c = presets::tiny();
  c.space = space;
  c.batch = 64;
  const std::int64_t process = 50 << 20;  // fixed: resident memory drifts (more so under ASan)
  const MemoryPlan unconstrained = plan_memory(c, process);
  CHECK(unconstrained.batch == 64);
  CHECK(unconstrained.process_bytes == process);
  CHECK(unconstrained.peak_bytes > unconstrained.process_bytes);
  // A little less: the evaluation batch goes down first (it only changes recalibration).
  c.memory_budget = unconstrained.peak_bytes - unconstrained.activation_bytes / 10;
  const MemoryPlan fitted = plan_memory(c, process);
  CHECK(fitted.peak_bytes <= c.memory_budget);
  CHECK(fitted.batch == 64);
  CHECK(fitted.eval_batch < 250);
  // Much less: the training batch too.
  c.memory_budget = unconstrained.peak_bytes - unconstrained.activation_bytes * 2 / 3;
  const MemoryPlan lowered = plan_memory(c, process);
  CHECK(lowered.peak_bytes <= c.memory_budget);
  CHECK(lowered.batch < 64);
  c.memory_budget = 1 << 20;
  CHECK_THROWS_WITH(plan_memory(c, process),
                    Catch::Contains("memory budget 1 MiB is too small") && Catch::Contains("--memory-budget"));
}

TEST_CASE("an int8 search: int8 latency table, quantized candidates, post-training then QAT for the chosen one",
          "[search][pipeline][int8]") {
  set_num_threads(2);
  const test::TempDir dir("pipeline_int8");
  const std::string fp32_table = quick_table(dir, "fp32.json");
  SearchConfig c = small_config(dir.file("int8"), fp32_table);
  c.precision = "int8";
  c.qat_epochs = 1;
  c.quant_calibration_images = 100;
  c.latency_budgets_ms = {};
  // An fp32 table for an int8 search is refused, naming both precisions.
  CHECK_THROWS_WITH(Pipeline(c).run(), Catch::Contains("a table of fp32 latencies, this needs int8"));
  c.tables.clear();  // measured here, in int8
  c.out = dir.file("int8-measured");
  Pipeline p(c);
  REQUIRE(p.run());
  const SearchReport& r = p.report();
  CHECK(r.device.find(", int8, ") != std::string::npos);
  REQUIRE(r.chosen.size() == 1);
  const ChosenNetwork& ch = r.chosen[0];
  REQUIRE(ch.found);
  CHECK(ch.precision == "int8");
  INFO("float " << ch.float_test_accuracy << ", post-training " << ch.post_training_accuracy << ", QAT " << ch.qat_accuracy);
  CHECK(ch.float_test_accuracy > 0.2);  // 10 classes, 600 training images, one epoch: above chance
  CHECK(ch.post_training_accuracy >= ch.float_test_accuracy - 0.05);
  CHECK(ch.qat_accuracy >= ch.float_test_accuracy - 0.05);
  // The one more accurate on the validation split is deployed; the test set does not decide.
  REQUIRE(ch.qat_validation_accuracy >= 0);
  const bool qat_wins = ch.qat_validation_accuracy > ch.post_training_validation_accuracy;
  CHECK(ch.int8_method == (qat_wins ? "QAT" : "post-training"));
  CHECK(ch.test_accuracy == (qat_wins ? ch.qat_accuracy : ch.post_training_accuracy));
  CHECK(ch.xnnpack_agreement >= 0.97);
  CHECK(ch.measured_ms > 0);
  // Its table was measured here, so the table's reference pieces were re-timed next to it.
  CHECK(ch.device_drift > 0.2);
  CHECK(ch.device_drift < 5.0);
  CHECK(read(dir.file("int8-measured/result.json")).find("\"device_drift\": ") != std::string::npos);
  const Model m = load_model(ch.model_path);
  REQUIRE(m.int8);
  CHECK(m.int8->genotype == ch.candidate.genotype);
  CHECK(std::filesystem::exists(dir.file("int8-measured/latency-1t-int8.json")));
  CHECK(read(dir.file("int8-measured/report.md")).find("post-training") != std::string::npos);
}

TEST_CASE("the final network can be chosen by the rank sum of its supernet accuracy and MACs", "[search][pipeline]") {
  set_num_threads(2);
  const test::TempDir dir("pipeline_choose_by");
  const std::string table = quick_table(dir);
  Budgets within;
  within.latency_ms = 1.0;  // small_config's one budget (tiny sets no other)
  // Searches (seeds from 5 on) until the two rules pick different networks: only then does the
  // choice tell them apart.
  bool told_apart = false;
  for (std::uint64_t seed = 5; seed < 15 && !told_apart; ++seed) {
    const std::string out = "out" + std::to_string(seed);
    SearchConfig c = small_config(dir.file(out), table);
    c.seed = seed;
    c.final_epochs = 1;
    c.choose_by = "accuracy+macs";
    Pipeline p(c);
    REQUIRE(p.run());
    REQUIRE(p.report().chosen.size() == 1);
    REQUIRE(p.report().chosen[0].found);
    const std::ptrdiff_t pick = best_by_accuracy_and_macs(p.history(), within);
    REQUIRE(pick >= 0);
    CHECK(p.report().chosen[0].candidate.genotype == p.history()[static_cast<std::size_t>(pick)].genotype);
    CHECK(read(dir.file(out + "/journal.jsonl")).find("\"choose_by\":\"accuracy+macs\"") != std::string::npos);
    CHECK(read(dir.file(out + "/report.md")).find("rank sum of the supernet's accuracy and the MACs") !=
          std::string::npos);
    told_apart = pick != best_within(p.history(), within);
  }
  CHECK(told_apart);
}

TEST_CASE("the final training can take the validation images too, and the report says they were seen",
          "[search][pipeline]") {
  set_num_threads(2);
  const test::TempDir dir("pipeline_final_with_validation");
  const std::string table = quick_table(dir);
  const auto final_images = [&](const std::string& out, bool with_validation) {
    SearchConfig c = small_config(dir.file(out), table);
    c.final_epochs = 1;
    c.final_with_validation = with_validation;
    c.final_weight_average = with_validation ? 0.99 : 0.0;  // and the average of the weights becomes the model
    Pipeline p(c);
    REQUIRE(p.run());
    REQUIRE(p.report().chosen.size() == 1);
    CHECK(p.report().chosen[0].validation_held_out == !with_validation);
    std::istringstream journal(read(dir.file(out + "/journal.jsonl")));
    std::int64_t images = -1;
    for (std::string line; std::getline(journal, line);) {
      const json::Value r = json::parse(line);
      if (r.at("type", "record").as_string("type") == "finetune_epoch")
        images = r.at("images", "record").as_int64("images");
    }
    return images;
  };
  const std::int64_t held_out = final_images("train-only", false), all = final_images("all", true);
  // 600 training images and 300 validation images (small_config), which the final training
  // takes only when asked.
  CHECK(held_out == 600);
  CHECK(all == 900);
  CHECK_THAT(read(dir.file("all/report.md")), Catch::Contains("also trained on the validation images"));
  CHECK_THAT(read(dir.file("all/result.json")), Catch::Contains("\"validation_held_out\": false"));
  CHECK_THAT(read(dir.file("train-only/result.json")), Catch::Contains("\"validation_held_out\": true"));
  // The averaged model is the one saved; the last weights' accuracy is reported beside it.
  CHECK_THAT(read(dir.file("all/report.md")), Catch::Contains("the moving average of the final training's weights"));
  CHECK_THAT(read(dir.file("train-only/result.json")), Catch::Contains("\"test_accuracy_without_average\": -1"));
  const json::Value chosen = json::parse(read(dir.file("all/result.json"))).at("chosen", "r").as_array("chosen").at(0);
  const double without = chosen.at("test_accuracy_without_average", "c").as_number("a");
  CHECK(without >= 0.0);
  CHECK(without <= 1.0);
  // The model file holds the average: its accuracy is the reported test accuracy.
  const Model model = load_model(dir.file("all/model.enas"));
  CHECK(model.weights == train::load_network(dir.file("all/final.ckpt"))->inference_weights());
}

TEST_CASE("a supernet distilled from a teacher, its sandwich drawn near the budget: recorded, and a different supernet",
          "[search][pipeline]") {
  set_num_threads(2);
  const test::TempDir dir("pipeline_teacher");
  const std::string table = quick_table(dir);
  const auto save_teacher = [&](const std::string& name, const char* genotype) {
    train::Network teacher(parse_genotype(genotype), 4);
    train::Optimizer opt(teacher.parameters(), {});
    train::save_checkpoint(dir.file(name), teacher, opt, 1);
    return dir.file(name);
  };
  const std::string teacher =
      save_teacher("teacher.ckpt", "in:28x28x1 stem:8:k3:s2:relu mb:16:e3:k3:s2:relu head:32:relu fc:10");
  const auto supernet = [&](const std::string& out, const std::string& with_teacher, double near) {
    SearchConfig c = small_config(dir.file(out), table);
    c.supernet_teacher = with_teacher;
    c.sandwich_near_budget = near;
    Pipeline p(c);
    REQUIRE(p.run());
    const std::string journal = read(dir.file(out + "/journal.jsonl"));
    CHECK_THAT(journal, Catch::Contains("\"supernet_teacher\":\"" + with_teacher + "\""));
    return read(dir.file(out + "/supernet.ckpt"));
  };
  const std::string in_place = supernet("in-place", "", 0.0);
  CHECK(supernet("teacher", teacher, 0.0) != in_place);
  CHECK(supernet("near", "", 0.9) != in_place);
  CHECK(supernet("in-place-again", "", 0.0) == in_place);  // what differs is the setting, not the run
  // A teacher for other data is refused, naming what does not match.
  SearchConfig c = small_config(dir.file("wrong"), table);
  c.supernet_teacher = save_teacher("wrong.ckpt", "in:28x28x1 stem:8:k3:s2:relu mb:16:e3:k3:s2:relu head:32:relu fc:3");
  Pipeline wrong(c);
  CHECK_THROWS_WITH(wrong.run(),
                    Catch::Contains("the teacher takes 1 channels into 3 classes, the space 1 channels into 10"));
}

TEST_CASE("epochs at pace: the rest of a training at the mean pace of its epochs so far", "[search][config]") {
  // Nothing timed yet: the plan stands.
  CHECK(epochs_at_pace(43, 100, 2772.8, 0, 0.0) == 43);
  // The full preset's run of 2026-12-04: planned 43 at 63.6 s, its first four epochs took 264.4 s
  // (66.1 s each): 4 + floor((2772.8 - 264.4) / 66.1) = 41.
  CHECK(epochs_at_pace(43, 100, 2772.8, 4, 264.4) == 41);
  // Faster than planned: more, up to the configured count.
  CHECK(epochs_at_pace(10, 12, 1000.0, 2, 20.0) == 12);
  CHECK(epochs_at_pace(10, 60, 500.0, 2, 20.0) == 50);
  // Already over: stop now, never below the epochs done; never above them when they exceed the cap.
  CHECK(epochs_at_pace(10, 60, 100.0, 3, 150.0) == 3);
  CHECK(epochs_at_pace(10, 2, 1000.0, 3, 30.0) == 3);
  CHECK(epochs_at_pace(1, 60, -5.0, 1, 40.0) == 1);
}

TEST_CASE("a time budget sizes the final training to what the earlier stages left, once, journaled",
          "[search][pipeline]") {
  set_num_threads(2);
  const test::TempDir dir("pipeline_time_budget");
  const std::string table = quick_table(dir);
  const auto plans = [&](const std::string& out) {
    std::vector<json::Value> found;
    std::istringstream journal(read(dir.file(out + "/journal.jsonl")));
    for (std::string line; std::getline(journal, line);) {
      json::Value r = json::parse(line);
      if (r.at("type", "record").as_string("type") == "final_plan") found.push_back(std::move(r));
    }
    return found;
  };
  const auto run = [&](const std::string& out, double minutes, bool resume) {
    SearchConfig c = small_config(dir.file(out), table);
    c.final_epochs = 3;
    c.time_budget_minutes = minutes;
    c.resume = resume;
    Pipeline p(c);
    REQUIRE(p.run());
    return p.report().chosen.at(0).final_epochs;
  };
  // A budget spent before the final training: one epoch all the same, said in the report.
  CHECK(run("spent", 1e-4, false) == 1);
  CHECK_THAT(read(dir.file("spent/report.md")), Catch::Contains("ran 1 epoch, what the run's time budget"));
  // Room to spare: every configured epoch, never more.
  CHECK(run("ample", 600, false) == 3);
  REQUIRE(plans("ample").size() == 1);
  CHECK(plans("ample")[0].at("epochs", "plan").as_int("epochs") == 3);
  CHECK(plans("ample")[0].at("epoch_seconds", "plan").as_number("s") > 0);
  CHECK(plans("ample")[0].at("seconds_left", "plan").as_number("s") > 590 * 60);
  // A resume trains what was planned (here with the budget already spent): the plan is read back.
  std::filesystem::remove(dir.file("ample/final.ckpt"));
  CHECK(run("ample", 600, true) == 3);
  CHECK(plans("ample").size() == 1);
  CHECK_THAT(read(dir.file("ample/result.json")), Catch::Contains("\"final_epochs\": 3"));

  // Re-planned at the real pace: a search cancelled after its first final epoch, its plan edited
  // as if the sample had misjudged the epochs, then resumed. Before each epoch the epochs so far
  // (journaled) decide how many fit in the plan's training seconds: fewer when they ran slower,
  // more (up to --finetune-epochs) when faster; the change is journaled once.
  const auto replanned = [&](const std::string& out, int planned, double paces) {
    SearchConfig c = small_config(dir.file(out), table);
    c.final_epochs = 3;
    c.time_budget_minutes = 600;
    bool second_epoch = false;
    Callbacks cb;
    cb.progress = [&](const ProgressEvent& e) {
      second_epoch = e.stage == Stage::final_training && e.task.find("epoch 2/") != std::string::npos;
    };
    cb.cancel = [&] { return second_epoch; };
    REQUIRE_FALSE(Pipeline(c, cb).run());
    const std::string journal = dir.file(out + "/journal.jsonl");
    const auto records = [&] {
      std::vector<json::Value> found;
      std::istringstream lines(read(journal));
      for (std::string line; std::getline(lines, line);) found.push_back(json::parse(line));
      return found;
    };
    const auto replans = [&] {
      std::vector<json::Value> found;
      for (json::Value& r : records())
        if (r.at("type", "record").as_string("type") == "final_replan") found.push_back(std::move(r));
      return found;
    };
    double first_epoch = 0;
    for (const json::Value& r : records())
      if (r.at("type", "record").as_string("type") == "finetune_epoch")
        first_epoch = r.at("seconds", "record").as_number("seconds");
    REQUIRE(first_epoch > 0);
    CHECK(replans().empty());
    // The plan's training seconds now hold `paces` times the first epoch's time.
    std::string text;
    for (json::Value& r : records()) {
      if (r.at("type", "record").as_string("type") == "final_plan")
        r.set("epochs", planned).set("training_seconds", paces * first_epoch);
      text += json::dump(r, -1) + "\n";
    }
    std::ofstream(journal, std::ios::trunc) << text;
    c.resume = true;
    Pipeline p(c);
    REQUIRE(p.run());
    REQUIRE(replans().size() == 1);
    CHECK(replans()[0].at("after_epoch", "replan").as_int("after_epoch") == 1);
    CHECK(replans()[0].at("epochs", "replan").as_int("epochs") == p.report().chosen.at(0).final_epochs);
    // Resuming the finished search re-plans nothing.
    CHECK(Pipeline(c).run());
    CHECK(replans().size() == 1);
    return p.report().chosen.at(0).final_epochs;
  };
  // The first epoch took 2/3 of the time left for three: one fits, the training ends after it.
  CHECK(replanned("slower", 3, 1.5) == 1);
  // Planned at two, the time holds many: three, the configured count, never more.
  CHECK(replanned("faster", 2, 100) == 3);
}

TEST_CASE("search settings out of range or NaN are refused before any work naming the field", "[search][config]") {
  const test::TempDir dir("pipeline_bad_settings");
  const auto refused = [&](auto change, const std::string& message) {
    SearchConfig c = presets::tiny();
    c.out = dir.file("never");
    change(c);
    INFO(message);
    CHECK_THROWS_WITH(Pipeline(c), Catch::Contains(message));
    CHECK_FALSE(std::filesystem::exists(dir.file("never")));
  };
  const double nan = std::nan("");
  refused([&](SearchConfig& c) { c.latency_budgets_ms = {nan}; }, "latency budget (ms) = nan");
  refused([&](SearchConfig& c) { c.final_lr = nan; }, "final_lr = nan");
  refused([](SearchConfig& c) { c.final_erase = 1.5; }, "final_erase (a probability) = 1.5");
  refused([](SearchConfig& c) { c.choose_by = "macs"; }, "choose_by \"macs\", expected accuracy or accuracy+macs");
  refused([](SearchConfig& c) { c.final_weight_decay = -1e-4; }, "final_weight_decay = -0.0001");
  refused([](SearchConfig& c) { c.final_weight_average = 1; }, "final_weight_average (a decay) = 1");
  refused([](SearchConfig& c) { c.time_budget_minutes = -1; }, "time_budget_minutes = -1");
  refused([](SearchConfig& c) { c.threads = 100000; }, "threads = 100000, expected 1 to 256");
  refused([](SearchConfig& c) { c.reward_target_ms = -1; }, "reward_target_ms (0: no soft reward) = -1");
  refused([](SearchConfig& c) { c.arena_budget = -5; }, "arena_budget = -5");
  refused([](SearchConfig& c) { c.qat_epochs = -1; }, "qat_epochs = -1");
  refused(
      [](SearchConfig& c) {
        c.precision = "int8";
        c.final_with_validation = true;
      },
      "final_with_validation with int8");
}

TEST_CASE("a search on a folder of colour images with --space auto searches the resolution too",
          "[search][pipeline][data]") {
  set_num_threads(2);
  const test::TempDir dir("pipeline_images");
  // Three classes of 16×16 colour pictures: a bright bar at the top, middle or bottom, noise around.
  Rng rng(11);
  const std::string root = dir.file("pictures");
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 70; ++i) {
      std::vector<std::uint8_t> px(16 * 16 * 3);
      for (std::size_t p = 0; p < px.size(); ++p) px[p] = static_cast<std::uint8_t>(rng.below(90));
      for (int y = 2 + 5 * k; y < 5 + 5 * k; ++y)
        for (int x = 0; x < 16; ++x) px[static_cast<std::size_t>((y * 16 + x) * 3 + k)] = 250;
      const std::string folder = root + "/class" + std::to_string(k);
      std::filesystem::create_directories(folder);
      // A BMP (24-bit, bottom-up rows) written by hand: the folder reader takes PNG, JPEG and BMP.
      std::string bmp = "BM";
      const auto le = [&](std::uint32_t v, int bytes) {
        for (int b = 0; b < bytes; ++b) bmp += static_cast<char>((v >> (8 * b)) & 0xff);
      };
      le(54 + 16 * 16 * 3, 4), le(0, 4), le(54, 4), le(40, 4), le(16, 4), le(16, 4), le(1, 2), le(24, 2);
      le(0, 4), le(16 * 16 * 3, 4), le(2835, 4), le(2835, 4), le(0, 4), le(0, 4);
      for (int y = 15; y >= 0; --y)
        for (int x = 0; x < 16; ++x)
          for (int c = 2; c >= 0; --c) bmp += static_cast<char>(px[static_cast<std::size_t>((y * 16 + x) * 3 + c)]);
      std::ofstream(folder + "/" + std::to_string(i) + ".bmp", std::ios::binary) << bmp;
    }
  SearchConfig c = presets::tiny();
  c.space = spaces::from_data();
  c.data = root;
  c.out = dir.file("out");
  c.evaluations = 6;
  c.seed = 3;
  c.reference_images = 0;  // the tiny preset's epochs as they are
  c.final_epochs = 3;
  std::vector<std::string> lines;
  Callbacks callbacks;
  callbacks.log = [&](const std::string& l) { lines.push_back(l); };
  Pipeline p(c, callbacks);
  REQUIRE(p.config().space.name == "auto");
  CHECK(p.config().space.resolutions == std::vector<int>{12, 16});
  CHECK(p.config().space.in_channels == 3);
  CHECK(p.config().space.head.classes == 3);
  REQUIRE(p.run());
  const SearchReport& r = p.report();
  REQUIRE(r.chosen.size() == 1);
  REQUIRE(r.chosen[0].found);
  const Genotype& g = r.chosen[0].candidate.genotype;
  CHECK((g.input.h == 12 || g.input.h == 16));
  CHECK(g.input.c == 3);
  CHECK(g.head.classes == 3);
  std::set<int> searched;
  for (const Candidate& k : r.history) searched.insert(k.genotype.input.h);
  CHECK(searched.size() == 2);  // both resolutions evaluated (elastic resolution in the supernet)
  CHECK(r.chosen[0].test_accuracy > 0.6);
  CHECK(r.chosen[0].xnnpack_agreement > 0.95);
  std::string log;
  for (const std::string& l : lines) log += l + "\n";
  CHECK_THAT(log, Catch::Contains("augmentation random crops (padding 1) and horizontal flips"));
  CHECK_THAT(log, Catch::Contains("held out as the test split"));
  const Model m = load_model(c.out + "/model.enas");
  CHECK(m.genotype == g);
  // The space as searched, for a latency table measured on a board.
  CHECK(search_space_from_json(json::parse(read(c.out + "/space.json"))).resolutions == std::vector<int>{12, 16});
}

TEST_CASE("bad data is refused before anything is written to the output folder", "[search][pipeline][data]") {
  const test::TempDir dir("pipeline_bad_data");
  const std::string csv = dir.file("bad.csv");
  std::ofstream(csv) << "1,2,3,4,0\n1,2,nan,4,1\n";
  SearchConfig c = presets::tiny();
  c.data = csv;
  c.out = dir.file("out");
  CHECK_THROWS_WITH(Pipeline(c), Catch::Contains("bad.csv row 2, column 3"));
  CHECK_FALSE(std::filesystem::exists(c.out));
  std::ofstream(csv) << "1,2,3,4,0\n1,2,3,4,5\n";
  c.space = spaces::fmnist();
  CHECK_THROWS_WITH(Pipeline(c), Catch::Contains("2 images are too few to hold out a test split"));
  CHECK_FALSE(std::filesystem::exists(c.out));
}

TEST_CASE("the ranking check trains architectures alone and correlates them with the supernet", "[search][rank]") {
  set_num_threads(2);
  const test::TempDir dir("rank-check");
  const std::string table = quick_table(dir);
  SearchConfig config = small_config(dir.file("search"), table);
  config.reference_images = 0;  // one stand-alone epoch is one pass over the 600 images
  RankCheck first;
  {
    Pipeline p(config);
    p.load_data();
    p.measure_latency();
    p.train_supernet();
    p.search();
    first = p.rank_check(4, 1);
    // Spread across the latency range: the fastest and the slowest evaluated are in it.
    const auto& h = p.history();
    const auto [fast, slow] = std::minmax_element(h.begin(), h.end(), [](const Candidate& a, const Candidate& b) {
      return a.costs.latency_ms < b.costs.latency_ms;
    });
    REQUIRE(first.architectures.size() == 4);
    CHECK(first.architectures.front().candidate.genotype == fast->genotype);
    CHECK(first.architectures.back().candidate.genotype == slow->genotype);
  }
  std::vector<double> supernet, alone, params, macs, latency;
  for (const RankedArchitecture& a : first.architectures) {
    CHECK(a.standalone_accuracy > 0.1);  // ten classes: trained beyond chance
    supernet.push_back(a.candidate.accuracy);
    alone.push_back(a.standalone_accuracy);
    params.push_back(static_cast<double>(parameter_count(a.candidate.genotype.view())));
    macs.push_back(static_cast<double>(mac_count(a.candidate.genotype.view())));
    latency.push_back(a.candidate.costs.latency_ms);
  }
  CHECK(first.kendall_tau == kendall_tau(supernet, alone));
  CHECK(first.spearman_rho == spearman_rho(supernet, alone));
  // The free signals beside the supernet: the same τ of the architectures' own costs.
  CHECK(first.params_tau == kendall_tau(params, alone));
  CHECK(first.macs_tau == kendall_tau(macs, alone));
  CHECK(first.latency_tau == kendall_tau(latency, alone));
  CHECK(first.supernet_macs_tau == kendall_tau(rank_sum(supernet, macs), alone));
  const std::string journal = read(dir.file("search/journal.jsonl"));
  const auto records = [&](const std::string& text) {
    std::size_t n = 0;
    for (std::size_t at = text.find("\"rank_check\""); at != std::string::npos; at = text.find("\"rank_check\"", at + 1)) ++n;
    return n;
  };
  CHECK(records(journal) == 4);
  CHECK(read(dir.file("search/rank-check.json")).find("\"kendall_tau\"") != std::string::npos);
  CHECK(read(dir.file("search/rank-check.json")).find("\"free_signals_tau\"") != std::string::npos);
  // Resumed, the check reuses the journaled trainings (same numbers, no new records).
  config.resume = true;
  Pipeline again(config);
  again.load_data();
  again.measure_latency();
  again.train_supernet();
  again.search();
  const RankCheck second = again.rank_check(4, 1);
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(second.architectures[i].standalone_accuracy == first.architectures[i].standalone_accuracy);
  CHECK(records(read(dir.file("search/journal.jsonl"))) == 4);
  CHECK_THROWS_WITH(again.rank_check(1, 1), Catch::Contains("at least 2 architectures"));

  // Asked again with two trainings: only the second seed trains (4 new records); the reference is
  // the mean, and the check reports how well the two trainings agree.
  const RankCheck twice = again.rank_check(4, 1, 2);
  CHECK(records(read(dir.file("search/journal.jsonl"))) == 8);
  REQUIRE(twice.seeds == std::vector<std::uint64_t>{config.seed, config.seed + 1});
  std::vector<double> seed1, seed2, mean, twice_supernet;
  for (std::size_t i = 0; i < 4; ++i) {
    const RankedArchitecture& a = twice.architectures[i];
    REQUIRE(a.trainings.size() == 2);
    CHECK(a.trainings[0] == first.architectures[i].standalone_accuracy);
    CHECK(a.standalone_accuracy == (a.trainings[0] + a.trainings[1]) / 2);
    seed1.push_back(a.trainings[0]);
    seed2.push_back(a.trainings[1]);
    mean.push_back(a.standalone_accuracy);
    twice_supernet.push_back(a.candidate.accuracy);
  }
  CHECK(twice.reference_self_tau == kendall_tau(seed1, seed2));
  CHECK(twice.kendall_tau == kendall_tau(twice_supernet, mean));
  // rank-check.json holds both trainings and reads back to the same check.
  const RankCheck read_back =
      rank_check_from_json(json::parse(read(dir.file("search/rank-check.json")), "check"), "check");
  CHECK(read_back.seeds == twice.seeds);
  CHECK(read_back.reference_self_tau == twice.reference_self_tau);
  CHECK(read_back.kendall_tau == twice.kendall_tau);
  for (std::size_t i = 0; i < 4; ++i) CHECK(read_back.architectures[i].trainings == twice.architectures[i].trainings);
}

TEST_CASE("a ranking check's reference is the mean of its trainings; checks written with one training still read",
          "[search][rank]") {
  // Three trainings of three architectures, by hand: pairwise τ 1 (seeds 1 and 2), 1/3 (1 and 3), 1/3 (2 and 3).
  RankCheck r;
  r.seeds = {1, 2, 3};
  const double t[3][3] = {{0.80, 0.81, 0.84}, {0.82, 0.83, 0.82}, {0.84, 0.85, 0.86}};
  for (int a = 0; a < 3; ++a) {
    RankedArchitecture ra;
    ra.candidate.accuracy = 0.5 + 0.1 * a;
    ra.candidate.costs.macs = a == 0 ? 3000 : a == 1 ? 1000 : 2000;
    for (int s = 0; s < 3; ++s) add_training(ra, t[a][s]);
    r.architectures.push_back(ra);
  }
  CHECK(r.architectures[0].standalone_accuracy == Approx((0.80 + 0.81 + 0.84) / 3));
  score(r);
  CHECK(r.reference_self_tau == Approx((1.0 + 1.0 / 3 + 1.0 / 3) / 3));
  CHECK(r.kendall_tau == Approx(1.0));  // means 0.8167, 0.8233, 0.85 rise with the supernet's
  // Rank sums of supernet and MACs: 1 + 3, 2 + 1, 3 + 2 = 4, 3, 5 against rising means: τ 1/3.
  CHECK(r.supernet_macs_tau == Approx(1.0 / 3));
  CHECK(summary(r).find("mean of 3 trainings, which agree with each other at tau 0.556") != std::string::npos);
  r.architectures[1].trainings.pop_back();
  CHECK_THROWS_WITH(score(r), Catch::Contains("has 2 stand-alone trainings, the first architecture 3"));

  // Written before repeated trainings: one stand-alone accuracy, no seeds (the search's is assumed).
  const json::Value old = json::parse(R"({"standalone_epochs": 1, "ranked": [
      {"genotype": "in:8x8x1 stem:4:k3:s1:relu mb:4:e1:k3:s1:relu head:8:relu fc:2", "latency_ms": 0.01, "params": 100, "macs": 1000,
       "supernet_accuracy": 0.6, "standalone_accuracy": 0.7},
      {"genotype": "in:8x8x1 stem:8:k3:s1:relu mb:8:e1:k3:s1:relu head:8:relu fc:2", "latency_ms": 0.02, "params": 200, "macs": 2000,
       "supernet_accuracy": 0.5, "standalone_accuracy": 0.8}]})",
                                      "old");
  const RankCheck o = rank_check_from_json(old, "old.json", 7);
  CHECK(o.seeds == std::vector<std::uint64_t>{7});
  REQUIRE(o.architectures.size() == 2);
  CHECK(o.architectures[1].trainings == std::vector<double>{0.8});
  CHECK(o.kendall_tau == -1.0);
  CHECK(o.reference_self_tau == 0.0);
  json::Value bad = json::parse(json::dump(to_json(o)), "again");
  bad.set("standalone_seeds", json::Value::Array{json::Value(7), json::Value(8)});
  CHECK_THROWS_WITH(rank_check_from_json(bad, "bad.json"), Catch::Contains("bad.json: in:8x8x1"));
  CHECK_THROWS_WITH(rank_check_from_json(bad, "bad.json"), Catch::Contains("has 1 stand-alone trainings for 2 seeds"));
}
