# Android arm64-v8a phones and boards, through the NDK's own toolchain file (not testable on
# this machine: the NDK is not a Debian package). XNNPACK, pthreadpool and cpuinfo must be
# built for Android (the NDK does not ship them); point CMAKE_PREFIX_PATH at them.
#   ANDROID_NDK=/path/to/ndk cmake -S . -B build/android --toolchain $PWD/toolchains/android-arm64.cmake
if(NOT DEFINED ENV{ANDROID_NDK} AND NOT ANDROID_NDK)
  message(FATAL_ERROR "Set ANDROID_NDK (environment or -DANDROID_NDK=) to the NDK's directory")
endif()
if(NOT ANDROID_NDK)
  set(ANDROID_NDK "$ENV{ANDROID_NDK}")
endif()
set(ANDROID_ABI arm64-v8a CACHE STRING "")
set(ANDROID_PLATFORM android-26 CACHE STRING "")  # API 26 (Android 8): aligned allocation, C++20 headers
set(ANDROID_STL c++_static CACHE STRING "")
include("${ANDROID_NDK}/build/cmake/android.toolchain.cmake")
