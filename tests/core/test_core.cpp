#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <edgenas/core.hpp>
#include <numbers>
#include <set>
#include <string>

using namespace edgenas;

TEST_CASE("Shape arithmetic is constexpr and matches TensorFlow SAME padding", "[core][shape]") {
  static_assert(Shape{2, 5, 7, 3}.size() == 210);
  static_assert(Shape{2, 5, 7, 3}.rows() == 70);
  static_assert(same_output_extent(28, 2) == 14 && same_output_extent(7, 2) == 4 && same_output_extent(7, 1) == 7);
  // in 7, k 3, s 2: out 4, total padding (4-1)*2+3-7 = 2 → 1 before, 1 after.
  static_assert(same_padding_before(7, 3, 2) == 1 && same_padding_total(7, 3, 2) == 2);
  // in 8, k 3, s 2: out 4, total 1 → 0 before, 1 after (TensorFlow puts the extra after).
  static_assert(same_padding_before(8, 3, 2) == 0 && same_padding_total(8, 3, 2) == 1);
  static_assert(same_padding_before(14, 5, 1) == 2);
  static_assert(same_window_output(Shape{1, 28, 28, 1}, 2, 16) == Shape{1, 14, 14, 16});
  CHECK_FALSE(Shape{1, 0, 3, 3}.valid());
}

TEST_CASE("Tensor views share memory with their Eigen maps", "[core][tensor]") {
  Tensor t(Shape{2, 3, 4, 5});
  CHECK(t.size() == 120);
  TensorView v = t;
  v(1, 2, 3, 4) = 7.0f;
  CHECK(t[119] == 7.0f);
  CHECK(v.matrix().rows() == 24);
  CHECK(v.matrix().cols() == 5);
  CHECK(v.matrix()(23, 4) == 7.0f);
  v.matrix()(0, 1) = 3.0f;
  CHECK(t(0, 0, 0, 1) == 3.0f);
  ConstTensorView second = v.images(1, 1);
  CHECK(second.shape() == Shape{1, 3, 4, 5});
  CHECK(second(0, 2, 3, 4) == 7.0f);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 16 == 0);
  CHECK_THROWS_AS(Tensor(Shape{1, -1, 2, 2}), Error);
}

TEST_CASE("Rng is deterministic, forkable and well distributed", "[core][rng]") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    CHECK(x == b.next_u64());
    CHECK(x != c.next_u64());
  }
  // Uniform mean ≈ 0.5, normal mean ≈ 0 and variance ≈ 1 over 100k draws (5σ bounds).
  Rng r(7);
  double sum = 0, nsum = 0, nsq = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const float u = r.uniform();
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    sum += u;
    const double z = r.normal();
    nsum += z;
    nsq += z * z;
  }
  CHECK(std::abs(sum / n - 0.5) < 5 * 0.2887 / std::sqrt(n));
  CHECK(std::abs(nsum / n) < 5.0 / std::sqrt(n));
  CHECK(std::abs(nsq / n - 1.0) < 5 * std::sqrt(2.0 / n));
  // below() hits every value in range and nothing outside.
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(r.below(7));
  CHECK(seen.size() == 7);
  CHECK(*seen.rbegin() == 6);
  // Forks are independent of each other and of the parent.
  Rng f1 = a.fork(1), f2 = a.fork(2);
  CHECK(f1.next_u64() != f2.next_u64());
  // This generator's stream for seed 1, pinned: a change to the algorithm or a platform
  // difference (the cross-built suites run this too) shows up here.
  Rng pinned(1);
  CHECK(pinned.next_u64() == 12966619160104079557ull);
  CHECK(pinned.next_u64() == 9600361134598540522ull);
  CHECK(Rng(1).uniform() == 0.702921808f);
}

