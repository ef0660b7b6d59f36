// edgenas/runtime/xnnpack.hpp — opt-in: the XNNPACK runtime (needs XNNPACK::XNNPACK).
#pragma once

#include "edgenas/runtime/xnnpack/runtime.hpp"
