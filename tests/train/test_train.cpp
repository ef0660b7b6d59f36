// The run-time trainer: whole-network gradients, cost-model agreement, optimizers, schedule,
// distillation, checkpoints, divergence, inference export, and real learning on Fashion-MNIST.
#include <catch2/catch.hpp>
#include <edgenas/data.hpp>
#include <edgenas/runtime/reference/inference.hpp>
#include <edgenas/train.hpp>
#include <edgenas/zoo.hpp>
#include <filesystem>
#include <fstream>
#include <limits>

#include "../support/gradcheck.hpp"
#include "../support/random.hpp"
#include "../support/temp_dir.hpp"

using namespace edgenas;
namespace fs = std::filesystem;

namespace {

// Every feature: residual with SE and expansion, a block without expansion, stride 2, a head
// with a hidden layer. Smooth activations so finite differences are exact up to rounding.
const char* const every_feature =
    "in:7x6x2 stem:4:k3:s1:swish mb:4:e2:k3:s1:se:swish mb:6:e1:k5:s2:sigmoid mb:6:e3:k3:s1:se:swish "
    "head:8:swish:5 fc:3";

Tensor random_images(Shape s, Rng& rng) { return test::random_tensor(s, rng, -1.5f, 1.5f); }

data::Dataset tiny_dataset(std::size_t n, std::uint64_t seed) {
  data::Dataset d{7, 6, 2, 3, {}, {}, {}};
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.below(3));
    d.labels.push_back(label);
    for (int p = 0; p < 7 * 6 * 2; ++p) d.pixels.push_back(static_cast<std::uint8_t>(std::min(255, label * 80 + static_cast<int>(rng.below(60)))));
  }
  return d;
}


std::vector<std::vector<float>> snapshot(train::Network& net) {
  std::vector<std::vector<float>> s;
  for (auto* p : net.parameters()) s.push_back(p->value);
  for (const auto& b : net.buffers()) s.push_back(*b.values);
  return s;
}

}  // namespace

TEST_CASE("whole-network backward matches finite differences of the training loss", "[train][grad]") {
  set_num_threads(2);
  train::Network net(parse_genotype(every_feature), 3);
  Rng rng(4);
  const Tensor images = random_images({4, 7, 6, 2}, rng);
  const std::vector<std::int32_t> labels = {0, 2, 1, 2};
  Tensor dlogits({4, 1, 1, 3});
  const auto loss = [&] {
    return ops::softmax_cross_entropy(net.forward(images, true), labels, 0.1f, {});
  };
  net.zero_grad();
  ops::softmax_cross_entropy(net.forward(images, true), labels, 0.1f, dlogits);
  net.backward(dlogits);
  for (train::Parameter* p : net.parameters()) {
    const std::vector<float> analytic = p->grad;  // the loss lambda does not touch grads
    test::check_gradient(p->name, p->value, analytic, loss, rng, 1e-2f, {2e-4, 2e-3}, 12);
  }
}

