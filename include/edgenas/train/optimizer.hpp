// edgenas/train/optimizer.hpp — SGD with (Nesterov) momentum and AdamW.
//
// Weight decay applies only to parameters marked `decay` (conv and FC weights, not batch-norm
// scale/shift or biases). SGD uses coupled L2 decay (added to the gradient, as torch.optim.SGD);
// AdamW decouples it (w ← w − lr·wd·w, Loshchilov & Hutter). The state (momentum, moments) is
// exposed for checkpoints.
#pragma once

#include <cmath>
#include <string_view>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/train/parameter.hpp"

namespace edgenas::train {

enum class OptimizerKind { sgd, adamw };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::sgd;
  float momentum = 0.9f;  // SGD
  bool nesterov = true;   // SGD
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // AdamW
  float weight_decay = 4e-5f;
};

/// Refuses settings that would make every step NaN or diverge at once (NaN fails every
/// comparison, so it is caught too); `who` names the caller in the message.
inline void check(const OptimizerConfig& c, const char* who) {
  EDGENAS_CHECK(c.momentum >= 0 && c.momentum < 1 && c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1 &&
                    c.eps > 0 && c.eps < 1 && c.weight_decay >= 0 && c.weight_decay < 1,
                Status::invalid_argument,
                "%s: optimizer momentum %g, betas %g and %g, eps %g, weight decay %g: expected momentum and betas in "
                "[0, 1), eps in (0, 1), weight decay in [0, 1)",
                who, static_cast<double>(c.momentum), static_cast<double>(c.beta1), static_cast<double>(c.beta2),
                static_cast<double>(c.eps), static_cast<double>(c.weight_decay));
}

inline constexpr std::string_view optimizer_name(OptimizerKind k) { return k == OptimizerKind::sgd ? "sgd" : "adamw"; }

class Optimizer {
 public:
  Optimizer(std::vector<Parameter*> params, OptimizerConfig config) : params_(std::move(params)), config_(config) {
    for (const Parameter* p : params_) {
      first_.emplace_back(p->size(), 0.0f);
      if (config_.kind == OptimizerKind::adamw) second_.emplace_back(p->size(), 0.0f);
    }
  }

  const OptimizerConfig& config() const noexcept { return config_; }
  std::int64_t steps() const noexcept { return steps_; }

  /// One update with learning rate lr from the accumulated gradients (which it does not clear).
  void step(float lr) {
    ++steps_;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Parameter& p = *params_[i];
      const float wd = p.decay ? config_.weight_decay : 0.0f;
      float* w = p.value.data();
      const float* g = p.grad.data();
      float* m = first_[i].data();
      const std::size_t n = p.size();
      if (config_.kind == OptimizerKind::sgd) {
        const float mu = config_.momentum;
        for (std::size_t j = 0; j < n; ++j) {
          const float grad = g[j] + wd * w[j];
          m[j] = mu * m[j] + grad;
          w[j] -= lr * (config_.nesterov ? grad + mu * m[j] : m[j]);
        }
      } else {
        float* v = second_[i].data();
        const float b1 = config_.beta1, b2 = config_.beta2;
        const float c1 = 1.0f - static_cast<float>(std::pow(double{b1}, static_cast<double>(steps_)));
        const float c2 = 1.0f - static_cast<float>(std::pow(double{b2}, static_cast<double>(steps_)));
        for (std::size_t j = 0; j < n; ++j) {
          m[j] = b1 * m[j] + (1.0f - b1) * g[j];
          v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
          w[j] -= lr * (wd * w[j] + (m[j] / c1) / (std::sqrt(v[j] / c2) + config_.eps));
        }
      }
    }
  }

  /// Optimizer state tensors in a fixed order (for checkpoints), and the step count.
  std::vector<std::vector<float>*> state() {
    std::vector<std::vector<float>*> s;
    for (auto& m : first_) s.push_back(&m);
    for (auto& v : second_) s.push_back(&v);
    return s;
  }
  /// The state tensors of parameter i (momentum; AdamW's two moments), same layout as it.
  std::vector<std::vector<float>*> state_of(std::size_t i) {
    std::vector<std::vector<float>*> s{&first_.at(i)};
    if (!second_.empty()) s.push_back(&second_.at(i));
    return s;
  }
  void set_steps(std::int64_t steps) noexcept { steps_ = steps; }

 private:
  std::vector<Parameter*> params_;
  OptimizerConfig config_;
  std::vector<std::vector<float>> first_, second_;
  std::int64_t steps_ = 0;
};

/// Linear warm-up from 0 over `warmup_steps`, then cosine decay to `final_lr` at `total_steps`.
struct CosineSchedule {
  float base_lr = 0.1f;
  float final_lr = 0.0f;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;

  float operator()(std::int64_t step) const noexcept {
    if (step < warmup_steps) return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
    const double span = static_cast<double>(std::max<std::int64_t>(1, total_steps - warmup_steps));
    const double t = std::min(1.0, static_cast<double>(step - warmup_steps) / span);
    return static_cast<float>(final_lr + (base_lr - final_lr) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * t)));
  }
};

}  // namespace edgenas::train
