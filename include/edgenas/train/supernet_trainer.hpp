// edgenas/train/supernet_trainer.hpp — training a supernet, and scoring its sub-networks.
//
// Every step follows the sandwich rule (Yu et al., BigNAS / slimmable networks): the largest
// sub-network learns from the labels, then the smallest and `random_subnets` random ones learn
// from the largest's soft predictions (in-place distillation), their gradients summed into the
// shared weights before one optimizer step. Given a teacher (a network trained beforehand, e.g.
// by `edgenas train`), the smallest and the random ones learn from its predictions instead.
// Progressive shrinking (Once-for-All) optionally splits the epochs into four phases that open
// one dimension at a time: the full network, then elastic kernel, then depth, then expand ratio
// (with SE, activation and width).
//
// Deterministic for a seed and thread count; resuming from an epoch checkpoint continues
// bit-for-bit, because sampling and batches depend only on (seed, epoch, step).
//
// Data-parallel (`shards` > 1): each step's batch is cut into equal shards, each run forward and
// backward on its own (batch-norm statistics per shard, as in PyTorch's DDP), and the shards'
// gradients are summed in shard order, then averaged. With a Collective the shards are spread
// over processes; the sum's order is the same, so 1, 2 or 4 workers train the same weights.
#pragma once

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>

#include "edgenas/core/collective.hpp"
#include "edgenas/data/loader.hpp"
#include "edgenas/data/resize.hpp"
#include "edgenas/ops/loss.hpp"
#include "edgenas/train/checkpoint.hpp"
#include "edgenas/train/distillation.hpp"
#include "edgenas/train/supernet.hpp"
#include "edgenas/train/trainer.hpp"

namespace edgenas::train {

struct SupernetConfig {
  int epochs = 4;
  int batch_size = 128;
  float lr = 0.1f;
  float final_lr = 0.0f;
  float warmup_epochs = 0.5f;
  OptimizerConfig optimizer{};
  float label_smoothing = 0.1f;
  data::Augmentation augmentation{};
  int random_subnets = 2;          // sandwich: largest + smallest + this many random
  float distill_temperature = 1.0f;
  bool progressive_shrinking = false;
  // A stronger teacher than the largest sub-network (not owned; run in inference mode on every
  // batch): the other sub-networks distill from it. None: in-place distillation.
  Network* teacher = nullptr;
  // Draws the random sub-networks of the sandwich (default: uniform over the space). A search
  // under budgets passes its feasible sampler, so the shared weights are trained for the
  // architectures the search can actually pick.
  std::function<Choices(Rng&)> sample;
  std::size_t images = 0;          // train on the first this many images (0: all; no copy is made)
  std::uint64_t seed = 1;
  std::string checkpoint;          // saved after every epoch when not empty
  int shards = 1;                  // the step's batch in this many parts, gradients summed in order
  Collective* collective = nullptr;  // spreads the shards over its workers (not owned); none: all here
};

/// Which dimensions are elastic in a phase of progressive shrinking.
enum class ShrinkPhase { full = 0, kernel = 1, depth = 2, expand = 3 };

/// `c` with every dimension not yet elastic in `phase` set to the largest choice.
inline Choices restrict_to_phase(const Choices& c, const Choices& largest, ShrinkPhase phase) {
  if (phase == ShrinkPhase::expand) return c;
  Choices r = largest;
  if (phase == ShrinkPhase::full) return r;
  for (std::size_t s = 0; s < r.blocks.size(); ++s) {
    if (phase == ShrinkPhase::depth) r.depth[s] = c.depth[s];
    for (std::size_t j = 0; j < r.blocks[s].size(); ++j) r.blocks[s][j].kernel = c.blocks[s][j].kernel;
  }
  return r;
}

struct SupernetEpochStats {
  int epoch = 0;
  ShrinkPhase phase = ShrinkPhase::expand;
  double loss = 0.0;          // the largest sub-network's training loss
  double accuracy = 0.0;      // the largest sub-network's training accuracy (augmented batches)
  double distill_loss = 0.0;  // mean distillation loss of the other sub-networks
  double seconds = 0.0;
};

class SupernetTrainer {
 public:
  using Progress = std::function<void(std::size_t batch, std::size_t batches, double loss)>;

