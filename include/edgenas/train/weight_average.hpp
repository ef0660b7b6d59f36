// edgenas/train/weight_average.hpp — an exponential moving average of a network's weights.
//
// Polyak averaging as image classifiers use it (Tan & Le's EfficientNet, timm's model EMA):
// after every optimizer step avg ← d·avg + (1 − d)·w, over every parameter and batch-norm
// running statistic, and the average is the model that is evaluated and exported. The decay
// ramps up, d_t = min(d, (1 + t) / (10 + t)) at step t, so a short training is not dominated
// by the initial weights. It changes nothing in the training itself.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/train/parameter.hpp"

namespace edgenas::train {

/// The decay used at optimizer step `step` (1-based) for a configured decay `decay`.
inline float average_decay(float decay, std::int64_t step) noexcept {
  const auto t = static_cast<double>(step);
  return static_cast<float>(std::min(static_cast<double>(decay), (1.0 + t) / (10.0 + t)));
}

class WeightAverage {
 public:
  struct NamedValues {
    std::string name;
    std::vector<float>* values;
  };

  /// Starts the average at the tensors' current values.
  WeightAverage(const std::vector<Parameter*>& params, const std::vector<Buffer>& buffers, float decay)
      : decay_(decay) {
    EDGENAS_CHECK(decay > 0.0f && decay < 1.0f, Status::invalid_argument,
                  "weight average: decay %g, expected between 0 and 1 (e.g. 0.999)", static_cast<double>(decay));
    for (Parameter* p : params) live_.push_back({p->name, &p->value});
    for (const Buffer& b : buffers) live_.push_back({b.name, b.values});
    for (const NamedValues& t : live_) average_.push_back(*t.values);
  }

  /// Folds the current weights in; `step` is the optimizer's step count after its update.
  void update(std::int64_t step) noexcept {
    const float d = average_decay(decay_, step), w = 1.0f - d;
    for (std::size_t i = 0; i < live_.size(); ++i) {
      const float* x = live_[i].values->data();
      float* a = average_[i].data();
      const std::size_t n = average_[i].size();
      for (std::size_t j = 0; j < n; ++j) a[j] = d * a[j] + w * x[j];
    }
  }

  /// Exchanges the network's weights with the average: once to evaluate or export the average,
  /// again to continue training.
  void swap() noexcept {  // values, not buffers: layers may hold pointers into the network's tensors
    for (std::size_t i = 0; i < live_.size(); ++i)
      std::swap_ranges(average_[i].begin(), average_[i].end(), live_[i].values->begin());
  }

  /// The averaged tensors, named "average.<tensor>", for checkpoints.
  std::vector<NamedValues> state() {
    std::vector<NamedValues> t;
    for (std::size_t i = 0; i < live_.size(); ++i) t.push_back({"average." + live_[i].name, &average_[i]});
    return t;
  }

 private:
  float decay_;
  std::vector<NamedValues> live_;
  std::vector<std::vector<float>> average_;
};

}  // namespace edgenas::train
