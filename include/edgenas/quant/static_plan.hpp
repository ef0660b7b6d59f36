// edgenas/quant/static_plan.hpp — an int8 network laid out for firmware: the constant tables
// reference::int8::run() reads (runtime/reference/int8_static.hpp) and the one static arena it
// runs in.
//
// Arena: each value (the quantized image, every op's output) lives from the op that writes it
// to the last op that reads it (the logits to the end); values alive at the same time never
// overlap. Placement is greedy by size, every value 4-byte aligned; an elementwise op (lookup,
// squeeze-and-excitation scaling, residual add) writes over its first input when that input
// dies with it, as the float runtime works in place. arena_bytes counts everything the network
// reads and writes, the quantized input image and the logits included.
#pragma once

#include <algorithm>
#include <vector>

#include "edgenas/quant/model.hpp"
#include "edgenas/runtime/reference/int8_inference.hpp"
#include "edgenas/runtime/reference/int8_static.hpp"

namespace edgenas::quant {

struct StaticPlan {
  std::vector<reference::int8::StaticOp> ops;
  std::vector<Multiplier> multipliers;  // layers' per channel (indexed like biases), then pool and scale ones
  std::vector<std::int8_t> tables;      // 256 per lookup op
  QuantParams input, output;
  std::int32_t input_at = 0, output_at = 0;
  std::int64_t arena_bytes = 0;  // what the firmware allocates: this placement, input and logits included
  // The most bytes alive at once, a lower bound for any placement: with the input image and
  // the logits, and without them (the figure some microcontroller papers report).
  std::int64_t peak_bytes = 0, peak_bytes_between_io = 0;
};

namespace detail {
// Byte offsets for values of `bytes` alive over [first, last] (op indices). A value whose
// reuse[] names another takes that one's place (an input dying where it is born): such chains
// are placed as one slot. Slots go largest first, each at the lowest offset that no slot alive
// at the same time holds (greedy by size, the usual heuristic for static memory planning).
inline std::vector<std::int64_t> place_values(const std::vector<std::int64_t>& bytes, const std::vector<int>& first,
                                              const std::vector<int>& last, const std::vector<int>& reuse,
                                              std::int64_t& total) {
  const std::size_t n = bytes.size();
  std::vector<std::size_t> slot(n);
  for (std::size_t v = 0; v < n; ++v) slot[v] = reuse[v] >= 0 ? slot[static_cast<std::size_t>(reuse[v])] : v;
  const auto aligned = [](std::int64_t b) { return (b + 3) / 4 * 4; };
  std::vector<std::int64_t> size(n, 0);
  std::vector<int> from(n, 1 << 30), to(n, -1);
  for (std::size_t v = 0; v < n; ++v) {
    const std::size_t s = slot[v];
    size[s] = std::max(size[s], aligned(bytes[v]));
    from[s] = std::min(from[s], first[v]);
    to[s] = std::max(to[s], last[v]);
  }
  std::vector<std::size_t> order;
  for (std::size_t s = 0; s < n; ++s)
    if (to[s] >= 0) order.push_back(s);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return size[a] > size[b]; });
  std::vector<std::int64_t> at(n, -1);
  std::vector<std::size_t> placed;
  total = 0;
  for (std::size_t s : order) {
    std::vector<std::pair<std::int64_t, std::int64_t>> busy;  // [start, end) of slots alive with s
    for (std::size_t u : placed)
      if (from[u] <= to[s] && from[s] <= to[u]) busy.emplace_back(at[u], at[u] + size[u]);
    std::sort(busy.begin(), busy.end());
    std::int64_t spot = 0;
    for (const auto& [start, end] : busy) {
      if (spot + size[s] <= start) break;
      spot = std::max(spot, end);
    }
    at[s] = spot;
    placed.push_back(s);
    total = std::max(total, spot + size[s]);
  }
  std::vector<std::int64_t> value_at(n);
  for (std::size_t v = 0; v < n; ++v) value_at[v] = at[slot[v]];
  return value_at;
}

// The most bytes alive at once (a lower bound for any placement), with or without the values
// `leave_out` marks.
inline std::int64_t peak_live_bytes(const std::vector<std::int64_t>& bytes, const std::vector<int>& first,
                                    const std::vector<int>& last, const std::vector<int>& reuse,
                                    const std::vector<bool>& leave_out, int ops) {
  std::int64_t peak = 0;
  for (int i = 0; i <= ops; ++i) {
    std::int64_t live = 0;
    for (std::size_t v = 0; v < bytes.size(); ++v)
      if (!leave_out[v] && first[v] <= i && i <= last[v] && !(reuse[v] >= 0 && first[v] == i)) live += bytes[v];
    peak = std::max(peak, live);
  }
  return peak;
}
}  // namespace detail