TEST_CASE("block gates: the branch gate equals the project batch norm's gamma·dgamma + beta·dbeta", "[train][grad]") {
  // Scaling a branch by h scales its project BN's gamma and beta by h (identity activation), so
  // ∂loss/∂h = Σ gamma·∂loss/∂gamma + beta·∂loss/∂beta: an independent reference.
  set_num_threads(2);
  train::Network net(parse_genotype(every_feature), 3);
  net.track_block_gates(true);
  Rng rng(6);
  for (train::Parameter* p : net.parameters())  // beta away from 0, so both terms count
    if (p->name.find(".bn.") != std::string::npos)
      for (float& v : p->value) v += rng.uniform(-0.3f, 0.3f);
  const Tensor images = random_images({5, 7, 6, 2}, rng);
  const std::vector<std::int32_t> labels = {0, 2, 1, 2, 1};
  Tensor dlogits({5, 1, 1, 3});
  net.zero_grad();
  ops::softmax_cross_entropy(net.forward(images, true), labels, 0.1f, dlogits);
  net.backward(dlogits);
  const auto& gates = net.block_gates();
  REQUIRE(gates.branch.size() == 3);
  const auto param = [&](const std::string& name) -> train::Parameter& {
    for (train::Parameter* p : net.parameters())
      if (p->name == name) return *p;
    FAIL("no parameter " << name);
    return *net.parameters().front();
  };
  for (std::size_t i = 0; i < 3; ++i) {
    const train::Parameter& gamma = param("block" + std::to_string(i) + ".project.bn.gamma");
    const train::Parameter& beta = param("block" + std::to_string(i) + ".project.bn.beta");
    double expected = 0;
    for (std::size_t c = 0; c < gamma.size(); ++c)
      expected += double{gamma.value[c]} * gamma.grad[c] + double{beta.value[c]} * beta.grad[c];
    INFO("block " << i);
    CHECK(std::abs(expected) > 1e-6);
    CHECK(gates.branch[i] == Approx(expected).epsilon(1e-4).margin(1e-9));
  }
  CHECK(gates.output[1] == gates.branch[1]);  // stride 2: no residual
  CHECK(gates.output[0] != gates.branch[0]);
  // The last block feeds the head's 1x1 conv and batch norm, which a scale of its input does not
  // change (batch statistics): its output gate is 0 up to BN's epsilon.
  CHECK(std::abs(gates.output[2]) < 1e-3 * std::abs(gates.branch[2]));
}

TEST_CASE("the trainer's parameters equal the cost model for random genotypes and the zoo", "[train][cost]") {
  Rng rng(8);
  for (int trial = 0; trial < 20; ++trial) {
    Genotype g;
    g.input = {1, rng.between(8, 32), rng.between(8, 32), rng.between(1, 3)};
    g.stem = {rng.between(4, 16), 3, rng.between(1, 2), Activation::hswish};
    int in = g.stem.channels;
    for (int b = rng.between(1, 4); b > 0; --b) {
      g.blocks.push_back({rng.between(4, 24), in * rng.between(1, 6), std::array{3, 5, 7}[rng.below(3)], rng.between(1, 2),
                          rng.coin(), Activation::relu});
      in = g.blocks.back().out;
    }
    g.head = {rng.between(8, 64), Activation::hswish, rng.coin() ? 0 : 16, 10};
    train::Network net(g, 1);
    INFO(to_string(g));
    CHECK(net.parameter_count() == parameter_count(g.view()));
    CHECK(static_cast<std::int64_t>(net.inference_weights().size()) == inference_weight_count(g.view()));
  }
  train::Network v3(genotype_of<zoo::MobileNetV3Small>(), 1);
  CHECK(v3.parameter_count() == zoo::MobileNetV3Small::parameters);
}

TEST_CASE("reference inference from folded weights equals the trainer's eval mode", "[train][inference]") {
  set_num_threads(2);
  Rng rng(9);
  const data::Dataset d = tiny_dataset(64, 2);
  train::Network net(parse_genotype(every_feature), 5);
  train::TrainConfig config;
  config.epochs = 2, config.batch_size = 16, config.lr = 0.05f;
  train::Trainer trainer(net, d, {{0.5f, 0.5f}, {0.25f, 0.25f}}, config);
  trainer.train_epoch();  // non-trivial batch-norm statistics
  const std::vector<float> weights = net.inference_weights();
  const Tensor images = random_images({6, 7, 6, 2}, rng);
  const ConstTensorView expected = net.forward(images, false);
  std::vector<float> arena(static_cast<std::size_t>(reference::arena_floats(net.genotype().view())));
  std::vector<float> logits(3);
  for (int n = 0; n < 6; ++n) {
    reference::infer(net.genotype().view(), weights, images.view().images(n, 1), arena, logits);
    for (int k = 0; k < 3; ++k) CHECK(logits[static_cast<std::size_t>(k)] == Approx(expected(n, 0, 0, k)).epsilon(1e-4).margin(1e-5));
  }
  // The arena is exactly the cost model's peak: one float less is refused.
  arena.pop_back();
  CHECK_THROWS_WITH(reference::infer(net.genotype().view(), weights, images.view().images(0, 1), arena, logits),
                    Catch::Contains("arena of"));
}

