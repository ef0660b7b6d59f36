// edgenas/ops/residual.hpp — the residual (skip) connection: y = a + b.
#pragma once

#include "edgenas/core/tensor.hpp"

namespace edgenas::ops {

/// y = a + b; y may alias a or b.
inline void residual_add_forward(ConstTensorView a, ConstTensorView b, TensorView y) {
  EDGENAS_CHECK(a.shape() == b.shape() && a.shape() == y.shape(), Status::invalid_shape,
                "residual_add_forward: branch %dx%dx%dx%d and shortcut %dx%dx%dx%d (output %dx%dx%dx%d) must match",
                a.shape().n, a.shape().h, a.shape().w, a.shape().c, b.shape().n, b.shape().h, b.shape().w,
                b.shape().c, y.shape().n, y.shape().h, y.shape().w, y.shape().c);
  y.array() = a.array() + b.array();
}

/// The gradient reaches both inputs unchanged: adds dy to `dinput` (the shortcut's gradient
/// is summed with whatever the branch already propagated there).
inline void residual_add_backward(ConstTensorView dy, TensorView dinput) {
  EDGENAS_CHECK(dy.shape() == dinput.shape(), Status::invalid_shape,
                "residual_add_backward: gradient shapes %dx%dx%dx%d and %dx%dx%dx%d differ", dy.shape().n,
                dy.shape().h, dy.shape().w, dy.shape().c, dinput.shape().n, dinput.shape().h, dinput.shape().w,
                dinput.shape().c);
  dinput.array() += dy.array();
}

}  // namespace edgenas::ops
