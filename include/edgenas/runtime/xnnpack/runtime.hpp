// edgenas/runtime/xnnpack/runtime.hpp — a genotype plus its BN-folded weights as an XNNPACK
// subgraph (fp32), run on a caller-chosen number of threads.
//
// Every XNNPACK call lives in this header, written against Debian 12's XNNPACK (ae108ef,
// xnn_create_runtime_v2); every failure is an edgenas::Error naming the layer and the call.
// Mapping:
//   conv + act       convolution_2d / depthwise_convolution_2d with the activation as the
//                    node's clamp (ReLU [0, ∞), ReLU6 [0, 6]) or a separate node (h-swish,
//                    sigmoid; swish = x · sigmoid(x) via multiply2). h-sigmoid is folded into
//                    the node itself: weights and bias scaled by 1/6, bias + 0.5, clamp [0, 1].
//   SE               global_average_pooling_2d → fully_connected (ReLU clamp) →
//                    fully_connected (h-sigmoid folded) → multiply2 broadcast over H×W
//   residual         add2
//   head             1×1 convolution + act → global average pool → [FC + act] → FC
// Buffers handed to XNNPACK are padded by XNN_EXTRA_BYTES.
#pragma once

#include <pthreadpool.h>
#include <xnnpack.h>

#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "edgenas/core/tensor.hpp"
#include "edgenas/space/cost.hpp"
#include "edgenas/space/genotype.hpp"

namespace edgenas::xnnpack {

namespace detail {

inline void check(xnn_status status, const char* call, const std::string& layer) {
  EDGENAS_CHECK(status == xnn_status_success, Status::runtime_error, "XNNPACK %s failed for %s (xnn_status %d)", call,
                layer.c_str(), static_cast<int>(status));
}

/// A pthreadpool of `threads` threads, or none (the caller's thread) for one.
inline pthreadpool_t make_pool(int threads) {
  if (threads <= 1) return nullptr;
  pthreadpool_t pool = pthreadpool_create(static_cast<std::size_t>(threads));
  EDGENAS_CHECK(pool != nullptr, Status::runtime_error, "pthreadpool_create(%d) failed", threads);
  return pool;
}

inline void initialize() {
  static const xnn_status status = xnn_initialize(nullptr);  // once per process
  check(status, "xnn_initialize", "the library");
}

constexpr float inf = std::numeric_limits<float>::infinity();

}  // namespace detail

/// The XNNPACK library's identity, for latency tables (Debian 12 ships commit ae108ef).
inline std::string library_identity() { return "XNNPACK ae108ef (Debian 12, libxnnpack0 0.0~git20220216)"; }

/// What a runtime executes: the whole network, or one piece of it on its own (latency tables
/// time pieces): the stem, one MBConv block (input shape and gene), or the head.
struct Piece {
  enum class Kind { network, stem, block, head } kind = Kind::network;
  Shape input{};   // block/head: the feature map entering the piece (n ignored)
  BlockGene block{};
};

/// Floats of folded weights a piece of `g` needs (its slice of inference_weights()).
inline std::int64_t piece_weight_count(const Genotype& g, const Piece& p) {
  switch (p.kind) {
    case Piece::Kind::network: return inference_weight_count(g.view());
    case Piece::Kind::stem:
      return std::int64_t{g.stem.kernel} * g.stem.kernel * g.input.c * g.stem.channels + g.stem.channels;
    case Piece::Kind::block: return block_inference_weight_count(p.input.c, p.block);
    case Piece::Kind::head: {
      const int features = g.head.hidden > 0 ? g.head.hidden : g.head.channels;
      return std::int64_t{p.input.c} * g.head.channels + g.head.channels +
             (g.head.hidden > 0 ? std::int64_t{g.head.channels} * g.head.hidden + g.head.hidden : 0) +
             std::int64_t{features} * g.head.classes + g.head.classes;
    }
  }
  return 0;
}

class Runtime {
 public:
  /// Builds the subgraph for `g` with weights in the layout of train::Network::inference_weights().
  /// threads = 1 runs on the caller's thread; more uses a pthreadpool of that size.
  Runtime(const Genotype& g, std::span<const float> weights, int threads = 1, int batch = 1)
      : Runtime(g, Piece{}, weights, threads, batch) {}