TEST_CASE("typed inference of the reference network agrees with its genotype network", "[train][inference][blocks]") {
  using Net = zoo::FashionReference;
  train::Network net(genotype_of<Net>(), 11);
  Rng rng(12);
  const Tensor batch = random_images({8, 28, 28, 1}, rng);
  net.forward(batch, true);  // update running statistics once
  const std::vector<float> weights = net.inference_weights();
  REQUIRE(static_cast<std::int64_t>(weights.size()) == inference_weight_count(Net::view));
  static std::array<float, reference::arena_floats_v<Net>> arena;  // static: sized at compile time
  std::array<float, 10> logits{};
  const ConstTensorView expected = net.forward(batch, false);
  for (int n = 0; n < 8; ++n) {
    reference::infer<Net>(weights, batch.view().images(n, 1), arena, logits);
    for (int k = 0; k < 10; ++k) CHECK(logits[static_cast<std::size_t>(k)] == Approx(expected(n, 0, 0, k)).epsilon(1e-4).margin(1e-5));
  }
}

TEST_CASE("SGD (Nesterov) and AdamW follow their update rules; no decay on BN and biases", "[train][optimizer]") {
  train::Parameter w("w", 2, true), bn("bn", 1, false);
  w.value = {1.0f, -2.0f};
  bn.value = {3.0f};
  train::OptimizerConfig sgd;
  sgd.momentum = 0.9f, sgd.nesterov = true, sgd.weight_decay = 0.1f;
  train::Optimizer opt({&w, &bn}, sgd);
  for (int step = 0; step < 2; ++step) {
    w.grad = {0.5f, 0.25f};
    bn.grad = {1.0f};
    opt.step(0.1f);
  }
  // By hand: g1 = grad + wd·w; m1 = g1; w1 = w − lr(g1 + μ m1); then again.
  double w0 = 1.0, m = 0.0;
  for (int step = 0; step < 2; ++step) {
    const double g = 0.5 + 0.1 * w0;
    m = 0.9 * m + g;
    w0 -= 0.1 * (g + 0.9 * m);
  }
  CHECK(w.value[0] == Approx(w0).epsilon(1e-6));
  double b0 = 3.0, mb = 0.0;
  for (int step = 0; step < 2; ++step) {
    mb = 0.9 * mb + 1.0;
    b0 -= 0.1 * (1.0 + 0.9 * mb);
  }
  CHECK(bn.value[0] == Approx(b0).epsilon(1e-6));  // no decay term

  train::Parameter a("a", 1, true);
  a.value = {2.0f};
  train::OptimizerConfig adam;
  adam.kind = train::OptimizerKind::adamw, adam.weight_decay = 0.01f;
  train::Optimizer adamw({&a}, adam);
  double v = 2.0, m1 = 0.0, m2 = 0.0;
  for (int t = 1; t <= 3; ++t) {
    a.grad = {0.3f * t};
    adamw.step(0.01f);
    const double g = 0.3 * t;
    m1 = 0.9 * m1 + 0.1 * g;
    m2 = 0.999 * m2 + 0.001 * g * g;
    v -= 0.01 * (0.01 * v + (m1 / (1 - std::pow(0.9, t))) / (std::sqrt(m2 / (1 - std::pow(0.999, t))) + 1e-8));
  }
  CHECK(a.value[0] == Approx(v).epsilon(1e-6));
}

