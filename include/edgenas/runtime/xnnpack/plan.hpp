// edgenas/runtime/xnnpack/plan.hpp — which implementation runs each depthwise layer, chosen by
// measurement on this device and remembered.
//
// A choice is made per layer shape (depthwise_key: shape, kernel, stride, activation, batch,
// threads), not per network: networks of a search share their layers' shapes, so each shape is
// timed once. Both implementations run the layer as the runtime would (a one-layer Runtime:
// XNNPACK with its activation operators, or edgenas's kernel with the activation fused), in
// alternating rounds; the faster minimum wins. latency/kernel_plan.hpp keeps the choices in a
// file tied to the device's fingerprint.
#pragma once

#include <map>
#include <mutex>
#include <optional>

#include "edgenas/core/rng.hpp"
#include "edgenas/runtime/xnnpack/runtime.hpp"

namespace edgenas::xnnpack {

/// One layer shape's measured alternatives.
struct DepthwiseChoice {
  Implementation implementation = Implementation::xnnpack;
  double xnnpack_ms = 0, edgenas_ms = 0;  // fastest round of each, per run of the layer
};

/// Times one depthwise layer (with its activation) both ways on `threads` threads.
inline DepthwiseChoice measure_depthwise(const kernels::DepthwiseLayer& layer, int batch, int threads) {
  Genotype holder;  // a network only as the pieces' context; the piece is the layer
  holder.input = {1, layer.h, layer.w, 1};
  Piece piece{Piece::Kind::depthwise, {1, layer.h, layer.w, layer.c}, {}};
  piece.block.kernel = layer.kernel;
  piece.block.stride = layer.stride;
  piece.block.act = layer.act;
  std::vector<float> weights(static_cast<std::size_t>(piece_weight_count(holder, piece)));
  Rng rng(7);
  for (float& w : weights) w = rng.uniform(-0.5f, 0.5f);
  Runtime xnn(holder, piece, weights, threads, batch, PlanMode::xnnpack);
  Runtime own(holder, piece, weights, threads, batch, PlanMode::edgenas);
  for (std::int64_t i = 0; i < xnn.input().size(); ++i) xnn.input().data()[i] = own.input().data()[i] = rng.uniform(-1.0f, 1.0f);
  // Rounds of ≥ 0.5 ms (at least 2 runs), alternating, so both see the same machine state.
  using clock = std::chrono::steady_clock;
  const auto round = [](Runtime& r) {
    int runs = 0;
    const auto start = clock::now();
    std::chrono::duration<double, std::milli> elapsed{};
    do {
      r.invoke();
      ++runs;
      elapsed = clock::now() - start;
    } while (runs < 2 || elapsed.count() < 0.5);
    return elapsed.count() / runs;
  };
  xnn.invoke();
  own.invoke();
  DepthwiseChoice c{Implementation::xnnpack, 1e30, 1e30};
  for (int i = 0; i < 7; ++i) {
    c.xnnpack_ms = std::min(c.xnnpack_ms, round(xnn));
    c.edgenas_ms = std::min(c.edgenas_ms, round(own));
  }
  c.implementation = c.edgenas_ms < c.xnnpack_ms ? Implementation::edgenas : Implementation::xnnpack;
  return c;
}

/// The process's choices by depthwise_key; measures a shape the first time it is asked for.
class KernelPlan {
 public:
  DepthwiseChoice choose(const kernels::DepthwiseLayer& layer, int batch, int threads) {
    const std::string key = depthwise_key(layer, batch, threads);
    std::function<void(const std::string&, const DepthwiseChoice&)> notify;
    {
      std::lock_guard lock(mutex_);
      if (auto it = choices_.find(key); it != choices_.end()) return it->second;
    }
    const DepthwiseChoice c = measure_depthwise(layer, batch, threads);
    {
      std::lock_guard lock(mutex_);
      choices_.emplace(key, c);
      notify = on_measured_;
    }
    if (notify) notify(key, c);
    return c;
  }
  std::optional<DepthwiseChoice> find(const std::string& key) const {
    std::lock_guard lock(mutex_);
    const auto it = choices_.find(key);
    return it == choices_.end() ? std::nullopt : std::optional(it->second);
  }
  void set(const std::string& key, const DepthwiseChoice& c) {
    std::lock_guard lock(mutex_);
    choices_[key] = c;
  }
  std::map<std::string, DepthwiseChoice> choices() const {
    std::lock_guard lock(mutex_);
    return choices_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    choices_.clear();
    on_measured_ = nullptr;
  }
  /// Called after each new measurement (kernel_plan.hpp saves the file).
  void on_measured(std::function<void(const std::string&, const DepthwiseChoice&)> f) {
    std::lock_guard lock(mutex_);
    on_measured_ = std::move(f);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, DepthwiseChoice> choices_;
  std::function<void(const std::string&, const DepthwiseChoice&)> on_measured_;
};

/// The process-wide plan PlanMode::measured runtimes use.
inline KernelPlan& kernel_plan() {
  static KernelPlan plan;
  return plan;
}

inline Implementation planned_implementation(const kernels::DepthwiseLayer& layer, int batch, int threads) {
  return kernel_plan().choose(layer, batch, threads).implementation;
}

}  // namespace edgenas::xnnpack
