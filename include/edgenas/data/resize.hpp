// edgenas/data/resize.hpp — bilinear resizing of images and batches, and channel conversion.
//
// One definition everywhere (data readers, the elastic-resolution supernet, final training):
// a triangle (bilinear) filter with half-pixel centres whose support widens by the shrink factor,
// i.e. plain bilinear interpolation when enlarging (edges clamped, as TensorFlow's
// resize_bilinear with half_pixel_centers and PyTorch's align_corners=False) and antialiased
// when shrinking (as PIL's Image.resize(BILINEAR) and torchvision's antialias=True). A deployed
// network expects its input resized the same way.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/core/tensor.hpp"
#include "edgenas/data/dataset.hpp"

namespace edgenas::data {

/// The source pixels and weights that make each output pixel along one axis.
struct ResizeAxis {
  std::vector<int> first, count;  // per output pixel: first source pixel, how many
  std::vector<float> weights;     // per output pixel: `taps` weights (zero-padded), summing to 1
  int taps = 0;

  ResizeAxis(int in, int out) : first(static_cast<std::size_t>(out)), count(first.size()) {
    EDGENAS_CHECK(in >= 1 && out >= 1, Status::invalid_argument, "resize: %d pixels to %d", in, out);
    const double scale = static_cast<double>(in) / out, support = std::max(1.0, scale);
    taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    weights.assign(static_cast<std::size_t>(out) * static_cast<std::size_t>(taps), 0.0f);
    for (int o = 0; o < out; ++o) {
      const double centre = (o + 0.5) * scale;  // in source coordinates, pixel j covers [j, j + 1)
      const int lo = std::max(0, static_cast<int>(std::floor(centre - support))),
                hi = std::min(in - 1, static_cast<int>(std::ceil(centre + support)));
      std::vector<double> w;
      double sum = 0.0;
      for (int j = lo; j <= hi; ++j) {
        const double v = std::max(0.0, 1.0 - std::abs(j + 0.5 - centre) / support);
        w.push_back(v);
        sum += v;
      }
      // Trim zero weights at both ends so every tap counts.
      std::size_t a = 0, b = w.size();
      while (a < b && w[a] == 0.0) ++a;
      while (b > a && w[b - 1] == 0.0) --b;
      first[static_cast<std::size_t>(o)] = lo + static_cast<int>(a);
      count[static_cast<std::size_t>(o)] = static_cast<int>(b - a);
      for (std::size_t k = a; k < b; ++k)
        weights[static_cast<std::size_t>(o) * static_cast<std::size_t>(taps) + (k - a)] =
            static_cast<float>(w[k] / sum);
    }
  }
  const float* at(int o) const { return weights.data() + static_cast<std::size_t>(o) * static_cast<std::size_t>(taps); }
};

namespace detail {

// Separable: rows first into `tmp` ([in_h][out_w][c] floats), then columns into `write`.
template <class In, class Write>
void resize_image(const In* src, int in_h, int in_w, int c, int out_h, int out_w, const ResizeAxis& ax,
                  const ResizeAxis& ay, std::vector<float>& tmp, Write write) {
  tmp.resize(static_cast<std::size_t>(in_h) * out_w * c);
  for (int y = 0; y < in_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      const float* w = ax.at(x);
      const In* row = src + (static_cast<std::size_t>(y) * in_w + ax.first[static_cast<std::size_t>(x)]) * c;
      float* t = tmp.data() + (static_cast<std::size_t>(y) * out_w + x) * c;
      for (int ch = 0; ch < c; ++ch) {
        float s = 0.0f;
        for (int k = 0; k < ax.count[static_cast<std::size_t>(x)]; ++k) s += w[k] * static_cast<float>(row[k * c + ch]);
        t[ch] = s;
      }
    }
  for (int y = 0; y < out_h; ++y) {
    const float* w = ay.at(y);
    const int y0 = ay.first[static_cast<std::size_t>(y)], n = ay.count[static_cast<std::size_t>(y)];
    for (int x = 0; x < out_w; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float s = 0.0f;
        for (int k = 0; k < n; ++k) s += w[k] * tmp[(static_cast<std::size_t>(y0 + k) * out_w + x) * c + ch];
        write((static_cast<std::size_t>(y) * out_w + x) * c + ch, s);
      }
  }
}

inline std::uint8_t to_pixel(float v) { return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

}  // namespace detail

/// Resizes one HWC image of 8-bit pixels (rounded to nearest).
inline void resize_image(const std::uint8_t* src, int in_h, int in_w, int c, std::uint8_t* dst, int out_h, int out_w) {
  std::vector<float> tmp;
  detail::resize_image(src, in_h, in_w, c, out_h, out_w, ResizeAxis(in_w, out_w), ResizeAxis(in_h, out_h), tmp,
                       [&](std::size_t i, float v) { dst[i] = detail::to_pixel(v); });
}

/// Resizes a batch [n, h, w, c] of floats to [n, out_h, out_w, c] (the elastic-resolution supernet
/// resizes each batch to the resolution of the sub-network it trains).
inline void resize_batch(ConstTensorView in, int out_h, int out_w, Tensor& out) {
  const Shape s = in.shape();
  const Shape o{s.n, out_h, out_w, s.c};
  if (out.shape() != o) out.reshape(o);
  if (s.h == out_h && s.w == out_w) {
    std::copy_n(in.data(), in.size(), out.data());
    return;
  }
  const ResizeAxis ax(s.w, out_w), ay(s.h, out_h);
  parallel_for(s.n, [&](int, std::int64_t lo, std::int64_t hi) {
    std::vector<float> tmp;
    for (std::int64_t i = lo; i < hi; ++i) {
      float* dst = out.data() + i * o.per_image();
      detail::resize_image(in.data() + i * s.per_image(), s.h, s.w, s.c, out_h, out_w, ax, ay, tmp,
                           [&](std::size_t k, float v) { dst[k] = v; });
    }
  });
}

/// `d` with every image resized to out_h × out_w and converted to `channels` (1 ↔ 3: grey is
/// replicated; colour becomes grey by the ITU-R BT.601 luma weights, as PIL's convert("L")).
inline Dataset conform(const Dataset& d, int out_h, int out_w, int channels) {
  EDGENAS_CHECK(channels == d.channels || (channels == 3 && d.channels == 1) || (channels == 1 && d.channels == 3),
                Status::invalid_shape, "the data has %d channels per pixel; %d cannot be made from them (1 and 3 can)",
                d.channels, channels);
  if (out_h == d.height && out_w == d.width && channels == d.channels) return d;
  Dataset out{out_h, out_w, channels, d.classes, {}, d.labels, d.class_names};
  out.pixels.resize(d.size() * out.image_bytes());
  const ResizeAxis ax(d.width, out_w), ay(d.height, out_h);
  parallel_for(static_cast<std::int64_t>(d.size()), [&](int, std::int64_t lo, std::int64_t hi) {
    std::vector<float> tmp;
    std::vector<std::uint8_t> resized(static_cast<std::size_t>(out_h) * out_w * d.channels);
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::uint8_t* src = d.image(static_cast<std::size_t>(i));
      std::uint8_t* dst = out.pixels.data() + static_cast<std::size_t>(i) * out.image_bytes();
      std::uint8_t* r = channels == d.channels ? dst : resized.data();
      if (out_h == d.height && out_w == d.width)
        std::copy_n(src, d.image_bytes(), r);
      else
        detail::resize_image(src, d.height, d.width, d.channels, out_h, out_w, ax, ay, tmp,
                             [&](std::size_t k, float v) { r[k] = detail::to_pixel(v); });
      const std::size_t pixels = static_cast<std::size_t>(out_h) * out_w;
      if (channels == 3 && d.channels == 1)
        for (std::size_t p = 0; p < pixels; ++p) dst[3 * p] = dst[3 * p + 1] = dst[3 * p + 2] = r[p];
      else if (channels == 1 && d.channels == 3)
        for (std::size_t p = 0; p < pixels; ++p)
          dst[p] = detail::to_pixel(0.299f * r[3 * p] + 0.587f * r[3 * p + 1] + 0.114f * r[3 * p + 2]);
    }
  });
  return out;
}

}  // namespace edgenas::data
