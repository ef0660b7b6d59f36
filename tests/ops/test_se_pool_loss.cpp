// Squeeze-and-excitation, global average pooling, residual add, softmax cross-entropy.
#include <catch2/catch.hpp>
#include <edgenas/ops.hpp>

#include "../support/compare.hpp"
#include "../support/gradcheck.hpp"
#include "../support/random.hpp"
#include "../support/reference.hpp"

using namespace edgenas;
using namespace edgenas::test;

namespace {

struct SeWeights {
  std::vector<float> w1, b1, w2, b2;
  ops::SqueezeExcite op(Activation inner, Activation gate) const { return {w1, b1, w2, b2, inner, gate}; }
};

SeWeights random_se(int C, int R, Rng& rng) {
  return {random_vector(static_cast<std::size_t>(R * C), rng), random_vector(static_cast<std::size_t>(R), rng),
          random_vector(static_cast<std::size_t>(C * R), rng), random_vector(static_cast<std::size_t>(C), rng)};
}

// SE from its definition, in double.
std::vector<double> reference_se(const Tensor& x, const SeWeights& p, int R, Activation inner, Activation gate) {
  const Shape s = x.shape();
  std::vector<double> y(static_cast<std::size_t>(x.size()));
  for (int n = 0; n < s.n; ++n) {
    std::vector<double> pooled(static_cast<std::size_t>(s.c), 0.0), hidden(static_cast<std::size_t>(R)),
        g(static_cast<std::size_t>(s.c));
    for (int h = 0; h < s.h; ++h)
      for (int w = 0; w < s.w; ++w)
        for (int c = 0; c < s.c; ++c) pooled[static_cast<std::size_t>(c)] += x(n, h, w, c) / double(s.h * s.w);
    for (int r = 0; r < R; ++r) {
      double a = p.b1[static_cast<std::size_t>(r)];
      for (int c = 0; c < s.c; ++c) a += p.w1[static_cast<std::size_t>(r * s.c + c)] * pooled[static_cast<std::size_t>(c)];
      hidden[static_cast<std::size_t>(r)] = reference::activation(inner, a);
    }
    for (int c = 0; c < s.c; ++c) {
      double a = p.b2[static_cast<std::size_t>(c)];
      for (int r = 0; r < R; ++r) a += p.w2[static_cast<std::size_t>(c * R + r)] * hidden[static_cast<std::size_t>(r)];
      g[static_cast<std::size_t>(c)] = reference::activation(gate, a);
    }
    for (int h = 0; h < s.h; ++h)
      for (int w = 0; w < s.w; ++w)
        for (int c = 0; c < s.c; ++c)
          y[static_cast<std::size_t>(((n * s.h + h) * s.w + w) * s.c + c)] = x(n, h, w, c) * g[static_cast<std::size_t>(c)];
  }
  return y;
}

}  // namespace

TEST_CASE("squeeze-and-excitation forward equals its definition", "[ops][se]") {
  Rng rng(71);
  for (auto [inner, gate] : {std::pair{Activation::relu, Activation::hsigmoid}, {Activation::swish, Activation::sigmoid}}) {
    for (const Shape xs : {Shape{2, 5, 5, 16}, Shape{3, 3, 4, 24}, Shape{1, 1, 1, 8}}) {
      const int R = std::max(1, xs.c / 4);
      const Tensor x = random_tensor(xs, rng);
      const SeWeights p = random_se(xs.c, R, rng);
      Tensor y(xs);
      ops::SqueezeExciteCache cache;
      ops::squeeze_excite_forward(x, p.op(inner, gate), y, cache);
      require_close("se", y.data(), reference_se(x, p, R, inner, gate));
    }
  }
}

