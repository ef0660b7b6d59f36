// edgenas/train/trainer.hpp — the training loop: batches, loss, backward, optimizer, schedule,
// evaluation and checkpoints.
//
// Deterministic for a seed and a thread count: batch order and augmentation come from
// Rng(seed).fork(epoch), weight init from the network's seed, and every reduction runs in a
// fixed order. Resuming from an epoch checkpoint continues bit-for-bit.
#pragma once

#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <string>

#include "edgenas/data/loader.hpp"
#include "edgenas/ops/loss.hpp"
#include "edgenas/train/checkpoint.hpp"
#include "edgenas/train/network.hpp"
#include "edgenas/train/optimizer.hpp"
#include "edgenas/train/weight_average.hpp"

namespace edgenas::train {

struct TrainConfig {
  int epochs = 15;
  int batch_size = 128;
  float lr = 0.1f;          // peak learning rate (after warm-up)
  float final_lr = 0.0f;
  float warmup_epochs = 1.0f;
  OptimizerConfig optimizer{};
  float label_smoothing = 0.1f;
  data::Augmentation augmentation{};
  std::uint64_t seed = 1;
  std::string checkpoint;   // saved after every epoch when not empty
  // Decay of an exponential moving average of the weights kept beside them (weight_average.hpp;
  // e.g. 0.999); 0: none.
  float weight_average = 0.0f;
};

/// Checks a training configuration before anything is allocated or trained: a NaN or
/// out-of-range learning rate is an error here, not a diverged loss epochs later.
inline TrainConfig checked(TrainConfig c) {
  EDGENAS_CHECK(
      c.epochs >= 0 && c.epochs <= 10000 && c.batch_size >= 1 && c.batch_size <= 100000, Status::invalid_argument,
      "TrainConfig: %d epochs of batch %d, expected 0 to 10000 epochs, batch 1 to 100000", c.epochs, c.batch_size);
  EDGENAS_CHECK(c.lr > 0 && c.lr <= 10 && c.final_lr >= 0 && c.final_lr <= c.lr, Status::invalid_argument,
                "TrainConfig: learning rate %g (final %g), expected above 0, at most 10 (final from 0 to the peak)",
                static_cast<double>(c.lr), static_cast<double>(c.final_lr));
  EDGENAS_CHECK(c.warmup_epochs >= 0 && c.warmup_epochs <= 10000 && c.label_smoothing >= 0 && c.label_smoothing < 1,
                Status::invalid_argument,
                "TrainConfig: warm-up %g epochs, label smoothing %g, expected >= 0 and [0, 1)",
                static_cast<double>(c.warmup_epochs), static_cast<double>(c.label_smoothing));
  EDGENAS_CHECK(c.weight_average >= 0 && c.weight_average < 1, Status::invalid_argument,
                "TrainConfig: weight average decay %g, expected 0 (none) or below 1 (e.g. 0.999)",
                static_cast<double>(c.weight_average));
  check(c.optimizer, "TrainConfig");
  return c;
}

struct EpochStats {
  int epoch = 0;            // 1-based number of the epoch just finished
  double loss = 0.0;        // mean training loss (with label smoothing)
  double accuracy = 0.0;    // training accuracy on the augmented batches
  double seconds = 0.0;
  double images_per_second = 0.0;
};

struct EvalStats {
  double loss = 0.0;  // mean cross-entropy without smoothing
  double accuracy = 0.0;
  std::vector<std::int32_t> predictions;
};

/// Arg-max class of each row of logits [N, 1, 1, K].
inline void predicted_classes(ConstTensorView logits, std::vector<std::int32_t>& out) {
  const auto K = logits.shape().per_image();
  for (int n = 0; n < logits.shape().n; ++n) {
    const float* z = logits.data() + n * K;
    out.push_back(static_cast<std::int32_t>(std::max_element(z, z + K) - z));
  }
}

/// Eval-mode loss and accuracy of `net` on a dataset, in batches of `batch_size`.
inline EvalStats evaluate(Network& net, const data::Dataset& d, const data::Normalization& norm, int batch_size) {
  data::BatchLoader loader(d, batch_size, norm);
  const auto order = loader.order(0, 0, false);
  EvalStats stats;
  std::vector<std::int32_t> labels;
  Tensor images;
  for (std::size_t b = 0; b < loader.batches(false); ++b) {
    loader.fill(order, b, data::Augmentation::none(), 0, 0, images, labels);
    const ConstTensorView logits = net.forward(images, false);
    stats.loss += ops::softmax_cross_entropy(logits, labels, 0.0f, {}) * static_cast<double>(labels.size());
    const std::size_t before = stats.predictions.size();
    predicted_classes(logits, stats.predictions);
    for (std::size_t i = 0; i < labels.size(); ++i) stats.accuracy += stats.predictions[before + i] == labels[i];
  }
  stats.loss /= static_cast<double>(d.size());
  stats.accuracy /= static_cast<double>(d.size());
  return stats;
}

/// Re-estimates every batch-norm running statistic as the plain average over `batches`
/// training-mode batches of `images` (Once-for-All's recalibration: a sub-network cut from a
/// supernet inherits weights but not statistics). Order is fixed, so the result is deterministic.
inline void recalibrate_batch_norm(Network& net, const data::Dataset& images, const data::Normalization& norm,
                                   int batch_size, std::size_t max_batches) {
  data::BatchLoader loader(images, batch_size, norm);
  const auto order = loader.order(0, 0, false);
  const std::size_t batches = std::min(max_batches, loader.batches(true));
  EDGENAS_CHECK(batches > 0, Status::invalid_argument,
                "recalibrate_batch_norm: %zu images make no full batch of %d", images.size(), batch_size);
  net.reset_batch_norm_statistics();
  Tensor x;
  std::vector<std::int32_t> labels;
  for (std::size_t b = 0; b < batches; ++b) {
    loader.fill(order, b, data::Augmentation::none(), 0, 0, x, labels);
    net.set_batch_norm_momentum(1.0f / static_cast<float>(b + 1));  // running mean of the batches
    net.forward(x, Pass::statistics);
  }
  net.set_batch_norm_momentum(ops::BatchNormConfig{}.momentum);
}

/// Stops a run whose logits went NaN or infinite, saying where and what to do.
inline void check_finite_logits(ConstTensorView logits, const char* what, int epoch, std::size_t batch, float lr) {
  for (std::int64_t i = 0; i < logits.size(); ++i)
    EDGENAS_CHECK(std::isfinite(logits.data()[i]), Status::numerical_error,
                  "%s diverged: non-finite logits in epoch %d, batch %zu (learning rate %g); lower the learning rate "
                  "— the last checkpoint is unaffected",
                  what, epoch + 1, batch, double{lr});
}

class Trainer {
 public:
  using Progress = std::function<void(std::size_t batch, std::size_t batches, double loss)>;

