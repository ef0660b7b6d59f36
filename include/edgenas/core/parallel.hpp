// edgenas/core/parallel.hpp — a small persistent thread pool and parallel_for over a batch.
//
// Work is split into contiguous chunks, one per thread, in a fixed order; reductions sum the
// per-chunk partials in chunk order. So for a given thread count every result is bit-for-bit
// reproducible. Nested calls (from inside a chunk) run sequentially. Builds without threads
// (EDGENAS_NO_THREADS, or a libstdc++ without gthreads such as bare-metal newlib) run every
// parallel_for on the calling thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(EDGENAS_NO_THREADS) || (defined(__GLIBCXX__) && !defined(_GLIBCXX_HAS_GTHREADS))
#define EDGENAS_HAS_THREADS 0
#else
#define EDGENAS_HAS_THREADS 1
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#endif

#include "edgenas/core/error.hpp"

namespace edgenas {

/// The most threads any pool, runtime or command takes: far above the cores of the boards and
/// workstations edgenas targets, low enough that a typo (100000) is an error, not a hang.
inline constexpr int max_threads = 256;

#if EDGENAS_HAS_THREADS

namespace detail {
// A pause hint for spin loops (lets the sibling hyper-thread run, saves power).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield");
#endif
}
// Training runs hundreds of short parallel regions per step; waking a sleeping thread costs
// tens of microseconds each time, so both sides spin this many pauses before sleeping.
inline constexpr int spin_iterations = 20000;
}  // namespace detail

/// Persistent workers; `run(tasks, fn)` calls fn(i) for i in [0, tasks) with task 0 on the caller.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) : size_(std::max(1, threads)) {
    for (int worker = 1; worker < size_; ++worker) workers_.emplace_back([this, worker] { loop(worker); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const noexcept { return size_; }

  template <typename Fn>
  void run(int tasks, Fn&& fn) {
    tasks = std::min(tasks, size_);
    if (tasks <= 1 || in_task()) {
      for (int i = 0; i < tasks; ++i) fn(i);
      return;
    }
    std::lock_guard<std::mutex> serialise(run_mutex_);  // one parallel region at a time
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = [](void* ctx, int i) { (*static_cast<std::remove_reference_t<Fn>*>(ctx))(i); };
      context_ = const_cast<void*>(static_cast<const void*>(&fn));
      tasks_ = tasks;
      pending_.store(tasks - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    execute(0);
    for (int i = 0; i < detail::spin_iterations && pending_.load(std::memory_order_acquire) != 0; ++i)
      detail::cpu_relax();
    if (pending_.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
#if EDGENAS_HAS_EXCEPTIONS
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
#endif
  }

 private:
  static bool& in_task() noexcept {
    thread_local bool inside = false;
    return inside;
  }

  void execute(int i) {
    in_task() = true;
#if EDGENAS_HAS_EXCEPTIONS
    try {
      task_(context_, i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
#else
    task_(context_, i);
#endif
    in_task() = false;
  }

  void loop(int worker) {
    std::uint64_t seen = 0;
    for (;;) {
      for (int i = 0; i < detail::spin_iterations && generation_.load(std::memory_order_acquire) == seen &&
                      !stopping_.load(std::memory_order_relaxed);
           ++i)
        detail::cpu_relax();
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_.load() || generation_.load(std::memory_order_acquire) != seen; });
      }
      if (stopping_.load()) return;
      seen = generation_.load(std::memory_order_acquire);  // task_, context_, tasks_ were written before
      if (worker >= tasks_) continue;
      execute(worker);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);  // pairs with the caller's predicate check
        done_.notify_one();
      }
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  void (*task_)(void*, int) = nullptr;
  void* context_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
#if EDGENAS_HAS_EXCEPTIONS
  std::exception_ptr error_;
#endif
};

namespace detail {
struct PoolSlot {
  std::mutex mutex;
  std::unique_ptr<ThreadPool> pool;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
};
inline PoolSlot& pool_slot() {
  static PoolSlot slot;
  return slot;
}
inline ThreadPool& global_pool() {
  PoolSlot& slot = pool_slot();
  std::lock_guard<std::mutex> lock(slot.mutex);
  if (!slot.pool || slot.pool->size() != slot.threads) slot.pool = std::make_unique<ThreadPool>(slot.threads);
  return *slot.pool;
}
}  // namespace detail

/// Threads used by edgenas kernels (default: all hardware threads). Not for use mid-kernel.
inline void set_num_threads(int threads) {
  EDGENAS_CHECK(threads >= 1 && threads <= max_threads, Status::invalid_argument,
                "set_num_threads: %d threads requested, expected 1 to %d", threads, max_threads);
  std::lock_guard<std::mutex> lock(detail::pool_slot().mutex);
  detail::pool_slot().threads = threads;
}
inline int num_threads() {
  std::lock_guard<std::mutex> lock(detail::pool_slot().mutex);
  return detail::pool_slot().threads;
}

#else  // no threads

inline void set_num_threads(int threads) {
  EDGENAS_CHECK(threads == 1, Status::unsupported, "set_num_threads: this build has no threads (%d requested)",
                threads);
}
inline int num_threads() { return 1; }

#endif

/// Number of chunks parallel_for splits `count` items into (size reduction scratch with it).
inline int parallel_chunks(std::int64_t count) {
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(num_threads(), count)));
}

/// Calls fn(chunk, begin, end) over contiguous, ordered chunks of [0, count), in parallel.
template <typename Fn>
void parallel_for(std::int64_t count, Fn&& fn) {
  if (count <= 0) return;
  const int chunks = parallel_chunks(count);
  auto body = [&](int chunk) {
    const std::int64_t begin = count * chunk / chunks;
    const std::int64_t end = count * (chunk + 1) / chunks;
    fn(chunk, begin, end);
  };
#if EDGENAS_HAS_THREADS
  if (chunks > 1) {
    detail::global_pool().run(chunks, body);
    return;
  }
#endif
  for (int chunk = 0; chunk < chunks; ++chunk) body(chunk);
}

/// At least n floats of scratch for the calling thread, kept across calls (kernels call it per
/// chunk; no allocation once the buffer has grown). Each Tag type owns a separate buffer, so
/// two users never hand out the same memory.
template <typename Tag>
float* thread_scratch(std::size_t n) {
#if EDGENAS_HAS_THREADS
  static thread_local std::vector<float> buffer;
#else
  static std::vector<float> buffer;
#endif
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

}  // namespace edgenas