TEST_CASE("squeeze-and-excitation backward matches finite differences", "[ops][se][grad]") {
  Rng rng(72);
  for (auto [inner, gate] : {std::pair{Activation::relu, Activation::hsigmoid}, {Activation::swish, Activation::sigmoid}}) {
    INFO("inner " << activation_name(inner) << ", gate " << activation_name(gate));
    const Shape xs{3, 4, 3, 8};
    const int R = 2;
    Tensor x, y(xs), dx(xs);
    SeWeights p;
    ops::SqueezeExciteCache cache;
    // Finite differences are only meaningful if no pre-activation sits within h of a kink
    // (ReLU at 0, h-sigmoid at ±3): draw until that holds.
    auto near_kink = [&] {
      for (std::int64_t i = 0; i < cache.hidden_pre.size(); ++i)
        if (std::abs(cache.hidden_pre[i]) < 0.05f) return true;
      for (std::int64_t i = 0; i < cache.gate_pre.size(); ++i)
        if (std::abs(std::abs(cache.gate_pre[i]) - 3.0f) < 0.05f) return true;
      return false;
    };
    int draws = 0;
    do {
      x = random_tensor(xs, rng);
      p = random_se(xs.c, R, rng);
      ops::squeeze_excite_forward(x, p.op(inner, gate), y, cache);
    } while (near_kink() && ++draws < 100);
    REQUIRE(draws < 100);
    const Tensor r = random_tensor(xs, rng);
    const auto se = p.op(inner, gate);  // spans alias p's vectors, so perturbations are seen
    auto loss = [&] {
      ops::squeeze_excite_forward(x, se, y, cache);
      return dot(y, r);
    };
    loss();
    std::vector<float> dw1(p.w1.size(), 0.0f), db1(p.b1.size(), 0.0f), dw2(p.w2.size(), 0.0f), db2(p.b2.size(), 0.0f);
    ops::squeeze_excite_backward(x, se, cache, r, dx, {dw1, db1, dw2, db2});
    const float h = 1e-2f;
    check_gradient("dx", {x.data(), static_cast<std::size_t>(x.size())}, {dx.data(), static_cast<std::size_t>(dx.size())},
                   loss, rng, h);
    check_gradient("dw_reduce", p.w1, dw1, loss, rng, h);
    check_gradient("db_reduce", p.b1, db1, loss, rng, h);
    check_gradient("dw_expand", p.w2, dw2, loss, rng, h);
    check_gradient("db_expand", p.b2, db2, loss, rng, h);
  }
}

TEST_CASE("squeeze-and-excitation rejects weights of the wrong size", "[ops][se][errors]") {
  Rng rng(73);
  const Tensor x = random_tensor({1, 4, 4, 8}, rng);
  SeWeights p = random_se(8, 2, rng);
  p.w2.pop_back();
  Tensor y(x.shape());
  ops::SqueezeExciteCache cache;
  CHECK_THROWS_WITH(ops::squeeze_excite_forward(x, p.op(Activation::relu, Activation::hsigmoid), y, cache),
                    Catch::Contains("for 8 channels reduced to 2") && Catch::Contains("w_expand 16"));
}

TEST_CASE("global average pool forward and backward", "[ops][pool][grad]") {
  Rng rng(81);
  Tensor x = random_tensor({3, 5, 7, 6}, rng);
  Tensor y({3, 1, 1, 6}), dx(x.shape());
  ops::global_average_pool_forward(x, y);
  std::vector<double> expected(18, 0.0);
  for (int n = 0; n < 3; ++n)
    for (int h = 0; h < 5; ++h)
      for (int w = 0; w < 7; ++w)
        for (int c = 0; c < 6; ++c) expected[static_cast<std::size_t>(n * 6 + c)] += x(n, h, w, c) / 35.0;
  require_close("pool", y.data(), expected);
  const Tensor r = random_tensor(y.shape(), rng);
  ops::global_average_pool_backward(r, dx);
  check_gradient("dx", {x.data(), static_cast<std::size_t>(x.size())}, {dx.data(), static_cast<std::size_t>(dx.size())},
                 [&] {
                   ops::global_average_pool_forward(x, y);
                   return dot(y, r);
                 },
                 rng);
  Tensor bad({3, 1, 1, 5});
  CHECK_THROWS_WITH(ops::global_average_pool_forward(x, bad), Catch::Contains("needs output 3x1x1x6"));
}