/// The firmware's tables and arena for `model` (checked, as reference::Int8Network checks it).
inline StaticPlan static_plan(const QuantizedModel& model) {
  const reference::Int8Network net(model);  // checks the model and prepares every op
  const Graph& g = net.graph();
  const std::size_t values = g.values.size();
  std::vector<std::int64_t> bytes(values);
  std::vector<int> first(values, 0), last(values, 0), reuse(values, -1);
  for (std::size_t v = 0; v < values; ++v) bytes[v] = g.values[v].size();
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    first[static_cast<std::size_t>(op.out)] = static_cast<int>(i);
    last[static_cast<std::size_t>(op.out)] = std::max(last[static_cast<std::size_t>(op.out)], static_cast<int>(i));
    for (int in : {op.in0, op.in1})
      if (in >= 0)
        last[static_cast<std::size_t>(in)] = std::max(last[static_cast<std::size_t>(in)], static_cast<int>(i));
  }
  last[static_cast<std::size_t>(g.output)] = static_cast<int>(g.ops.size());
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const bool elementwise = op.kind == OpKind::lookup || op.kind == OpKind::scale || op.kind == OpKind::add;
    if (elementwise && last[static_cast<std::size_t>(op.in0)] == static_cast<int>(i) && op.in0 != 0)
      reuse[static_cast<std::size_t>(op.out)] = op.in0;
  }
  StaticPlan p;
  const std::vector<std::int64_t> at = detail::place_values(bytes, first, last, reuse, p.arena_bytes);
  std::vector<bool> io(values, false);
  p.peak_bytes = detail::peak_live_bytes(bytes, first, last, reuse, io, static_cast<int>(g.ops.size()));
  io[0] = io[static_cast<std::size_t>(g.output)] = true;
  p.peak_bytes_between_io = detail::peak_live_bytes(bytes, first, last, reuse, io, static_cast<int>(g.ops.size()));
  const auto offset = [&](int v) { return static_cast<std::int32_t>(at[static_cast<std::size_t>(v)]); };
  p.input = model.activations[0];
  p.output = model.activations[static_cast<std::size_t>(g.output)];
  p.input_at = offset(0);
  p.output_at = offset(g.output);
  p.multipliers.resize(static_cast<std::size_t>(g.channel_count));
  using reference::int8::Step;
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (op.kind == OpKind::input) continue;
    const auto& prep = net.prepared(i);
    reference::int8::StaticOp s;
    s.in = g.values[static_cast<std::size_t>(op.in0)];
    s.out = g.values[static_cast<std::size_t>(op.out)];
    s.in0 = offset(op.in0);
    s.in1 = op.in1 >= 0 ? offset(op.in1) : 0;
    s.at = offset(op.out);
    s.in0_zero = model.activations[static_cast<std::size_t>(op.in0)].zero_point;
    s.in1_zero = op.in1 >= 0 ? model.activations[static_cast<std::size_t>(op.in1)].zero_point : 0;
    s.out_zero = model.activations[static_cast<std::size_t>(op.out)].zero_point;
    switch (op.kind) {
      case OpKind::layer: {
        const Layer& l = g.layers[static_cast<std::size_t>(op.layer)];
        s.step = l.kind == LayerKind::depthwise     ? Step::depthwise
                 : (l.kernel == 1 && l.stride == 1) ? Step::pointwise
                                                    : Step::conv;
        s.kernel = l.kernel, s.stride = l.stride;
        s.weights = static_cast<std::int32_t>(l.weight_offset);
        s.channels = static_cast<std::int32_t>(l.channel_offset);
        s.lo = prep.requantization.lo, s.hi = prep.requantization.hi;
        std::copy(prep.multipliers.begin(), prep.multipliers.end(), p.multipliers.begin() + l.channel_offset);
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
        s.add = prep.add;
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
  return {p.ops,    model.weights.data(), model.biases.data(), p.multipliers.data(),       p.tables.data(), p.input,
          p.output, p.input_at,           p.output_at,         model.genotype.head.classes};
}

}  // namespace edgenas::quant
