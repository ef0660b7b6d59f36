// edgenas/train/qat.hpp — quantization-aware training on the int8 graph (quant/graph.hpp).
//
// QAT trains exactly what will run: the network's int8 graph in float, with every weight and
// every int8 tensor fake-quantized (quantize, then dequantize) where the integer network
// quantizes it. Batch norm is folded into the convolutions before their weights are quantized
// (Krishnamoorthi 2018, "fold, then quantize"), with the statistics frozen for the whole of
// QAT: QAT fine-tunes a float network whose statistics were learned while it trained.
//   weights      per output channel, symmetric, scale = max|w| / 127 at every step (no clipping,
//                so the straight-through gradient is the identity); h-sigmoid layers quantize
//                w / 6 and b / 6 + 1/2, as the int8 network does
//   biases       to the int32 grid s_in · s_w (straight through)
//   activations  per tensor; ranges start from post-training calibration, follow an
//                exponential moving average of each batch's min/max, then freeze; the
//                straight-through gradient is zero where the value was clipped
// quantized() gives the QuantizedModel whose integer inference this forward simulates.
#pragma once

#include <cmath>
#include <span>
#include <vector>

#include "edgenas/data/loader.hpp"
#include "edgenas/ops.hpp"
#include "edgenas/quant/model.hpp"
#include "edgenas/train/optimizer.hpp"
#include "edgenas/train/parameter.hpp"
#include "edgenas/train/trainer.hpp"  // check_finite_logits

namespace edgenas::train {

class QatNetwork {
 public:
  /// From folded float weights (the inference blob) and calibrated ranges (quant::calibrate).
  QatNetwork(const Genotype& genotype, std::span<const float> folded, quant::Ranges ranges, float ema = 0.99f)
      : genotype_(genotype), graph_(quant::build_graph(genotype.view())), ranges_(std::move(ranges)), ema_(ema) {
    EDGENAS_CHECK(static_cast<std::int64_t>(folded.size()) == inference_weight_count(genotype.view()),
                  Status::invalid_argument, "QAT: %zu float weights, the genotype needs %lld", folded.size(),
                  static_cast<long long>(inference_weight_count(genotype.view())));
    EDGENAS_CHECK(static_cast<int>(ranges_.lo.size()) == graph_.value_count(), Status::invalid_argument,
                  "QAT: %zu ranges, the genotype has %d int8 tensors", ranges_.lo.size(), graph_.value_count());
    for (const quant::Layer& l : graph_.layers) {
      const quant::LayerLabel label(l.name);
      LayerParams& p = layers_.emplace_back();
      p.w = Parameter(std::string(label.c_str()) + ".weight", static_cast<std::size_t>(l.weight_count()), true);
      p.b = Parameter(std::string(label.c_str()) + ".bias", static_cast<std::size_t>(l.out_channels), false);
      std::copy_n(folded.data() + l.float_offset, l.weight_count(), p.w.value.begin());
      std::copy_n(folded.data() + l.float_offset + l.weight_count(), l.out_channels, p.b.value.begin());
    }
    params_ = quant::activation_params(graph_, ranges_);
    unit_.assign(static_cast<std::size_t>(graph_.value_count()), false);
    for (const quant::Op& op : graph_.ops) unit_[static_cast<std::size_t>(op.out)] = quant::has_unit_output(op, graph_.layers);
    values_.resize(static_cast<std::size_t>(graph_.value_count()));
    last_use_.assign(values_.size(), 0);
    for (std::size_t i = 0; i < graph_.ops.size(); ++i)
      for (int v : {graph_.ops[i].in0, graph_.ops[i].in1})
        if (v >= 0) last_use_[static_cast<std::size_t>(v)] = i;
    raw_.resize(values_.size());
    grads_.resize(values_.size());
  }

  const Genotype& genotype() const noexcept { return genotype_; }
  const quant::Graph& graph() const noexcept { return graph_; }

  std::vector<Parameter*> parameters() {
    std::vector<Parameter*> p;
    for (LayerParams& l : layers_) p.push_back(&l.w), p.push_back(&l.b);
    return p;
  }
  void zero_grad() {
    for (LayerParams& l : layers_) l.w.zero_grad(), l.b.zero_grad();
  }

