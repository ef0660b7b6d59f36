// Test helpers: random tensors and parameters.
#pragma once

#include <array>
#include <edgenas/core.hpp>
#include <edgenas/space/genotype.hpp>
#include <vector>

namespace edgenas::test {

inline Tensor random_tensor(Shape shape, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(shape);
  for (std::int64_t i = 0; i < t.size(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

inline std::vector<float> random_vector(std::size_t n, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

/// Σ a ⊙ b in double: the scalar "loss" whose gradient w.r.t. a tensor is b.
inline double dot(const float* a, const float* b, std::int64_t n) {
  double s = 0.0;
  for (std::int64_t i = 0; i < n; ++i) s += double{a[i]} * b[i];
  return s;
}
inline double dot(const Tensor& a, const Tensor& b) { return dot(a.data(), b.data(), a.size()); }

/// A small valid genotype with every kind of choice (kernels, strides, SE, activations,
/// residuals, hidden head layers) drawn at random.
inline Genotype random_genotype(Rng& rng) {
  Genotype g;
  g.input = {1, rng.between(5, 20), rng.between(5, 20), rng.between(1, 3)};
  g.stem = {rng.between(4, 16), std::array{1, 3, 5}[rng.below(3)], rng.between(1, 2), all_activations[rng.below(7)]};
  int in = g.stem.channels;
  for (int b = rng.between(1, 4); b > 0; --b) {
    g.blocks.push_back({rng.between(4, 24), in * std::array{1, 3, 4, 6}[rng.below(4)], std::array{3, 5, 7}[rng.below(3)],
                        rng.between(1, 2), rng.coin(), all_activations[rng.below(7)]});
    if (rng.coin(0.3f)) g.blocks.back().out = in, g.blocks.back().stride = 1;  // residual
    in = g.blocks.back().out;
  }
  g.head = {rng.between(8, 48), all_activations[rng.below(7)], rng.coin(0.3f) ? rng.between(8, 32) : 0, rng.between(2, 12)};
  return g;
}

}  // namespace edgenas::test
