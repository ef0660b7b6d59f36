// edgenas/ops.hpp — every numerical kernel: forward and backward, float32, NHWC, batched.
#pragma once

#include "edgenas/ops/activation.hpp"
#include "edgenas/ops/batch_norm.hpp"
#include "edgenas/ops/conv2d.hpp"
#include "edgenas/ops/dense.hpp"
#include "edgenas/ops/depthwise.hpp"
#include "edgenas/ops/fused_backward.hpp"
#include "edgenas/ops/loss.hpp"
#include "edgenas/ops/pooling.hpp"
#include "edgenas/ops/residual.hpp"
#include "edgenas/ops/squeeze_excite.hpp"