  /// Post-training calibration, batched: the min/max of every int8 value of the float graph
  /// over `images` (normalised, [N, H, W, C]), `batch` at a time — what quant::calibrate
  /// computes with the reference kernels, at the trainer's speed.
  static quant::Ranges calibrate(const Genotype& genotype, std::span<const float> folded, ConstTensorView images,
                                 int batch = 32) {
    QatNetwork net(genotype, folded, quant::Ranges(static_cast<int>(quant::build_graph(genotype.view()).values.size())));
    net.fake_ = false;
    net.min_max_ = true;
    const Shape s = images.shape();
    for (int first = 0; first < s.n; first += batch) {
      const int n = std::min(batch, s.n - first);
      net.forward(ConstTensorView(images.data() + static_cast<std::int64_t>(first) * s.per_image(), s.with_batch(n)), true);
    }
    return net.ranges_;
  }

  /// Without fake quantization the network is its float graph (for gradient checks).
  void set_fake_quantization(bool on) noexcept { fake_ = on; }

  /// Activation ranges stop moving (Krishnamoorthi: freeze them for the last part of QAT).
  void freeze_ranges() noexcept { frozen_ = true; }
  bool ranges_frozen() const noexcept { return frozen_; }

  /// Logits [N, 1, 1, classes] of normalised images, fake-quantized throughout. `train`: keep
  /// what backward needs, and move the ranges unless frozen.
  ConstTensorView forward(ConstTensorView images, bool train) {
    EDGENAS_CHECK(images.shape().with_batch(1) == graph_.values[0], Status::invalid_shape,
                  "QAT: images %dx%dx%d, the network takes %dx%dx%d", images.shape().h, images.shape().w,
                  images.shape().c, graph_.values[0].h, graph_.values[0].w, graph_.values[0].c);
    batch_ = images.shape().n;
    observe_ = train && !frozen_;
    for (std::size_t i = 0; i < graph_.ops.size(); ++i) {
      forward_op(graph_.ops[i], images);
      if (min_max_) release_dead(i);  // calibration keeps only the live values
    }
    return value(graph_.output);
  }

  /// Gradient of the loss w.r.t. the logits of the last `train` forward; adds to the parameter
  /// gradients.
  void backward(ConstTensorView dlogits) {
    for (std::size_t v = 0; v < grads_.size(); ++v) {
      ensure(grads_[v], shape(static_cast<int>(v)));
      std::fill_n(grads_[v].data(), grads_[v].size(), 0.0f);
    }
    std::copy_n(dlogits.data(), dlogits.size(), grads_[static_cast<std::size_t>(graph_.output)].data());
    for (auto op = graph_.ops.rbegin(); op != graph_.ops.rend(); ++op) backward_op(*op);
  }

  /// The activation quantization now (what quantized() uses).
  const std::vector<quant::QuantParams>& activation_params() const noexcept { return params_; }

  /// The float weights in the inference blob layout (the float side of a QAT network).
  std::vector<float> folded_weights() const {
    std::vector<float> out;
    for (const LayerParams& l : layers_) {
      out.insert(out.end(), l.w.value.begin(), l.w.value.end());
      out.insert(out.end(), l.b.value.begin(), l.b.value.end());
    }
    return out;
  }

  /// The int8 network this forward simulates.
  quant::QuantizedModel quantized() const { return quant::quantize(genotype_, folded_weights(), params_); }

 private:
  struct LayerParams {
    Parameter w, b;
    std::vector<float> wq, bq;  // fake-quantized weights and bias of the last forward
    float mul = 1.0f;           // 1/6 for h-sigmoid layers (graph.hpp)
  };

  // A layer's clamp (graph.hpp): ReLU, ReLU6, or [0, 1] for folded h-sigmoid; and its slope.
  // Templates, so the loops below specialise per clamp (ops::with_activation).
  template <Activation A>
  static float clamp(float x) noexcept {
    if constexpr (A == Activation::hsigmoid) return std::min(std::max(x, 0.0f), 1.0f);
    else return ops::activate<A>(x);
  }
  template <Activation A>
  static float clamp_slope(float x) noexcept {
    if constexpr (A == Activation::hsigmoid) return x > 0.0f && x < 1.0f ? 1.0f : 0.0f;
    else return ops::derivative<A>(x);
  }

  static void ensure(Tensor& t, Shape s) {
    if (t.shape() != s) t.reshape(s);
  }
  Shape shape(int v) const { return graph_.values[static_cast<std::size_t>(v)].with_batch(batch_); }
  Tensor& value(int v) { return values_[static_cast<std::size_t>(v)]; }
  Tensor& raw(int v) { return raw_[static_cast<std::size_t>(v)]; }
  Tensor& grad(int v) { return grads_[static_cast<std::size_t>(v)]; }

