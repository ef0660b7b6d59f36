// edgenas/ops/window.hpp — geometry of a SAME-padded k×k sliding window (conv, depthwise).
#pragma once

#include <algorithm>

#include "edgenas/core/error.hpp"
#include "edgenas/core/shape.hpp"

namespace edgenas::ops {

/// Where a k×k, stride-s SAME window reads its input, and which taps fall inside the image.
struct Window {
  int kernel = 1;
  int stride = 1;
  int pad_top = 0;
  int pad_left = 0;
  int in_h = 0, in_w = 0;
  int out_h = 0, out_w = 0;

  Window(Shape in, int k, int s)
      : kernel(k), stride(s), pad_top(same_padding_before(in.h, k, s)), pad_left(same_padding_before(in.w, k, s)),
        in_h(in.h), in_w(in.w), out_h(same_output_extent(in.h, s)), out_w(same_output_extent(in.w, s)) {}

  /// First input row read by output row oy (may be negative: padding).
  int in_y(int oy) const noexcept { return oy * stride - pad_top; }
  int in_x(int ox) const noexcept { return ox * stride - pad_left; }
  /// Kernel rows [ky_begin, ky_end) that land inside the image for output row oy.
  int ky_begin(int oy) const noexcept { return std::max(0, -in_y(oy)); }
  int ky_end(int oy) const noexcept { return std::min(kernel, in_h - in_y(oy)); }
  int kx_begin(int ox) const noexcept { return std::max(0, -in_x(ox)); }
  int kx_end(int ox) const noexcept { return std::min(kernel, in_w - in_x(ox)); }

  /// Output columns [ox_begin, ox_end) whose kernel column kx lands inside the image.
  int ox_begin(int kx) const noexcept { return first_output(pad_left - kx); }
  int ox_end(int kx) const noexcept { return std::min(out_w, (in_w - 1 + pad_left - kx) / stride + 1); }
  /// Output rows [oy_begin, oy_end) that read input row iy (through kernel row iy + pad − oy·s).
  int oy_begin_reading(int iy) const noexcept { return first_output(iy + pad_top - (kernel - 1)); }
  int oy_end_reading(int iy) const noexcept { return std::min(out_h, (iy + pad_top) / stride + 1); }
  int ox_begin_reading(int ix) const noexcept { return first_output(ix + pad_left - (kernel - 1)); }
  int ox_end_reading(int ix) const noexcept { return std::min(out_w, (ix + pad_left) / stride + 1); }

 private:
  // Smallest output index o >= 0 with o·stride >= offset.
  int first_output(int offset) const noexcept { return offset <= 0 ? 0 : (offset + stride - 1) / stride; }
};

/// Validates a SAME window op's arguments; `op` names the operation in the error.
inline void check_window(const char* op, Shape in, Shape out, int kernel, int stride, int out_channels) {
  EDGENAS_CHECK(kernel >= 1 && kernel % 2 == 1, Status::invalid_argument, "%s: kernel %d, expected an odd size >= 1",
                op, kernel);
  EDGENAS_CHECK(stride == 1 || stride == 2, Status::invalid_argument, "%s: stride %d, expected 1 or 2", op, stride);
  EDGENAS_CHECK(in.valid(), Status::invalid_shape, "%s: input shape %dx%dx%dx%d has a zero or negative dimension", op,
                in.n, in.h, in.w, in.c);
  const Shape expected = same_window_output(in, stride, out_channels);
  EDGENAS_CHECK(out == expected, Status::invalid_shape,
                "%s: input %dx%dx%dx%d with kernel %d stride %d gives output %dx%dx%dx%d, got %dx%dx%dx%d", op, in.n,
                in.h, in.w, in.c, kernel, stride, expected.n, expected.h, expected.w, expected.c, out.n, out.h, out.w,
                out.c);
}

}  // namespace edgenas::ops