TEST_CASE("cosine schedule with warm-up", "[train][schedule]") {
  const train::CosineSchedule s{0.4f, 0.0f, 10, 110};
  CHECK(s(0) == Approx(0.04f));
  CHECK(s(9) == Approx(0.4f));
  CHECK(s(10) == Approx(0.4f));
  CHECK(s(60) == Approx(0.2f));
  CHECK(s(110) == Approx(0.0f).margin(1e-7));
  CHECK(s(35) > s(85));
}

TEST_CASE("distillation loss: zero for identical logits, T² scaling and exact gradient", "[train][distillation][grad]") {
  Rng rng(13);
  Tensor student = test::random_tensor({3, 1, 1, 5}, rng, -3.0f, 3.0f);
  const Tensor teacher = test::random_tensor({3, 1, 1, 5}, rng, -3.0f, 3.0f);
  CHECK(train::distillation_loss(teacher, teacher, 2.0f, {}) == Approx(0.0).margin(1e-12));
  for (float T : {1.0f, 4.0f}) {
    Tensor grad(student.shape());
    train::distillation_loss(student, teacher, T, grad);
    test::check_gradient("dstudent", {student.data(), static_cast<std::size_t>(student.size())},
                         {grad.data(), static_cast<std::size_t>(grad.size())},
                         [&] { return train::distillation_loss(student, teacher, T, {}); }, rng);
  }
  CHECK(train::distillation_loss(student, teacher, 1.0f, {}) > 0.0);
  CHECK_THROWS_WITH(train::distillation_loss(student, teacher, 0.0f, {}), Catch::Contains("temperature 0"));
}

TEST_CASE("checkpoints resume bit-for-bit and reject corrupt, truncated or mismatched files", "[train][checkpoint]") {
  set_num_threads(2);
  const test::TempDir scratch("train_test");
  const fs::path dir = scratch.path();
  const std::string path = (dir / "run.ckpt").string();
  const data::Dataset d = tiny_dataset(96, 3);
  const data::Normalization norm{{0.5f, 0.5f}, {0.25f, 0.25f}};
  train::TrainConfig config;
  config.epochs = 3, config.batch_size = 16, config.lr = 0.05f, config.augmentation = {1, true}, config.seed = 21;
  const Genotype g = parse_genotype(every_feature);

  train::Network uninterrupted(g, 7);
  {
    train::Trainer t(uninterrupted, d, norm, config);
    while (!t.finished()) t.train_epoch();
  }
  train::TrainConfig with_ckpt = config;
  with_ckpt.checkpoint = path;
  {
    train::Network first(g, 7);
    train::Trainer t(first, d, norm, with_ckpt);
    t.train_epoch();  // writes the checkpoint after epoch 1; the process "dies" here
  }
  train::Network resumed(g, 99);  // different init: everything must come from the file
  train::Trainer t(resumed, d, norm, with_ckpt);
  t.resume(path);
  CHECK(t.epochs_done() == 1);
  while (!t.finished()) t.train_epoch();
  CHECK(snapshot(resumed) == snapshot(uninterrupted));
  CHECK_FALSE(fs::exists(path + ".tmp"));

  // Corruption: one flipped byte in the payload.
  std::vector<char> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::vector<char>& b, const std::string& p) {
    std::ofstream(p, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
  };
  const std::string bad = (dir / "bad.ckpt").string();
  auto flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x40;
  write(flipped, bad);
  train::Network victim(g, 1);
  const auto before = snapshot(victim);
  train::Trainer tv(victim, d, norm, config);
  CHECK_THROWS_WITH(tv.resume(bad), Catch::Contains("checksum mismatch"));
  CHECK(snapshot(victim) == before);  // untouched
  write(std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() - 100)), bad);
  CHECK_THROWS_WITH(tv.resume(bad), Catch::Contains("truncated"));
  write(std::vector<char>{'n', 'o', 'p', 'e'}, bad);
  CHECK_THROWS_WITH(tv.resume(bad), Catch::Contains("not an edgenas checkpoint"));
  // A checkpoint of another architecture.
  train::Network other(parse_genotype("in:7x6x2 stem:4:k3:s1:swish head:8:swish fc:3"), 1);
  train::Trainer to(other, d, norm, config);
  CHECK_THROWS_WITH(to.resume(path), Catch::Contains("checkpoint is for another genotype"));
  // Saving into a missing directory fails cleanly and leaves the good checkpoint alone.
  train::Optimizer opt(resumed.parameters(), config.optimizer);
  CHECK_THROWS_WITH(train::save_checkpoint((dir / "missing" / "x.ckpt").string(), resumed, opt, 1),
                    Catch::Contains("cannot create"));
  train::Network again(g, 5);
  train::Trainer ta(again, d, norm, with_ckpt);
  ta.resume(path);
  CHECK(snapshot(again) == snapshot(uninterrupted));
  // A small, well-formed checkpoint naming a genotype of ~5 · 10^8 parameters is refused before
  // the network is built (it would allocate gigabytes).
  train::detail::Writer forged;
  forged.string("in:28x28x1 stem:16384:k3:s2:relu head:16384:relu fc:10");
  forged.string("sgd");
  forged.pod(std::uint32_t{1});
  forged.pod(std::int64_t{0});
  forged.pod(std::uint32_t{0});
  const std::string forged_path = (dir / "forged.ckpt").string();
  write_file_atomically(
      forged_path,
      container_bytes(train::checkpoint_magic, train::checkpoint_version,
                      std::string_view(reinterpret_cast<const char*>(forged.bytes.data()), forged.bytes.size())));
  CHECK_THROWS_WITH(train::load_network(forged_path),
                    Catch::Contains("the checkpoint's genotype has") && Catch::Contains("the file only"));
}

