// edgenas/ops/loss.hpp — softmax cross-entropy with optional label smoothing.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include "edgenas/core/tensor.hpp"

namespace edgenas::ops {

/// Mean softmax cross-entropy of logits [N, K] (any N×H×W×C with H·W·C = K) against integer
/// labels in [0, K). With smoothing ε the target is (1−ε)·onehot + ε/K. If dlogits has data it
/// receives dLoss/dlogits = (softmax − target) / N. Logits must be finite.
inline double softmax_cross_entropy(ConstTensorView logits, std::span<const std::int32_t> labels,
                                    float label_smoothing, TensorView dlogits) {
  const int N = logits.shape().n;
  const auto K = static_cast<int>(logits.shape().per_image());
  EDGENAS_CHECK(labels.size() == static_cast<std::size_t>(N), Status::invalid_shape,
                "softmax_cross_entropy: %d rows of logits but %zu labels", N, labels.size());
  EDGENAS_CHECK(label_smoothing >= 0.0f && label_smoothing < 1.0f, Status::invalid_argument,
                "softmax_cross_entropy: label smoothing %g outside [0, 1)", double{label_smoothing});
  EDGENAS_CHECK(!dlogits.data() || dlogits.size() == logits.size(), Status::invalid_shape,
                "softmax_cross_entropy: gradient has %lld values, logits %lld",
                static_cast<long long>(dlogits.size()), static_cast<long long>(logits.size()));
  const double off = double{label_smoothing} / K;
  const double on = 1.0 - label_smoothing + off;
  double total = 0.0;
  for (int n = 0; n < N; ++n) {
    const std::int32_t label = labels[static_cast<std::size_t>(n)];
    EDGENAS_CHECK(label >= 0 && label < K, Status::invalid_argument,
                  "softmax_cross_entropy: label %d of sample %d outside [0, %d)", label, n, K);
    const float* z = logits.data() + std::int64_t{n} * K;
    double max = z[0];
    for (int k = 1; k < K; ++k) max = std::max(max, double{z[k]});
    double sum = 0.0;
    for (int k = 0; k < K; ++k) sum += std::exp(z[k] - max);
    const double log_sum = max + std::log(sum);  // NaN anywhere in the row propagates here
    EDGENAS_CHECK(std::isfinite(log_sum), Status::numerical_error,
                  "softmax_cross_entropy: sample %d has a non-finite logit (NaN or infinity)", n);
    for (int k = 0; k < K; ++k) {
      const double target = k == label ? on : off;
      total -= target * (z[k] - log_sum);
      if (dlogits.data())
        dlogits.data()[std::int64_t{n} * K + k] = static_cast<float>((std::exp(z[k] - log_sum) - target) / N);
    }
  }
  return total / N;
}

}  // namespace edgenas::ops
