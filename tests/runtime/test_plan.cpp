// edgenas's own depthwise kernel against naive loops, and the per-layer plan: every mix of
// implementations gives the all-XNNPACK output; plans are kept per device.
#include <catch2/catch.hpp>
#include <cstdio>
#include <edgenas/latency.hpp>
#include <edgenas/ops/activation_function.hpp>
#include <edgenas/runtime/xnnpack.hpp>
#include <edgenas/zoo.hpp>
#include <filesystem>
#include <fstream>

#include "../support/compare.hpp"
#include "../support/random.hpp"

using namespace edgenas;

namespace {

// SAME-padded depthwise convolution, bias and activation, the plain way.
std::vector<float> naive_depthwise(const kernels::DepthwiseLayer& l, const std::vector<float>& x,
                                   const std::vector<float>& w, const std::vector<float>& b) {
  const int oh = l.out_h(), ow = l.out_w(), k = l.kernel, s = l.stride;
  const int top = same_padding_before(l.h, k, s), left = same_padding_before(l.w, k, s);
  std::vector<float> y(static_cast<std::size_t>(oh) * ow * l.c);
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox)
      for (int c = 0; c < l.c; ++c) {
        double acc = b[static_cast<std::size_t>(c)];
        for (int ky = 0; ky < k; ++ky)
          for (int kx = 0; kx < k; ++kx) {
            const int iy = oy * s - top + ky, ix = ox * s - left + kx;
            if (iy < 0 || iy >= l.h || ix < 0 || ix >= l.w) continue;
            acc += double{x[(static_cast<std::size_t>(iy) * l.w + ix) * l.c + c]} *
                   w[(static_cast<std::size_t>(ky) * k + kx) * l.c + c];
          }
        const float v =
            ops::with_activation(l.act, [&]<Activation A>() { return ops::activate<A>(static_cast<float>(acc)); });
        y[(static_cast<std::size_t>(oy) * ow + ox) * l.c + c] = v;
      }
  return y;
}

std::vector<float> random_values(std::int64_t n, Rng& rng, float scale) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = rng.uniform(-scale, scale);
  return v;
}

}  // namespace

TEST_CASE("edgenas's depthwise kernel equals naive loops for kernels 1 to 9 and strides 1 2 with every activation",
          "[runtime][kernels]") {
  Rng rng(5);
  int checked = 0;
  for (int k : {1, 3, 5, 7, 9})
    for (int s : {1, 2})
      for (int trial = 0; trial < 14; ++trial) {
        // Widths from 1 to 40 columns (narrow maps take the padded copy), channels off the
        // SIMD tiles (1, 3, 17, …), non-square maps.
        const kernels::DepthwiseLayer l{rng.between(1, 20),
                                        std::array{1, 2, 4, 7, 9, 14, 16, 23, 40}[rng.below(9)],
                                        std::array{1, 3, 4, 8, 16, 17, 24, 35, 48}[rng.below(9)],
                                        k,
                                        s,
                                        all_activations[rng.below(7)]};
        INFO(l.h << "x" << l.w << "x" << l.c << " k" << k << " s" << s << " " << activation_name(l.act));
        const auto x = random_values(std::int64_t{l.h} * l.w * l.c, rng, 2.0f);
        const auto w = random_values(std::int64_t{k} * k * l.c, rng, 0.5f);
        const auto b = random_values(l.c, rng, 0.5f);
        std::vector<float> y(static_cast<std::size_t>(l.out_h()) * l.out_w() * l.c);
        kernels::depthwise(l, x.data(), w.data(), b.data(), y.data());
        const auto want = naive_depthwise(l, x, w, b);
        for (std::size_t i = 0; i < y.size(); ++i) {
          INFO("output " << i);
          REQUIRE(y[i] == Approx(want[i]).margin(1e-5).epsilon(1e-5));
        }
        ++checked;
      }
  CHECK(checked == 140);
}