TEST_CASE("divergence stops training with a message, the last checkpoint intact", "[train][nan]") {
  const test::TempDir scratch("train_test");
  const fs::path dir = scratch.path();
  const data::Dataset d = tiny_dataset(64, 4);
  train::TrainConfig config;
  config.epochs = 3, config.batch_size = 16, config.lr = 1e12f, config.warmup_epochs = 0;
  config.checkpoint = (dir / "nan.ckpt").string();
  train::Network net(parse_genotype(every_feature), 1);
  // A learning rate no schedule uses is refused before training, naming it.
  CHECK_THROWS_WITH(train::Trainer(net, d, {{0.5f, 0.5f}, {0.25f, 0.25f}}, config),
                    Catch::Contains("learning rate 1e+12"));
  config.lr = std::nanf("");
  CHECK_THROWS_WITH(train::Trainer(net, d, {{0.5f, 0.5f}, {0.25f, 0.25f}}, config),
                    Catch::Contains("learning rate nan"));
  // A weight that overflowed (as a too-large step would make it): training stops, saying so.
  config.lr = 0.1f;
  net.parameters().front()->value.front() = std::numeric_limits<float>::infinity();
  train::Trainer t(net, d, {{0.5f, 0.5f}, {0.25f, 0.25f}}, config);
  CHECK_THROWS_WITH([&] { while (!t.finished()) t.train_epoch(); }(),
                    Catch::Contains("training diverged: non-finite logits in epoch"));
}

