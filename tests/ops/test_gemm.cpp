// ops/gemm.hpp against naive double loops: every column panel width (two packets, one, half,
// quarter, single floats), every row-tile remainder, reductions cut into several slices, row
// strides wider than the matrices (their padding must stay untouched), bias and accumulation.
#include <catch2/catch.hpp>
#include <edgenas/ops/gemm.hpp>

#include <array>
#include <cmath>

#include "../support/compare.hpp"
#include "../support/random.hpp"

using namespace edgenas;
using namespace edgenas::test;

namespace {

// Row-major rows×cols matrix of random values with row stride ld ≥ cols.
struct Strided {
  std::int64_t rows, cols, ld;
  std::vector<float> v;
  Strided(std::int64_t r, std::int64_t c, std::int64_t pad, Rng& rng)
      : rows(r), cols(c), ld(c + pad), v(random_vector(static_cast<std::size_t>(r * (c + pad)), rng)) {}
  float at(std::int64_t i, std::int64_t j) const { return v[static_cast<std::size_t>(i * ld + j)]; }
  std::vector<float> packed() const {
    std::vector<float> out;
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) out.push_back(at(i, j));
    return out;
  }
};

}  // namespace

TEST_CASE(
    "gemm::multiply equals the naive product for every panel width, row "
    "remainder and slice count",
    "[ops][gemm]") {
  Rng rng(71);
  const std::int64_t widths[] = {1, 3, 4, 7, 8, 12, 16, 24, 31, 32, 33, 40, 47, 64, 70};
  const std::int64_t depths[] = {1, 5, 16, 257, 700};
  for (std::int64_t n : widths)
    for (std::int64_t k : depths) {
      const std::int64_t m = rng.between(1, 40);
      const std::int64_t pad = rng.between(0, 3);
      INFO("m " << m << " k " << k << " n " << n << " padding " << pad);
      const Strided a(m, k, pad, rng), b(k, n, pad, rng);
      Strided c(m, n, pad, rng);
      const std::vector<float> bias = random_vector(static_cast<std::size_t>(n), rng);
      const bool with_bias = (n + k) % 2 == 0;
      const Strided before = c;
      ops::gemm::multiply(a.v.data(), a.ld, b.v.data(), b.ld, c.v.data(), c.ld, m, k, n,
                          with_bias ? bias.data() : nullptr);
      std::vector<double> expected;
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double s = with_bias ? bias[static_cast<std::size_t>(j)] : 0.0;
          for (std::int64_t t = 0; t < k; ++t) s += double{a.at(i, t)} * b.at(t, j);
          expected.push_back(s);
        }
      require_close("multiply", c.packed().data(), expected, 1e-5 * std::sqrt(static_cast<double>(k)));
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = n; j < c.ld; ++j) REQUIRE(c.at(i, j) == before.at(i, j));  // padding untouched
    }
}

TEST_CASE("gemm::multiply_transposed_add adds the naive Aᵀ·B to what is there", "[ops][gemm]") {
  Rng rng(72);
  const std::int64_t widths[] = {1, 3, 8, 16, 24, 33, 64, 70};
  const std::int64_t heights[] = {1, 5, 8, 9, 17};
  for (std::int64_t n : widths)
    for (std::int64_t m : heights) {
      const std::int64_t t = std::array{1, 7, 300, 2000}[rng.below(4)];
      const std::int64_t pad = rng.between(0, 3);
      INFO("t " << t << " m " << m << " n " << n << " padding " << pad);
      const Strided a(t, m, pad, rng), b(t, n, pad, rng);
      Strided c(m, n, pad, rng);
      const Strided before = c;
      ops::gemm::multiply_transposed_add(a.v.data(), a.ld, b.v.data(), b.ld, c.v.data(), c.ld, t, m, n);
      std::vector<double> expected;
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double s = before.at(i, j);
          for (std::int64_t r = 0; r < t; ++r) s += double{a.at(r, i)} * b.at(r, j);
          expected.push_back(s);
        }
      require_close("multiply_transposed_add", c.packed().data(), expected, 1e-5 * std::sqrt(static_cast<double>(t)));
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = n; j < c.ld; ++j) REQUIRE(c.at(i, j) == before.at(i, j));
    }
}
