// edgenas/train/parameter.hpp — a trainable tensor with its gradient.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "edgenas/core/rng.hpp"

namespace edgenas::train {

struct Parameter {
  std::string name;
  std::vector<float> value;
  std::vector<float> grad;
  bool decay = true;  // weight decay applies (not to batch-norm scale/shift or biases)

  Parameter() = default;
  Parameter(std::string n, std::size_t size, bool weight_decay)
      : name(std::move(n)), value(size, 0.0f), grad(size, 0.0f), decay(weight_decay) {}

  std::size_t size() const noexcept { return value.size(); }
  void zero_grad() noexcept { std::fill(grad.begin(), grad.end(), 0.0f); }
  void fill(float v) noexcept { std::fill(value.begin(), value.end(), v); }
  /// He/Kaiming normal: N(0, 2 / fan), as torchvision initialises MobileNets (fan_out mode).
  void kaiming_normal(int fan, Rng& rng) {
    const float stddev = std::sqrt(2.0f / static_cast<float>(std::max(1, fan)));
    for (float& v : value) v = rng.normal(0.0f, stddev);
  }
  void normal(float stddev, Rng& rng) {
    for (float& v : value) v = rng.normal(0.0f, stddev);
  }
};

/// A non-trainable tensor that is part of the model state (batch-norm running statistics).
struct Buffer {
  std::string name;
  std::vector<float>* values;
};

}  // namespace edgenas::train