  /// Builds one piece of `g` (weights: that piece's slice, see piece_weight_count).
  Runtime(const Genotype& g, const Piece& piece, std::span<const float> weights, int threads = 1, int batch = 1)
      : genotype_(g), piece_(piece), batch_(batch) {
    validate(g);
    EDGENAS_CHECK(static_cast<std::int64_t>(weights.size()) == piece_weight_count(g, piece), Status::invalid_argument,
                  "xnnpack::Runtime: weight blob has %zu floats, the %s needs %lld", weights.size(), piece_name(piece),
                  static_cast<long long>(piece_weight_count(g, piece)));
    EDGENAS_CHECK(threads >= 1 && batch >= 1, Status::invalid_argument, "xnnpack::Runtime: threads %d, batch %d",
                  threads, batch);
    detail::initialize();
    pool_ = detail::make_pool(threads);
    weights_.assign(weights.begin(), weights.end());
    input_shape_ = piece.kind == Piece::Kind::network || piece.kind == Piece::Kind::stem ? g.input.with_batch(batch)
                                                                                         : piece.input.with_batch(batch);
    output_shape_ = piece_output_shape();
    input_.resize(static_cast<std::size_t>(input_shape_.size()) + XNN_EXTRA_BYTES / sizeof(float));
    output_.resize(static_cast<std::size_t>(output_shape_.size()) + XNN_EXTRA_BYTES / sizeof(float));
    build();
  }

  static const char* piece_name(const Piece& p) {
    switch (p.kind) {
      case Piece::Kind::network: return "network";
      case Piece::Kind::stem: return "stem";
      case Piece::Kind::block: return "block";
      case Piece::Kind::head: return "head";
    }
    return "piece";
  }
  ~Runtime() {
    if (runtime_) xnn_delete_runtime(runtime_);
    if (pool_) pthreadpool_destroy(pool_);
  }
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const Genotype& genotype() const noexcept { return genotype_; }
  int batch() const noexcept { return batch_; }

  /// The padded input buffer [batch, H, W, C]: write images here, then invoke().
  TensorView input() noexcept { return {input_.data(), input_shape_}; }
  /// Logits [batch, 1, 1, classes] (or the piece's output) of the last invoke().
  ConstTensorView output() const noexcept { return {output_.data(), output_shape_}; }

  void invoke() { detail::check(xnn_invoke_runtime(runtime_), "xnn_invoke_runtime", "the network"); }

  /// Copies `images` in, runs, copies the logits out.
  void run(ConstTensorView images, TensorView logits) {
    EDGENAS_CHECK(images.shape() == input_shape_, Status::invalid_shape,
                  "xnnpack::Runtime: images %dx%dx%dx%d, runtime built for %dx%dx%dx%d", images.shape().n,
                  images.shape().h, images.shape().w, images.shape().c, input_shape_.n, input_shape_.h,
                  input_shape_.w, input_shape_.c);
    EDGENAS_CHECK(logits.size() == output().size(), Status::invalid_shape,
                  "xnnpack::Runtime: logits buffer has %lld values, need %lld", static_cast<long long>(logits.size()),
                  static_cast<long long>(output().size()));
    std::memcpy(input_.data(), images.data(), sizeof(float) * static_cast<std::size_t>(images.size()));
    invoke();
    std::memcpy(logits.data(), output_.data(), sizeof(float) * static_cast<std::size_t>(logits.size()));
  }

 private:
  Shape piece_output_shape() const {
    const Genotype& g = genotype_;
    switch (piece_.kind) {
      case Piece::Kind::stem: return same_window_output(g.input.with_batch(batch_), g.stem.stride, g.stem.channels);
      case Piece::Kind::block:
        return same_window_output(piece_.input.with_batch(batch_), piece_.block.stride, piece_.block.out);
      default: return {batch_, 1, 1, g.head.classes};
    }
  }

  struct SubgraphDeleter {
    void operator()(xnn_subgraph* s) const noexcept { xnn_delete_subgraph(s); }
  };

  // A weight slice with its own storage when it must be transformed (h-sigmoid folding).
  std::span<const float> take(std::int64_t n) {
    const auto s = std::span<const float>(weights_).subspan(static_cast<std::size_t>(cursor_), static_cast<std::size_t>(n));
    cursor_ += n;
    return s;
  }
  const float* fold_hsigmoid(std::span<const float> values, bool is_bias) {
    auto& v = owned_.emplace_back(values.begin(), values.end());
    for (float& x : v) x = x / 6.0f + (is_bias ? 0.5f : 0.0f);
    return v.data();
  }

