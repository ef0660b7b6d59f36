// edgenas/train/network.hpp — a trainable network built at run time from a genotype.
//
// Nothing here is a template over the architecture: a search trains thousands of genotypes
// through this one class (type erasure at the trainer boundary, so compile time does not grow
// with the search space).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgenas/space/cost.hpp"
#include "edgenas/space/genotype.hpp"
#include "edgenas/train/layers.hpp"

namespace edgenas::train {

/// [1×1 expand + BN + act] → depthwise + BN + act → [SE] → 1×1 project + BN → [+ input].
class MBConvLayer {
 public:
  MBConvLayer(const std::string& name, int in_channels, const BlockGene& g)
      : residual_(has_residual(in_channels, g)),
        dw_(name + ".depthwise", ConvKind::depthwise, g.expanded, g.expanded, g.kernel, g.stride, g.act),
        project_(name + ".project", ConvKind::pointwise, g.expanded, g.out, 1, 1, Activation::identity) {
    if (g.expanded != in_channels)
      expand_.emplace(name + ".expand", ConvKind::pointwise, in_channels, g.expanded, 1, 1, g.act);
    if (g.se) se_.emplace(name + ".se", g.expanded, se_reduced_channels(g.expanded));
  }

  void init(Rng& rng) {
    if (expand_) expand_->init(rng);
    dw_.init(rng);
    if (se_) se_->init(rng);
    project_.init(rng);
  }

  ConstTensorView forward(ConstTensorView x, bool training) {
    ConstTensorView h = expand_ ? expand_->forward(x, training) : x;
    h = dw_.forward(h, training);
    if (se_) h = se_out_ = se_->forward(h);  // the project's input, needed by backward
    project_.forward(h, training);
    TensorView out = project_.output();
    if (residual_) ops::residual_add_forward(out, x, out);
    return out;
  }

  /// Returns the gradient w.r.t. the block input (a buffer owned by this layer).
  ConstTensorView backward(ConstTensorView x, ConstTensorView dy) {
    const ConstTensorView expanded = expand_ ? expand_->output() : x;
    const ConstTensorView dw_out = dw_.output();
    detail::ensure(d_dw_out_, dw_out.shape());
    detail::ensure(dx_, x.shape());
    project_.backward(se_ ? se_out_ : dw_out, dy, d_dw_out_);
    if (se_) {
      detail::ensure(d_se_in_, dw_out.shape());
      se_->backward(dw_out, d_dw_out_, d_se_in_);
      std::swap(d_se_in_, d_dw_out_);
    }
    if (expand_) {
      detail::ensure(d_expanded_, expanded.shape());
      dw_.backward(expanded, d_dw_out_, d_expanded_);
      expand_->backward(x, d_expanded_, dx_);
    } else {
      dw_.backward(x, d_dw_out_, dx_);
    }
    if (residual_) ops::residual_add_backward(dy, dx_);
    return dx_;
  }

  void collect(std::vector<Parameter*>& params, std::vector<Buffer>& buffers) {
    if (expand_) expand_->collect(params, buffers);
    dw_.collect(params, buffers);
    if (se_) se_->collect(params);
    project_.collect(params, buffers);
  }

  template <typename F>
  void for_each_conv(F&& f) {
    if (expand_) f(*expand_);
    f(dw_);
    f(project_);
  }

  void export_weights(std::vector<float>& out) const {
    if (expand_) expand_->export_folded(out);
    dw_.export_folded(out);
    if (se_) se_->export_weights(out);
    project_.export_folded(out);
  }

 private:
  bool residual_;
  std::optional<ConvBnAct> expand_;
  ConvBnAct dw_;
  std::optional<SqueezeExciteLayer> se_;
  ConvBnAct project_;
  ConstTensorView se_out_;
  Tensor d_dw_out_, d_se_in_, d_expanded_, dx_;
};

class Network {
 public:
  /// Builds and initialises the network (Kaiming-normal convs, BN 1/0, classifier N(0, 0.01)).
  explicit Network(Genotype genotype, std::uint64_t seed = 1)
      : genotype_((validate(genotype), std::move(genotype))),
        stem_("stem", ConvKind::full, genotype_.input.c, genotype_.stem.channels, genotype_.stem.kernel,
              genotype_.stem.stride, genotype_.stem.act),
        head_conv_("head.conv", ConvKind::pointwise, head_input_shape(genotype_.view()).c, genotype_.head.channels, 1, 1,
                   genotype_.head.act),
        classifier_("head.classifier", genotype_.head.hidden > 0 ? genotype_.head.hidden : genotype_.head.channels,
                    genotype_.head.classes) {
    int in = genotype_.stem.channels;
    for (std::size_t i = 0; i < genotype_.blocks.size(); ++i) {
      blocks_.push_back(std::make_unique<MBConvLayer>("block" + std::to_string(i), in, genotype_.blocks[i]));
      in = genotype_.blocks[i].out;
    }
    if (genotype_.head.hidden > 0)
      hidden_.emplace("head.hidden", genotype_.head.channels, genotype_.head.hidden, genotype_.head.act);
    Rng rng(seed);
    stem_.init(rng);
    for (auto& b : blocks_) b->init(rng);
    head_conv_.init(rng);
    if (hidden_) hidden_->init(rng, false);
    classifier_.init(rng, true);
    stem_.collect(params_, buffers_);
    for (auto& b : blocks_) b->collect(params_, buffers_);
    head_conv_.collect(params_, buffers_);
    if (hidden_) hidden_->collect(params_);
    classifier_.collect(params_);
  }

  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const Genotype& genotype() const noexcept { return genotype_; }
  const std::vector<Parameter*>& parameters() noexcept { return params_; }
  const std::vector<Buffer>& buffers() noexcept { return buffers_; }
  std::int64_t parameter_count() const noexcept {
    std::int64_t n = 0;
    for (const Parameter* p : params_) n += static_cast<std::int64_t>(p->size());
    return n;
  }
  void zero_grad() {
    for (Parameter* p : params_) p->zero_grad();
  }

