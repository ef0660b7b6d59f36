// edgenas/runtime/reference/int8_static.hpp — an int8 network run from constant tables in one
// static arena: what firmware compiles (a deploy header: no heap, no Eigen, no threads, no
// exceptions needed).
//
// `edgenas export --precision int8 --header` (quant/static_plan.hpp on the host) writes the
// tables: the ops in order, each with its shapes, where its inputs and output sit in the arena
// (byte offsets worked out on the host so that values alive at once never overlap; an
// elementwise op may write over an input that dies with it), and offsets into the int8
// weights, int32 biases, fixed-point multipliers and 256-entry lookup tables. run() is the
// integer reference's arithmetic (int8_kernels.hpp), so logits equal reference::Int8Network's
// bit for bit.
#pragma once

#include <cstdint>
#include <span>

#include "edgenas/runtime/reference/int8_kernels.hpp"

namespace edgenas::reference::int8 {

enum class Step : std::uint8_t { conv, depthwise, pointwise, lookup, pool, scale, add };

/// One step of the network, 40 bytes of flash: shapes in 16 bits, zero points and clamps in 8
/// (the scheme's range), arena and table offsets in 32. A residual add's parameters sit in
/// StaticNetwork::adds, so the other steps do not carry them.
struct StaticOp {
  Step step = Step::conv;
  std::uint8_t kernel = 1, stride = 1;
  std::int8_t in0_zero = 0, in1_zero = 0, out_zero = 0;
  std::int8_t lo = quant::qmin, hi = quant::qmax;  // layers: the fused activation's clamp
  std::int16_t in_h = 0, in_w = 0, in_c = 0;       // the first input's shape
  std::int16_t out_h = 0, out_w = 0, out_c = 0;
  std::int32_t in0 = 0, in1 = 0, at = 0;  // byte offsets in the arena of the inputs and the output
  std::int32_t weights = 0;               // layers: offset into weights; lookup: into tables
  // Layers: offset into biases and multipliers; pool, scale: into multipliers; add: into adds.
  std::int32_t channels = 0;

  constexpr Shape in() const noexcept { return {1, in_h, in_w, in_c}; }
  constexpr Shape out() const noexcept { return {1, out_h, out_w, out_c}; }
};

/// An int8 network's constant tables, as an exported header declares them.
struct StaticNetwork {
  std::span<const StaticOp> ops;
  const std::int8_t* weights;
  const std::int32_t* biases;
  const std::int32_t* multipliers;  // requantization multipliers' values …
  const std::int8_t* shifts;        // … and shifts
  const std::int8_t* tables;
  const AddParams* adds;
  quant::QuantParams input, output;  // of the quantized image and of the logits
  std::int32_t input_at, output_at;  // their byte offsets in the arena
  std::int32_t classes;
};

/// Runs one normalised float image (H·W·C, NHWC) through `net` in `arena` (at least the
/// exported arena_bytes); the int8 logits are left at arena + net.output_at.
inline void run(const StaticNetwork& net, const float* image, std::int8_t* arena) noexcept {
  const std::int64_t pixels = net.ops[0].in().size();
  for (std::int64_t i = 0; i < pixels; ++i) arena[net.input_at + i] = quant::quantize(image[i], net.input);
  for (const StaticOp& op : net.ops) {
    const Shape in = op.in(), out = op.out();
    const std::int8_t* x = arena + op.in0;
    std::int8_t* y = arena + op.at;
    const Requantization r{op.in0_zero, net.multipliers + op.channels, net.shifts + op.channels, op.out_zero, op.lo,
                           op.hi};
    const quant::Multiplier one{net.multipliers[op.channels], net.shifts[op.channels]};  // pool, scale
    switch (op.step) {
      case Step::conv:
        conv2d(x, in, net.weights + op.weights, net.biases + op.channels, op.kernel, op.stride, r, y, out);
        break;
      case Step::depthwise:
        depthwise(x, in, net.weights + op.weights, net.biases + op.channels, op.kernel, op.stride, r, y, out);
        break;
      case Step::pointwise:
        pointwise(x, in.pixels(), in.c, net.weights + op.weights, net.biases + op.channels, out.c, r, y);
        break;
      case Step::lookup:
        lookup(x, out.size(), net.tables + op.weights, y);
        break;
      case Step::pool:
        global_average_pool(x, in.pixels(), in.c, op.in0_zero, one, op.out_zero, y);
        break;
      case Step::scale:
        scale_channels(x, in.pixels(), in.c, op.in0_zero, arena + op.in1, op.in1_zero, one, op.out_zero, y);
        break;
      case Step::add:
        add(x, arena + op.in1, out.size(), net.adds[op.channels], y);
        break;
    }
  }
}

/// The most likely class of one normalised float image.
inline int predict(const StaticNetwork& net, const float* image, std::int8_t* arena) noexcept {
  run(net, image, arena);
  const std::int8_t* logits = arena + net.output_at;
  int best = 0;
  for (int k = 1; k < net.classes; ++k)
    if (logits[k] > logits[best]) best = k;
  return best;
}

}  // namespace edgenas::reference::int8
