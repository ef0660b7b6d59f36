// edgenas/data/image_write.hpp — writing images as PNG files (stb_image_write from Debian's
// libstb-dev, compiled into this header with static linkage): `edgenas data convert` and tests.
#pragma once

#include <cstdint>
#include <string>

#include "edgenas/core/error.hpp"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace edgenas::data {

/// Writes an 8-bit HWC image of 1 to 4 channels as a PNG file.
inline void write_png(const std::string& path, const std::uint8_t* pixels, int height, int width, int channels) {
  EDGENAS_CHECK(stbi_write_png(path.c_str(), width, height, channels, pixels, width * channels) != 0, Status::io_error,
                "%s: cannot write", path.c_str());
}

}  // namespace edgenas::data
