// edgenas/data/readers.hpp — MNIST/Fashion-MNIST (IDX, gzipped or plain) and CIFAR-10 binary.
//
// Needs zlib (link edgenas::data). Every malformed input is an error naming the file and what
// is wrong with it: bad magic, wrong dimensions, truncation, labels out of range, mismatched
// image and label counts.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "edgenas/data/dataset.hpp"

namespace edgenas::data {

namespace detail {

/// Whole file through zlib (transparently reads uncompressed files too).
inline std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  EDGENAS_CHECK(f != nullptr, Status::io_error, "%s: cannot open", path.c_str());
  std::vector<std::uint8_t> out;
  std::uint8_t buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      const std::string why = gzerror(f, &code);
      gzclose(f);
      EDGENAS_FAIL(Status::corrupt_data, "%s: cannot decompress (%s)", path.c_str(), why.c_str());
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  // A gzip stream cut short reads as a clean end of input in zlib's transparent mode; gzclose
  // then reports the missing trailer.
  const int status = gzclose(f);
  EDGENAS_CHECK(status == Z_OK, Status::corrupt_data, "%s: truncated or corrupt gzip stream (zlib status %d)",
                path.c_str(), status);
  return out;
}

inline std::uint32_t big_endian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace detail

/// Reads an IDX image file (magic 0x00000803, N×H×W unsigned bytes) and its label file
/// (magic 0x00000801, N unsigned bytes).
inline Dataset load_idx(const std::string& images_path, const std::string& labels_path, int classes = 10) {
  auto images = detail::read_maybe_gzip(images_path);
  const auto labels = detail::read_maybe_gzip(labels_path);
  EDGENAS_CHECK(images.size() >= 16, Status::corrupt_data, "%s: %zu bytes, too short for an IDX image header",
                images_path.c_str(), images.size());
  EDGENAS_CHECK(detail::big_endian32(images.data()) == 0x00000803, Status::corrupt_data,
                "%s: magic 0x%08x, expected 0x00000803 (IDX unsigned-byte images with 3 dimensions)",
                images_path.c_str(), detail::big_endian32(images.data()));
  const std::uint32_t n = detail::big_endian32(images.data() + 4), h = detail::big_endian32(images.data() + 8),
                      w = detail::big_endian32(images.data() + 12);
  EDGENAS_CHECK(n > 0 && h > 0 && w > 0 && h <= 4096 && w <= 4096, Status::corrupt_data,
                "%s: implausible dimensions %u×%u×%u", images_path.c_str(), n, h, w);
  const std::uint64_t expected = 16 + std::uint64_t{n} * h * w;
  EDGENAS_CHECK(images.size() == expected, Status::corrupt_data,
                "%s: %s — header promises %u images of %u×%u (%llu bytes), file has %zu", images_path.c_str(),
                images.size() < expected ? "truncated" : "trailing data", n, h, w,
                static_cast<unsigned long long>(expected), images.size());
  EDGENAS_CHECK(labels.size() >= 8 && detail::big_endian32(labels.data()) == 0x00000801, Status::corrupt_data,
                "%s: not an IDX label file (expected magic 0x00000801)", labels_path.c_str());
  const std::uint32_t nl = detail::big_endian32(labels.data() + 4);
  EDGENAS_CHECK(nl == n, Status::corrupt_data, "%s: %u labels for %u images in %s", labels_path.c_str(), nl, n,
                images_path.c_str());
  EDGENAS_CHECK(labels.size() == 8 + std::size_t{n}, Status::corrupt_data,
                "%s: truncated — header promises %u labels, file has %zu", labels_path.c_str(), n, labels.size() - 8);
  Dataset d{static_cast<int>(h), static_cast<int>(w), 1, classes, {}, {}, {}};
  images.erase(images.begin(), images.begin() + 16);  // the buffer read becomes the pixels
  d.pixels = std::move(images);
  d.pixels.shrink_to_fit();  // the growth slack of reading
  d.labels.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const int label = labels[8 + i];
    EDGENAS_CHECK(label < classes, Status::corrupt_data, "%s: label %d of image %u is outside [0, %d)",
                  labels_path.c_str(), label, i, classes);
    d.labels[i] = label;
  }
  return d;
}

/// Where Debian's dataset-fashion-mnist puts the files (EDGENAS_FASHION_MNIST_DIR overrides).
inline std::string fashion_mnist_dir() {
  const char* env = std::getenv("EDGENAS_FASHION_MNIST_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

enum class Split { train, test };

/// Fashion-MNIST (or MNIST: same file names) from `dir`: 60 000 training or 10 000 test images.
inline Dataset load_fashion_mnist(Split split, const std::string& dir = fashion_mnist_dir()) {
  const std::string prefix = dir + (split == Split::train ? "/train" : "/t10k");
  return load_idx(prefix + "-images-idx3-ubyte.gz", prefix + "-labels-idx1-ubyte.gz");
}

/// One CIFAR-10 binary batch: records of 1 label byte + 3072 bytes (R, G, B planes of 32×32).
inline Dataset load_cifar10_batch(const std::string& path) {
  const auto bytes = detail::read_maybe_gzip(path);
  constexpr std::size_t record = 1 + 3 * 32 * 32;
  EDGENAS_CHECK(!bytes.empty() && bytes.size() % record == 0, Status::corrupt_data,
                "%s: %zu bytes is not a whole number of CIFAR-10 records (%zu bytes each)%s", path.c_str(),
                bytes.size(), record, bytes.empty() ? "" : " — truncated?");
  const std::size_t n = bytes.size() / record;
  Dataset d{32, 32, 3, 10, {}, {}, {}};
  d.pixels.resize(n * 3072);
  d.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* r = bytes.data() + i * record;
    EDGENAS_CHECK(r[0] < 10, Status::corrupt_data, "%s: record %zu has label %d, expected 0..9", path.c_str(), i, r[0]);
    d.labels[i] = r[0];
    for (int p = 0; p < 1024; ++p)
      for (int c = 0; c < 3; ++c) d.pixels[i * 3072 + static_cast<std::size_t>(p) * 3 + c] = r[1 + c * 1024 + p];
  }
  return d;
}

/// Concatenates datasets of the same image shape and classes.
inline Dataset concatenate(const std::vector<Dataset>& parts) {
  EDGENAS_CHECK(!parts.empty(), Status::invalid_argument, "concatenate: no datasets");
  Dataset out{parts[0].height, parts[0].width, parts[0].channels, parts[0].classes, {}, {}, {}};
  for (const Dataset& p : parts) {
    EDGENAS_CHECK(p.height == out.height && p.width == out.width && p.channels == out.channels && p.classes == out.classes,
                  Status::invalid_argument, "concatenate: image shapes or class counts differ");
    out.pixels.insert(out.pixels.end(), p.pixels.begin(), p.pixels.end());
    out.labels.insert(out.labels.end(), p.labels.begin(), p.labels.end());
  }
  return out;
}

/// CIFAR-10 from the directory of the binary version (data_batch_1..5.bin, test_batch.bin).
inline Dataset load_cifar10(Split split, const std::string& dir) {
  if (split == Split::test) return load_cifar10_batch(dir + "/test_batch.bin");
  std::vector<Dataset> parts;
  for (int i = 1; i <= 5; ++i) parts.push_back(load_cifar10_batch(dir + "/data_batch_" + std::to_string(i) + ".bin"));
  return concatenate(parts);
}

}  // namespace edgenas::data
