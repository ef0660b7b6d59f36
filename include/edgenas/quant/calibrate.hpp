// edgenas/quant/calibrate.hpp — post-training calibration: run the float network over sample
// images, op by op as the int8 graph runs it, and record every value's range.
//
// The float pass uses the reference kernels on the folded weights, so the ranges are those of
// exactly the tensors the int8 network quantizes (including the pre-activation values of
// h-swish and the insides of squeeze-and-excitation, which the trainer's layers fuse away).
#pragma once

#include <span>
#include <vector>

#include "edgenas/quant/model.hpp"
#include "edgenas/runtime/reference/kernels.hpp"

namespace edgenas::quant {

/// The int8 graph evaluated in float32 (the ranges' source, and the float side of tests).
class FloatGraph {
 public:
  FloatGraph(const Genotype& genotype, std::span<const float> folded)
      : graph_(build_graph(genotype.view())), weights_(folded.begin(), folded.end()) {
    EDGENAS_CHECK(static_cast<std::int64_t>(folded.size()) == inference_weight_count(genotype.view()),
                  Status::invalid_argument, "calibration: %zu float weights, the genotype needs %lld", folded.size(),
                  static_cast<long long>(inference_weight_count(genotype.view())));
    for (const Shape& s : graph_.values) values_.emplace_back(static_cast<std::size_t>(s.size()));
  }

  const Graph& graph() const noexcept { return graph_; }
  std::span<const float> value(int v) const { return values_[static_cast<std::size_t>(v)]; }

  /// One normalised image [H][W][C].
  void run(std::span<const float> image) {
    EDGENAS_CHECK(image.size() == values_[0].size(), Status::invalid_shape,
                  "calibration: image has %zu values, the network takes %zu", image.size(), values_[0].size());
    for (const Op& op : graph_.ops) execute(op, image);
  }

 private:
  float* data(int v) { return values_[static_cast<std::size_t>(v)].data(); }
  Shape shape(int v) const { return graph_.values[static_cast<std::size_t>(v)]; }

  void execute(const Op& op, std::span<const float> image) {
    namespace k = reference::kernels;
    float* y = data(op.out);
    const std::int64_t n = shape(op.out).size();
    switch (op.kind) {
      case OpKind::input: std::copy(image.begin(), image.end(), y); break;
      case OpKind::layer: {
        const Layer& l = graph_.layers[static_cast<std::size_t>(op.layer)];
        const float* w = weights_.data() + l.float_offset;
        const float* b = w + l.weight_count();
        const Shape in = shape(op.in0);
        if (l.kind == LayerKind::depthwise) k::depthwise(data(op.in0), in, w, b, l.kernel, l.stride, y, shape(op.out));
        else if (l.kernel == 1 && l.stride == 1) k::pointwise(data(op.in0), in.pixels(), in.c, w, b, l.out_channels, y);
        else k::conv2d(data(op.in0), in, w, b, l.kernel, l.stride, y, shape(op.out));
        k::activate(l.clamp, y, n);
        break;
      }
      case OpKind::lookup:
        std::copy_n(data(op.in0), n, y);
        k::activate(op.act, y, n);
        break;
      case OpKind::pool: k::global_average_pool(data(op.in0), shape(op.in0).pixels(), shape(op.in0).c, y); break;
      case OpKind::scale: {
        const float* x = data(op.in0);
        const float* gate = data(op.in1);
        const int C = shape(op.out).c;
        for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] * gate[i % C];
        break;
      }
      case OpKind::add: {
        const float* a = data(op.in0);
        const float* b = data(op.in1);
        for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
        break;
      }
    }
  }

  Graph graph_;
  std::vector<float> weights_;
  std::vector<std::vector<float>> values_;
};

/// Min/max of every int8 value over `count` normalised images stored one after another.
inline Ranges calibrate(const Genotype& genotype, std::span<const float> folded, std::span<const float> images,
                        std::int64_t count) {
  FloatGraph net(genotype, folded);
  const std::int64_t per_image = genotype.input.per_image();
  EDGENAS_CHECK(count >= 1 && static_cast<std::int64_t>(images.size()) == count * per_image, Status::invalid_argument,
                "calibration: %zu values for %lld images of %lld values", images.size(), static_cast<long long>(count),
                static_cast<long long>(per_image));
  Ranges r(net.graph().value_count());
  for (std::int64_t i = 0; i < count; ++i) {
    net.run(images.subspan(static_cast<std::size_t>(i * per_image), static_cast<std::size_t>(per_image)));
    for (int v = 0; v < net.graph().value_count(); ++v) {
      const auto x = net.value(v);
      EDGENAS_CHECK(std::all_of(x.begin(), x.end(), [](float f) { return std::isfinite(f); }), Status::numerical_error,
                    "calibration: image %lld gives a non-finite value at %s", static_cast<long long>(i),
                    LayerLabel(value_name(net.graph(), v)).c_str());
      r.observe(v, x.data(), static_cast<std::int64_t>(x.size()));
    }
  }
  return r;
}

/// Post-training quantization: calibrate on `images`, then quantize.
inline QuantizedModel quantize_post_training(const Genotype& genotype, std::span<const float> folded,
                                             std::span<const float> images, std::int64_t count) {
  const Ranges r = calibrate(genotype, folded, images, count);
  return quantize(genotype, folded, activation_params(build_graph(genotype.view()), r));
}

}  // namespace edgenas::quant
