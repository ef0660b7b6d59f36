# 32-bit ARM Linux boards with hardware float (Raspberry Pi OS 32-bit, Cortex-A7/A9/A53 in
# 32-bit mode, BeagleBone …): ARMv7-A + VFPv3-D16, Debian's armhf baseline.
#   scripts/make-sysroot.sh armhf
#   cmake -S . -B build/armhf -G Ninja --toolchain toolchains/arm-linux-gnueabihf.cmake
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(EDGENAS_TRIPLE arm-linux-gnueabihf)
set(EDGENAS_DEBIAN_ARCH armhf)
set(EDGENAS_QEMU_NAME qemu-arm)
set(EDGENAS_QEMU_DEFAULT_CPU cortex-a7)  # Raspberry Pi 2
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