TEST_CASE("weight average: the ramped recurrence over parameters and statistics, swapped in and out",
          "[train][average]") {
  train::Parameter w("w", 3, true);
  std::vector<float> stats{1.0f, 2.0f};
  w.value = {0.5f, -1.0f, 2.0f};
  std::vector<train::Parameter*> params{&w};
  const std::vector<train::Buffer> buffers{{"bn.mean", &stats}};
  CHECK_THROWS_WITH(train::WeightAverage(params, buffers, 1.0f), Catch::Contains("decay 1, expected between 0 and 1"));
  train::WeightAverage average(params, buffers, 0.9f);
  // Naive reference: a_t = d_t·a_{t−1} + (1 − d_t)·x_t with d_t = min(0.9, (1 + t) / (10 + t)).
  std::vector<double> expected{0.5, -1.0, 2.0, 1.0, 2.0};
  Rng rng(3);
  for (int t = 1; t <= 40; ++t) {
    for (float& v : w.value) v = rng.uniform(-2.0f, 2.0f);
    for (float& v : stats) v = rng.uniform(0.0f, 3.0f);
    average.update(t);
    const double d = std::min(0.9, (1.0 + t) / (10.0 + t));
    const std::vector<float> now{w.value[0], w.value[1], w.value[2], stats[0], stats[1]};
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = d * expected[i] + (1 - d) * now[i];
  }
  CHECK(train::average_decay(0.9f, 1) == Approx(2.0 / 11));
  CHECK(train::average_decay(0.9f, 1000) == 0.9f);
  const std::vector<float> last_w = w.value, last_stats = stats;
  average.swap();
  for (std::size_t i = 0; i < 3; ++i) CHECK(w.value[i] == Approx(expected[i]).margin(1e-6));
  for (std::size_t i = 0; i < 2; ++i) CHECK(stats[i] == Approx(expected[3 + i]).margin(1e-6));
  average.swap();
  CHECK(w.value == last_w);
  CHECK(stats == last_stats);
  CHECK(average.state().front().name == "average.w");
}

TEST_CASE("a weight average resumes bit-for-bit from a checkpoint, and load_network gives the average",
          "[train][average][checkpoint]") {
  const test::TempDir scratch("train_average");
  const std::string path = (scratch.path() / "avg.ckpt").string();
  const data::Dataset d = tiny_dataset(96, 8);
  const data::Normalization norm{{0.5f, 0.5f}, {0.25f, 0.25f}};
  train::TrainConfig config;
  config.epochs = 3, config.batch_size = 16, config.lr = 0.05f, config.augmentation = {1, true}, config.seed = 4;
  config.weight_average = 0.95f;
  const Genotype g = parse_genotype(every_feature);
  train::Network uninterrupted(g, 7);
  train::Trainer straight(uninterrupted, d, norm, config);
  while (!straight.finished()) straight.train_epoch();
  const auto last = snapshot(uninterrupted);
  straight.weight_average()->swap();
  const auto averaged = snapshot(uninterrupted);
  CHECK(averaged != last);  // 18 steps of 0.95 at most: the average lags the weights

  config.checkpoint = path;
  {
    train::Network first(g, 7);
    train::Trainer t(first, d, norm, config);
    t.train_epoch();
  }
  train::Network resumed(g, 99);
  train::Trainer t(resumed, d, norm, config);
  t.resume(path);
  while (!t.finished()) t.train_epoch();
  CHECK(snapshot(resumed) == last);
  t.weight_average()->swap();
  CHECK(snapshot(resumed) == averaged);
  CHECK(train::load_network(path)->inference_weights() == resumed.inference_weights());

  // A checkpoint with an average does not resume a training without one, nor the reverse.
  train::TrainConfig plain = config;
  plain.weight_average = 0.0f;
  train::Network other(g, 7);
  train::Trainer without(other, d, norm, plain);
  CHECK_THROWS_WITH(without.resume(path), Catch::Contains("tensors, this genotype and optimizer have"));
  config.weight_average = 1.0f;
  CHECK_THROWS_WITH(train::Trainer(other, d, norm, config), Catch::Contains("weight average decay 1"));
}

