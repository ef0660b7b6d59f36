// edgenas/core/shape.hpp — the NHWC shape of a tensor.
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgenas {

/// Shape of an NHWC tensor: batch, height, width, channels. All arithmetic is constexpr so
/// the compile-time block types (blocks/) and the run-time kernels (ops/) share it.
struct Shape {
  int n = 1;
  int h = 1;
  int w = 1;
  int c = 1;

  constexpr std::int64_t pixels() const noexcept { return std::int64_t{h} * w; }
  constexpr std::int64_t rows() const noexcept { return std::int64_t{n} * h * w; }  // N·H·W
  constexpr std::int64_t per_image() const noexcept { return std::int64_t{h} * w * c; }
  constexpr std::int64_t size() const noexcept { return std::int64_t{n} * h * w * c; }
  constexpr bool valid() const noexcept { return n > 0 && h > 0 && w > 0 && c > 0; }

  constexpr Shape with_batch(int batch) const noexcept { return {batch, h, w, c}; }
  constexpr Shape with_channels(int channels) const noexcept { return {n, h, w, channels}; }

  friend constexpr bool operator==(const Shape&, const Shape&) = default;
};

/// Output extent of a SAME-padded window: ceil(in / stride), as in TensorFlow.
constexpr int same_output_extent(int in, int stride) noexcept { return (in + stride - 1) / stride; }

/// Padding before the first element for SAME padding (the smaller half; the rest goes after).
constexpr int same_padding_before(int in, int kernel, int stride) noexcept {
  const int out = same_output_extent(in, stride);
  const int total = (out - 1) * stride + kernel - in;
  return total > 0 ? total / 2 : 0;
}

/// Total SAME padding along one axis (before + after).
constexpr int same_padding_total(int in, int kernel, int stride) noexcept {
  const int out = same_output_extent(in, stride);
  const int total = (out - 1) * stride + kernel - in;
  return total > 0 ? total : 0;
}

/// Shape of a SAME-padded k×k window op with the given stride and output channels.
constexpr Shape same_window_output(Shape in, int stride, int out_channels) noexcept {
  return {in.n, same_output_extent(in.h, stride), same_output_extent(in.w, stride), out_channels};
}

}  // namespace edgenas
