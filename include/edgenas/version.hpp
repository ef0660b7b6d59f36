// edgenas/version.hpp — the library version (CMake reads it from here).
#pragma once

#define EDGENAS_VERSION_MAJOR 0
#define EDGENAS_VERSION_MINOR 1
#define EDGENAS_VERSION_PATCH 0

namespace edgenas {
inline constexpr int version_major = EDGENAS_VERSION_MAJOR;
inline constexpr int version_minor = EDGENAS_VERSION_MINOR;
inline constexpr int version_patch = EDGENAS_VERSION_PATCH;
}  // namespace edgenas
