// edgenas/train/layers.hpp — the trainer's building blocks, built at run time.
//
// Layers own their parameters, batch-norm statistics and the small per-batch caches; the large
// activation tensors live in memory the network hands them (train/workspace.hpp), so networks
// that run one after another share it. forward() writes into the views it is given; backward()
// receives the gradient w.r.t. the layer's output and writes the gradient w.r.t. its input.
#pragma once

#include <string>
#include <vector>

#include "edgenas/ops.hpp"
#include "edgenas/train/parameter.hpp"
#include "edgenas/train/workspace.hpp"

namespace edgenas::train {

namespace detail {
// Every buffer a layer keeps is fully overwritten before it is read, so reshaping may keep
// stale values (and the allocation: switching between batch sizes costs nothing).
inline void ensure(Tensor& t, Shape s) {
  if (t.shape() != s) t.reshape(s);
}
}  // namespace detail

/// What a forward pass is for. `train`: batch statistics, and what backward needs is kept.
/// `statistics`: batch statistics (the running averages move), nothing kept (batch-norm
/// recalibration). `eval`: running statistics, nothing kept.
enum class Pass { train, statistics, eval };

enum class ConvKind { full, depthwise, pointwise };

/// conv (full k×k, depthwise k×k or pointwise 1×1; no bias) → batch norm → activation.
class ConvBnAct {
 public:
  ConvBnAct(std::string name, ConvKind kind, int in_channels, int out_channels, int kernel, int stride, Activation act,
            ops::BatchNormConfig bn = {})
      : kind_(kind), out_(out_channels), kernel_(kernel), stride_(stride), act_(act), bn_config_(bn),
        weight_(name + ".weight", weight_size(kind, in_channels, out_channels, kernel), true),
        gamma_(name + ".bn.gamma", static_cast<std::size_t>(out_channels), false),
        beta_(name + ".bn.beta", static_cast<std::size_t>(out_channels), false),
        running_mean_(static_cast<std::size_t>(out_channels), 0.0f), running_var_(static_cast<std::size_t>(out_channels), 1.0f),
        name_(std::move(name)) {}

  static std::size_t weight_size(ConvKind kind, int in, int out, int k) {
    switch (kind) {
      case ConvKind::full: return static_cast<std::size_t>(out) * k * k * in;
      case ConvKind::depthwise: return static_cast<std::size_t>(k) * k * out;
      case ConvKind::pointwise: return static_cast<std::size_t>(out) * in;
    }
    return 0;
  }

  /// Kaiming-normal (fan_out) weights, BN scale 1 and shift 0.
  void init(Rng& rng) {
    const int fan_out = kind_ == ConvKind::depthwise ? kernel_ * kernel_ : out_ * kernel_ * kernel_;
    weight_.kaiming_normal(fan_out, rng);
    gamma_.fill(1.0f);
    beta_.fill(0.0f);
  }

  Shape output_shape(Shape in) const { return same_window_output(in, kind_ == ConvKind::pointwise ? 1 : stride_, out_); }

  /// conv → `conv`, then batch norm and activation → `out`. A `train` pass keeps `conv` for
  /// backward (batch norm and activation are fused: only the convolution is needed to take the
  /// gradient through them); in the other passes `out` may be `conv` itself.
  void forward(ConstTensorView x, Pass pass, TensorView conv, TensorView out) {
    const Shape ys = output_shape(x.shape());
    EDGENAS_CHECK(conv.shape() == ys && out.shape() == ys, Status::invalid_shape,
                  "%s: forward buffers are not the output shape %dx%dx%dx%d", name_.c_str(), ys.n, ys.h, ys.w, ys.c);
    switch (kind_) {
      case ConvKind::full: ops::conv2d_forward(x, weight_.value, {}, kernel_, stride_, conv); break;
      case ConvKind::depthwise: ops::depthwise_forward(x, weight_.value, {}, kernel_, stride_, conv); break;
      case ConvKind::pointwise: ops::pointwise_forward(x, weight_.value, {}, conv); break;
    }
    if (pass == Pass::eval)
      ops::batch_norm_act_forward_eval(conv, gamma_.value, beta_.value, running_mean_, running_var_, bn_config_.eps, act_,
                                       out);
    else
      ops::batch_norm_act_forward_train(conv, gamma_.value, beta_.value, running_mean_, running_var_, bn_config_, act_, out,
                                        bn_cache_);
    conv_ = conv;
  }

