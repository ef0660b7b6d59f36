// Quantization-aware training: the graph's gradients against finite differences, the
// straight-through estimator, and the forward against the integer network it simulates.
#include <catch2/catch.hpp>
#include <edgenas/quant/calibrate.hpp>
#include <edgenas/runtime/reference/int8_inference.hpp>
#include <edgenas/train.hpp>
#include <edgenas/train/qat.hpp>

#include "../support/gradcheck.hpp"
#include "../support/random.hpp"

using namespace edgenas;

namespace {

struct Setup {
  Genotype genotype;
  std::vector<float> folded;
  Tensor images;
  quant::Ranges ranges;
};

Setup setup(const std::string& text, int count, std::uint64_t seed) {
  Rng rng(seed);
  Setup s{parse_genotype(text), {}, {}, quant::Ranges{}};
  train::Network net(s.genotype, seed);
  const Tensor x = test::random_tensor(s.genotype.input.with_batch(8), rng, -2.0f, 2.0f);
  for (int i = 0; i < 3; ++i) net.forward(x, true);
  s.folded = net.inference_weights();
  s.images = test::random_tensor(s.genotype.input.with_batch(count), rng, -2.0f, 2.0f);
  s.ranges = quant::calibrate(s.genotype, s.folded, {s.images.data(), static_cast<std::size_t>(s.images.size())}, count);
  return s;
}

}  // namespace

TEST_CASE("QAT backward equals finite differences of its float graph", "[qat]") {
  // Smooth activations, a residual, squeeze-and-excitation, a hidden head layer: every op's
  // backward. Fake quantization off: its own gradient is straight-through by definition.
  const Setup s = setup("in:6x6x2 stem:4:k3:s1:swish mb:4:e2:k3:s1:se:swish mb:6:e2:k5:s2:sigmoid head:8:swish:6 fc:3", 3, 4);
  train::QatNetwork net(s.genotype, s.folded, s.ranges);
  net.set_fake_quantization(false);
  Rng rng(8);
  const Tensor r = test::random_tensor({3, 1, 1, 3}, rng);
  const auto loss = [&] {
    const ConstTensorView y = net.forward(s.images, false);
    return test::dot(y.data(), r.data(), y.size());
  };
  // The float graph without quantization is the float network.
  quant::FloatGraph reference(s.genotype, s.folded);
  const ConstTensorView logits = net.forward(s.images, true);
  reference.run({s.images.data(), static_cast<std::size_t>(s.genotype.input.per_image())});
  for (int c = 0; c < 3; ++c) CHECK(logits.data()[c] == Approx(reference.value(reference.graph().output)[static_cast<std::size_t>(c)]).margin(1e-5));
  net.zero_grad();
  net.forward(s.images, true);
  net.backward(r);
  for (train::Parameter* p : net.parameters())
    test::check_gradient(p->name, p->value, p->grad, loss, rng, 1e-2f, {2e-4, 2e-3}, 12);
}

TEST_CASE("batched calibration finds the ranges of the reference float graph", "[qat]") {
  const Setup s = setup("in:10x10x2 stem:8:k3:s2:hswish mb:8:e3:k3:s1:se:swish mb:16:e4:k5:s2:relu6 head:24:hswish:12 fc:5", 20, 12);
  const quant::Ranges batched = train::QatNetwork::calibrate(s.genotype, s.folded, s.images, 7);  // 7 + 7 + 6 images
  REQUIRE(batched.lo.size() == s.ranges.lo.size());
  for (std::size_t v = 0; v < batched.lo.size(); ++v) {
    INFO("value " << v);
    CHECK(batched.lo[v] == Approx(s.ranges.lo[v]).epsilon(1e-4).margin(1e-5));
    CHECK(batched.hi[v] == Approx(s.ranges.hi[v]).epsilon(1e-4).margin(1e-5));
  }
}

TEST_CASE("QAT's straight-through gradient stops where a value was clipped", "[qat]") {
  Setup s = setup("in:6x6x1 stem:4:k3:s1:relu mb:8:e2:k3:s2:relu head:8:relu fc:3", 4, 6);
  Rng rng(1);
  const Tensor r = test::random_tensor({4, 1, 1, 3}, rng);
  const auto gradient_norm = [&](quant::Ranges ranges) {
    train::QatNetwork net(s.genotype, s.folded, std::move(ranges));
    net.zero_grad();
    net.forward(s.images, false);
    net.backward(r);
    double sum = 0.0;
    for (train::Parameter* p : net.parameters())
      for (float g : p->grad) sum += double{g} * g;
    return sum;
  };
  CHECK(gradient_norm(s.ranges) > 0.0);
  quant::Ranges clipped = s.ranges;
  clipped.lo.back() = 0.0f, clipped.hi.back() = 1e-4f;  // every logit is far outside its range
  CHECK(gradient_norm(clipped) == 0.0);
}

TEST_CASE("QAT simulates its integer network: the post-training model before training, the same logits after",
          "[qat]") {
  const Setup s = setup("in:10x10x1 stem:8:k3:s2:hswish mb:8:e3:k3:s1:se:hswish mb:16:e4:k5:s2:relu6 head:24:hswish fc:5", 16, 3);
  train::QatNetwork net(s.genotype, s.folded, s.ranges);
  const quant::QuantizedModel post = quant::quantize_post_training(
      s.genotype, s.folded, {s.images.data(), static_cast<std::size_t>(s.images.size())}, 16);
  const quant::QuantizedModel q = net.quantized();
  CHECK(q.weights == post.weights);
  CHECK(q.biases == post.biases);
  CHECK(q.weight_scales == post.weight_scales);
  CHECK(q.activations == post.activations);

  // A few QAT steps move weights and ranges; the forward still predicts the integer logits.
  train::Optimizer opt(net.parameters(), {});
  Rng rng(2);
  std::vector<std::int32_t> labels(16);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(5));
  for (int step = 0; step < 5; ++step) {
    net.zero_grad();
    const ConstTensorView logits = net.forward(s.images, true);
    Tensor dlogits(logits.shape());
    ops::softmax_cross_entropy(logits, labels, 0.0f, dlogits);
    net.backward(dlogits);
    opt.step(0.01f);
  }
  net.freeze_ranges();
  const ConstTensorView logits = net.forward(s.images, false);
  reference::Int8Network int8(net.quantized());
  const float step = net.activation_params().back().scale;
  int worst = 0;
  for (int i = 0; i < 16; ++i) {
    int8.run({s.images.data() + i * 100, 100});
    for (int c = 0; c < 5; ++c)
      worst = std::max(worst, static_cast<int>(std::lround(std::abs(int8.logit(c) - logits.data()[i * 5 + c]) / step)));
  }
  WARN("QAT logits vs integer logits: at most " << worst << " steps");
  CHECK(worst <= 4);  // measured: 2
}