  SupernetTrainer(Supernet& supernet, const data::Dataset& train, data::Normalization norm, SupernetConfig config)
      : net_(supernet), config_(std::move(config)), loader_(train, config_.batch_size, norm, config_.images),
        optimizer_(supernet.parameters(), config_.optimizer) {
    EDGENAS_CHECK(train.height == train.width, Status::invalid_shape,
                  "SupernetTrainer: images of %dx%d; the space's resolutions are square (conform the data first)",
                  train.height, train.width);
    EDGENAS_CHECK(train.channels == net_.space().in_channels, Status::invalid_shape,
                  "SupernetTrainer: images have %d channels, the space expects %d", train.channels, net_.space().in_channels);
    EDGENAS_CHECK(loader_.batches(true) > 0, Status::invalid_argument,
                  "SupernetTrainer: %zu training images make no full batch of %d",
                  config_.images > 0 ? std::min(config_.images, train.size()) : train.size(), config_.batch_size);
    EDGENAS_CHECK(config_.epochs >= 1 && config_.random_subnets >= 0, Status::invalid_argument,
                  "SupernetTrainer: %d epochs, %d random sub-networks per step", config_.epochs, config_.random_subnets);
    if (config_.teacher) {
      const Genotype& t = config_.teacher->genotype();
      EDGENAS_CHECK(t.input.c == net_.space().in_channels && t.head.classes == net_.space().head.classes,
                    Status::invalid_shape,
                    "SupernetTrainer: the teacher takes %d channels into %d classes, the space %d channels into %d",
                    t.input.c, t.head.classes, net_.space().in_channels, net_.space().head.classes);
    }
    const int workers = config_.collective ? config_.collective->workers() : 1;
    EDGENAS_CHECK(config_.shards >= 1 && config_.shards % workers == 0, Status::invalid_argument,
                  "SupernetTrainer: %d shards per step cannot be spread evenly over %d workers (use a multiple of %d)",
                  config_.shards, workers, workers);
    EDGENAS_CHECK(config_.batch_size % config_.shards == 0, Status::invalid_argument,
                  "SupernetTrainer: a batch of %d images does not split into %d equal shards", config_.batch_size,
                  config_.shards);
    const auto steps = static_cast<std::int64_t>(loader_.batches(true));
    schedule_ = {config_.lr, config_.final_lr, static_cast<std::int64_t>(config_.warmup_epochs * steps), steps * config_.epochs};
  }

  int epochs_done() const noexcept { return epochs_done_; }
  bool finished() const noexcept { return epochs_done_ >= config_.epochs; }

  /// Every sub-network's activations from now on live in `a` (shared with other users that run
  /// before or after, never interleaved).
  void share_activations(std::shared_ptr<Activations> a) {
    activations_ = std::move(a);
    for (auto& [g, net] : cache_) net->share_activations(activations_);
  }

  /// Progressive shrinking's phase at a step: each phase gets a quarter of all steps, counted
  /// in steps rather than epochs so that a run of fewer than 4 epochs still reaches every phase.
  ShrinkPhase phase(int epoch, std::size_t step = 0) const noexcept {
    if (!config_.progressive_shrinking) return ShrinkPhase::expand;
    const auto per_epoch = static_cast<std::int64_t>(loader_.batches(true));
    const std::int64_t at = epoch * per_epoch + static_cast<std::int64_t>(step), total = config_.epochs * per_epoch;
    return static_cast<ShrinkPhase>(std::min<std::int64_t>(3, at * 4 / total));
  }

  /// The sub-networks trained at a step: largest first, then the smallest and random ones.
  std::vector<Choices> sandwich(int epoch, std::size_t step) const {
    const ShrinkPhase p = phase(epoch, step);
    const Choices largest = net_.largest();
    std::vector<Choices> subnets{largest};
    if (p == ShrinkPhase::full) return subnets;
    subnets.push_back(restrict_to_phase(net_.smallest(), largest, p));
    Rng rng = Rng(config_.seed).fork(0x5a4d00000000ull + static_cast<std::uint64_t>(epoch) * 1000003u + step);
    for (int i = 0; i < config_.random_subnets; ++i)
      subnets.push_back(restrict_to_phase(config_.sample ? config_.sample(rng) : net_.space().random_choices(rng), largest, p));
    return subnets;
  }