TEST_CASE("a training re-sized mid-way ends as one resumed with the new length, never before the epochs done",
          "[train][schedule][checkpoint]") {
  const test::TempDir scratch("train_set_epochs");
  const std::string path = (scratch.path() / "resized.ckpt").string();
  const data::Dataset d = tiny_dataset(96, 8);
  const data::Normalization norm{{0.5f, 0.5f}, {0.25f, 0.25f}};
  train::TrainConfig config;
  config.epochs = 4, config.batch_size = 16, config.lr = 0.05f, config.warmup_epochs = 0.5f, config.seed = 4;
  const Genotype g = parse_genotype(every_feature);
  for (const int length : {2, 5}) {
    INFO("re-sized to " << length << " epochs after one of 4");
    // Straight through: one epoch planned as 4, then re-sized.
    train::Network straight(g, 7);
    train::Trainer t(straight, d, norm, config);
    t.train_epoch();
    t.set_epochs(length);
    CHECK(t.config().epochs == length);
    int ran = 1;
    while (!t.finished()) t.train_epoch(), ++ran;
    CHECK(ran == length);
    // The same first epoch checkpointed, then a training configured with the new length resumes
    // it: the schedule from epoch 2 on is the new length's cosine in both.
    train::TrainConfig first = config;
    first.checkpoint = path;
    {
      train::Network net(g, 7);
      train::Trainer one(net, d, norm, first);
      one.train_epoch();
    }
    train::TrainConfig rest = first;
    rest.epochs = length;
    train::Network resumed(g, 99);
    train::Trainer r(resumed, d, norm, rest);
    r.resume(path);
    while (!r.finished()) r.train_epoch();
    CHECK(snapshot(resumed) == snapshot(straight));
    // A re-size to fewer epochs than are done is refused; to exactly those, the training ends.
    CHECK_THROWS_WITH(r.set_epochs(length - 1), Catch::Contains("Trainer::set_epochs: " + std::to_string(length - 1) +
                                                                " epochs, expected " + std::to_string(length)));
    r.set_epochs(length);
    CHECK(r.finished());
  }
}

TEST_CASE("training is deterministic for a seed", "[train][determinism]") {
  set_num_threads(2);
  const data::Dataset d = tiny_dataset(64, 5);
  train::TrainConfig config;
  config.epochs = 1, config.batch_size = 16, config.augmentation = {1, true};
  train::Network a(parse_genotype(every_feature), 2), b(parse_genotype(every_feature), 2);
  train::Trainer ta(a, d, {{0.5f, 0.5f}, {0.25f, 0.25f}}, config), tb(b, d, {{0.5f, 0.5f}, {0.25f, 0.25f}}, config);
  ta.train_epoch();
  tb.train_epoch();
  CHECK(snapshot(a) == snapshot(b));
}

TEST_CASE("real learning: one epoch on 5 000 Fashion-MNIST images reaches >= 75% held out", "[train][fashion]") {
  set_num_threads(2);
  const data::Dataset all = data::load_fashion_mnist(data::Split::train);
  auto [train_set, held_out] = data::split(all, 2000, 7);
  train_set = data::head(train_set, 5000);
  // 1.2 M MACs: small enough to train for real under qemu-user too (≈ 3.5 s here on one core).
  train::Network net(parse_genotype("in:28x28x1 stem:16:k3:s2:relu mb:32:e3:k3:s2:relu mb:64:e3:k3:s1:relu "
                                    "head:128:relu fc:10"),
                     1);
  train::TrainConfig config;
  config.epochs = 1, config.batch_size = 16, config.lr = 0.2f, config.warmup_epochs = 0.1f;
  config.label_smoothing = 0.0f, config.optimizer.weight_decay = 0.0f, config.seed = 1;
  train::Trainer trainer(net, train_set, data::compute_normalization(train_set), config);
  const train::EpochStats e = trainer.train_epoch();
  const train::EvalStats result = trainer.evaluate(held_out);
  INFO("train accuracy " << e.accuracy << ", held-out accuracy " << result.accuracy);
  CHECK(result.accuracy >= 0.75);
  CHECK(result.accuracy > e.accuracy - 0.25);  // evaluation mode works (BN running statistics)
}
