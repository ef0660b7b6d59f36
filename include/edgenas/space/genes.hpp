// edgenas/space/genes.hpp — the genes of an architecture (stem, MBConv blocks, head) and a
// read-only view of a whole network: plain constexpr structs with no containers, so the
// compile-time network types and the firmware need nothing else (space/genotype.hpp adds the
// run-time Genotype and its text and JSON forms).
#pragma once

#include <cstdint>
#include <span>

#include "edgenas/core/activation.hpp"
#include "edgenas/core/error.hpp"
#include "edgenas/core/shape.hpp"

namespace edgenas {

struct StemGene {
  int channels = 16;
  int kernel = 3;
  int stride = 1;
  Activation act = Activation::hswish;
  friend constexpr bool operator==(const StemGene&, const StemGene&) = default;
};

struct BlockGene {
  int out = 16;       // output channels
  int expanded = 16;  // channels after the 1×1 expansion (== input channels: no expansion conv)
  int kernel = 3;     // depthwise kernel: 3, 5 or 7
  int stride = 1;     // 1 or 2
  bool se = false;    // squeeze-and-excitation on the depthwise output
  Activation act = Activation::relu;
  friend constexpr bool operator==(const BlockGene&, const BlockGene&) = default;
};

struct HeadGene {
  int channels = 128;  // 1×1 conv before pooling
  Activation act = Activation::hswish;
  int hidden = 0;  // optional fully-connected layer after pooling (MobileNetV3: 1280), 0 = none
  int classes = 10;
  friend constexpr bool operator==(const HeadGene&, const HeadGene&) = default;
};

/// A read-only view of an architecture: what every cost function and builder takes. Both a
/// Genotype (std::vector of blocks) and a network type (constexpr std::array) provide one.
struct NetworkView {
  Shape input{1, 28, 28, 1};  // n is ignored (costs are per image)
  StemGene stem;
  std::span<const BlockGene> blocks;
  HeadGene head;
};

/// Rounds channels to a multiple of 8, at least 8, never down by more than 10% (torchvision's
/// _make_divisible, used by MobileNets for width multipliers and SE widths).
constexpr int make_divisible(double channels) noexcept {
  int r = static_cast<int>(channels + 4) / 8 * 8;
  if (r < 8) r = 8;
  if (r < 0.9 * channels) r += 8;
  return r;
}

/// SE bottleneck width: make_divisible(expanded / 4), as torchvision's MobileNetV3.
constexpr int se_reduced_channels(int expanded) noexcept { return make_divisible(expanded / 4); }

/// Floats of scratch the squeeze-and-excitation of an inference needs: the pooled channels, the
/// reduced layer and the gate.
constexpr std::int64_t squeeze_excite_scratch_floats(int channels, int reduced) noexcept {
  return 2 * std::int64_t{channels} + reduced;
}

/// Residual connection when the block keeps the shape.
constexpr bool has_residual(int in_channels, const BlockGene& b) noexcept {
  return b.stride == 1 && in_channels == b.out;
}

namespace detail {
inline bool valid_kernel(int k) { return k == 3 || k == 5 || k == 7; }
}  // namespace detail

/// Checks that the architecture can be built; the error names the block and the field.
inline void validate(const NetworkView& g) {
  EDGENAS_CHECK(g.input.h >= 1 && g.input.w >= 1 && g.input.c >= 1, Status::invalid_argument,
                "genotype: input %dx%dx%d must be at least 1x1x1", g.input.h, g.input.w, g.input.c);
  EDGENAS_CHECK(g.stem.channels >= 1, Status::invalid_argument, "genotype: stem has %d channels, need >= 1",
                g.stem.channels);
  EDGENAS_CHECK(g.stem.kernel >= 1 && g.stem.kernel <= 7 && g.stem.kernel % 2 == 1, Status::invalid_argument,
                "genotype: stem kernel %d, expected 1, 3, 5 or 7", g.stem.kernel);
  EDGENAS_CHECK(g.stem.stride == 1 || g.stem.stride == 2, Status::invalid_argument,
                "genotype: stem stride %d, expected 1 or 2", g.stem.stride);
  int h = same_output_extent(g.input.h, g.stem.stride), w = same_output_extent(g.input.w, g.stem.stride);
  int in = g.stem.channels;
  for (std::size_t i = 0; i < g.blocks.size(); ++i) {
    const BlockGene& b = g.blocks[i];
    const int n = static_cast<int>(i);
    EDGENAS_CHECK(b.out >= 1, Status::invalid_argument, "genotype: block %d has %d output channels, need >= 1", n,
                  b.out);
    EDGENAS_CHECK(b.expanded >= in, Status::invalid_argument,
                  "genotype: block %d expands %d input channels to %d; expansion cannot shrink", n, in, b.expanded);
    EDGENAS_CHECK(detail::valid_kernel(b.kernel), Status::invalid_argument,
                  "genotype: block %d has kernel %d, expected 3, 5 or 7", n, b.kernel);
    EDGENAS_CHECK(b.stride == 1 || b.stride == 2, Status::invalid_argument,
                  "genotype: block %d has stride %d, expected 1 or 2", n, b.stride);
    EDGENAS_CHECK(b.stride == 1 || h > 1 || w > 1, Status::invalid_argument,
                  "genotype: block %d has stride 2 but its input is already 1x1 (too many stride-2 blocks for a "
                  "%dx%d input)",
                  n, g.input.h, g.input.w);
    h = same_output_extent(h, b.stride);
    w = same_output_extent(w, b.stride);
    in = b.out;
  }
  EDGENAS_CHECK(g.head.channels >= 1, Status::invalid_argument, "genotype: head has %d channels, need >= 1",
                g.head.channels);
  EDGENAS_CHECK(g.head.hidden >= 0, Status::invalid_argument, "genotype: head hidden width %d is negative",
                g.head.hidden);
  EDGENAS_CHECK(g.head.classes >= 2, Status::invalid_argument, "genotype: %d classes, need >= 2", g.head.classes);
}
}  // namespace edgenas
