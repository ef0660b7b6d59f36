// ops_tour — every edgenas kernel chained by hand into a tiny MBConv network:
//
//   stem 3×3 (1→8, s2) → BN → h-swish → depthwise 3×3 → BN → h-swish → SE → pointwise (8→16)
//   → BN → global pool → linear (16→10) → softmax cross-entropy
//
// and trained with plain SGD to memorise 64 random 12×12 images with random labels. If any
// backward pass were wrong the loss would not fall; it prints the loss every 25 steps.
// (The real trainer, built from a genotype, comes with the blocks/trainer work.)
#include <cstdio>
#include <edgenas/edgenas.hpp>
#include <vector>

using namespace edgenas;

namespace {

struct Param {
  std::vector<float> value, grad;
  Param(std::size_t n, Rng& rng, float scale) : value(n), grad(n, 0.0f) {
    for (auto& v : value) v = rng.normal(0.0f, scale);
  }
  Param(std::size_t n, float fill) : value(n, fill), grad(n, 0.0f) {}
  void step(float lr) {
    for (std::size_t i = 0; i < value.size(); ++i) value[i] -= lr * grad[i], grad[i] = 0.0f;
  }
};

struct BatchNorm {
  Param gamma, beta;
  std::vector<float> mean, var;
  ops::BatchNormCache cache;
  explicit BatchNorm(int c)
      : gamma(static_cast<std::size_t>(c), 1.0f), beta(static_cast<std::size_t>(c), 0.0f),
        mean(static_cast<std::size_t>(c), 0.0f), var(static_cast<std::size_t>(c), 1.0f) {}
};

}  // namespace

int main() {
  set_num_threads(2);
  Rng rng(2024);
  const int N = 64, classes = 10;
  Tensor images({N, 12, 12, 1});
  for (std::int64_t i = 0; i < images.size(); ++i) images[i] = rng.normal();
  std::vector<std::int32_t> labels(N);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(classes));

  Param stem(8 * 3 * 3 * 1, rng, 0.47f), dw(3 * 3 * 8, rng, 0.47f), se_w1(2 * 8, rng, 0.5f), se_b1(2, 0.0f),
      se_w2(8 * 2, rng, 0.7f), se_b2(8, 0.0f), pw(16 * 8, rng, 0.5f), fc(classes * 16, rng, 0.35f), fc_b(classes, 0.0f);
  BatchNorm bn1(8), bn2(8), bn3(16);
  const Shape s1{N, 6, 6, 8}, s3{N, 6, 6, 16};
  Tensor a1(s1), b1(s1), h1(s1), a2(s1), b2(s1), h2(s1), e(s1), a3(s3), b3(s3), pooled({N, 1, 1, 16}),
      logits({N, 1, 1, classes});
  Tensor g_logits(logits.shape()), g_pooled(pooled.shape()), g3(s3), g_b3(s3), g_e(s1), g_h2(s1), g_b2(s1), g_a2(s1),
      g_h1(s1), g_b1(s1), g_a1(s1);
  ops::SqueezeExciteCache se_cache;

  const float lr = 0.2f;
  double first_loss = 0.0, loss = 0.0;
  for (int step = 0; step <= 200; ++step) {
    const ops::SqueezeExcite se{se_w1.value, se_b1.value, se_w2.value, se_b2.value};
    // forward
    ops::conv2d_forward(images, stem.value, {}, 3, 2, a1);
    ops::batch_norm_forward_train(a1, bn1.gamma.value, bn1.beta.value, bn1.mean, bn1.var, {}, b1, bn1.cache);
    ops::activation_forward(Activation::hswish, b1, h1);
    ops::depthwise_forward(h1, dw.value, {}, 3, 1, a2);
    ops::batch_norm_forward_train(a2, bn2.gamma.value, bn2.beta.value, bn2.mean, bn2.var, {}, b2, bn2.cache);
    ops::activation_forward(Activation::hswish, b2, h2);
    ops::squeeze_excite_forward(h2, se, e, se_cache);
    ops::pointwise_forward(e, pw.value, {}, a3);
    ops::batch_norm_forward_train(a3, bn3.gamma.value, bn3.beta.value, bn3.mean, bn3.var, {}, b3, bn3.cache);
    ops::global_average_pool_forward(b3, pooled);
    ops::linear_forward(pooled, fc.value, fc_b.value, logits);
    loss = ops::softmax_cross_entropy(logits, labels, 0.0f, g_logits);
    if (step == 0) first_loss = loss;
    if (step % 25 == 0) std::printf("step %3d  loss %.4f\n", step, loss);
    // backward
    ops::linear_backward(pooled, fc.value, g_logits, g_pooled, fc.grad, fc_b.grad);
    ops::global_average_pool_backward(g_pooled, g_b3);
    ops::batch_norm_backward(a3, bn3.gamma.value, bn3.cache, g_b3, g3, bn3.gamma.grad, bn3.beta.grad);
    ops::pointwise_backward(e, pw.value, g3, g_e, pw.grad, {});
    ops::squeeze_excite_backward(h2, se, se_cache, g_e, g_h2, {se_w1.grad, se_b1.grad, se_w2.grad, se_b2.grad});
    ops::activation_backward(Activation::hswish, b2, g_h2, g_b2);
    ops::batch_norm_backward(a2, bn2.gamma.value, bn2.cache, g_b2, g_a2, bn2.gamma.grad, bn2.beta.grad);
    ops::depthwise_backward(h1, dw.value, 3, 1, g_a2, g_h1, dw.grad, {});
    ops::activation_backward(Activation::hswish, b1, g_h1, g_b1);
    ops::batch_norm_backward(a1, bn1.gamma.value, bn1.cache, g_b1, g_a1, bn1.gamma.grad, bn1.beta.grad);
    ops::conv2d_backward(images, stem.value, 3, 2, g_a1, TensorView{}, stem.grad, {});
    for (Param* p : {&stem, &dw, &se_w1, &se_b1, &se_w2, &se_b2, &pw, &fc, &fc_b, &bn1.gamma, &bn1.beta, &bn2.gamma,
                     &bn2.beta, &bn3.gamma, &bn3.beta})
      p->step(lr);
  }
  std::printf("loss %.4f -> %.4f after 200 SGD steps\n", first_loss, loss);
  if (!(loss < 0.5 * first_loss)) {
    std::fprintf(stderr, "ops_tour: the loss did not halve; a gradient is wrong\n");
    return 1;
  }
  return 0;
}
