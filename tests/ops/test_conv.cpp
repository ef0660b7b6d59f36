// conv2d (stem), depthwise and pointwise: forward vs naive loops, backward vs finite differences.
#include <catch2/catch.hpp>
#include <edgenas/ops.hpp>

#include "../support/compare.hpp"
#include "../support/gradcheck.hpp"
#include "../support/random.hpp"
#include "../support/reference.hpp"

using namespace edgenas;
using namespace edgenas::test;

namespace {

struct WindowCase {
  Shape in;
  int out_c;  // ignored by depthwise
  int kernel;
  int stride;
};

// Hand-picked edge cases (odd sizes, stride 2 with even/odd extents, image smaller than the
// kernel, channel counts that exercise every tile width) plus random ones.
std::vector<WindowCase> window_cases(Rng& rng, std::initializer_list<WindowCase> fixed, int random, int max_c) {
  std::vector<WindowCase> cases(fixed);
  for (int i = 0; i < random; ++i) {
    const int k = std::array{1, 3, 5, 7}[rng.below(4)];
    cases.push_back({Shape{rng.between(1, 3), rng.between(1, 11), rng.between(1, 11), rng.between(1, max_c)},
                     rng.between(1, 9), k, rng.between(1, 2)});
  }
  return cases;
}

std::string describe(const WindowCase& c) {
  return "in " + std::to_string(c.in.n) + "x" + std::to_string(c.in.h) + "x" + std::to_string(c.in.w) + "x" +
         std::to_string(c.in.c) + " out_c " + std::to_string(c.out_c) + " k" + std::to_string(c.kernel) + " s" +
         std::to_string(c.stride);
}

}  // namespace

TEST_CASE("conv2d forward equals the naive loop", "[ops][conv2d]") {
  Rng rng(11);
  for (const auto& c : window_cases(rng, {{{2, 28, 28, 1}, 16, 3, 1}, {{3, 7, 9, 3}, 8, 3, 2}, {{1, 2, 3, 2}, 5, 5, 2},
                                          {{2, 8, 8, 3}, 24, 3, 2}},
                                    12, 6)) {
    INFO(describe(c));
    const Tensor x = random_tensor(c.in, rng);
    const auto w = random_vector(static_cast<std::size_t>(c.out_c * c.kernel * c.kernel * c.in.c), rng);
    const auto b = random_vector(static_cast<std::size_t>(c.out_c), rng);
    Tensor y(same_window_output(c.in, c.stride, c.out_c));
    ops::conv2d_forward(x, w, b, c.kernel, c.stride, y);
    require_close("conv2d", y.data(), reference::conv2d(x, w, b, c.out_c, c.kernel, c.stride));
    ops::conv2d_forward(x, w, {}, c.kernel, c.stride, y);  // without bias
    require_close("conv2d no bias", y.data(), reference::conv2d(x, w, {}, c.out_c, c.kernel, c.stride));
  }
}

TEST_CASE("conv2d backward matches finite differences", "[ops][conv2d][grad]") {
  Rng rng(12);
  // k = 9 takes the tap-by-tap weight-gradient path (whole kernel rows stop at 7).
  for (const auto& c : window_cases(
           rng, {{{3, 5, 6, 2}, 4, 3, 1}, {{2, 7, 7, 1}, 3, 3, 2}, {{2, 4, 5, 3}, 2, 5, 2}, {{2, 10, 11, 2}, 3, 9, 1}}, 3,
           3)) {
    INFO(describe(c));
    Tensor x = random_tensor(c.in, rng);
    auto w = random_vector(static_cast<std::size_t>(c.out_c * c.kernel * c.kernel * c.in.c), rng);
    auto b = random_vector(static_cast<std::size_t>(c.out_c), rng);
    const Shape ys = same_window_output(c.in, c.stride, c.out_c);
    const Tensor r = random_tensor(ys, rng);
    Tensor y(ys), dx(c.in);
    std::vector<float> dw(w.size(), 0.0f), db(b.size(), 0.0f);
    auto loss = [&] {
      ops::conv2d_forward(x, w, b, c.kernel, c.stride, y);
      return dot(y, r);
    };
    ops::conv2d_backward(x, w, c.kernel, c.stride, r, dx, dw, db);
    // Without an input gradient (the stem) the weight and bias gradients are the same.
    std::vector<float> dw_only(w.size(), 0.0f), db_only(b.size(), 0.0f);
    ops::conv2d_backward(x, w, c.kernel, c.stride, r, TensorView{}, dw_only, db_only);
    for (std::size_t i = 0; i < dw.size(); ++i) REQUIRE(dw_only[i] == Approx(dw[i]).margin(1e-5));
    for (std::size_t i = 0; i < db.size(); ++i) REQUIRE(db_only[i] == Approx(db[i]).margin(1e-5));
    check_gradient("dx", {x.data(), static_cast<std::size_t>(x.size())}, {dx.data(), static_cast<std::size_t>(dx.size())},
                   loss, rng);
    check_gradient("dw", w, dw, loss, rng);
    check_gradient("db", b, db, loss, rng);
  }
}

