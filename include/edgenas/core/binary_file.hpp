// edgenas/core/binary_file.hpp — the container every edgenas binary file uses (checkpoints,
// model files): 8-byte magic, u32 format version, u32 0, u64 payload bytes, the payload, u64
// FNV-1a checksum of the payload; little-endian. Writing goes through write_file_atomically.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
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

/// Magic, version, size, payload and checksum, ready for write_file_atomically.
inline std::string container_bytes(std::string_view magic, std::uint32_t version, std::string_view payload) {
  std::string file(magic.substr(0, 8));
  const auto put = [&](auto v) { file.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(version);
  put(std::uint32_t{0});
  put(static_cast<std::uint64_t>(payload.size()));
  file += payload;
  put(fnv1a(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
  return file;
}

struct Payload {
  const std::uint8_t* data;
  std::size_t size;
  std::uint32_t version;
};

/// Checks magic, version, length and checksum of a container read from `path`; returns its
/// payload. `what` names the kind of file in errors ("checkpoint", "model file"). Versions
/// from `oldest_version` (default: only `expected_version`) up to `expected_version` are read.
inline Payload checked_payload(const std::string& path, const std::vector<std::uint8_t>& bytes, std::string_view magic,
                               std::uint32_t expected_version, const char* what, std::uint32_t oldest_version = 0) {
  if (oldest_version == 0) oldest_version = expected_version;
  EDGENAS_CHECK(bytes.size() >= 32 && std::memcmp(bytes.data(), magic.data(), 8) == 0, Status::corrupt_data,
                "%s: not an edgenas %s (bad magic or shorter than a header)", path.c_str(), what);
  std::uint32_t version;
  std::uint64_t payload_bytes, checksum;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&payload_bytes, bytes.data() + 16, 8);
  if (oldest_version == expected_version)
    EDGENAS_CHECK(version == expected_version, Status::corrupt_data, "%s: %s format version %u, this build reads version %u",
                  path.c_str(), what, version, expected_version);
  EDGENAS_CHECK(version >= oldest_version && version <= expected_version, Status::corrupt_data,
                "%s: %s format version %u, this build reads versions %u to %u", path.c_str(), what, version,
                oldest_version, expected_version);
  EDGENAS_CHECK(bytes.size() - 32 == payload_bytes, Status::corrupt_data,
                "%s: truncated or padded — header promises %llu payload bytes, file has %zu in all", path.c_str(),
                static_cast<unsigned long long>(payload_bytes), bytes.size());
  std::memcpy(&checksum, bytes.data() + 24 + payload_bytes, 8);
  EDGENAS_CHECK(checksum == fnv1a(bytes.data() + 24, payload_bytes), Status::corrupt_data,
                "%s: checksum mismatch — the file is corrupt", path.c_str());
  return {bytes.data() + 24, static_cast<std::size_t>(payload_bytes), version};
}

}  // namespace edgenas
