// Batch norm (train, eval, fold) and activations.
#include <catch2/catch.hpp>
#include <edgenas/ops.hpp>

#include "../support/compare.hpp"
#include "../support/gradcheck.hpp"
#include "../support/random.hpp"
#include "../support/reference.hpp"

using namespace edgenas;
using namespace edgenas::test;

TEST_CASE("batch norm training forward normalises with batch statistics and updates running averages",
          "[ops][batch_norm]") {
  Rng rng(51);
  for (const Shape xs : {Shape{4, 5, 3, 7}, Shape{2, 1, 1, 3}, Shape{3, 6, 6, 16}}) {
    const Tensor x = random_tensor(xs, rng, -2.0f, 3.0f);
    const int C = xs.c;
    const auto gamma = random_vector(static_cast<std::size_t>(C), rng, 0.5f, 1.5f);
    const auto beta = random_vector(static_cast<std::size_t>(C), rng);
    std::vector<float> rmean(static_cast<std::size_t>(C), 0.0f), rvar(static_cast<std::size_t>(C), 1.0f);
    Tensor y(xs);
    ops::BatchNormCache cache;
    const ops::BatchNormConfig config{1e-5f, 0.1f};
    ops::batch_norm_forward_train(x, gamma, beta, rmean, rvar, config, y, cache);
    std::vector<double> mean, var;
    reference::channel_moments(x, mean, var);
    require_close("bn train", y.data(), reference::batch_norm(x, mean, var, gamma, beta, 1e-5));
    const double M = static_cast<double>(xs.rows());
    for (std::size_t c = 0; c < static_cast<std::size_t>(C); ++c) {
      CHECK(rmean[c] == Approx(0.1 * mean[c]).margin(1e-6));
      CHECK(rvar[c] == Approx(0.9 + 0.1 * var[c] * M / (M - 1)).epsilon(1e-5));
    }
  }
}

TEST_CASE("batch norm eval forward uses running statistics", "[ops][batch_norm]") {
  Rng rng(52);
  const Shape xs{3, 4, 5, 9};
  const Tensor x = random_tensor(xs, rng);
  const auto gamma = random_vector(9, rng, 0.5f, 1.5f), beta = random_vector(9, rng);
  const auto rmean = random_vector(9, rng), rvar = random_vector(9, rng, 0.2f, 2.0f);
  Tensor y(xs);
  ops::batch_norm_forward_eval(x, gamma, beta, rmean, rvar, 1e-3f, y);
  std::vector<double> mean(rmean.begin(), rmean.end()), var(rvar.begin(), rvar.end());
  require_close("bn eval", y.data(), reference::batch_norm(x, mean, var, gamma, beta, 1e-3));
}

TEST_CASE("batch norm backward matches finite differences through the batch statistics",
          "[ops][batch_norm][grad]") {
  Rng rng(53);
  for (const Shape xs : {Shape{3, 3, 2, 5}, Shape{2, 4, 4, 3}, Shape{8, 1, 1, 4}}) {
    Tensor x = random_tensor(xs, rng, -2.0f, 2.0f);
    auto gamma = random_vector(static_cast<std::size_t>(xs.c), rng, 0.5f, 1.5f);
    auto beta = random_vector(static_cast<std::size_t>(xs.c), rng);
    std::vector<float> rmean(gamma.size(), 0.0f), rvar(gamma.size(), 1.0f);
    const Tensor r = random_tensor(xs, rng);
    Tensor y(xs), dx(xs);
    ops::BatchNormCache cache;
    auto loss = [&] {
      ops::batch_norm_forward_train(x, gamma, beta, rmean, rvar, {}, y, cache);
      return dot(y, r);
    };
    loss();
    std::vector<float> dgamma(gamma.size(), 0.0f), dbeta(gamma.size(), 0.0f);
    ops::batch_norm_backward(x, gamma, cache, r, dx, dgamma, dbeta);
    check_gradient("dx", {x.data(), static_cast<std::size_t>(x.size())}, {dx.data(), static_cast<std::size_t>(dx.size())},
                   loss, rng);
    check_gradient("dgamma", gamma, dgamma, loss, rng);
    check_gradient("dbeta", beta, dbeta, loss, rng);
  }
  // Eval-mode backward: frozen statistics make it a per-channel scale.
  Tensor x = random_tensor({2, 3, 3, 4}, rng);
  const auto gamma = random_vector(4, rng, 0.5f, 1.5f), beta = random_vector(4, rng);
  const auto rmean = random_vector(4, rng), rvar = random_vector(4, rng, 0.5f, 2.0f);
  const Tensor r = random_tensor(x.shape(), rng);
  Tensor y(x.shape()), dx(x.shape());
  ops::batch_norm_backward_eval(gamma, rvar, 1e-5f, r, dx);
  check_gradient("eval dx", {x.data(), static_cast<std::size_t>(x.size())},
                 {dx.data(), static_cast<std::size_t>(dx.size())},
                 [&] {
                   ops::batch_norm_forward_eval(x, gamma, beta, rmean, rvar, 1e-5f, y);
                   return dot(y, r);
                 },
                 rng);
}