  // Moves value v's range towards this batch's (unless frozen), then fake-quantizes raw → value.
  // Layers' raw values are before their clamp: the clamp is applied first.
  void quantize_value(int v, Activation fused) {
    Tensor& r = raw(v);
    Tensor& y = value(v);
    ensure(y, r.shape());
    const std::int64_t n = r.size();
    ops::with_activation(fused, [&]<Activation A>() {
      for (std::int64_t i = 0; i < n; ++i) y[i] = clamp<A>(r[i]);
    });
    if (observe_) {
      const auto [lo, hi] = std::minmax_element(y.data(), y.data() + n);
      float& l = ranges_.lo[static_cast<std::size_t>(v)];
      float& h = ranges_.hi[static_cast<std::size_t>(v)];
      l = min_max_ ? std::min(l, *lo) : ema_ * l + (1.0f - ema_) * *lo;
      h = min_max_ ? std::max(h, *hi) : ema_ * h + (1.0f - ema_) * *hi;
      if (!unit_[static_cast<std::size_t>(v)]) params_[static_cast<std::size_t>(v)] = quant::choose_params(l, h);
    }
    const quant::QuantParams p = params_[static_cast<std::size_t>(v)];
    if (fake_)
      for (std::int64_t i = 0; i < n; ++i) y[i] = quant::fake_quantize(y[i], p);
  }

  // The gradient through value v's fake quantization (zero where it clipped) and its clamp.
  void quantize_value_backward(int v, Activation fused) {
    const quant::QuantParams p = params_[static_cast<std::size_t>(v)];
    const Tensor& r = raw(v);
    Tensor& g = grad(v);
    // Inside the grid: round(c / s) + z ∈ [qmin, qmax], i.e. c ∈ [lo, hi] with the half steps.
    const float lo = (static_cast<float>(quant::qmin - p.zero_point) - 0.5f) * p.scale;
    const float hi = (static_cast<float>(quant::qmax - p.zero_point) + 0.5f) * p.scale;
    ops::with_activation(fused, [&]<Activation A>() {
      for (std::int64_t i = 0; i < r.size(); ++i) {
        const float c = clamp<A>(r[i]);
        const bool inside = !fake_ || (c >= lo && c < hi);
        g[i] = inside ? g[i] * clamp_slope<A>(r[i]) : 0.0f;
      }
    });
  }

  void forward_op(const quant::Op& op, ConstTensorView images) {
    const int v = op.out;
    ensure(raw(v), shape(v));
    TensorView r = raw(v);
    switch (op.kind) {
      case quant::OpKind::input: std::copy_n(images.data(), images.size(), r.data()); break;
      case quant::OpKind::layer: {
        const quant::Layer& l = graph_.layers[static_cast<std::size_t>(op.layer)];
        LayerParams& p = layers_[static_cast<std::size_t>(op.layer)];
        quantize_weights(op, l, p);
        const Tensor& x = value(op.in0);
        if (l.kind == quant::LayerKind::depthwise) ops::depthwise_forward(x, p.wq, p.bq, l.kernel, l.stride, r);
        else if (l.kind == quant::LayerKind::dense) ops::linear_forward(x, p.wq, p.bq, r);
        else if (l.kernel == 1 && l.stride == 1) ops::pointwise_forward(x, p.wq, p.bq, r);
        else ops::conv2d_forward(x, p.wq, p.bq, l.kernel, l.stride, r);
        quantize_value(v, l.clamp);
        return;
      }
      case quant::OpKind::lookup: ops::activation_forward(op.act, value(op.in0), r); break;
      case quant::OpKind::pool: ops::global_average_pool_forward(value(op.in0), r); break;
      case quant::OpKind::scale: {
        const Tensor &x = value(op.in0), &gate = value(op.in1);
        const Shape s = x.shape();
        for (std::int64_t i = 0; i < x.size(); ++i) r.data()[i] = x[i] * gate[i / s.per_image() * s.c + i % s.c];
        break;
      }
      case quant::OpKind::add: ops::residual_add_forward(value(op.in0), value(op.in1), r); break;
    }
    quantize_value(v, Activation::identity);
  }

