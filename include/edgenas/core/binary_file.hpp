// edgenas/core/binary_file.hpp — reading a whole file, and the checksum our file formats use.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "edgenas/core/error.hpp"

namespace edgenas {

/// 64-bit FNV-1a: checkpoints and model files carry it over their payload.
inline std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/// The bytes of `path`; `what` names the kind of file in the error.
inline std::vector<std::uint8_t> read_binary_file(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  EDGENAS_CHECK(f != nullptr, Status::io_error, "%s: cannot open %s", path.c_str(), what);
  std::vector<std::uint8_t> bytes;
  std::uint8_t buf[1 << 16];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.insert(bytes.end(), buf, buf + n);
  std::fclose(f);
  return bytes;
}

}  // namespace edgenas