TEST_CASE("folding batch norm into the preceding conv leaves outputs unchanged within 1e-5", "[ops][batch_norm][fold]") {
  Rng rng(54);
  const Shape xs{2, 9, 7, 6};
  const Tensor x = random_tensor(xs, rng);
  auto bn_params = [&](int C) {
    struct {
      std::vector<float> gamma, beta, mean, var;
    } p{random_vector(static_cast<std::size_t>(C), rng, 0.5f, 1.5f), random_vector(static_cast<std::size_t>(C), rng),
        random_vector(static_cast<std::size_t>(C), rng, -0.5f, 0.5f),
        random_vector(static_cast<std::size_t>(C), rng, 0.3f, 2.0f)};
    return p;
  };
  auto expect_same = [&](const char* what, const Tensor& conv_out, const auto& bn, const Tensor& folded_out) {
    Tensor reference_out(conv_out.shape());
    ops::batch_norm_forward_eval(conv_out, bn.gamma, bn.beta, bn.mean, bn.var, 1e-5f, reference_out);
    for (std::int64_t i = 0; i < reference_out.size(); ++i) {
      INFO(what << " element " << i);
      REQUIRE(std::abs(folded_out[i] - reference_out[i]) <= 1e-5f * (1.0f + std::abs(reference_out[i])));
    }
  };
  SECTION("full conv (OHWI), no original bias") {
    const int O = 8;
    auto w = random_vector(static_cast<std::size_t>(O * 3 * 3 * xs.c), rng);
    const auto bn = bn_params(O);
    Tensor y(same_window_output(xs, 2, O)), yf(y.shape());
    ops::conv2d_forward(x, w, {}, 3, 2, y);
    std::vector<float> bias(O, 0.0f);
    ops::fold_batch_norm(w, bias, ops::WeightLayout::output_major, bn.gamma, bn.beta, bn.mean, bn.var, 1e-5f);
    ops::conv2d_forward(x, w, bias, 3, 2, yf);
    expect_same("conv2d", y, bn, yf);
  }
  SECTION("depthwise ([k][k][C]) with a bias") {
    auto w = random_vector(static_cast<std::size_t>(5 * 5 * xs.c), rng);
    auto bias = random_vector(static_cast<std::size_t>(xs.c), rng);
    const auto bn = bn_params(xs.c);
    Tensor y(xs), yf(xs);
    ops::depthwise_forward(x, w, bias, 5, 1, y);
    ops::fold_batch_norm(w, bias, ops::WeightLayout::channel_minor, bn.gamma, bn.beta, bn.mean, bn.var, 1e-5f);
    ops::depthwise_forward(x, w, bias, 5, 1, yf);
    expect_same("depthwise", y, bn, yf);
  }
  SECTION("pointwise ([O][I])") {
    const int O = 11;
    auto w = random_vector(static_cast<std::size_t>(O * xs.c), rng);
    std::vector<float> bias(O, 0.0f);
    const auto bn = bn_params(O);
    Tensor y(xs.with_channels(O)), yf(y.shape());
    ops::pointwise_forward(x, w, {}, y);
    ops::fold_batch_norm(w, bias, ops::WeightLayout::output_major, bn.gamma, bn.beta, bn.mean, bn.var, 1e-5f);
    ops::pointwise_forward(x, w, bias, yf);
    expect_same("pointwise", y, bn, yf);
  }
}

TEST_CASE("batch norm rejects mismatched parameters and batches too small for statistics", "[ops][batch_norm][errors]") {
  Rng rng(55);
  const Tensor x = random_tensor({2, 3, 3, 4}, rng);
  Tensor y(x.shape());
  std::vector<float> g3(3, 1.0f), g4(4, 1.0f), m4(4, 0.0f), v4(4, 1.0f);
  ops::BatchNormCache cache;
  CHECK_THROWS_WITH(ops::batch_norm_forward_train(x, g3, g4, m4, v4, {}, y, cache),
                    Catch::Contains("gamma has 3 values, expected one per channel (4)"));
  const Tensor single = random_tensor({1, 1, 1, 4}, rng);
  Tensor single_y(single.shape());
  CHECK_THROWS_WITH(ops::batch_norm_forward_train(single, g4, g4, m4, v4, {}, single_y, cache),
                    Catch::Contains("at least 2"));
}

