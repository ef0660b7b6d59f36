// edgenas/core/error.hpp — status codes and the one error macro.
//
// Every failure in edgenas goes through EDGENAS_FAIL / EDGENAS_CHECK. With exceptions on they
// throw edgenas::Error (a std::runtime_error carrying a Status); with exceptions off
// (-fno-exceptions, or EDGENAS_NO_EXCEPTIONS defined) they call the handler installed with
// set_error_handler() and then abort, so firmware decides how to report before the halt.
//
// Firmware that must not carry printf (newlib's is ≈ 30 KB of flash) defines
// EDGENAS_FORMAT_ERRORS=0 (exceptions off only): the handler then receives the message's format
// string unformatted (it names the check; the values are left out), and the default handler
// prints nothing.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#if defined(__cpp_exceptions) && !defined(EDGENAS_NO_EXCEPTIONS)
#define EDGENAS_HAS_EXCEPTIONS 1
#include <stdexcept>
#include <string>
#else
#define EDGENAS_HAS_EXCEPTIONS 0
#endif
#ifndef EDGENAS_FORMAT_ERRORS
#define EDGENAS_FORMAT_ERRORS 1
#endif
#if !EDGENAS_FORMAT_ERRORS && EDGENAS_HAS_EXCEPTIONS
#error "EDGENAS_FORMAT_ERRORS=0 needs exceptions off (-fno-exceptions or EDGENAS_NO_EXCEPTIONS)"
#endif

namespace edgenas {

enum class Status : int {
  ok = 0,
  invalid_argument,  // a value outside what the operation accepts
  invalid_shape,     // tensor shapes that do not fit together
  io_error,          // a file that cannot be opened, read or written
  corrupt_data,      // a file whose content is malformed, truncated or fails its checksum
  numerical_error,   // NaN or infinity where a finite number is required
  unsupported,       // a valid request this build cannot serve
  runtime_error,     // a failure reported by a backend (e.g. XNNPACK)
  cancelled,         // stopped on request (a search's cancel callback): resumable, not a failure
};

constexpr const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::ok: return "ok";
    case Status::invalid_argument: return "invalid argument";
    case Status::invalid_shape: return "invalid shape";
    case Status::io_error: return "I/O error";
    case Status::corrupt_data: return "corrupt data";
    case Status::numerical_error: return "numerical error";
    case Status::unsupported: return "unsupported";
    case Status::runtime_error: return "runtime error";
    case Status::cancelled: return "cancelled";
  }
  return "unknown status";
}

#if EDGENAS_HAS_EXCEPTIONS
/// The exception every edgenas failure throws when exceptions are enabled.
class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  Status status() const noexcept { return status_; }

 private:
  Status status_;
};
#endif

/// Called with the status and message before abort() when exceptions are disabled.
using ErrorHandler = void (*)(Status, const char* message);

namespace detail {
inline void default_error_handler([[maybe_unused]] Status status, [[maybe_unused]] const char* message) {
#if EDGENAS_FORMAT_ERRORS
  std::fputs("edgenas: ", stderr);
  std::fputs(message, stderr);
  std::fputc('\n', stderr);
#endif
}
inline ErrorHandler& error_handler_slot() noexcept {
  static ErrorHandler handler = &default_error_handler;
  return handler;
}
}  // namespace detail

/// Installs the handler used when exceptions are off; returns the previous one.
inline ErrorHandler set_error_handler(ErrorHandler handler) noexcept {
  ErrorHandler previous = detail::error_handler_slot();
  detail::error_handler_slot() = handler ? handler : &detail::default_error_handler;
  return previous;
}

/// Formats a message printf-style and raises it as described at the top of this file.
[[noreturn]] inline void raise_error(Status status, const char* format, ...)
    __attribute__((format(printf, 2, 3)));

[[noreturn]] inline void raise_error(Status status, const char* format, ...) {
#if EDGENAS_HAS_EXCEPTIONS
  // Sized to the message: messages that name files, genotypes or devices can be long.
  va_list args, measure;
  va_start(args, format);
  va_copy(measure, args);
  const int length = std::vsnprintf(nullptr, 0, format, measure);
  va_end(measure);
  std::string message(static_cast<std::size_t>(length > 0 ? length : 0), '\0');
  std::vsnprintf(message.data(), message.size() + 1, format, args);
  va_end(args);
  throw Error(status, message);
#else
#if EDGENAS_FORMAT_ERRORS
  // No heap here (firmware): a fixed buffer, its end marked when the message did not fit.
  char message[512];
  va_list args;
  va_start(args, format);
  const int length = std::vsnprintf(message, sizeof message, format, args);
  va_end(args);
  if (length >= static_cast<int>(sizeof message)) std::snprintf(message + sizeof message - 4, 4, "...");
#else
  const char* message = format;
#endif
  detail::error_handler_slot()(status, message);
  std::abort();
#endif
}

}  // namespace edgenas

/// Raises an edgenas error: EDGENAS_FAIL(Status::invalid_shape, "conv: %d != %d", a, b).
#define EDGENAS_FAIL(status, ...) ::edgenas::raise_error((status), __VA_ARGS__)

/// Raises the error unless `condition` holds. The message should name the operation and values.
#define EDGENAS_CHECK(condition, status, ...)                 \
  do {                                                        \
    if (!(condition)) [[unlikely]] EDGENAS_FAIL(status, __VA_ARGS__); \
  } while (0)
