// edgenas/runtime/reference/inference.hpp — single-image inference from folded weights in one
// caller-provided arena: no heap, no threads, no Eigen, no exceptions needed (errors go through
// the error handler), plain kernels (reference/kernels.hpp). For firmware and as the reference;
// a deploy header (docs/porting.md, "Deploy headers": it compiles with nothing but the deploy headers).
//
// Works from a NetworkView, so a genotype (run time) and a network type (compile time:
// infer<Net>, where the shapes are constants) share it. Buffers are placed at the two ends of
// the arena — a block's input at one end, what it produces at the other, the shortcut kept
// where it is — so the arena needs exactly peak_activation_bytes(view) (space/cost.hpp).
//
// Weight blob layout (what train::Network::inference_weights() writes), float32:
//   stem: OHWI weights, bias
//   per block: [expand: [O][I], bias] depthwise [k][k][C], bias
//              [SE: reduce [R][C], bias R, expand [C][R], bias C] project [O][I], bias
//   head: conv [O][I], bias; [hidden [H][C], bias]; classifier [K][F], bias
#pragma once

#include <span>

#include "edgenas/runtime/reference/kernels.hpp"
#include "edgenas/space/cost.hpp"

namespace edgenas::reference {

/// Floats the arena must hold for `g` (the input image is passed separately).
constexpr std::int64_t arena_floats(const NetworkView& g) noexcept {
  return peak_activation_bytes(g) / static_cast<std::int64_t>(sizeof(float));
}

namespace detail {

class WeightCursor {
 public:
  explicit WeightCursor(std::span<const float> w) : w_(w) {}
  std::span<const float> take(std::int64_t n) {
    EDGENAS_CHECK(offset_ + n <= static_cast<std::int64_t>(w_.size()), Status::invalid_argument,
                  "reference inference: weight blob has %zu floats, the architecture needs more", w_.size());
    const auto s = w_.subspan(static_cast<std::size_t>(offset_), static_cast<std::size_t>(n));
    offset_ += n;
    return s;
  }
  std::int64_t used() const noexcept { return offset_; }

