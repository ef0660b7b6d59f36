// edgenas/data/dataset.hpp — an in-memory image classification set (8-bit pixels, HWC).
#pragma once

#include <algorithm>
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

  std::size_t size() const noexcept { return labels.size(); }
  std::size_t image_bytes() const noexcept { return static_cast<std::size_t>(height) * width * channels; }
  Shape image_shape() const noexcept { return {1, height, width, channels}; }
  const std::uint8_t* image(std::size_t i) const noexcept { return pixels.data() + i * image_bytes(); }
};

/// The images at `indices`, in that order.
inline Dataset select(const Dataset& d, const std::vector<std::size_t>& indices) {
  Dataset out{d.height, d.width, d.channels, d.classes, {}, {}};
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

}  // namespace edgenas::data
