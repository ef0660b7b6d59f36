// edgenas/space/genes.hpp — the genes of an architecture (stem, MBConv blocks, head) and a
// read-only view of a whole network: plain constexpr structs with no containers, so the
// compile-time network types and the firmware need nothing else (space/genotype.hpp adds the
// run-time Genotype and its text and JSON forms).
#pragma once

#include <cstdint>
#include <cstdio>
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

/// Upper bounds on every size an architecture may have, checked by validate(). They keep every
/// cost (parameters, MACs, arena bytes) inside int64 and every tensor of one image inside what
/// the trainer and the runtimes allocate, and turn a size typed or read by mistake into an error
/// that names the limit rather than a wrapped number or std::bad_alloc. The largest network of
/// the zoo (MobileNetV3-Large: 224x224x3, 960 expanded channels, 1280 hidden) is far inside them.
namespace limits {
inline constexpr int max_extent = 4096;         // input height and width
inline constexpr int max_input_channels = 256;  // input channels (images: 1 to 4)
inline constexpr int max_channels = 16384;      // stem, block, expanded, head and hidden widths
inline constexpr int max_classes = 100000;
inline constexpr int max_blocks = 256;
inline constexpr std::int64_t max_tensor_values = std::int64_t{1} << 28;  // one image's activation: 1 GiB of float32
}  // namespace limits

/// Rounds channels to a multiple of 8, at least 8, never down by more than 10% (torchvision's
/// _make_divisible, used by MobileNets for width multipliers and SE widths). Values beyond 2^24
/// (and NaN) become 2^24, which validate() then refuses as too wide, instead of overflowing int.
constexpr int make_divisible(double channels) noexcept {
  if (!(channels <= double{1 << 24})) channels = double{1 << 24};
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

/// Checks that the architecture can be built and stays within `limits`; the error names the
/// block, the field and the limit.
inline void validate(const NetworkView& g) {
  using namespace limits;
  EDGENAS_CHECK(g.input.h >= 1 && g.input.w >= 1 && g.input.c >= 1, Status::invalid_argument,
                "genotype: input %dx%dx%d must be at least 1x1x1", g.input.h, g.input.w, g.input.c);
  EDGENAS_CHECK(g.input.h <= max_extent && g.input.w <= max_extent && g.input.c <= max_input_channels,
                Status::invalid_argument, "genotype: input %dx%dx%d exceeds the limit of %dx%dx%d", g.input.h,
                g.input.w, g.input.c, max_extent, max_extent, max_input_channels);
  const auto width = [](int channels, const char* what) {
    EDGENAS_CHECK(channels >= 1 && channels <= max_channels, Status::invalid_argument,
                  "genotype: %s has %d channels, expected 1 to %d", what, channels, max_channels);
  };
  // h, w and c are each within their limits, so the product fits in int64.
  const auto tensor = [](std::int64_t h, std::int64_t w, std::int64_t c, const char* what, int block) {
    char name[32];
    if (block >= 0)
      std::snprintf(name, sizeof name, "block %d", block);
    else
      std::snprintf(name, sizeof name, "%s", what);
    EDGENAS_CHECK(h * w * c <= max_tensor_values, Status::invalid_argument,
                  "genotype: %s makes a %lldx%lldx%lld activation (%lld values); the limit is %lld values an image",
                  name, static_cast<long long>(h), static_cast<long long>(w), static_cast<long long>(c),
                  static_cast<long long>(h * w * c), static_cast<long long>(max_tensor_values));
  };
  width(g.stem.channels, "the stem");
  EDGENAS_CHECK(g.stem.kernel >= 1 && g.stem.kernel <= 7 && g.stem.kernel % 2 == 1, Status::invalid_argument,
                "genotype: stem kernel %d, expected 1, 3, 5 or 7", g.stem.kernel);
  EDGENAS_CHECK(g.stem.stride == 1 || g.stem.stride == 2, Status::invalid_argument,
                "genotype: stem stride %d, expected 1 or 2", g.stem.stride);
  EDGENAS_CHECK(g.blocks.size() <= static_cast<std::size_t>(max_blocks), Status::invalid_argument,
                "genotype: %zu blocks, the limit is %d", g.blocks.size(), max_blocks);
  tensor(g.input.h, g.input.w, g.input.c, "the input", -1);
  int h = same_output_extent(g.input.h, g.stem.stride), w = same_output_extent(g.input.w, g.stem.stride);
  tensor(h, w, g.stem.channels, "the stem", -1);
  int in = g.stem.channels;
  for (std::size_t i = 0; i < g.blocks.size(); ++i) {
    const BlockGene& b = g.blocks[i];
    const int n = static_cast<int>(i);
    EDGENAS_CHECK(b.out >= 1 && b.out <= max_channels, Status::invalid_argument,
                  "genotype: block %d has %d output channels, expected 1 to %d", n, b.out, max_channels);
    EDGENAS_CHECK(b.expanded >= in, Status::invalid_argument,
                  "genotype: block %d expands %d input channels to %d; expansion cannot shrink", n, in, b.expanded);
    EDGENAS_CHECK(b.expanded <= max_channels, Status::invalid_argument,
                  "genotype: block %d expands %d input channels to %d; the limit is %d channels", n, in, b.expanded,
                  max_channels);
    EDGENAS_CHECK(detail::valid_kernel(b.kernel), Status::invalid_argument,
                  "genotype: block %d has kernel %d, expected 3, 5 or 7", n, b.kernel);
    EDGENAS_CHECK(b.stride == 1 || b.stride == 2, Status::invalid_argument,
                  "genotype: block %d has stride %d, expected 1 or 2", n, b.stride);
    EDGENAS_CHECK(b.stride == 1 || h > 1 || w > 1, Status::invalid_argument,
                  "genotype: block %d has stride 2 but its input is already 1x1 (too many stride-2 blocks for a "
                  "%dx%d input)",
                  n, g.input.h, g.input.w);
    tensor(h, w, b.expanded, "", n);
    h = same_output_extent(h, b.stride);
    w = same_output_extent(w, b.stride);
    tensor(h, w, b.out, "", n);
    in = b.out;
  }
  width(g.head.channels, "the head");
  tensor(h, w, g.head.channels, "the head", -1);
  EDGENAS_CHECK(g.head.hidden >= 0 && g.head.hidden <= max_channels, Status::invalid_argument,
                "genotype: head hidden width %d, expected 0 (none) to %d", g.head.hidden, max_channels);
  EDGENAS_CHECK(g.head.classes >= 2 && g.head.classes <= max_classes, Status::invalid_argument,
                "genotype: %d classes, expected 2 to %d", g.head.classes, max_classes);
}
}  // namespace edgenas