TEST_CASE("parallel_for covers the range once, in ordered chunks, and propagates errors", "[core][parallel]") {
  // A thread count beyond edgenas::max_threads is an error, not an attempt to start them.
  CHECK_THROWS_WITH(set_num_threads(100000), Catch::Contains("100000 threads requested, expected 1 to 256"));
  CHECK_THROWS_WITH(set_num_threads(0), Catch::Contains("expected 1 to 256"));
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<std::atomic<int>> hits(1000);
    std::vector<std::pair<std::int64_t, std::int64_t>> chunks(static_cast<std::size_t>(parallel_chunks(1000)));
    parallel_for(1000, [&](int chunk, std::int64_t first, std::int64_t last) {
      chunks[static_cast<std::size_t>(chunk)] = {first, last};
      for (auto i = first; i < last; ++i) hits[static_cast<std::size_t>(i)]++;
    });
    for (auto& h : hits) REQUIRE(h.load() == 1);
    CHECK(chunks.front().first == 0);
    CHECK(chunks.back().second == 1000);
    for (std::size_t i = 1; i < chunks.size(); ++i) CHECK(chunks[i].first == chunks[i - 1].second);
    // Nested regions run inline instead of deadlocking.
    std::atomic<int> inner{0};
    parallel_for(4, [&](int, std::int64_t a, std::int64_t b) {
      parallel_for(b - a, [&](int, std::int64_t x, std::int64_t y) { inner += static_cast<int>(y - x); });
    });
    CHECK(inner.load() == 4);
    CHECK_THROWS_WITH(parallel_for(10, [](int chunk, std::int64_t, std::int64_t) {
                        if (chunk == 0) EDGENAS_FAIL(Status::invalid_argument, "chunk %d failed", chunk);
                      }),
                      "chunk 0 failed");
  }
  CHECK_THROWS_AS(set_num_threads(0), Error);
  set_num_threads(2);
}

TEST_CASE("Errors carry a status and a formatted message", "[core][error]") {
  try {
    EDGENAS_CHECK(1 + 1 == 3, Status::invalid_shape, "block %s: %d != %d", "mbconv3", 24, 40);
    FAIL("no error raised");
  } catch (const Error& e) {
    CHECK(e.status() == Status::invalid_shape);
    CHECK(std::string(e.what()) == "block mbconv3: 24 != 40");
  }
  CHECK(std::string(status_name(Status::corrupt_data)) == "corrupt data");
}

TEST_CASE("A long error message arrives whole (paths, genotypes and devices can exceed any fixed buffer)",
          "[core][error]") {
  const std::string path(3000, 'p');
  try {
    EDGENAS_FAIL(Status::io_error, "%s: cannot open (%d)", path.c_str(), 2);
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == path + ": cannot open (2)");
  }
}

TEST_CASE("rank correlations agree with hand-computed values and with the no-tie formulas", "[core][rank]") {
  const std::vector<double> x{1, 2, 3, 4}, y{1, 3, 2, 4};
  CHECK(kendall_tau(x, y) == Approx(4.0 / 6.0));  // 5 concordant, 1 discordant pair
  CHECK(spearman_rho(x, y) == Approx(0.8));      // 1 - 6·2 / (4·15)
  // Ties (values scipy.stats gives): τ-b 5/√30, ρ of average ranks 4.5/√22.5.
  const std::vector<double> tied{1, 2, 2, 3};
  CHECK(kendall_tau(tied, x) == Approx(5.0 / std::sqrt(30.0)));
  CHECK(spearman_rho(tied, x) == Approx(4.5 / std::sqrt(22.5)));
  CHECK(kendall_tau(x, std::vector<double>{4, 3, 2, 1}) == Approx(-1.0));
  CHECK(kendall_tau(x, std::vector<double>{7, 7, 7, 7}) == 0.0);
  // Random values without ties: τ = 1 − 4·inversions / (n(n − 1)), ρ = 1 − 6·Σd² / (n(n² − 1)).
  Rng rng(3);
  std::vector<double> a(40), b(40);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = i + 0.5 * rng.uniform(), b[i] = rng.uniform();
  double inversions = 0, d2 = 0;
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  for (std::size_t i = 0; i < a.size(); ++i) {
    d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
    for (std::size_t j = i + 1; j < a.size(); ++j) inversions += (a[i] < a[j]) != (b[i] < b[j]);
  }
  const double n = 40;
  CHECK(kendall_tau(a, b) == Approx(1 - 4 * inversions / (n * (n - 1))));
  CHECK(spearman_rho(a, b) == Approx(1 - 6 * d2 / (n * (n * n - 1))));
  const std::vector<double> down{5, 4, 3, 2, 1}, up{1, 2, 3, 4, 5};
  CHECK(top_k_overlap(down, up, 2) == 0);
  CHECK(top_k_overlap(down, up, 3) == 1);
  CHECK(top_k_overlap(down, down, 5) == 5);
  // Rank sums: ranks of {1, 2, 2, 3} are 1, 2.5, 2.5, 4; of {1, 3, 2, 4} 1, 3, 2, 4.
  CHECK(rank_sum(tied, y) == std::vector<double>{2, 5.5, 4.5, 8});
  CHECK_THROWS_WITH(rank_sum(tied, up), Catch::Contains("rank_sum: 4 and 5 values"));
}

