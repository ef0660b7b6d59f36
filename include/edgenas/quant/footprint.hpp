// edgenas/quant/footprint.hpp — a network's arena and flash per precision, at compile time.
//
// A deploy header (no heap at run time, no exceptions): everything here is constexpr, so the
// same figures serve the compile-time network type (Net::int8_arena_bytes, blocks/network.hpp),
// the search's budgets (search/candidate.hpp) and the firmware planner (quant/static_plan.hpp,
// which places values with place_values below, so the figures are the ones it allocates).
//
// Arena: the int8 arena is the static plan's: each value (the quantized image, every op's
// output) lives from the op that writes it to the last op that reads it, the logits to the
// end; slots are placed by a few greedy orders (the smallest arena kept), 4-byte aligned; an
// elementwise op writes over its first input when that input dies with it. It includes the
// input image and the logits. The float arena is peak_activation_bytes (space/cost.hpp): the
// float runtime reads the image from, and writes the logits to, buffers of their own, but the
// arena's size counts both anyway.
//
// Flash: what the exported header stores as constant data for the network (the code that runs
// it is not counted; docs/quantization.md gives both). float32: the folded weights and biases,
// 4 bytes each. int8: the int8 weights, one int32 bias and one fixed-point multiplier (int32
// value, int8 shift) per output channel, one multiplier per pooling and squeeze-and-excitation
// scaling, 256 bytes per lookup table (at least 1 byte), the op table (40 bytes per op) and the
// residual adds' parameters (36 bytes each, at least one entry).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "edgenas/quant/graph.hpp"
#include "edgenas/runtime/reference/int8_static.hpp"
#include "edgenas/space/cost.hpp"

namespace edgenas {

enum class Precision : unsigned char { fp32, int8 };

namespace quant {

/// When each int8 value of a graph is alive (op indices, the input op being 0) and which input
/// it may overwrite (reuse: −1 or the value it takes the place of).
struct Lifetimes {
  std::vector<std::int64_t> bytes;
  std::vector<int> first, last, reuse;
  int ops = 0;
};

constexpr Lifetimes lifetimes(const Graph& g) {
  const std::size_t values = g.values.size();
  Lifetimes t{std::vector<std::int64_t>(values), std::vector<int>(values, 0), std::vector<int>(values, 0),
              std::vector<int>(values, -1), static_cast<int>(g.ops.size())};
  for (std::size_t v = 0; v < values; ++v) t.bytes[v] = g.values[v].size();
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const int at = static_cast<int>(i);
    t.first[static_cast<std::size_t>(op.out)] = at;
    t.last[static_cast<std::size_t>(op.out)] = std::max(t.last[static_cast<std::size_t>(op.out)], at);
    for (int in : {op.in0, op.in1})
      if (in >= 0) t.last[static_cast<std::size_t>(in)] = std::max(t.last[static_cast<std::size_t>(in)], at);
  }
  t.last[static_cast<std::size_t>(g.output)] = t.ops;
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const bool elementwise = op.kind == OpKind::lookup || op.kind == OpKind::scale || op.kind == OpKind::add;
    if (elementwise && t.last[static_cast<std::size_t>(op.in0)] == static_cast<int>(i) && op.in0 != 0)
      t.reuse[static_cast<std::size_t>(op.out)] = op.in0;
  }
  return t;
}

namespace detail {
// Places slots in `order`, each at the lowest offset no slot alive at the same time holds.
constexpr std::int64_t place_in_order(const std::vector<std::size_t>& order, const std::vector<std::int64_t>& size,
                                      const std::vector<int>& from, const std::vector<int>& to,
                                      std::vector<std::int64_t>& at) {
  std::vector<std::pair<std::int64_t, std::int64_t>> busy;  // [start, end) of placed slots alive with s
  std::int64_t total = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t s = order[k];
    busy.clear();
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t u = order[j];
      if (from[u] <= to[s] && from[s] <= to[u]) busy.emplace_back(at[u], at[u] + size[u]);
    }
    std::sort(busy.begin(), busy.end());
    std::int64_t spot = 0;
    for (const auto& [start, end] : busy) {
      if (spot + size[s] <= start) break;
      spot = std::max(spot, end);
    }
    at[s] = spot;
    total = std::max(total, spot + size[s]);
  }
  return total;
}
}  // namespace detail

