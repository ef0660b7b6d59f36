// edgenas/data/npy.hpp — NumPy .npy arrays: images (uint8 or float32; N×H×W, N×H×W×C, or N×F
// rows of features) and labels (any integer type, or uint8/float holding whole numbers).
//
// Format 1.0–3.0, little-endian, C order (what numpy.save writes). Errors name the file and
// what is wrong: magic, header, dtype, Fortran order, shape, truncation, a label out of range.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "edgenas/data/dataset.hpp"
#include "edgenas/data/pixels.hpp"
#include "edgenas/data/readers.hpp"

namespace edgenas::data {

struct NpyArray {
  char kind = 0;  // 'u' unsigned, 'i' signed, 'f' float, 'b' bool
  int item_bytes = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;  // the data, little-endian
  std::int64_t count() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
  /// Element i as a double (integers and floats of 1, 2, 4 or 8 bytes).
  double at(std::size_t i) const {
    const std::uint8_t* p = bytes.data() + i * static_cast<std::size_t>(item_bytes);
    std::uint64_t u = 0;
    for (int k = item_bytes - 1; k >= 0; --k) u = (u << 8) | p[k];
    if (kind == 'f') {
      if (item_bytes == 4) {
        float f;
        const auto u32 = static_cast<std::uint32_t>(u);
        std::memcpy(&f, &u32, 4);
        return f;
      }
      double d;
      std::memcpy(&d, &u, 8);
      return d;
    }
    if (kind == 'i' && item_bytes < 8 && (u >> (8 * item_bytes - 1)) & 1) u |= ~std::uint64_t{0} << (8 * item_bytes);
    return kind == 'i' ? static_cast<double>(static_cast<std::int64_t>(u)) : static_cast<double>(u);
  }
};

namespace detail {

// The value of 'key' in the header dict, as written: 'descr': '<f4', 'shape': (3, 4), ...
inline std::string npy_field(const std::string& header, const std::string& key, const std::string& path) {
  const std::size_t k = header.find("'" + key + "'");
  EDGENAS_CHECK(k != std::string::npos, Status::corrupt_data, "%s: the .npy header has no '%s' (header: %s)",
                path.c_str(), key.c_str(), header.c_str());
  std::size_t v = header.find(':', k);
  EDGENAS_CHECK(v != std::string::npos, Status::corrupt_data, "%s: malformed .npy header: %s", path.c_str(),
                header.c_str());
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  const char open = v < header.size() ? header[v] : 0;
  const char close = open == '(' ? ')' : open == '\'' ? '\'' : 0;
  const std::size_t end = close ? header.find(close, v + 1) : header.find_first_of(",}", v);
  EDGENAS_CHECK(end != std::string::npos, Status::corrupt_data, "%s: malformed .npy header: %s", path.c_str(),
                header.c_str());
  return close ? header.substr(v + 1, end - v - 1) : header.substr(v, end - v);
}

}  // namespace detail

/// Reads a whole .npy file (gzip-compressed ones too).
inline NpyArray load_npy(const std::string& path) {
  const std::vector<std::uint8_t> file = detail::read_maybe_gzip(path);
  EDGENAS_CHECK(file.size() >= 10 && std::memcmp(file.data(), "\x93NUMPY", 6) == 0, Status::corrupt_data,
                "%s: not a NumPy .npy file (no \\x93NUMPY magic)", path.c_str());
  const int major = file[6];
  EDGENAS_CHECK(major >= 1 && major <= 3, Status::corrupt_data, "%s: .npy format version %d, expected 1 to 3",
                path.c_str(), major);
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  EDGENAS_CHECK(file.size() >= 8 + len_bytes, Status::corrupt_data, "%s: truncated .npy header", path.c_str());
  std::size_t header_len = 0;
  for (std::size_t k = len_bytes; k > 0; --k) header_len = (header_len << 8) | file[8 + k - 1];
  const std::size_t data_start = 8 + len_bytes + header_len;
  EDGENAS_CHECK(data_start <= file.size(), Status::corrupt_data,
                "%s: the .npy header claims %zu bytes, the file has %zu", path.c_str(), header_len, file.size());
  const std::string header(file.begin() + static_cast<std::ptrdiff_t>(8 + len_bytes),
                           file.begin() + static_cast<std::ptrdiff_t>(data_start));
  NpyArray a;
  const std::string descr = detail::npy_field(header, "descr", path);
  EDGENAS_CHECK(descr.size() >= 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=') &&
                    std::strchr("uifb", descr[1]) && descr[1] != 0,
                Status::unsupported, "%s: dtype '%s' is not supported (little-endian integers, float32 or float64)",
                path.c_str(), descr.c_str());
  a.kind = descr[1];
  a.item_bytes = std::atoi(descr.c_str() + 2);
  EDGENAS_CHECK(
      (a.kind == 'f' && (a.item_bytes == 4 || a.item_bytes == 8)) ||
          (a.kind != 'f' && (a.item_bytes == 1 || a.item_bytes == 2 || a.item_bytes == 4 || a.item_bytes == 8)),
      Status::unsupported, "%s: dtype '%s' is not supported (little-endian integers, float32 or float64)", path.c_str(),
      descr.c_str());
  EDGENAS_CHECK(detail::npy_field(header, "fortran_order", path) == "False", Status::unsupported,
                "%s: the array is in Fortran order; save it in C order (numpy.ascontiguousarray)", path.c_str());
  const std::string shape = detail::npy_field(header, "shape", path);
  for (std::size_t p = 0; p < shape.size();) {
    while (p < shape.size() && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p >= shape.size()) break;
    char* end = nullptr;
    const long long d = std::strtoll(shape.c_str() + p, &end, 10);
    EDGENAS_CHECK(end != shape.c_str() + p && d >= 0 && d <= (1LL << 40), Status::corrupt_data,
                  "%s: shape (%s) in the .npy header", path.c_str(), shape.c_str());
    a.shape.push_back(d);
    p = static_cast<std::size_t>(end - shape.c_str());
  }
  const auto expected = static_cast<unsigned long long>(a.count()) * static_cast<unsigned long long>(a.item_bytes);
  const std::size_t have = file.size() - data_start;
  EDGENAS_CHECK(expected == have, Status::corrupt_data,
                "%s: %s — the header promises shape (%s) of %d-byte values (%llu bytes), the file has %zu",
                path.c_str(), have < expected ? "truncated" : "trailing data", shape.c_str(), a.item_bytes, expected,
                have);
  a.bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(data_start), file.end());
  return a;
}

