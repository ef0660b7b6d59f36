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

#include <cmath>
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

/// Times one depthwise layer (with its activation) both ways on `threads` threads, as it runs in
/// a network: just after the 1×1 expansion that writes its input (in isolation, with its input
/// and output warm in cache from the previous run, a kernel can look faster than it is in
/// place). The expansion is timed alone too and taken off.
inline DepthwiseChoice measure_depthwise(const kernels::DepthwiseLayer& layer, int batch, int threads) {
  const int narrow = std::max(1, std::min(256, layer.c / 6));  // the expansion's input: MBConv ×6
  Genotype holder;  // the context of the pieces: its stem is the expansion on its own
  holder.input = {1, layer.h, layer.w, narrow};
  holder.stem = {layer.c, 1, 1, layer.act};
  Piece piece{Piece::Kind::depthwise, {1, layer.h, layer.w, narrow}, {}};
  piece.block = {layer.c, layer.c, layer.kernel, layer.stride, false, layer.act};
  Rng rng(7);
  const auto weights = [&](const Piece& p) {
    std::vector<float> w(static_cast<std::size_t>(piece_weight_count(holder, p)));
    for (float& v : w) v = rng.uniform(-0.5f, 0.5f) / std::sqrt(static_cast<float>(narrow));
    return w;
  };
  const Piece stem{Piece::Kind::stem, {}, {}};
  const auto blob = weights(piece);
  Runtime xnn(holder, piece, blob, threads, batch, PlanMode::xnnpack);
  Runtime own(holder, piece, blob, threads, batch, PlanMode::edgenas);
  Runtime expansion(holder, stem, weights(stem), threads, batch, PlanMode::xnnpack);
  for (std::int64_t i = 0; i < xnn.input().size(); ++i)
    xnn.input().data()[i] = own.input().data()[i] = expansion.input().data()[i] = rng.uniform(-1.0f, 1.0f);
  // Rounds of ≥ 0.5 ms (at least 2 runs), interleaved, so all see the same machine state.
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
  for (Runtime* r : {&xnn, &own, &expansion}) r->invoke();
  double with_xnnpack = 1e30, with_edgenas = 1e30, alone = 1e30;
  for (int i = 0; i < 7; ++i) {
    with_xnnpack = std::min(with_xnnpack, round(xnn));
    with_edgenas = std::min(with_edgenas, round(own));
    alone = std::min(alone, round(expansion));
  }
  DepthwiseChoice c;
  c.implementation = with_edgenas < with_xnnpack ? Implementation::edgenas : Implementation::xnnpack;
  c.xnnpack_ms = std::max(with_xnnpack - alone, 0.0);
  c.edgenas_ms = std::max(with_edgenas - alone, 0.0);
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
