// The XNNPACK int8 runtime against the integer reference: op by op on the same inputs, and
// whole networks.
#include <catch2/catch.hpp>
#include <edgenas/quant/calibrate.hpp>
#include <edgenas/quant/static_plan.hpp>
#include <edgenas/runtime/reference/int8_inference.hpp>
#include <edgenas/runtime/xnnpack/int8_runtime.hpp>
#include <edgenas/space/search_space.hpp>
#include <edgenas/train.hpp>
#include <edgenas/zoo.hpp>

#include "../support/random.hpp"

using namespace edgenas;

namespace {

quant::QuantizedModel random_int8_model(const Genotype& g, Rng& rng) {
  train::Network net(g, rng.next_u64());
  const Tensor x = test::random_tensor(g.input.with_batch(8), rng, -2.0f, 2.0f);
  for (int i = 0; i < 3; ++i) net.forward(x, true);  // batch-norm statistics off the identity
  const Tensor calibration = test::random_tensor(g.input.with_batch(16), rng, -2.0f, 2.0f);
  return quant::quantize_post_training(g, net.inference_weights(),
                                       {calibration.data(), static_cast<std::size_t>(calibration.size())}, 16);
}

}  // namespace

TEST_CASE("every XNNPACK int8 op equals the integer reference within one step on the same input",
          "[runtime][xnnpack][int8]") {
  Rng rng(41);
  int ops = 0, off_by_one = 0, elements = 0;
  for (int trial = 0; trial < 30; ++trial) {
    const Genotype g = test::random_genotype(rng);
    INFO(to_string(g));
    const quant::QuantizedModel model = random_int8_model(g, rng);
    xnnpack::Int8Runtime xnn(model, 1 + trial % 2, 1, xnnpack::Segmentation::per_op);
    reference::Int8Network ref(model);
    const Tensor image = test::random_tensor(g.input.with_batch(1), rng, -2.0f, 2.0f);
    xnn.run({image.data(), static_cast<std::size_t>(image.size())});
    const quant::Graph& graph = ref.graph();
    for (std::size_t i = 0; i < graph.ops.size(); ++i) {
      const quant::Op& op = graph.ops[i];
      if (op.kind == quant::OpKind::input) {
        ref.set_value(op.out, xnn.value(op.out));
        continue;
      }
      for (int v : {op.in0, op.in1})
        if (v >= 0) ref.set_value(v, xnn.value(v));
      ref.run_op(i);
      const auto want = ref.value(op.out), got = xnn.value(op.out);
      REQUIRE(got.size() == want.size());
      INFO("op " << i << ": " << quant::LayerLabel(op.name).c_str());
      for (std::size_t e = 0; e < want.size(); ++e) {
        REQUIRE(std::abs(int{got[e]} - int{want[e]}) <= 1);
        off_by_one += got[e] != want[e];
      }
      elements += static_cast<int>(want.size());
      ++ops;
    }
  }
  WARN(ops << " ops checked; " << off_by_one << " of " << elements << " int8 values differ by one step");
}

TEST_CASE("fused XNNPACK int8 networks match the integer reference on random genotypes", "[runtime][xnnpack][int8]") {
  Rng rng(43);
  int worst = 0;
  for (int trial = 0; trial < 30; ++trial) {
    const Genotype g = test::random_genotype(rng);
    INFO(to_string(g));
    const quant::QuantizedModel model = random_int8_model(g, rng);
    const int batch = 1 + trial % 3;
    xnnpack::Int8Runtime xnn(model, 1 + trial % 2, batch);
    xnnpack::Int8Runtime per_op(model, 1, batch, xnnpack::Segmentation::per_op);
    reference::Int8Network ref(model);
    const Tensor images = test::random_tensor(g.input.with_batch(batch), rng, -2.0f, 2.0f);
    const std::span<const float> all(images.data(), static_cast<std::size_t>(images.size()));
    xnn.run(all);
    per_op.run(all);
    const auto per = static_cast<std::size_t>(g.input.per_image());
    for (int b = 0; b < batch; ++b) {
      ref.run(all.subspan(static_cast<std::size_t>(b) * per, per));
      for (int c = 0; c < g.head.classes; ++c) {
        const auto at = static_cast<std::size_t>(b * g.head.classes + c);
        REQUIRE(xnn.logits()[at] == per_op.logits()[at]);  // cutting the graph changes nothing
        worst = std::max(worst, std::abs(int{xnn.logits()[at]} - int{ref.logits()[static_cast<std::size_t>(c)]}));
      }
    }
  }
  WARN("largest logit difference to the reference after whole networks: " << worst << " steps");
  CHECK(worst <= 8);
}

