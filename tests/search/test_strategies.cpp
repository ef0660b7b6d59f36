// Search strategies, budgets and the journal, on synthetic accuracies (fast and exact).
#include <catch2/catch.hpp>
#include <numeric>
#include <edgenas/search.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "../support/temp_dir.hpp"

using namespace edgenas;
using namespace edgenas::search;

namespace {

// A synthetic "accuracy": rewards large kernels and expansion, a little depth; deterministic.
double synthetic_accuracy(const Genotype& g) {
  double score = 0.0;
  for (const BlockGene& b : g.blocks) score += (b.kernel == 7 ? 1.0 : 0.0) + b.expanded / (8.0 * b.out) + (b.se ? 0.3 : 0.0);
  return score / (2.5 * 11);
}

// Latency proxy: MACs in millions / 30 (ms).
double proxy_latency(const Genotype& g) { return static_cast<double>(mac_count(g.view())) / 30e6; }

}  // namespace

TEST_CASE("budgets name what they break, and an impossible budget fails before any work", "[search]") {
  Budgets b;
  b.params = 50'000;
  CHECK(b.violation({0.1, 60'000, 1, 1}) == "parameters 60000 > 50000");
  CHECK(b.admits({0.1, 50'000, 1, 1}));
  b.latency_ms = 0.2;
  CHECK(b.violation({0.25, 1, 1, 1}) == "latency 0.2500 ms > 0.2000 ms");
  const SearchSpace space = spaces::fmnist();
  Budgets tiny;
  tiny.params = 1000;
  CHECK_THROWS_WITH(FeasibleSampler(space, tiny, proxy_latency),
                    Catch::Contains("impossible budget") && Catch::Contains("parameters"));
  Budgets arena;
  arena.arena_bytes = 8 * 1024;
  CHECK_THROWS_WITH(FeasibleSampler(space, arena, proxy_latency), Catch::Contains("arena"));
  // 64 KB of float32 activations cannot hold two 28×28×16 tensors: the fmnist space has no
  // architecture for it; fmnist-mcu (stem stride 2) has, and the sampler finds them.
  Budgets mcu;
  mcu.arena_bytes = 64 * 1024;
  mcu.params = 45'000;
  CHECK_THROWS_WITH(FeasibleSampler(space, mcu, proxy_latency), Catch::Contains("arena"));
  const FeasibleSampler sampler(spaces::fmnist_mcu(), mcu, proxy_latency);
  Rng rng(5);
  for (int i = 0; i < 20; ++i) {
    const Candidate cand = sampler.random(rng);
    const Costs c = cand.costs;
    CHECK(c.params == sampler.costs(cand.choices).params);  // costed once, the same as costing again
    CHECK(c.arena_bytes <= 64 * 1024);
    CHECK(c.params <= 45'000);
  }
}

TEST_CASE("a sandwich drawn near the budgets uses the asked share of them; share 0 draws as before", "[search]") {
  Budgets b;
  CHECK(b.share({0.3, 80'000, 1, 1, 1}) == 0.0);  // no budget set
  b.latency_ms = 0.25;
  b.params = 100'000;
  CHECK(b.share({0.1, 80'000, 1, 1, 1}) == Approx(0.8));  // the nearest budget: parameters
  CHECK(b.share({0.2, 40'000, 1, 1, 1}) == Approx(0.8));  // latency
  const FeasibleSampler sampler(spaces::fmnist(), b, proxy_latency);
  const auto draw = [&](Rng& r) { return sampler.random(r); };
  Rng plain(7), near0(7);
  for (int i = 0; i < 5; ++i) CHECK(sampler.near_budget(draw, 0.0, near0).choices == sampler.random(plain).choices);
  Rng rng(8), uniform(8);
  double shares = 0.0, uniform_shares = 0.0;
  for (int i = 0; i < 30; ++i) {
    const Candidate c = sampler.near_budget(draw, 0.7, rng);
    INFO("draw " << i << ": latency " << c.costs.latency_ms << " ms, " << c.costs.params << " parameters");
    CHECK(b.admits(c.costs));
    CHECK(b.share(c.costs) >= 0.7);
    shares += b.share(c.costs);
    uniform_shares += b.share(sampler.random(uniform).costs);
  }
  CHECK(shares > uniform_shares);
  // None of 3 tries reaches a share no architecture has: the nearest of them comes back.
  Rng few(9), again(9);
  const Candidate nearest = sampler.near_budget(draw, 1.1, few, 3);
  double best = 0.0;
  for (int t = 0; t < 3; ++t) best = std::max(best, b.share(sampler.random(again).costs));
  CHECK(b.share(nearest.costs) == best);
}

TEST_CASE("arena and flash budgets count bytes of the precision searched for", "[search][int8]") {
  Budgets flash;
  flash.flash_bytes = 65'536;
  CHECK(flash.violation({0.1, 1, 1, 1, 70'000}) == "flash 70000 bytes > 65536");
  CHECK(flash.admits({0.1, 1, 1, 1, 65'536}));
  // A 32 KB int8 arena and 64 KB of int8 constants: the float32 figures of the same networks
  // are about 4× larger, so in float32 nothing of fmnist-mcu fits.
  Budgets mcu;
  mcu.arena_bytes = 32 * 1024;
  mcu.flash_bytes = 64 * 1024;
  CHECK_THROWS_WITH(FeasibleSampler(spaces::fmnist_mcu(), mcu, proxy_latency),
                    Catch::Contains("impossible budget") && Catch::Contains("arena"));
  const FeasibleSampler sampler(spaces::fmnist_mcu(), mcu, proxy_latency, Precision::int8);
  Rng rng(9);
  std::int64_t largest_flash = 0;
  for (int i = 0; i < 30; ++i) {
    const Candidate cand = sampler.random(rng);
    const NetworkView v = cand.genotype.view();
    CHECK(cand.costs.arena_bytes == arena_bytes(v, Precision::int8));
    CHECK(cand.costs.flash_bytes == flash_bytes(v, Precision::int8));
    CHECK(cand.costs.arena_bytes <= 32 * 1024);
    CHECK(cand.costs.flash_bytes <= 64 * 1024);
    // int8 weights are one byte each, plus 4 + 8 bytes of bias and multiplier per channel.
    CHECK(cand.costs.flash_bytes > inference_weight_count(v) - 10'000);
    largest_flash = std::max(largest_flash, cand.costs.flash_bytes);
  }
  CHECK(largest_flash > 32 * 1024);  // the budget binds: it is not met by every network trivially
  Budgets tiny_flash;
  tiny_flash.flash_bytes = 4096;
  CHECK_THROWS_WITH(FeasibleSampler(spaces::fmnist_mcu(), tiny_flash, proxy_latency, Precision::int8),
                    Catch::Contains("impossible budget") && Catch::Contains("flash"));
}

TEST_CASE("every strategy evaluates exactly its budget of distinct, feasible architectures, deterministically", "[search]") {
  const SearchSpace space = spaces::fmnist();
  Budgets budgets;
  budgets.params = 100'000;
  budgets.latency_ms = 0.5;
  const FeasibleSampler sampler(space, budgets, proxy_latency);
  for (Strategy s : all_strategies) {
    StrategyConfig config;
    config.strategy = s;
    config.evaluations = 60;
    config.population = 12;
    config.seed = 3;
    int calls = 0;
    const auto accuracy = [&](const Candidate& c) { return ++calls, synthetic_accuracy(c.genotype); };
    SearchRun a(sampler, config, accuracy);
    const auto history = a.run();
    INFO(strategy_name(s));
    CHECK(history.size() == 60);
    CHECK(calls == 60);  // never the same architecture twice
    std::set<std::string> distinct;
    for (const Candidate& c : history) {
      distinct.insert(to_string(c.genotype));
      REQUIRE(budgets.admits(c.costs));
      REQUIRE(c.costs.params == parameter_count(c.genotype.view()));
    }
    CHECK(distinct.size() == 60);
    SearchRun b(sampler, config, accuracy);
    const auto again = b.run();
    for (std::size_t i = 0; i < history.size(); ++i) REQUIRE(to_string(again[i].genotype) == to_string(history[i].genotype));
    config.seed = 4;
    SearchRun c(sampler, config, accuracy);
    CHECK(to_string(c.run()[5].genotype) != to_string(history[5].genotype));
  }
}

namespace {
// An evaluator that takes rounds (as the workers of a cluster do) and notes their sizes.
SearchRun::RoundAccuracy counting_rounds(std::vector<std::size_t>& sizes) {
  return [&sizes](const std::vector<Candidate>& round) {
    sizes.push_back(round.size());
    std::vector<double> a;
    for (const Candidate& c : round) a.push_back(synthetic_accuracy(c.genotype));
    return a;
  };
}
}  // namespace

TEST_CASE("rounds of candidates: random and NSGA-II propose the same whatever the round size", "[search][parallel]") {
  const SearchSpace space = spaces::fmnist();
  Budgets budgets;
  budgets.params = 100'000;
  const FeasibleSampler sampler(space, budgets, proxy_latency);
  const auto names = [](const std::vector<Candidate>& h) {
    std::vector<std::string> n;
    for (const Candidate& c : h) n.push_back(to_string(c.genotype) + " " + std::to_string(c.accuracy));
    return n;
  };
  for (Strategy s : all_strategies) {
    INFO(strategy_name(s));
    StrategyConfig config;
    config.strategy = s;
    config.evaluations = 50;
    config.population = 10;
    config.seed = 9;
    SearchRun one(sampler, config, [](const Candidate& c) { return synthetic_accuracy(c.genotype); });
    const auto sequential = names(one.run());
    for (int batch : {3, 8}) {
      config.batch = batch;
      std::vector<std::size_t> rounds;
      SearchRun batched(sampler, config, counting_rounds(rounds));
      const auto h = names(batched.run());
      CHECK(h.size() == 50);
      CHECK(std::accumulate(rounds.begin(), rounds.end(), std::size_t{0}) == 50);  // each evaluated once
      const std::size_t largest = *std::max_element(rounds.begin(), rounds.end());
      if (s == Strategy::nsga2)
        CHECK(largest == 10);  // a generation
      else if (s == Strategy::reinforce)
        CHECK(largest == 1);  // a policy update's samples
      else
        CHECK(largest == static_cast<std::size_t>(batch));
      CHECK(h == sequential);  // evolution and reinforce too: only their proposals per round change their course
    }
    if (s != Strategy::evolution && s != Strategy::reinforce) continue;
    // Several children per round: a different (but deterministic) search, rounds of that size.
    config.batch = 1;
    config.proposals = 4;
    std::vector<std::size_t> rounds;
    SearchRun four(sampler, config, counting_rounds(rounds)), again(sampler, config, counting_rounds(rounds));
    const auto h = names(four.run());
    CHECK(h.size() == 50);
    CHECK(h != sequential);
    CHECK(names(again.run()) == h);
    CHECK(std::count(rounds.begin(), rounds.end(), std::size_t{4}) >= 2 * 9);  // (evolution: after the population)
  }
}

TEST_CASE("evolution, NSGA-II and REINFORCE use what they learn: better than random search on a synthetic objective",
          "[search]") {
  const SearchSpace space = spaces::fmnist();
  const FeasibleSampler sampler(space, Budgets{}, proxy_latency);
  double best[5] = {}, volume[5] = {};
  for (std::uint64_t seed = 1; seed <= 5; ++seed)
    for (Strategy s : all_strategies) {
      StrategyConfig config;
      config.strategy = s;
      config.evaluations = 120;
      config.seed = seed;
      SearchRun run(sampler, config, [](const Candidate& c) { return synthetic_accuracy(c.genotype); });
      const auto history = run.run();
      best[static_cast<int>(s)] += history[static_cast<std::size_t>(best_within(history, Budgets{}))].accuracy;
      volume[static_cast<int>(s)] += hypervolume(history, 2.0);
    }
  INFO("best: random " << best[0] << " evolution " << best[1] << " nsga2 " << best[2] << " reinforce " << best[3]);
  INFO("hypervolume: random " << volume[0] << " evolution " << volume[1] << " nsga2 " << volume[2]);
  CHECK(best[1] > best[0]);
  CHECK(volume[2] > volume[0]);
  CHECK(best[3] > best[0]);
}

TEST_CASE("the front is non-dominated and sorted by latency; best_within respects budgets", "[search]") {
  std::vector<Candidate> h(5);
  const double acc[] = {0.90, 0.92, 0.85, 0.93, 0.91}, lat[] = {0.10, 0.20, 0.30, 0.40, 0.15};
  for (int i = 0; i < 5; ++i) h[static_cast<std::size_t>(i)].accuracy = acc[i], h[static_cast<std::size_t>(i)].costs.latency_ms = lat[i];
  CHECK(front_of(h) == std::vector<std::size_t>{0, 4, 1, 3});
  Budgets b;
  b.latency_ms = 0.25;
  CHECK(best_within(h, b) == 1);
  b.latency_ms = 0.05;
  CHECK(best_within(h, b) == -1);
  // By the rank sum of accuracy and MACs among those within the budget (latency ≤ 0.25: 0, 1, 4).
  const std::int64_t macs[] = {9000, 1000, 99999, 8000, 5000};
  for (int i = 0; i < 5; ++i) h[static_cast<std::size_t>(i)].costs.macs = macs[i];
  b.latency_ms = 0.25;
  // accuracy ranks 1 (0.90), 3 (0.92), 2 (0.91); MACs ranks 3, 1, 2: sums 4, 4, 4 — a tie, the
  // most accurate wins (1); with 4's MACs above 0's its sum is 2 + 3 = 5, the largest.
  CHECK(best_by_accuracy_and_macs(h, b) == 1);
  h[4].costs.macs = 9500;
  CHECK(best_by_accuracy_and_macs(h, b) == 4);
  b.latency_ms = 0.05;
  CHECK(best_by_accuracy_and_macs(h, b) == -1);
  b.latency_ms = 0.25;
  // Hypervolume by hand: steps of the front under (error 1, latency 0.5).
  const double expected = (0.15 - 0.10) * 0.90 + (0.20 - 0.15) * 0.91 + (0.40 - 0.20) * 0.92 + (0.5 - 0.40) * 0.93;
  CHECK(hypervolume(h, 0.5) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("MnasNet's soft reward trades accuracy for latency", "[search]") {
  Candidate fast, slow;
  fast.accuracy = 0.90, fast.costs.latency_ms = 0.1;
  slow.accuracy = 0.91, slow.costs.latency_ms = 0.4;
  StrategyConfig config;
  CHECK(fitness(slow, config) > fitness(fast, config));  // plain accuracy
  config.reward_target_ms = 0.2;
  CHECK(fitness(fast, config) == Approx(0.90 * std::pow(0.5, -0.07)));
  CHECK(fitness(fast, config) > fitness(slow, config));
}

TEST_CASE("a search replayed from recorded accuracies continues exactly where it stopped", "[search]") {
  const SearchSpace space = spaces::fmnist();
  const FeasibleSampler sampler(space, Budgets{}, proxy_latency);
  for (Strategy s : all_strategies) {
    StrategyConfig config;
    config.strategy = s;
    config.evaluations = 40;
    config.population = 8;
    std::map<std::string, double> recorded;
    SearchRun full(sampler, config, [&](const Candidate& cand) -> double {
      const Genotype& g = cand.genotype;
      return recorded[to_string(g)] = synthetic_accuracy(g) + 0.01 * static_cast<double>(recorded.size() % 7);
    });
    const auto expected = full.run();
    // "Killed" after 17 evaluations: a new run gets those from the record, then computes.
    std::map<std::string, double> journal;
    for (std::size_t i = 0; i < 17; ++i) journal[to_string(expected[i].genotype)] = expected[i].accuracy;
    int fresh = 0;
    SearchRun resumed(sampler, config, [&](const Candidate& cand) -> double {
      const Genotype& g = cand.genotype;
      if (auto it = journal.find(to_string(g)); it != journal.end()) return it->second;
      ++fresh;
      return recorded.at(to_string(g));
    });
    const auto got = resumed.run();
    INFO(strategy_name(s));
    CHECK(fresh == 23);
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(to_string(got[i].genotype) == to_string(expected[i].genotype));
  }
}

TEST_CASE("journal: records survive reopening, a torn last line is dropped, a damaged one is named", "[search][journal]") {
  test::TempDir dir("journal");
  const std::string path = dir.file("journal.jsonl");
  {
    Journal j(path);
    CHECK(j.records().empty());
    j.append(json::Value().set("type", "candidate").set("accuracy", 0.912345678901234));
    j.append(json::Value().set("type", "epoch").set("epoch", 2));
  }
  {
    std::ofstream(path, std::ios::app) << "{\"type\": \"cand";  // killed mid-write
  }
  {
    Journal j(path);
    REQUIRE(j.records().size() == 2);
    CHECK(j.torn_bytes() == 14);
    CHECK(j.records()[0].at("accuracy", "").as_number("") == 0.912345678901234);  // exact round trip
    j.append(json::Value().set("type", "final"));
  }
  {
    Journal j(path);
    REQUIRE(j.records().size() == 3);
    CHECK(j.torn_bytes() == 0);
    CHECK(j.records()[2].at("type", "").as_string("") == "final");
  }
  {
    std::ofstream(path, std::ios::app) << "not json\n{\"type\": \"x\"}\n";
  }
  // The file is closed also when the constructor fails on a damaged line.
  const auto open_files = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{});
  };
  const auto before = open_files();
  for (int i = 0; i < 10; ++i) CHECK_THROWS_WITH(Journal(path), Catch::Contains("line 4"));
  CHECK(open_files() == before);
}

TEST_CASE("journal: a record held while more are appended stays where it is", "[search][journal]") {
  // The pipeline reads its final-training plan after journaling a re-plan; with the records in a
  // vector a regrowth freed the plan, and a full run died of it after 16 epochs. The address is
  // the check: reading a freed record may well pass.
  test::TempDir dir("journal-held");
  Journal j(dir.file("journal.jsonl"));
  j.append(json::Value().set("type", "final_plan").set("epoch_seconds", 47.5));
  const json::Value* held = &j.records()[0];
  for (int i = 0; i < 100; ++i) j.append(json::Value().set("type", "final_replan").set("epochs", i));
  CHECK(&j.records()[0] == held);
  CHECK(held->at("epoch_seconds", "").as_number("") == 47.5);
}

TEST_CASE(
    "differentiable: the derived architectures are the learned distribution's most likely, then its feasible samples",
    "[search][differentiable]") {
  const SearchSpace space = spaces::fmnist();
  Budgets budgets;
  budgets.params = 100'000;
  const FeasibleSampler sampler(space, budgets, proxy_latency);
  CategoricalPolicy learned(space);
  Rng rng(2);
  for (auto& z : learned.logits())  // peaked (samples repeat the favourites), leaning to small options
    for (std::size_t i = 0; i < z.size(); ++i) z[i] = 3.0 * rng.uniform_double() - 0.7 * static_cast<double>(i);
  StrategyConfig config;
  config.strategy = Strategy::differentiable;
  config.evaluations = 20;
  config.learned = &learned;
  SearchRun run(sampler, config, [](const Candidate& c) { return synthetic_accuracy(c.genotype); });
  const auto history = run.run();
  REQUIRE(history.size() == 20);
  const Candidate top = sampler.candidate(learned.most_likely());
  REQUIRE(budgets.admits(top.costs));  // (for this seed: so it must come first)
  CHECK(history.front().genotype == top.genotype);
  // Samples of a peaked distribution: most decisions agree with its favourite option.
  double agree = 0, used = 0;
  for (const Candidate& c : history) {
    REQUIRE(budgets.admits(c.costs));
    const Choices best = learned.most_likely();
    Choices mine = c.choices;
    std::size_t d = 0;
    std::vector<int> favourite;
    space.for_each_decision(best, [&](const int& v, int, bool) { favourite.push_back(v); });
    space.for_each_decision(mine, [&](int& v, int options, bool u) {
      if (u && options > 1) agree += v == favourite[d], used += 1;
      ++d;
    });
  }
  INFO("share of decisions at the favourite: " << agree / used);
  CHECK(agree / used > 0.5);
}