  // Per-channel symmetric fake quantization of (w · mul), and the bias on the s_in · s_w grid.
  void quantize_weights(const quant::Op& op, const quant::Layer& l, LayerParams& p) {
    const bool hsigmoid = l.clamp == Activation::hsigmoid;
    p.mul = hsigmoid ? 1.0f / 6.0f : 1.0f;
    const float add = hsigmoid ? 0.5f : 0.0f;
    const std::int64_t per = l.weight_count() / l.out_channels;
    const bool dw = l.kind == quant::LayerKind::depthwise;
    const auto at = [&](int c, std::int64_t i) { return static_cast<std::size_t>(dw ? i * l.out_channels + c : c * per + i); };
    p.wq.resize(p.w.value.size());
    p.bq.resize(p.b.value.size());
    const float s_in = params_[static_cast<std::size_t>(op.in0)].scale;
    for (int c = 0; c < l.out_channels; ++c) {
      float max_abs = 0.0f;
      for (std::int64_t i = 0; i < per; ++i) max_abs = std::max(max_abs, std::abs(p.w.value[at(c, i)] * p.mul));
      const float s = quant::weight_scale(max_abs);
      for (std::int64_t i = 0; i < per; ++i) {
        const float w = p.w.value[at(c, i)] * p.mul;
        p.wq[at(c, i)] = fake_ ? s * std::clamp(std::nearbyint(w / s), -127.0f, 127.0f) : w;
      }
      const double bs = static_cast<double>(s_in) * s, b = static_cast<double>(p.b.value[static_cast<std::size_t>(c)]) * p.mul + add;
      p.bq[static_cast<std::size_t>(c)] = static_cast<float>(fake_ ? bs * std::nearbyint(b / bs) : b);
    }
  }

  void backward_op(const quant::Op& op) {
    const int v = op.out;
    switch (op.kind) {
      case quant::OpKind::input: return;
      case quant::OpKind::layer: {
        const quant::Layer& l = graph_.layers[static_cast<std::size_t>(op.layer)];
        LayerParams& p = layers_[static_cast<std::size_t>(op.layer)];
        quantize_value_backward(v, l.clamp);
        const Tensor& x = value(op.in0);
        Tensor& dx = scratch(x.shape());
        std::vector<float>& dw = dw_;
        std::vector<float>& db = db_;
        dw.assign(p.wq.size(), 0.0f);
        db.assign(p.bq.size(), 0.0f);
        if (l.kind == quant::LayerKind::depthwise) ops::depthwise_backward(x, p.wq, l.kernel, l.stride, grad(v), dx, dw, db);
        else if (l.kind == quant::LayerKind::dense) ops::linear_backward(x, p.wq, grad(v), dx, dw, db);
        else if (l.kernel == 1 && l.stride == 1) ops::pointwise_backward(x, p.wq, grad(v), dx, dw, db);
        else ops::conv2d_backward(x, p.wq, l.kernel, l.stride, grad(v), dx, dw, db);
        // Straight through the weight quantization, and through the h-sigmoid scaling by 1/6.
        for (std::size_t i = 0; i < dw.size(); ++i) p.w.grad[i] += dw[i] * p.mul;
        for (std::size_t i = 0; i < db.size(); ++i) p.b.grad[i] += db[i] * p.mul;
        accumulate(op.in0, dx);
        return;
      }
      default: break;
    }
    quantize_value_backward(v, Activation::identity);
    const Tensor& g = grad(v);
    switch (op.kind) {
      case quant::OpKind::lookup: {
        Tensor& dx = scratch(g.shape());
        ops::activation_backward(op.act, value(op.in0), g, dx);
        accumulate(op.in0, dx);
        break;
      }
      case quant::OpKind::pool: {
        Tensor& dx = scratch(shape(op.in0));
        ops::global_average_pool_backward(g, dx);
        accumulate(op.in0, dx);
        break;
      }
      case quant::OpKind::scale: {
        const Tensor &x = value(op.in0), &gate = value(op.in1);
        const Shape s = x.shape();
        Tensor& dx = grad(op.in0);
        Tensor& dgate = grad(op.in1);
        for (std::int64_t i = 0; i < x.size(); ++i) {
          const std::int64_t gi = i / s.per_image() * s.c + i % s.c;
          dx[i] += g[i] * gate[gi];
          dgate[gi] += g[i] * x[i];
        }
        break;
      }
      case quant::OpKind::add:
        accumulate(op.in0, g);
        accumulate(op.in1, g);
        break;
      default: break;
    }
  }

  // One buffer for every op's input gradient before it is added (kept: no allocation per step).
  Tensor& scratch(Shape s) {
    if (scratch_.shape() != s) scratch_.reshape(s);
    return scratch_;
  }