TEST_CASE("every plan gives the all-XNNPACK output on random genotypes", "[runtime][plan]") {
  Rng rng(91);
  for (int trial = 0; trial < 30; ++trial) {
    const Genotype g = test::random_genotype(rng);
    INFO(to_string(g));
    const auto weights = random_values(inference_weight_count(g.view()), rng, 0.3f);
    const int threads = trial % 2 + 1, batch = trial % 3 == 0 ? 2 : 1;
    xnnpack::Runtime all_xnnpack(g, weights, threads, batch, xnnpack::PlanMode::xnnpack);
    const Tensor x = test::random_tensor(g.input.with_batch(batch), rng, -2.0f, 2.0f);
    Tensor want(all_xnnpack.output().shape());
    all_xnnpack.run(x, want);
    for (const auto mode : {xnnpack::PlanMode::edgenas, xnnpack::PlanMode::measured}) {
      xnnpack::Runtime planned(g, weights, threads, batch, mode);
      Tensor got(want.shape());
      planned.run(x, got);
      test::require_close_to_largest(got, want, 1e-4);
      planned.run(x, got);  // a second run on the same arena gives the same
      test::require_close_to_largest(got, want, 1e-4);
      int own = 0;
      for (const auto& s : planned.steps()) own += s.implementation == xnnpack::Implementation::edgenas;
      if (mode == xnnpack::PlanMode::edgenas) CHECK(own == static_cast<int>(g.blocks.size()));
    }
    for (const auto& s : all_xnnpack.steps()) CHECK(s.implementation == xnnpack::Implementation::xnnpack);
  }
}

TEST_CASE("MobileNetV3-Small with edgenas's depthwise kernels gives the all-XNNPACK logits", "[runtime][plan][zoo]") {
  const Genotype g = genotype_of<zoo::MobileNetV3Small>();
  Rng rng(3);
  const auto weights = random_values(inference_weight_count(g.view()), rng, 0.1f);
  const Tensor x = test::random_tensor(g.input, rng);
  Tensor want({1, 1, 1, 1000}), got({1, 1, 1, 1000});
  xnnpack::Runtime(g, weights, 2, 1, xnnpack::PlanMode::xnnpack).run(x, want);
  xnnpack::Runtime(g, weights, 2, 1, xnnpack::PlanMode::edgenas).run(x, got);
  test::require_close_to_largest(got, want, 1e-4);
}

TEST_CASE("a 7x7 depthwise layer is measured once and the faster implementation is kept", "[runtime][plan]") {
  xnnpack::kernel_plan().clear();
  const kernels::DepthwiseLayer l{14, 14, 48, 7, 1, Activation::hswish};
  const std::string key = xnnpack::depthwise_key(l, 1, 1);
  CHECK(key == "dw 14x14x48 k7 s1 hswish n1 t1");
  CHECK_FALSE(xnnpack::kernel_plan().find(key));
  const auto c = xnnpack::kernel_plan().choose(l, 1, 1);
  REQUIRE(c.xnnpack_ms > 0);
  REQUIRE(c.edgenas_ms > 0);
  CHECK(c.implementation ==
        (c.edgenas_ms < c.xnnpack_ms ? xnnpack::Implementation::edgenas : xnnpack::Implementation::xnnpack));
  const auto again = xnnpack::kernel_plan().find(key);
  REQUIRE(again);
  CHECK(again->xnnpack_ms == c.xnnpack_ms);  // remembered, not re-measured
  // A runtime of a block with that layer runs it as the plan says.
  const Genotype g = parse_genotype("in:14x14x8 stem:8:k1:s1:relu mb:8:e6:k7:s1:hswish head:16:relu fc:3");
  Rng rng(1);
  const auto weights = random_values(inference_weight_count(g.view()), rng, 0.1f);
  const xnnpack::Runtime rt(g, weights, 1);
  bool found = false;
  for (const auto& s : rt.steps())
    if (s.plan_key == key) {
      found = true;
      CHECK(s.implementation == c.implementation);
    }
  CHECK(found);
  xnnpack::kernel_plan().clear();
}

