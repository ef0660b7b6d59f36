// The int8 scheme, the integer reference kernels and post-training quantization, each against
// an independent computation in double precision.
#include <catch2/catch.hpp>
#include <cmath>
#include <edgenas/quant/calibrate.hpp>
#include <edgenas/runtime/reference/inference.hpp>
#include <edgenas/runtime/reference/int8_inference.hpp>
#include <edgenas/train.hpp>

#include "../support/random.hpp"

using namespace edgenas;
using quant::QuantParams;

namespace {

// round(v), halves away from zero: what gemmlowp's rounding targets.
std::int64_t round_away(long double v) { return static_cast<std::int64_t>(v < 0 ? -std::floor(-v + 0.5L) : std::floor(v + 0.5L)); }

std::vector<std::int8_t> random_int8s(std::size_t n, Rng& rng, int lo = -128, int hi = 127) {
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(rng.between(lo, hi));
  return v;
}

// Requantizes an exact integer accumulator with a real multiplier, in long double.
int expected_output(std::int64_t acc, double multiplier, int zero_point, int lo = -128, int hi = 127) {
  return static_cast<int>(std::clamp<std::int64_t>(round_away(static_cast<long double>(acc) * multiplier) + zero_point, lo, hi));
}

std::vector<quant::Multiplier> multipliers(const std::vector<double>& real) {
  std::vector<quant::Multiplier> m;
  for (double r : real) m.push_back(quant::quantize_multiplier(r, "test"));
  return m;
}

// A float network with batch-norm statistics moved off the identity, as a trained one.
std::vector<float> folded_weights(const Genotype& g, Rng& rng) {
  train::Network net(g, rng.next_u64());
  const Tensor x = test::random_tensor(g.input.with_batch(8), rng, -2.0f, 2.0f);
  for (int i = 0; i < 3; ++i) net.forward(x, true);
  return net.inference_weights();
}

}  // namespace

TEST_CASE("int8 scheme: gemmlowp rounding primitives on known values", "[quant]") {
  using quant::rounding_divide_by_pot, quant::saturating_rounding_doubling_high_mul;
  CHECK(rounding_divide_by_pot(3, 1) == 2);    // 1.5 → 2
  CHECK(rounding_divide_by_pot(-3, 1) == -2);  // −1.5 → −2 (half away from zero)
  CHECK(rounding_divide_by_pot(5, 2) == 1);    // 1.25
  CHECK(rounding_divide_by_pot(-5, 2) == -1);
  CHECK(rounding_divide_by_pot(6, 2) == 2);  // 1.5
  CHECK(rounding_divide_by_pot(-6, 2) == -2);
  CHECK(rounding_divide_by_pot(7, 0) == 7);
  constexpr std::int32_t min = std::numeric_limits<std::int32_t>::min(), max = std::numeric_limits<std::int32_t>::max();
  CHECK(saturating_rounding_doubling_high_mul(min, min) == max);
  CHECK(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30) == 1 << 29);  // 0.5 · 0.5 in Q31
  CHECK(saturating_rounding_doubling_high_mul(-(1 << 30), 1 << 30) == -(1 << 29));
  CHECK(saturating_rounding_doubling_high_mul(3, 1 << 30) == 2);  // 1.5 → 2
  CHECK(saturating_rounding_doubling_high_mul(-3, 1 << 30) == -1);  // gemmlowp's nudge: −1.5 → −1
}

TEST_CASE("int8 scheme: fixed-point requantization equals exact rounding within one step", "[quant]") {
  Rng rng(7);
  int exact = 0, total = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const double real = std::ldexp(rng.uniform(0.5f, 1.0f), rng.between(-24, 6));
    const quant::Multiplier q = quant::quantize_multiplier(real, "test");
    REQUIRE(q.m >= (1 << 30));
    // The 31-bit fixed-point multiplier is within half a unit of its last bit of the real one.
    REQUIRE(std::abs(std::ldexp(static_cast<double>(q.m), q.shift - 31) - real) <= std::ldexp(1.0, q.shift - 32) * 1.0001);
    const auto x = static_cast<std::int32_t>(rng.between(-(1 << 22), 1 << 22));
    const std::int64_t want = round_away(static_cast<long double>(x) * q.m * std::ldexp(1.0L, q.shift - 31));
    const std::int32_t got = quant::requantize(x, q);
    INFO("x " << x << " multiplier " << real << " shift " << q.shift);
    REQUIRE(std::abs(got - want) <= 1);  // two roundings (high multiply, then shift)
    exact += got == want;
    ++total;
  }
  // Off by one only where the high multiply's rounding lands on a half for the shift (~2 %).
  CHECK(exact >= total * 95 / 100);
}

