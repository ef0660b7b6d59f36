// The search's settings as one value: presets, JSON round trip, the difference a resume names,
// memory sizes; genotypes as hash keys.
#include <catch2/catch.hpp>
#include <edgenas/search/config.hpp>
#include <edgenas/search/memory.hpp>
#include <unordered_map>

using namespace edgenas;
using namespace edgenas::search;

TEST_CASE("presets are plain values and every field survives JSON", "[search][config]") {
  const SearchConfig quick = presets::quick();
  CHECK(quick.preset == "quick");
  CHECK(quick.latency_budgets_ms == std::vector<double>{0.25});
  CHECK(quick.params_budget == 100'000);
  CHECK(quick.supernet_images == 20'000);
  CHECK(quick.batch == 128);
  CHECK(quick.final_training == FinalTraining::retrain);
  CHECK(presets::tiny().final_training == FinalTraining::fine_tune);
  CHECK(presets::full().evaluations == 100);
  CHECK(presets::full().supernet_epochs == 2);
  CHECK(presets::full().progressive_shrinking);
  CHECK(presets::full().strategy == Strategy::differentiable);  // FBNet without its latency term
  CHECK(presets::full().latency_beta == 0.0);
  CHECK(presets::quick().strategy == Strategy::evolution);
  CHECK_THROWS_WITH(presets::named("huge"), Catch::Contains("unknown preset \"huge\""));

  SearchConfig c = presets::full();
  c.space = spaces::fmnist_mcu();
  c.tables = {"a.json", "b.json"};
  c.strategy = Strategy::nsga2;
  c.seed = 0xfedcba9876543210ull;  // beyond a double's 53 bits
  c.memory_budget = 512ll << 20;
  c.reward_target_ms = 0.125;
  c.precision = "int8";
  c.qat_epochs = 3;
  c.qat_lr = 0.005;
  c.quant_calibration_images = 250;
  c.latency_statistic = "p90";
  c.policy_lr = 0.25;
  c.entropy_weight = 0.5;
  c.final_erase = 0.25;
  c.final_weight_decay = 3e-4;
  c.final_with_validation = true;
  c.final_weight_average = 0.998;
  c.time_budget_minutes = 45;
  c.sandwich_near_budget = 0.7;
  c.supernet_teacher = "teacher/train.ckpt";
  c.choose_by = "accuracy+macs";
  const json::Value v = to_json(c);
  const SearchConfig back = search_config_from_json(json::parse(json::dump(v), "test"));
  CHECK(back == c);
  CHECK(back.seed == c.seed);
  CHECK(back.space.name == "fmnist-mcu");
  CHECK_FALSE(back == presets::full());
  CHECK(back.precision == "int8");
  CHECK(back.quant_calibration_images == 250);
  CHECK(back.latency_statistic == "p90");
  CHECK(back.policy_lr == 0.25);
  CHECK(back.entropy_weight == 0.5);
  CHECK(back.final_erase == 0.25);
  CHECK(back.final_weight_decay == 3e-4);
  CHECK(back.final_with_validation);
  CHECK(back.final_weight_average == 0.998);
  CHECK(back.time_budget_minutes == 45);
  CHECK(back.sandwich_near_budget == 0.7);
  CHECK(back.supernet_teacher == "teacher/train.ckpt");
  CHECK(back.choose_by == "accuracy+macs");
  // A config written before int8 existed reads as fp32; an unknown precision is refused.
  json::Value::Object fields = to_json(presets::quick()).as_object("test");
  std::erase_if(fields, [](const auto& kv) {
    return kv.first.starts_with("qat_") || kv.first == "precision" || kv.first == "latency_statistic" ||
           kv.first == "final_erase" || kv.first == "final_weight_decay" || kv.first == "final_with_validation" ||
           kv.first == "final_weight_average" || kv.first == "time_budget_minutes" ||
           kv.first == "sandwich_near_budget" || kv.first == "supernet_teacher" || kv.first == "choose_by";
  });
  CHECK(search_config_from_json(json::Value(fields)).choose_by == "accuracy");      // chosen by accuracy then
  CHECK(search_config_from_json(json::Value(fields)).final_weight_average == 0.0);  // no average then
  CHECK(search_config_from_json(json::Value(fields)).sandwich_near_budget == 0.0);  // any feasible sandwich
  CHECK(search_config_from_json(json::Value(fields)).supernet_teacher.empty());     // in-place distillation
  CHECK(search_config_from_json(json::Value(fields)).time_budget_minutes == 0.0);   // nor a time budget
  CHECK(search_config_from_json(json::Value(fields)).final_erase == 0.0);  // written before erasing: none
  CHECK(search_config_from_json(json::Value(fields)).final_weight_decay == 1e-4);  // what it trained with then
  CHECK_FALSE(search_config_from_json(json::Value(fields)).final_with_validation);  // it held them out
  CHECK(search_config_from_json(json::Value(fields)).precision == "fp32");
  CHECK(search_config_from_json(json::Value(fields)).latency_statistic == "typical");
  json::Value::Object p95 = fields;
  p95.emplace_back("latency_statistic", json::Value(std::string("p95")));
  CHECK_THROWS_WITH(search_config_from_json(json::Value(p95)),
                    Catch::Contains("latency_statistic \"p95\", expected typical or p90"));
  fields.emplace_back("precision", json::Value(std::string("fp16")));
  fields.emplace_back("qat_epochs", json::Value(1));
  fields.emplace_back("qat_lr", json::Value(0.01));
  CHECK_THROWS_WITH(search_config_from_json(json::Value(fields)), Catch::Contains("precision \"fp16\", expected fp32 or int8"));
}

TEST_CASE("a resume names the first setting that differs and ignores where files go", "[search][config]") {
  SearchConfig a = presets::quick(), b = a;
  CHECK(first_difference(to_json(a), to_json(b)).empty());
  b.out = "elsewhere";
  b.data = "/data";
  b.resume = true;
  b.memory_budget = 1 << 30;
  CHECK(first_difference(to_json(a), to_json(b)).empty());
  b.seed = 8;
  CHECK(first_difference(to_json(a), to_json(b)) == "seed = 1, now 8");
  b = a;
  b.latency_budgets_ms = {0.2};
  CHECK(first_difference(to_json(a), to_json(b)).rfind("latency_budgets_ms = [0.25], now [0.2", 0) == 0);
  json::Value old = json::Value().set("seed", 1);  // a journal from before a setting existed
  CHECK(first_difference(old, to_json(a)).find("(not recorded: an older edgenas started it)") != std::string::npos);
  // A journal from before the reinforce strategy: its policy settings did not matter to it.
  json::Value::Object before = to_json(a).as_object("test");
  std::erase_if(before, [](const auto& kv) { return kv.first == "policy_lr" || kv.first == "entropy_weight"; });
  CHECK(first_difference(json::Value(before), to_json(a)).empty());
  CHECK(search_config_from_json(json::Value(before)).policy_lr == a.policy_lr);
  // A journal from before random erasing trained without it: resumable without, not with.
  json::Value::Object no_erase = to_json(a).as_object("test");
  std::erase_if(no_erase, [](const auto& kv) {
    return kv.first == "final_erase" || kv.first == "final_weight_decay" || kv.first == "final_with_validation" ||
           kv.first == "final_weight_average" || kv.first == "time_budget_minutes" ||
           kv.first == "sandwich_near_budget" || kv.first == "supernet_teacher" || kv.first == "choose_by";
  });
  a.final_weight_decay = 1e-4;  // what every search trained its final networks with before the setting
  CHECK(first_difference(json::Value(no_erase), to_json(a)).empty());
  b = a;
  b.final_erase = 0.5;
  CHECK(first_difference(json::Value(no_erase), to_json(b)).rfind("final_erase = (not recorded", 0) == 0);
  b = a;
  b.final_weight_decay = 5e-4;
  CHECK(first_difference(json::Value(no_erase), to_json(b)).rfind("final_weight_decay = (not recorded", 0) == 0);
  b = a;
  b.final_with_validation = true;
  CHECK(first_difference(json::Value(no_erase), to_json(b)).rfind("final_with_validation = (not recorded", 0) == 0);
  b = a;
  b.final_weight_average = 0.999;
  CHECK(first_difference(json::Value(no_erase), to_json(b)).rfind("final_weight_average = (not recorded", 0) == 0);
  b = a;
  b.time_budget_minutes = 60;
  CHECK(first_difference(json::Value(no_erase), to_json(b)).rfind("time_budget_minutes = (not recorded", 0) == 0);
  b = a;
  b.sandwich_near_budget = 0.7;
  CHECK(first_difference(json::Value(no_erase), to_json(b)).rfind("sandwich_near_budget = (not recorded", 0) == 0);
  b = a;
  b.supernet_teacher = "t.ckpt";
  CHECK(first_difference(json::Value(no_erase), to_json(b)).rfind("supernet_teacher = (not recorded", 0) == 0);
  b = a;
  b.choose_by = "accuracy+macs";
  CHECK(first_difference(json::Value(no_erase), to_json(b)).rfind("choose_by = (not recorded", 0) == 0);
  b = a;
  b.strategy = Strategy::reinforce;
  b.policy_lr = 0.3;
  CHECK(first_difference(to_json(b), to_json(a)) == "strategy = \"reinforce\", now \"evolution\"");
  a.strategy = Strategy::reinforce;
  CHECK(first_difference(to_json(b), to_json(a)) == "policy_lr = 0.29999999999999999, now 0.10000000000000001");
}

TEST_CASE("memory sizes parse with binary units and reject nonsense", "[search][config]") {
  CHECK(parse_bytes("512M") == 512ll << 20);
  CHECK(parse_bytes("1.5G") == 3ll << 29);
  CHECK(parse_bytes("100k") == 102400);
  CHECK(parse_bytes("2GiB") == 2ll << 30);
  CHECK(parse_bytes("4096") == 4096);
  for (const char* bad : {"", "M", "-1G", "0", "12Q", "nan", "1e30G"})
    CHECK_THROWS_WITH(parse_bytes(bad), Catch::Contains("expected a positive number"));
}

TEST_CASE("genotypes are keys by value: equal genotypes hash equally and different ones apart", "[search][hash]") {
  const SearchSpace space = spaces::fmnist();
  Rng rng(2);
  std::unordered_map<Genotype, int, GenotypeHash> seen;
  std::map<std::string, int> by_text;
  for (int i = 0; i < 400; ++i) {
    const Genotype g = space.sample(rng);
    seen[g] += 1;
    by_text[to_string(g)] += 1;
    CHECK(hash_value(g) == hash_value(parse_genotype(to_string(g))));
  }
  CHECK(seen.size() == by_text.size());
  for (const auto& [g, n] : seen) CHECK(by_text.at(to_string(g)) == n);
  Genotype a = space.sample(rng), b = a;
  b.blocks.back().se = !b.blocks.back().se;
  CHECK(hash_value(a) != hash_value(b));
}

TEST_CASE("json objects: set adds a key once and replaces its value in place", "[search][config]") {
  json::Value v = json::Value().set("a", 1).set("b", 2).set("a", 3);
  CHECK(json::dump(v, -1) == "{\"a\":3,\"b\":2}");
  CHECK(json::parse(json::dump(v, -1)).at("a", "v").as_int("a") == 3);
}
