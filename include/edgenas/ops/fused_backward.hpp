// edgenas/ops/fused_backward.hpp — conv backward through the batch norm + activation after it,
// without storing the gradient in between.
//
// Unfused, the gradient w.r.t. the conv output g = bn_act_backward(conv, dy) is written once and
// read twice (input and weight gradients): three trips through memory for the largest tensors
// of a training step. On the 2-vCPU VM one thread already gets nearly all the memory
// bandwidth two threads get (bench_train's stream_triad: 47 vs 53 GB/s), so those trips decide
// the two-thread speed. Here g is
// computed a block of rows (pointwise) or one image (depthwise) at a time into a per-thread
// buffer that stays in cache, and consumed there. The batch-norm sums (the first pass) must
// still see every row first: callers run batch_norm_act_backward_sums, then these.
#pragma once

#include <span>

#include "edgenas/ops/batch_norm.hpp"
#include "edgenas/ops/dense.hpp"
#include "edgenas/ops/depthwise.hpp"

namespace edgenas::ops {

namespace detail {
// Tags of the per-thread buffers that hold the gradient between its two uses.
struct PointwiseGradientBlock;
struct DepthwiseGradientImage;

inline void check_fused(const char* op, const BatchNormBackward& bn, ConstTensorView conv, ConstTensorView dy) {
  EDGENAS_CHECK(conv.shape() == dy.shape(), Status::invalid_shape,
                "%s: conv output %dx%dx%dx%d and output gradient %dx%dx%dx%d differ", op, conv.shape().n,
                conv.shape().h, conv.shape().w, conv.shape().c, dy.shape().n, dy.shape().h, dy.shape().w, dy.shape().c);
  EDGENAS_CHECK(bn.scale.size() == static_cast<std::size_t>(conv.shape().c), Status::invalid_shape,
                "%s: batch-norm coefficients for %zu channels, conv output has %d", op, bn.scale.size(),
                conv.shape().c);
}
}  // namespace detail

/// pointwise_backward(x, w, g, dx, dw, {}) for g = batch_norm_act_backward(conv, …, dy), where
/// conv = pointwise_forward(x, w) and bn = batch_norm_act_backward_sums(conv, …, dy). g is
/// never stored.
inline void pointwise_bn_act_backward(ConstTensorView x, std::span<const float> w, const BatchNormBackward& bn,
                                      ConstTensorView conv, ConstTensorView dy, TensorView dx, std::span<float> dw) {
  constexpr const char* op = "pointwise_bn_act_backward";
  detail::check_fused(op, bn, conv, dy);
  const Shape xs = x.shape(), ys = conv.shape();
  detail::check_pointwise_backward(op, xs, ys, dx, w.size(), dw.size(), 0);
  const std::int64_t o = ys.c;
  const auto g_rows = [&](std::int64_t first, std::int64_t last) {
    float* g = thread_scratch<detail::PointwiseGradientBlock>(static_cast<std::size_t>((last - first) * o));
    batch_norm_act_backward_rows(bn, conv.data() + first * o, dy.data() + first * o, last - first, g);
    return static_cast<const float*>(g);
  };
  detail::dense_backward(x.data(), xs.rows(), xs.c, w, g_rows, o, dx.data(), dw, {});
}

/// depthwise_backward(x, w, kernel, stride, g, dx, dw, {}) for g = batch_norm_act_backward(conv,
/// …, dy), where conv = depthwise_forward(x, w, …) and bn = batch_norm_act_backward_sums(conv,
/// …, dy). g is never stored.
inline void depthwise_bn_act_backward(ConstTensorView x, std::span<const float> w, int kernel, int stride,
                                      const BatchNormBackward& bn, ConstTensorView conv, ConstTensorView dy,
                                      TensorView dx, std::span<float> dw) {
  constexpr const char* op = "depthwise_bn_act_backward";
  detail::check_fused(op, bn, conv, dy);
  const Shape ys = conv.shape();
  detail::check_depthwise_backward(op, x.shape(), ys, kernel, stride, dx, w.size(), dw.size(), 0);
  const std::int64_t per_image = ys.per_image();
  const auto g_image = [&](std::int64_t n) {
    float* g = thread_scratch<detail::DepthwiseGradientImage>(static_cast<std::size_t>(per_image));
    batch_norm_act_backward_rows(bn, conv.data() + n * per_image, dy.data() + n * per_image, std::int64_t{ys.h} * ys.w,
                                 g);
    return static_cast<const float*>(g);
  };
  detail::depthwise_backward(x, w, kernel, stride, g_image, dx, dw, {});
}

}  // namespace edgenas::ops