/// Images from `images_path` and labels from `labels_path`. `shape` ("HxWxC") reshapes rows of
/// an N×F array; without it N×F rows must be square images of 1 or 3 channels.
inline Dataset load_npy_dataset(const std::string& images_path, const std::string& labels_path,
                                const std::string& shape = {}, PixelMapping* mapping_used = nullptr,
                                bool* rows_of_values = nullptr) {
  const NpyArray x = load_npy(images_path);
  const NpyArray y = load_npy(labels_path);
  EDGENAS_CHECK(x.kind == 'u' || x.kind == 'f' || x.kind == 'i', Status::unsupported, "%s: boolean images",
                images_path.c_str());
  EDGENAS_CHECK(x.shape.size() >= 2 && x.shape.size() <= 4 && x.shape[0] >= 1, Status::invalid_shape,
                "%s: shape with %zu dimensions; expected N×H×W, N×H×W×C or N×F", images_path.c_str(), x.shape.size());
  const auto n = static_cast<std::size_t>(x.shape[0]);
  ImageShape s;
  if (x.shape.size() == 2) {
    s = image_shape_of_row(static_cast<std::size_t>(x.shape[1]), shape, images_path);
  } else {
    s = {static_cast<int>(std::min<std::int64_t>(x.shape[1], 1 << 30)),
         static_cast<int>(std::min<std::int64_t>(x.shape[2], 1 << 30)),
         x.shape.size() == 4 ? static_cast<int>(std::min<std::int64_t>(x.shape[3], 1 << 30)) : 1};
    EDGENAS_CHECK(s.height >= 1 && s.width >= 1 && s.channels >= 1 && s.height <= limits::max_extent &&
                      s.width <= limits::max_extent && s.channels <= limits::max_input_channels,
                  Status::invalid_shape, "%s: images of %dx%dx%d; the limit is %dx%dx%d", images_path.c_str(), s.height,
                  s.width, s.channels, limits::max_extent, limits::max_extent, limits::max_input_channels);
  }
  EDGENAS_CHECK(y.shape.size() == 1 || (y.shape.size() == 2 && y.shape[1] == 1), Status::invalid_shape,
                "%s: labels of %zu dimensions; expected one label per image (shape (N,))", labels_path.c_str(),
                y.shape.size());
  EDGENAS_CHECK(static_cast<std::size_t>(y.shape[0]) == n, Status::invalid_shape,
                "%s: %lld labels for %zu images in %s", labels_path.c_str(), static_cast<long long>(y.shape[0]), n,
                images_path.c_str());
  Dataset d{s.height, s.width, s.channels, 0, {}, std::vector<std::int32_t>(n), {}};
  for (std::size_t i = 0; i < n; ++i) {
    const double v = y.at(i);
    EDGENAS_CHECK(v == std::floor(v) && v >= 0 && v < limits::max_classes, Status::corrupt_data,
                  "%s: label %g at index %zu is not a class number in [0, %d)", labels_path.c_str(), v, i,
                  limits::max_classes);
    d.labels[i] = static_cast<std::int32_t>(v);
  }
  d.classes = count_classes(d.labels, labels_path);
  const std::size_t values = n * d.image_bytes();
  PixelMapping m;
  if (x.kind != 'u' || x.item_bytes != 1) {
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    bool integers = true;
    for (std::size_t i = 0; i < values; ++i) {
      const double v = x.at(i);
      EDGENAS_CHECK(std::isfinite(v), Status::numerical_error, "%s: value %g at image %zu, element %zu is not finite",
                    images_path.c_str(), v, i / d.image_bytes(), i % d.image_bytes());
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      integers = integers && v == std::floor(v);
    }
    m = pixel_mapping(lo, hi, integers);
  }
  d.pixels.resize(values);
  if (x.kind == 'u' && x.item_bytes == 1)
    std::copy_n(x.bytes.data(), values, d.pixels.data());
  else
    for (std::size_t i = 0; i < values; ++i) {
      const double v = x.at(i);
      to_pixels(&v, 1, m, &d.pixels[i]);
    }
  if (mapping_used) *mapping_used = m;
  if (rows_of_values) *rows_of_values = x.shape.size() == 2;
  return d;
}

}  // namespace edgenas::data
