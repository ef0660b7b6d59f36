// The weight-sharing supernet: slicing, kernel transformations and their adjoint, channel
// sorting, sandwich training, exact resume, and sub-networks that learn on Fashion-MNIST.
#include <catch2/catch.hpp>
#include <edgenas/data.hpp>
#include <edgenas/train/supernet_trainer.hpp>
#include <map>

#include "../support/random.hpp"
#include "../support/temp_dir.hpp"
#include "../support/tiny_supernet.hpp"

using namespace edgenas;
using test::tiny_images;
using test::tiny_space;

namespace {

std::map<std::string, train::Parameter*> by_name(std::vector<train::Parameter*> params) {
  std::map<std::string, train::Parameter*> m;
  for (auto* p : params) m[p->name] = p;
  return m;
}

// A progressive-shrinking trainer over 64 tiny images in batches of 16: 4 steps per epoch.
struct Shrinking {
  train::Supernet super{tiny_space(), 1};
  data::Dataset images = tiny_images(64, 1);
  train::SupernetTrainer trainer;
  explicit Shrinking(int epochs) : trainer(super, images, data::compute_normalization(images), config(epochs)) {}
  static train::SupernetConfig config(int epochs) {
    train::SupernetConfig c;
    c.epochs = epochs;
    c.batch_size = 16;
    c.progressive_shrinking = true;
    return c;
  }
};
}  // namespace

TEST_CASE("supernet: sub-networks are leading slices of the shared tensors", "[supernet]") {
  train::Supernet super(tiny_space(), 3);
  // Every shared value encodes its own flat index, so a copied value tells where it came from.
  for (auto* p : super.parameters())
    if (p->name.find("transform") == std::string::npos)
      for (std::size_t i = 0; i < p->size(); ++i) p->value[i] = static_cast<float>(i);
  const auto shared = by_name(super.parameters());
  Rng rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    const Choices c = super.space().random_choices(rng);
    const Genotype g = super.space().decode(c);
    train::Network net(g);
    super.extract(c, net);
    const auto sub = by_name(net.parameters());
    // Stem: [out, k, k, in] of the shared [16, 3, 3, 2].
    const int stem_out = g.stem.channels;
    for (int o = 0; o < stem_out; ++o)
      for (int t = 0; t < 9 * 2; ++t)
        REQUIRE(sub.at("stem.weight")->value[static_cast<std::size_t>(o * 18 + t)] == static_cast<float>(o * 18 + t));
    // The second stage's first block projects from its expanded channels: [out, expanded] of
    // the shared [24, 48] (16·3 at full width).
    const std::size_t first_s1 = 1 + static_cast<std::size_t>(super.space().stages[0].depths[static_cast<std::size_t>(c.depth[0])]);
    const BlockGene& b = g.blocks[first_s1];
    const std::string name = "block" + std::to_string(first_s1) + ".project.weight";
    const auto& proj = sub.at(name)->value;
    REQUIRE(shared.at("s1.b0.project.weight")->size() == 24u * 48u);
    for (int o = 0; o < b.out; ++o)
      for (int h = 0; h < b.expanded; ++h)
        REQUIRE(proj[static_cast<std::size_t>(o * b.expanded + h)] == static_cast<float>(o * 48 + h));
    // Classifier [3, hidden 12] is always whole.
    CHECK(sub.at("head.classifier.weight")->value == shared.at("head.classifier.weight")->value);
  }
}

TEST_CASE("supernet: with identity transformations a smaller kernel is the centre crop", "[supernet]") {
  train::Supernet super(tiny_space(), 5);
  Choices c = super.largest();
  c.blocks[1][0].kernel = 0;  // k3 in the second stage's first block (shared 7×7)
  const Genotype g = super.space().decode(c);
  train::Network net(g);
  super.extract(c, net);
  const std::size_t index = 1 + 2;  // fixed block, stage 0 at depth 2, then this block
  REQUIRE(g.blocks[index].kernel == 3);
  const int C = g.blocks[index].expanded;
  const auto& big = by_name(super.parameters()).at("s1.b0.depthwise.weight")->value;
  const auto& small = by_name(net.parameters()).at("block" + std::to_string(index) + ".depthwise.weight")->value;
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x)
      for (int ch = 0; ch < C; ++ch)
        REQUIRE(small[static_cast<std::size_t>((y * 3 + x) * C + ch)] ==
                big[static_cast<std::size_t>(((y + 2) * 7 + x + 2) * C + ch)]);
}

