// edgenas/ops/dense.hpp — pointwise (1×1) convolution and fully-connected layers as GEMM.
//
// Both are one operation on a row-major matrix: Y[M×O] = X[M×K] · Wᵀ + b, with W stored
// [O][K] (XNNPACK's OHWI for 1×1 kernels, and its fully-connected layout). A pointwise conv is
// M = N·H·W rows of K = C_in channels; a linear layer is M = N rows of K features. Rows are
// split across threads; each thread runs the kernels of gemm.hpp on its slice.
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"
#include "edgenas/ops/gemm.hpp"

namespace edgenas::ops {

namespace detail {

using ConstMatrixMap = Eigen::Map<const RowMajorMatrix<float>>;

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

struct TransposedWeights;  // tag of the per-thread buffer holding Wᵀ

// Y = X·Wᵀ + b over M rows (Wᵀ: [K×O], the right-hand side gemm::multiply reads).
inline void dense_forward(const float* x, std::int64_t m, std::int64_t k, std::span<const float> w,
                          std::span<const float> b, float* y, std::int64_t o) {
  float* wt = thread_scratch<TransposedWeights>(w.size());
  gemm::transpose(w.data(), o, k, wt);
  parallel_for(m, [&](int, std::int64_t first, std::int64_t last) {
    gemm::multiply(x + first * k, k, wt, o, y + first * o, o, last - first, k, o, b.empty() ? nullptr : b.data());
  });
}

// dX = dY·W (if dx), dW += dYᵀ·X, db += Σ_rows dY (if db non-empty), in blocks of rows:
// dy_rows(first, last) returns rows [first, last) of dY — a pointer into it, or a per-thread
// buffer it has just filled (fused_backward.hpp computes the gradient block by block).
template <typename DyRows>
inline void dense_backward(const float* x, std::int64_t m, std::int64_t k, std::span<const float> w,
                           DyRows&& dy_rows, std::int64_t o, float* dx, std::span<float> dw, std::span<float> db) {
  const std::int64_t block = std::max<std::int64_t>(64, 16384 / o);  // ≤ 64 KB of dY: stays in L2
  const int chunks = parallel_chunks(m);
  // Per-chunk partial weight gradients, summed in chunk order so results are reproducible.
  std::vector<std::vector<float>> partial_dw(static_cast<std::size_t>(chunks));
  std::vector<Eigen::RowVectorXf> partial_db(static_cast<std::size_t>(chunks));
  parallel_for(m, [&](int chunk, std::int64_t first, std::int64_t last) {
    std::vector<float>& part = partial_dw[static_cast<std::size_t>(chunk)];
    Eigen::RowVectorXf& part_db = partial_db[static_cast<std::size_t>(chunk)];
    if (!dw.empty()) part.assign(dw.size(), 0.0f);
    if (!db.empty()) part_db.setZero(o);
    for (std::int64_t b = first; b < last; b += block) {
      const std::int64_t rows = std::min(last, b + block) - b;
      const float* g = dy_rows(b, b + rows);
      if (dx) gemm::multiply(g, o, w.data(), k, dx + b * k, k, rows, o, k);
      if (!dw.empty()) gemm::multiply_transposed_add(g, o, x + b * k, k, part.data(), k, rows, o, k);
      if (!db.empty()) part_db += ConstMatrixMap(g, rows, o).colwise().sum();
    }
  });
  if (!dw.empty())
    for (const auto& p : partial_dw)
      for (std::size_t i = 0; i < dw.size(); ++i) dw[i] += p[i];
  if (!db.empty()) {
    Eigen::Map<Eigen::RowVectorXf> dB(db.data(), o);
    for (const auto& p : partial_db) dB += p;
  }
}

// Rows of a gradient that is already in memory.
inline auto rows_of(const float* dy, std::int64_t o) {
  return [dy, o](std::int64_t first, std::int64_t) { return dy + first * o; };
}

inline void check_pointwise_backward(const char* op, Shape xs, Shape ys, TensorView dx, std::size_t w_size,
                                     std::size_t dw_size, std::size_t db_size) {
  EDGENAS_CHECK(xs.n == ys.n && xs.h == ys.h && xs.w == ys.w, Status::invalid_shape,
                "%s: input %dx%dx%dx%d and output gradient %dx%dx%dx%d differ in N, H or W", op, xs.n, xs.h, xs.w,
                xs.c, ys.n, ys.h, ys.w, ys.c);
  EDGENAS_CHECK(!dx.data() || dx.shape() == xs, Status::invalid_shape,
                "%s: input gradient shape differs from input shape", op);
  EDGENAS_CHECK(dw_size == w_size, Status::invalid_shape, "%s: weight gradient has %zu values, weight %zu", op,
                dw_size, w_size);
  check_dense(op, xs.rows(), xs.c, ys.rows(), ys.c, w_size, db_size);
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
  detail::check_pointwise_backward("pointwise_backward", xs, ys, dx, w.size(), dw.size(), db.size());
  detail::dense_backward(x.data(), xs.rows(), xs.c, w, detail::rows_of(dy.data(), ys.c), ys.c, dx.data(), dw, db);
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
  detail::dense_backward(x.data(), xs.n, k, w, detail::rows_of(dy.data(), o), o, dx.data(), dw, db);
}

}  // namespace edgenas::ops
