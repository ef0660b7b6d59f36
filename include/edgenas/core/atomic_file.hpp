// edgenas/core/atomic_file.hpp — replace a file so that a crash never leaves it half written.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "edgenas/core/error.hpp"

namespace edgenas {

/// Writes `bytes` to `path.tmp`, flushes it to disk and renames it over `path`: readers see
/// either the old file or the complete new one. On failure the old file is untouched.
inline void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  EDGENAS_CHECK(f != nullptr, Status::io_error, "%s: cannot create (directory missing or not writable?)", tmp.c_str());
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0 &&
                  ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok) {
    std::remove(tmp.c_str());
    EDGENAS_FAIL(Status::io_error, "%s: write failed (disk full?); %s is untouched", tmp.c_str(), path.c_str());
  }
  EDGENAS_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, Status::io_error, "%s: cannot rename to %s", tmp.c_str(),
                path.c_str());
}

}  // namespace edgenas