  /// Writes the output of the last `train` forward again, bit for bit, from the kept convolution:
  /// cheaper in memory than keeping it (one elementwise pass against a tensor per layer).
  void recompute_output(TensorView out) const {
    ops::batch_norm_act_apply(conv_, gamma_.value, beta_.value, bn_cache_, act_, out);
  }

  /// dy: gradient w.r.t. the output of the last `train` forward of x. Writes dx if it has data
  /// (the stem skips it). Adds to the parameter gradients. Takes temporary memory from `scratch`.
  void backward(ConstTensorView x, ConstTensorView dy, TensorView dx, Workspace& scratch) {
    const ops::BatchNormBackward bn = ops::batch_norm_act_backward_sums(conv_, gamma_.value, beta_.value, bn_cache_,
                                                                        act_, dy, gamma_.grad, beta_.grad);
    // Depthwise and pointwise convs take the gradient through BN + act block by block
    // (ops/fused_backward.hpp); only the stem's full conv needs it stored.
    switch (kind_) {
      case ConvKind::full: {
        const Workspace::Mark m = scratch.mark();
        const TensorView grad = scratch.take(conv_.shape());
        ops::batch_norm_act_backward_apply(bn, conv_, dy, grad);
        ops::conv2d_backward(x, weight_.value, kernel_, stride_, grad, dx, weight_.grad, {});
        scratch.release(m);
        break;
      }
      case ConvKind::depthwise:
        ops::depthwise_bn_act_backward(x, weight_.value, kernel_, stride_, bn, conv_, dy, dx, weight_.grad);
        break;
      case ConvKind::pointwise: ops::pointwise_bn_act_backward(x, weight_.value, bn, conv_, dy, dx, weight_.grad); break;
    }
  }

  void collect(std::vector<Parameter*>& params, std::vector<Buffer>& buffers) {
    params.push_back(&weight_);
    params.push_back(&gamma_);
    params.push_back(&beta_);
    buffers.push_back({name_ + ".bn.running_mean", &running_mean_});
    buffers.push_back({name_ + ".bn.running_var", &running_var_});
  }

  void set_batch_norm_momentum(float m) noexcept { bn_config_.momentum = m; }
  void reset_batch_norm_statistics() {
    std::fill(running_mean_.begin(), running_mean_.end(), 0.0f);
    std::fill(running_var_.begin(), running_var_.end(), 1.0f);
  }

  /// Appends the BN-folded weights then the bias (inference layout, see runtime/reference).
  void export_folded(std::vector<float>& out) const {
    std::vector<float> w = weight_.value, b(static_cast<std::size_t>(out_), 0.0f);
    ops::fold_batch_norm(w, b, kind_ == ConvKind::depthwise ? ops::WeightLayout::channel_minor : ops::WeightLayout::output_major,
                         gamma_.value, beta_.value, running_mean_, running_var_, bn_config_.eps);
    out.insert(out.end(), w.begin(), w.end());
    out.insert(out.end(), b.begin(), b.end());
  }