TEST_CASE("int8 scheme: multipliers that cannot be represented are refused by name", "[quant]") {
  CHECK_THROWS_WITH(quant::quantize_multiplier(0.0, "block 2 project"), Catch::Contains("block 2 project") && Catch::Contains("not a positive"));
  CHECK_THROWS_WITH(quant::quantize_multiplier(std::nan(""), "stem"), Catch::Contains("stem"));
  CHECK_THROWS_WITH(quant::quantize_multiplier(-0.5, "stem"), Catch::Contains("not a positive"));
  CHECK_THROWS_WITH(quant::quantize_multiplier(std::ldexp(1.0, 40), "head conv"), Catch::Contains("head conv") && Catch::Contains("shift"));
  CHECK_THROWS_WITH(quant::quantize_multiplier(std::ldexp(1.0, -40), "head conv"), Catch::Contains("shift"));
}

TEST_CASE("int8 scheme: chosen activation ranges hold zero exactly and cover the range", "[quant]") {
  Rng rng(3);
  for (int trial = 0; trial < 2000; ++trial) {
    float lo = rng.uniform(-10.0f, 4.0f), hi = lo + rng.uniform(0.01f, 20.0f);
    const QuantParams p = quant::choose_params(lo, hi);
    REQUIRE(quant::valid(p));
    REQUIRE(quant::dequantize(p.zero_point, p) == 0.0f);
    lo = std::min(lo, 0.0f), hi = std::max(hi, 0.0f);
    REQUIRE(quant::dequantize(quant::qmin, p) <= lo + p.scale * 0.51f);
    REQUIRE(quant::dequantize(quant::qmax, p) >= hi - p.scale * 0.51f);
    REQUIRE(p.scale <= (hi - lo) / 255.0f * 1.0001f);
  }
  CHECK(quant::choose_params(2.0f, 5.0f).zero_point == -128);  // all positive: 0 is the bottom
  CHECK(quant::choose_params(-5.0f, -1.0f).zero_point == 127);
}

TEST_CASE("integer kernels equal exact integer arithmetic requantized in long double", "[quant]") {
  Rng rng(11);
  for (int trial = 0; trial < 60; ++trial) {
    const Shape in{1, rng.between(1, 9), rng.between(1, 9), rng.between(1, 6)};
    const int k = std::array{1, 3, 5, 7}[rng.below(4)], stride = rng.between(1, 2);
    const bool depthwise = rng.coin();
    const int O = depthwise ? in.c : rng.between(1, 7);
    const Shape out = same_window_output(in, stride, O);
    const auto x = random_int8s(static_cast<std::size_t>(in.size()), rng);
    const auto w = random_int8s(static_cast<std::size_t>(depthwise ? k * k * in.c : O * k * k * in.c), rng, -127, 127);
    std::vector<std::int32_t> bias(static_cast<std::size_t>(O));
    std::vector<double> real(static_cast<std::size_t>(O));
    for (int o = 0; o < O; ++o) bias[static_cast<std::size_t>(o)] = rng.between(-5000, 5000), real[static_cast<std::size_t>(o)] = rng.uniform(1e-4f, 2e-3f);
    const auto m = multipliers(real);
    const int zx = rng.between(-128, 127), zy = rng.between(-20, 20), lo = rng.coin() ? zy : -128;
    std::vector<std::int32_t> values;
    std::vector<std::int8_t> shifts;
    for (const quant::Multiplier& q : m) values.push_back(q.m), shifts.push_back(static_cast<std::int8_t>(q.shift));
    const reference::int8::Requantization r{zx, values.data(), shifts.data(), zy, lo, 127};
    std::vector<std::int8_t> y(static_cast<std::size_t>(out.size()));
    if (depthwise) reference::int8::depthwise(x.data(), in, w.data(), bias.data(), k, stride, r, y.data(), out);
    else reference::int8::conv2d(x.data(), in, w.data(), bias.data(), k, stride, r, y.data(), out);
    const int pt = same_padding_before(in.h, k, stride), pl = same_padding_before(in.w, k, stride);
    for (int oy = 0; oy < out.h; ++oy)
      for (int ox = 0; ox < out.w; ++ox)
        for (int o = 0; o < O; ++o) {
          std::int64_t acc = bias[static_cast<std::size_t>(o)];
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = oy * stride - pt + ky, ix = ox * stride - pl + kx;
              if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;  // padding is a real zero
              for (int i = 0; i < (depthwise ? 1 : in.c); ++i) {
                const int ic = depthwise ? o : i;
                const std::size_t wi = depthwise ? static_cast<std::size_t>((ky * k + kx) * in.c + o)
                                                 : static_cast<std::size_t>(((o * k + ky) * k + kx) * in.c + i);
                acc += (x[static_cast<std::size_t>((iy * in.w + ix) * in.c + ic)] - zx) * w[wi];
              }
            }
          const int want = expected_output(acc, real[static_cast<std::size_t>(o)], zy, lo);
          const int got = y[static_cast<std::size_t>((oy * out.w + ox) * O + o)];
          INFO("trial " << trial << (depthwise ? " depthwise" : " conv") << " k" << k << " s" << stride);
          REQUIRE(std::abs(got - want) <= 1);
        }
  }
}