TEST_CASE("the rank ceiling: Greiner's relation, Spearman-Brown, and draws of the noise model agree", "[core][rank]") {
  // Greiner's relation against Kendall's τ of many bivariate normal draws with correlation 0.7.
  Rng rng(11);
  std::vector<double> x(3000), y(3000);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = rng.normal();
    y[i] = 0.7 * x[i] + std::sqrt(1 - 0.49) * rng.normal();
  }
  CHECK(kendall_tau(x, y) == Approx(2 / std::numbers::pi * std::asin(0.7)).margin(0.025));
  CHECK(tau_of_correlation(0.7) == Approx(0.49365).margin(1e-4));
  CHECK(correlation_of_tau(tau_of_correlation(0.3)) == Approx(0.3));
  // Reliability of one training and of the mean of two (Spearman–Brown, by hand).
  const double r = std::sin(std::numbers::pi / 2 * 0.51);
  CHECK(reference_reliability(0.51) == Approx(r));
  CHECK(reference_reliability(0.51, 2) == Approx(2 * r / (1 + r)));
  CHECK(perfect_signal_tau(0.51) == Approx(2 / std::numbers::pi * std::asin(std::sqrt(r))));
  CHECK_THROWS_WITH(reference_reliability(1.0), Catch::Contains("must lie in (0, 1)"));
  // The draws reproduce the reference's repeatability they were built from and, on average, the
  // closed forms (24 architectures: τ of single draws scatters by about 0.1).
  const RankCeilingDraws one = simulate_rank_ceiling(0.51, 1, 24, 0.6, 3000);
  CHECK(one.reference_self_tau == Approx(0.51).margin(0.015));
  CHECK(one.mean == Approx(perfect_signal_tau(0.51)).margin(0.015));
  CHECK(one.sd > 0.05);
  CHECK(one.sd < 0.15);
  CHECK(one.share_at_least > 0.5);
  CHECK(one.share_at_least < 0.95);
  CHECK(simulate_rank_ceiling(0.51, 2, 24, 0.6, 3000).mean == Approx(perfect_signal_tau(0.51, 2)).margin(0.015));
  // A noisy signal drawn here, independently of simulate_rank_ceiling: its τ against one training,
  // taken back through signal_tau_against_truth, gives its τ against the truth.
  const double noise = std::sqrt((1 - r) / r), signal_noise = 0.8;
  double against_training = 0, against_truth = 0;
  const int draws = 3000;
  std::vector<double> truth(24), training(24), signal(24);
  for (int d = 0; d < draws; ++d) {
    for (std::size_t i = 0; i < truth.size(); ++i) {
      truth[i] = rng.normal();
      training[i] = truth[i] + noise * rng.normal();
      signal[i] = truth[i] + signal_noise * rng.normal();
    }
    against_training += kendall_tau(signal, training) / draws;
    against_truth += kendall_tau(signal, truth) / draws;
  }
  CHECK(signal_tau_against_truth(against_training, 0.51) == Approx(against_truth).margin(0.02));
}
