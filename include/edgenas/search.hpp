// edgenas/search.hpp — search strategies and their bookkeeping (so far: Pareto utilities).
#pragma once

#include "edgenas/search/pareto.hpp"