  Trainer(Network& net, const data::Dataset& train, data::Normalization norm, TrainConfig config)
      : net_(net),
        norm_(norm),
        config_(checked(std::move(config))),
        loader_(train, config_.batch_size, norm),
        optimizer_(net.parameters(), config_.optimizer) {
    EDGENAS_CHECK(train.height == net.genotype().input.h && train.width == net.genotype().input.w &&
                      train.channels == net.genotype().input.c,
                  Status::invalid_shape, "Trainer: images are %dx%dx%d, the genotype expects %dx%dx%d", train.height,
                  train.width, train.channels, net.genotype().input.h, net.genotype().input.w, net.genotype().input.c);
    EDGENAS_CHECK(train.classes <= net.genotype().head.classes, Status::invalid_argument,
                  "Trainer: the data has %d classes, the network only %d", train.classes, net.genotype().head.classes);
    EDGENAS_CHECK(loader_.batches(true) > 0, Status::invalid_argument,
                  "Trainer: %zu training images make no full batch of %d", train.size(), config_.batch_size);
    const auto steps_per_epoch = static_cast<std::int64_t>(loader_.batches(true));
    schedule_ = {config_.lr, config_.final_lr, static_cast<std::int64_t>(config_.warmup_epochs * steps_per_epoch),
                 steps_per_epoch * config_.epochs};
    if (config_.weight_average > 0) average_.emplace(net.parameters(), net.buffers(), config_.weight_average);
  }