TEST_CASE("supernet: accumulate_gradients is the exact adjoint of extract (finite differences)", "[supernet][grad]") {
  // L(shared) = Σ_p <extract(shared)_p, V_p> for fixed random V. Its gradient w.r.t. the shared
  // tensors (transformations included, made non-identity) is what accumulate_gradients gives
  // when the sub-network's gradients are V.
  train::Supernet super(tiny_space(), 7);
  Rng rng(13);
  for (auto* p : super.parameters())
    for (float& v : p->value) v = rng.uniform(-1.0f, 1.0f) * (p->name.find("transform") != std::string::npos ? 0.3f : 1.0f);
  for (int trial = 0; trial < 6; ++trial) {
    const Choices c = super.space().random_choices(rng);
    train::Network net(super.space().decode(c));
    std::vector<std::vector<float>> V;
    for (auto* p : net.parameters()) {
      V.emplace_back(p->size());
      for (float& v : V.back()) v = rng.uniform(-1.0f, 1.0f);
    }
    const auto loss = [&] {
      super.extract(c, net);
      double l = 0.0;
      for (std::size_t i = 0; i < V.size(); ++i)
        for (std::size_t k = 0; k < V[i].size(); ++k) l += double{net.parameters()[i]->value[k]} * V[i][k];
      return l;
    };
    super.zero_grad();
    super.extract(c, net);
    for (std::size_t i = 0; i < V.size(); ++i) net.parameters()[i]->grad = V[i];
    super.accumulate_gradients(c, net);
    int checked = 0;
    for (auto* p : super.parameters()) {
      for (int probe = 0; probe < 4; ++probe) {
        const std::size_t k = rng.below(static_cast<std::uint32_t>(p->size()));
        const float saved = p->value[k];
        const float h = 1e-2f;
        p->value[k] = saved + h;
        const double up = loss();
        p->value[k] = saved - h;
        const double down = loss();
        p->value[k] = saved;
        const double fd = (up - down) / (2.0 * h);
        INFO(p->name << "[" << k << "] analytic " << p->grad[k] << " numeric " << fd);
        REQUIRE(std::abs(p->grad[k] - fd) <= 2e-3 + 2e-3 * std::abs(fd));
        ++checked;
      }
    }
    CHECK(checked > 100);
  }
}

TEST_CASE("supernet: sorting expanded channels keeps the largest network's function", "[supernet]") {
  set_num_threads(1);
  train::Supernet super(tiny_space(), 9);
  Rng rng(17);
  for (auto* p : super.parameters())  // distinct importances, non-trivial BN
    if (p->name.find("transform") == std::string::npos)
      for (float& v : p->value) v += rng.uniform(-0.3f, 0.3f);
  const Choices big = super.largest();
  const Tensor images = test::random_tensor({3, 8, 8, 2}, rng, -1.0f, 1.0f);
  train::Network before(super.space().decode(big)), after(super.space().decode(big));
  super.extract(big, before);
  const Tensor expected = [&] { ConstTensorView y = before.forward(images, false); Tensor t(y.shape()); std::copy_n(y.data(), y.size(), t.data()); return t; }();
  const auto project_before = by_name(super.parameters()).at("s1.b0.project.weight")->value;
  super.sort_expanded_channels();
  super.extract(big, after);
  const ConstTensorView got = after.forward(images, false);
  for (std::int64_t i = 0; i < got.size(); ++i) REQUIRE(got.data()[i] == Approx(expected.data()[i]).margin(1e-5));
  const auto& project = by_name(super.parameters()).at("s1.b0.project.weight")->value;
  CHECK(project != project_before);  // something moved
  std::vector<double> importance(48, 0.0);
  for (int o = 0; o < 24; ++o)
    for (int h = 0; h < 48; ++h) importance[static_cast<std::size_t>(h)] += std::abs(project[static_cast<std::size_t>(o * 48 + h)]);
  CHECK(std::is_sorted(importance.rbegin(), importance.rend()));
}

