// edgenas/runtime/xnnpack/int8_runtime.hpp — an int8 network (quant/model.hpp) as XNNPACK
// qint8/qcint8 subgraphs.
//
// Mapping (Debian 12's XNNPACK, ae108ef):
//   layer          convolution_2d / depthwise_convolution_2d on qint8 activations with qcint8
//                  per-channel weights and qcint32 biases (fully-connected layers are 1×1
//                  convolutions on [N, 1, 1, C], which take per-channel weights); ReLU, ReLU6
//                  and folded h-sigmoid are the node's output clamp
//   pool           global_average_pooling_2d (qint8)
//   SE scale       multiply2, broadcast [N, H, W, C] × [N, 1, 1, C]
//   residual       add2
//   lookup         h-swish, sigmoid, swish: XNNPACK ae108ef has no qint8 h-swish (nor a lookup
//                  node), so the subgraph is cut there and the 256-entry table of the integer
//                  reference runs between two XNNPACK runtimes (docs/quantization.md measures
//                  this against composing h-swish from XNNPACK nodes).
// The input image is quantized once on the host, as in the reference.
//
// Segmentation::per_op makes every op its own runtime with every value on the host: slower,
// but each op's output can be checked against the integer reference on the same input.
#pragma once

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgenas/core/rng.hpp"

#include "edgenas/quant/model.hpp"
#include "edgenas/runtime/reference/int8_kernels.hpp"  // the lookup between segments
#include "edgenas/runtime/xnnpack/runtime.hpp"  // detail::check, detail::initialize

namespace edgenas::xnnpack {

enum class Segmentation { fused, per_op };

/// Ops [first, last) of a graph (what a latency table times of a piece).
struct OpRange {
  std::size_t first = 0, last = static_cast<std::size_t>(-1);  // default: the whole graph
};

/// A piece of `g` (runtime.hpp) as a genotype whose int8 graph holds it, and the ops that are
/// the piece: a block or the head is preceded by a 1×1 identity stem that gives it its input.
struct Int8Piece {
  Genotype genotype;
  OpRange ops;
};

inline Int8Piece int8_piece(const Genotype& g, const Piece& piece) {
  if (piece.kind == Piece::Kind::network) return {g, {}};
  Int8Piece p{g, {}};
  if (piece.kind != Piece::Kind::stem) {
    p.genotype.input = piece.input.with_batch(1);
    p.genotype.stem = {piece.input.c, 1, 1, Activation::identity};
    p.genotype.blocks.clear();
    if (piece.kind == Piece::Kind::block) p.genotype.blocks.push_back(piece.block);
  }
  const quant::Graph graph = quant::build_graph(p.genotype.view());
  const auto in_piece = [&](const quant::Op& op) {
    switch (piece.kind) {
      case Piece::Kind::stem: return op.name.block < 0 && std::string_view(op.name.part) == "stem";
      case Piece::Kind::block: return op.name.block == 0;
      default: return op.name.block < 0 && op.kind != quant::OpKind::input && std::string_view(op.name.part) != "stem";
    }
  };
  p.ops.first = graph.ops.size(), p.ops.last = 0;
  for (std::size_t i = 0; i < graph.ops.size(); ++i)
    if (in_piece(graph.ops[i])) p.ops.first = std::min(p.ops.first, i), p.ops.last = i + 1;
  return p;
}

/// An int8 model of `g` with random weights and plausible scales (latency does not depend on
/// the values).
inline quant::QuantizedModel random_int8_model(const Genotype& g, std::uint64_t seed) {
  const quant::Graph graph = quant::build_graph(g.view());
  quant::QuantizedModel m;
  m.genotype = g;
  Rng rng(seed);
  m.weights.resize(static_cast<std::size_t>(graph.weight_count));
  for (auto& w : m.weights) w = static_cast<std::int8_t>(rng.between(-127, 127));
  m.biases.resize(static_cast<std::size_t>(graph.channel_count));
  for (auto& b : m.biases) b = rng.between(-1000, 1000);
  m.weight_scales.assign(static_cast<std::size_t>(graph.channel_count), 0.002f);
  m.activations.assign(static_cast<std::size_t>(graph.value_count()), {0.05f, 0});
  for (const quant::Op& op : graph.ops)
    if (quant::has_unit_output(op, graph.layers)) m.activations[static_cast<std::size_t>(op.out)] = quant::unit_interval_params;
  return m;
}

class Int8Runtime {
 public:
  /// The whole network (or, with `ops`, those ops of its graph: a latency table's piece).
  Int8Runtime(quant::QuantizedModel model, int threads = 1, int batch = 1, Segmentation mode = Segmentation::fused,
              OpRange ops = {})
      : model_(std::move(model)), graph_(quant::build_graph(model_.genotype.view())), batch_(batch) {
    quant::check(model_, graph_);
    range_ = {ops.first, std::min(ops.last, graph_.ops.size())};
    EDGENAS_CHECK(range_.first < range_.last, Status::invalid_argument, "xnnpack::Int8Runtime: empty op range [%zu, %zu)",
                  range_.first, range_.last);
    entry_ = range_.first == 0 ? 0 : graph_.ops[range_.first].in0;
    exit_ = graph_.ops[range_.last - 1].out;
    EDGENAS_CHECK(threads >= 1 && batch >= 1, Status::invalid_argument, "xnnpack::Int8Runtime: threads %d, batch %d",
                  threads, batch);
    detail::initialize();
    pool_ = detail::make_pool(threads);
    for (std::size_t i = range_.first; i < range_.last; ++i)
      if (const quant::Op& op = graph_.ops[i]; op.kind == quant::OpKind::lookup) {
        auto& t = tables_.emplace_back();
        quant::lookup_table(op.act, params(op.in0), params(op.out), t.data());
      }
    plan(mode);
    for (Segment& s : segments_) build(s);
  }
  ~Int8Runtime() {
    for (Segment& s : segments_)
      if (s.runtime) xnn_delete_runtime(s.runtime);
    if (pool_) pthreadpool_destroy(pool_);
  }
  Int8Runtime(const Int8Runtime&) = delete;
  Int8Runtime& operator=(const Int8Runtime&) = delete;