TEST_CASE("depthwise forward equals the naive loop for every kernel, stride and channel tile", "[ops][depthwise]") {
  Rng rng(21);
  std::vector<WindowCase> fixed;
  for (int k : {3, 5, 7})
    for (int s : {1, 2})
      for (int ch : {1, 3, 8, 13, 16, 21, 37}) fixed.push_back({{2, 9 + s, 7 + k, ch}, 0, k, s});
  for (const auto& c : window_cases(rng, {{{1, 2, 2, 5}, 0, 7, 2}, {{3, 14, 14, 24}, 0, 5, 2}}, 10, 40))
    fixed.push_back(c);
  for (const auto& c : fixed) {
    INFO(describe(c));
    const Tensor x = random_tensor(c.in, rng);
    const auto w = random_vector(static_cast<std::size_t>(c.kernel * c.kernel * c.in.c), rng);
    const auto b = random_vector(static_cast<std::size_t>(c.in.c), rng);
    Tensor y(same_window_output(c.in, c.stride, c.in.c));
    ops::depthwise_forward(x, w, b, c.kernel, c.stride, y);
    require_close("depthwise", y.data(), reference::depthwise(x, w, b, c.kernel, c.stride));
  }
}

TEST_CASE("depthwise backward matches finite differences", "[ops][depthwise][grad]") {
  Rng rng(22);
  for (const auto& c : window_cases(rng, {{{3, 6, 5, 19}, 0, 3, 1}, {{2, 7, 8, 9}, 0, 5, 2}, {{2, 5, 5, 4}, 0, 7, 1},
                                          {{1, 9, 9, 17}, 0, 7, 2}},
                                    3, 20)) {
    INFO(describe(c));
    Tensor x = random_tensor(c.in, rng);
    auto w = random_vector(static_cast<std::size_t>(c.kernel * c.kernel * c.in.c), rng);
    auto b = random_vector(static_cast<std::size_t>(c.in.c), rng);
    const Shape ys = same_window_output(c.in, c.stride, c.in.c);
    const Tensor r = random_tensor(ys, rng);
    Tensor y(ys), dx(c.in);
    std::vector<float> dw(w.size(), 0.0f), db(b.size(), 0.0f);
    auto loss = [&] {
      ops::depthwise_forward(x, w, b, c.kernel, c.stride, y);
      return dot(y, r);
    };
    ops::depthwise_backward(x, w, c.kernel, c.stride, r, dx, dw, db);
    check_gradient("dx", {x.data(), static_cast<std::size_t>(x.size())}, {dx.data(), static_cast<std::size_t>(dx.size())},
                   loss, rng);
    check_gradient("dw", w, dw, loss, rng);
    check_gradient("db", b, db, loss, rng);
  }
}

TEST_CASE("depthwise backward equals the naive scatter on images wide enough for every kernel path",
          "[ops][depthwise][grad]") {
  // Images wider than the kernel reach the paired and all-taps paths as well as the edges.
  Rng rng(24);
  for (int k : {1, 3, 5, 7, 9})
    for (int s : {1, 2})
      for (int ch : {1, 5, 16, 21}) {
        const WindowCase c{{2, 11 + s, 16 + k, ch}, 0, k, s};
        INFO(describe(c));
        const Tensor x = random_tensor(c.in, rng);
        const auto w = random_vector(static_cast<std::size_t>(k * k * ch), rng);
        const Tensor g = random_tensor(same_window_output(c.in, s, ch), rng);
        Tensor dx(c.in);
        std::vector<float> dw(w.size(), 0.0f);
        ops::depthwise_backward(x, w, k, s, g, dx, dw, {});
        std::vector<double> expected_dw;
        require_close("dx", dx.data(), reference::depthwise_backward(x, w, g, k, s, expected_dw));
        require_close("dw", dw.data(), expected_dw, 1e-4);
      }
}

TEST_CASE("weight gradients accumulate across calls and match across thread counts", "[ops][grad][parallel]") {
  Rng rng(23);
  const Tensor x = random_tensor({5, 6, 6, 12}, rng);
  const auto w = random_vector(3 * 3 * 12, rng);
  const Tensor r = random_tensor({5, 3, 3, 12}, rng);
  std::vector<float> once(w.size(), 0.0f), twice(w.size(), 0.0f), db(12, 0.0f);
  Tensor dx1(x.shape()), dx2(x.shape());
  set_num_threads(1);
  ops::depthwise_backward(x, w, 3, 2, r, dx1, once, db);
  set_num_threads(2);
  ops::depthwise_backward(x, w, 3, 2, r, dx2, twice, {});
  ops::depthwise_backward(x, w, 3, 2, r, TensorView{}, twice, {});  // dx skipped
  for (std::size_t i = 0; i < w.size(); ++i) REQUIRE(twice[i] == Approx(2 * once[i]).margin(1e-5));
  for (std::int64_t i = 0; i < x.size(); ++i) REQUIRE(dx1[i] == Approx(dx2[i]).margin(1e-6));
}

