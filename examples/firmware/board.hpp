// What the firmware example needs from the board, without newlib's stdio: text out and exit
// over semihosting, and an instruction counter.
//
// Why not printf: newlib's printf brings its float formatting, malloc and buffered streams,
// ≈ 30 KB of flash — more than an int8 network's weights. Real firmware prints through a UART
// driver of a few hundred bytes; semihosting's SYS_WRITE0 stands in for it here.
//
// Instructions per inference: under `qemu-system-arm -icount shift=0` every guest instruction
// advances the virtual clock by 1 ns, and SysTick counts that clock. The ticks of a loop of
// known length (calibrate()) convert SysTick ticks into instructions. It is a proxy for work
// done, not a latency: QEMU does not model a real core's pipeline, wait states or caches.
#pragma once

#include <cstdint>

namespace board {

inline int semihost(int operation, const void* argument) {
  register int r0 __asm("r0") = operation;
  register const void* r1 __asm("r1") = argument;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

inline void print(const char* text) { semihost(0x04, text); }  // SYS_WRITE0

inline void print(long long value) {
  char digits[24];
  char* p = digits + sizeof digits;
  *--p = '\0';
  const bool negative = value < 0;
  unsigned long long v =
      negative ? 0ull - static_cast<unsigned long long>(value) : static_cast<unsigned long long>(value);
  do *--p = static_cast<char>('0' + v % 10);
  while ((v /= 10) != 0);
  if (negative) *--p = '-';
  print(p);
}

inline void print(int value) { print(static_cast<long long>(value)); }

/// Any mix of text and integers, in order.
template <typename... Parts>
void say(const Parts&... parts) {
  (print(parts), ...);
}

/// Ends the QEMU run: exit status 0 when `passed`, else 1 (semihosting SYS_EXIT).
[[noreturn]] inline void exit(bool passed) {
  semihost(0x18, reinterpret_cast<const void*>(passed ? 0x20026 : 0x20023));  // ApplicationExit / RunTimeErrorUnknown
  for (;;) {
  }
}

// SysTick, counting down from 2^24 − 1 at the processor clock.
inline volatile std::uint32_t& systick(std::uint32_t offset) {
  return *reinterpret_cast<volatile std::uint32_t*>(0xE000E010u + offset);
}
inline void start_ticks() {
  systick(0x4) = 0xFFFFFFu;  // reload
  systick(0x8) = 0;          // current value
  systick(0x0) = 0x5u;       // enable, processor clock, no interrupt
}
inline std::uint32_t now() { return systick(0x8); }
/// Ticks elapsed from `since` (one wrap at most: 16.7 M ticks).
inline std::uint32_t ticks_since(std::uint32_t since) { return (since - now()) & 0xFFFFFFu; }

/// SysTick ticks per `instructions` (a counted loop of 2·n instructions, n = 1 000 000).
struct Calibration {
  std::uint32_t ticks = 0;
  long long instructions = 0;
  long long to_instructions(std::uint64_t t) const {
    return ticks ? static_cast<long long>(t * instructions / ticks) : -1;
  }
};
inline Calibration calibrate() {
  constexpr std::uint32_t n = 1'000'000;
  const std::uint32_t before = now();
  std::uint32_t count = n;
  __asm volatile(
      "1: subs %0, %0, #1\n"
      "   bne 1b\n"
      : "+r"(count)
      :
      : "cc");
  return {ticks_since(before), 2LL * n};
}

/// The run's last lines, shared by both firmwares: how many images matched the host (`what`:
/// "predictions" or "logits"), the instructions per inference, PASS or FAIL; the exit code.
inline int summarise(const char* what, int same, int correct, int count, const Calibration& calibration,
                     std::uint64_t ticks) {
  say(what, " equal to the host's: ", same, "/", count, "; correct: ", correct, "/", count, "\n");
  say("instructions per inference (qemu -icount proxy): ", calibration.to_instructions(ticks / count), "\n");
  say(same == count ? "FIRMWARE PASS\n" : "FIRMWARE FAIL\n");
  return same == count ? 0 : 1;
}

}  // namespace board
