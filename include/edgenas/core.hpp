// edgenas/core.hpp — shapes, tensor views, RNG, threads, errors.
#pragma once

#include "edgenas/core/activation.hpp"
#include "edgenas/core/atomic_file.hpp"
#include "edgenas/core/error.hpp"
#include "edgenas/core/json.hpp"
#include "edgenas/core/parallel.hpp"
#include "edgenas/core/rank_ceiling.hpp"
#include "edgenas/core/rank_correlation.hpp"
#include "edgenas/core/rng.hpp"
#include "edgenas/core/shape.hpp"
#include "edgenas/core/tensor.hpp"
