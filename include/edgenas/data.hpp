// edgenas/data.hpp — datasets, readers (needs zlib: link edgenas::data), batching.
#pragma once

#include "edgenas/data/dataset.hpp"
#include "edgenas/data/loader.hpp"
#include "edgenas/data/readers.hpp"
#include "edgenas/data/resize.hpp"
// Any format by path (NumPy, CSV, image folders: compiles stb_image in): edgenas/data/source.hpp