TEST_CASE("a kernel plan file is reused on this device and measured again elsewhere", "[runtime][plan][files]") {
  const std::string dir = (std::filesystem::temp_directory_path() / "edgenas_plan_test").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/kernel-plan.json";
  xnnpack::kernel_plan().clear();
  CHECK(latency::use_kernel_plan_file(path) == 0);  // no file yet: empty
  xnnpack::kernel_plan().choose({7, 7, 24, 5, 1, Activation::relu}, 1, 1);
  xnnpack::kernel_plan().choose({8, 8, 16, 3, 2, Activation::swish}, 1, 1);
  REQUIRE(std::filesystem::exists(path));
  const auto measured = xnnpack::kernel_plan().choices();
  xnnpack::kernel_plan().clear();
  std::string message;
  CHECK(latency::load_kernel_plan(path, &message) == 2);
  CHECK(message.empty());
  for (const auto& [key, c] : measured) {
    const auto back = xnnpack::kernel_plan().find(key);
    REQUIRE(back);
    CHECK(back->implementation == c.implementation);
    CHECK(back->edgenas_ms == Approx(c.edgenas_ms));
  }
  // The same file with another XNNPACK build in its fingerprint is not used.
  std::ifstream in(path);
  const std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string text = original;
  const auto at = text.find("edgenas kernels v");
  REQUIRE(at != std::string::npos);
  text.replace(at, 17, "edgenas kernels w");
  const std::string other = dir + "/other.json";
  std::ofstream(other) << text;
  xnnpack::kernel_plan().clear();
  CHECK(latency::load_kernel_plan(other, &message) == 0);
  CHECK_THAT(message, Catch::Contains("measured again"));
  CHECK(xnnpack::kernel_plan().choices().empty());
  // Not a plan, or a plan naming an unknown implementation: errors that say so.
  std::ofstream(other) << "{\"format\": \"something else\"}";
  CHECK_THROWS_WITH(latency::load_kernel_plan(other), Catch::Contains("not an edgenas kernel plan"));
  text = original;
  const auto v = text.find("\"implementation\": \"");
  REQUIRE(v != std::string::npos);
  text.insert(v + 19, "gpu-");
  std::ofstream(other) << text;
  CHECK_THROWS_WITH(latency::load_kernel_plan(other), Catch::Contains("expected xnnpack or edgenas"));
  xnnpack::kernel_plan().clear();
  std::filesystem::remove_all(dir);
}

TEST_CASE("a latency table says what timed each piece and brings its kernel choices along", "[runtime][plan][files]") {
  const std::string path = (std::filesystem::temp_directory_path() / "edgenas_plan_table.json").string();
  xnnpack::kernel_plan().clear();
  const kernels::DepthwiseLayer dw{14, 14, 48, 7, 2, Activation::relu6};
  xnnpack::kernel_plan().set(xnnpack::depthwise_key(dw, 1, 1), {xnnpack::Implementation::edgenas, 0.5, 0.05});
  latency::Table t;
  t.device = latency::this_device(1);
  latency::Measurement m;
  m.median_ms = m.p10_ms = m.p90_ms = m.ci_low_ms = m.ci_high_ms = m.trimmed_ms = m.run_p90_ms = m.uncorrected_ms =
      0.05;
  m.runs = 10;
  m.rounds = 3;
  m.stable = true;
  const xnnpack::Piece piece{xnnpack::Piece::Kind::block, {1, 14, 14, 8}, {16, 48, 7, 2, false, Activation::relu6}};
  const std::string key = latency::block_key(piece.input, piece.block);
  t.entries[key] = m;
  t.implementations[key] = latency::implementation_of(piece, 1, "fp32");
  CHECK(t.implementations[key] == "depthwise edgenas");
  latency::save_table(t, path);
  xnnpack::kernel_plan().clear();
  const latency::Table back = latency::load_table(path, latency::this_device(1));
  CHECK(back.implementations.at(key) == "depthwise edgenas");
  const auto choice = xnnpack::kernel_plan().find(xnnpack::depthwise_key(dw, 1, 1));
  REQUIRE(choice);
  CHECK(choice->implementation == xnnpack::Implementation::edgenas);
  xnnpack::kernel_plan().clear();
  std::filesystem::remove(path);
}
