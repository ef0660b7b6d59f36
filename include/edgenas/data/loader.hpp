// edgenas/data/loader.hpp — normalisation, augmentation and batching into NHWC float tensors.
//
// Batches are a pure function of (seed, epoch, batch index): shuffling and augmentation draw
// from Rng(seed).fork(epoch), so an epoch can be replayed exactly after a resume.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"
#include "edgenas/data/dataset.hpp"

namespace edgenas::data {

/// Per-channel (x/255 − mean) / std.
struct Normalization {
  std::vector<float> mean{0.0f};
  std::vector<float> stddev{1.0f};
};

/// Channel statistics of a dataset (pixels scaled to [0, 1]).
inline Normalization compute_normalization(const Dataset& d) {
  std::vector<double> sum(static_cast<std::size_t>(d.channels), 0.0), sq(sum);
  for (std::size_t i = 0; i < d.pixels.size(); ++i) {
    const double v = d.pixels[i] / 255.0;
    sum[i % static_cast<std::size_t>(d.channels)] += v;
    sq[i % static_cast<std::size_t>(d.channels)] += v * v;
  }
  Normalization n{{}, {}};
  const double count = static_cast<double>(d.pixels.size() / static_cast<std::size_t>(d.channels));
  for (int c = 0; c < d.channels; ++c) {
    const double mean = sum[static_cast<std::size_t>(c)] / count;
    n.mean.push_back(static_cast<float>(mean));
    n.stddev.push_back(static_cast<float>(std::sqrt(std::max(1e-12, sq[static_cast<std::size_t>(c)] / count - mean * mean))));
  }
  return n;
}

struct Augmentation {
  int crop_padding = 0;        // random crop of the original size from the image padded by this
  bool horizontal_flip = false;
  // Random erasing (Zhong et al. 2017, whose settings these are): with this probability a
  // rectangle of 2–40 % of the image, aspect ratio 0.3–3.3, gets random pixel values.
  float erase_probability = 0.0f;
  static Augmentation none() { return {}; }
};

/// The rectangle random erasing draws for an H×W image, or an empty one (h = 0) when the
/// image keeps every pixel.
struct EraseBox {
  int y = 0, x = 0, h = 0, w = 0;
};
inline EraseBox draw_erase_box(Rng& rng, int height, int width, float probability) {
  if (probability <= 0 || rng.uniform() >= probability) return {};
  for (int attempt = 0; attempt < 10; ++attempt) {  // a box that does not fit is drawn again
    const float area = rng.uniform(0.02f, 0.4f) * static_cast<float>(height * width);
    const float aspect = std::exp(rng.uniform(std::log(0.3f), std::log(1 / 0.3f)));
    const int h = static_cast<int>(std::lround(std::sqrt(area * aspect)));
    const int w = static_cast<int>(std::lround(std::sqrt(area / aspect)));
    if (h < 1 || w < 1 || h > height || w > width) continue;
    const int y = rng.between(0, height - h), x = rng.between(0, width - w);
    return {y, x, h, w};
  }
  return {};
}

class BatchLoader {
 public:
  /// Batches of the first `count` images of `data` (0: all of them).
  BatchLoader(const Dataset& data, int batch_size, Normalization norm, std::size_t count = 0)
      : data_(&data), size_(count > 0 ? std::min(count, data.size()) : data.size()), batch_(batch_size), norm_(std::move(norm)) {
    EDGENAS_CHECK(batch_size >= 1, Status::invalid_argument, "BatchLoader: batch size %d", batch_size);
    EDGENAS_CHECK(norm_.mean.size() == static_cast<std::size_t>(data.channels) &&
                      norm_.stddev.size() == static_cast<std::size_t>(data.channels),
                  Status::invalid_argument, "BatchLoader: normalisation has %zu channels, images have %d",
                  norm_.mean.size(), data.channels);
  }

  /// Number of batches per epoch; `drop_last` omits a final partial batch (training).
  std::size_t batches(bool drop_last) const noexcept {
    return drop_last ? size_ / static_cast<std::size_t>(batch_)
                     : (size_ + static_cast<std::size_t>(batch_) - 1) / static_cast<std::size_t>(batch_);
  }

