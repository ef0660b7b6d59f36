# Bare-metal Cortex-M with the Arm GNU toolchain Debian ships (gcc-arm-none-eabi, newlib from
# libnewlib-arm-none-eabi / libstdc++-arm-none-eabi-newlib):
#   cmake -S examples/firmware -B build/firmware --toolchain toolchains/arm-none-eabi-cortex-m.cmake \
#         -DEDGENAS_CORTEX_M=m4 -DEDGENAS_MODEL_DIR=…
# EDGENAS_CORTEX_M picks cpu, fpu and float ABI together: m4 (Cortex-M4F, fpv4-sp-d16, hard),
# m7 (Cortex-M7, fpv5-d16, hard), m4-soft / m0plus (no FPU).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # no startup code yet when CMake probes

set(EDGENAS_CORTEX_M m4 CACHE STRING "Target core: m4, m7, m4-soft, m0plus")
set_property(CACHE EDGENAS_CORTEX_M PROPERTY STRINGS m4 m7 m4-soft m0plus)
if(EDGENAS_CORTEX_M STREQUAL "m4")
  set(_cpu "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
elseif(EDGENAS_CORTEX_M STREQUAL "m7")
  set(_cpu "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard")
elseif(EDGENAS_CORTEX_M STREQUAL "m4-soft")
  set(_cpu "-mcpu=cortex-m4 -mfloat-abi=soft")
elseif(EDGENAS_CORTEX_M STREQUAL "m0plus")
  set(_cpu "-mcpu=cortex-m0plus -mfloat-abi=soft")
else()
  message(FATAL_ERROR "EDGENAS_CORTEX_M=${EDGENAS_CORTEX_M}: use m4, m7, m4-soft or m0plus")
endif()
set(CMAKE_C_FLAGS_INIT "${_cpu} -mthumb")
set(CMAKE_CXX_FLAGS_INIT "${_cpu} -mthumb")
set(CMAKE_ASM_FLAGS_INIT "${_cpu} -mthumb")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_cpu} -mthumb")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