TEST_CASE("supernet: progressive shrinking opens kernel, then depth, then expand", "[supernet]") {
  Shrinking run(8);
  train::Supernet& super = run.super;
  train::SupernetTrainer& trainer = run.trainer;
  const Choices big = super.largest();
  CHECK(trainer.sandwich(0, 0).size() == 1);  // the full network alone
  for (std::size_t step = 0; step < 5; ++step) {
    for (const Choices& c : trainer.sandwich(2, step)) {  // kernel phase
      CHECK(c.depth == big.depth);
      for (std::size_t s = 0; s < c.blocks.size(); ++s)
        for (std::size_t j = 0; j < c.blocks[s].size(); ++j) CHECK(c.blocks[s][j].expand == big.blocks[s][j].expand);
    }
    for (const Choices& c : trainer.sandwich(4, step))  // depth phase: widths still full
      CHECK(c.width == big.width);
  }
  const auto last = trainer.sandwich(7, 0);
  REQUIRE(last.size() == 4);
  CHECK(last[1] == super.smallest());
}

TEST_CASE("supernet: progressive shrinking reaches every phase in fewer than 4 epochs", "[supernet]") {
  // Phases count steps: 2 epochs of 4 batches give each phase 2 steps (counted in epochs, the
  // expand phase, whose widths the search varies most, would never train).
  Shrinking run(2);
  train::Supernet& super = run.super;
  train::SupernetTrainer& trainer = run.trainer;
  using P = train::ShrinkPhase;
  const P expected[2][4] = {{P::full, P::full, P::kernel, P::kernel}, {P::depth, P::depth, P::expand, P::expand}};
  for (int epoch = 0; epoch < 2; ++epoch)
    for (std::size_t step = 0; step < 4; ++step) CHECK(trainer.phase(epoch, step) == expected[epoch][step]);
  CHECK(trainer.sandwich(0, 1).size() == 1);
  const auto expand = trainer.sandwich(1, 2);
  REQUIRE(expand.size() == 4);
  CHECK(expand[1] == super.smallest());
  const auto stats = trainer.train_epoch();
  CHECK(stats.phase == P::kernel);  // the phase the first epoch ends in
}

TEST_CASE("supernet: training resumes bit-for-bit and a foreign checkpoint is rejected", "[supernet]") {
  set_num_threads(2);
  test::TempDir dir("supernet");
  const data::Dataset d = tiny_images(96, 2);
  const auto norm = data::compute_normalization(d);
  train::SupernetConfig config;
  config.epochs = 3;
  config.batch_size = 16;
  config.lr = 0.05f;
  config.seed = 5;
  train::Supernet straight(tiny_space(), 2), resumed(tiny_space(), 2);
  {
    train::SupernetTrainer t(straight, d, norm, config);
    while (!t.finished()) t.train_epoch();
  }
  {
    auto c = config;
    c.checkpoint = dir.file("super.ckpt");
    train::SupernetTrainer t(resumed, d, norm, c);
    t.train_epoch();
  }
  {
    train::Supernet fresh(tiny_space(), 99);
    train::SupernetTrainer t(fresh, d, norm, config);
    t.resume(dir.file("super.ckpt"));
    CHECK(t.epochs_done() == 1);
    while (!t.finished()) t.train_epoch();
    const auto a = straight.parameters(), b = fresh.parameters();
    for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i]->value == b[i]->value);
  }
  SearchSpace other = tiny_space();
  other.stages[1].out_channels = 32;
  train::Supernet foreign(other, 1);
  train::SupernetTrainer t(foreign, d, norm, config);
  // The message shows where the two spaces part, not both whole.
  CHECK_THROWS_WITH(t.resume(dir.file("super.ckpt")),
                    Catch::Contains("checkpoint is for another space") && Catch::Contains("\"out_channels\": 32") &&
                        Catch::Contains("\"out_channels\": 24"));
}

