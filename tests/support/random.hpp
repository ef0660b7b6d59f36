// Test helpers: random tensors and parameters.
#pragma once

#include <edgenas/core.hpp>
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

}  // namespace edgenas::test
