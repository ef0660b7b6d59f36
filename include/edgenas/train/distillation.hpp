// edgenas/train/distillation.hpp — knowledge distillation from a teacher's logits.
#pragma once

#include <cmath>
#include <vector>

#include "edgenas/core/tensor.hpp"

namespace edgenas::train {

/// Hinton et al.'s soft-target loss: T² · KL(softmax(teacher/T) ‖ softmax(student/T)), averaged
/// over the batch. If dstudent has data it receives the gradient w.r.t. the student's logits,
/// T · (softmax(student/T) − softmax(teacher/T)) / N. (The supernet's in-place distillation
/// uses the largest sub-network as the teacher.)
inline double distillation_loss(ConstTensorView student, ConstTensorView teacher, float temperature,
                                TensorView dstudent) {
  EDGENAS_CHECK(student.size() == teacher.size() && student.shape().n == teacher.shape().n, Status::invalid_shape,
                "distillation_loss: student logits %lld and teacher logits %lld differ",
                static_cast<long long>(student.size()), static_cast<long long>(teacher.size()));
  EDGENAS_CHECK(temperature > 0.0f, Status::invalid_argument, "distillation_loss: temperature %g must be > 0",
                double{temperature});
  EDGENAS_CHECK(!dstudent.data() || dstudent.size() == student.size(), Status::invalid_shape,
                "distillation_loss: gradient size differs from the logits");
  const int N = student.shape().n;
  const auto K = static_cast<int>(student.shape().per_image());
  const double T = temperature;
  std::vector<double> p(static_cast<std::size_t>(K)), q(static_cast<std::size_t>(K));
  const auto softmax = [&](const float* z, std::vector<double>& out) {
    double max = z[0] / T;
    for (int k = 1; k < K; ++k) max = std::max(max, z[k] / T);
    double sum = 0.0;
    for (int k = 0; k < K; ++k) sum += (out[static_cast<std::size_t>(k)] = std::exp(z[k] / T - max));
    for (double& v : out) v /= sum;
    EDGENAS_CHECK(std::isfinite(sum), Status::numerical_error, "distillation_loss: non-finite logits");
  };
  double total = 0.0;
  for (int n = 0; n < N; ++n) {
    softmax(teacher.data() + std::int64_t{n} * K, p);
    softmax(student.data() + std::int64_t{n} * K, q);
    for (std::size_t k = 0; k < static_cast<std::size_t>(K); ++k) {
      if (p[k] > 0.0) total += p[k] * (std::log(p[k]) - std::log(std::max(q[k], 1e-300)));
      if (dstudent.data()) dstudent.data()[std::int64_t{n} * K + static_cast<std::int64_t>(k)] = static_cast<float>(T * (q[k] - p[k]) / N);
    }
  }
  return T * T * total / N;
}

}  // namespace edgenas::train