TEST_CASE("pointwise and linear forward equal the naive loop; backward matches finite differences",
          "[ops][pointwise][linear][grad]") {
  Rng rng(31);
  for (int trial = 0; trial < 8; ++trial) {
    const Shape xs{rng.between(1, 4), rng.between(1, 7), rng.between(1, 7), rng.between(1, 20)};
    const int out = rng.between(1, 20);
    INFO("pointwise " << xs.n << "x" << xs.h << "x" << xs.w << "x" << xs.c << " -> " << out);
    Tensor x = random_tensor(xs, rng);
    auto w = random_vector(static_cast<std::size_t>(out * xs.c), rng);
    auto b = random_vector(static_cast<std::size_t>(out), rng);
    Tensor y(xs.with_channels(out));
    ops::pointwise_forward(x, w, b, y);
    require_close("pointwise", y.data(), reference::dense(x.data(), xs.rows(), xs.c, w, b, out));

    const Tensor r = random_tensor(y.shape(), rng);
    Tensor dx(xs);
    std::vector<float> dw(w.size(), 0.0f), db(b.size(), 0.0f);
    ops::pointwise_backward(x, w, r, dx, dw, db);
    auto loss = [&] {
      ops::pointwise_forward(x, w, b, y);
      return dot(y, r);
    };
    check_gradient("dx", {x.data(), static_cast<std::size_t>(x.size())}, {dx.data(), static_cast<std::size_t>(dx.size())},
                   loss, rng);
    check_gradient("dw", w, dw, loss, rng);
    check_gradient("db", b, db, loss, rng);
  }
  for (int trial = 0; trial < 4; ++trial) {
    const Shape xs{rng.between(1, 9), 1, 1, rng.between(1, 40)};
    const int out = rng.between(1, 12);
    Tensor x = random_tensor(xs, rng);
    auto w = random_vector(static_cast<std::size_t>(out * xs.c), rng);
    auto b = random_vector(static_cast<std::size_t>(out), rng);
    Tensor y({xs.n, 1, 1, out});
    ops::linear_forward(x, w, b, y);
    require_close("linear", y.data(), reference::dense(x.data(), xs.n, xs.c, w, b, out));
    const Tensor r = random_tensor(y.shape(), rng);
    Tensor dx(xs);
    std::vector<float> dw(w.size(), 0.0f), db(b.size(), 0.0f);
    ops::linear_backward(x, w, r, dx, dw, db);
    auto loss = [&] {
      ops::linear_forward(x, w, b, y);
      return dot(y, r);
    };
    check_gradient("linear dx", {x.data(), static_cast<std::size_t>(x.size())},
                   {dx.data(), static_cast<std::size_t>(dx.size())}, loss, rng);
    check_gradient("linear dw", w, dw, loss, rng);
    check_gradient("linear db", b, db, loss, rng);
  }
}

TEST_CASE("window ops reject bad shapes and parameters with a message naming the problem", "[ops][errors]") {
  Rng rng(41);
  const Tensor x = random_tensor({1, 8, 8, 4}, rng);
  const auto w3 = random_vector(3 * 3 * 4, rng);
  Tensor wrong({1, 8, 8, 4});  // stride 2 needs 4×4
  CHECK_THROWS_WITH(ops::depthwise_forward(x, w3, {}, 3, 2, wrong),
                    Catch::Contains("depthwise_forward") && Catch::Contains("gives output 1x4x4x4, got 1x8x8x4"));
  Tensor y({1, 8, 8, 4});
  CHECK_THROWS_WITH(ops::depthwise_forward(x, w3, {}, 5, 1, y), Catch::Contains("weight has 36 values, expected 100"));
  CHECK_THROWS_WITH(ops::depthwise_forward(x, w3, {}, 3, 3, y), Catch::Contains("stride 3"));
  CHECK_THROWS_WITH(ops::depthwise_forward(x, w3, {}, 4, 1, y), Catch::Contains("kernel 4"));
  const auto bias3 = random_vector(3, rng);
  CHECK_THROWS_WITH(ops::depthwise_forward(x, w3, bias3, 3, 1, y), Catch::Contains("bias has 3 values"));
  Tensor conv_out({1, 8, 8, 2});
  CHECK_THROWS_WITH(ops::conv2d_forward(x, w3, {}, 3, 1, conv_out), Catch::Contains("conv2d_forward: weight has 36"));
  Tensor pw_out({1, 7, 8, 2});
  const auto wp = random_vector(8, rng);
  CHECK_THROWS_WITH(ops::pointwise_forward(x, wp, {}, pw_out), Catch::Contains("differ in N, H or W"));
  Tensor pw_ok({1, 8, 8, 3});
  CHECK_THROWS_WITH(ops::pointwise_forward(x, wp, {}, pw_ok), Catch::Contains("expected 12 (out 3 × in 4)"));
  try {
    ops::depthwise_forward(x, w3, {}, 3, 2, wrong);
  } catch (const Error& e) {
    CHECK(e.status() == Status::invalid_shape);
  }
}
