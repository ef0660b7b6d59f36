// The REINFORCE controller's policy: its gradients against finite differences, its samples
// against its probabilities, and the controller learning on a synthetic objective.
#include <catch2/catch.hpp>
#include <cmath>
#include <edgenas/search.hpp>

using namespace edgenas;
using namespace edgenas::search;

namespace {
// Non-uniform logits, deterministic.
CategoricalPolicy skewed_policy(const SearchSpace& space, std::uint64_t seed) {
  CategoricalPolicy p(space);
  Rng rng(seed);
  for (auto& z : p.logits())
    for (double& x : z) x = 2.0 * rng.uniform_double() - 1.0;
  return p;
}
}  // namespace

TEST_CASE("policy: the decisions cover every choice, and blocks past a depth are unused", "[search][policy]") {
  const SearchSpace space = spaces::fmnist();
  Choices c = space.largest_choices();
  int decisions = 0, used = 0;
  space.for_each_decision(c, [&](int&, int options, bool u) {
    ++decisions, used += u;
    CHECK(options >= 1);
  });
  CHECK(decisions == 2 + 4 + 4 * (2 + 3 + 3 + 3));  // resolution, width, depths, 11 blocks × 4
  CHECK(used == decisions);                         // the largest uses every block
  c = space.smallest_choices();
  used = 0;
  space.for_each_decision(c, [&](int&, int, bool u) { used += u; });
  CHECK(used == 2 + 4 + 4 * 4);  // one block per stage
  // So an unused block's choices do not change the probability.
  const CategoricalPolicy p = skewed_policy(space, 3);
  Choices other = c;
  other.blocks[1][2].kernel = (other.blocks[1][2].kernel + 1) % 3;
  CHECK(p.log_probability(other) == p.log_probability(c));
}

TEST_CASE("policy: the gradients of log-probability and entropy match finite differences", "[search][policy]") {
  const SearchSpace space = spaces::fmnist();
  const CategoricalPolicy p = skewed_policy(space, 5);
  Rng rng(11);
  const Choices c = p.sample(rng);
  CategoricalPolicy stepped = p;
  stepped.add_log_probability_gradient(c, 1.0);
  CategoricalPolicy entropy_stepped = p;
  entropy_stepped.add_entropy_gradient(1.0);
  const double h = 1e-6;
  for (std::size_t d = 0; d < p.logits().size(); ++d)
    for (std::size_t i = 0; i < p.logits()[d].size(); ++i) {
      CategoricalPolicy plus = p, minus = p;
      plus.logits()[d][i] += h;
      minus.logits()[d][i] -= h;
      const double dlogp = (plus.log_probability(c) - minus.log_probability(c)) / (2 * h);
      const double dentropy = (plus.entropy() - minus.entropy()) / (2 * h);
      INFO("decision " << d << " option " << i);
      REQUIRE(stepped.logits()[d][i] - p.logits()[d][i] == Approx(dlogp).margin(1e-7));
      REQUIRE(entropy_stepped.logits()[d][i] - p.logits()[d][i] == Approx(dentropy).margin(1e-7));
    }
}

TEST_CASE("policy: samples follow the probabilities; uniform entropy is the mean log of the options",
          "[search][policy]") {
  const SearchSpace space = spaces::fmnist();
  const CategoricalPolicy uniform(space);
  double expected = 0;
  int decisions = 0;
  Choices shape = space.smallest_choices();
  space.for_each_decision(shape, [&](int&, int options, bool) { expected += std::log(options), ++decisions; });
  CHECK(uniform.entropy() == Approx(expected / decisions).epsilon(1e-12));

  const CategoricalPolicy p = skewed_policy(space, 7);
  std::vector<double> kernel(3, 0.0), expand(4, 0.0);
  Rng rng(13);
  const int n = 40000;
  for (int k = 0; k < n; ++k) {
    const Choices c = p.sample(rng);
    kernel[static_cast<std::size_t>(c.blocks[0][0].kernel)] += 1.0 / n;
    expand[static_cast<std::size_t>(c.blocks[0][0].expand)] += 1.0 / n;
  }
  const std::vector<double> pk = p.probabilities(3), pe = p.probabilities(4);  // after resolution, width, depth
  for (std::size_t i = 0; i < 3; ++i) CHECK(kernel[i] == Approx(pk[i]).margin(0.01));
  for (std::size_t i = 0; i < 4; ++i) CHECK(expand[i] == Approx(pe[i]).margin(0.01));
  // The most likely architecture takes each decision's largest logit.
  const Choices top = p.most_likely();
  CHECK(top.blocks[0][0].kernel == static_cast<int>(std::max_element(pk.begin(), pk.end()) - pk.begin()));
}

TEST_CASE("REINFORCE: the policy moves towards what the reward favours", "[search][policy]") {
  const SearchSpace space = spaces::fmnist();
  const FeasibleSampler sampler(space, Budgets{}, {});
  // Reward: the share of used blocks with a 7x7 kernel and SE (no other signal).
  const auto reward = [](const Candidate& c) {
    double hits = 0;
    for (const BlockGene& b : c.genotype.blocks) hits += (b.kernel == 7) + b.se;
    return hits / (2.0 * static_cast<double>(c.genotype.blocks.size()));
  };
  StrategyConfig config;
  config.strategy = Strategy::reinforce;
  config.evaluations = 150;
  for (std::uint64_t seed : {1, 2}) {
    config.seed = seed;
    SearchRun run(sampler, config, reward);
    const std::vector<Candidate>& h = run.run();
    REQUIRE(h.size() == 150);
    double first = 0, last = 0;
    for (std::size_t i = 0; i < 30; ++i) first += h[i].accuracy / 30, last += h[h.size() - 1 - i].accuracy / 30;
    INFO("seed " << seed << ": mean reward of the first 30 " << first << ", last 30 " << last);
    CHECK(first == Approx(0.5).margin(0.1));  // a uniform policy: half of each
    CHECK(last > first + 0.15);
  }
}
