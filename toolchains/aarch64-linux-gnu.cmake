# 64-bit ARM Linux boards (Raspberry Pi 3/4/5 with a 64-bit OS, i.MX 8, Jetson …):
#   scripts/make-sysroot.sh arm64
#   cmake -S . -B build/aarch64 -G Ninja --toolchain toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(EDGENAS_TRIPLE aarch64-linux-gnu)
set(EDGENAS_DEBIAN_ARCH arm64)
set(EDGENAS_QEMU_NAME qemu-aarch64)
set(EDGENAS_QEMU_DEFAULT_CPU cortex-a72)  # Raspberry Pi 4
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
