// Minimal Cortex-M startup for QEMU's mps2-an386: vector table, copy .data, zero .bss, enable
// the FPU, static constructors, main, then exit through semihosting (board.hpp).
#include <cstdint>

#include "board.hpp"

extern "C" {
extern std::uint32_t __data_start, __data_end, __data_load, __bss_start__, __bss_end__, __stack_top;
void __libc_init_array();
int main();

[[noreturn]] void reset_handler() {
  for (std::uint32_t *src = &__data_load, *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (std::uint32_t* p = &__bss_start__; p < &__bss_end__;) *p++ = 0;
#if defined(__ARM_FP)
  // CPACR: full access to coprocessors 10 and 11 (the FPU) before any float instruction.
  *reinterpret_cast<volatile std::uint32_t*>(0xE000ED88) |= 0xFu << 20;
  __asm volatile("dsb\n isb");
#endif
  __libc_init_array();
  board::exit(main() == 0);
}

// -nostartfiles drops crti/crtn; __libc_init_array still calls these.
void _init() {}
void _fini() {}

[[noreturn]] void fault_handler() {
  for (;;) {
  }
}

// Initial stack pointer, reset, then NMI and the fault handlers.
__attribute__((section(".vectors"), used)) const void* const vectors[16] = {
    &__stack_top, reinterpret_cast<const void*>(&reset_handler), reinterpret_cast<const void*>(&fault_handler),
    reinterpret_cast<const void*>(&fault_handler), reinterpret_cast<const void*>(&fault_handler),
    reinterpret_cast<const void*>(&fault_handler), reinterpret_cast<const void*>(&fault_handler)};
}
