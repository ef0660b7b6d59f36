// The networks the deploy checks export: a float one and its post-training int8 quantization,
// from fixed seeds, so the writer and the program that checks the int8 header against the
// integer reference build the same model.
#pragma once

#include <edgenas/core/rng.hpp>
#include <edgenas/export/model_file.hpp>
#include <edgenas/quant/calibrate.hpp>
#include <edgenas/zoo.hpp>

namespace deployed_models {

inline edgenas::Model model() {
  edgenas::Model m;
  m.genotype = edgenas::genotype_of<edgenas::zoo::FashionReference>();  // SE, h-swish, residuals
  edgenas::Rng rng(1);
  m.weights.resize(static_cast<std::size_t>(edgenas::inference_weight_count(m.genotype.view())));
  for (float& w : m.weights) w = rng.uniform(-0.3f, 0.3f);
  m.input_mean = {0.29f};
  m.input_stddev = {0.35f};
  std::vector<float> calibration(static_cast<std::size_t>(16 * m.genotype.input.per_image()));
  for (float& x : calibration) x = rng.uniform(-1.0f, 2.0f);
  m.int8 = edgenas::quant::quantize_post_training(m.genotype, m.weights, calibration, 16);
  m.int8->input_mean = m.input_mean;
  m.int8->input_stddev = m.input_stddev;
  return m;
}

}  // namespace deployed_models
