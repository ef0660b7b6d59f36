// edgenas/ops/activation_function.hpp — the one definition of every activation and its
// derivative, on one float: what the trainer's tensor ops, the reference kernels and the
// firmware share (no containers, no threads, no Eigen: a deploy header).
//
// Derivatives at the kinks follow PyTorch (ReLU'(0) = 0, ReLU6'(6) = 0, h-sigmoid' = 1/6 only
// strictly inside (-3, 3)), so gradients match the usual reference implementations.
#pragma once

#include <algorithm>
#include <cmath>

#include "edgenas/core/activation.hpp"

namespace edgenas::ops {

inline float sigmoid(float x) noexcept { return 1.0f / (1.0f + std::exp(-x)); }

/// Calls fn.template operator()<A>() with the activation as a compile-time constant, so loops
/// inside fn specialise (and vectorise) per activation.
template <typename Fn>
decltype(auto) with_activation(Activation a, Fn&& fn) {
  switch (a) {
    case Activation::identity:
      return fn.template operator()<Activation::identity>();
    case Activation::relu:
      return fn.template operator()<Activation::relu>();
    case Activation::relu6:
      return fn.template operator()<Activation::relu6>();
    case Activation::hsigmoid:
      return fn.template operator()<Activation::hsigmoid>();
    case Activation::hswish:
      return fn.template operator()<Activation::hswish>();
    case Activation::sigmoid:
      return fn.template operator()<Activation::sigmoid>();
    case Activation::swish:
      return fn.template operator()<Activation::swish>();
  }
  return fn.template operator()<Activation::identity>();
}

/// f(x): the one definition of every activation (branch-free where it matters).
template <Activation A>
inline float activate(float x) noexcept {
  if constexpr (A == Activation::identity)
    return x;
  else if constexpr (A == Activation::relu)
    return x > 0.0f ? x : 0.0f;
  else if constexpr (A == Activation::relu6)
    return std::min(std::max(x, 0.0f), 6.0f);
  else if constexpr (A == Activation::hsigmoid)
    return std::min(std::max(x * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
  else if constexpr (A == Activation::hswish)
    return x * std::min(std::max(x * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
  else if constexpr (A == Activation::sigmoid)
    return sigmoid(x);
  else
    return x * sigmoid(x);
}

/// f'(x): the one definition of every derivative. Masks are 0/1 floats rather than nested
/// conditionals, which GCC vectorises inside the fused batch-norm loops.
template <Activation A>
inline float derivative(float x) noexcept {
  if constexpr (A == Activation::identity)
    return 1.0f;
  else if constexpr (A == Activation::relu)
    return x > 0.0f ? 1.0f : 0.0f;
  else if constexpr (A == Activation::relu6)
    return (x > 0.0f ? 1.0f : 0.0f) - (x >= 6.0f ? 1.0f : 0.0f);
  else if constexpr (A == Activation::hsigmoid)
    return ((x > -3.0f ? 1.0f : 0.0f) - (x >= 3.0f ? 1.0f : 0.0f)) * (1.0f / 6.0f);
  else if constexpr (A == Activation::hswish) {
    const float above_low = x > -3.0f ? 1.0f : 0.0f, above_high = x >= 3.0f ? 1.0f : 0.0f;
    return above_high + (above_low - above_high) * ((2.0f * x + 3.0f) * (1.0f / 6.0f));
  } else if constexpr (A == Activation::sigmoid) {
    const float s = sigmoid(x);
    return s * (1.0f - s);
  } else {
    const float s = sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
  }
}

/// f(x) for an activation chosen at run time.
inline float activate(Activation a, float x) noexcept {
  return with_activation(a, [&]<Activation A>() { return activate<A>(x); });
}

/// f'(x) for an activation chosen at run time.
inline float activation_derivative(Activation a, float x) noexcept {
  return with_activation(a, [&]<Activation A>() { return derivative<A>(x); });
}

}  // namespace edgenas::ops