TEST_CASE("residual add forward and backward", "[ops][residual]") {
  Rng rng(82);
  const Tensor a = random_tensor({2, 3, 3, 5}, rng), b = random_tensor({2, 3, 3, 5}, rng);
  Tensor y(a.shape());
  ops::residual_add_forward(a, b, y);
  for (std::int64_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == a[i] + b[i]);
  Tensor d = b;  // the branch's gradient already there
  ops::residual_add_backward(a, d);
  for (std::int64_t i = 0; i < d.size(); ++i) REQUIRE(d[i] == a[i] + b[i]);
  const Tensor other = random_tensor({2, 3, 3, 4}, rng);
  CHECK_THROWS_WITH(ops::residual_add_forward(a, other, y), Catch::Contains("must match"));
}

TEST_CASE("softmax cross-entropy equals its definition, with and without label smoothing", "[ops][loss][grad]") {
  Rng rng(91);
  const int N = 5, K = 10;
  Tensor logits = random_tensor({N, 1, 1, K}, rng, -4.0f, 4.0f);
  const std::vector<std::int32_t> labels = {0, 3, 9, 3, 7};
  for (float eps : {0.0f, 0.1f}) {
    INFO("label smoothing " << eps);
    Tensor grad(logits.shape());
    const double loss = ops::softmax_cross_entropy(logits, labels, eps, grad);
    double expected = 0.0;
    for (int n = 0; n < N; ++n) {
      double z = 0.0;
      for (int k = 0; k < K; ++k) z += std::exp(double{logits(n, 0, 0, k)});
      for (int k = 0; k < K; ++k) {
        const double target = (k == labels[static_cast<std::size_t>(n)] ? 1.0 - eps : 0.0) + double{eps} / K;
        expected -= target * std::log(std::exp(double{logits(n, 0, 0, k)}) / z);
      }
    }
    CHECK(loss == Approx(expected / N).epsilon(1e-9));
    check_gradient("dlogits", {logits.data(), static_cast<std::size_t>(logits.size())},
                   {grad.data(), static_cast<std::size_t>(grad.size())},
                   [&] { return ops::softmax_cross_entropy(logits, labels, eps, {}); }, rng, 1e-2f, {1e-4, 1e-3});
  }
  // Huge logits do not overflow (log-sum-exp).
  Tensor big({1, 1, 1, 3});
  big[0] = 1000.0f, big[1] = 0.0f, big[2] = -1000.0f;
  const std::vector<std::int32_t> zero = {0};
  CHECK(ops::softmax_cross_entropy(big, zero, 0.0f, {}) == Approx(0.0).margin(1e-12));
}

TEST_CASE("softmax cross-entropy names bad labels and non-finite logits", "[ops][loss][errors]") {
  Tensor logits({2, 1, 1, 3});
  const std::vector<std::int32_t> bad = {0, 3}, one = {0};
  CHECK_THROWS_WITH(ops::softmax_cross_entropy(logits, bad, 0.0f, {}), Catch::Contains("label 3 of sample 1 outside [0, 3)"));
  CHECK_THROWS_WITH(ops::softmax_cross_entropy(logits, one, 0.0f, {}), Catch::Contains("2 rows of logits but 1 labels"));
  logits[4] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::int32_t> ok = {0, 1};
  try {
    ops::softmax_cross_entropy(logits, ok, 0.0f, {});
    FAIL("NaN logit accepted");
  } catch (const Error& e) {
    CHECK(e.status() == Status::numerical_error);
    CHECK_THAT(e.what(), Catch::Contains("sample 1 has a non-finite logit"));
  }
}
