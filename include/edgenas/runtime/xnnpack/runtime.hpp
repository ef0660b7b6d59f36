// edgenas/runtime/xnnpack/runtime.hpp — a genotype plus its BN-folded weights as a list of
// layers (fp32), each run by XNNPACK or by edgenas's own kernel — whichever the plan chose for
// this device — in one static arena, on a caller-chosen number of threads.
//
// Why operators, not one XNNPACK subgraph: a subgraph owns its intermediate buffers, so mixing
// in another kernel would cost a copy at every boundary; XNNPACK operators take the buffers
// they read and write, so every layer here works in place in one arena planned once (values
// whose lifetimes do not overlap share bytes; every buffer 64-byte aligned). The layers are
// those XNNPACK's subgraph would run (xnn_define_* ↔ xnn_create_*), so the all-XNNPACK plan is
// the subgraph runtime's cost.
//
// Lowering (every XNNPACK failure is an edgenas::Error naming the layer and the call):
//   conv + act       convolution (depthwise: XNN_FLAG_DEPTHWISE_CONVOLUTION) with the
//                    activation as its clamp (ReLU [0, ∞), ReLU6 [0, 6]) or a separate operator
//                    (h-swish, sigmoid; swish = x · sigmoid(x)). h-sigmoid is folded into the
//                    layer: weights and bias scaled by 1/6, bias + 0.5, clamp [0, 1].
//   depthwise        XNNPACK, or kernels::depthwise_rows with bias and activation fused
//                    (plan.hpp decides per layer shape, by measurement on this device)
//   SE               global average pool → FC (ReLU) → FC (h-sigmoid folded) → multiply
//   residual         add
//   head             1×1 convolution + act → global average pool → [FC + act] → FC
#pragma once

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "edgenas/core/tensor.hpp"
#include "edgenas/runtime/kernels/depthwise.hpp"
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

/// Version of edgenas's own runtime kernels: part of every latency table's and plan's identity.
inline constexpr int own_kernels_version = 2;  // 2: one group for short rows (a faster kernel: plans re-measured)

/// The XNNPACK library's identity (Debian 12 ships commit ae108ef).
inline std::string xnnpack_identity() { return "XNNPACK ae108ef (Debian 12, libxnnpack0 0.0~git20220216)"; }

/// What runs the networks: XNNPACK plus edgenas's kernels chosen per layer — what a latency
/// table or a kernel plan was measured with.
inline std::string library_identity() {
  return xnnpack_identity() + " + edgenas kernels v" + std::to_string(own_kernels_version) + ", per-layer plan";
}

/// Who runs a layer.
enum class Implementation { xnnpack, edgenas };
inline const char* implementation_name(Implementation i) {
  return i == Implementation::xnnpack ? "xnnpack" : "edgenas";
}

/// How a runtime picks implementations: by measurement on this device (cached, plan.hpp), or
/// one of them wherever it can run the layer.
enum class PlanMode { measured, xnnpack, edgenas };

/// What a runtime executes: the whole network, or one piece of it on its own (latency tables
/// time pieces): the stem, one MBConv block (input shape and gene), the head, or one depthwise
/// layer with its activation as a block has it: fed by the block's 1×1 expansion (input shape;
/// expanded, kernel, stride, act from `block`; no expansion when input and expanded channels
/// agree).
struct Piece {
  enum class Kind { network, stem, block, head, depthwise } kind = Kind::network;
  Shape input{};  // block/head/depthwise: the feature map entering the piece (n ignored)
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
    case Piece::Kind::depthwise:
      return (p.input.c == p.block.expanded ? 0 : std::int64_t{p.input.c} * p.block.expanded + p.block.expanded) +
             std::int64_t{p.block.kernel} * p.block.kernel * p.block.expanded + p.block.expanded;
  }
  return 0;
}

/// A depthwise layer's identity in a plan: shape, kernel, stride, activation, batch, threads.
inline std::string depthwise_key(const kernels::DepthwiseLayer& l, int batch, int threads) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "dw %dx%dx%d k%d s%d %s n%d t%d", l.h, l.w, l.c, l.kernel, l.stride,
                activation_name(l.act).data(), batch, threads);
  return buf;
}

