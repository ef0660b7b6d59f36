// edgenas/ops/lanes.hpp — channel tiles for the NHWC window kernels (depthwise, the stem's conv).
//
// NHWC keeps a pixel's channels contiguous, so the window kernels vectorise over channels: they
// walk a pixel's channels in tiles of 16, 8, 4 and 1 lanes and keep each tile's accumulator in
// registers.
#pragma once

#include <Eigen/Core>

namespace edgenas::ops::detail {

// A tile of Lanes channels as an Eigen fixed-size array: Eigen turns its arithmetic into SIMD
// packets (AVX-512, NEON, …). In the forward kernels GCC 12 unrolls the equivalent
// `float acc[Lanes]` loops into scalar FMAs (perf annotate: vfmadd231ss only; 6–9× slower);
// the backward kernels it vectorises, and there the plain loops are 10–15 % faster.
template <int Lanes>
using Lane = Eigen::Array<float, Lanes, 1>;
template <int Lanes>
inline Eigen::Map<const Lane<Lanes>> lanes(const float* p) { return Eigen::Map<const Lane<Lanes>>(p); }
template <int Lanes>
inline Eigen::Map<Lane<Lanes>> lanes(float* p) { return Eigen::Map<Lane<Lanes>>(p); }

// Runs `pixel.template operator()<Lanes>(c)` over the channel tiles [c, c + Lanes) of C channels.
template <typename Pixel>
inline void for_channel_tiles(int C, Pixel&& pixel) {
  int c = 0;
  for (; c + 16 <= C; c += 16) pixel.template operator()<16>(c);
  for (; c + 8 <= C; c += 8) pixel.template operator()<8>(c);
  for (; c + 4 <= C; c += 4) pixel.template operator()<4>(c);
  for (; c < C; ++c) pixel.template operator()<1>(c);
}

}  // namespace edgenas::ops::detail
