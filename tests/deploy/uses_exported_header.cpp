// Compiled by the deploy check (tests/CMakeLists.txt) with only the deploy headers on the
// include path, a <thread> that #errors, no Eigen, -fno-exceptions -fno-rtti: what firmware
// includes must stay free of search-time code. With -DINT8_BUDGET=N the int8 header's arena is
// checked against N bytes at compile time.
#include <cstdint>

#ifdef INT8_BUDGET
#define EDGENAS_ARENA_BUDGET INT8_BUDGET
#endif
#include "deployed_int8_model.hpp"
#include "deployed_model.hpp"

static_assert(deployed::arena_bytes == deployed::Net::peak_activation_bytes);
static_assert(deployed::classes == 10 && deployed_int8::classes == 10);
// The int8 arena and flash, known from the network type alone, before any export.
static_assert(deployed_int8::Net::int8_arena_bytes == deployed_int8::arena_bytes);
static_assert(deployed_int8::Net::int8_arena_bytes < deployed::Net::arena_bytes);

int classify(const std::uint8_t* pixels) { return deployed::predict(pixels); }
int classify_int8(const std::uint8_t* pixels) { return deployed_int8::predict(pixels); }
