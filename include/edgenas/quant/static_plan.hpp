// edgenas/quant/static_plan.hpp — an int8 network laid out for firmware: the constant tables
// reference::int8::run() reads (runtime/reference/int8_static.hpp) and the one static arena it
// runs in.
//
// Arena: values placed by quant/footprint.hpp (greedy orders over their lifetimes, in place
// for elementwise ops), so arena_bytes is the compile-time Net::int8_arena_bytes; it counts
// everything the network reads and writes, the quantized input image and the logits included.
#pragma once

#include <algorithm>
#include <vector>

#include "edgenas/quant/footprint.hpp"
#include "edgenas/quant/model.hpp"
#include "edgenas/runtime/reference/int8_inference.hpp"
#include "edgenas/runtime/reference/int8_static.hpp"

namespace edgenas::quant {

struct StaticPlan {
  std::vector<reference::int8::StaticOp> ops;
  reference::int8::Multipliers multipliers;  // layers' per channel (indexed like biases), then pool and scale ones
  std::vector<std::int8_t> tables;      // 256 per lookup op
  std::vector<reference::int8::AddParams> adds;  // one per residual add
  QuantParams input, output;
  std::int32_t input_at = 0, output_at = 0;
  std::int64_t arena_bytes = 0;  // what the firmware allocates: this placement, input and logits included
  // The most bytes alive at once, a lower bound for any placement: with the input image and
  // the logits, and without them (the figure some microcontroller papers report).
  std::int64_t peak_bytes = 0, peak_bytes_between_io = 0;
};

namespace detail {
// The op table keeps shapes in 16 bits (flash): larger dimensions are refused, not truncated.
inline void set_shapes(reference::int8::StaticOp& s, Shape in, Shape out) {
  for (const int d : {in.h, in.w, in.c, out.h, out.w, out.c})
    EDGENAS_CHECK(d <= 32767, Status::unsupported,
                  "int8 static plan: a tensor dimension of %d exceeds the op table's 16-bit fields", d);
  s.in_h = static_cast<std::int16_t>(in.h), s.in_w = static_cast<std::int16_t>(in.w);
  s.in_c = static_cast<std::int16_t>(in.c), s.out_h = static_cast<std::int16_t>(out.h);
  s.out_w = static_cast<std::int16_t>(out.w), s.out_c = static_cast<std::int16_t>(out.c);
}
}  // namespace detail

/// The firmware's tables and arena for `model` (checked, as reference::Int8Network checks it).
inline StaticPlan static_plan(const QuantizedModel& model) {
  const reference::Int8Network net(model);  // checks the model and prepares every op
  const Graph& g = net.graph();
  const Lifetimes life = lifetimes(g);
  StaticPlan p;
  const std::vector<std::int64_t> at = place_values(life, p.arena_bytes);
  p.peak_bytes = peak_live_bytes(life, g.output, true);
  p.peak_bytes_between_io = peak_live_bytes(life, g.output, false);
  const auto offset = [&](int v) { return static_cast<std::int32_t>(at[static_cast<std::size_t>(v)]); };
  p.input = model.activations[0];
  p.output = model.activations[static_cast<std::size_t>(g.output)];
  p.input_at = offset(0);
  p.output_at = offset(g.output);
  p.multipliers.values.resize(static_cast<std::size_t>(g.channel_count));
  p.multipliers.shifts.resize(static_cast<std::size_t>(g.channel_count));
  using reference::int8::Step;
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (op.kind == OpKind::input) continue;
    const auto& prep = net.prepared(i);
    reference::int8::StaticOp s;
    detail::set_shapes(s, g.values[static_cast<std::size_t>(op.in0)], g.values[static_cast<std::size_t>(op.out)]);
    s.in0 = offset(op.in0);
    s.in1 = op.in1 >= 0 ? offset(op.in1) : 0;
    s.at = offset(op.out);
    // Zero points and clamps are within int8 (check() refused any other).
    s.in0_zero = static_cast<std::int8_t>(model.activations[static_cast<std::size_t>(op.in0)].zero_point);
    s.in1_zero =
        static_cast<std::int8_t>(op.in1 >= 0 ? model.activations[static_cast<std::size_t>(op.in1)].zero_point : 0);
    s.out_zero = static_cast<std::int8_t>(model.activations[static_cast<std::size_t>(op.out)].zero_point);
    switch (op.kind) {
      case OpKind::layer: {
        const Layer& l = g.layers[static_cast<std::size_t>(op.layer)];
        s.step = l.kind == LayerKind::depthwise     ? Step::depthwise
                 : (l.kernel == 1 && l.stride == 1) ? Step::pointwise
                                                    : Step::conv;
        s.kernel = static_cast<std::uint8_t>(l.kernel), s.stride = static_cast<std::uint8_t>(l.stride);
        s.weights = static_cast<std::int32_t>(l.weight_offset);
        s.channels = static_cast<std::int32_t>(l.channel_offset);
        s.lo = static_cast<std::int8_t>(prep.requantization.lo),
        s.hi = static_cast<std::int8_t>(prep.requantization.hi);
        std::copy(prep.multipliers.values.begin(), prep.multipliers.values.end(),
                  p.multipliers.values.begin() + l.channel_offset);
        std::copy(prep.multipliers.shifts.begin(), prep.multipliers.shifts.end(),
                  p.multipliers.shifts.begin() + l.channel_offset);
        break;
      }
      case OpKind::lookup:
        s.step = Step::lookup;
        s.weights = static_cast<std::int32_t>(p.tables.size());
        p.tables.insert(p.tables.end(), prep.table.begin(), prep.table.end());
        break;
      case OpKind::pool:
      case OpKind::scale:
        s.step = op.kind == OpKind::pool ? Step::pool : Step::scale;
        s.channels = static_cast<std::int32_t>(p.multipliers.size());
        p.multipliers.push_back(prep.multipliers[0]);
        break;
      case OpKind::add:
        s.step = Step::add;
        s.channels = static_cast<std::int32_t>(p.adds.size());
        p.adds.push_back(prep.add);
        break;
      case OpKind::input:
        break;
    }
    p.ops.push_back(s);
  }
  return p;
}

/// The plan's tables as reference::int8::run() takes them (valid while `p` and `model` live).
inline reference::int8::StaticNetwork static_network(const StaticPlan& p, const QuantizedModel& model) {
  return {p.ops,
          model.weights.data(),
          model.biases.data(),
          p.multipliers.values.data(),
          p.multipliers.shifts.data(),
          p.tables.data(),
          p.adds.data(),
          p.input,
          p.output,
          p.input_at,
          p.output_at,
          model.genotype.head.classes};
}

}  // namespace edgenas::quant