  // Frees what no op after op i reads (calibration: no backward follows).
  void release_dead(std::size_t i) {
    const quant::Op& op = graph_.ops[i];
    raw(op.out) = Tensor();
    for (int v : {op.in0, op.in1})
      if (v >= 0 && v != graph_.output && last_use_[static_cast<std::size_t>(v)] == i) value(v) = Tensor();
  }

  void accumulate(int v, const Tensor& d) {
    Tensor& g = grad(v);
    for (std::int64_t i = 0; i < d.size(); ++i) g[i] += d[i];
  }

  Genotype genotype_;
  quant::Graph graph_;
  quant::Ranges ranges_;
  float ema_;
  bool frozen_ = false, observe_ = false, fake_ = true, min_max_ = false;  // min_max_: calibrating
  int batch_ = 1;
  std::vector<LayerParams> layers_;
  std::vector<quant::QuantParams> params_;
  std::vector<bool> unit_;  // values on the fixed [0, 1) grid: their parameters never move
  std::vector<Tensor> values_, raw_, grads_;
  std::vector<std::size_t> last_use_;  // the last op that reads each value
  Tensor scratch_;
  std::vector<float> dw_, db_;
};

struct QatConfig {
  int epochs = 1;
  int batch_size = 32;  // QAT keeps every value, its pre-quantization copy and its gradient
  float lr = 0.001f;            // fine-tuning: a small cosine-decayed rate (0.01 overshoots)
  float freeze_ranges_at = 0.5f;  // fraction of the steps after which activation ranges freeze
  OptimizerConfig optimizer{.weight_decay = 0.0f};
  data::Augmentation augmentation = data::Augmentation::none();
  std::uint64_t seed = 1;
};

/// Fine-tunes `net` on `data`; returns the mean loss of the last epoch. Stops with a clear
/// error (naming QAT) if the logits diverge.
inline double train_qat(QatNetwork& net, const data::Dataset& data, const data::Normalization& norm, const QatConfig& c,
                        const std::function<void(std::size_t step, std::size_t steps, double loss)>& progress = {}) {
  EDGENAS_CHECK(c.epochs >= 1 && c.epochs <= 10000 && c.batch_size >= 1 && c.batch_size <= 100000 && c.lr > 0.0f &&
                    c.lr <= 10 && c.freeze_ranges_at >= 0 && c.freeze_ranges_at <= 1,
                Status::invalid_argument,
                "QAT: epochs %d, batch %d, learning rate %g, ranges frozen at %g: expected 1 to 10000 epochs, batch 1 "
                "to 100000, learning rate above 0 up to 10, freeze point in [0, 1]",
                c.epochs, c.batch_size, static_cast<double>(c.lr), static_cast<double>(c.freeze_ranges_at));
  check(c.optimizer, "QAT");
  data::BatchLoader loader(data, c.batch_size, norm);
  const std::size_t per_epoch = loader.batches(true);
  EDGENAS_CHECK(per_epoch >= 1, Status::invalid_argument, "QAT: %zu images make no batch of %d", data.size(), c.batch_size);
  const std::size_t steps = per_epoch * static_cast<std::size_t>(c.epochs);
  const CosineSchedule schedule{c.lr, 0.0f, 0, static_cast<std::int64_t>(steps)};
  Optimizer optimizer(net.parameters(), c.optimizer);
  Tensor images, dlogits;
  std::vector<std::int32_t> labels;
  double loss = 0.0;
  std::size_t step = 0;
  for (int epoch = 0; epoch < c.epochs; ++epoch) {
    const auto order = loader.order(c.seed, epoch, true);
    loss = 0.0;
    for (std::size_t b = 0; b < per_epoch; ++b, ++step) {
      if (!net.ranges_frozen() && static_cast<float>(step) >= c.freeze_ranges_at * static_cast<float>(steps)) net.freeze_ranges();
      loader.fill(order, b, c.augmentation, c.seed, epoch, images, labels);
      net.zero_grad();
      const ConstTensorView logits = net.forward(images, true);
      check_finite_logits(logits, "QAT", epoch, b, schedule(static_cast<std::int64_t>(step)));
      if (dlogits.shape() != logits.shape()) dlogits.reshape(logits.shape());
      loss += ops::softmax_cross_entropy(logits, labels, 0.0f, dlogits);
      net.backward(dlogits);
      optimizer.step(schedule(static_cast<std::int64_t>(step)));
      if (progress) progress(step + 1, steps, loss / static_cast<double>(b + 1));
    }
  }
  net.freeze_ranges();
  return loss / static_cast<double>(per_epoch);
}

}  // namespace edgenas::train
