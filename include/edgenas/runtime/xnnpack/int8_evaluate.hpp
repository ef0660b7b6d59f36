// edgenas/runtime/xnnpack/int8_evaluate.hpp — int8 networks on a data set: the images a
// calibration uses, and test accuracy through the XNNPACK int8 runtime.
#pragma once

#include <vector>

#include "edgenas/data/loader.hpp"
#include "edgenas/runtime/xnnpack/int8_runtime.hpp"

namespace edgenas::xnnpack {

/// The first `count` images of `data` (all if fewer), normalised, one after another.
inline std::vector<float> normalized_images(const data::Dataset& data, const data::Normalization& norm, std::size_t count) {
  count = std::min(count, data.size());
  EDGENAS_CHECK(count >= 1, Status::invalid_argument, "normalized_images: the data set is empty");
  data::BatchLoader loader(data, static_cast<int>(count), norm, count);
  Tensor images;
  std::vector<std::int32_t> labels;
  loader.fill(loader.order(0, 0, false), 0, data::Augmentation::none(), 0, 0, images, labels);
  return {images.data(), images.data() + images.size()};
}

/// Fraction of `data` an int8 network classifies correctly (XNNPACK, `threads` threads).
inline double int8_accuracy(const quant::QuantizedModel& model, const data::Dataset& data,
                            const data::Normalization& norm, int threads = 1, int batch = 100) {
  data::BatchLoader loader(data, batch, norm);
  const auto order = loader.order(0, 0, false);
  std::unique_ptr<Int8Runtime> full, last;
  Tensor images;
  std::vector<std::int32_t> labels;
  std::size_t correct = 0;
  for (std::size_t b = 0; b < loader.batches(false); ++b) {
    loader.fill(order, b, data::Augmentation::none(), 0, 0, images, labels);
    const int n = images.shape().n;
    auto& runtime = n == batch ? full : last;  // the final batch may be smaller
    if (!runtime) runtime = std::make_unique<Int8Runtime>(model, threads, n);
    runtime->run({images.data(), static_cast<std::size_t>(images.size())});
    for (int i = 0; i < n; ++i) correct += runtime->predicted_class(i) == labels[static_cast<std::size_t>(i)];
  }
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

}  // namespace edgenas::xnnpack