 private:
  ConvKind kind_;
  int out_, kernel_, stride_;
  Activation act_;
  ops::BatchNormConfig bn_config_;
  Parameter weight_, gamma_, beta_;
  std::vector<float> running_mean_, running_var_;
  std::string name_;
  ops::BatchNormCache bn_cache_;
  ConstTensorView conv_;  // the convolution of the last forward (workspace memory)
};

/// Squeeze-and-excitation with its own FC weights (ReLU inside, h-sigmoid gate).
class SqueezeExciteLayer {
 public:
  SqueezeExciteLayer(const std::string& name, int channels, int reduced)
      : w1_(name + ".reduce.weight", static_cast<std::size_t>(reduced) * channels, true),
        b1_(name + ".reduce.bias", static_cast<std::size_t>(reduced), false),
        w2_(name + ".expand.weight", static_cast<std::size_t>(channels) * reduced, true),
        b2_(name + ".expand.bias", static_cast<std::size_t>(channels), false) {}

  void init(Rng& rng) {
    w1_.kaiming_normal(static_cast<int>(b1_.size()), rng);  // 1×1 conv, fan_out = reduced
    w2_.kaiming_normal(static_cast<int>(b2_.size()), rng);
    b1_.fill(0.0f);
    b2_.fill(0.0f);
  }

  /// y = x ⊙ gate(x); y may alias x.
  void forward(ConstTensorView x, TensorView y) { ops::squeeze_excite_forward(x, op(), y, cache_); }
  /// The output of the last forward again, bit for bit, from its input x.
  void recompute_output(ConstTensorView x, TensorView y) const { ops::squeeze_excite_apply(x, cache_, y); }
  /// dx may alias dy.
  void backward(ConstTensorView x, ConstTensorView dy, TensorView dx) {
    ops::squeeze_excite_backward(x, op(), cache_, dy, dx, {w1_.grad, b1_.grad, w2_.grad, b2_.grad});
  }
  void collect(std::vector<Parameter*>& params) {
    for (Parameter* p : {&w1_, &b1_, &w2_, &b2_}) params.push_back(p);
  }
  void export_weights(std::vector<float>& out) const {
    for (const Parameter* p : {&w1_, &b1_, &w2_, &b2_}) out.insert(out.end(), p->value.begin(), p->value.end());
  }

 private:
  ops::SqueezeExcite op() const { return {w1_.value, b1_.value, w2_.value, b2_.value}; }
  Parameter w1_, b1_, w2_, b2_;
  ops::SqueezeExciteCache cache_;
};

/// Fully-connected layer with bias and an optional activation.
class LinearLayer {
 public:
  LinearLayer(const std::string& name, int in, int out, Activation act = Activation::identity)
      : out_(out), act_(act), w_(name + ".weight", static_cast<std::size_t>(out) * in, true),
        b_(name + ".bias", static_cast<std::size_t>(out), false) {}

  /// The classifier uses N(0, 0.01) like torchvision's MobileNets; hidden layers Kaiming.
  void init(Rng& rng, bool classifier) {
    if (classifier) w_.normal(0.01f, rng);
    else w_.kaiming_normal(out_, rng);
    b_.fill(0.0f);
  }

  ConstTensorView forward(ConstTensorView x) {
    const Shape ys{x.shape().n, 1, 1, out_};
    detail::ensure(pre_, ys);
    ops::linear_forward(x, w_.value, b_.value, pre_);
    if (act_ == Activation::identity) return pre_;
    detail::ensure(post_, ys);
    ops::activation_forward(act_, pre_, post_);
    return post_;
  }
  void backward(ConstTensorView x, ConstTensorView dy, TensorView dx) {
    detail::ensure(grad_, pre_.shape());
    ops::activation_backward(act_, pre_, dy, grad_);
    ops::linear_backward(x, w_.value, grad_, dx, w_.grad, b_.grad);
  }
  void collect(std::vector<Parameter*>& params) {
    params.push_back(&w_);
    params.push_back(&b_);
  }
  void export_weights(std::vector<float>& out) const {
    out.insert(out.end(), w_.value.begin(), w_.value.end());
    out.insert(out.end(), b_.value.begin(), b_.value.end());
  }

 private:
  int out_;
  Activation act_;
  Parameter w_, b_;
  Tensor pre_, post_, grad_;
};

}  // namespace edgenas::train
