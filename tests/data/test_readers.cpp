// IDX / CIFAR-10 readers on real and on synthetic (malformed) files, splits and batching.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <edgenas/data.hpp>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "../support/temp_dir.hpp"

using namespace edgenas;
namespace fs = std::filesystem;

namespace {


void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
}

std::vector<std::uint8_t> idx_images(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  std::vector<std::uint8_t> b = {0, 0, 8, 3};
  for (std::uint32_t v : {n, h, w})
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
  for (std::uint32_t i = 0; i < n * h * w; ++i) b.push_back(static_cast<std::uint8_t>(i * 7));
  return b;
}
std::vector<std::uint8_t> idx_labels(std::uint32_t n, int max_label) {
  std::vector<std::uint8_t> b = {0, 0, 8, 1};
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(n >> s));
  for (std::uint32_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(i % static_cast<std::uint32_t>(max_label + 1)));
  return b;
}

}  // namespace

TEST_CASE("Fashion-MNIST from the Debian package: sizes, balance and pixel range", "[data][fashion]") {
  const data::Dataset train = data::load_fashion_mnist(data::Split::train);
  const data::Dataset test = data::load_fashion_mnist(data::Split::test);
  REQUIRE(train.size() == 60000);
  REQUIRE(test.size() == 10000);
  CHECK(train.height == 28);
  CHECK(train.width == 28);
  CHECK(train.channels == 1);
  std::vector<int> per_class(10, 0);
  for (auto l : train.labels) per_class[static_cast<std::size_t>(l)]++;
  for (int c : per_class) CHECK(c == 6000);  // Fashion-MNIST is exactly balanced
  const auto [lo, hi] = std::minmax_element(train.pixels.begin(), train.pixels.end());
  CHECK(*lo == 0);
  CHECK(*hi == 255);
  const data::Normalization n = data::compute_normalization(train);
  CHECK(n.mean[0] == Approx(0.2860).margin(1e-3));  // the published statistics
  CHECK(n.stddev[0] == Approx(0.3530).margin(1e-3));
}

