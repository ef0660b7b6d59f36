// edgenas/latency.hpp — opt-in: device fingerprint, robust timing, latency tables and the
// predictor (needs XNNPACK::XNNPACK: latency is measured through the XNNPACK runtime).
#pragma once

#include "edgenas/latency/fingerprint.hpp"
#include "edgenas/latency/kernel_plan.hpp"
#include "edgenas/latency/table.hpp"
#include "edgenas/latency/timing.hpp"