 private:
  std::span<const float> w_;
  std::int64_t offset_ = 0;
};

// A tensor in the arena: where it starts and its shape.
struct View {
  float* at = nullptr;
  Shape shape;
  float* data() const noexcept { return at; }
};

// Two-ended placement in the arena: side 0 grows from the start, side 1 from the end.
struct Arena {
  float* base;
  std::int64_t size;
  float* at(int side, std::int64_t offset, std::int64_t n) const noexcept {
    return side == 0 ? base + offset : base + size - offset - n;
  }
};

}  // namespace detail

/// Runs one image (H·W·C floats, NHWC) through the network; writes `classes` logits.
inline void infer(const NetworkView& g, std::span<const float> weights, std::span<const float> image,
                  std::span<float> arena, std::span<float> logits) {
  EDGENAS_CHECK(static_cast<std::int64_t>(image.size()) == g.input.with_batch(1).size(), Status::invalid_shape,
                "reference inference: image of %zu floats, the network expects 1x%dx%dx%d", image.size(), g.input.h,
                g.input.w, g.input.c);
  EDGENAS_CHECK(static_cast<std::int64_t>(arena.size()) >= arena_floats(g), Status::invalid_argument,
                "reference inference: arena of %zu floats, this network needs %lld", arena.size(),
                static_cast<long long>(arena_floats(g)));
  EDGENAS_CHECK(static_cast<std::int64_t>(weights.size()) == inference_weight_count(g), Status::invalid_argument,
                "reference inference: weight blob has %zu floats, this network needs %lld", weights.size(),
                static_cast<long long>(inference_weight_count(g)));
  EDGENAS_CHECK(logits.size() == static_cast<std::size_t>(g.head.classes), Status::invalid_shape,
                "reference inference: %zu logits requested, the network has %d classes", logits.size(), g.head.classes);
  using detail::View;
  detail::WeightCursor w(weights);
  const detail::Arena a{arena.data(), static_cast<std::int64_t>(arena.size())};

  const Shape stem_shape = stem_output_shape(g);
  const auto stem_w = w.take(std::int64_t{g.stem.kernel} * g.stem.kernel * g.input.c * g.stem.channels);
  View cur{a.at(0, 0, stem_shape.size()), stem_shape};
  kernels::conv2d(image.data(), g.input.with_batch(1), stem_w.data(), w.take(g.stem.channels).data(), g.stem.kernel,
                  g.stem.stride, cur.data(), stem_shape);
  kernels::activate(g.stem.act, cur.data(), stem_shape.size());
  int side = 0;

  for_each_block(g, [&](std::size_t, const BlockGene& b, const BlockShapes& s) {
    const bool residual = has_residual(s.in.c, b);
    const std::int64_t keep = residual ? s.in.size() : 0;  // floats of the shortcut at `side`
    const Shape dw_shape{1, s.out.h, s.out.w, b.expanded};
    const int r = se_reduced_channels(b.expanded);
    View dw_in = cur, dw_out;
    int dw_side;
    if (b.expanded != s.in.c) {
      const View expanded{a.at(1 - side, 0, s.expanded.size()), s.expanded};
      const auto ew = w.take(std::int64_t{s.in.c} * b.expanded);
      kernels::pointwise(cur.data(), s.in.pixels(), s.in.c, ew.data(), w.take(b.expanded).data(), b.expanded,
                         expanded.data());
      kernels::activate(b.act, expanded.data(), s.expanded.size());
      dw_in = expanded;
      dw_side = side;
      dw_out = {a.at(side, keep, dw_shape.size()), dw_shape};
    } else {
      dw_side = 1 - side;
      dw_out = {a.at(1 - side, 0, dw_shape.size()), dw_shape};
    }
    const auto dww = w.take(std::int64_t{b.kernel} * b.kernel * b.expanded);
    kernels::depthwise(dw_in.data(), dw_in.shape, dww.data(), w.take(b.expanded).data(), b.kernel, b.stride,
                       dw_out.data(), dw_shape);
    kernels::activate(b.act, dw_out.data(), dw_shape.size());
    // Scratch and the projection go where nothing alive is: past the shortcut on the block's
    // input side when the depthwise output sits on the other side, else on the other side.
    const auto free_spot = [&](std::int64_t n) {
      if (dw_side == side) return a.at(1 - side, 0, n);
      return a.at(side, keep, n);
    };
    if (b.se) {
      const auto w1 = w.take(std::int64_t{r} * b.expanded), b1 = w.take(r);
      const auto w2 = w.take(std::int64_t{b.expanded} * r), b2 = w.take(b.expanded);
      const std::int64_t scratch = squeeze_excite_scratch_floats(b.expanded, r);
      kernels::squeeze_excite(dw_out.data(), dw_shape.pixels(), b.expanded, r, w1.data(), b1.data(), w2.data(), b2.data(),
                              free_spot(scratch));
    }
    const auto pw = w.take(std::int64_t{b.expanded} * b.out);
    const auto pb = w.take(b.out);
    if (residual) {
      // The projection adds onto the shortcut in place: the block's output stays at the edge
      // of its input's side, where every later placement expects a block input.
      kernels::pointwise(dw_out.data(), dw_shape.pixels(), b.expanded, pw.data(), pb.data(), b.out, cur.data(), true);
      return;
    }
    const View out{free_spot(s.out.size()), s.out};
    kernels::pointwise(dw_out.data(), dw_shape.pixels(), b.expanded, pw.data(), pb.data(), b.out, out.data());
    cur = out;
    side = dw_side == side ? 1 - side : side;
  });

  const Shape head_in = head_input_shape(g);
  const Shape conv_shape{1, head_in.h, head_in.w, g.head.channels};
  const View conv{a.at(1 - side, 0, conv_shape.size()), conv_shape};
  const auto hw = w.take(std::int64_t{head_in.c} * g.head.channels);
  kernels::pointwise(cur.data(), head_in.pixels(), head_in.c, hw.data(), w.take(g.head.channels).data(), g.head.channels,
                     conv.data());
  kernels::activate(g.head.act, conv.data(), conv_shape.size());
  float* features = a.at(side, 0, g.head.channels);
  kernels::global_average_pool(conv.data(), conv_shape.pixels(), g.head.channels, features);
  int feature_count = g.head.channels;
  if (g.head.hidden > 0) {
    float* hidden = a.at(1 - side, 0, g.head.hidden);
    const auto hwts = w.take(std::int64_t{g.head.channels} * g.head.hidden);
    kernels::pointwise(features, 1, g.head.channels, hwts.data(), w.take(g.head.hidden).data(), g.head.hidden, hidden);
    kernels::activate(g.head.act, hidden, g.head.hidden);
    features = hidden;
    feature_count = g.head.hidden;
  }
  const auto cw = w.take(std::int64_t{feature_count} * g.head.classes);
  kernels::pointwise(features, 1, feature_count, cw.data(), w.take(g.head.classes).data(), g.head.classes, logits.data());
}

/// The typed entry point: shapes, weight count and arena size are compile-time constants of Net.
template <typename Net>
inline constexpr std::int64_t arena_floats_v = arena_floats(Net::view);

template <typename Net>
void infer(std::span<const float> weights,
           std::span<const float, static_cast<std::size_t>(Net::input_shape.per_image())> image,
           std::span<float, arena_floats_v<Net>> arena,
           std::span<float, static_cast<std::size_t>(Net::output_shape.c)> logits) {
  infer(Net::view, weights, image, arena, logits);
}

/// Either entry point with an image that has data() and shape() (a host tensor view, e.g.
/// core/tensor.hpp's): its shape must be the network's input, batch 1.
template <typename Image>
requires requires(const Image& x) { x.data(), x.shape(); }
void infer(const NetworkView& g, std::span<const float> weights, const Image& image, std::span<float> arena,
           std::span<float> logits) {
  const Shape s = image.shape();
  EDGENAS_CHECK(s == g.input.with_batch(1), Status::invalid_shape,
                "reference inference: image is %dx%dx%dx%d, the network expects 1x%dx%dx%d", s.n, s.h, s.w, s.c,
                g.input.h, g.input.w, g.input.c);
  infer(g, weights, std::span<const float>(image.data(), static_cast<std::size_t>(s.size())), arena, logits);
}
template <typename Net, typename Image>
requires requires(const Image& x) { x.data(), x.shape(); }
void infer(std::span<const float> weights, const Image& image, std::span<float, arena_floats_v<Net>> arena,
           std::span<float, static_cast<std::size_t>(Net::output_shape.c)> logits) {
  infer(Net::view, weights, image, arena, logits);
}

}  // namespace edgenas::reference