TEST_CASE("IDX reader accepts plain and gzipped files and names every malformation", "[data][idx][errors]") {
  const test::TempDir scratch("data_test");
  const fs::path dir = scratch.path();
  const auto img = (dir / "img.idx").string(), lab = (dir / "lab.idx").string(), gz = (dir / "img.gz").string();
  write_bytes(img, idx_images(5, 3, 4), false);
  write_bytes(gz, idx_images(5, 3, 4), true);
  write_bytes(lab, idx_labels(5, 9), false);
  for (const auto& path : {img, gz}) {
    const data::Dataset d = data::load_idx(path, lab);
    REQUIRE(d.size() == 5);
    CHECK(d.height == 3);
    CHECK(d.width == 4);
    CHECK(d.image(1)[0] == static_cast<std::uint8_t>(12 * 7));
    CHECK(d.labels[4] == 4);
  }
  // Truncated image data.
  auto short_images = idx_images(5, 3, 4);
  short_images.resize(short_images.size() - 3);
  write_bytes(img, short_images, false);
  CHECK_THROWS_WITH(data::load_idx(img, lab), Catch::Contains(img) && Catch::Contains("truncated") &&
                                                  Catch::Contains("header promises 5 images of 3×4"));
  // A gzip stream cut in half.
  {
    std::ifstream in(gz, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    bytes.resize(bytes.size() / 2);
    std::ofstream(gz, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  CHECK_THROWS_WITH(data::load_idx(gz, lab), Catch::Contains(gz));
  // Wrong magic, count mismatch, label out of range, missing file.
  write_bytes(img, idx_labels(40, 9), false);
  CHECK_THROWS_WITH(data::load_idx(img, lab), Catch::Contains("magic 0x00000801, expected 0x00000803"));
  write_bytes(img, {0, 0, 8, 3, 0}, false);
  CHECK_THROWS_WITH(data::load_idx(img, lab), Catch::Contains("5 bytes, too short for an IDX image header"));
  write_bytes(img, idx_images(5, 3, 4), false);
  write_bytes(lab, idx_labels(4, 9), false);
  CHECK_THROWS_WITH(data::load_idx(img, lab), Catch::Contains("4 labels for 5 images"));
  write_bytes(lab, idx_labels(5, 9), false);
  CHECK_THROWS_WITH(data::load_idx(img, lab, 3), Catch::Contains("label 3 of image 3 is outside [0, 3)"));
  CHECK_THROWS_WITH(data::load_idx((dir / "missing").string(), lab), Catch::Contains("cannot open"));
}

TEST_CASE("CIFAR-10 binary reader converts planar RGB to HWC and rejects truncation", "[data][cifar]") {
  const test::TempDir scratch("data_test");
  const fs::path dir = scratch.path();
  std::vector<std::uint8_t> bytes;
  for (int rec = 0; rec < 3; ++rec) {
    bytes.push_back(static_cast<std::uint8_t>(rec * 3));
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) bytes.push_back(static_cast<std::uint8_t>((c * 100 + p + rec) % 256));
  }
  const auto path = (dir / "data_batch_1.bin").string();
  write_bytes(path, bytes, false);
  const data::Dataset d = data::load_cifar10_batch(path);
  REQUIRE(d.size() == 3);
  CHECK(d.labels[2] == 6);
  // Pixel 5 of image 1: R = 5+1, G = 105+1, B = 205+1.
  CHECK(d.image(1)[5 * 3 + 0] == 6);
  CHECK(d.image(1)[5 * 3 + 1] == 106);
  CHECK(d.image(1)[5 * 3 + 2] == 206);
  bytes.pop_back();
  write_bytes(path, bytes, false);
  CHECK_THROWS_WITH(data::load_cifar10_batch(path), Catch::Contains("not a whole number of CIFAR-10 records"));
}

TEST_CASE("split is deterministic, disjoint and complete", "[data][split]") {
  data::Dataset d{1, 1, 1, 10, {}, {}, {}};
  for (int i = 0; i < 100; ++i) d.pixels.push_back(static_cast<std::uint8_t>(i)), d.labels.push_back(i % 10);
  const auto [a, b] = data::split(d, 20, 3);
  const auto [a2, b2] = data::split(d, 20, 3);
  CHECK(b.pixels == b2.pixels);
  REQUIRE(a.size() == 80);
  REQUIRE(b.size() == 20);
  std::set<int> all;
  for (auto p : a.pixels) all.insert(p);
  for (auto p : b.pixels) all.insert(p);
  CHECK(all.size() == 100);
  CHECK(data::split(d, 20, 4).second.pixels != b.pixels);
  CHECK_THROWS_WITH(data::split(d, 100, 1), Catch::Contains("100 validation images requested from a dataset of 100"));
}

TEST_CASE("concatenate puts one set's images after the other's and refuses other shapes", "[data][split]") {
  data::Dataset d{1, 2, 1, 10, {}, {}, {}};
  for (int i = 0; i < 10; ++i)
    d.pixels.push_back(static_cast<std::uint8_t>(2 * i)), d.pixels.push_back(1), d.labels.push_back(i);
  const auto [a, b] = data::split(d, 4, 7);
  const data::Dataset joined = data::concatenate(a, b);
  REQUIRE(joined.size() == 10);
  for (std::size_t i = 0; i < joined.size(); ++i) {
    const data::Dataset& from = i < a.size() ? a : b;
    const std::size_t j = i < a.size() ? i : i - a.size();
    CHECK(joined.labels[i] == from.labels[j]);
    CHECK(joined.image(i)[0] == from.image(j)[0]);
    CHECK(joined.image(i)[0] == 2 * joined.labels[i]);  // pixel and label still travel together
  }
  data::Dataset other{2, 1, 1, 10, {}, {}, {}};
  CHECK_THROWS_WITH(data::concatenate(a, other), Catch::Contains("concatenate: images 1x2x1 of 10 classes and 2x1x1"));
}

TEST_CASE("batch loader normalises, crops, flips and is reproducible", "[data][loader]") {
  data::Dataset d{3, 3, 1, 2, {}, {}, {}};
  for (int i = 0; i < 9; ++i) d.pixels.push_back(static_cast<std::uint8_t>(10 * (i + 1)));  // 10..90
  d.labels = {1};
  data::BatchLoader loader(d, 1, {{0.0f}, {1.0f}});
  Tensor x;
  std::vector<std::int32_t> labels;
  loader.fill({0}, 0, data::Augmentation::none(), 1, 0, x, labels);
  REQUIRE(x.shape() == Shape{1, 3, 3, 1});
  CHECK(x[0] == Approx(10.0f / 255.0f));
  CHECK(labels[0] == 1);
  // Every crop/flip is a shifted and possibly mirrored copy with zeros outside.
  bool saw_flip = false, saw_shift = false;
  for (int epoch = 0; epoch < 40; ++epoch) {
    loader.fill({0}, 0, {1, true}, 9, epoch, x, labels);
    bool matched = false;
    for (int dy = -1; dy <= 1 && !matched; ++dy)
      for (int dx = -1; dx <= 1 && !matched; ++dx)
        for (bool flip : {false, true}) {
          bool same = true;
          for (int y = 0; y < 3; ++y)
            for (int xx = 0; xx < 3; ++xx) {
              const int sy = y + dy, sx = (flip ? 2 - xx : xx) + dx;
              const float want = sy >= 0 && sy < 3 && sx >= 0 && sx < 3 ? d.pixels[static_cast<std::size_t>(sy * 3 + sx)] / 255.0f : 0.0f;
              same = same && std::abs(x(0, y, xx, 0) - want) < 1e-6f;
            }
          if (same) {
            matched = true;
            saw_flip |= flip && dx == 0 && dy == 0;
            saw_shift |= dx != 0 || dy != 0;
            break;
          }
        }
    REQUIRE(matched);
  }
  CHECK(saw_flip);
  CHECK(saw_shift);
  // Same seed and epoch → same batch; different epoch → different order.
  data::Dataset many{1, 1, 1, 10, std::vector<std::uint8_t>(50), std::vector<std::int32_t>(50), {}};
  std::iota(many.labels.begin(), many.labels.end(), 0);
  for (auto& l : many.labels) l %= 10;
  data::BatchLoader l2(many, 10, {{0.0f}, {1.0f}});
  CHECK(l2.order(5, 1, true) == l2.order(5, 1, true));
  CHECK(l2.order(5, 1, true) != l2.order(5, 2, true));
  CHECK(l2.batches(true) == 5);
  data::BatchLoader l3(many, 15, {{0.0f}, {1.0f}});
  CHECK(l3.batches(true) == 3);
  CHECK(l3.batches(false) == 4);
}

TEST_CASE("random erasing replaces one rectangle of 2-40 % of the image and nothing else", "[data][loader]") {
  // The boxes: inside the image, areas of 2–40 % (up to rounding), aspect ratios 0.3–3.3.
  Rng rng(3);
  int erased = 0;
  for (int i = 0; i < 2000; ++i) {
    const data::EraseBox b = data::draw_erase_box(rng, 28, 28, 0.5f);
    if (b.h == 0) continue;
    ++erased;
    REQUIRE(b.y >= 0);
    REQUIRE(b.x >= 0);
    REQUIRE(b.y + b.h <= 28);
    REQUIRE(b.x + b.w <= 28);
    const double area = static_cast<double>(b.h * b.w) / (28 * 28);
    CHECK(area >= 0.01);
    CHECK(area <= 0.47);
    CHECK(static_cast<double>(b.h) / b.w <= 3.3 * 1.5);
    CHECK(static_cast<double>(b.w) / b.h <= 3.3 * 1.5);
  }
  CHECK(erased > 850);  // probability 0.5 of 2000, less the rare boxes that never fit
  CHECK(erased < 1100);
  Rng none(3);
  CHECK(data::draw_erase_box(none, 28, 28, 0.0f).h == 0);

  // In a batch: the erased picture equals the plain one outside a single rectangle, whose
  // pixels lie in the normalised range of [0, 1] and are not all the original.
  data::Dataset d{12, 12, 1, 2, std::vector<std::uint8_t>(144, 200), {0}, {}};
  const data::Normalization norm{{0.5f}, {0.25f}};
  data::BatchLoader loader(d, 1, norm);
  Tensor plain, x;
  std::vector<std::int32_t> labels;
  loader.fill({0}, 0, data::Augmentation::none(), 1, 0, plain, labels);
  data::Augmentation erase = data::Augmentation::none();
  erase.erase_probability = 1.0f;
  int saw = 0;
  for (int epoch = 0; epoch < 20; ++epoch) {
    loader.fill({0}, 0, erase, 7, epoch, x, labels);
    int y0 = 12, y1 = -1, x0 = 12, x1 = -1, changed = 0;
    for (int y = 0; y < 12; ++y)
      for (int xx = 0; xx < 12; ++xx)
        if (x(0, y, xx, 0) != plain(0, y, xx, 0)) {
          ++changed;
          y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, xx), x1 = std::max(x1, xx);
          REQUIRE(x(0, y, xx, 0) >= (0.0f - 0.5f) / 0.25f - 1e-5f);
          REQUIRE(x(0, y, xx, 0) <= (1.0f - 0.5f) / 0.25f + 1e-5f);
        }
    if (changed == 0) continue;  // no box fitted in ten attempts
    ++saw;
    // Every changed pixel lies in one rectangle, and nearly all of it changed (a random value
    // equals 200/255 only by chance).
    CHECK(changed >= (y1 - y0 + 1) * (x1 - x0 + 1) - 1);
    CHECK(changed <= 0.47 * 144);
    Tensor again;
    loader.fill({0}, 0, erase, 7, epoch, again, labels);  // reproducible from (seed, epoch)
    for (std::int64_t i = 0; i < x.size(); ++i) REQUIRE(again.data()[i] == x.data()[i]);
  }
  CHECK(saw >= 18);
}
