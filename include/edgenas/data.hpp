// edgenas/data.hpp — datasets, readers (needs zlib: link edgenas::data), batching.
#pragma once

#include "edgenas/data/dataset.hpp"
#include "edgenas/data/loader.hpp"
#include "edgenas/data/readers.hpp"
