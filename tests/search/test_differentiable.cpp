// Differentiable search (FBNet): the architecture gradient against finite differences of its
// relaxed loss, the gate of each decision, Adam and its journaled state, and architecture
// epochs on a small supernet that learn what the latency term asks.
#include <catch2/catch.hpp>
#include <cmath>
#include <edgenas/data/loader.hpp>
#include <edgenas/search/differentiable.hpp>
#include <edgenas/train.hpp>

#include "../support/tiny_supernet.hpp"

using namespace edgenas;
using namespace edgenas::search;

namespace {
double proxy_latency_ms(const Genotype& g) { return static_cast<double>(mac_count(g.view())) / 30e6; }

std::vector<double> softmax(std::vector<double> z) {
  const double top = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (double& x : z) sum += x = std::exp(x - top);
  for (double& x : z) x /= sum;
  return z;
}
}  // namespace

TEST_CASE("differentiable: the architecture gradient matches finite differences of FBNet's relaxed loss",
          "[search][differentiable][grad]") {
  const SearchSpace space = spaces::fmnist();
  DifferentiableConfig config;
  config.total_steps = 100;
  ArchitectureLearner learner(space, config);
  Rng rng(3);
  for (auto& z : learner.policy().logits())
    for (double& x : z) x = rng.uniform_double() - 0.5;
  const RelaxedSample s = learner.sample(rng);
  std::vector<double> gates(s.soft.size());
  for (double& g : gates) g = rng.uniform_double() - 0.5;
  const double ce = 0.7, tau = learner.temperature();
  const auto latency_us = [&](const Choices& c) { return 1000.0 * proxy_latency_ms(space.decode(c)); };
  const auto grad = learner.gradient(s, ce, gates, latency_us);

  // The relaxed loss as a function of one decision's y: A·gate·y_a + B·Σ_i y_i·LAT(a | d = i),
  // A and B fixed at the sample (CE and LAT do not move with θ in the relaxation).
  const double lat = latency_us(s.choices), a_weight = 0.2 * std::pow(std::log(lat), 0.6),
               b_weight = ce * 0.2 * 0.6 * std::pow(std::log(lat), -0.4) / lat;
  std::size_t d = 0, checked = 0;
  Choices probe = s.choices;
  space.for_each_decision(probe, [&](int& value, int options, bool used) {
    const std::size_t dec = d++;
    if (!used || options == 1) {
      for (double x : grad[dec]) REQUIRE(x == 0.0);
      return;
    }
    const int chosen = value;
    std::vector<double> lat_if(static_cast<std::size_t>(options));
    for (int i = 0; i < options; ++i) {
      value = i;
      lat_if[static_cast<std::size_t>(i)] = latency_us(probe);
    }
    value = chosen;
    // y = softmax((θ + g)/τ): moving θ_j by h moves log y_j by h/τ.
    std::vector<double> log_y;
    for (double y : s.soft[dec]) log_y.push_back(std::log(y));
    const auto relaxed = [&](std::size_t j, double h) {
      std::vector<double> z = log_y;
      z[j] += h / tau;
      const std::vector<double> y = softmax(z);
      double l = a_weight * gates[dec] * y[static_cast<std::size_t>(chosen)];
      for (std::size_t i = 0; i < y.size(); ++i) l += b_weight * y[i] * lat_if[i];
      return l;
    };
    for (std::size_t j = 0; j < static_cast<std::size_t>(options); ++j) {
      const double h = 1e-5, numeric = (relaxed(j, h) - relaxed(j, -h)) / (2 * h);
      INFO("decision " << dec << " option " << j);
      REQUIRE(grad[dec][j] == Approx(numeric).epsilon(1e-5).margin(1e-10));
      ++checked;
    }
  });
  CHECK(checked > 30);
}