TEST_CASE("activations equal their definitions, including at the kinks", "[ops][activation]") {
  const std::vector<float> points = {-8.0f, -3.0f, -2.999f, -1.5f, -0.0f, 0.0f, 1e-4f, 0.7f, 2.999f, 3.0f, 5.5f, 6.0f, 9.0f};
  Tensor x({1, 1, 1, static_cast<int>(points.size())}), y(x.shape());
  std::copy(points.begin(), points.end(), x.data());
  for (Activation a : all_activations) {
    INFO(activation_name(a));
    ops::activation_forward(a, x, y);
    std::vector<double> expected;
    for (float p : points) expected.push_back(reference::activation(a, p));
    require_close("activation", y.data(), expected, 1e-6);
    for (std::size_t i = 0; i < points.size(); ++i) CHECK(ops::activate(a, points[i]) == Approx(expected[i]).margin(1e-6));
    Activation parsed{};
    CHECK(parse_activation(activation_name(a), parsed));
    CHECK(parsed == a);
  }
  Activation out{};
  CHECK_FALSE(parse_activation("gelu", out));
  // A large tensor goes through the threaded path and aliasing (in place) works.
  Rng rng(61);
  Tensor big = random_tensor({4, 64, 64, 8}, rng, -8.0f, 8.0f), copy = big;
  ops::activation_forward(Activation::hswish, big, big);
  for (std::int64_t i = 0; i < big.size(); i += 997) CHECK(big[i] == Approx(reference::activation(Activation::hswish, copy[i])).margin(1e-6));
}

TEST_CASE("activation backward matches finite differences away from the kinks", "[ops][activation][grad]") {
  Rng rng(62);
  const float kinks[] = {-3.0f, 0.0f, 3.0f, 6.0f};
  Tensor x({2, 3, 3, 7});
  for (std::int64_t i = 0; i < x.size(); ++i) {
    float v;
    do {
      v = rng.uniform(-8.0f, 8.0f);
    } while (std::any_of(std::begin(kinks), std::end(kinks), [&](float k) { return std::abs(v - k) < 0.05f; }));
    x[i] = v;
  }
  const Tensor r = random_tensor(x.shape(), rng);
  for (Activation a : all_activations) {
    INFO(activation_name(a));
    Tensor y(x.shape()), dx(x.shape());
    ops::activation_backward(a, x, r, dx);
    check_gradient(std::string(activation_name(a)), {x.data(), static_cast<std::size_t>(x.size())},
                   {dx.data(), static_cast<std::size_t>(dx.size())},
                   [&] {
                     ops::activation_forward(a, x, y);
                     return dot(y, r);
                   },
                   rng, 1e-2f, {}, 200);
  }
}

TEST_CASE("fused batch norm + activation equals the separate ops, forward and backward", "[ops][batch_norm][fused]") {
  Rng rng(63);
  for (Activation a : all_activations) {
    INFO(activation_name(a));
    const Shape xs{3, 5, 4, 13};
    const Tensor x = random_tensor(xs, rng, -3.0f, 4.0f);
    const Tensor dy = random_tensor(xs, rng);
    const auto gamma = random_vector(13, rng, 0.5f, 2.5f), beta = random_vector(13, rng, -1.0f, 1.0f);
    std::vector<float> m1(13, 0.0f), v1(13, 1.0f), m2 = m1, v2 = v1;
    ops::BatchNormCache c1, c2;
    Tensor normed(xs), y_sep(xs), y_fused(xs), g_act(xs), dx_sep(xs), dx_fused(xs);
    ops::batch_norm_forward_train(x, gamma, beta, m1, v1, {}, normed, c1);
    ops::activation_forward(a, normed, y_sep);
    ops::batch_norm_act_forward_train(x, gamma, beta, m2, v2, {}, a, y_fused, c2);
    for (std::int64_t i = 0; i < x.size(); ++i) REQUIRE(y_fused[i] == Approx(y_sep[i]).margin(1e-5));
    CHECK(m1 == m2);
    CHECK(v1 == v2);
    std::vector<float> dg1(13, 0.0f), db1(13, 0.0f), dg2(13, 0.0f), db2(13, 0.0f);
    ops::activation_backward(a, normed, dy, g_act);
    ops::batch_norm_backward(x, gamma, c1, g_act, dx_sep, dg1, db1);
    ops::batch_norm_act_backward(x, gamma, beta, c2, a, dy, dx_fused, dg2, db2);
    for (std::int64_t i = 0; i < x.size(); ++i) REQUIRE(dx_fused[i] == Approx(dx_sep[i]).margin(2e-5));
    for (std::size_t c = 0; c < 13; ++c) {
      CHECK(dg2[c] == Approx(dg1[c]).margin(1e-4));
      CHECK(db2[c] == Approx(db1[c]).margin(1e-4));
    }
    Tensor y_eval(xs), y_eval_sep(xs);
    ops::batch_norm_act_forward_eval(x, gamma, beta, m2, v2, 1e-5f, a, y_eval);
    ops::batch_norm_forward_eval(x, gamma, beta, m2, v2, 1e-5f, y_eval_sep);
    ops::activation_forward(a, y_eval_sep, y_eval_sep);
    for (std::int64_t i = 0; i < x.size(); ++i) REQUIRE(y_eval[i] == Approx(y_eval_sep[i]).margin(1e-6));
  }
}

