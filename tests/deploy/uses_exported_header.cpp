// Compiled by the deploy check (tests/CMakeLists.txt) with only the deploy headers on the
// include path, a <thread> that #errors, no Eigen, -fno-exceptions -fno-rtti: what firmware
// includes must stay free of search-time code.
#include <cstdint>

#include "deployed_model.hpp"

static_assert(deployed::arena_bytes == deployed::Net::peak_activation_bytes);
static_assert(deployed::classes == 10);

int classify(const std::uint8_t* pixels) { return deployed::predict(pixels); }