  uint32_t tensor(const std::vector<std::size_t>& dims, const float* data, uint32_t external_id, uint32_t flags,
                  const std::string& layer) {
    uint32_t id = 0;
    detail::check(xnn_define_tensor_value(subgraph_.get(), xnn_datatype_fp32, dims.size(), dims.data(), data,
                                          external_id, flags, &id),
                  "xnn_define_tensor_value", layer);
    return id;
  }
  uint32_t activation_tensor(Shape s, const std::string& layer) {
    return tensor({static_cast<std::size_t>(s.n), static_cast<std::size_t>(s.h), static_cast<std::size_t>(s.w),
                   static_cast<std::size_t>(s.c)},
                  nullptr, XNN_INVALID_VALUE_ID, 0, layer);
  }

  // Output range a node can clamp to for this activation (everything else needs a node).
  static std::pair<float, float> clamp_of(Activation a) {
    switch (a) {
      case Activation::relu: return {0.0f, detail::inf};
      case Activation::relu6: return {0.0f, 6.0f};
      case Activation::hsigmoid: return {0.0f, 1.0f};  // with the weights folded
      default: return {-detail::inf, detail::inf};
    }
  }

  static bool needs_node(Activation a) {
    return a == Activation::hswish || a == Activation::sigmoid || a == Activation::swish;
  }

  // Applies the activation nodes that could not be a clamp; returns the activated value id
  // (`external_out` when given).
  uint32_t activate(uint32_t x, Shape s, Activation a, const std::string& layer,
                    uint32_t external_out = XNN_INVALID_VALUE_ID) {
    const auto result = [&] { return external_out != XNN_INVALID_VALUE_ID ? external_out : activation_tensor(s, layer); };
    if (a == Activation::hswish) {
      const uint32_t y = result();
      detail::check(xnn_define_hardswish(subgraph_.get(), x, y, 0), "xnn_define_hardswish", layer);
      return y;
    }
    if (a == Activation::sigmoid || a == Activation::swish) {
      const uint32_t sig = a == Activation::sigmoid ? result() : activation_tensor(s, layer);
      detail::check(xnn_define_sigmoid(subgraph_.get(), x, sig, 0), "xnn_define_sigmoid", layer);
      if (a == Activation::sigmoid) return sig;
      const uint32_t y = result();
      detail::check(xnn_define_multiply2(subgraph_.get(), -detail::inf, detail::inf, x, sig, y, 0),
                    "xnn_define_multiply2", layer + " (swish)");
      return y;
    }
    return x;
  }

  // k×k convolution (full when groups == 1, depthwise when depthwise) + bias + activation.
  uint32_t conv(uint32_t x, Shape in, int out_c, int kernel, int stride, bool depthwise, Activation act,
                const std::string& layer, uint32_t external_out = XNN_INVALID_VALUE_ID) {
    const Shape out = same_window_output(in, stride, out_c);
    const std::int64_t wn = depthwise ? std::int64_t{kernel} * kernel * in.c : std::int64_t{out_c} * kernel * kernel * in.c;
    const auto w = take(wn);
    const auto b = take(out_c);
    const bool fold = act == Activation::hsigmoid;
    const float* wp = fold ? fold_hsigmoid(w, false) : w.data();
    const float* bp = fold ? fold_hsigmoid(b, true) : b.data();
    const auto k = static_cast<std::size_t>(kernel);
    const uint32_t wid = depthwise ? tensor({1, k, k, static_cast<std::size_t>(in.c)}, wp, XNN_INVALID_VALUE_ID, 0, layer)
                                   : tensor({static_cast<std::size_t>(out_c), k, k, static_cast<std::size_t>(in.c)}, wp,
                                            XNN_INVALID_VALUE_ID, 0, layer);
    const uint32_t bid = tensor({static_cast<std::size_t>(out_c)}, bp, XNN_INVALID_VALUE_ID, 0, layer);
    const bool direct = external_out != XNN_INVALID_VALUE_ID && !needs_node(act);
    const uint32_t y = direct ? external_out : activation_tensor(out, layer);
    const auto [lo, hi] = clamp_of(act);
    const auto ph = static_cast<uint32_t>(same_padding_total(in.h, kernel, stride));
    const auto pw = static_cast<uint32_t>(same_padding_total(in.w, kernel, stride));
    const auto s = static_cast<uint32_t>(stride), kk = static_cast<uint32_t>(kernel);
    if (depthwise)
      detail::check(xnn_define_depthwise_convolution_2d(subgraph_.get(), ph / 2, pw - pw / 2, ph - ph / 2, pw / 2, kk, kk,
                                                        s, s, 1, 1, 1, static_cast<std::size_t>(in.c), lo, hi, x, wid,
                                                        bid, y, 0),
                    "xnn_define_depthwise_convolution_2d", layer);
    else
      detail::check(xnn_define_convolution_2d(subgraph_.get(), ph / 2, pw - pw / 2, ph - ph / 2, pw / 2, kk, kk, s, s, 1,
                                              1, 1, static_cast<std::size_t>(in.c), static_cast<std::size_t>(out_c), lo,
                                              hi, x, wid, bid, y, 0),
                    "xnn_define_convolution_2d", layer);
    return direct ? y : activate(y, out, act, layer, external_out);
  }

