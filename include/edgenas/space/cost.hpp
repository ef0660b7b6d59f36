// edgenas/space/cost.hpp — what an architecture costs, computed from its genes, constexpr.
//
// One implementation serves both worlds: a Genotype's view() at run time and a network
// type's constexpr view at compile time (static_assert on params, MACs, arena size).
//
// Conventions (those of the MobileNet papers and torchvision's reference figures):
// - parameters: conv and FC weights, FC biases, batch-norm scale and shift (convs followed by
//   BN have no bias); running statistics are buffers, not parameters.
// - MACs: convolutions and fully-connected layers (SE included), per image; BN, activations,
//   pooling and residual adds are not counted.
// - peak activation bytes: float32, batch 1, the largest set of tensors alive at once during
//   inference when every op writes a fresh buffer except elementwise ones (BN folded,
//   activations, SE scaling, residual add), which work in place; the block input stays alive
//   until the residual add that needs it. This is the arena a static-memory runtime needs.
#pragma once

#include <algorithm>
#include <cstdint>

#include "edgenas/core/shape.hpp"
#include "edgenas/space/genes.hpp"

namespace edgenas {

/// Feature-map shape after the stem and after each block (n = 1).
struct BlockShapes {
  Shape in;
  Shape expanded;  // after the 1×1 expansion (== in when there is none)
  Shape out;
};

constexpr Shape stem_output_shape(const NetworkView& g) noexcept {
  return {1, same_output_extent(g.input.h, g.stem.stride), same_output_extent(g.input.w, g.stem.stride),
          g.stem.channels};
}

/// Calls fn(index, BlockGene, BlockShapes) for every block in order.
template <typename Fn>
constexpr void for_each_block(const NetworkView& g, Fn&& fn) {
  Shape in = stem_output_shape(g);
  for (std::size_t i = 0; i < g.blocks.size(); ++i) {
    const BlockGene& b = g.blocks[i];
    const Shape expanded{1, in.h, in.w, b.expanded};
    const Shape out{1, same_output_extent(in.h, b.stride), same_output_extent(in.w, b.stride), b.out};
    fn(i, b, BlockShapes{in, expanded, out});
    in = out;
  }
}

/// Shape entering the head (after the last block).
constexpr Shape head_input_shape(const NetworkView& g) noexcept {
  Shape s = stem_output_shape(g);
  for_each_block(g, [&](std::size_t, const BlockGene&, const BlockShapes& shapes) { s = shapes.out; });
  return s;
}

constexpr Shape output_shape(const NetworkView& g) noexcept { return {1, 1, 1, g.head.classes}; }

// ---- parameters -------------------------------------------------------------------------

constexpr std::int64_t stem_parameters(const NetworkView& g) noexcept {
  return std::int64_t{g.stem.kernel} * g.stem.kernel * g.input.c * g.stem.channels + 2 * g.stem.channels;
}

constexpr std::int64_t block_parameters(int in_channels, const BlockGene& b) noexcept {
  std::int64_t p = 0;
  if (b.expanded != in_channels) p += std::int64_t{in_channels} * b.expanded + 2 * b.expanded;
  p += std::int64_t{b.kernel} * b.kernel * b.expanded + 2 * b.expanded;
  if (b.se) {
    const int r = se_reduced_channels(b.expanded);
    p += 2 * std::int64_t{b.expanded} * r + r + b.expanded;
  }
  p += std::int64_t{b.expanded} * b.out + 2 * b.out;
  return p;
}

constexpr std::int64_t head_parameters(int in_channels, const HeadGene& h) noexcept {
  std::int64_t p = std::int64_t{in_channels} * h.channels + 2 * h.channels;
  const int features = h.hidden > 0 ? h.hidden : h.channels;
  if (h.hidden > 0) p += std::int64_t{h.channels} * h.hidden + h.hidden;
  return p + std::int64_t{features} * h.classes + h.classes;
}

constexpr std::int64_t parameter_count(const NetworkView& g) noexcept {
  std::int64_t p = stem_parameters(g);
  for_each_block(g, [&](std::size_t, const BlockGene& b, const BlockShapes& s) { p += block_parameters(s.in.c, b); });
  return p + head_parameters(head_input_shape(g).c, g.head);
}

// ---- multiply-accumulates ---------------------------------------------------------------

constexpr std::int64_t block_macs(const BlockGene& b, const BlockShapes& s) noexcept {
  std::int64_t m = 0;
  if (b.expanded != s.in.c) m += s.in.pixels() * s.in.c * b.expanded;
  m += s.out.pixels() * b.kernel * b.kernel * b.expanded;
  if (b.se) m += 2 * std::int64_t{b.expanded} * se_reduced_channels(b.expanded);
  return m + s.out.pixels() * b.expanded * b.out;
}

constexpr std::int64_t mac_count(const NetworkView& g) noexcept {
  const Shape stem = stem_output_shape(g);
  std::int64_t m = stem.pixels() * g.stem.kernel * g.stem.kernel * g.input.c * g.stem.channels;
  for_each_block(g, [&](std::size_t, const BlockGene& b, const BlockShapes& s) { m += block_macs(b, s); });
  const Shape head_in = head_input_shape(g);
  m += head_in.pixels() * head_in.c * g.head.channels;
  const int features = g.head.hidden > 0 ? g.head.hidden : g.head.channels;
  if (g.head.hidden > 0) m += std::int64_t{g.head.channels} * g.head.hidden;
  return m + std::int64_t{features} * g.head.classes;
}

// ---- inference weights (batch norm folded into the convs) -------------------------------

/// Floats of one block's folded weights (see inference_weight_count).
constexpr std::int64_t block_inference_weight_count(int in_channels, const BlockGene& b) noexcept {
  std::int64_t n = 0;
  if (b.expanded != in_channels) n += std::int64_t{in_channels} * b.expanded + b.expanded;
  n += std::int64_t{b.kernel} * b.kernel * b.expanded + b.expanded;
  if (b.se) n += 2 * std::int64_t{b.expanded} * se_reduced_channels(b.expanded) + se_reduced_channels(b.expanded) + b.expanded;
  return n + std::int64_t{b.expanded} * b.out + b.out;
}

/// Floats in the folded weight blob runtime/reference/inference.hpp reads: per conv its
/// weights then one bias per output channel; SE and FC layers as trained.
constexpr std::int64_t inference_weight_count(const NetworkView& g) noexcept {
  std::int64_t n = std::int64_t{g.stem.kernel} * g.stem.kernel * g.input.c * g.stem.channels + g.stem.channels;
  for_each_block(g, [&](std::size_t, const BlockGene& b, const BlockShapes& s) { n += block_inference_weight_count(s.in.c, b); });
  n += std::int64_t{head_input_shape(g).c} * g.head.channels + g.head.channels;
  const int features = g.head.hidden > 0 ? g.head.hidden : g.head.channels;
  if (g.head.hidden > 0) n += std::int64_t{g.head.channels} * g.head.hidden + g.head.hidden;
  return n + std::int64_t{features} * g.head.classes + g.head.classes;
}

// ---- peak activation memory -------------------------------------------------------------

/// Largest live set (in floats) inside one block, given its input is alive on entry.
constexpr std::int64_t block_peak_floats(const BlockGene& b, const BlockShapes& s) noexcept {
  const bool residual = has_residual(s.in.c, b);
  const std::int64_t in = s.in.size(), expanded = s.expanded.size(), dw_out = s.out.pixels() * b.expanded,
                     out = s.out.size();
  const std::int64_t keep = residual ? in : 0;  // the shortcut outlives the branch
  std::int64_t peak = 0;
  const bool expands = b.expanded != s.in.c;
  if (expands) peak = std::max(peak, in + expanded);                   // 1×1 expansion
  peak = std::max(peak, (expands ? keep + expanded : in) + dw_out);    // depthwise
  if (b.se)
    peak = std::max(peak, keep + dw_out + squeeze_excite_scratch_floats(b.expanded, se_reduced_channels(b.expanded)));
  peak = std::max(peak, keep + dw_out + out);                          // 1×1 projection
  return std::max(peak, in + out);  // hand-over (and residual add in place)
}

constexpr std::int64_t peak_activation_bytes(const NetworkView& g) noexcept {
  const Shape stem = stem_output_shape(g);
  std::int64_t peak = g.input.per_image() + stem.size();
  for_each_block(g, [&](std::size_t, const BlockGene& b, const BlockShapes& s) {
    peak = std::max(peak, block_peak_floats(b, s));
  });
  const Shape head_in = head_input_shape(g);
  const std::int64_t conv_out = head_in.pixels() * g.head.channels;
  peak = std::max(peak, head_in.size() + conv_out);
  peak = std::max(peak, conv_out + g.head.channels);  // pooling
  const int features = g.head.hidden > 0 ? g.head.hidden : g.head.channels;
  if (g.head.hidden > 0) peak = std::max<std::int64_t>(peak, g.head.channels + g.head.hidden);
  peak = std::max<std::int64_t>(peak, features + g.head.classes);
  return peak * static_cast<std::int64_t>(sizeof(float));
}

}  // namespace edgenas
