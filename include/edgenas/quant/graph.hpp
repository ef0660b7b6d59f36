// edgenas/quant/graph.hpp — a genotype as the list of int8 operations it runs.
//
// Written once, read by every int8 consumer: calibration (quant/model.hpp), the integer
// reference (runtime/reference/int8_inference.hpp), the XNNPACK int8 runtime and the
// exporters. Each value is one int8 tensor with its own quantization (its index is its slot
// in QuantizedModel::activations); each layer is one convolution or fully-connected layer
// with per-output-channel weight scales, in the order of the float weight blob
// (runtime/reference/inference.hpp), so layer l's float weights and bias are found by walking.
//
// Activations: ReLU and ReLU6 clamp the layer's own output (as TFLite's fused activations);
// h-sigmoid too, with the layer's weights and bias scaled by 1/6 and the bias raised by 1/2
// (h-sigmoid(x) = clamp(x/6 + 1/2, 0, 1)), its output on the fixed [0, 1) grid of TFLite's
// LOGISTIC (scheme.hpp). h-swish, sigmoid and swish are a separate lookup op with their own
// input (the layer's output) and output quantization; sigmoid's output is on the [0, 1) grid.
#pragma once

#include <cstdint>
#include <cstdio>
#include <vector>

#include "edgenas/core/activation.hpp"
#include "edgenas/core/shape.hpp"
#include "edgenas/space/cost.hpp"
#include "edgenas/space/genes.hpp"

namespace edgenas::quant {

enum class LayerKind : unsigned char { conv, depthwise, dense };  // dense: on a [1, 1, C] feature vector

/// Where a layer sits, for messages ("block 3 expand", "stem", "head classifier").
struct LayerName {
  int block = -1;  // −1: stem or head
  const char* part = "";
};

struct Layer {
  LayerKind kind = LayerKind::conv;
  int kernel = 1, stride = 1;
  int in_channels = 0, out_channels = 0;
  Activation clamp = Activation::identity;  // identity, relu, relu6 or hsigmoid (is_fused)
  LayerName name;
  // Offsets of this layer in QuantizedModel::weights (int8), ::biases and ::weight_scales
  // (both one per output channel), and in the float weight blob (weights, then bias).
  std::int64_t weight_offset = 0, channel_offset = 0, float_offset = 0;
  constexpr std::int64_t weight_count() const noexcept {
    if (kind == LayerKind::depthwise) return std::int64_t{kernel} * kernel * out_channels;
    return std::int64_t{out_channels} * kernel * kernel * in_channels;
  }
};

enum class OpKind : unsigned char {
  input,  // the float image quantized once (value 0)
  layer,  // conv / depthwise / dense + bias + clamp: in0 → out
  lookup,  // h-swish, h-sigmoid, sigmoid, swish through a 256-entry table: in0 → out
  pool,    // global average pooling: in0 → out [1, 1, C]
  scale,   // squeeze-and-excitation: in0 [H, W, C] × in1 [1, 1, C] → out
  add,     // residual: in0 + in1 → out
};

struct Op {
  OpKind kind = OpKind::input;
  int in0 = -1, in1 = -1, out = -1;
  int layer = -1;                      // OpKind::layer
  Activation act = Activation::identity;  // OpKind::lookup
  LayerName name;
};

struct Graph {
  std::vector<Shape> values;  // shape of every value (n = 1); value i has activation slot i
  std::vector<Op> ops;
  std::vector<Layer> layers;
  int output = -1;  // the logits
  std::int64_t weight_count = 0, channel_count = 0;

  constexpr int value_count() const noexcept { return static_cast<int>(values.size()); }
};

/// Activations a layer applies itself (a clamp, after folding for h-sigmoid); the others need
/// a lookup op.
constexpr bool is_fused(Activation a) noexcept {
  return a == Activation::identity || a == Activation::relu || a == Activation::relu6 || a == Activation::hsigmoid;
}
/// Whether an op's output has the fixed [0, 1) quantization (h-sigmoid layers, sigmoid lookups).
constexpr bool has_unit_output(const Op& op, const std::vector<Layer>& layers) noexcept {
  if (op.kind == OpKind::lookup) return op.act == Activation::sigmoid;
  return op.kind == OpKind::layer && layers[static_cast<std::size_t>(op.layer)].clamp == Activation::hsigmoid;
}

namespace detail {

class GraphBuilder {
 public:
  Graph g;

  constexpr int value(Shape s) {
    g.values.push_back(s.with_batch(1));
    return static_cast<int>(g.values.size()) - 1;
  }