TEST_CASE("integer pooling, channel scaling and residual add equal long double arithmetic", "[quant]") {
  Rng rng(5);
  for (int trial = 0; trial < 100; ++trial) {
    const int pixels = rng.between(1, 64), C = rng.between(1, 12);
    const auto x = random_int8s(static_cast<std::size_t>(pixels * C), rng);
    const QuantParams px{rng.uniform(0.01f, 0.2f), rng.between(-128, 127)}, py{rng.uniform(0.01f, 0.2f), rng.between(-60, 60)};
    std::vector<std::int8_t> y(static_cast<std::size_t>(C));
    const double pool_real = double{px.scale} / (pixels * double{py.scale});
    reference::int8::global_average_pool(x.data(), pixels, C, px.zero_point, quant::quantize_multiplier(pool_real, "pool"),
                                         py.zero_point, y.data());
    for (int c = 0; c < C; ++c) {
      std::int64_t acc = 0;
      for (int p = 0; p < pixels; ++p) acc += x[static_cast<std::size_t>(p * C + c)] - px.zero_point;
      REQUIRE(std::abs(y[static_cast<std::size_t>(c)] - expected_output(acc, pool_real, py.zero_point)) <= 1);
    }
    const auto gate = random_int8s(static_cast<std::size_t>(C), rng);
    const QuantParams pg = quant::unit_interval_params;
    std::vector<std::int8_t> scaled(x.size());
    const double scale_real = double{px.scale} * pg.scale / py.scale;
    reference::int8::scale_channels(x.data(), pixels, C, px.zero_point, gate.data(), pg.zero_point,
                                    quant::quantize_multiplier(scale_real, "scale"), py.zero_point, scaled.data());
    const auto b = random_int8s(x.size(), rng);
    const QuantParams pb{rng.uniform(0.01f, 0.2f), rng.between(-128, 127)};
    const auto add = reference::int8::AddParams::make(px, pb, py, "add");
    std::vector<std::int8_t> sum(x.size());
    reference::int8::add(x.data(), b.data(), static_cast<std::int64_t>(x.size()), add, sum.data());
    for (int i = 0; i < pixels * C; ++i) {
      const auto s = static_cast<std::size_t>(i);
      const std::int64_t prod = std::int64_t{x[s] - px.zero_point} * (gate[s % static_cast<std::size_t>(C)] - pg.zero_point);
      REQUIRE(std::abs(scaled[s] - expected_output(prod, scale_real, py.zero_point)) <= 1);
      const long double real_sum = (long double){px.scale} * (x[s] - px.zero_point) + (long double){pb.scale} * (b[s] - pb.zero_point);
      const int want = static_cast<int>(std::clamp<std::int64_t>(round_away(real_sum / py.scale) + py.zero_point, -128, 127));
      REQUIRE(std::abs(sum[s] - want) <= 1);
    }
  }
}