  SupernetEpochStats train_epoch(const Progress& progress = {}) {
    const auto start = std::chrono::steady_clock::now();
    const int epoch = epochs_done_;
    SupernetEpochStats stats;
    stats.epoch = epoch + 1;
    const std::size_t batches = loader_.batches(true);
    stats.phase = phase(epoch, batches - 1);  // the phase the epoch ends in
    // Narrower sub-networks keep the most important channels (the largest is unaffected): at
    // the start of every epoch once widths are elastic, and where the expand phase begins.
    if (epoch > 0 && phase(epoch) == ShrinkPhase::expand) net_.sort_expanded_channels(&optimizer_);
    const auto order = loader_.order(config_.seed, epoch, true);
    StepTotals totals;
    for (std::size_t b = 0; b < batches; ++b) {
      if (b > 0 && phase(epoch, b) == ShrinkPhase::expand && phase(epoch, b - 1) != ShrinkPhase::expand)
        net_.sort_expanded_channels(&optimizer_);
      const std::vector<Choices> subnets = sandwich(epoch, b);
      const StepTotals step = config_.shards == 1 && !distributed() ? run_shard(subnets, order, b, 0)
                                                                     : run_shards(subnets, order, b);
      optimizer_.step(schedule_(optimizer_.steps()));
      totals += step;
      if (progress) progress(b + 1, batches, step.loss / config_.shards);
    }
    stats.loss = totals.loss / config_.shards;
    stats.accuracy = totals.correct / std::max(1.0, totals.seen);
    stats.distill_loss = totals.distill_loss / std::max(1.0, totals.distilled);
    ++epochs_done_;
    if (!config_.checkpoint.empty()) save(config_.checkpoint);
    stats.loss /= static_cast<double>(batches);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
  }

  void save(const std::string& path) { save_training_state(path, state(), epochs_done_); }
  /// Continues from a checkpoint written by this configuration (same space and optimizer).
  void resume(const std::string& path) { epochs_done_ = load_training_state(path, state(), "space"); }

  /// Worker 0's weights, optimizer state and progress on every worker (after worker 0 alone
  /// resumed from a checkpoint: the others need not see its file system).
  void synchronize() {
    if (!distributed()) return;
    const TrainingState st = state();
    std::string bytes;
    if (config_.collective->worker() == 0) {
      const std::int64_t head[2] = {epochs_done_, optimizer_.steps()};
      bytes.append(reinterpret_cast<const char*>(head), sizeof head);
      for (const auto& t : st.tensors)
        bytes.append(reinterpret_cast<const char*>(t.values->data()), t.values->size() * sizeof(float));
    }
    config_.collective->broadcast(bytes);
    std::int64_t head[2];
    std::size_t expected = sizeof head;
    for (const auto& t : st.tensors) expected += t.values->size() * sizeof(float);
    EDGENAS_CHECK(bytes.size() == expected, Status::corrupt_data,
                  "SupernetTrainer: worker 0 sent %zu bytes of training state, this supernet holds %zu", bytes.size(),
                  expected);
    std::memcpy(head, bytes.data(), sizeof head);
    std::size_t at = sizeof head;
    for (const auto& t : st.tensors) {
      std::memcpy(t.values->data(), bytes.data() + at, t.values->size() * sizeof(float));
      at += t.values->size() * sizeof(float);
    }
    epochs_done_ = static_cast<int>(head[0]);
    optimizer_.set_steps(head[1]);
  }

 private:
  // What a step (or an epoch: the sum of its steps) adds up; losses are sums of shard means.
  struct StepTotals {
    double loss = 0, correct = 0, seen = 0, distill_loss = 0, distilled = 0;
    StepTotals& operator+=(const StepTotals& o) {
      loss += o.loss, correct += o.correct, seen += o.seen, distill_loss += o.distill_loss, distilled += o.distilled;
      return *this;
    }
  };

  bool distributed() const { return config_.collective && config_.collective->workers() > 1; }

  // The sandwich on shard `shard` of batch `b`: the supernet's gradients zeroed, then the
  // sub-networks' gradients added into them.
  StepTotals run_shard(const std::vector<Choices>& subnets, const std::vector<std::size_t>& order, std::size_t b,
                       int shard) {
    const int epoch = epochs_done_;
    loader_.fill(order, b, config_.augmentation, config_.seed, epoch, images_, labels_, shard, config_.shards);
    ++fills_;
    net_.zero_grad();
    StepTotals t;
    if (config_.teacher)
      keep_as_teacher(config_.teacher->forward(at_resolution(config_.teacher->genotype().input.h), false));
    for (std::size_t i = 0; i < subnets.size(); ++i) {
      Network& net = network_for(subnets[i]);
      net_.extract(subnets[i], net);
      net.zero_grad();
      const ConstTensorView logits = net.forward(at_resolution(net.genotype().input.h), true);
      check_finite(logits, epoch, b);
      if (dlogits_.shape() != logits.shape()) dlogits_.resize(logits.shape());
      if (i == 0) {
        t.loss = ops::softmax_cross_entropy(logits, labels_, config_.label_smoothing, dlogits_);
        if (!config_.teacher) keep_as_teacher(logits);
        predictions_.clear();
        predicted_classes(logits, predictions_);
        for (std::size_t k = 0; k < labels_.size(); ++k) t.correct += predictions_[k] == labels_[k];
        t.seen += static_cast<double>(labels_.size());
      } else {
        t.distill_loss += distillation_loss(logits, teacher_, config_.distill_temperature, dlogits_);
        ++t.distilled;
      }
      net.backward(dlogits_);
      net_.accumulate_gradients(subnets[i], net);
    }
    return t;
  }

