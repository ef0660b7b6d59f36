// edgenas/blocks.hpp — compile-time blocks and networks, the genotype and its costs.
#pragma once

#include "edgenas/blocks/network.hpp"
#include "edgenas/blocks/options.hpp"
#include "edgenas/space/cost.hpp"
#include "edgenas/space/genotype.hpp"
