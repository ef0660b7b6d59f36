// edgenas/train/workspace.hpp — one stack of activation memory shared by the networks that
// train or evaluate one after another.
//
// A training step needs its activations only from its forward to the end of its backward, and
// the supernet trains its sub-networks strictly one after another; so they can all live in one
// buffer that is reset at every forward. Memory is then the largest single network's need,
// not the sum over every network alive (the supernet keeps four; see docs/search.md#memory).
//
// take() hands out 64-byte aligned views (the alignment Eigen's allocator gives on AVX-512, so
// kernels see the same alignment and compute the same bits as with owned tensors). Views stay
// valid until reset() or a release() below them. When a request does not fit, a new chunk is
// added (existing views never move); the next reset() merges the chunks into one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#include "edgenas/core/tensor.hpp"

namespace edgenas::train {

class Workspace {
 public:
  /// A position of the stack, to release() back to.
  struct Mark {
    std::size_t chunk = 0, offset = 0, live = 0;
  };

  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  /// An uninitialised tensor of `shape`, valid until reset() or a release() to a mark before it.
  TensorView take(Shape shape) {
    EDGENAS_CHECK(shape.valid(), Status::invalid_shape, "Workspace: invalid shape %dx%dx%dx%d", shape.n, shape.h, shape.w,
                  shape.c);
    const std::size_t n = round_up(static_cast<std::size_t>(shape.size()));
    while (chunk_ < chunks_.size() && offset_ + n > chunks_[chunk_].floats) ++chunk_, offset_ = 0;
    if (chunk_ == chunks_.size()) {
      // Grow geometrically within one pass (untouched memory is not resident); reset() then
      // keeps one chunk of exactly the most used.
      chunks_.push_back(Chunk::make(std::max(n, capacity_floats())));
      offset_ = 0;
    }
    float* p = chunks_[chunk_].data.get() + offset_;
    offset_ += n;
    live_ += n;
    used_ = std::max(used_, live_);
    return {p, shape};
  }

  Mark mark() const noexcept { return {chunk_, offset_, live_}; }
  /// Frees everything taken after `m` (a stack: later marks are invalid afterwards).
  void release(Mark m) noexcept { chunk_ = m.chunk, offset_ = m.offset, live_ = m.live; }

  /// Makes room for `bytes` in one chunk now (when nothing is taken), so that passes up to that
  /// size never add a chunk: what a caller that knows its largest pass (the search's memory
  /// plan) does once, instead of growing while a pass runs.
  void reserve(std::size_t bytes) {
    const std::size_t floats = round_up((bytes + sizeof(float) - 1) / sizeof(float));
    if (live_ != 0 || (chunks_.size() == 1 && chunks_[0].floats >= floats)) return;
    chunks_.clear();
    chunks_.push_back(Chunk::make(std::max(floats, used_)));
    chunk_ = 0, offset_ = 0;
  }

  /// Frees everything. Several chunks become one of the most ever in use, so the next round of
  /// the same requests takes one contiguous block.
  void reset() {
    chunk_ = 0, offset_ = 0, live_ = 0;
    if (chunks_.size() > 1) {
      chunks_.clear();
      chunks_.push_back(Chunk::make(used_));
    }
  }

  /// Bytes reserved now, and the most that was in use at once.
  std::size_t capacity_bytes() const noexcept { return capacity_floats() * sizeof(float); }
  std::size_t high_water_bytes() const noexcept { return used_ * sizeof(float); }

 private:
  static constexpr std::size_t alignment = 64;
  static constexpr std::size_t lane = alignment / sizeof(float);
  static std::size_t round_up(std::size_t floats) { return (floats + lane - 1) / lane * lane; }

  struct AlignedDelete {
    void operator()(float* p) const noexcept { ::operator delete[](p, std::align_val_t{alignment}); }
  };
  struct Chunk {
    std::unique_ptr<float[], AlignedDelete> data;
    std::size_t floats = 0;
    static Chunk make(std::size_t floats) {
      // Not value-initialised: pages are touched (and count as resident) only once used.
      float* p = static_cast<float*>(::operator new[](floats * sizeof(float), std::align_val_t{alignment}));
      return {std::unique_ptr<float[], AlignedDelete>(p), floats};
    }
  };

  std::size_t capacity_floats() const noexcept {
    std::size_t n = 0;
    for (const Chunk& c : chunks_) n += c.floats;
    return n;
  }

  std::vector<Chunk> chunks_;
  std::size_t chunk_ = 0, offset_ = 0;
  std::size_t live_ = 0, used_ = 0;  // floats taken now, and the most ever (as one contiguous stack)
};

}  // namespace edgenas::train