  const quant::QuantizedModel& model() const noexcept { return model_; }
  const quant::Graph& graph() const noexcept { return graph_; }
  int batch() const noexcept { return batch_; }
  /// XNNPACK runtimes the network was cut into.
  int segment_count() const noexcept { return static_cast<int>(segments_.size()); }

  /// Runs `batch` normalised float images [N][H][W][C].
  void run(std::span<const float> images) {
    EDGENAS_CHECK(entry_ == 0, Status::invalid_argument, "xnnpack::Int8Runtime: run() takes images; this runtime is a piece");
    const std::int64_t n = graph_.values[0].size() * batch_;
    EDGENAS_CHECK(static_cast<std::int64_t>(images.size()) == n, Status::invalid_shape,
                  "xnnpack::Int8Runtime: %zu input values, the runtime takes %lld", images.size(), static_cast<long long>(n));
    std::int8_t* x = host(0);
    for (std::int64_t i = 0; i < n; ++i) x[i] = quant::quantize(images[static_cast<std::size_t>(i)], params(0));
    invoke();
  }

  /// Runs from the quantized input already in input() (what a latency measurement times).
  void invoke() {
    for (const Step& s : steps_) {
      if (s.segment >= 0) {
        detail::check(xnn_invoke_runtime(segments_[static_cast<std::size_t>(s.segment)].runtime), "xnn_invoke_runtime",
                      "an int8 segment");
        continue;
      }
      const quant::Op& op = graph_.ops[static_cast<std::size_t>(s.op)];
      reference::int8::lookup(host(op.in0), size(op.out), tables_[s.table].data(), host(op.out));
    }
  }