TEST_CASE("conv backward fused with batch norm + activation equals the separate ops", "[ops][batch_norm][fused]") {
  // The fused kernels compute the BN gradient block by block into a per-thread buffer; the
  // blocks and their order are those of the separate ops.
  Rng rng(64);
  for (int threads : {1, 2})
    for (Activation a : {Activation::relu, Activation::hswish, Activation::identity}) {
      set_num_threads(threads);
      INFO(activation_name(a) << ", " << threads << " thread(s)");
      for (const bool depthwise : {false, true}) {
        INFO((depthwise ? "depthwise" : "pointwise"));
        // 300 rows per image for the pointwise case: several row blocks per thread.
        const Shape xs{3, depthwise ? 9 : 15, depthwise ? 11 : 20, depthwise ? 21 : 70};
        const int out_c = depthwise ? xs.c : 37, kernel = 5, stride = depthwise ? 2 : 1;
        const Tensor x = random_tensor(xs, rng);
        const auto w = random_vector(
            static_cast<std::size_t>(depthwise ? kernel * kernel * xs.c : out_c * xs.c), rng);
        Tensor conv(same_window_output(xs, stride, out_c));
        if (depthwise)
          ops::depthwise_forward(x, w, {}, kernel, stride, conv);
        else
          ops::pointwise_forward(x, w, {}, conv);
        const auto C = static_cast<std::size_t>(out_c);
        const auto gamma = random_vector(C, rng, 0.5f, 2.0f), beta = random_vector(C, rng);
        std::vector<float> rm(C, 0.0f), rv(C, 1.0f);
        ops::BatchNormCache cache;
        Tensor y(conv.shape()), g(conv.shape()), dx_sep(xs), dx_fused(xs);
        ops::batch_norm_act_forward_train(conv, gamma, beta, rm, rv, {}, a, y, cache);
        const Tensor dy = random_tensor(conv.shape(), rng);

        std::vector<float> dg1(C, 0.0f), db1(C, 0.0f), dw1(w.size(), 0.0f);
        ops::batch_norm_act_backward(conv, gamma, beta, cache, a, dy, g, dg1, db1);
        if (depthwise)
          ops::depthwise_backward(x, w, kernel, stride, g, dx_sep, dw1, {});
        else
          ops::pointwise_backward(x, w, g, dx_sep, dw1, {});

        std::vector<float> dg2(C, 0.0f), db2(C, 0.0f), dw2(w.size(), 0.0f);
        const ops::BatchNormBackward bn =
            ops::batch_norm_act_backward_sums(conv, gamma, beta, cache, a, dy, dg2, db2);
        if (depthwise)
          ops::depthwise_bn_act_backward(x, w, kernel, stride, bn, conv, dy, dx_fused, dw2);
        else
          ops::pointwise_bn_act_backward(x, w, bn, conv, dy, dx_fused, dw2);
        CHECK(dg2 == dg1);
        CHECK(db2 == db1);
        // The same sums in the same order; only the compiler's FMA contraction may differ between
        // the two instantiations (seen on the single-lane channel tail: 1 ulp).
        for (std::size_t i = 0; i < dw1.size(); ++i) REQUIRE(dw2[i] == Approx(dw1[i]).epsilon(1e-6).margin(1e-6));
        for (std::int64_t i = 0; i < x.size(); ++i) REQUIRE(dx_fused[i] == Approx(dx_sep[i]).epsilon(1e-6).margin(1e-6));

        // Mismatched inputs are refused with the operation named.
        const Tensor wrong_dy({1, 2, 2, out_c});
        if (depthwise)
          CHECK_THROWS_WITH(ops::depthwise_bn_act_backward(x, w, kernel, stride, bn, conv, wrong_dy, dx_fused, dw2),
                            Catch::Contains("depthwise_bn_act_backward") && Catch::Contains("differ"));
        else
          CHECK_THROWS_WITH(ops::pointwise_bn_act_backward(x, w, bn, conv, wrong_dy, dx_fused, dw2),
                            Catch::Contains("pointwise_bn_act_backward") && Catch::Contains("differ"));
      }
    }
  set_num_threads(2);
}
