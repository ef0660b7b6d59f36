// edgenas/ops/dense.hpp — pointwise (1×1) convolution and fully-connected layers as GEMM.
//
// Both are one operation on a row-major matrix: Y[M×O] = X[M×K] · Wᵀ + b, with W stored
// [O][K] (XNNPACK's OHWI for 1×1 kernels, and its fully-connected layout). A pointwise conv is
// M = N·H·W rows of K = C_in channels; a linear layer is M = N rows of K features. Rows are
// split across threads; each thread runs an Eigen GEMM on its slice.
#pragma once

#include <span>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"

namespace edgenas::ops {

namespace detail {

using ConstMatrixMap = Eigen::Map<const RowMajorMatrix<float>>;
using MatrixMap = Eigen::Map<RowMajorMatrix<float>>;

inline void check_dense(const char* op, std::int64_t rows_x, std::int64_t k, std::int64_t rows_y, std::int64_t o,
                        std::size_t w_size, std::size_t b_size) {
  EDGENAS_CHECK(rows_x == rows_y, Status::invalid_shape, "%s: input has %lld rows (N·H·W), output %lld", op,
                static_cast<long long>(rows_x), static_cast<long long>(rows_y));
  EDGENAS_CHECK(w_size == static_cast<std::size_t>(o * k), Status::invalid_shape,
                "%s: weight has %zu values, expected %lld (out %lld × in %lld)", op, w_size,
                static_cast<long long>(o * k), static_cast<long long>(o), static_cast<long long>(k));
  EDGENAS_CHECK(b_size == 0 || b_size == static_cast<std::size_t>(o), Status::invalid_shape,
                "%s: bias has %zu values, expected %lld or none", op, b_size, static_cast<long long>(o));
}

// Y = X·Wᵀ + b over M rows.
inline void dense_forward(const float* x, std::int64_t m, std::int64_t k, std::span<const float> w,
                          std::span<const float> b, float* y, std::int64_t o) {
  ConstMatrixMap W(w.data(), o, k);
  parallel_for(m, [&](int, std::int64_t first, std::int64_t last) {
    ConstMatrixMap X(x + first * k, last - first, k);
    MatrixMap Y(y + first * o, last - first, o);
    Y.noalias() = X * W.transpose();
    if (!b.empty()) Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(b.data(), o);
  });
}

// dX = dY·W (if dx), dW += dYᵀ·X, db += Σ_rows dY (if db non-empty).
inline void dense_backward(const float* x, std::int64_t m, std::int64_t k, std::span<const float> w,
                           const float* dy, std::int64_t o, float* dx, std::span<float> dw, std::span<float> db) {
  ConstMatrixMap W(w.data(), o, k);
  const int chunks = parallel_chunks(m);
  // Per-chunk partial weight gradients, summed in chunk order so results are reproducible.
  std::vector<RowMajorMatrix<float>> partial_dw(static_cast<std::size_t>(chunks));
  std::vector<Eigen::RowVectorXf> partial_db(static_cast<std::size_t>(chunks));
  parallel_for(m, [&](int chunk, std::int64_t first, std::int64_t last) {
    ConstMatrixMap X(x + first * k, last - first, k);
    ConstMatrixMap dY(dy + first * o, last - first, o);
    if (dx) MatrixMap(dx + first * k, last - first, k).noalias() = dY * W;
    if (!dw.empty()) partial_dw[static_cast<std::size_t>(chunk)].noalias() = dY.transpose() * X;
    if (!db.empty()) partial_db[static_cast<std::size_t>(chunk)] = dY.colwise().sum();
  });
  if (!dw.empty()) {
    MatrixMap dW(dw.data(), o, k);
    for (const auto& p : partial_dw) dW += p;
  }
  if (!db.empty()) {
    Eigen::Map<Eigen::RowVectorXf> dB(db.data(), o);
    for (const auto& p : partial_db) dB += p;
  }
}

}  // namespace detail

/// Pointwise 1×1 convolution: y[N,H,W,O] = x[N,H,W,K] · Wᵀ + b. w is [O][K]; b is [O] or empty.
inline void pointwise_forward(ConstTensorView x, std::span<const float> w, std::span<const float> b, TensorView y) {
  const Shape xs = x.shape(), ys = y.shape();
  EDGENAS_CHECK(xs.n == ys.n && xs.h == ys.h && xs.w == ys.w, Status::invalid_shape,
                "pointwise_forward: input %dx%dx%dx%d and output %dx%dx%dx%d differ in N, H or W", xs.n, xs.h, xs.w,
                xs.c, ys.n, ys.h, ys.w, ys.c);
  detail::check_dense("pointwise_forward", xs.rows(), xs.c, ys.rows(), ys.c, w.size(), b.size());
  detail::dense_forward(x.data(), xs.rows(), xs.c, w, b, y.data(), ys.c);
}

/// Gradients of pointwise_forward. Writes dx (skipped if dx has no data); adds to dw and db
/// (db may be empty). Accumulating lets shared weights (the supernet) collect several uses.
inline void pointwise_backward(ConstTensorView x, std::span<const float> w, ConstTensorView dy, TensorView dx,
                               std::span<float> dw, std::span<float> db) {
  const Shape xs = x.shape(), ys = dy.shape();
  EDGENAS_CHECK(xs.n == ys.n && xs.h == ys.h && xs.w == ys.w, Status::invalid_shape,
                "pointwise_backward: input %dx%dx%dx%d and output gradient %dx%dx%dx%d differ in N, H or W", xs.n,
                xs.h, xs.w, xs.c, ys.n, ys.h, ys.w, ys.c);
  EDGENAS_CHECK(!dx.data() || dx.shape() == xs, Status::invalid_shape,
                "pointwise_backward: input gradient shape differs from input shape");
  EDGENAS_CHECK(dw.size() == w.size(), Status::invalid_shape,
                "pointwise_backward: weight gradient has %zu values, weight %zu", dw.size(), w.size());
  detail::check_dense("pointwise_backward", xs.rows(), xs.c, ys.rows(), ys.c, w.size(), db.size());
  detail::dense_backward(x.data(), xs.rows(), xs.c, w, dy.data(), ys.c, dx.data(), dw, db);
}

/// Fully-connected layer on [N, features] tensors (H = W = 1, e.g. after global pooling):
/// y[N,O] = x[N,K] · Wᵀ + b. w is [O][K]; b is [O] or empty.
inline void linear_forward(ConstTensorView x, std::span<const float> w, std::span<const float> b, TensorView y) {
  const Shape xs = x.shape(), ys = y.shape();
  const std::int64_t k = xs.per_image(), o = ys.per_image();
  EDGENAS_CHECK(xs.n == ys.n, Status::invalid_shape, "linear_forward: input batch %d, output batch %d", xs.n, ys.n);
  detail::check_dense("linear_forward", xs.n, k, ys.n, o, w.size(), b.size());
  detail::dense_forward(x.data(), xs.n, k, w, b, y.data(), o);
}

/// Gradients of linear_forward, with the same conventions as pointwise_backward.
inline void linear_backward(ConstTensorView x, std::span<const float> w, ConstTensorView dy, TensorView dx,
                            std::span<float> dw, std::span<float> db) {
  const Shape xs = x.shape(), ys = dy.shape();
  const std::int64_t k = xs.per_image(), o = ys.per_image();
  EDGENAS_CHECK(xs.n == ys.n, Status::invalid_shape, "linear_backward: input batch %d, output gradient batch %d",
                xs.n, ys.n);
  EDGENAS_CHECK(!dx.data() || dx.size() == x.size(), Status::invalid_shape,
                "linear_backward: input gradient size differs from input size");
  EDGENAS_CHECK(dw.size() == w.size(), Status::invalid_shape,
                "linear_backward: weight gradient has %zu values, weight %zu", dw.size(), w.size());
  detail::check_dense("linear_backward", xs.n, k, ys.n, o, w.size(), db.size());
  detail::dense_backward(x.data(), xs.n, k, w, dy.data(), o, dx.data(), dw, db);
}

}  // namespace edgenas::ops