TEST_CASE("the int8 graph evaluated in float equals the float reference engine", "[quant]") {
  Rng rng(17);
  for (int trial = 0; trial < 25; ++trial) {
    const Genotype g = test::random_genotype(rng);
    INFO(to_string(g));
    const std::vector<float> w = folded_weights(g, rng);
    const Tensor image = test::random_tensor(g.input.with_batch(1), rng, -2.0f, 2.0f);
    quant::FloatGraph graph(g, w);
    graph.run({image.data(), static_cast<std::size_t>(image.size())});
    std::vector<float> arena(static_cast<std::size_t>(reference::arena_floats(g.view()))), logits(static_cast<std::size_t>(g.head.classes));
    reference::infer(g.view(), w, image, arena, logits);
    const auto got = graph.value(graph.graph().output);
    for (std::size_t c = 0; c < logits.size(); ++c)
      REQUIRE(got[c] == Approx(logits[c]).epsilon(1e-4).margin(1e-4));
  }
}

TEST_CASE("post-training int8 networks track their float networks on random genotypes", "[quant]") {
  Rng rng(23);
  double worst = 0.0;
  for (int trial = 0; trial < 25; ++trial) {
    const Genotype g = test::random_genotype(rng);
    INFO(to_string(g));
    const std::vector<float> w = folded_weights(g, rng);
    const int count = 32;
    const Tensor images = test::random_tensor(g.input.with_batch(count), rng, -2.0f, 2.0f);
    const std::span<const float> all(images.data(), static_cast<std::size_t>(images.size()));
    reference::Int8Network int8(quant::quantize_post_training(g, w, all, count));
    quant::FloatGraph fp32(g, w);
    const auto per = static_cast<std::size_t>(g.input.per_image());
    for (int i = 0; i < 4; ++i) {
      fp32.run(all.subspan(i * per, per));
      int8.run(all.subspan(i * per, per));
      const auto want = fp32.value(fp32.graph().output);
      float range = 0.0f;
      for (float v : want) range = std::max(range, std::abs(v));
      for (int c = 0; c < g.head.classes; ++c) {
        const double err = std::abs(int8.logit(c) - want[static_cast<std::size_t>(c)]) / std::max(range, 1e-3f);
        worst = std::max(worst, err);
        REQUIRE(err <= 0.12);  // measured worst: 0.071
      }
    }
  }
  WARN("largest int8 logit error, relative to the largest float logit: " << worst);
}

TEST_CASE("an int8 model whose numbers cannot run is refused naming the layer", "[quant]") {
  Rng rng(2);
  const Genotype g = parse_genotype("in:8x8x1 stem:8:k3:s1:relu mb:8:e2:k3:s1:se:hswish mb:16:e3:k5:s2:relu6 head:16:hswish fc:4");
  const std::vector<float> w = folded_weights(g, rng);
  const Tensor images = test::random_tensor(g.input.with_batch(4), rng);
  const quant::QuantizedModel good = quant::quantize_post_training(g, w, {images.data(), static_cast<std::size_t>(images.size())}, 4);
  const quant::Graph graph = quant::build_graph(g.view());
  CHECK_NOTHROW(quant::check(good, graph));
  auto bad = good;
  bad.weight_scales[graph.layers[1].channel_offset + 3] = 0.0f;  // block 0's expansion
  CHECK_THROWS_WITH(quant::check(bad, graph), Catch::Contains("block 0 expand channel 3 has weight scale 0"));
  bad = good;
  bad.weight_scales.back() = std::nanf("");
  CHECK_THROWS_WITH(quant::check(bad, graph), Catch::Contains("classifier") && Catch::Contains("nan"));
  bad = good;
  bad.activations[1].scale = -1.0f;  // value 0 is the input, 1 the stem's output
  CHECK_THROWS_WITH(quant::check(bad, graph), Catch::Contains("output of stem has scale -1"));
  bad = good;
  bad.activations[2].zero_point = 300;
  CHECK_THROWS_WITH(quant::check(bad, graph), Catch::Contains("block 0 expand") && Catch::Contains("zero point 300"));
  bad = good;
  bad.activations.back().scale = 1e-30f;  // the classifier's multiplier explodes
  CHECK_THROWS_WITH(quant::check(bad, graph), Catch::Contains("classifier") && Catch::Contains("shift"));
  bad = good;
  bad.weights.pop_back();
  CHECK_THROWS_WITH(quant::check(bad, graph), Catch::Contains("weights, the genotype needs"));
  CHECK_THROWS_WITH(reference::Int8Network(bad), Catch::Contains("weights, the genotype needs"));
}
