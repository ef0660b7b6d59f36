// edgenas/data/dataset.hpp — an in-memory image classification set (8-bit pixels, HWC).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/core/rng.hpp"
#include "edgenas/core/shape.hpp"

namespace edgenas::data {

struct Dataset {
  int height = 0, width = 0, channels = 0;
  int classes = 0;
  std::vector<std::uint8_t> pixels;   // size() × H × W × C, row-major HWC per image
  std::vector<std::int32_t> labels;   // size() values in [0, classes)
  std::vector<std::string> class_names;  // classes names, or empty (class k is called "k")

  std::size_t size() const noexcept { return labels.size(); }
  std::size_t image_bytes() const noexcept { return static_cast<std::size_t>(height) * width * channels; }
  Shape image_shape() const noexcept { return {1, height, width, channels}; }
  const std::uint8_t* image(std::size_t i) const noexcept { return pixels.data() + i * image_bytes(); }
};

/// The images at `indices`, in that order.
inline Dataset select(const Dataset& d, const std::vector<std::size_t>& indices) {
  Dataset out{d.height, d.width, d.channels, d.classes, {}, {}, d.class_names};
  out.pixels.resize(indices.size() * d.image_bytes());
  out.labels.resize(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    EDGENAS_CHECK(indices[i] < d.size(), Status::invalid_argument, "select: index %zu outside a dataset of %zu",
                  indices[i], d.size());
    std::copy_n(d.image(indices[i]), d.image_bytes(), out.pixels.data() + i * d.image_bytes());
    out.labels[i] = d.labels[indices[i]];
  }
  return out;
}

/// The images of `a`, then those of `b` (same image shape and classes).
inline Dataset concatenate(const Dataset& a, const Dataset& b) {
  EDGENAS_CHECK(a.height == b.height && a.width == b.width && a.channels == b.channels && a.classes == b.classes,
                Status::invalid_shape, "concatenate: images %dx%dx%d of %d classes and %dx%dx%d of %d classes",
                a.height, a.width, a.channels, a.classes, b.height, b.width, b.channels, b.classes);
  Dataset out = a;
  out.pixels.insert(out.pixels.end(), b.pixels.begin(), b.pixels.end());
  out.labels.insert(out.labels.end(), b.labels.begin(), b.labels.end());
  return out;
}

/// The first `count` images (all if count >= size).
inline Dataset head(const Dataset& d, std::size_t count) {
  std::vector<std::size_t> idx(std::min(count, d.size()));
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  return select(d, idx);
}

/// Keeps only the first `count` images, in place (and frees the rest).
inline void keep_head(Dataset& d, std::size_t count) {
  if (count >= d.size()) return;
  d.pixels.resize(count * d.image_bytes());
  d.pixels.shrink_to_fit();
  d.labels.resize(count);
  d.labels.shrink_to_fit();
}

/// Deterministic shuffled split into (train, validation); `validation` images go to the second.
inline std::pair<Dataset, Dataset> split(const Dataset& d, std::size_t validation, std::uint64_t seed) {
  EDGENAS_CHECK(validation < d.size(), Status::invalid_argument,
                "split: %zu validation images requested from a dataset of %zu", validation, d.size());
  std::vector<std::size_t> idx(d.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  Rng rng(seed);
  for (std::size_t i = idx.size() - 1; i > 0; --i) std::swap(idx[i], idx[rng.below(static_cast<std::uint32_t>(i + 1))]);
  const std::vector<std::size_t> val(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(validation));
  std::vector<std::size_t> train(idx.begin() + static_cast<std::ptrdiff_t>(validation), idx.end());
  std::sort(train.begin(), train.end());  // keep the original order inside each part
  std::vector<std::size_t> val_sorted = val;
  std::sort(val_sorted.begin(), val_sorted.end());
  return {select(d, train), select(d, val_sorted)};
}

/// Deterministic split that keeps each class's share: of every class, round(fraction × its
/// count) images (at least one of any class with two or more) go to the second part.
inline std::pair<Dataset, Dataset> stratified_split(const Dataset& d, double fraction, std::uint64_t seed) {
  EDGENAS_CHECK(fraction > 0.0 && fraction < 1.0, Status::invalid_argument,
                "stratified split: fraction %g, expected 0 to 1", fraction);
  std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(d.classes));
  for (std::size_t i = 0; i < d.size(); ++i) by_class[static_cast<std::size_t>(d.labels[i])].push_back(i);
  Rng rng(seed);
  std::vector<std::size_t> keep, held;
  for (std::vector<std::size_t>& idx : by_class) {
    for (std::size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng.below(static_cast<std::uint32_t>(i))]);
    std::size_t n = static_cast<std::size_t>(std::lround(fraction * static_cast<double>(idx.size())));
    if (idx.size() >= 2)
      n = std::clamp<std::size_t>(n, 1, idx.size() - 1);
    else
      n = 0;
    held.insert(held.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n));
    keep.insert(keep.end(), idx.begin() + static_cast<std::ptrdiff_t>(n), idx.end());
  }
  std::sort(keep.begin(), keep.end());  // the original order inside each part
  std::sort(held.begin(), held.end());
  return {select(d, keep), select(d, held)};
}

/// The name of class `k`.
inline std::string class_name(const Dataset& d, int k) {
  return static_cast<std::size_t>(k) < d.class_names.size() ? d.class_names[static_cast<std::size_t>(k)]
                                                            : std::to_string(k);
}

}  // namespace edgenas::data
