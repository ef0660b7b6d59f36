// edgenas/ops/activation.hpp — ReLU, ReLU6, h-sigmoid, h-swish, sigmoid, swish on tensors:
// forward, backward (the functions themselves: ops/activation_function.hpp).
#pragma once

#include <algorithm>
#include <cmath>

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"
#include "edgenas/ops/activation_function.hpp"

namespace edgenas {

namespace ops {

namespace detail {
// Elementwise map over [0, n) split across threads.
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
  with_activation(a, [&]<Activation A>() {
    detail::elementwise(x.size(), [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t i = first; i < last; ++i) out[i] = activate<A>(in[i]);
    });
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
  with_activation(a, [&]<Activation A>() {
    detail::elementwise(x.size(), [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t i = first; i < last; ++i) out[i] = g[i] * derivative<A>(in[i]);
    });
  });
}

}  // namespace ops
}  // namespace edgenas
