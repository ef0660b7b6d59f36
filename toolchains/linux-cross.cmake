# Shared by the Linux cross toolchain files: Debian's cross compiler for EDGENAS_TRIPLE, the
# sysroot scripts/make-sysroot.sh builds from Debian's packages of EDGENAS_DEBIAN_ARCH, and
# qemu-user as the emulator, so `ctest` runs the cross-built tests on this machine.
# (Language standard, warnings and optimisation stay in the project's CMake files.)
set(CMAKE_SYSTEM_NAME Linux)

set(EDGENAS_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-${EDGENAS_DEBIAN_ARCH}/root"
    CACHE PATH "Target sysroot (scripts/make-sysroot.sh ${EDGENAS_DEBIAN_ARCH})")
get_filename_component(EDGENAS_SYSROOT "${EDGENAS_SYSROOT}" ABSOLUTE)
if(NOT EXISTS "${EDGENAS_SYSROOT}/.complete")
  message(FATAL_ERROR "No ${EDGENAS_DEBIAN_ARCH} sysroot at ${EDGENAS_SYSROOT}: run scripts/make-sysroot.sh ${EDGENAS_DEBIAN_ARCH}")
endif()

set(CMAKE_C_COMPILER ${EDGENAS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${EDGENAS_TRIPLE}-g++)
set(CMAKE_SYSROOT "${EDGENAS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${EDGENAS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# qemu-user runs target programs with the sysroot as their root: the target's dynamic loader,
# libc and libXNNPACK.so all come from it. It emulates a real core (qemu's default "max" CPU
# has every optional extension, which no board has), so XNNPACK picks the kernels it would
# pick on that board and the latency fingerprint names it.
set(EDGENAS_QEMU_CPU "${EDGENAS_QEMU_DEFAULT_CPU}" CACHE STRING "Core qemu-user emulates (qemu-${EDGENAS_DEBIAN_ARCH} -cpu help)")
find_program(EDGENAS_QEMU ${EDGENAS_QEMU_NAME})
if(EDGENAS_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${EDGENAS_QEMU};-cpu;${EDGENAS_QEMU_CPU};-L;${EDGENAS_SYSROOT}")
endif()