  void keep_as_teacher(ConstTensorView logits) {
    if (teacher_.shape() != logits.shape()) teacher_.resize(logits.shape());
    std::copy_n(logits.data(), logits.size(), teacher_.data());
  }

  // This worker's shards one after the other, each gradient kept apart; then the sum over every
  // worker's shards in shard order, averaged, becomes the supernet's gradient.
  StepTotals run_shards(const std::vector<Choices>& subnets, const std::vector<std::size_t>& order, std::size_t b) {
    const std::vector<Parameter*> params = net_.parameters();
    std::size_t size = 0;
    for (const Parameter* p : params) size += p->size();
    const int workers = distributed() ? config_.collective->workers() : 1;
    const int local = config_.shards / workers, first = distributed() ? config_.collective->worker() * local : 0;
    shard_grads_.resize(static_cast<std::size_t>(local));
    total_grad_.resize(size);
    StepTotals t;
    for (int k = 0; k < local; ++k) {
      t += run_shard(subnets, order, b, first + k);
      std::vector<float>& g = shard_grads_[static_cast<std::size_t>(k)];
      g.resize(size);
      float* out = g.data();
      for (const Parameter* p : params) out = std::copy(p->grad.begin(), p->grad.end(), out);
    }
    std::vector<std::span<const float>> mine(shard_grads_.begin(), shard_grads_.end());
    if (distributed()) {
      config_.collective->sum_in_order(mine, total_grad_);
      const double local_totals[5] = {t.loss, t.correct, t.seen, t.distill_loss, t.distilled};
      const std::vector<double> all = config_.collective->gather(local_totals);
      t = {};
      for (std::size_t w = 0; w + 5 <= all.size(); w += 5) t += StepTotals{all[w], all[w + 1], all[w + 2], all[w + 3], all[w + 4]};
    } else {
      sum_shards_in_order(mine, total_grad_);
    }
    const float mean = 1.0f / static_cast<float>(config_.shards);
    std::size_t at = 0;
    for (Parameter* p : params)
      for (float& g : p->grad) g = total_grad_[at++] * mean;
    return t;
  }

  TrainingState state() {
    const auto params = net_.parameters();
    return {net_.identity(), &optimizer_, detail::model_state(params, {}, optimizer_)};
  }

  /// The largest and smallest networks are built once (they run every step); the random ones
  /// are built fresh, at most two kept alive. All share one activation workspace, so memory is
  /// that of the largest network's step, not of the four networks alive.
  Network& network_for(const Choices& c) {
    Genotype g = net_.space().decode(c);
    if (auto it = cache_.find(g); it != cache_.end()) return *it->second;
    if (cache_.size() >= 4)
      for (auto i = cache_.begin(); i != cache_.end();)
        i = i->first == largest_ || i->first == smallest_ ? std::next(i) : cache_.erase(i);
    auto net = std::make_unique<Network>(g);
    net->share_activations(activations_);
    return *cache_.emplace(std::move(g), std::move(net)).first->second;
  }

  // Elastic resolution (Once-for-All): the batch resized to the sub-network's resolution, once
  // per filled batch (or shard) and resolution (bilinear, data/resize.hpp).
  const Tensor& at_resolution(int r) {
    if (r == images_.shape().h) return images_;
    Resized& x = resized_[r];
    if (x.fill != fills_) {
      data::resize_batch(images_, r, r, x.images);
      x.fill = fills_;
    }
    return x.images;
  }

  void check_finite(ConstTensorView logits, int epoch, std::size_t batch) const {
    check_finite_logits(logits, "supernet training", epoch, batch, schedule_(optimizer_.steps()));
  }