  int epochs_done() const noexcept { return epochs_done_; }
  bool finished() const noexcept { return epochs_done_ >= config_.epochs; }
  Optimizer& optimizer() noexcept { return optimizer_; }
  /// The weight average, when the configuration keeps one (swap() it in to evaluate it).
  WeightAverage* weight_average() noexcept { return average_ ? &*average_ : nullptr; }
  const TrainConfig& config() const noexcept { return config_; }

  /// Changes how many epochs the training runs (a time budget re-planned at the epochs' real
  /// pace): the cosine schedule is stretched over the new length from the next step on, so the
  /// learning rate still ends at its final value. Not fewer than the epochs already done.
  void set_epochs(int epochs) {
    EDGENAS_CHECK(epochs >= epochs_done_ && epochs <= 10000, Status::invalid_argument,
                  "Trainer::set_epochs: %d epochs, expected %d (the epochs done) to 10000", epochs, epochs_done_);
    config_.epochs = epochs;
    schedule_.total_steps = static_cast<std::int64_t>(loader_.batches(true)) * epochs;
  }

  /// Trains one epoch (the next one) and, if configured, writes the checkpoint.
  EpochStats train_epoch(const Progress& progress = {}) {
    const auto start = std::chrono::steady_clock::now();
    const int epoch = epochs_done_;
    const auto order = loader_.order(config_.seed, epoch, true);
    const std::size_t batches = loader_.batches(true);
    double loss_sum = 0.0;
    std::size_t correct = 0, seen = 0;
    std::vector<std::int32_t> predictions;
    for (std::size_t b = 0; b < batches; ++b) {
      loader_.fill(order, b, config_.augmentation, config_.seed, epoch, images_, labels_);
      net_.zero_grad();
      const ConstTensorView logits = net_.forward(images_, true);
      check_finite(logits, epoch, b);
      if (dlogits_.shape() != logits.shape()) dlogits_.resize(logits.shape());
      const double loss = ops::softmax_cross_entropy(logits, labels_, config_.label_smoothing, dlogits_);
      predictions.clear();
      predicted_classes(logits, predictions);
      for (std::size_t i = 0; i < labels_.size(); ++i) correct += predictions[i] == labels_[i];
      seen += labels_.size();
      net_.backward(dlogits_);
      optimizer_.step(schedule_(optimizer_.steps()));
      if (average_) average_->update(optimizer_.steps());
      loss_sum += loss;
      if (progress) progress(b + 1, batches, loss);
    }
    ++epochs_done_;
    if (!config_.checkpoint.empty())
      save_checkpoint(config_.checkpoint, net_, optimizer_, epochs_done_, weight_average());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {epochs_done_, loss_sum / static_cast<double>(batches), static_cast<double>(correct) / static_cast<double>(seen),
            seconds, static_cast<double>(seen) / seconds};
  }

  /// Eval-mode loss and accuracy on a dataset (normalised like the training data), in batches
  /// of the training size.
  EvalStats evaluate(const data::Dataset& d) { return train::evaluate(net_, d, norm_, config_.batch_size); }

  /// Continues from a checkpoint written by this configuration.
  void resume(const std::string& path) { epochs_done_ = load_checkpoint(path, net_, optimizer_, weight_average()); }

 private:
  void check_finite(ConstTensorView logits, int epoch, std::size_t batch) const {
    check_finite_logits(logits, "training", epoch, batch, schedule_(optimizer_.steps()));
  }

  Network& net_;
  data::Normalization norm_;
  TrainConfig config_;
  data::BatchLoader loader_;
  Optimizer optimizer_;
  CosineSchedule schedule_;
  std::optional<WeightAverage> average_;
  int epochs_done_ = 0;
  Tensor images_, dlogits_;
  std::vector<std::int32_t> labels_;
};

}  // namespace edgenas::train