TEST_CASE("differentiable: each decision's gate is its block's branch gate, a depth's the stage output's",
          "[search][differentiable]") {
  const SearchSpace space = test::tiny_space();  // one fixed block, stages of depth {1,2} and {1,2,3}
  Choices c = space.largest_choices();
  c.depth = {1, 1};  // depths 2 and 2: network blocks fixed, s0b0, s0b1, s1b0, s1b1
  train::Network::BlockGates g;
  for (int i = 0; i < 5; ++i) g.output.push_back(100 + i), g.branch.push_back(i);
  const std::vector<double> gates = decision_gates(space, c, g);
  // resolution, width, [depth, 2 blocks × 4], [depth, 3 blocks × 4]
  REQUIRE(gates.size() == 2 + 1 + 8 + 1 + 12);
  CHECK(gates[0] == 0);
  CHECK(gates[1] == 0);
  CHECK(gates[2] == 102);  // stage 0 ends at network block 2
  for (int k = 0; k < 4; ++k) CHECK(gates[3 + static_cast<std::size_t>(k)] == 1);
  for (int k = 0; k < 4; ++k) CHECK(gates[7 + static_cast<std::size_t>(k)] == 2);
  CHECK(gates[11] == 104);
  for (int k = 0; k < 4; ++k) CHECK(gates[12 + static_cast<std::size_t>(k)] == 3);
  for (int k = 0; k < 4; ++k) CHECK(gates[16 + static_cast<std::size_t>(k)] == 4);
  for (int k = 0; k < 4; ++k) CHECK(gates[20 + static_cast<std::size_t>(k)] == 0);  // unused third block
}

TEST_CASE("differentiable: Adam moves against the gradient, the temperature anneals, the state round-trips",
          "[search][differentiable]") {
  const SearchSpace space = spaces::fmnist();
  DifferentiableConfig config;
  config.total_steps = 10;
  ArchitectureLearner learner(space, config);
  CHECK(learner.temperature() == Approx(5.0));
  auto grad = learner.policy().logits();
  for (auto& row : grad)
    for (std::size_t i = 0; i < row.size(); ++i) row[i] = i == 0 ? 1.0 : -0.5;
  learner.apply(grad);
  // Adam's first step is lr times the sign.
  CHECK(learner.policy().logits()[3][0] == Approx(-0.01).epsilon(1e-6));
  CHECK(learner.policy().logits()[3][1] == Approx(0.01).epsilon(1e-6));
  for (int k = 1; k < 10; ++k) learner.apply(grad);
  CHECK(learner.temperature() == Approx(0.5));
  ArchitectureLearner copy(space, config);
  copy.restore(json::parse(json::dump(learner.state(), -1), "test"));
  CHECK(copy.policy().logits() == learner.policy().logits());
  CHECK(copy.steps() == 10);
  learner.apply(grad), copy.apply(grad);
  CHECK(copy.policy().logits() == learner.policy().logits());  // the moments came along
  const json::Value bad = json::Value().set("steps", 1).set("logits", json::Value(json::Value::Array{}));
  CHECK_THROWS_WITH(copy.restore(bad), Catch::Contains("0 rows of logits, the space has"));
}

TEST_CASE("differentiable: architecture epochs on a supernet learn what a strong latency term asks",
          "[search][differentiable]") {
  set_num_threads(2);
  const SearchSpace space = test::tiny_space();
  train::Supernet supernet(space, 3);
  const data::Dataset images = test::tiny_images(256, 5);
  const auto norm = data::compute_normalization(images);
  DifferentiableConfig config;
  config.lr = 0.1;
  config.latency_alpha = 5.0;  // the latency term dominates
  config.total_steps = 6 * 8;
  ArchitectureLearner learner(space, config);
  const auto activations = std::make_shared<train::Activations>();
  const auto latency = [](const Genotype& g) { return proxy_latency_ms(g) * 50; };
  double first = 0, last = 0;
  for (int e = 1; e <= 6; ++e) {
    const ArchitectureEpoch a = architecture_epoch(learner, supernet, images, norm, 32, latency, 7, e, activations);
    CHECK(a.steps == 8);
    CHECK(std::isfinite(a.cross_entropy));
    if (e == 1) first = a.latency_ms;
    last = a.latency_ms;
  }
  INFO("sampled latency: first epoch " << first << " ms, last " << last << " ms");
  CHECK(last < 0.8 * first);
  // Deterministic for the seed: the same epochs again give the same θ.
  ArchitectureLearner again(space, config);
  for (int e = 1; e <= 6; ++e) architecture_epoch(again, supernet, images, norm, 32, latency, 7, e, activations);
  CHECK(again.policy().logits() == learner.policy().logits());
}
