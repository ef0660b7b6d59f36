// edgenas/data/pixels.hpp — numbers from arrays and tables as 8-bit pixels, and the image
// shape of a flat row of features.
//
// Datasets hold 8-bit pixels (normalisation to mean 0, deviation 1 happens per channel when
// batches are made). Values that already are pixels stay as they are; the mapping used is
// recorded so `edgenas data inspect` can say it and a deployed network gets the same input:
//   integers in [0, 255]        as they are (scikit-learn's digits: 0..16)
//   numbers in [0, 1]           × 255, rounded
//   anything else               (x − min) / (max − min) × 255, rounded
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/space/genes.hpp"

namespace edgenas::data {

/// How values became pixels: pixel = round((value − offset) × scale).
struct PixelMapping {
  double offset = 0.0, scale = 1.0;
  std::string describe() const {
    if (offset == 0.0 && scale == 1.0) return "values used as 8-bit pixels as they are";
    char b[160];
    if (offset == 0.0)
      std::snprintf(b, sizeof b, "pixel = value x %g", scale);
    else
      std::snprintf(b, sizeof b, "pixel = (value - %g) x %g", offset, scale);
    return b;
  }
};

/// The mapping for values in [lo, hi] (all integers or not).
inline PixelMapping pixel_mapping(double lo, double hi, bool integers) {
  if (integers && lo >= 0 && hi <= 255) return {};
  if (lo >= 0 && hi <= 1) return {0.0, 255.0};
  return {lo, hi > lo ? 255.0 / (hi - lo) : 1.0};
}

template <class T>
void to_pixels(const T* values, std::size_t n, const PixelMapping& m, std::uint8_t* out) {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<std::uint8_t>(
        std::clamp(std::lround((static_cast<double>(values[i]) - m.offset) * m.scale), 0L, 255L));
}

struct ImageShape {
  int height = 0, width = 0, channels = 0;
};

/// Parses "HxWxC" or "HxW" (one channel); `what` names the source in errors.
inline ImageShape parse_image_shape(const std::string& text, const std::string& what) {
  ImageShape s{0, 0, 1};
  char extra = 0;
  const int n = std::sscanf(text.c_str(), "%dx%dx%d%c", &s.height, &s.width, &s.channels, &extra);
  EDGENAS_CHECK((n == 2 || n == 3) && s.height >= 1 && s.width >= 1 && s.channels >= 1 &&
                    s.height <= limits::max_extent && s.width <= limits::max_extent &&
                    s.channels <= limits::max_input_channels,
                Status::invalid_argument, "%s: image shape \"%s\", expected HxWxC (e.g. 8x8x1) within %dx%dx%d",
                what.c_str(), text.c_str(), limits::max_extent, limits::max_extent, limits::max_input_channels);
  return s;
}

/// The image a row of `features` numbers is: the given shape, or a square of 1 or 3 channels.
inline ImageShape image_shape_of_row(std::size_t features, const std::string& given, const std::string& what) {
  if (!given.empty()) {
    const ImageShape s = parse_image_shape(given, what);
    EDGENAS_CHECK(static_cast<std::size_t>(s.height) * s.width * s.channels == features, Status::invalid_shape,
                  "%s: %zu values per row do not make a %dx%dx%d image (%d values)", what.c_str(), features, s.height,
                  s.width, s.channels, s.height * s.width * s.channels);
    return s;
  }
  for (int c : {1, 3}) {
    if (features % static_cast<std::size_t>(c) != 0) continue;
    const auto side = static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(features / c))));
    if (side * side * static_cast<std::size_t>(c) == features && side <= static_cast<std::size_t>(limits::max_extent))
      return {static_cast<int>(side), static_cast<int>(side), c};
  }
  EDGENAS_FAIL(Status::invalid_shape,
               "%s: %zu values per row are not a square image of 1 or 3 channels; give the shape (--shape HxWxC)",
               what.c_str(), features);
}

/// Checks labels against the class limit and returns the class count (largest label + 1).
inline int count_classes(const std::vector<std::int32_t>& labels, const std::string& what) {
  int classes = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    EDGENAS_CHECK(labels[i] >= 0 && labels[i] < limits::max_classes, Status::corrupt_data,
                  "%s: label %d of item %zu is outside [0, %d)", what.c_str(), labels[i], i, limits::max_classes);
    classes = std::max(classes, labels[i] + 1);
  }
  return classes;
}

}  // namespace edgenas::data