  // Fully-connected on [N, 1, 1, in] → [N, 1, 1, out] + activation.
  uint32_t dense(uint32_t x, int n, int in, int out, Activation act, const std::string& layer,
                 uint32_t external_out = XNN_INVALID_VALUE_ID) {
    const auto w = take(std::int64_t{out} * in);
    const auto b = take(out);
    const bool fold = act == Activation::hsigmoid;
    const uint32_t wid = tensor({static_cast<std::size_t>(out), static_cast<std::size_t>(in)},
                                fold ? fold_hsigmoid(w, false) : w.data(), XNN_INVALID_VALUE_ID, 0, layer);
    const uint32_t bid = tensor({static_cast<std::size_t>(out)}, fold ? fold_hsigmoid(b, true) : b.data(),
                                XNN_INVALID_VALUE_ID, 0, layer);
    const Shape ys{n, 1, 1, out};
    const bool direct = external_out != XNN_INVALID_VALUE_ID && !needs_node(act);
    const uint32_t y = direct ? external_out : activation_tensor(ys, layer);
    const auto [lo, hi] = clamp_of(act);
    detail::check(xnn_define_fully_connected(subgraph_.get(), lo, hi, x, wid, bid, y, 0), "xnn_define_fully_connected",
                  layer);
    return direct ? y : activate(y, ys, act, layer, external_out);
  }

  uint32_t pool(uint32_t x, Shape in, const std::string& layer) {
    const uint32_t y = activation_tensor({in.n, 1, 1, in.c}, layer);
    detail::check(xnn_define_global_average_pooling_2d(subgraph_.get(), -detail::inf, detail::inf, x, y, 0),
                  "xnn_define_global_average_pooling_2d", layer);
    return y;
  }

  uint32_t external(Shape s, uint32_t id, uint32_t flags, const char* name) {
    return tensor({static_cast<std::size_t>(s.n), static_cast<std::size_t>(s.h), static_cast<std::size_t>(s.w),
                   static_cast<std::size_t>(s.c)},
                  nullptr, id, flags, name);
  }

