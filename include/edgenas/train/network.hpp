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

/// Where a network's activations live: `stored` holds what backward needs (reset at every
/// forward), `scratch` what one block needs for a moment. Networks that run one after another
/// (the supernet's sub-networks, a search's candidates) can share one.
struct Activations {
  Workspace stored, scratch;
  std::size_t high_water_bytes() const noexcept { return stored.high_water_bytes() + scratch.high_water_bytes(); }
};

/// [1×1 expand + BN + act] → depthwise + BN + act → [SE] → 1×1 project + BN → [+ input].
///
/// A `train` pass keeps only the three convolutions and the block output; the expanded and
/// depthwise activations and the SE output are recomputed bit for bit in backward from the
/// kept convolutions (one elementwise pass each), which more than halves training memory.
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

  /// The block output, in `a.stored` (it is the next block's input).
  TensorView forward(ConstTensorView x, Pass pass, Activations& a) {
    const bool keep = pass == Pass::train;
    const Workspace::Mark temporaries = a.scratch.mark();
    // A convolution backward needs is stored; otherwise it shares its output's memory.
    const auto conv_and_output = [&](const ConvBnAct& layer, Shape in) {
      const Shape s = layer.output_shape(in);
      const TensorView out = a.scratch.take(s);
      return std::pair{keep ? a.stored.take(s) : out, out};
    };
    ConstTensorView h = x;
    if (expand_) {
      const auto [conv, out] = conv_and_output(*expand_, h.shape());
      expand_->forward(h, pass, conv, out);
      h = out;
    }
    const auto [dw_conv, dw_out] = conv_and_output(dw_, h.shape());
    dw_.forward(h, pass, dw_conv, dw_out);
    if (se_) se_->forward(dw_out, dw_out);  // in place: backward recomputes both
    const Shape ys = project_.output_shape(dw_out.shape());
    const TensorView out = a.stored.take(ys);
    project_.forward(dw_out, pass, keep ? a.stored.take(ys) : a.scratch.take(ys), out);
    if (residual_) ops::residual_add_forward(out, x, out);
    a.scratch.release(temporaries);
    return out;
  }

  /// dy: gradient w.r.t. the block output of the last `train` forward of x; writes dx.
  void backward(ConstTensorView x, ConstTensorView dy, TensorView dx, Workspace& scratch) {
    const Workspace::Mark start = scratch.mark();
    const Shape dw_shape = dw_.output_shape(expand_ ? expand_->output_shape(x.shape()) : x.shape());
    const TensorView d_dw_out = scratch.take(dw_shape);  // gradient w.r.t. the project's input
    {
      const Workspace::Mark m = scratch.mark();
      const TensorView dw_out = scratch.take(dw_shape);
      dw_.recompute_output(dw_out);
      ConstTensorView project_in = dw_out;
      if (se_) {
        const TensorView se_out = scratch.take(dw_shape);
        se_->recompute_output(dw_out, se_out);
        project_in = se_out;
      }
      project_.backward(project_in, dy, d_dw_out, scratch);
      if (se_) se_->backward(dw_out, d_dw_out, d_dw_out);
      scratch.release(m);
    }
    if (expand_) {
      const Shape es = expand_->output_shape(x.shape());
      const TensorView expanded = scratch.take(es), d_expanded = scratch.take(es);
      expand_->recompute_output(expanded);
      dw_.backward(expanded, d_dw_out, d_expanded, scratch);
      expand_->backward(x, d_expanded, dx, scratch);
    } else {
      dw_.backward(x, d_dw_out, dx, scratch);
    }
    if (residual_) ops::residual_add_backward(dy, dx);
    scratch.release(start);
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

  bool residual() const noexcept { return residual_; }

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

  /// Activations from now on live in `a`, which other networks may share (they must not run
  /// interleaved: a forward frees what the previous one kept).
  void share_activations(std::shared_ptr<Activations> a) {
    EDGENAS_CHECK(a != nullptr, Status::invalid_argument, "Network::share_activations: null");
    activations_ = std::move(a);
    last_pass_ = Pass::eval;
  }
  const Activations& activations() const noexcept { return *activations_; }

  /// ∂loss/∂h at h = 1 for a scale h on each block's output (`output`) and on its residual
  /// branch (`branch`; the output itself in a block without a residual), from the last
  /// backward: how the differentiable search sees a block's choices (search/differentiable.hpp).
  /// Kept only when tracked (two dot products per block).
  struct BlockGates {
    std::vector<double> output, branch;
  };
  void track_block_gates(bool on) { track_gates_ = on; }
  const BlockGates& block_gates() const noexcept { return gates_; }

  /// Logits [N, 1, 1, classes] for images [N, H, W, C]. training: batch statistics (and their
  /// running averages are updated) and what backward needs is kept; otherwise the running
  /// statistics.
  ConstTensorView forward(ConstTensorView images, bool training) { return forward(images, training ? Pass::train : Pass::eval); }

  ConstTensorView forward(ConstTensorView images, Pass pass) {
    const Shape expected = genotype_.input.with_batch(images.shape().n);
    EDGENAS_CHECK(images.shape() == expected, Status::invalid_shape,
                  "Network::forward: images are %dx%dx%dx%d, the genotype expects Nx%dx%dx%d", images.shape().n,
                  images.shape().h, images.shape().w, images.shape().c, expected.h, expected.w, expected.c);
    Activations& a = *activations_;
    a.stored.reset();
    a.scratch.reset();
    const bool keep = pass == Pass::train;
    last_pass_ = pass;
    input_ = images;
    const Shape stem_shape = stem_.output_shape(images.shape());
    const TensorView stem_out = a.stored.take(stem_shape);
    stem_.forward(images, pass, keep ? a.stored.take(stem_shape) : stem_out, stem_out);
    ConstTensorView h = stem_out;
    block_inputs_.clear();
    for (auto& b : blocks_) {
      block_inputs_.push_back(h);
      h = b->forward(h, pass, a);
    }
    head_input_ = h;
    // Global average pooling needs only the shape in backward: the head's output is temporary.
    const Shape head_shape = head_conv_.output_shape(h.shape());
    const TensorView head_out = a.scratch.take(head_shape);
    head_conv_.forward(h, pass, keep ? a.stored.take(head_shape) : head_out, head_out);
    detail::ensure(pooled_, {head_shape.n, 1, 1, head_shape.c});
    ops::global_average_pool_forward(head_out, pooled_);
    a.scratch.reset();
    head_output_shape_ = head_shape;
    ConstTensorView features = pooled_;
    if (hidden_) features = hidden_->forward(features);
    features_ = features;
    return classifier_.forward(features);
  }

  /// Gradient of the loss w.r.t. the logits of the last training forward; adds to every
  /// parameter's gradient.
  void backward(ConstTensorView dlogits) {
    EDGENAS_CHECK(last_pass_ == Pass::train, Status::invalid_argument,
                  "Network::backward: the last forward was not a training pass (nothing was kept for backward)");
    Workspace& scratch = activations_->scratch;
    scratch.reset();
    detail::ensure(d_features_, features_.shape());
    classifier_.backward(features_, dlogits, d_features_);
    ConstTensorView d_pooled = d_features_;
    if (hidden_) {
      detail::ensure(d_pooled_, pooled_.shape());
      hidden_->backward(pooled_, d_features_, d_pooled_);
      d_pooled = d_pooled_;
    }
    // Two buffers for the gradients between blocks, each as large as the largest block input.
    std::int64_t largest = head_input_.size();
    for (const ConstTensorView& x : block_inputs_) largest = std::max(largest, x.size());
    float* ping = scratch.take({1, 1, 1, static_cast<int>(largest)}).data();
    float* pong = scratch.take({1, 1, 1, static_cast<int>(largest)}).data();
    const TensorView d_head_in(ping, head_input_.shape());
    {
      const Workspace::Mark m = scratch.mark();
      const TensorView d_head_out = scratch.take(head_output_shape_);
      ops::global_average_pool_backward(d_pooled, d_head_out);
      head_conv_.backward(head_input_, d_head_out, d_head_in, scratch);
      scratch.release(m);
    }
    ConstTensorView d = d_head_in;
    if (track_gates_) gates_ = {std::vector<double>(blocks_.size()), std::vector<double>(blocks_.size())};
    for (std::size_t i = blocks_.size(); i-- > 0;) {
      if (track_gates_) {
        const ConstTensorView y = i + 1 < blocks_.size() ? block_inputs_[i + 1] : head_input_;
        gates_.output[i] = dot(d, y);
        gates_.branch[i] = blocks_[i]->residual() ? gates_.output[i] - dot(d, block_inputs_[i]) : gates_.output[i];
      }
      const TensorView dx(d.data() == ping ? pong : ping, block_inputs_[i].shape());
      blocks_[i]->backward(block_inputs_[i], d, dx, scratch);
      d = dx;
    }
    stem_.backward(input_, d, TensorView{}, scratch);  // no gradient needed for the images
    scratch.reset();
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
  static double dot(ConstTensorView a, ConstTensorView b) {
    double sum = 0;
    for (std::int64_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a.data()[i]) * b.data()[i];
    return sum;
  }

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
  std::shared_ptr<Activations> activations_ = std::make_shared<Activations>();
  Pass last_pass_ = Pass::eval;
  ConstTensorView input_, head_input_, features_;
  Shape head_output_shape_{};
  std::vector<ConstTensorView> block_inputs_;
  Tensor pooled_, d_features_, d_pooled_;
  bool track_gates_ = false;
  BlockGates gates_;
};

}  // namespace edgenas::train