  Supernet& net_;
  SupernetConfig config_;
  data::BatchLoader loader_;
  Optimizer optimizer_;
  CosineSchedule schedule_;
  int epochs_done_ = 0;
  const Genotype largest_ = net_.space().decode(net_.largest()), smallest_ = net_.space().decode(net_.smallest());
  std::unordered_map<Genotype, std::unique_ptr<Network>, GenotypeHash> cache_;
  std::shared_ptr<Activations> activations_ = std::make_shared<Activations>();
  Tensor images_, dlogits_, teacher_;
  std::vector<std::int32_t> labels_;
  std::vector<std::int32_t> predictions_;
  std::uint64_t fills_ = 0;  // batches (or shards) loaded so far
  std::vector<std::vector<float>> shard_grads_;  // this worker's shards' gradients, flat
  std::vector<float> total_grad_;
  struct Resized {
    Tensor images;
    std::uint64_t fill = 0;  // of images_ it was made from (0: none yet)
  };
  std::unordered_map<int, Resized> resized_;
};

struct SubnetEvalConfig {
  std::size_t calibration_images = 2000;  // training images for the batch-norm recalibration
  int batch_size = 250;
};

/// Validation accuracy of sub-networks: weights from the supernet, batch-norm statistics
/// recalibrated on a fixed set of training images, then eval mode on the validation split.
class SubnetEvaluator {
 public:
  SubnetEvaluator(const Supernet& supernet, const data::Dataset& train, const data::Dataset& validation,
                  data::Normalization norm, SubnetEvalConfig config = {})
      : net_(supernet), calibration_(data::head(train, config.calibration_images)), validation_(validation),
        norm_(std::move(norm)), config_(config) {
    EDGENAS_CHECK(validation.size() > 0, Status::invalid_argument, "SubnetEvaluator: empty validation set");
    EDGENAS_CHECK(calibration_.size() >= 2, Status::invalid_argument,
                  "SubnetEvaluator: batch-norm recalibration needs at least 2 training images, got %zu",
                  calibration_.size());
    // Fewer calibration images than a batch: one batch of all of them.
    config_.batch_size = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(config_.batch_size), calibration_.size()));
  }

  /// The sub-network as a trainable Network, with recalibrated statistics.
  std::unique_ptr<Network> network(const Choices& c) const { return network(c, net_.space().decode(c)); }
  /// The same, for choices already decoded (g == space().decode(c)).
  std::unique_ptr<Network> network(const Choices& c, const Genotype& g) const {
    auto net = std::make_unique<Network>(g);
    net->share_activations(activations_);
    net_.extract(c, *net);
    const data::Dataset& calibration = sets(g.input.h).first;
    recalibrate_batch_norm(*net, calibration, norm_, config_.batch_size,
                           calibration.size() / static_cast<std::size_t>(config_.batch_size));
    return net;
  }

  /// Networks built from now on keep their activations in `a`.
  void share_activations(std::shared_ptr<Activations> a) { activations_ = std::move(a); }

  double accuracy(const Choices& c) const { return accuracy(c, net_.space().decode(c)); }
  double accuracy(const Choices& c, const Genotype& g) const { return stats(c, g).accuracy; }
  /// Validation loss and accuracy (the loss: a finer-grained signal than the accuracy).
  EvalStats stats(const Choices& c, const Genotype& g) const {
    auto net = network(c, g);
    return evaluate(*net, sets(g.input.h).second, norm_, config_.batch_size);
  }

 private:
  // The calibration and validation images at resolution r: as given, or resized once (elastic
  // resolution) with the same bilinear filter as the supernet's batches.
  std::pair<const data::Dataset&, const data::Dataset&> sets(int r) const {
    if (r == validation_.height && r == validation_.width) return {calibration_, validation_};
    auto it = resized_.find(r);
    if (it == resized_.end())
      it = resized_
               .emplace(r, std::pair{data::conform(calibration_, r, r, calibration_.channels),
                                     data::conform(validation_, r, r, validation_.channels)})
               .first;
    return {it->second.first, it->second.second};
  }

  const Supernet& net_;
  data::Dataset calibration_;
  const data::Dataset& validation_;
  data::Normalization norm_;
  SubnetEvalConfig config_;
  std::shared_ptr<Activations> activations_ = std::make_shared<Activations>();  // one for every candidate
  mutable std::unordered_map<int, std::pair<data::Dataset, data::Dataset>> resized_;
};

}  // namespace edgenas::train