  // One MBConv block on value x of shape s; returns the output value (external if given).
  uint32_t build_block(uint32_t x, Shape s, const BlockGene& b, const std::string& name,
                       uint32_t external_out = XNN_INVALID_VALUE_ID) {
    uint32_t h = x;
    Shape hs = s;
    if (b.expanded != s.c) {
      h = conv(h, hs, b.expanded, 1, 1, false, b.act, name + " expand");
      hs = hs.with_channels(b.expanded);
    }
    h = conv(h, hs, b.expanded, b.kernel, b.stride, true, b.act, name + " depthwise");
    hs = same_window_output(hs, b.stride, b.expanded);
    if (b.se) {
      const int r = se_reduced_channels(b.expanded);
      const uint32_t pooled = pool(h, hs, name + " SE pool");
      const uint32_t hidden = dense(pooled, hs.n, b.expanded, r, Activation::relu, name + " SE reduce");
      const uint32_t gate = dense(hidden, hs.n, r, b.expanded, Activation::hsigmoid, name + " SE expand");
      const uint32_t scaled = activation_tensor(hs, name + " SE scale");
      detail::check(xnn_define_multiply2(subgraph_.get(), -detail::inf, detail::inf, h, gate, scaled, 0),
                    "xnn_define_multiply2", name + " SE scale");
      h = scaled;
    }
    const bool residual = has_residual(s.c, b);
    const uint32_t projected = conv(h, hs, b.out, 1, 1, false, Activation::identity, name + " project",
                                    residual ? XNN_INVALID_VALUE_ID : external_out);
    if (!residual) return projected;
    const uint32_t sum = external_out != XNN_INVALID_VALUE_ID ? external_out : activation_tensor(hs.with_channels(b.out), name + " residual");
    detail::check(xnn_define_add2(subgraph_.get(), -detail::inf, detail::inf, projected, x, sum, 0), "xnn_define_add2",
                  name + " residual");
    return sum;
  }

  void build_head(uint32_t x, Shape s, uint32_t external_out) {
    const Genotype& g = genotype_;
    x = conv(x, s, g.head.channels, 1, 1, false, g.head.act, "head conv");
    uint32_t f = pool(x, s.with_channels(g.head.channels), "head pool");
    int features = g.head.channels;
    if (g.head.hidden > 0) {
      f = dense(f, batch_, features, g.head.hidden, g.head.act, "head hidden");
      features = g.head.hidden;
    }
    dense(f, batch_, features, g.head.classes, Activation::identity, "classifier", external_out);
  }

  void build() {
    const Genotype& g = genotype_;
    xnn_subgraph_t raw = nullptr;
    detail::check(xnn_create_subgraph(2, 0, &raw), "xnn_create_subgraph", piece_name(piece_));
    subgraph_.reset(raw);
    const uint32_t in = external(input_shape_, 0, XNN_VALUE_FLAG_EXTERNAL_INPUT, "input");
    const uint32_t out = external(output_shape_, 1, XNN_VALUE_FLAG_EXTERNAL_OUTPUT, "output");
    switch (piece_.kind) {
      case Piece::Kind::stem:
        conv(in, input_shape_, g.stem.channels, g.stem.kernel, g.stem.stride, false, g.stem.act, "stem", out);
        break;
      case Piece::Kind::block: build_block(in, input_shape_, piece_.block, "block", out); break;
      case Piece::Kind::head: build_head(in, input_shape_, out); break;
      case Piece::Kind::network: {
        uint32_t x = conv(in, input_shape_, g.stem.channels, g.stem.kernel, g.stem.stride, false, g.stem.act, "stem");
        Shape s = same_window_output(input_shape_, g.stem.stride, g.stem.channels);
        for (std::size_t i = 0; i < g.blocks.size(); ++i) {
          x = build_block(x, s, g.blocks[i], "block " + std::to_string(i));
          s = same_window_output(s, g.blocks[i].stride, g.blocks[i].out);
        }
        build_head(x, s, out);
        break;
      }
    }
    EDGENAS_CHECK(cursor_ == static_cast<std::int64_t>(weights_.size()), Status::invalid_argument,
                  "xnnpack::Runtime: %lld of %zu weights used", static_cast<long long>(cursor_), weights_.size());
    detail::check(xnn_create_runtime_v2(subgraph_.get(), pool_, 0, &runtime_), "xnn_create_runtime_v2", piece_name(piece_));
    const xnn_external_value externals[] = {{0, input_.data()}, {1, output_.data()}};
    detail::check(xnn_setup_runtime(runtime_, 2, externals), "xnn_setup_runtime", piece_name(piece_));
  }

  Genotype genotype_;
  Piece piece_;
  int batch_;
  Shape input_shape_{}, output_shape_{};
  std::vector<float> weights_;
  std::vector<std::vector<float>> owned_;  // transformed weights; XNNPACK keeps pointers into them
  std::int64_t cursor_ = 0;
  std::vector<float> input_, output_;
  std::unique_ptr<xnn_subgraph, SubgraphDeleter> subgraph_;
  pthreadpool_t pool_ = nullptr;
  xnn_runtime_t runtime_ = nullptr;
};

}  // namespace edgenas::xnnpack
