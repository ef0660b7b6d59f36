// edgenas/ops/gemm.hpp — the two matrix products behind 1×1 convolutions and linear layers,
// shaped for training: very many rows (N·H·W, e.g. 100 352) and few columns (channels, ≤ ~1000).
//
// Eigen's general GEMM packs both operands and evaluates C = A·B as "C = 0; C += A·B". On these
// shapes that packs the whole activation tensor once per product and writes the output (the
// largest tensor) twice and reads it once; the products are memory-bound, so that traffic was
// most of their time. These kernels read the activations where they are, keep a tile of C in
// registers for the whole reduction and write every output value once. Vector code comes from
// Eigen's packet primitives (AVX-512/AVX/SSE/NEON; plain floats without SIMD).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>

// Packet types (__m512 …) are template arguments below; GCC warns that their alignment
// attribute is dropped there. They only ever name local register variables, so it is harmless
// (Eigen silences the same warning for its own code).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace edgenas::ops::gemm {

namespace detail {

using Index = std::ptrdiff_t;
using Packet = Eigen::internal::packet_traits<float>::type;
template <typename P>
inline constexpr int lanes = Eigen::internal::unpacket_traits<P>::size;
template <typename P>
using Half = typename Eigen::internal::unpacket_traits<P>::half;

// Rows per register tile: tile_rows × 2 packets of accumulators fill half the vector registers.
inline constexpr int tile_rows = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 8 : 4;

// How a tile's accumulators start: zero, a bias row, or the values already in C.
enum class Start { zero, bias, accumulate };

// C[r][cols] (r < R, NP packets of P) = start + Σ_t A(r, t) · B(t, cols), where
// A(r, t) = a[r·a_row + t·a_step] and B(t, ·) starts at b + t·b_step.
template <typename P, int R, int NP>
inline void tile(const float* a, Index a_row, Index a_step, const float* b, Index b_step, Index depth, float* c,
                 Index c_row, Start start, const float* bias) {
  using namespace Eigen::internal;
  constexpr int L = lanes<P>;
  P acc[R][NP];
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < NP; ++p)
      acc[r][p] = start == Start::accumulate ? ploadu<P>(c + r * c_row + p * L)
                  : start == Start::bias     ? ploadu<P>(bias + p * L)
                                             : pset1<P>(0.0f);
  for (Index t = 0; t < depth; ++t) {
    P bv[NP];
    for (int p = 0; p < NP; ++p) bv[p] = ploadu<P>(b + t * b_step + p * L);
    for (int r = 0; r < R; ++r) {
      const P av = pset1<P>(a[r * a_row + t * a_step]);
      for (int p = 0; p < NP; ++p) acc[r][p] = pmadd(av, bv[p], acc[r][p]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < NP; ++p) pstoreu(c + r * c_row + p * L, acc[r][p]);
}

// `rows` (1 ≤ rows ≤ tile_rows) rows of a tile: the row count becomes a template argument so
// the accumulators stay in registers.
template <typename P, int NP, int R = tile_rows>
inline void tile_of(int rows, const float* a, Index a_row, Index a_step, const float* b, Index b_step, Index depth,
                    float* c, Index c_row, Start start, const float* bias) {
  if constexpr (R > 1) {
    if (rows < R) {
      tile_of<P, NP, R - 1>(rows, a, a_row, a_step, b, b_step, depth, c, c_row, start, bias);
      return;
    }
  }
  tile<P, R, NP>(a, a_row, a_step, b, b_step, depth, c, c_row, start, bias);
}

// Calls fn.template operator()<P, NP>(first_column) for column panels covering [begin, n):
// panels of two full packets, then one, then half and quarter packets, then single floats.
template <typename P, typename Fn>
inline void for_each_panel(Index begin, Index n, Fn&& fn) {
  constexpr int L = lanes<P>;
  Index col = begin;
  for (; col + 2 * L <= n; col += 2 * L) fn.template operator()<P, 2>(col);
  for (; col + L <= n; col += L) fn.template operator()<P, 1>(col);
  if constexpr (lanes<Half<P>> < L)
    for_each_panel<Half<P>>(col, n, fn);
  else if constexpr (L > 1)
    for_each_panel<float>(col, n, fn);
}

}  // namespace detail

/// dst[cols×rows] = src[rows×cols]ᵀ, both row-major (weights [O][K] → the [K][O] right-hand
/// side of multiply). In 16×16 tiles, so both sides stay in L1.
inline void transpose(const float* src, detail::Index rows, detail::Index cols, float* dst) {
  constexpr detail::Index tile = 16;
  for (detail::Index i0 = 0; i0 < rows; i0 += tile)
    for (detail::Index j0 = 0; j0 < cols; j0 += tile)
      for (detail::Index i = i0; i < std::min(rows, i0 + tile); ++i)
        for (detail::Index j = j0; j < std::min(cols, j0 + tile); ++j) dst[j * rows + i] = src[i * cols + j];
}

/// C[m×n] = A[m×k] · B[k×n] (+ bias[n] on every row if bias is not null). Row-major with row
/// strides lda, ldb, ldc. Single-threaded: callers split the rows.
inline void multiply(const float* a, detail::Index lda, const float* b, detail::Index ldb, float* c, detail::Index ldc,
                     detail::Index m, detail::Index k, detail::Index n, const float* bias = nullptr) {
  using namespace detail;
  // The reduction is cut into slices of ≤ 256 so a panel of B (slice × ≤ 2 packets) stays in
  // L1 across a block's row tiles; a block of rows of A (block × slice) stays in L2 while every
  // column panel passes over it.
  const Index slices = (k + 255) / 256, slice = (k + slices - 1) / slices;
  const Index block = std::max<Index>(tile_rows, (Index{32768} / std::max<Index>(slice, 1)) / tile_rows * tile_rows);
  for (Index m0 = 0; m0 < m; m0 += block) {
    const Index m1 = std::min(m, m0 + block);
    for (Index k0 = 0; k0 < k; k0 += slice) {
      const Index depth = std::min(k, k0 + slice) - k0;
      const Start start = k0 > 0 ? Start::accumulate : bias ? Start::bias : Start::zero;
      for_each_panel<Packet>(0, n, [&]<typename P, int NP>(Index col) {
        for (Index row = m0; row < m1; row += tile_rows)
          tile_of<P, NP>(static_cast<int>(std::min<Index>(tile_rows, m1 - row)), a + row * lda + k0, lda, 1,
                         b + k0 * ldb + col, ldb, depth, c + row * ldc + col, ldc, start, bias ? bias + col : nullptr);
      });
    }
  }
}

/// C[m×n] += Aᵀ · B for A[t×m] and B[t×n]: a reduction over t rows (weight gradients,
/// dW += dYᵀ·X). Row-major with row strides lda, ldb, ldc. Single-threaded.
inline void multiply_transposed_add(const float* a, detail::Index lda, const float* b, detail::Index ldb, float* c,
                                    detail::Index ldc, detail::Index t, detail::Index m, detail::Index n) {
  using namespace detail;
  // A block of rows of A and B stays in L2 while every tile of C reduces over it.
  const Index block = std::max<Index>(16, Index{65536} / std::max<Index>(m + n, 1));
  for (Index t0 = 0; t0 < t; t0 += block) {
    const Index depth = std::min(t, t0 + block) - t0;
    for (Index row = 0; row < m; row += tile_rows) {
      const int rows = static_cast<int>(std::min<Index>(tile_rows, m - row));
      for_each_panel<Packet>(0, n, [&]<typename P, int NP>(Index col) {
        tile_of<P, NP>(rows, a + t0 * lda + row, 1, lda, b + t0 * ldb + col, ldb, depth, c + row * ldc + col, ldc,
                       Start::accumulate, nullptr);
      });
    }
  }
}

}  // namespace edgenas::ops::gemm

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
