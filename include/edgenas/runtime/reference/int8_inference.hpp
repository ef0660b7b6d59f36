// edgenas/runtime/reference/int8_inference.hpp — an int8 network run by the integer reference
// kernels: the image is quantized once, everything after is int8/int32 arithmetic.
//
// Preparation (the constructor) checks the model and turns scales into fixed-point
// multipliers and lookup tables; run() then touches no float until the caller dequantizes the
// logits. Every value is kept, so tests compare any intermediate tensor with another runtime.
// (Host-side ground truth: each value has its own buffer. A static arena is the firmware's.)
#pragma once

#include <array>
#include <span>
#include <vector>

#include "edgenas/quant/model.hpp"
#include "edgenas/runtime/reference/int8_kernels.hpp"

namespace edgenas::reference {

namespace int8 {
/// Requantization multipliers as the kernels read them: values and shifts in two arrays.
struct Multipliers {
  std::vector<std::int32_t> values;
  std::vector<std::int8_t> shifts;
  void push_back(quant::Multiplier m) {
    values.push_back(m.m);
    shifts.push_back(static_cast<std::int8_t>(m.shift));  // within [min_shift, max_shift]
  }
  quant::Multiplier operator[](std::size_t i) const { return {values[i], shifts[i]}; }
  std::size_t size() const noexcept { return values.size(); }
};
}  // namespace int8

class Int8Network {
 public:
  explicit Int8Network(quant::QuantizedModel model) : model_(std::move(model)), graph_(quant::build_graph(model_.genotype.view())) {
    quant::check(model_, graph_);
    values_.resize(static_cast<std::size_t>(graph_.value_count()));
    for (int v = 0; v < graph_.value_count(); ++v)
      values_[static_cast<std::size_t>(v)].resize(static_cast<std::size_t>(graph_.values[static_cast<std::size_t>(v)].size()));
    prepared_.resize(graph_.ops.size());
    for (std::size_t i = 0; i < graph_.ops.size(); ++i) prepare(graph_.ops[i], prepared_[i]);
  }

  const quant::QuantizedModel& model() const noexcept { return model_; }
  const quant::Graph& graph() const noexcept { return graph_; }

  /// Runs one normalised float image [H][W][C] (as the float network takes it).
  void run(std::span<const float> image) {
    const Shape in = graph_.values[0];
    EDGENAS_CHECK(static_cast<std::int64_t>(image.size()) == in.size(), Status::invalid_shape,
                  "int8 reference: image has %zu values, the network takes %dx%dx%d", image.size(), in.h, in.w, in.c);
    for (std::size_t i = 0; i < graph_.ops.size(); ++i) execute(graph_.ops[i], prepared_[i], image);
  }

  /// Runs op i of graph() alone on the values as they are (value() / set_value()): how another
  /// runtime's every op is checked against the reference on that runtime's own inputs.
  void run_op(std::size_t i) { execute(graph_.ops.at(i), prepared_[i], {}); }
  void set_value(int v, std::span<const std::int8_t> x) {
    auto& d = values_[static_cast<std::size_t>(v)];
    EDGENAS_CHECK(x.size() == d.size(), Status::invalid_shape, "int8 reference: value %d has %zu elements, got %zu", v,
                  d.size(), x.size());
    std::copy(x.begin(), x.end(), d.begin());
  }

  /// Value v of the last run (graph order; quantized with model().activations[v]).
  std::span<const std::int8_t> value(int v) const { return values_[static_cast<std::size_t>(v)]; }
  std::span<const std::int8_t> logits() const { return value(graph_.output); }
  float logit(int c) const {
    return quant::dequantize(logits()[static_cast<std::size_t>(c)], model_.activations[static_cast<std::size_t>(graph_.output)]);
  }
  int predicted_class() const {
    const auto l = logits();
    return static_cast<int>(std::max_element(l.begin(), l.end()) - l.begin());
  }

  /// What op i needs besides its inputs, worked out once from the scales (static_plan.hpp
  /// turns these into a firmware's constexpr tables).
  struct Prepared {
    int8::Multipliers multipliers;              // layer: per output channel; pool/scale: one
    std::array<std::int8_t, 256> table{};       // lookup
    int8::AddParams add;
    int8::Requantization requantization;  // layer: zero points and clamp (multipliers set at run time)
  };
  const Prepared& prepared(std::size_t op) const { return prepared_.at(op); }

