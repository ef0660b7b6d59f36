// A small supernet space with every elastic dimension, and synthetic images it can learn.
#pragma once

#include <edgenas/data/dataset.hpp>
#include <edgenas/space/search_space.hpp>

namespace edgenas::test {

// Small but with every elastic dimension: width, depth, kernel {3,5,7}, expand {1,3}, SE, two
// activations, a fixed block and a hidden head layer.
inline SearchSpace tiny_space() {
  SearchSpace s;
  s.name = "tiny";
  s.resolutions = {8};
  s.in_channels = 2;
  s.width_multipliers = {0.5, 1.0};
  s.stem = {16, 3, 1, Activation::hswish};
  s.fixed = {{16, 32, 3, 1, true, Activation::relu}};
  const std::vector<int> kernels{3, 5, 7}, expands{1, 3};
  s.stages = {{{1, 2}, 16, 2, kernels, expands, {false, true}, {Activation::relu, Activation::swish}},
              {{1, 2, 3}, 24, 1, kernels, expands, {false, true}, {Activation::relu, Activation::swish}}};
  s.head = {32, Activation::hswish, 12, 3};
  return s;
}

inline data::Dataset tiny_images(std::size_t n, std::uint64_t seed) {
  data::Dataset d{8, 8, 2, 3, {}, {}, {}};
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.below(3));
    d.labels.push_back(label);
    for (int p = 0; p < 8 * 8 * 2; ++p)
      d.pixels.push_back(static_cast<std::uint8_t>(std::min(255, label * 70 + (p % 7) * 10 * label + static_cast<int>(rng.below(50)))));
  }
  return d;
}

}  // namespace edgenas::test
