// edgenas/ops/activation.hpp — ReLU, ReLU6, h-sigmoid, h-swish, sigmoid, swish: forward, backward.
//
// Derivatives at the kinks follow PyTorch (ReLU'(0) = 0, ReLU6'(6) = 0, h-sigmoid' = 1/6 only
// strictly inside (-3, 3)), so gradients match the usual reference implementations.
#pragma once

#include <cmath>
#include <cstring>

#include "edgenas/core/activation.hpp"
#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"

namespace edgenas {

namespace ops {

constexpr float hsigmoid(float x) noexcept { return x <= -3.0f ? 0.0f : x >= 3.0f ? 1.0f : x / 6.0f + 0.5f; }
inline float sigmoid(float x) noexcept { return 1.0f / (1.0f + std::exp(-x)); }

/// f(x) for one value.
inline float activate(Activation a, float x) noexcept {
  switch (a) {
    case Activation::identity: return x;
    case Activation::relu: return x > 0.0f ? x : 0.0f;
    case Activation::relu6: return x <= 0.0f ? 0.0f : x >= 6.0f ? 6.0f : x;
    case Activation::hsigmoid: return hsigmoid(x);
    case Activation::hswish: return x * hsigmoid(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::swish: return x * sigmoid(x);
  }
  return x;
}

/// f'(x) for one value.
inline float activation_derivative(Activation a, float x) noexcept {
  switch (a) {
    case Activation::identity: return 1.0f;
    case Activation::relu: return x > 0.0f ? 1.0f : 0.0f;
    case Activation::relu6: return x > 0.0f && x < 6.0f ? 1.0f : 0.0f;
    case Activation::hsigmoid: return x > -3.0f && x < 3.0f ? 1.0f / 6.0f : 0.0f;
    case Activation::hswish: return x <= -3.0f ? 0.0f : x >= 3.0f ? 1.0f : (2.0f * x + 3.0f) / 6.0f;
    case Activation::sigmoid: {
      const float s = sigmoid(x);
      return s * (1.0f - s);
    }
    case Activation::swish: {
      const float s = sigmoid(x);
      return s * (1.0f + x * (1.0f - s));
    }
  }
  return 1.0f;
}

/// Calls fn.template operator()<A>() with the activation as a compile-time constant, so loops
/// inside fn specialise (and vectorise) per activation.
template <typename Fn>
decltype(auto) with_activation(Activation a, Fn&& fn) {
  switch (a) {
    case Activation::identity: return fn.template operator()<Activation::identity>();
    case Activation::relu: return fn.template operator()<Activation::relu>();
    case Activation::relu6: return fn.template operator()<Activation::relu6>();
    case Activation::hsigmoid: return fn.template operator()<Activation::hsigmoid>();
    case Activation::hswish: return fn.template operator()<Activation::hswish>();
    case Activation::sigmoid: return fn.template operator()<Activation::sigmoid>();
    case Activation::swish: return fn.template operator()<Activation::swish>();
  }
  return fn.template operator()<Activation::identity>();
}

/// f(x) with the activation fixed at compile time (branch-free where it matters).
template <Activation A>
inline float activate(float x) noexcept {
  if constexpr (A == Activation::identity) return x;
  else if constexpr (A == Activation::relu) return x > 0.0f ? x : 0.0f;
  else if constexpr (A == Activation::relu6) return std::min(std::max(x, 0.0f), 6.0f);
  else if constexpr (A == Activation::hsigmoid) return std::min(std::max(x * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
  else if constexpr (A == Activation::hswish) return x * std::min(std::max(x * (1.0f / 6.0f) + 0.5f, 0.0f), 1.0f);
  else if constexpr (A == Activation::sigmoid) return sigmoid(x);
  else return x * sigmoid(x);
}

/// f'(x) with the activation fixed at compile time; same kink conventions as
/// activation_derivative().
template <Activation A>
inline float derivative(float x) noexcept {
  if constexpr (A == Activation::identity) return 1.0f;
  else if constexpr (A == Activation::relu) return x > 0.0f ? 1.0f : 0.0f;
  // Masks as 0/1 floats instead of nested conditionals: GCC vectorises these inside the
  // fused batch-norm loops, where it leaves nested ternaries as scalar branches.
  else if constexpr (A == Activation::relu6) return (x > 0.0f ? 1.0f : 0.0f) - (x >= 6.0f ? 1.0f : 0.0f);
  else if constexpr (A == Activation::hsigmoid)
    return ((x > -3.0f ? 1.0f : 0.0f) - (x >= 3.0f ? 1.0f : 0.0f)) * (1.0f / 6.0f);
  else if constexpr (A == Activation::hswish) {
    const float above_low = x > -3.0f ? 1.0f : 0.0f, above_high = x >= 3.0f ? 1.0f : 0.0f;
    return above_high + (above_low - above_high) * ((2.0f * x + 3.0f) * (1.0f / 6.0f));
  } else {
    return activation_derivative(A, x);
  }
}

namespace detail {
// Elementwise map over [0, n) split across threads; each branch is a tight loop the compiler
// vectorises (the switch is hoisted out of the loop).
template <typename Fn>
void elementwise(std::int64_t n, Fn&& fn) {
  constexpr std::int64_t grain = 1 << 15;  // below this, threads cost more than they save
  if (n < 2 * grain) {
    fn(std::int64_t{0}, n);
    return;
  }
  parallel_for((n + grain - 1) / grain, [&](int, std::int64_t first, std::int64_t last) {
    fn(first * grain, std::min(n, last * grain));
  });
}
}  // namespace detail

/// y = f(x); y may alias x.
inline void activation_forward(Activation a, ConstTensorView x, TensorView y) {
  EDGENAS_CHECK(x.size() == y.size(), Status::invalid_shape,
                "activation_forward(%s): input has %lld elements, output %lld",
                activation_name(a).data(), static_cast<long long>(x.size()), static_cast<long long>(y.size()));
  const float* in = x.data();
  float* out = y.data();
  detail::elementwise(x.size(), [&](std::int64_t first, std::int64_t last) {
    switch (a) {
      case Activation::identity:
        if (in != out) std::memmove(out + first, in + first, sizeof(float) * static_cast<std::size_t>(last - first));
        break;
      case Activation::relu:
        for (std::int64_t i = first; i < last; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
        break;
      case Activation::relu6:
        for (std::int64_t i = first; i < last; ++i) out[i] = std::min(std::max(in[i], 0.0f), 6.0f);
        break;
      case Activation::hsigmoid:
        for (std::int64_t i = first; i < last; ++i) out[i] = std::min(std::max(in[i] / 6.0f + 0.5f, 0.0f), 1.0f);
        break;
      case Activation::hswish:
        for (std::int64_t i = first; i < last; ++i)
          out[i] = in[i] * std::min(std::max(in[i] / 6.0f + 0.5f, 0.0f), 1.0f);
        break;
      case Activation::sigmoid:
        for (std::int64_t i = first; i < last; ++i) out[i] = sigmoid(in[i]);
        break;
      case Activation::swish:
        for (std::int64_t i = first; i < last; ++i) out[i] = in[i] * sigmoid(in[i]);
        break;
    }
  });
}

/// dx = dy · f'(x), where x is the activation's input; dx may alias dy.
inline void activation_backward(Activation a, ConstTensorView x, ConstTensorView dy, TensorView dx) {
  EDGENAS_CHECK(x.size() == dy.size() && x.size() == dx.size(), Status::invalid_shape,
                "activation_backward(%s): input %lld, output gradient %lld and input gradient %lld elements differ",
                activation_name(a).data(), static_cast<long long>(x.size()), static_cast<long long>(dy.size()),
                static_cast<long long>(dx.size()));
  const float* in = x.data();
  const float* g = dy.data();
  float* out = dx.data();
  detail::elementwise(x.size(), [&](std::int64_t first, std::int64_t last) {
    switch (a) {
      case Activation::identity:
        if (g != out) std::memmove(out + first, g + first, sizeof(float) * static_cast<std::size_t>(last - first));
        break;
      case Activation::relu:
        for (std::int64_t i = first; i < last; ++i) out[i] = in[i] > 0.0f ? g[i] : 0.0f;
        break;
      case Activation::relu6:
        for (std::int64_t i = first; i < last; ++i) out[i] = in[i] > 0.0f && in[i] < 6.0f ? g[i] : 0.0f;
        break;
      // Branch-free forms of activation_derivative so these loops vectorise (training spends
      // a large share of its time here).
      case Activation::hsigmoid:
        for (std::int64_t i = first; i < last; ++i) out[i] = in[i] > -3.0f && in[i] < 3.0f ? g[i] * (1.0f / 6.0f) : 0.0f;
        break;
      case Activation::hswish:
        for (std::int64_t i = first; i < last; ++i) {
          const float inner = (2.0f * in[i] + 3.0f) * (1.0f / 6.0f);
          const float d = in[i] <= -3.0f ? 0.0f : in[i] >= 3.0f ? 1.0f : inner;
          out[i] = g[i] * d;
        }
        break;
      default:
        for (std::int64_t i = first; i < last; ++i) out[i] = g[i] * activation_derivative(a, in[i]);
        break;
    }
  });
}

}  // namespace ops
}  // namespace edgenas
