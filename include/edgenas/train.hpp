// edgenas/train.hpp — the run-time trainer (needs edgenas::data for the data readers).
#pragma once

#include "edgenas/train/checkpoint.hpp"
#include "edgenas/train/distillation.hpp"
#include "edgenas/train/layers.hpp"
#include "edgenas/train/network.hpp"
#include "edgenas/train/optimizer.hpp"
#include "edgenas/train/parameter.hpp"
#include "edgenas/train/supernet.hpp"
#include "edgenas/train/supernet_trainer.hpp"
#include "edgenas/train/trainer.hpp"
#include "edgenas/train/weight_average.hpp"
#include "edgenas/train/workspace.hpp"
