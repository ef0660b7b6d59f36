// edgenas/core/tensor.hpp — NHWC views over caller memory, and an owning aligned tensor.
//
// Views never copy: matrix() and array() are Eigen::Map objects over the same floats, so
// kernels can use Eigen expressions (GEMM, vectorised elementwise ops) on any view.
#pragma once

#include <Eigen/Core>
#include <cstring>
#include <type_traits>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/core/shape.hpp"

namespace edgenas {

template <typename Scalar>
using RowMajorMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A non-owning NHWC view. `T` is `float` (mutable) or `const float` (read-only).
template <typename T>
class BasicTensorView {
  using Value = std::remove_const_t<T>;
  using MatrixMap = Eigen::Map<std::conditional_t<std::is_const_v<T>, const RowMajorMatrix<Value>,
                                                  RowMajorMatrix<Value>>>;
  using ArrayMap = Eigen::Map<std::conditional_t<std::is_const_v<T>,
                                                 const Eigen::Array<Value, Eigen::Dynamic, 1>,
                                                 Eigen::Array<Value, Eigen::Dynamic, 1>>>;

 public:
  constexpr BasicTensorView() = default;
  constexpr BasicTensorView(T* data, Shape shape) noexcept : data_(data), shape_(shape) {}
  /// A mutable view converts to a read-only one.
  template <typename U>
    requires(std::is_const_v<T> && std::is_same_v<U, Value>)
  constexpr BasicTensorView(BasicTensorView<U> other) noexcept  // NOLINT(implicit)
      : data_(other.data()), shape_(other.shape()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr Shape shape() const noexcept { return shape_; }
  constexpr std::int64_t size() const noexcept { return shape_.size(); }

  T& operator()(int n, int h, int w, int c) const noexcept {
    return data_[((std::int64_t{n} * shape_.h + h) * shape_.w + w) * shape_.c + c];
  }

  /// Images [first, first + count) as a view with batch `count`.
  BasicTensorView images(int first, int count) const noexcept {
    return {data_ + std::int64_t{first} * shape_.per_image(), shape_.with_batch(count)};
  }

  /// (N·H·W) × C row-major matrix over the same memory.
  MatrixMap matrix() const noexcept { return MatrixMap(data_, shape_.rows(), shape_.c); }
  /// All elements as one flat Eigen array.
  ArrayMap array() const noexcept { return ArrayMap(data_, shape_.size()); }

 private:
  T* data_ = nullptr;
  Shape shape_{};
};

using TensorView = BasicTensorView<float>;
using ConstTensorView = BasicTensorView<const float>;

/// Owning NHWC tensor with 16-byte aligned, zero-initialised storage.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape) { resize(shape); }

  /// Changes the shape; storage is zeroed.
  void resize(Shape shape) {
    EDGENAS_CHECK(shape.valid(), Status::invalid_shape, "Tensor: invalid shape %dx%dx%dx%d", shape.n,
                  shape.h, shape.w, shape.c);
    shape_ = shape;
    storage_.assign(static_cast<std::size_t>(shape.size()), 0.0f);
  }
  /// Changes the shape, keeping the allocation when it is large enough (values unspecified:
  /// a buffer about to be overwritten, e.g. a layer output when the batch size changes).
  void reshape(Shape shape) {
    EDGENAS_CHECK(shape.valid(), Status::invalid_shape, "Tensor: invalid shape %dx%dx%dx%d", shape.n, shape.h, shape.w,
                  shape.c);
    shape_ = shape;
    storage_.resize(static_cast<std::size_t>(shape.size()));
  }
  void set_zero() noexcept { std::fill(storage_.begin(), storage_.end(), 0.0f); }

  float* data() noexcept { return storage_.data(); }
  const float* data() const noexcept { return storage_.data(); }
  Shape shape() const noexcept { return shape_; }
  std::int64_t size() const noexcept { return shape_.size(); }
  bool empty() const noexcept { return storage_.empty(); }

  TensorView view() noexcept { return {data(), shape_}; }
  ConstTensorView view() const noexcept { return {data(), shape_}; }
  operator TensorView() noexcept { return view(); }             // NOLINT(implicit)
  operator ConstTensorView() const noexcept { return view(); }  // NOLINT(implicit)

  float& operator()(int n, int h, int w, int c) noexcept { return view()(n, h, w, c); }
  float operator()(int n, int h, int w, int c) const noexcept { return view()(n, h, w, c); }
  float& operator[](std::int64_t i) noexcept { return storage_[static_cast<std::size_t>(i)]; }
  float operator[](std::int64_t i) const noexcept { return storage_[static_cast<std::size_t>(i)]; }

 private:
  Shape shape_{0, 0, 0, 0};
  std::vector<float, Eigen::aligned_allocator<float>> storage_;
};

}  // namespace edgenas
