// Compiled by the deploy check (tests/CMakeLists.txt) with only the deploy headers on the
// include path, a <thread> that #errors, no Eigen, -fno-exceptions -fno-rtti: what firmware
// includes must stay free of search-time code.
#include <cstdint>
#include <edgenas/runtime/reference/int8_static.hpp>  // what an int8 export will include

#include "deployed_model.hpp"

static_assert(deployed::arena_bytes == deployed::Net::peak_activation_bytes);
static_assert(deployed::classes == 10);

int classify(const std::uint8_t* pixels) { return deployed::predict(pixels); }

int classify_int8(const edgenas::reference::int8::StaticNetwork& net, const float* image, std::int8_t* arena) {
  return edgenas::reference::int8::predict(net, image, arena);
}