  // A layer then, unless its activation is a clamp, the lookup that applies it.
  constexpr int layer(int x, LayerKind kind, int kernel, int stride, int out_c, Activation act, LayerName name) {
    const Shape in = g.values[static_cast<std::size_t>(x)];
    Layer l{kind, kernel, stride, in.c, out_c, is_fused(act) ? act : Activation::identity, name,
            g.weight_count, g.channel_count, float_offset_};
    g.weight_count += l.weight_count();
    g.channel_count += out_c;
    float_offset_ += l.weight_count() + out_c;
    g.layers.push_back(l);
    const Shape out = kind == LayerKind::dense ? Shape{1, 1, 1, out_c} : same_window_output(in, stride, out_c);
    const int y = value(out);
    g.ops.push_back({OpKind::layer, x, -1, y, static_cast<int>(g.layers.size()) - 1, Activation::identity, name});
    if (is_fused(act)) return y;
    const int z = value(out);
    g.ops.push_back({OpKind::lookup, y, -1, z, -1, act, name});
    return z;
  }
  constexpr int binary(OpKind kind, int a, int b, Shape out, LayerName name) {
    const int y = value(out);
    g.ops.push_back({kind, a, b, y, -1, Activation::identity, name});
    return y;
  }

 private:
  std::int64_t float_offset_ = 0;
};

}  // namespace detail

/// The int8 operations of a valid `net`, in execution order (constexpr: the compile-time
/// arena and flash figures of quant/footprint.hpp walk it too).
constexpr Graph graph_of(const NetworkView& net) {
  detail::GraphBuilder b;
  int x = b.value(net.input);
  b.g.ops.push_back({OpKind::input, -1, -1, x, -1, Activation::identity, {-1, "input"}});
  x = b.layer(x, LayerKind::conv, net.stem.kernel, net.stem.stride, net.stem.channels, net.stem.act, {-1, "stem"});
  for_each_block(net, [&](std::size_t i, const BlockGene& blk, const BlockShapes& s) {
    const int n = static_cast<int>(i);
    const int in = x;
    int h = x;
    if (blk.expanded != s.in.c) h = b.layer(h, LayerKind::conv, 1, 1, blk.expanded, blk.act, {n, "expand"});
    h = b.layer(h, LayerKind::depthwise, blk.kernel, blk.stride, blk.expanded, blk.act, {n, "depthwise"});
    if (blk.se) {
      const Shape hs = b.g.values[static_cast<std::size_t>(h)];
      const int pooled = b.binary(OpKind::pool, h, -1, {1, 1, 1, blk.expanded}, {n, "SE pool"});
      const int hidden = b.layer(pooled, LayerKind::dense, 1, 1, se_reduced_channels(blk.expanded), Activation::relu,
                                 {n, "SE reduce"});
      const int gate = b.layer(hidden, LayerKind::dense, 1, 1, blk.expanded, Activation::hsigmoid, {n, "SE expand"});
      h = b.binary(OpKind::scale, h, gate, hs, {n, "SE scale"});
    }
    h = b.layer(h, LayerKind::conv, 1, 1, blk.out, Activation::identity, {n, "project"});
    if (has_residual(s.in.c, blk)) h = b.binary(OpKind::add, h, in, s.out, {n, "residual"});
    x = h;
  });
  x = b.layer(x, LayerKind::conv, 1, 1, net.head.channels, net.head.act, {-1, "head conv"});
  x = b.binary(OpKind::pool, x, -1, {1, 1, 1, net.head.channels}, {-1, "head pool"});
  if (net.head.hidden > 0)
    x = b.layer(x, LayerKind::dense, 1, 1, net.head.hidden, net.head.act, {-1, "head hidden"});
  x = b.layer(x, LayerKind::dense, 1, 1, net.head.classes, Activation::identity, {-1, "classifier"});
  b.g.output = x;
  return b.g;
}

/// The int8 operations of `net`, which is checked first.
inline Graph build_graph(const NetworkView& net) {
  validate(net);
  return graph_of(net);
}

/// Where value v is produced (its op's name).
inline LayerName value_name(const Graph& g, int v) noexcept {
  for (const Op& op : g.ops)
    if (op.out == v) return op.name;
  return {-1, "?"};
}

/// "block 3 expand", "stem": a layer's or op's place, for messages.
struct LayerLabel {
  char text[48];
  explicit LayerLabel(LayerName n) noexcept {
    if (n.block >= 0) std::snprintf(text, sizeof text, "block %d %s", n.block, n.part);
    else std::snprintf(text, sizeof text, "%s", n.part);
  }
  const char* c_str() const noexcept { return text; }
};

}  // namespace edgenas::quant