/// The implementation the device's kernel plan holds for a depthwise layer (measured the first
/// time a shape is asked for; plan.hpp).
inline Implementation planned_implementation(const kernels::DepthwiseLayer& layer, int batch, int threads);

/// One operator of a built runtime, as `edgenas bench --plan` reports it.
struct StepInfo {
  std::string layer;      // "block 3 depthwise"
  std::string operation;  // "depthwise 5x5 s2 28x28x96 +hswish"
  Implementation implementation = Implementation::xnnpack;
  std::string plan_key;  // depthwise layers: their key in the plan
};

class Runtime {
 public:
  /// Builds the network `g` with weights in the layout of train::Network::inference_weights().
  /// threads = 1 runs on the caller's thread; more uses a pthreadpool of that size.
  Runtime(const Genotype& g, std::span<const float> weights, int threads = 1, int batch = 1,
          PlanMode plan = PlanMode::measured)
      : Runtime(g, Piece{}, weights, threads, batch, plan) {}

  /// Builds one piece of `g` (weights: that piece's slice, see piece_weight_count).
  Runtime(const Genotype& g, const Piece& piece, std::span<const float> weights, int threads = 1, int batch = 1,
          PlanMode plan = PlanMode::measured)
      : genotype_(g), piece_(piece), batch_(batch), threads_(threads), mode_(plan) {
    validate(g);
    EDGENAS_CHECK(static_cast<std::int64_t>(weights.size()) == piece_weight_count(g, piece), Status::invalid_argument,
                  "xnnpack::Runtime: weight blob has %zu floats, the %s needs %lld", weights.size(), piece_name(piece),
                  static_cast<long long>(piece_weight_count(g, piece)));
    EDGENAS_CHECK(threads >= 1 && batch >= 1, Status::invalid_argument, "xnnpack::Runtime: threads %d, batch %d",
                  threads, batch);
    detail::initialize();
    pool_.reset(detail::make_pool(threads));
    weights_.assign(weights.begin(), weights.end());
    lower();
    plan_arena();
    instantiate();
  }

  static const char* piece_name(const Piece& p) {
    switch (p.kind) {
      case Piece::Kind::network: return "network";
      case Piece::Kind::stem: return "stem";
      case Piece::Kind::block: return "block";
      case Piece::Kind::head: return "head";
      case Piece::Kind::depthwise:
        return "depthwise layer";
    }
    return "piece";
  }
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const Genotype& genotype() const noexcept { return genotype_; }
  int batch() const noexcept { return batch_; }
  int threads() const noexcept { return threads_; }

  /// The input buffer [batch, H, W, C]: write images here, then invoke().
  TensorView input() noexcept { return {data(input_), values_[static_cast<std::size_t>(input_)].shape}; }
  /// Logits [batch, 1, 1, classes] (or the piece's output) of the last invoke().
  ConstTensorView output() const noexcept { return {data(output_), values_[static_cast<std::size_t>(output_)].shape}; }

  void invoke() {
    for (auto& s : steps_) s.run(pool_.get());
  }

  /// Copies `images` in, runs, copies the logits out.
  void run(ConstTensorView images, TensorView logits) {
    const Shape in = input().shape();
    EDGENAS_CHECK(images.shape() == in, Status::invalid_shape,
                  "xnnpack::Runtime: images %dx%dx%dx%d, runtime built for %dx%dx%dx%d", images.shape().n,
                  images.shape().h, images.shape().w, images.shape().c, in.n, in.h, in.w, in.c);
    EDGENAS_CHECK(logits.size() == output().size(), Status::invalid_shape,
                  "xnnpack::Runtime: logits buffer has %lld values, need %lld", static_cast<long long>(logits.size()),
                  static_cast<long long>(output().size()));
    std::memcpy(input().data(), images.data(), sizeof(float) * static_cast<std::size_t>(images.size()));
    invoke();
    std::memcpy(logits.data(), output().data(), sizeof(float) * static_cast<std::size_t>(logits.size()));
  }

