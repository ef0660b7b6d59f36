// edgenas/search/memory.hpp — how much memory a search needs, and batch sizes that fit a budget.
//
// A search's peak is the supernet's training step of its largest network: its activations
// (kept convolutions + one block's temporaries, train/network.hpp), the shared weights with
// their gradients and optimizer state, the images (kept as 8-bit pixels) and the process itself.
// Activation memory is linear in the batch; it is measured, not modelled: the largest network
// runs one step at batch 2 and at batch 4 and the line through both is extrapolated (exact up to
// the 64-byte rounding of each buffer). The pipeline reserves exactly that workspace up front.
#pragma once

#include <cstdio>
#include <fstream>
#include <string>

#include "edgenas/ops/loss.hpp"
#include "edgenas/search/config.hpp"
#include "edgenas/train/network.hpp"
#include "edgenas/train/supernet.hpp"

namespace edgenas::search {

struct MemoryPlan {
  int batch = 0, eval_batch = 0;          // what the search will use
  std::int64_t process_bytes = 0;         // resident now: code, libraries, the data set loaded
  std::int64_t weights_bytes = 0;         // supernet weights, gradients, optimizer state, checkpoints, sub-networks
  std::int64_t stored_bytes = 0;          // activation workspace: what backward needs (train::Activations::stored)
  std::int64_t scratch_bytes = 0;         // and one block's temporaries (train::Activations::scratch)
  std::int64_t activation_bytes = 0;      // both, and the batches themselves
  std::int64_t peak_bytes = 0;            // the sum, with a margin for the allocator
};

/// "512M", "1.5G", "300000K", "1048576" (bytes) → bytes; an error names a malformed size.
inline std::int64_t parse_bytes(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  std::string unit(end);
  for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'I') unit.pop_back();  // MiB = M: sizes here are binary
  const double scale = unit.empty() ? 1.0 : unit == "K" ? 1024.0 : unit == "M" ? 1048576.0 : unit == "G" ? 1073741824.0 : -1.0;
  EDGENAS_CHECK(end != s.c_str() && std::isfinite(v) && v > 0 && scale > 0 && v * scale < 9.0e15, Status::invalid_argument,
                "memory size \"%s\": expected a positive number with an optional K, M or G (e.g. 512M)", s.c_str());
  return static_cast<std::int64_t>(v * scale);
}

inline std::string format_bytes(std::int64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f MiB", static_cast<double>(bytes) / 1048576.0);
  return b;
}

/// Resident memory of this process now (0 where /proc is not available).
inline std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * 4096;
}

/// The most this process has had resident so far (VmHWM; 0 where /proc is not available).
inline std::int64_t peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  std::int64_t kib = 0;
  while (status >> key) {
    if (key == "VmHWM:" && status >> kib) return kib * 1024;
    status.ignore(4096, '\n');
  }
  return 0;
}

namespace detail {
struct StepBytes {
  std::int64_t stored = 0, scratch = 0;
};

/// Activation high-water of one training step (train = true) or one recalibration batch of
/// `g` at `batch` images, per workspace stack.
inline StepBytes step_activation_bytes(const Genotype& g, int batch, bool train) {
  train::Network net(g);
  Tensor images(g.input.with_batch(batch)), dlogits;
  for (std::int64_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 7) - 3.0f;
  const ConstTensorView logits = net.forward(images, train ? train::Pass::train : train::Pass::statistics);
  if (train) {
    dlogits.resize(logits.shape());
    std::vector<std::int32_t> labels(static_cast<std::size_t>(batch), 0);
    ops::softmax_cross_entropy(logits, labels, 0.0f, dlogits);
    net.backward(dlogits);
  }
  return {static_cast<std::int64_t>(net.activations().stored.high_water_bytes()),
          static_cast<std::int64_t>(net.activations().scratch.high_water_bytes())};
}

/// Activation bytes as a line in the batch, per stack: through batch 2 and 4, plus the 64-byte
/// rounding of up to 256 buffers.
struct ActivationLine {
  StepBytes at2, at4;
  ActivationLine(const Genotype& g, bool train) : at2(step_activation_bytes(g, 2, train)), at4(step_activation_bytes(g, 4, train)) {}
  StepBytes operator()(int batch) const {
    const auto line = [batch](std::int64_t a, std::int64_t b) { return a + (b - a) * (batch - 2) / 2 + 64 * 256; };
    return {line(at2.stored, at4.stored), line(at2.scratch, at4.scratch)};
  }
};
}  // namespace detail

/// The memory a search of `config` needs with the data already loaded (it is resident: counted
/// in `process_bytes`), at the configured batch
/// sizes or — with a memory budget — at the largest that fit it. A budget nothing fits is an
/// error that says what takes the memory. `process_bytes`: what the process holds now (< 0:
/// measured, its resident memory).
inline MemoryPlan plan_memory(const SearchConfig& config, std::int64_t process_bytes = -1) {
  MemoryPlan plan;
  const Genotype largest = config.space.decode(config.space.largest_choices());
  std::int64_t shared = 0;
  {
    const train::Supernet probe(config.space, 1);
    shared = probe.parameter_count();
  }
  plan.process_bytes = process_bytes >= 0 ? process_bytes : resident_bytes();
  // Supernet value, gradient, momentum, a checkpoint's serialised copy; four sub-networks with
  // their gradients (at most the supernet's size each).
  plan.weights_bytes = shared * 4 * (4 + 4 * 2);
  const detail::ActivationLine train_step(largest, true), eval_step(largest, false);
  const auto estimate = [&](int batch, int eval_batch) {
    const std::int64_t batch_tensors = 3 * static_cast<std::int64_t>(std::max(batch, eval_batch)) *
                                       (largest.input.h * largest.input.w * largest.input.c + largest.head.classes) * 4;
    MemoryPlan p = plan;
    p.batch = batch, p.eval_batch = eval_batch;
    // The two stacks are shared by training and evaluation: each is as large as its larger use.
    const detail::StepBytes t = train_step(batch), e = eval_step(eval_batch);
    p.stored_bytes = std::max(t.stored, e.stored);
    p.scratch_bytes = std::max(t.scratch, e.scratch);
    p.activation_bytes = p.stored_bytes + p.scratch_bytes + batch_tensors;
    p.peak_bytes = (p.process_bytes + p.weights_bytes + p.activation_bytes) * 11 / 10;  // allocator slack
    return p;
  };
  MemoryPlan best = estimate(config.batch, config.eval_batch);
  if (config.memory_budget <= 0 || best.peak_bytes <= config.memory_budget) return best;
  // The largest training batch that fits, lowering the evaluation batch first (it changes only
  // how batch-norm statistics are recalibrated; the training batch changes the training).
  for (int b : {config.batch, 96, 64, 48, 32, 24, 16, 8}) {
    if (b > config.batch) continue;
    for (int e : {config.eval_batch, 128, 64, 32, 16}) {
      if (e > config.eval_batch) continue;
      best = estimate(b, e);
      if (best.peak_bytes <= config.memory_budget) return best;
    }
  }
  EDGENAS_FAIL(Status::invalid_argument,
               "memory budget %s is too small for this search: even at batch %d it needs about %s (process and data "
               "%s, weights %s, activations %s); raise --memory-budget or use fewer --train-images",
               format_bytes(config.memory_budget).c_str(), best.batch, format_bytes(best.peak_bytes).c_str(),
               format_bytes(best.process_bytes).c_str(), format_bytes(best.weights_bytes).c_str(),
               format_bytes(best.activation_bytes).c_str());
}

}  // namespace edgenas::search
