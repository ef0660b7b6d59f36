// edgenas/quant/model.hpp — an int8 network: genotype, int8 weights, int32 biases, scales.
//
// What model files (version 2), the integer reference, the XNNPACK int8 runtime and the
// exporters share. Made from a float network by quantize(): per-channel symmetric weights
// from the folded float weights, activation quantization from calibrated (or QAT) ranges.
// check() refuses a model that cannot run, naming the layer: wrong counts, scales that are
// zero, negative or NaN, zero points outside int8, requantization shifts out of range.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "edgenas/ops/activation.hpp"  // the one definition of each activation
#include "edgenas/quant/graph.hpp"
#include "edgenas/quant/scheme.hpp"
#include "edgenas/space/genotype.hpp"

namespace edgenas::quant {

struct QuantizedModel {
  Genotype genotype;
  std::vector<std::int8_t> weights;       // every layer's weights, in the float blob's layouts
  std::vector<std::int32_t> biases;       // one per output channel of every layer
  std::vector<float> weight_scales;       // one per output channel of every layer (zero point 0)
  std::vector<QuantParams> activations;   // one per graph value (build_graph order)
  // Input normalisation, as in Model: x = (pixel/255 − mean[c]) / stddev[c]; empty: none.
  std::vector<float> input_mean, input_stddev;
};

/// A calibrated range per graph value.
struct Ranges {
  std::vector<float> lo, hi;
  explicit Ranges(int values = 0)
      : lo(static_cast<std::size_t>(values), 0.0f), hi(static_cast<std::size_t>(values), 0.0f) {}
  void observe(int value, const float* x, std::int64_t n) noexcept {
    float& l = lo[static_cast<std::size_t>(value)];
    float& h = hi[static_cast<std::size_t>(value)];
    for (std::int64_t i = 0; i < n; ++i) l = std::min(l, x[i]), h = std::max(h, x[i]);
  }
};

/// Activation quantization from ranges; sigmoid and h-sigmoid outputs get the fixed [0, 1) grid.
inline std::vector<QuantParams> activation_params(const Graph& g, const Ranges& r) {
  std::vector<QuantParams> p(static_cast<std::size_t>(g.value_count()));
  for (int v = 0; v < g.value_count(); ++v)
    p[static_cast<std::size_t>(v)] = choose_params(r.lo[static_cast<std::size_t>(v)], r.hi[static_cast<std::size_t>(v)]);
  for (const Op& op : g.ops)
    if (has_unit_output(op, g.layers)) p[static_cast<std::size_t>(op.out)] = unit_interval_params;
  return p;
}

/// Requantization multiplier of one output channel of layer l (input scale × weight scale /
/// output scale), checked; a failure names the layer, after `context` (a file name) if given.
inline Multiplier layer_multiplier(const QuantizedModel& m, const Graph& g, const Op& op, int channel,
                                   const char* context = nullptr) {
  const Layer& l = g.layers[static_cast<std::size_t>(op.layer)];
  const double real = static_cast<double>(m.activations[static_cast<std::size_t>(op.in0)].scale) *
                      m.weight_scales[static_cast<std::size_t>(l.channel_offset + channel)] /
                      m.activations[static_cast<std::size_t>(op.out)].scale;
  char what[256];
  std::snprintf(what, sizeof what, "%s%s%s", context ? context : "", context ? ": " : "", LayerLabel(l.name).c_str());
  return quantize_multiplier(real, what);
}

/// Refuses a model that does not fit its genotype or whose numbers cannot run; every message
/// starts with `context` (a file name) and names the layer or value.
inline void check(const QuantizedModel& m, const Graph& g, const char* context = "int8 model") {
  EDGENAS_CHECK(static_cast<std::int64_t>(m.weights.size()) == g.weight_count, Status::corrupt_data,
                "%s: %zu weights, the genotype needs %lld", context, m.weights.size(),
                static_cast<long long>(g.weight_count));
  EDGENAS_CHECK(static_cast<std::int64_t>(m.biases.size()) == g.channel_count &&
                    static_cast<std::int64_t>(m.weight_scales.size()) == g.channel_count,
                Status::corrupt_data, "%s: %zu biases and %zu weight scales, the genotype needs %lld of each", context,
                m.biases.size(), m.weight_scales.size(), static_cast<long long>(g.channel_count));
  EDGENAS_CHECK(static_cast<int>(m.activations.size()) == g.value_count(), Status::corrupt_data,
                "%s: %zu activation quantizations, the genotype has %d int8 tensors", context, m.activations.size(),
                g.value_count());
  for (const Layer& l : g.layers)
    for (int c = 0; c < l.out_channels; ++c) {
      const float s = m.weight_scales[static_cast<std::size_t>(l.channel_offset + c)];
      EDGENAS_CHECK(std::isfinite(s) && s > 0.0f, Status::corrupt_data,
                    "%s: %s channel %d has weight scale %g (must be positive and finite)", context,
                    LayerLabel(l.name).c_str(), c, static_cast<double>(s));
    }
  for (const Op& op : g.ops) {
    const QuantParams& p = m.activations[static_cast<std::size_t>(op.out)];
    EDGENAS_CHECK(valid(p), Status::corrupt_data,
                  "%s: the output of %s has scale %g and zero point %d (need a positive finite scale and a zero "
                  "point in [-128, 127])", context, LayerLabel(op.name).c_str(), static_cast<double>(p.scale),
                  static_cast<int>(p.zero_point));
  }
  for (const Op& op : g.ops)
    if (op.kind == OpKind::layer)
      for (int c = 0; c < g.layers[static_cast<std::size_t>(op.layer)].out_channels; ++c)
        layer_multiplier(m, g, op, c, context);
}

/// Quantizes a float network (folded weights in the inference blob layout) with the given
/// activation quantization: weights per output channel, biases to int32 at s_in · s_w.
inline QuantizedModel quantize(const Genotype& genotype, std::span<const float> folded,
                               std::vector<QuantParams> activations) {
  const Graph g = build_graph(genotype.view());
  EDGENAS_CHECK(static_cast<std::int64_t>(folded.size()) == inference_weight_count(genotype.view()),
                Status::invalid_argument, "quantize: %zu float weights, the genotype needs %lld", folded.size(),
                static_cast<long long>(inference_weight_count(genotype.view())));
  QuantizedModel m;
  m.genotype = genotype;
  m.weights.resize(static_cast<std::size_t>(g.weight_count));
  m.biases.resize(static_cast<std::size_t>(g.channel_count));
  m.weight_scales.resize(static_cast<std::size_t>(g.channel_count));
  m.activations = std::move(activations);
  for (const Op& op : g.ops) {
    if (op.kind != OpKind::layer) continue;
    const Layer& l = g.layers[static_cast<std::size_t>(op.layer)];
    // h-sigmoid layers compute x/6 + 1/2 and clamp it (graph.hpp).
    const bool hsigmoid = l.clamp == Activation::hsigmoid;
    const float w_mul = hsigmoid ? 1.0f / 6.0f : 1.0f, b_add = hsigmoid ? 0.5f : 0.0f;
    const float* wf = folded.data() + l.float_offset;
    const float* bias = wf + l.weight_count();
    const auto w = [&](std::int64_t i) { return wf[i] * w_mul; };
    const float in_scale = m.activations[static_cast<std::size_t>(op.in0)].scale;
    const std::int64_t per_channel = l.weight_count() / l.out_channels;
    // Depthwise weights are [k][k][C] (channel innermost), the others [O][…] (channel outermost).
    const auto at = [&](int c, std::int64_t i) {
      return l.kind == LayerKind::depthwise ? i * l.out_channels + c : c * per_channel + i;
    };
    for (int c = 0; c < l.out_channels; ++c) {
      float max_abs = 0.0f;
      for (std::int64_t i = 0; i < per_channel; ++i) max_abs = std::max(max_abs, std::abs(w(at(c, i))));
      const float s = weight_scale(max_abs);
      m.weight_scales[static_cast<std::size_t>(l.channel_offset + c)] = s;
      for (std::int64_t i = 0; i < per_channel; ++i) {
        const float q = std::nearbyint(w(at(c, i)) / s);
        m.weights[static_cast<std::size_t>(l.weight_offset + at(c, i))] =
            static_cast<std::int8_t>(std::clamp(q, -float{weight_qmax}, float{weight_qmax}));
      }
      const double b = std::nearbyint((static_cast<double>(bias[c]) * w_mul + b_add) / (static_cast<double>(in_scale) * s));
      m.biases[static_cast<std::size_t>(l.channel_offset + c)] =
          static_cast<std::int32_t>(std::clamp(b, -2147483648.0, 2147483647.0));
    }
  }
  check(m, g);
  return m;
}

/// The 256-entry table of an activation from `in` to `out` quantization (built once, before
/// inference; inference itself only indexes it).
inline void lookup_table(Activation act, const QuantParams& in, const QuantParams& out, std::int8_t* table) {
  for (int q = qmin; q <= qmax; ++q) {
    const float y = ops::activate(act, dequantize(q, in));
    table[q - qmin] = quantize(y, out);
  }
}

}  // namespace edgenas::quant