  /// The sample order of an epoch: shuffled with Rng(seed).fork(epoch), or 0..n-1.
  std::vector<std::size_t> order(std::uint64_t seed, int epoch, bool shuffle) const {
    std::vector<std::size_t> idx(size_);
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    if (shuffle) {
      Rng rng = Rng(seed).fork(2 * static_cast<std::uint64_t>(epoch));
      for (std::size_t i = idx.size() - 1; i > 0; --i) std::swap(idx[i], idx[rng.below(static_cast<std::uint32_t>(i + 1))]);
    }
    return idx;
  }

  /// Fills `images` ([n, H, W, C]) and `labels` with batch `b` of `order`, or with its part
  /// `part` of `parts` equal parts (data-parallel shards); augmentation is drawn from (seed,
  /// epoch, sample position), so it depends neither on thread count nor on the parts.
  void fill(const std::vector<std::size_t>& order, std::size_t b, const Augmentation& aug, std::uint64_t seed, int epoch,
            Tensor& images, std::vector<std::int32_t>& labels, int part = 0, int parts = 1) const {
    const std::size_t start = b * static_cast<std::size_t>(batch_);
    EDGENAS_CHECK(start < order.size(), Status::invalid_argument, "BatchLoader: batch %zu past the end", b);
    EDGENAS_CHECK(parts >= 1 && part >= 0 && part < parts, Status::invalid_argument, "BatchLoader: part %d of %d", part,
                  parts);
    const auto whole = static_cast<std::int64_t>(std::min<std::size_t>(static_cast<std::size_t>(batch_), order.size() - start));
    const std::size_t first = start + static_cast<std::size_t>(whole * part / parts);
    const int n = static_cast<int>(whole * (part + 1) / parts - whole * part / parts);
    const Dataset& d = *data_;
    const Shape shape{n, d.height, d.width, d.channels};
    if (images.shape() != shape) images.reshape(shape);  // every value is written below
    labels.resize(static_cast<std::size_t>(n));
    const Rng epoch_rng = Rng(seed).fork(2 * static_cast<std::uint64_t>(epoch) + 1);
    parallel_for(n, [&](int, std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) {
        const std::size_t src = order[first + static_cast<std::size_t>(i)];
        labels[static_cast<std::size_t>(i)] = d.labels[src];
        Rng rng = epoch_rng.fork(first + static_cast<std::size_t>(i));
        int dy = 0, dx = 0;
        bool flip = false;
        if (aug.crop_padding > 0) {
          dy = rng.between(-aug.crop_padding, aug.crop_padding);
          dx = rng.between(-aug.crop_padding, aug.crop_padding);
        }
        if (aug.horizontal_flip) flip = rng.coin();
        float* out = images.data() + i * shape.per_image();
        write_image(d.image(src), dy, dx, flip, out);
        erase(draw_erase_box(rng, d.height, d.width, aug.erase_probability), rng, out);
      }
    });
  }

 private:
  // Output pixel (y, x) takes source (y + dy, x' + dx) where x' is x or its mirror; outside the
  // source is the normalised value of a black pixel (zero padding before normalisation).
  void write_image(const std::uint8_t* src, int dy, int dx, bool flip, float* out) const {
    const Dataset& d = *data_;
    const int C = d.channels;
    for (int y = 0; y < d.height; ++y)
      for (int x = 0; x < d.width; ++x) {
        const int sy = y + dy, sx = (flip ? d.width - 1 - x : x) + dx;
        const bool inside = sy >= 0 && sy < d.height && sx >= 0 && sx < d.width;
        for (int c = 0; c < C; ++c) {
          const float v = inside ? src[(static_cast<std::size_t>(sy) * d.width + sx) * C + c] / 255.0f : 0.0f;
          out[(static_cast<std::size_t>(y) * d.width + x) * C + c] =
              (v - norm_.mean[static_cast<std::size_t>(c)]) / norm_.stddev[static_cast<std::size_t>(c)];
        }
      }
  }

  // Random pixel values (uniform in [0, 1] before normalisation) inside `box`.
  void erase(const EraseBox& box, Rng& rng, float* out) const {
    const int C = data_->channels;
    for (int y = box.y; y < box.y + box.h; ++y)
      for (int x = box.x; x < box.x + box.w; ++x)
        for (int c = 0; c < C; ++c)
          out[(static_cast<std::size_t>(y) * data_->width + x) * C + c] =
              (rng.uniform() - norm_.mean[static_cast<std::size_t>(c)]) / norm_.stddev[static_cast<std::size_t>(c)];
  }

  const Dataset* data_;
  std::size_t size_;
  int batch_;
  Normalization norm_;
};

}  // namespace edgenas::data
