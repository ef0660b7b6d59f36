// edgenas/edgenas.hpp — the Eigen-only part of edgenas. The XNNPACK runtime and latency
// measurement are opt-in headers so firmware never sees XNNPACK.
#pragma once

#include "edgenas/core.hpp"
#include "edgenas/ops.hpp"
#include "edgenas/version.hpp"