  /// The quantized input buffer [batch][H][W][C] of the network or piece (params:
  /// model().activations of its value).
  std::span<std::int8_t> input() { return {host(entry_), static_cast<std::size_t>(size(entry_))}; }
  /// Value v of the last run when it lives on the host (every value with Segmentation::per_op;
  /// with fused, the input, the lookups' inputs and outputs and the logits). Empty otherwise.
  std::span<const std::int8_t> value(int v) const {
    const auto& b = host_[static_cast<std::size_t>(v)];
    return b.empty() ? std::span<const std::int8_t>{} : std::span<const std::int8_t>(b.data(), static_cast<std::size_t>(size(v)));
  }
  std::span<const std::int8_t> logits() const { return value(graph_.output); }
  float logit(int image, int c) const {
    return quant::dequantize(logits()[static_cast<std::size_t>(image * model_.genotype.head.classes + c)], params(graph_.output));
  }
  int predicted_class(int image) const {
    const auto l = logits().subspan(static_cast<std::size_t>(image * model_.genotype.head.classes),
                                    static_cast<std::size_t>(model_.genotype.head.classes));
    return static_cast<int>(std::max_element(l.begin(), l.end()) - l.begin());
  }

 private:
  struct Segment {
    std::vector<int> ops;
    std::vector<int> externals;  // values bound from host buffers, in external-id order
    std::unique_ptr<xnn_subgraph, void (*)(xnn_subgraph*)> subgraph{nullptr, [](xnn_subgraph* s) { xnn_delete_subgraph(s); }};
    xnn_runtime_t runtime = nullptr;
    std::vector<std::uint32_t> ids;  // subgraph value id per graph value (XNN_INVALID_VALUE_ID: not here)
  };
  struct Step {
    int segment = -1;  // ≥ 0: invoke that runtime; −1: the host lookup op `op` with table `table`
    int op = -1;
    std::size_t table = 0;
  };

  const quant::QuantParams& params(int v) const { return model_.activations[static_cast<std::size_t>(v)]; }
  std::int64_t size(int v) const { return graph_.values[static_cast<std::size_t>(v)].size() * batch_; }
  std::int8_t* host(int v) { return host_[static_cast<std::size_t>(v)].data(); }
  const std::int8_t* host(int v) const { return host_[static_cast<std::size_t>(v)].data(); }
  Shape shape(int v) const { return graph_.values[static_cast<std::size_t>(v)].with_batch(batch_); }

  // Cuts the op list into XNNPACK segments and host lookups; values that cross a cut get a
  // host buffer.
  void plan(Segmentation mode) {
    const std::size_t values = static_cast<std::size_t>(graph_.value_count());
    std::vector<int> segment_of(values, -1);  // producing segment (−1: the host)
    std::vector<bool> on_host(values, false);
    on_host[static_cast<std::size_t>(entry_)] = on_host[static_cast<std::size_t>(exit_)] = true;
    std::size_t table = 0;
    for (std::size_t i = range_.first; i < range_.last; ++i) {
      const quant::Op& op = graph_.ops[i];
      if (op.kind == quant::OpKind::input) continue;
      if (op.kind == quant::OpKind::lookup) {
        on_host[static_cast<std::size_t>(op.in0)] = on_host[static_cast<std::size_t>(op.out)] = true;
        steps_.push_back({-1, static_cast<int>(i), table++});
        continue;
      }
      if (mode == Segmentation::per_op || steps_.empty() || steps_.back().segment < 0) {
        steps_.push_back({static_cast<int>(segments_.size()), -1, 0});
        segments_.emplace_back();
      }
      const int s = steps_.back().segment;
      segments_[static_cast<std::size_t>(s)].ops.push_back(static_cast<int>(i));
      segment_of[static_cast<std::size_t>(op.out)] = s;
      for (int in : {op.in0, op.in1})
        if (in >= 0 && segment_of[static_cast<std::size_t>(in)] != s) on_host[static_cast<std::size_t>(in)] = true;
      if (mode == Segmentation::per_op) on_host[static_cast<std::size_t>(op.out)] = true;
    }
    host_.resize(values);
    for (std::size_t v = 0; v < values; ++v)
      if (on_host[v]) host_[v].resize(static_cast<std::size_t>(size(static_cast<int>(v))) + XNN_EXTRA_BYTES);
    for (Segment& seg : segments_) {
      for (int o : seg.ops) {
        const quant::Op& op = graph_.ops[static_cast<std::size_t>(o)];
        for (int v : {op.in0, op.in1, op.out})
          if (v >= 0 && on_host[static_cast<std::size_t>(v)] &&
              std::find(seg.externals.begin(), seg.externals.end(), v) == seg.externals.end())
            seg.externals.push_back(v);
      }
    }
  }

