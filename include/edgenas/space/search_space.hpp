// edgenas/space/search_space.hpp — which architectures a search may produce, and sampling.
//
// A space is a stem, a list of stages and a head. Each stage has depth choices, an output
// width, the stride of its first block and per-block choices (kernel, expansion ratio, SE,
// activation); a width multiplier scales every width (rounded to multiples of 8, as
// MobileNets do). Macro choices (resolution, width, depth) and micro choices (inside blocks)
// are both sampled here; mutation, crossover and the JSON form come with the search.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "edgenas/core/rng.hpp"
#include "edgenas/space/genotype.hpp"

namespace edgenas {

struct StageSpace {
  std::vector<int> depths{1};
  int out_channels = 16;
  int stride = 1;
  std::vector<int> kernels{3};
  std::vector<int> expands{1};
  std::vector<bool> se{false};
  std::vector<Activation> acts{Activation::relu};
};

struct SearchSpace {
  std::string name;
  std::vector<int> resolutions{28};
  int in_channels = 1;
  std::vector<double> width_multipliers{1.0};
  StemGene stem;                   // channels before the width multiplier
  std::vector<BlockGene> fixed;    // blocks every architecture starts with (widths unscaled)
  std::vector<StageSpace> stages;
  HeadGene head;

  /// Channels after the width multiplier (multiple of 8, never shrinking by more than 10%).
  static int scaled(int channels, double multiplier) {
    const double v = channels * multiplier;
    int r = std::max(8, static_cast<int>(v + 4) / 8 * 8);
    if (r < 0.9 * v) r += 8;
    return r;
  }

  /// A uniformly random architecture of the space.
  Genotype sample(Rng& rng) const {
    Genotype g;
    const int res = resolutions[rng.below(static_cast<std::uint32_t>(resolutions.size()))];
    const double w = width_multipliers[rng.below(static_cast<std::uint32_t>(width_multipliers.size()))];
    g.input = {1, res, res, in_channels};
    g.stem = stem;
    g.stem.channels = scaled(stem.channels, w);
    int in = g.stem.channels;
    for (BlockGene b : fixed) {
      const int ratio = std::max(1, b.expanded / std::max(1, b.out));
      b.out = scaled(b.out, w);
      b.expanded = in * ratio;
      g.blocks.push_back(b);
      in = b.out;
    }
    for (const StageSpace& s : stages) {
      const int depth = s.depths[rng.below(static_cast<std::uint32_t>(s.depths.size()))];
      const int out = scaled(s.out_channels, w);
      for (int i = 0; i < depth; ++i) {
        BlockGene b;
        b.out = out;
        b.kernel = s.kernels[rng.below(static_cast<std::uint32_t>(s.kernels.size()))];
        b.expanded = in * s.expands[rng.below(static_cast<std::uint32_t>(s.expands.size()))];
        b.stride = i == 0 ? s.stride : 1;
        b.se = s.se[rng.below(static_cast<std::uint32_t>(s.se.size()))];
        b.act = s.acts[rng.below(static_cast<std::uint32_t>(s.acts.size()))];
        g.blocks.push_back(b);
        in = out;
      }
    }
    g.head = head;
    return g;
  }

  /// log10 of the number of distinct architectures.
  double log10_size() const {
    double total = std::log10(static_cast<double>(resolutions.size() * width_multipliers.size()));
    for (const StageSpace& s : stages) {
      const double per_block = std::log10(static_cast<double>(s.kernels.size() * s.expands.size() * s.se.size() * s.acts.size()));
      double sum = 0.0;  // Σ over depth choices of per_block^depth, in log space
      double max_term = -1e300;
      for (int d : s.depths) max_term = std::max(max_term, d * per_block);
      for (int d : s.depths) sum += std::pow(10.0, d * per_block - max_term);
      total += max_term + std::log10(sum);
    }
    return total;
  }
};

namespace spaces {

/// The Fashion-MNIST space: 28×28×1, four stages of MBConv blocks.
inline SearchSpace fmnist() {
  SearchSpace s;
  s.name = "fmnist";
  s.resolutions = {28};
  s.in_channels = 1;
  s.stem = {16, 3, 1, Activation::hswish};
  const std::vector<int> kernels{3, 5, 7}, expands{1, 3, 4, 6};
  const std::vector<bool> se{false, true};
  const std::vector<Activation> acts{Activation::relu, Activation::hswish};
  s.stages = {{{1, 2}, 16, 1, kernels, expands, se, acts},
              {{1, 2, 3}, 24, 2, kernels, expands, se, acts},
              {{1, 2, 3}, 40, 2, kernels, expands, se, acts},
              {{1, 2, 3}, 80, 1, kernels, expands, se, acts}};
  s.head = {128, Activation::hswish, 0, 10};
  return s;
}

/// Once-for-All's MobileNetV3 space at 224×224: depth {2,3,4} × 5 stages, kernel {3,5,7},
/// expand {3,4,6}; SE and activations fixed per stage as in MobileNetV3-Large.
inline SearchSpace mobilenetv3() {
  SearchSpace s;
  s.name = "mobilenetv3";
  s.resolutions = {224};
  s.in_channels = 3;
  s.stem = {16, 3, 2, Activation::hswish};
  s.fixed = {{16, 16, 3, 1, false, Activation::relu}};
  const std::vector<int> depths{2, 3, 4}, kernels{3, 5, 7}, expands{3, 4, 6};
  const std::vector<Activation> relu{Activation::relu}, hswish{Activation::hswish};
  s.stages = {{depths, 24, 2, kernels, expands, {false}, relu},
              {depths, 40, 2, kernels, expands, {true}, relu},
              {depths, 80, 2, kernels, expands, {false}, hswish},
              {depths, 112, 1, kernels, expands, {true}, hswish},
              {depths, 160, 2, kernels, expands, {true}, hswish}};
  s.head = {960, Activation::hswish, 1280, 1000};
  return s;
}

}  // namespace spaces
}  // namespace edgenas
