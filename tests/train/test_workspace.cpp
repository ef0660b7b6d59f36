// Training memory: the activation workspace, the bit-exact recomputation that lets backward
// keep only convolutions, and networks that share one workspace.
#include <catch2/catch.hpp>
#include <cstring>
#include <edgenas/train.hpp>

#include "../support/random.hpp"

using namespace edgenas;

namespace {

bool same_bits(ConstTensorView a, ConstTensorView b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(float)) == 0;
}

struct Step {
  std::vector<float> logits;
  std::vector<std::vector<float>> grads;
};

Step train_step(train::Network& net, const Tensor& images, const std::vector<std::int32_t>& labels) {
  net.zero_grad();
  const ConstTensorView logits = net.forward(images, true);
  Tensor dlogits(logits.shape());
  Step s;
  s.logits.assign(logits.data(), logits.data() + logits.size());
  ops::softmax_cross_entropy(logits, labels, 0.1f, dlogits);
  net.backward(dlogits);
  for (auto* p : net.parameters()) s.grads.push_back(p->grad);
  return s;
}

}  // namespace

TEST_CASE("workspace: aligned views in a stack that releases with chunks merged on reset and pointers that never move",
          "[train][workspace]") {
  train::Workspace ws;
  const TensorView a = ws.take({1, 3, 3, 5});
  REQUIRE(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
  std::fill_n(a.data(), a.size(), 1.0f);
  const train::Workspace::Mark m = ws.mark();
  const TensorView b = ws.take({2, 4, 4, 3});
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
  // No overlap (b may sit in a new chunk below a).
  CHECK((b.data() >= a.data() + a.size() || b.data() + b.size() <= a.data()));
  ws.release(m);
  const TensorView c = ws.take({2, 4, 4, 3});
  CHECK(c.data() == b.data());  // released memory is handed out again
  // A request larger than what is left adds a chunk; earlier views keep their memory.
  const TensorView big = ws.take({1, 100, 100, 10});
  std::fill_n(big.data(), big.size(), 2.0f);
  CHECK(std::all_of(a.data(), a.data() + a.size(), [](float v) { return v == 1.0f; }));
  const std::size_t high = ws.high_water_bytes();
  CHECK(high >= static_cast<std::size_t>(a.size() + c.size() + big.size()) * sizeof(float));
  ws.reset();
  CHECK(ws.capacity_bytes() == high);  // one chunk of the most ever in use
  const TensorView again = ws.take({1, 100, 100, 10});
  ws.take({1, 3, 3, 5});
  CHECK(ws.capacity_bytes() == high);
  CHECK(again.data() != nullptr);
  CHECK_THROWS_WITH(ws.take({0, 1, 1, 1}), Catch::Contains("invalid shape"));
}

TEST_CASE("recomputed activations are bit-identical to the forward's", "[train][workspace]") {
  set_num_threads(2);
  Rng rng(3);
  const Tensor x = test::random_tensor({3, 5, 7, 11}, rng, -2.0f, 2.0f);
  const std::vector<float> gamma = test::random_vector(11, rng, 0.5f, 1.5f), beta = test::random_vector(11, rng);
  for (Activation act : {Activation::relu, Activation::relu6, Activation::hswish, Activation::swish, Activation::identity}) {
    std::vector<float> mean(11, 0.0f), var(11, 1.0f);
    ops::BatchNormCache cache;
    Tensor y(x.shape()), again(x.shape());
    ops::batch_norm_act_forward_train(x, gamma, beta, mean, var, {}, act, y, cache);
    ops::batch_norm_act_apply(x, gamma, beta, cache, act, again);
    CHECK(same_bits(y, again));
  }
  const std::vector<float> w1 = test::random_vector(4 * 11, rng), b1 = test::random_vector(4, rng),
                           w2 = test::random_vector(11 * 4, rng), b2 = test::random_vector(11, rng);
  const ops::SqueezeExcite se{w1, b1, w2, b2};
  ops::SqueezeExciteCache cache;
  Tensor y(x.shape()), again(x.shape()), in_place = x;
  ops::squeeze_excite_forward(x, se, y, cache);
  ops::squeeze_excite_apply(x, cache, again);
  CHECK(same_bits(y, again));
  ops::squeeze_excite_forward(in_place, se, in_place, cache);  // the trainer's in-place form
  CHECK(same_bits(y, in_place));
}

TEST_CASE("networks sharing one workspace train exactly as networks with their own", "[train][workspace]") {
  set_num_threads(2);
  const Genotype big = parse_genotype(
      "in:12x12x2 stem:8:k3:s1:hswish mb:8:e4:k5:s1:se:hswish mb:16:e3:k3:s2:relu mb:16:e6:k7:s1:se:swish head:24:hswish fc:4");
  const Genotype small = parse_genotype("in:12x12x2 stem:8:k3:s1:relu mb:8:e1:k3:s1:relu mb:16:e3:k3:s2:se:hswish head:24:hswish fc:4");
  Rng rng(9);
  const Tensor images = test::random_tensor({6, 12, 12, 2}, rng, -1.5f, 1.5f);
  const std::vector<std::int32_t> labels = {0, 1, 2, 3, 1, 0};

  train::Network own_big(big, 5), own_small(small, 6), shared_big(big, 5), shared_small(small, 6);
  auto activations = std::make_shared<train::Activations>();
  shared_big.share_activations(activations);
  shared_small.share_activations(activations);
  for (int step = 0; step < 2; ++step) {  // interleaved, as the supernet's sandwich runs them
    const Step a = train_step(own_big, images, labels), b = train_step(shared_big, images, labels);
    const Step c = train_step(own_small, images, labels), d = train_step(shared_small, images, labels);
    CHECK(a.logits == b.logits);
    CHECK(a.grads == b.grads);
    CHECK(c.logits == d.logits);
    CHECK(c.grads == d.grads);
  }
  // The shared workspace is as large as the larger network needs, not the sum.
  CHECK(activations->high_water_bytes() == own_big.activations().high_water_bytes());
  CHECK(own_big.activations().high_water_bytes() > own_small.activations().high_water_bytes());
  // Evaluation and recalibration passes keep nothing for backward, and need less memory.
  train::Network eval(big, 5);
  eval.forward(images, train::Pass::statistics);
  CHECK(eval.activations().high_water_bytes() < own_big.activations().high_water_bytes());
  CHECK_THROWS_WITH(eval.backward(Tensor({6, 1, 1, 4})), Catch::Contains("not a training pass"));
  // Eval output is the same through a fresh or a shared workspace.
  const ConstTensorView x = own_big.forward(images, false);
  const std::vector<float> expected(x.data(), x.data() + x.size());
  const ConstTensorView y = shared_big.forward(images, false);
  CHECK(std::vector<float>(y.data(), y.data() + y.size()) == expected);
}