  std::uint32_t activation(Segment& seg, int v, const std::string& layer) {
    std::uint32_t& id = seg.ids[static_cast<std::size_t>(v)];
    if (id != XNN_INVALID_VALUE_ID) return id;
    const auto ext = std::find(seg.externals.begin(), seg.externals.end(), v);
    std::uint32_t external_id = XNN_INVALID_VALUE_ID, flags = 0;
    if (ext != seg.externals.end()) {
      external_id = static_cast<std::uint32_t>(ext - seg.externals.begin());
      bool produced_here = false;
      for (int o : seg.ops) produced_here |= graph_.ops[static_cast<std::size_t>(o)].out == v;
      flags = produced_here ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : XNN_VALUE_FLAG_EXTERNAL_INPUT;
    }
    const Shape s = shape(v);
    const std::size_t dims[4] = {static_cast<std::size_t>(s.n), static_cast<std::size_t>(s.h),
                                 static_cast<std::size_t>(s.w), static_cast<std::size_t>(s.c)};
    detail::check(xnn_define_quantized_tensor_value(seg.subgraph.get(), xnn_datatype_qint8, params(v).zero_point,
                                                    params(v).scale, 4, dims, nullptr, external_id, flags, &id),
                  "xnn_define_quantized_tensor_value", layer);
    return id;
  }

  // Output range of a layer's clamp, in real values.
  static std::pair<float, float> clamp_range(Activation a) {
    constexpr float inf = std::numeric_limits<float>::infinity();
    switch (a) {
      case Activation::relu: return {0.0f, inf};
      case Activation::relu6: return {0.0f, 6.0f};
      case Activation::hsigmoid: return {0.0f, 1.0f};  // folded into the weights (graph.hpp)
      default: return {-inf, inf};
    }
  }

  void define_layer(Segment& seg, const quant::Op& op, const std::string& name) {
    const quant::Layer& l = graph_.layers[static_cast<std::size_t>(op.layer)];
    const std::uint32_t x = activation(seg, op.in0, name), y = activation(seg, op.out, name);
    const float* w_scales = model_.weight_scales.data() + l.channel_offset;
    auto& bias_scales = owned_scales_.emplace_back(static_cast<std::size_t>(l.out_channels));
    for (int c = 0; c < l.out_channels; ++c) bias_scales[static_cast<std::size_t>(c)] = params(op.in0).scale * w_scales[c];
    const bool dw = l.kind == quant::LayerKind::depthwise;
    const auto k = static_cast<std::size_t>(l.kernel), O = static_cast<std::size_t>(l.out_channels),
               I = static_cast<std::size_t>(l.in_channels);
    const std::size_t w_dims_dw[4] = {1, k, k, O}, w_dims[4] = {O, k, k, I}, b_dims[1] = {O};
    std::uint32_t w = 0, b = 0;
    detail::check(xnn_define_channelwise_quantized_tensor_value(seg.subgraph.get(), xnn_datatype_qcint8, w_scales, 4,
                                                                dw ? 3 : 0, dw ? w_dims_dw : w_dims,
                                                                model_.weights.data() + l.weight_offset,
                                                                XNN_INVALID_VALUE_ID, 0, &w),
                  "xnn_define_channelwise_quantized_tensor_value (weights)", name);
    detail::check(xnn_define_channelwise_quantized_tensor_value(seg.subgraph.get(), xnn_datatype_qcint32,
                                                                bias_scales.data(), 1, 0, b_dims,
                                                                model_.biases.data() + l.channel_offset,
                                                                XNN_INVALID_VALUE_ID, 0, &b),
                  "xnn_define_channelwise_quantized_tensor_value (bias)", name);
    const auto [lo, hi] = clamp_range(l.clamp);
    const Shape in = shape(op.in0);
    const auto ph = static_cast<std::uint32_t>(same_padding_total(in.h, l.kernel, l.stride));
    const auto pw = static_cast<std::uint32_t>(same_padding_total(in.w, l.kernel, l.stride));
    const auto s = static_cast<std::uint32_t>(l.stride), kk = static_cast<std::uint32_t>(l.kernel);
    if (dw)
      detail::check(xnn_define_depthwise_convolution_2d(seg.subgraph.get(), ph / 2, pw - pw / 2, ph - ph / 2, pw / 2, kk, kk,
                                                        s, s, 1, 1, 1, I, lo, hi, x, w, b, y, 0),
                    "xnn_define_depthwise_convolution_2d", name);
    else
      detail::check(xnn_define_convolution_2d(seg.subgraph.get(), ph / 2, pw - pw / 2, ph - ph / 2, pw / 2, kk, kk, s, s,
                                              1, 1, 1, I, O, lo, hi, x, w, b, y, 0),
                    "xnn_define_convolution_2d", name);
  }