TEST_CASE("supernet: with a teacher the smaller sub-networks distill from it, not from the largest", "[supernet]") {
  const data::Dataset d = tiny_images(16, 4);
  const auto norm = data::compute_normalization(d);
  train::Network teacher(parse_genotype("in:8x8x2 stem:16:k3:s1:relu mb:24:e3:k3:s2:relu head:32:relu fc:3"), 9);
  Rng rng(3);  // a confident teacher (an initialised network's logits are all near 0)
  for (train::Parameter* p : teacher.parameters())
    for (float& v : p->value) v = rng.uniform(-1.0f, 1.0f);
  train::SupernetConfig config;
  config.epochs = 1, config.batch_size = 16;  // one step: every loss is that of the initial weights
  config.teacher = &teacher;
  train::Supernet super(tiny_space(), 1), reference(tiny_space(), 1);
  train::SupernetTrainer trainer(super, d, norm, config);
  const std::vector<Choices> subnets = trainer.sandwich(0, 0);
  REQUIRE(subnets.size() == 4);
  const auto stats = trainer.train_epoch();
  // The same step by hand: the batch the trainer filled, each sub-network of the untouched copy.
  data::BatchLoader loader(d, 16, norm);
  Tensor x;
  std::vector<std::int32_t> labels;
  loader.fill(loader.order(config.seed, 0, true), 0, config.augmentation, config.seed, 0, x, labels);
  const ConstTensorView t = teacher.forward(x, false);
  const std::vector<float> from_teacher(t.data(), t.data() + t.size());
  std::vector<float> from_largest;
  double expected = 0.0, in_place = 0.0;
  for (std::size_t i = 0; i < subnets.size(); ++i) {
    train::Network net(reference.space().decode(subnets[i]), 1);
    reference.extract(subnets[i], net);
    const ConstTensorView logits = net.forward(x, true);
    if (i == 0) {
      from_largest.assign(logits.data(), logits.data() + logits.size());
      continue;
    }
    expected += train::distillation_loss(logits, ConstTensorView(from_teacher.data(), t.shape()), 1.0f, {}) / 3;
    in_place += train::distillation_loss(logits, ConstTensorView(from_largest.data(), t.shape()), 1.0f, {}) / 3;
  }
  INFO("teacher " << expected << ", in place " << in_place);
  CHECK(stats.distill_loss == Approx(expected).epsilon(1e-5));
  CHECK(std::abs(expected - in_place) > 1e-3);  // the two teachers are told apart
  train::Network wrong(parse_genotype("in:8x8x2 stem:16:k3:s1:relu mb:24:e3:k3:s2:relu head:32:relu fc:4"), 9);
  config.teacher = &wrong;
  CHECK_THROWS_WITH(train::SupernetTrainer(super, d, norm, config),
                    Catch::Contains("the teacher takes 2 channels into 4 classes, the space 2 channels into 3"));
}

TEST_CASE("supernet: sandwich training on Fashion-MNIST teaches large and small sub-networks", "[supernet][fashion]") {
  set_num_threads(2);
  const auto [train_set, validation] = data::split(data::head(data::load_fashion_mnist(data::Split::train), 6000), 1000, 3);
  const auto norm = data::compute_normalization(train_set);
  SearchSpace space = spaces::fmnist_mcu();  // stem stride 2: fast enough for qemu-user too
  for (auto& s : space.stages) {              // a small, still elastic (kernel, expand, SE, act) space
    s.depths = {1};
    s.kernels = {3, 5};
    s.expands = {1, 3};
  }
  train::Supernet super(space, 1);
  train::SupernetConfig config;
  config.epochs = 1, config.batch_size = 16, config.lr = 0.1f, config.warmup_epochs = 0.1f;
  config.label_smoothing = 0.0f, config.optimizer.weight_decay = 0.0f;
  train::SupernetTrainer trainer(super, train_set, norm, config);
  const auto stats = trainer.train_epoch();
  INFO("training accuracy of the largest " << stats.accuracy << ", distillation loss " << stats.distill_loss);
  CHECK(std::isfinite(stats.loss));
  train::SubnetEvaluator eval(super, train_set, validation, norm, {1000, 250});
  const double largest = eval.accuracy(super.largest()), smallest = eval.accuracy(super.smallest());
  INFO("largest " << largest << " smallest " << smallest);
  CHECK(largest >= 0.70);
  CHECK(smallest >= 0.60);
}

TEST_CASE("supernet: recalibration with fewer images than a batch uses one batch; fewer than 2 is refused",
          "[supernet]") {
  const train::Supernet super(tiny_space(), 3);
  const data::Dataset train_set = tiny_images(40, 1), validation = tiny_images(30, 2);
  const auto norm = data::compute_normalization(train_set);
  // 40 calibration images and a batch of 250 (what a tiny search on a board asks for).
  const train::SubnetEvaluator few(super, train_set, validation, norm, {40, 250});
  const train::SubnetEvaluator exact(super, train_set, validation, norm, {40, 40});
  CHECK(few.accuracy(super.largest()) == exact.accuracy(super.largest()));
  CHECK_THROWS_WITH(train::SubnetEvaluator(super, train_set, validation, norm, {1, 250}),
                    Catch::Contains("at least 2 training images, got 1"));
}
