// Data-parallel supernet training: shards summed in shard order give the same weights, bit for
// bit, whether one process runs every shard or several workers share them (threads here; MPI
// processes in tests/cli/mpi_search.sh), and whether worker 0 alone resumed a checkpoint.
#include <barrier>
#include <catch2/catch.hpp>
#include <edgenas/data.hpp>
#include <edgenas/train/supernet_trainer.hpp>
#include <thread>

#include "../support/temp_dir.hpp"
#include "../support/tiny_supernet.hpp"

using namespace edgenas;

namespace {

// Workers that are threads of this process: each operation meets at a barrier, reads what the
// others left, and meets again before anyone overwrites it.
class Loopback {
 public:
  explicit Loopback(int workers)
      : workers_(workers), meet_(workers), shards_(static_cast<std::size_t>(workers)), values_(shards_.size()) {}

  class Worker final : public Collective {
   public:
    Worker(Loopback& l, int index) : l_(l), index_(index) {}
    int worker() const override { return index_; }
    int workers() const override { return l_.workers_; }
    void sum_in_order(std::span<const std::span<const float>> mine, std::span<float> total) override {
      auto& slot = l_.shards_[static_cast<std::size_t>(index_)];
      slot.assign(mine.begin(), mine.end());
      l_.meet_.arrive_and_wait();
      std::vector<std::span<const float>> all;
      for (const auto& s : l_.shards_) all.insert(all.end(), s.begin(), s.end());
      sum_shards_in_order(all, total);
      l_.meet_.arrive_and_wait();
    }
    std::vector<double> gather(std::span<const double> mine) override {
      l_.values_[static_cast<std::size_t>(index_)].assign(mine.begin(), mine.end());
      l_.meet_.arrive_and_wait();
      std::vector<double> all;
      for (const auto& v : l_.values_) all.insert(all.end(), v.begin(), v.end());
      l_.meet_.arrive_and_wait();
      return all;
    }
    void broadcast(std::string& bytes) override {
      if (index_ == 0) l_.bytes_ = bytes;
      l_.meet_.arrive_and_wait();
      bytes = l_.bytes_;
      l_.meet_.arrive_and_wait();
    }

   private:
    Loopback& l_;
    int index_;
  };

 private:
  int workers_;
  std::barrier<> meet_;
  std::vector<std::vector<std::span<const float>>> shards_;
  std::vector<std::vector<double>> values_;
  std::string bytes_;
};

train::SupernetConfig config(int shards) {
  train::SupernetConfig c;
  c.epochs = 2;
  c.batch_size = 16;
  c.lr = 0.05f;
  c.seed = 11;
  c.shards = shards;
  c.augmentation = {1, true};
  return c;
}

std::vector<std::vector<float>> weights(train::Supernet& s) {
  std::vector<std::vector<float>> w;
  for (const train::Parameter* p : s.parameters()) w.push_back(p->value);
  return w;
}

// `workers` threads, each with its own supernet (same seed), train `shards` shards per step.
std::vector<std::vector<std::vector<float>>> train_on_workers(int workers, int shards, const data::Dataset& d,
                                                              const std::string& resume_from = {}) {
  const auto norm = data::compute_normalization(d);
  Loopback loopback(workers);
  std::vector<std::vector<std::vector<float>>> result(static_cast<std::size_t>(workers));
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      try {
        Loopback::Worker me(loopback, w);
        train::Supernet net(test::tiny_space(), 4);
        auto c = config(shards);
        c.collective = &me;
        train::SupernetTrainer t(net, d, norm, c);
        if (w == 0 && !resume_from.empty()) t.resume(resume_from);
        t.synchronize();
        while (!t.finished()) t.train_epoch();
        result[static_cast<std::size_t>(w)] = weights(net);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(w)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) REQUIRE(e.empty());
  return result;
}

}  // namespace

TEST_CASE("data-parallel: shards summed in order train the same weights on 1 2 or 4 workers", "[supernet][parallel]") {
  set_num_threads(1);  // the workers are the threads
  const data::Dataset d = test::tiny_images(96, 3);
  const auto norm = data::compute_normalization(d);
  for (int shards : {2, 4}) {
    train::Supernet alone(test::tiny_space(), 4);
    train::SupernetTrainer t(alone, d, norm, config(shards));
    std::vector<train::SupernetEpochStats> stats;
    while (!t.finished()) stats.push_back(t.train_epoch());
    const auto reference = weights(alone);
    for (int workers = 2; workers <= shards; workers *= 2) {
      INFO(shards << " shards on " << workers << " workers");
      for (const auto& w : train_on_workers(workers, shards, d)) REQUIRE(w == reference);
    }
    // Shards change the step (batch norm per shard) and still train: the loss falls.
    CHECK(stats.back().loss < stats.front().loss);
  }
  // One shard is the undivided step of before: the same weights as a trainer told nothing.
  train::Supernet a(test::tiny_space(), 4), b(test::tiny_space(), 4);
  auto plain = config(1);
  plain.shards = 1;
  train::SupernetTrainer ta(a, d, norm, plain), tb(b, d, norm, config(1));
  ta.train_epoch();
  tb.train_epoch();
  CHECK(weights(a) == weights(b));
}

TEST_CASE("data-parallel: worker 0 resumes a checkpoint and the others receive its state", "[supernet][parallel]") {
  set_num_threads(1);
  test::TempDir dir("data-parallel");
  const data::Dataset d = test::tiny_images(96, 5);
  const auto norm = data::compute_normalization(d);
  train::Supernet straight(test::tiny_space(), 4), first(test::tiny_space(), 4);
  {
    train::SupernetTrainer t(straight, d, norm, config(2));
    while (!t.finished()) t.train_epoch();
  }
  auto c = config(2);
  c.checkpoint = dir.file("one-epoch.ckpt");
  train::SupernetTrainer(first, d, norm, c).train_epoch();
  for (const auto& w : train_on_workers(2, 2, d, dir.file("one-epoch.ckpt"))) REQUIRE(w == weights(straight));
}

TEST_CASE("data-parallel: shards that do not divide the batch or the workers are refused", "[supernet][parallel]") {
  const data::Dataset d = test::tiny_images(64, 1);
  const auto norm = data::compute_normalization(d);
  train::Supernet net(test::tiny_space(), 1);
  auto c = config(3);
  CHECK_THROWS_WITH(train::SupernetTrainer(net, d, norm, c), Catch::Contains("does not split into 3 equal shards"));
  Loopback loopback(2);
  Loopback::Worker w(loopback, 0);
  c = config(1);
  c.collective = &w;
  CHECK_THROWS_WITH(train::SupernetTrainer(net, d, norm, c), Catch::Contains("cannot be spread evenly over 2 workers"));
}

TEST_CASE("data-parallel: sum_shards_in_order is the left-to-right sum", "[parallel]") {
  const std::vector<float> a{1e8f, 1.0f}, b{-1e8f, 2.0f}, c{1.0f, 3.0f};
  std::vector<float> total(2);
  const std::vector<std::span<const float>> shards{a, b, c};
  sum_shards_in_order(shards, total);
  CHECK(total[0] == (1e8f + -1e8f) + 1.0f);  // 1, where 1e8 + (-1e8 + 1) would be 0
  CHECK(total[1] == 6.0f);
}