TEST_CASE("XNNPACK int8 runs MobileNetV3-Small in a few segments", "[runtime][xnnpack][int8][zoo]") {
  Rng rng(5);
  Genotype g = genotype_of<zoo::MobileNetV3Small>();
  g.input = {1, 64, 64, 3}, g.head.classes = 10;  // small enough for the naive reference
  const quant::QuantizedModel model = random_int8_model(g, rng);
  xnnpack::Int8Runtime xnn(model, 2, 1);
  reference::Int8Network ref(model);
  const Tensor image = test::random_tensor(g.input.with_batch(1), rng, -2.0f, 2.0f);
  xnn.run({image.data(), static_cast<std::size_t>(image.size())});
  ref.run({image.data(), static_cast<std::size_t>(image.size())});
  int lookups = 0;
  for (const auto& op : ref.graph().ops) lookups += op.kind == quant::OpKind::lookup;
  CHECK(xnn.segment_count() == lookups + 1);  // h-swish cuts the graph
  for (int c = 0; c < 10; ++c) CHECK(std::abs(int{xnn.logits()[static_cast<std::size_t>(c)]} - int{ref.logits()[static_cast<std::size_t>(c)]}) <= 8);
}

TEST_CASE("the int8 arena planner reaches the most bytes alive at once on every sampled network", "[int8][static]") {
  // Greedy by size alone reached this lower bound on 159 of 300 fmnist-mcu networks (up to
  // 14 % over); with greedy by breadth and shuffled orders, on all of them.
  for (const SearchSpace& space : {spaces::fmnist_mcu(), spaces::fmnist()}) {
    Rng rng(3);
    for (int i = 0; i < 200; ++i) {
      const Genotype g = space.decode(space.random_choices(rng));
      INFO(to_string(g));
      const quant::Graph graph = quant::build_graph(g.view());
      const quant::Lifetimes life = quant::lifetimes(graph);
      REQUIRE(quant::int8_arena_bytes(graph) == quant::peak_live_bytes(life, graph.output, true));
    }
  }
}

TEST_CASE("the firmware's int8 tables and static arena give the integer reference's logits bit for bit",
          "[runtime][int8][static]") {
  Rng rng(77);
  double smallest_ratio = 1e9, largest_ratio = 0;
  for (int trial = 0; trial < 25; ++trial) {
    const Genotype g = test::random_genotype(rng);
    INFO(to_string(g));
    const quant::QuantizedModel model = random_int8_model(g, rng);
    const quant::StaticPlan plan = quant::static_plan(model);
    const reference::int8::StaticNetwork net = quant::static_network(plan, model);
    reference::Int8Network ref(model);
    // The arena holds at least the most bytes alive at once, never more than all values; without
    // the input and the logits, fewer are alive.
    std::int64_t all = 0;
    for (const Shape& s : ref.graph().values) all += (s.size() + 3) / 4 * 4;
    CHECK(plan.arena_bytes >= plan.peak_bytes);
    CHECK(plan.arena_bytes <= all);
    CHECK(plan.peak_bytes_between_io <= plan.peak_bytes);
    // The compile-time figures (Net::int8_arena_bytes, the search's budgets) are the plan's.
    CHECK(arena_bytes(g.view(), Precision::int8) == plan.arena_bytes);
    const auto tables = std::max<std::int64_t>(static_cast<std::int64_t>(plan.tables.size()), 1);
    CHECK(flash_bytes(g.view(), Precision::int8) ==
          static_cast<std::int64_t>(model.weights.size() + 4 * model.biases.size() + 5 * plan.multipliers.size() +
                                    sizeof(reference::int8::StaticOp) * plan.ops.size() +
                                    sizeof(reference::int8::AddParams) * std::max<std::size_t>(plan.adds.size(), 1)) +
              tables);
    const double float_arena = static_cast<double>(peak_activation_bytes(g.view()));
    smallest_ratio = std::min(smallest_ratio, static_cast<double>(plan.arena_bytes) / float_arena);
    largest_ratio = std::max(largest_ratio, static_cast<double>(plan.arena_bytes) / float_arena);
    // Guard bytes on both sides catch a write outside the arena.
    std::vector<std::int8_t> arena(static_cast<std::size_t>(plan.arena_bytes) + 64, 0x5a);
    for (int image = 0; image < 3; ++image) {
      const Tensor x = test::random_tensor(g.input.with_batch(1), rng, -2.0f, 2.0f);
      ref.run({x.data(), static_cast<std::size_t>(x.size())});
      reference::int8::run(net, x.data(), arena.data() + 32);
      const auto want = ref.logits();
      for (std::size_t k = 0; k < want.size(); ++k)
        REQUIRE(arena[32 + static_cast<std::size_t>(plan.output_at) + k] == want[k]);
      for (std::size_t i = 0; i < 32; ++i) REQUIRE((arena[i] == 0x5a && arena[arena.size() - 1 - i] == 0x5a));
      CHECK(reference::int8::predict(net, x.data(), arena.data() + 32) == ref.predicted_class());
    }
  }
  WARN("int8 arena / float arena: " << smallest_ratio << " to " << largest_ratio);
}