  /// The operators in execution order, with who runs each.
  std::vector<StepInfo> steps() const {
    std::vector<StepInfo> out;
    for (const auto& s : steps_) out.push_back(s.info);
    return out;
  }
  /// Bytes of the arena holding every activation (input and output included).
  std::int64_t arena_bytes() const noexcept { return arena_floats_ * static_cast<std::int64_t>(sizeof(float)); }

  /// Runs the network `runs` times and returns each operator's median time in ms, in place
  /// (same arena, same neighbours): where the time goes.
  std::vector<double> profile(int runs) {
    using clock = std::chrono::steady_clock;
    std::vector<std::vector<double>> t(steps_.size());
    for (int r = 0; r < runs; ++r)
      for (std::size_t i = 0; i < steps_.size(); ++i) {
        const auto start = clock::now();
        steps_[i].run(pool_.get());
        t[i].push_back(std::chrono::duration<double, std::milli>(clock::now() - start).count());
      }
    std::vector<double> median;
    for (auto& v : t) {
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
      median.push_back(v.empty() ? 0.0 : v[v.size() / 2]);
    }
    return median;
  }

 private:
  // ---- the lowered network: operators over values --------------------------------------

  struct Value {
    Shape shape{};
    std::int64_t floats = 0;
    int first = 0, last = 0;  // steps that produce it and read it last
    std::int64_t offset = -1;
  };
  enum class OpKind { conv, depthwise_own, dense, pool, hardswish, sigmoid, multiply, add };
  struct Op {
    OpKind kind{};
    StepInfo info;
    int in = -1, in2 = -1, out = -1;
    int kernel = 1, stride = 1, groups = 1;
    float lo = -detail::inf, hi = detail::inf;
    const float* w = nullptr;
    const float* b = nullptr;
    kernels::DepthwiseLayer dw{};
  };

  struct OperatorDeleter {
    void operator()(xnn_operator* op) const noexcept { xnn_delete_operator(op); }
  };
  struct PoolDeleter {
    void operator()(pthreadpool* p) const noexcept { pthreadpool_destroy(p); }
  };
  struct Step {
    StepInfo info;
    std::unique_ptr<xnn_operator, OperatorDeleter> op;
    std::function<void(pthreadpool_t)> own;
    void run(pthreadpool_t pool) {
      if (op)
        detail::check(xnn_run_operator(op.get(), pool), "xnn_run_operator", info.layer);
      else
        own(pool);
    }
  };

  static Op make_op(OpKind kind, const std::string& layer, std::string operation, int in, int in2 = -1) {
    Op op;
    op.kind = kind;
    op.info.layer = layer;
    op.info.operation = std::move(operation);
    op.in = in;
    op.in2 = in2;
    return op;
  }

  int value(Shape s) {
    values_.push_back({s, s.size(), static_cast<int>(ops_.size()), static_cast<int>(ops_.size()), -1});
    return static_cast<int>(values_.size()) - 1;
  }
  void use(int v) {
    if (v >= 0) values_[static_cast<std::size_t>(v)].last = static_cast<int>(ops_.size());
  }
  // Records `op` (reading op.in/op.in2), creating its output value of shape `out`.
  int emit(Op op, Shape out) {
    use(op.in);
    use(op.in2);
    op.out = value(out);
    ops_.push_back(std::move(op));
    return ops_.back().out;
  }
  const Shape& shape(int v) const { return values_[static_cast<std::size_t>(v)].shape; }

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

  // Output range an operator can clamp to for this activation (everything else needs one).
  static std::pair<float, float> clamp_of(Activation a) {
    switch (a) {
      case Activation::relu: return {0.0f, detail::inf};
      case Activation::relu6: return {0.0f, 6.0f};
      case Activation::hsigmoid: return {0.0f, 1.0f};  // with the weights folded
      default: return {-detail::inf, detail::inf};
    }
  }

