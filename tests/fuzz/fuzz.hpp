// tests/fuzz/fuzz.hpp — what every fuzz target shares. Bad input must end in an edgenas::Error
// that names the problem; anything else (another exception such as std::bad_alloc, a crash, a
// sanitizer report, a hang, memory beyond -rss_limit_mb) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <edgenas/core/error.hpp>
#include <string>
#include <string_view>

namespace fuzz {

/// Runs `body`; an edgenas::Error is the expected end of bad input, anything else escapes to
/// libFuzzer, which reports it with the input.
template <typename Body>
int only_edgenas_errors(Body&& body) {
  try {
    body();
  } catch (const edgenas::Error& e) {
    if (std::string_view(e.what()).empty()) std::abort();  // an error must say something
  }
  return 0;
}

/// A property of accepted input that must hold (a round trip, a bound): abort with a message.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: property violated: %s\n", what);
    std::abort();
  }
}

/// The bytes in a file of this process (for readers that take a path), rewritten per input.
inline std::string write_temp(const std::uint8_t* data, std::size_t size, const char* name) {
  const std::string path = "/tmp/edgenas-fuzz-" + std::to_string(::getpid()) + "-" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace fuzz