 private:
  const quant::QuantParams& params(int v) const { return model_.activations[static_cast<std::size_t>(v)]; }
  std::int8_t* data(int v) { return values_[static_cast<std::size_t>(v)].data(); }
  Shape shape(int v) const { return graph_.values[static_cast<std::size_t>(v)]; }

  void prepare(const quant::Op& op, Prepared& p) {
    const quant::LayerLabel label(op.name);
    switch (op.kind) {
      case quant::OpKind::input: break;
      case quant::OpKind::layer: {
        const quant::Layer& l = graph_.layers[static_cast<std::size_t>(op.layer)];
        for (int c = 0; c < l.out_channels; ++c) p.multipliers.push_back(quant::layer_multiplier(model_, graph_, op, c));
        const quant::QuantParams& out = params(op.out);
        std::int32_t lo = quant::qmin, hi = quant::qmax;
        if (l.clamp != Activation::identity) lo = std::max(lo, out.zero_point);  // relu, relu6, hsigmoid: ≥ 0
        const float top = l.clamp == Activation::relu6 ? 6.0f : 1.0f;  // relu6, hsigmoid (folded): ≤ top
        if (l.clamp == Activation::relu6 || l.clamp == Activation::hsigmoid)
          hi = std::min<std::int32_t>(hi, out.zero_point + static_cast<std::int32_t>(std::min(std::nearbyint(top / out.scale), 255.0f)));
        p.requantization = {params(op.in0).zero_point, nullptr, nullptr, out.zero_point, lo, hi};
        break;
      }
      case quant::OpKind::lookup: quant::lookup_table(op.act, params(op.in0), params(op.out), p.table.data()); break;
      case quant::OpKind::pool:
        p.multipliers.push_back(quant::quantize_multiplier(
            static_cast<double>(params(op.in0).scale) / (static_cast<double>(shape(op.in0).pixels()) * params(op.out).scale),
            label.c_str()));
        break;
      case quant::OpKind::scale:
        p.multipliers.push_back(quant::quantize_multiplier(
            static_cast<double>(params(op.in0).scale) * params(op.in1).scale / params(op.out).scale, label.c_str()));
        break;
      case quant::OpKind::add: p.add = int8::AddParams::make(params(op.in0), params(op.in1), params(op.out), label.c_str()); break;
    }
  }

  void execute(const quant::Op& op, Prepared& p, std::span<const float> image) {
    std::int8_t* y = data(op.out);
    switch (op.kind) {
      case quant::OpKind::input:
        for (std::size_t i = 0; i < image.size(); ++i) y[i] = quant::quantize(image[i], params(op.out));
        break;
      case quant::OpKind::layer: {
        const quant::Layer& l = graph_.layers[static_cast<std::size_t>(op.layer)];
        const std::int8_t* w = model_.weights.data() + l.weight_offset;
        const std::int32_t* b = model_.biases.data() + l.channel_offset;
        p.requantization.multipliers = p.multipliers.values.data();
        p.requantization.shifts = p.multipliers.shifts.data();
        const Shape in = shape(op.in0), out = shape(op.out);
        if (l.kind == quant::LayerKind::depthwise)
          int8::depthwise(data(op.in0), in, w, b, l.kernel, l.stride, p.requantization, y, out);
        else if (l.kernel == 1 && l.stride == 1)
          int8::pointwise(data(op.in0), in.pixels(), in.c, w, b, l.out_channels, p.requantization, y);
        else
          int8::conv2d(data(op.in0), in, w, b, l.kernel, l.stride, p.requantization, y, out);
        break;
      }
      case quant::OpKind::lookup: int8::lookup(data(op.in0), shape(op.out).size(), p.table.data(), y); break;
      case quant::OpKind::pool:
        int8::global_average_pool(data(op.in0), shape(op.in0).pixels(), shape(op.in0).c, params(op.in0).zero_point,
                                  p.multipliers[0], params(op.out).zero_point, y);
        break;
      case quant::OpKind::scale:
        int8::scale_channels(data(op.in0), shape(op.in0).pixels(), shape(op.in0).c, params(op.in0).zero_point,
                             data(op.in1), params(op.in1).zero_point, p.multipliers[0], params(op.out).zero_point, y);
        break;
      case quant::OpKind::add: int8::add(data(op.in0), data(op.in1), shape(op.out).size(), p.add, y); break;
    }
  }

  quant::QuantizedModel model_;
  quant::Graph graph_;
  std::vector<std::vector<std::int8_t>> values_;
  std::vector<Prepared> prepared_;
};

}  // namespace edgenas::reference
