// edgenas/ops/pooling.hpp — global average pooling over H×W.
#pragma once

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"

namespace edgenas::ops {

/// y[N,1,1,C] = mean over H×W of x[N,H,W,C].
inline void global_average_pool_forward(ConstTensorView x, TensorView y) {
  const Shape xs = x.shape();
  EDGENAS_CHECK((y.shape() == Shape{xs.n, 1, 1, xs.c}), Status::invalid_shape,
                "global_average_pool_forward: input %dx%dx%dx%d needs output %dx1x1x%d, got %dx%dx%dx%d", xs.n, xs.h,
                xs.w, xs.c, xs.n, xs.c, y.shape().n, y.shape().h, y.shape().w, y.shape().c);
  const float inv = 1.0f / static_cast<float>(xs.pixels());
  parallel_for(xs.n, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t n = first; n < last; ++n) {
      Eigen::Map<const RowMajorMatrix<float>> image(x.data() + n * xs.per_image(), xs.pixels(), xs.c);
      Eigen::Map<Eigen::RowVectorXf>(y.data() + n * xs.c, xs.c) = image.colwise().sum() * inv;
    }
  });
}

/// dx[N,H,W,C] = dy[N,1,1,C] / (H·W), broadcast over H×W.
inline void global_average_pool_backward(ConstTensorView dy, TensorView dx) {
  const Shape xs = dx.shape();
  EDGENAS_CHECK((dy.shape() == Shape{xs.n, 1, 1, xs.c}), Status::invalid_shape,
                "global_average_pool_backward: output gradient must be %dx1x1x%d", xs.n, xs.c);
  const float inv = 1.0f / static_cast<float>(xs.pixels());
  parallel_for(xs.n, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t n = first; n < last; ++n) {
      Eigen::Map<RowMajorMatrix<float>> image(dx.data() + n * xs.per_image(), xs.pixels(), xs.c);
      image.rowwise() = Eigen::Map<const Eigen::RowVectorXf>(dy.data() + n * xs.c, xs.c) * inv;
    }
  });
}

}  // namespace edgenas::ops