  void build(Segment& seg) {
    xnn_subgraph_t raw = nullptr;
    detail::check(xnn_create_subgraph(static_cast<std::uint32_t>(seg.externals.size()), 0, &raw), "xnn_create_subgraph",
                  "an int8 segment");
    seg.subgraph.reset(raw);
    seg.ids.assign(static_cast<std::size_t>(graph_.value_count()), XNN_INVALID_VALUE_ID);
    constexpr float inf = std::numeric_limits<float>::infinity();
    for (int o : seg.ops) {
      const quant::Op& op = graph_.ops[static_cast<std::size_t>(o)];
      const std::string name = quant::LayerLabel(op.name).c_str();
      switch (op.kind) {
        case quant::OpKind::layer: define_layer(seg, op, name); break;
        case quant::OpKind::pool:
          detail::check(xnn_define_global_average_pooling_2d(seg.subgraph.get(), -inf, inf, activation(seg, op.in0, name),
                                                             activation(seg, op.out, name), 0),
                        "xnn_define_global_average_pooling_2d", name);
          break;
        case quant::OpKind::scale:
          detail::check(xnn_define_multiply2(seg.subgraph.get(), -inf, inf, activation(seg, op.in0, name),
                                             activation(seg, op.in1, name), activation(seg, op.out, name), 0),
                        "xnn_define_multiply2", name);
          break;
        case quant::OpKind::add:
          detail::check(xnn_define_add2(seg.subgraph.get(), -inf, inf, activation(seg, op.in0, name),
                                        activation(seg, op.in1, name), activation(seg, op.out, name), 0),
                        "xnn_define_add2", name);
          break;
        default: break;
      }
    }
    detail::check(xnn_create_runtime_v2(seg.subgraph.get(), pool_, 0, &seg.runtime), "xnn_create_runtime_v2",
                  "an int8 segment");
    std::vector<xnn_external_value> bind;
    for (std::size_t i = 0; i < seg.externals.size(); ++i) bind.push_back({static_cast<std::uint32_t>(i), host(seg.externals[i])});
    detail::check(xnn_setup_runtime(seg.runtime, bind.size(), bind.data()), "xnn_setup_runtime", "an int8 segment");
  }

  quant::QuantizedModel model_;
  quant::Graph graph_;
  int batch_;
  OpRange range_;
  int entry_ = 0, exit_ = 0;  // the value entering the ops that run, and the one they produce
  std::vector<std::array<std::int8_t, 256>> tables_;
  std::vector<std::vector<float>> owned_scales_;  // bias scales; XNNPACK keeps pointers to them
  std::vector<std::vector<std::int8_t>> host_;   // per value; empty when it lives inside a segment
  std::vector<Segment> segments_;
  std::vector<Step> steps_;
  pthreadpool_t pool_ = nullptr;
};

}  // namespace edgenas::xnnpack