  /// Batch-norm statistics back to mean 0, variance 1; and the running-average momentum.
  void reset_batch_norm_statistics() {
    for_each_conv([](ConvBnAct& c) { c.reset_batch_norm_statistics(); });
  }
  void set_batch_norm_momentum(float m) {
    for_each_conv([m](ConvBnAct& c) { c.set_batch_norm_momentum(m); });
  }

  /// Logits [N, 1, 1, classes] for images [N, H, W, C]. training: batch statistics (and their
  /// running averages are updated); otherwise the running statistics.
  ConstTensorView forward(ConstTensorView images, bool training) {
    const Shape expected = genotype_.input.with_batch(images.shape().n);
    EDGENAS_CHECK(images.shape() == expected, Status::invalid_shape,
                  "Network::forward: images are %dx%dx%dx%d, the genotype expects Nx%dx%dx%d", images.shape().n,
                  images.shape().h, images.shape().w, images.shape().c, expected.h, expected.w, expected.c);
    input_ = images;
    ConstTensorView h = stem_.forward(images, training);
    block_inputs_.clear();
    for (auto& b : blocks_) {
      block_inputs_.push_back(h);
      h = b->forward(h, training);
    }
    head_input_ = h;
    ConstTensorView f = head_conv_.forward(h, training);
    detail::ensure(pooled_, {f.shape().n, 1, 1, f.shape().c});
    ops::global_average_pool_forward(f, pooled_);
    ConstTensorView features = pooled_;
    if (hidden_) features = hidden_->forward(features);
    features_ = features;
    return classifier_.forward(features);
  }

  /// Gradient of the loss w.r.t. the logits of the last training forward; adds to every
  /// parameter's gradient.
  void backward(ConstTensorView dlogits) {
    detail::ensure(d_features_, features_.shape());
    classifier_.backward(features_, dlogits, d_features_);
    ConstTensorView d_pooled = d_features_;
    if (hidden_) {
      detail::ensure(d_pooled_, pooled_.shape());
      hidden_->backward(pooled_, d_features_, d_pooled_);
      d_pooled = d_pooled_;
    }
    const ConstTensorView head_out = head_conv_.output();
    detail::ensure(d_head_out_, head_out.shape());
    ops::global_average_pool_backward(d_pooled, d_head_out_);
    detail::ensure(d_head_in_, head_input_.shape());
    head_conv_.backward(head_input_, d_head_out_, d_head_in_);
    ConstTensorView d = d_head_in_;
    for (std::size_t i = blocks_.size(); i-- > 0;) d = blocks_[i]->backward(block_inputs_[i], d);
    stem_.backward(input_, d, TensorView{});  // no gradient needed for the images
  }

  /// BN-folded inference weights in the layout runtime/reference/inference.hpp reads.
  std::vector<float> inference_weights() const {
    std::vector<float> w;
    stem_.export_folded(w);
    for (const auto& b : blocks_) b->export_weights(w);
    head_conv_.export_folded(w);
    if (hidden_) hidden_->export_weights(w);
    classifier_.export_weights(w);
    return w;
  }

 private:
  template <typename F>
  void for_each_conv(F&& f) {
    f(stem_);
    for (auto& b : blocks_) b->for_each_conv(f);
    f(head_conv_);
  }

  Genotype genotype_;
  ConvBnAct stem_;
  std::vector<std::unique_ptr<MBConvLayer>> blocks_;
  ConvBnAct head_conv_;
  std::optional<LinearLayer> hidden_;
  LinearLayer classifier_;
  std::vector<Parameter*> params_;
  std::vector<Buffer> buffers_;
  ConstTensorView input_, head_input_, features_;
  std::vector<ConstTensorView> block_inputs_;
  Tensor pooled_, d_features_, d_pooled_, d_head_out_, d_head_in_;
};

}  // namespace edgenas::train