/// Byte offsets of every value, and the arena they need (`total`). A value that reuses another
/// takes its place: such chains are one slot. Several orders, the smallest arena kept (ties: the
/// first): largest slot first ("greedy by size"), slots alive at the busiest moments first
/// ("greedy by breadth", as TFLite's planners), then shuffled orders; each slot goes to the
/// lowest offset no slot alive at the same time holds.
constexpr std::vector<std::int64_t> place_values(const Lifetimes& t, std::int64_t& total) {
  const std::size_t n = t.bytes.size();
  std::vector<std::size_t> slot(n);
  for (std::size_t v = 0; v < n; ++v) slot[v] = t.reuse[v] >= 0 ? slot[static_cast<std::size_t>(t.reuse[v])] : v;
  std::vector<std::int64_t> size(n, 0);
  std::vector<int> from(n, 1 << 30), to(n, -1);
  for (std::size_t v = 0; v < n; ++v) {
    const std::size_t s = slot[v];
    size[s] = std::max(size[s], (t.bytes[v] + 3) / 4 * 4);
    from[s] = std::min(from[s], t.first[v]);
    to[s] = std::max(to[s], t.last[v]);
  }
  std::vector<std::size_t> slots;
  for (std::size_t s = 0; s < n; ++s)
    if (to[s] >= 0) slots.push_back(s);
  // Breadth: the most bytes alive at any step of a slot's lifetime.
  std::vector<std::int64_t> live(static_cast<std::size_t>(t.ops) + 1, 0), breadth(n, 0);
  for (std::size_t s : slots)
    for (int i = from[s]; i <= to[s]; ++i) live[static_cast<std::size_t>(i)] += size[s];
  for (std::size_t s : slots)
    for (int i = from[s]; i <= to[s]; ++i) breadth[s] = std::max(breadth[s], live[static_cast<std::size_t>(i)]);
  std::vector<std::size_t> by_size = slots, by_breadth = slots;
  std::sort(by_size.begin(), by_size.end(),
            [&](std::size_t a, std::size_t b) { return size[a] != size[b] ? size[a] > size[b] : a < b; });
  std::sort(by_breadth.begin(), by_breadth.end(), [&](std::size_t a, std::size_t b) {
    if (breadth[a] != breadth[b]) return breadth[a] > breadth[b];
    return size[a] != size[b] ? size[a] > size[b] : a < b;
  });
  std::vector<std::int64_t> at(n, -1), tried(n, -1);
  total = detail::place_in_order(by_size, size, from, to, at);
  const auto keep_if_smaller = [&](const std::vector<std::size_t>& order) {
    const std::int64_t t_order = detail::place_in_order(order, size, from, to, tried);
    if (t_order < total) total = t_order, at = tried;
  };
  keep_if_smaller(by_breadth);
  // Greedy orders miss the optimum when a small long-lived slot is placed after large ones
  // that fragment its lifetime; shuffled orders (a fixed generator: the same plan every time)
  // stop once the arena equals the most bytes alive at once, which no placement beats.
  std::int64_t lower_bound = 0;
  for (std::int64_t l : live) lower_bound = std::max(lower_bound, l);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  std::vector<std::size_t> shuffled = by_size;
  for (int attempt = 0; attempt < 64 && total > lower_bound; ++attempt) {
    for (std::size_t i = shuffled.size(); i > 1; --i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      std::swap(shuffled[i - 1], shuffled[static_cast<std::size_t>((state >> 33) % i)]);
    }
    keep_if_smaller(shuffled);
  }
  std::vector<std::int64_t> value_at(n);
  for (std::size_t v = 0; v < n; ++v) value_at[v] = at[slot[v]];
  return value_at;
}

/// The most bytes alive at once (a lower bound for any placement), with or without the input
/// image and the logits.
constexpr std::int64_t peak_live_bytes(const Lifetimes& t, int output, bool with_io) {
  std::int64_t peak = 0;
  for (int i = 0; i <= t.ops; ++i) {
    std::int64_t live = 0;
    for (std::size_t v = 0; v < t.bytes.size(); ++v) {
      const bool io = v == 0 || static_cast<int>(v) == output;
      if ((with_io || !io) && t.first[v] <= i && i <= t.last[v] && !(t.reuse[v] >= 0 && t.first[v] == i))
        live += t.bytes[v];
    }
    peak = std::max(peak, live);
  }
  return peak;
}

constexpr std::int64_t int8_arena_bytes(const Graph& g) {
  std::int64_t total = 0;
  place_values(lifetimes(g), total);
  return total;
}

constexpr std::int64_t int8_flash_bytes(const Graph& g) {
  std::int64_t multipliers = g.channel_count, tables = 0, adds = 0;
  for (const Op& op : g.ops) {
    multipliers += op.kind == OpKind::pool || op.kind == OpKind::scale;
    tables += op.kind == OpKind::lookup;
    adds += op.kind == OpKind::add;
  }
  const auto ops = static_cast<std::int64_t>(g.ops.size()) - 1;  // the input op is not a step
  return g.weight_count + g.channel_count * std::int64_t{sizeof(std::int32_t)} +
         multipliers * std::int64_t{sizeof(std::int32_t) + sizeof(std::int8_t)} +
         std::max<std::int64_t>(tables * 256, 1) + ops * std::int64_t{sizeof(reference::int8::StaticOp)} +
         std::max<std::int64_t>(adds, 1) * std::int64_t{sizeof(reference::int8::AddParams)};
}

}  // namespace quant

/// Bytes of the static arena a network runs in, input and output included.
constexpr std::int64_t arena_bytes(const NetworkView& g, Precision p) {
  return p == Precision::int8 ? quant::int8_arena_bytes(quant::graph_of(g)) : peak_activation_bytes(g);
}

/// Bytes of constant data (weights and per-layer constants) the exported network stores.
constexpr std::int64_t flash_bytes(const NetworkView& g, Precision p) {
  return p == Precision::int8 ? quant::int8_flash_bytes(quant::graph_of(g))
                              : inference_weight_count(g) * std::int64_t{sizeof(float)};
}

struct Footprint {
  std::int64_t arena_bytes = 0, flash_bytes = 0;
};

/// Both figures, the int8 graph built once (the search costs every architecture it draws).
constexpr Footprint footprint(const NetworkView& g, Precision p) {
  if (p != Precision::int8) return {arena_bytes(g, p), flash_bytes(g, p)};
  const quant::Graph graph = quant::graph_of(g);
  return {quant::int8_arena_bytes(graph), quant::int8_flash_bytes(graph)};
}

}  // namespace edgenas