  // The activation operators that could not be a clamp.
  int activate(int x, Activation a, const std::string& layer) {
    if (a == Activation::hswish) return emit(make_op(OpKind::hardswish, layer, "h-swish", x), shape(x));
    if (a != Activation::sigmoid && a != Activation::swish) return x;
    const int sig = emit(make_op(OpKind::sigmoid, layer, "sigmoid", x), shape(x));
    if (a == Activation::sigmoid) return sig;
    return emit(make_op(OpKind::multiply, layer, "multiply (swish)", x, sig), shape(x));
  }

  static std::string describe(const char* what, Shape in, int k, int s, int out_c) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s %dx%d s%d %dx%dx%d -> %d", what, k, k, s, in.h, in.w, in.c, out_c);
    return buf;
  }

  // k×k convolution (full, or depthwise) + bias + activation.
  int conv(int x, int out_c, int kernel, int stride, bool depthwise, Activation act, const std::string& layer) {
    const Shape in = shape(x);
    const Shape out = same_window_output(in, stride, out_c);
    const std::int64_t wn = depthwise ? std::int64_t{kernel} * kernel * in.c : std::int64_t{out_c} * kernel * kernel * in.c;
    const auto w = take(wn);
    const auto b = take(out_c);
    Op op = make_op(OpKind::conv, layer, describe(depthwise ? "depthwise" : "conv", in, kernel, stride, out_c), x);
    op.kernel = kernel;
    op.stride = stride;
    op.groups = depthwise ? in.c : 1;
    if (depthwise) {
      op.dw = {in.h, in.w, in.c, kernel, stride, act};
      op.info.plan_key = depthwise_key(op.dw, batch_, threads_);
      op.info.implementation = choose(op.dw);
      if (op.info.implementation == Implementation::edgenas) {  // bias and activation fused
        op.kind = OpKind::depthwise_own;
        op.info.operation += std::string(" +") + activation_name(act).data();
        op.w = w.data();
        op.b = b.data();
        return emit(op, out);
      }
    }
    const bool fold = act == Activation::hsigmoid;
    op.w = fold ? fold_hsigmoid(w, false) : w.data();
    op.b = fold ? fold_hsigmoid(b, true) : b.data();
    std::tie(op.lo, op.hi) = clamp_of(act);
    return activate(emit(op, out), act, layer);
  }

  Implementation choose(const kernels::DepthwiseLayer& l) const {
    switch (mode_) {
      case PlanMode::xnnpack:
        return Implementation::xnnpack;
      case PlanMode::edgenas:
        return Implementation::edgenas;
      case PlanMode::measured:
        break;
    }
    return planned_implementation(l, batch_, threads_);
  }

  // Fully-connected on [N, 1, 1, in] → [N, 1, 1, out] + activation.
  int dense(int x, int out, Activation act, const std::string& layer) {
    const int in = shape(x).c;
    const auto w = take(std::int64_t{out} * in);
    const auto b = take(out);
    const bool fold = act == Activation::hsigmoid;
    Op op = make_op(OpKind::dense, layer, "fully connected " + std::to_string(in) + " -> " + std::to_string(out), x);
    op.w = fold ? fold_hsigmoid(w, false) : w.data();
    op.b = fold ? fold_hsigmoid(b, true) : b.data();
    std::tie(op.lo, op.hi) = clamp_of(act);
    return activate(emit(op, {batch_, 1, 1, out}), act, layer);
  }

  int pool(int x, const std::string& layer) {
    const Shape s = shape(x);
    return emit(make_op(OpKind::pool, layer, "global average pool", x), {s.n, 1, 1, s.c});
  }

  // One MBConv block on value x.
  int block(int x, const BlockGene& b, const std::string& name) {
    const int in_c = shape(x).c;
    int h = x;
    if (b.expanded != in_c) h = conv(h, b.expanded, 1, 1, false, b.act, name + " expand");
    h = conv(h, b.expanded, b.kernel, b.stride, true, b.act, name + " depthwise");
    if (b.se) {
      const int r = se_reduced_channels(b.expanded);
      const int pooled = pool(h, name + " SE pool");
      const int hidden = dense(pooled, r, Activation::relu, name + " SE reduce");
      const int gate = dense(hidden, b.expanded, Activation::hsigmoid, name + " SE expand");
      h = emit(make_op(OpKind::multiply, name + " SE scale", "multiply (broadcast)", h, gate), shape(h));
    }
    const int projected = conv(h, b.out, 1, 1, false, Activation::identity, name + " project");
    if (!has_residual(in_c, b)) return projected;
    return emit(make_op(OpKind::add, name + " residual", "add", projected, x), shape(projected));
  }

  int head(int x) {
    const Genotype& g = genotype_;
    x = conv(x, g.head.channels, 1, 1, false, g.head.act, "head conv");
    int f = pool(x, "head pool");
    if (g.head.hidden > 0) f = dense(f, g.head.hidden, g.head.act, "head hidden");
    return dense(f, g.head.classes, Activation::identity, "classifier");
  }

  void lower() {
    const Genotype& g = genotype_;
    const bool from_image = piece_.kind == Piece::Kind::network || piece_.kind == Piece::Kind::stem;
    input_ = value(from_image ? g.input.with_batch(batch_) : piece_.input.with_batch(batch_));
    int x = input_;
    const auto stem = [&] { return conv(x, g.stem.channels, g.stem.kernel, g.stem.stride, false, g.stem.act, "stem"); };
    switch (piece_.kind) {
      case Piece::Kind::stem:
        x = stem();
        break;
      case Piece::Kind::block:
        x = block(x, piece_.block, "block");
        break;
      case Piece::Kind::head:
        x = head(x);
        break;
      case Piece::Kind::depthwise: {
        const BlockGene& b = piece_.block;
        if (b.expanded != shape(x).c) x = conv(x, b.expanded, 1, 1, false, b.act, "expand");
        x = conv(x, b.expanded, b.kernel, b.stride, true, b.act, "depthwise");
        break;
      }
      case Piece::Kind::network:
        x = stem();
        for (std::size_t i = 0; i < g.blocks.size(); ++i) x = block(x, g.blocks[i], "block " + std::to_string(i));
        x = head(x);
        break;
    }
    output_ = x;
    EDGENAS_CHECK(cursor_ == static_cast<std::int64_t>(weights_.size()), Status::invalid_argument,
                  "xnnpack::Runtime: %lld of %zu weights used", static_cast<long long>(cursor_), weights_.size());
    // The input and the output stay valid between invocations.
    values_[static_cast<std::size_t>(input_)].first = -1;
    values_[static_cast<std::size_t>(input_)].last = values_[static_cast<std::size_t>(output_)].last =
        static_cast<int>(ops_.size());
  }

  // ---- the arena: greedy by size, values whose lifetimes overlap never share bytes ----

  static constexpr std::int64_t align_floats = 16;  // 64 bytes: whole cache lines, aligned SIMD loads

  void plan_arena() {
    std::vector<std::size_t> order(values_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto padded = [](const Value& v) {  // XNNPACK may read XNN_EXTRA_BYTES past a buffer
      const std::int64_t n = v.floats + static_cast<std::int64_t>(XNN_EXTRA_BYTES / sizeof(float));
      return (n + align_floats - 1) / align_floats * align_floats;
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return padded(values_[a]) > padded(values_[b]); });
    std::vector<std::size_t> placed;
    for (std::size_t i : order) {
      Value& v = values_[i];
      std::vector<std::pair<std::int64_t, std::int64_t>> busy;  // [begin, end) of live neighbours
      for (std::size_t j : placed) {
        const Value& u = values_[j];
        if (u.first <= v.last && v.first <= u.last) busy.emplace_back(u.offset, u.offset + padded(u));
      }
      std::sort(busy.begin(), busy.end());
      std::int64_t offset = 0;
      for (const auto& [begin, end] : busy) {
        if (offset + padded(v) <= begin) break;
        offset = std::max(offset, end);
      }
      v.offset = offset;
      arena_floats_ = std::max(arena_floats_, offset + padded(v));
      placed.push_back(i);
    }
    arena_.assign(static_cast<std::size_t>(arena_floats_ + align_floats), 0.0f);
  }

  float* data(int v) {
    auto base = reinterpret_cast<std::uintptr_t>(arena_.data());
    base = (base + align_floats * sizeof(float) - 1) / (align_floats * sizeof(float)) * (align_floats * sizeof(float));
    return reinterpret_cast<float*>(base) + values_[static_cast<std::size_t>(v)].offset;
  }
  const float* data(int v) const { return const_cast<Runtime*>(this)->data(v); }

  // ---- instantiation: XNNPACK operators set up on their arena buffers, or own kernels ----

  static std::vector<std::size_t> dims(Shape s) {
    return {static_cast<std::size_t>(s.n), static_cast<std::size_t>(s.h), static_cast<std::size_t>(s.w),
            static_cast<std::size_t>(s.c)};
  }

  void instantiate() {
    for (const Op& op : ops_) {
      Step step;
      step.info = op.info;
      const std::string& layer = op.info.layer;
      const Shape in = shape(op.in), out = shape(op.out);
      const auto n = static_cast<std::size_t>(in.n);
      xnn_operator_t raw = nullptr;
      pthreadpool_t pool = pool_.get();
      switch (op.kind) {
        case OpKind::conv: {
          const auto ph = static_cast<uint32_t>(same_padding_total(in.h, op.kernel, op.stride));
          const auto pw = static_cast<uint32_t>(same_padding_total(in.w, op.kernel, op.stride));
          const auto k = static_cast<uint32_t>(op.kernel), s = static_cast<uint32_t>(op.stride);
          const bool depthwise = op.groups > 1;
          detail::check(
              xnn_create_convolution2d_nhwc_f32(
                  ph / 2, pw - pw / 2, ph - ph / 2, pw / 2, k, k, s, s, 1, 1, static_cast<uint32_t>(op.groups),
                  depthwise ? 1 : static_cast<std::size_t>(in.c), depthwise ? 1 : static_cast<std::size_t>(out.c),
                  static_cast<std::size_t>(in.c), static_cast<std::size_t>(out.c), op.w, op.b, op.lo, op.hi,
                  depthwise ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0, &raw),
              "xnn_create_convolution2d_nhwc_f32", layer);
          step.op.reset(raw);
          detail::check(
              xnn_setup_convolution2d_nhwc_f32(raw, n, static_cast<std::size_t>(in.h), static_cast<std::size_t>(in.w),
                                               data(op.in), data(op.out), pool),
              "xnn_setup_convolution2d_nhwc_f32", layer);
          break;
        }
        case OpKind::depthwise_own:
          step.own = own_depthwise(op);
          break;
        case OpKind::dense:
          detail::check(
              xnn_create_fully_connected_nc_f32(static_cast<std::size_t>(in.c), static_cast<std::size_t>(out.c),
                                                static_cast<std::size_t>(in.c), static_cast<std::size_t>(out.c), op.w,
                                                op.b, op.lo, op.hi, 0, &raw),
              "xnn_create_fully_connected_nc_f32", layer);
          step.op.reset(raw);
          detail::check(xnn_setup_fully_connected_nc_f32(raw, n, data(op.in), data(op.out), pool),
                        "xnn_setup_fully_connected_nc_f32", layer);
          break;
        case OpKind::pool: {
          const auto c = static_cast<std::size_t>(in.c);
          detail::check(xnn_create_global_average_pooling_nwc_f32(c, c, c, -detail::inf, detail::inf, 0, &raw),
                        "xnn_create_global_average_pooling_nwc_f32", layer);
          step.op.reset(raw);
          detail::check(xnn_setup_global_average_pooling_nwc_f32(raw, n, static_cast<std::size_t>(in.h) * in.w,
                                                                 data(op.in), data(op.out), pool),
                        "xnn_setup_global_average_pooling_nwc_f32", layer);
          break;
        }
        case OpKind::hardswish:
        case OpKind::sigmoid: {
          const auto c = static_cast<std::size_t>(in.c);
          const auto pixels = static_cast<std::size_t>(in.size() / in.c);
          if (op.kind == OpKind::hardswish) {
            detail::check(xnn_create_hardswish_nc_f32(c, c, c, 0, &raw), "xnn_create_hardswish_nc_f32", layer);
            step.op.reset(raw);
            detail::check(xnn_setup_hardswish_nc_f32(raw, pixels, data(op.in), data(op.out), pool),
                          "xnn_setup_hardswish_nc_f32", layer);
          } else {
            detail::check(xnn_create_sigmoid_nc_f32(c, c, c, 0, &raw), "xnn_create_sigmoid_nc_f32", layer);
            step.op.reset(raw);
            detail::check(xnn_setup_sigmoid_nc_f32(raw, pixels, data(op.in), data(op.out), pool),
                          "xnn_setup_sigmoid_nc_f32", layer);
          }
          break;
        }
        case OpKind::multiply:
        case OpKind::add: {
          const auto a = dims(in), b = dims(shape(op.in2));
          if (op.kind == OpKind::multiply) {
            detail::check(xnn_create_multiply_nd_f32(-detail::inf, detail::inf, 0, &raw), "xnn_create_multiply_nd_f32",
                          layer);
            step.op.reset(raw);
            detail::check(xnn_setup_multiply_nd_f32(raw, a.size(), a.data(), b.size(), b.data(), data(op.in),
                                                    data(op.in2), data(op.out), pool),
                          "xnn_setup_multiply_nd_f32", layer);
          } else {
            detail::check(xnn_create_add_nd_f32(-detail::inf, detail::inf, 0, &raw), "xnn_create_add_nd_f32", layer);
            step.op.reset(raw);
            detail::check(xnn_setup_add_nd_f32(raw, a.size(), a.data(), b.size(), b.data(), data(op.in), data(op.in2),
                                               data(op.out), pool),
                          "xnn_setup_add_nd_f32", layer);
          }
          break;
        }
      }
      steps_.push_back(std::move(step));
    }
  }

  // edgenas's depthwise kernel over the pool: output rows are the tasks.
  std::function<void(pthreadpool_t)> own_depthwise(const Op& op) {
    struct Task {
      kernels::DepthwiseLayer layer;
      const float *x, *w, *b;
      float* y;
      std::int64_t in_image, out_image;
      int out_h;
    };
    const Shape in = shape(op.in), out = shape(op.out);
    const auto task = std::make_shared<Task>(
        Task{op.dw, data(op.in), op.w, op.b, data(op.out), in.per_image(), out.per_image(), op.dw.out_h()});
    const auto rows = static_cast<std::size_t>(in.n) * static_cast<std::size_t>(task->out_h);
    return [task, rows](pthreadpool_t pool) {
      pthreadpool_parallelize_1d(
          pool,
          [](void* context, std::size_t i) {
            const Task& t = *static_cast<const Task*>(context);
            const auto n = static_cast<std::int64_t>(i) / t.out_h;
            const int row = static_cast<int>(static_cast<std::int64_t>(i) % t.out_h);
            kernels::depthwise_rows(t.layer, t.x + n * t.in_image, t.w, t.b, t.y + n * t.out_image, row, row + 1);
          },
          task.get(), rows, 0);
    };
  }

  Genotype genotype_;
  Piece piece_;
  int batch_, threads_;
  PlanMode mode_;
  std::vector<float> weights_;
  std::vector<std::vector<float>> owned_;  // transformed weights the operators were built from
  std::int64_t cursor_ = 0;
  std::vector<Value> values_;
  std::vector<Op> ops_;
  int input_ = -1, output_ = -1;
  std::int64_t arena_floats_ = 0;
  std::vector<float> arena_;
  std::unique_ptr<pthreadpool, PoolDeleter> pool_;
  std::vector<Step> steps_;  // destroyed first: operators before the pool
};

}  // namespace edgenas::xnnpack

#include "edgenas/runtime/xnnpack/plan.hpp"  // planned_implementation()
