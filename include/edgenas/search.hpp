// edgenas/search.hpp — hardware-aware search: budgets, strategies, Pareto bookkeeping, journal.
#pragma once

#include "edgenas/search/candidate.hpp"
#include "edgenas/search/journal.hpp"
#include "edgenas/search/pareto.hpp"
#include "edgenas/search/policy.hpp"
#include "edgenas/search/strategies.hpp"
