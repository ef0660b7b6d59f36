// edgenas/export/model_file.hpp — a trained network for deployment: genotype + folded weights.
//
// File (little-endian): "ENASMODL", u32 format version, u32 0, u64 payload bytes, payload,
// u64 FNV-1a checksum of the payload. Payload: genotype text (u32 length + bytes), u64 weight
// count, float32 weights, u32 channel count + per-channel input mean and stddev (0: none),
// the weights in the layout runtime/reference/inference.hpp and the XNNPACK runtime
// read (batch norm folded). Written atomically; loading checks magic, version, length,
// checksum, that the genotype parses and validates, and that the weight count is exactly what
// the genotype needs — before returning anything.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "edgenas/core/atomic_file.hpp"
#include "edgenas/core/binary_file.hpp"
#include "edgenas/space/cost.hpp"
#include "edgenas/space/genotype.hpp"

namespace edgenas {

inline constexpr std::uint32_t model_file_version = 1;
inline constexpr std::string_view model_file_magic = "ENASMODL";

struct Model {
  Genotype genotype;
  std::vector<float> weights;  // inference (folded) layout
  // Input normalisation the weights were trained with: x = (pixel/255 − mean[c]) / stddev[c].
  // Empty: none recorded (the images are fed as they are).
  std::vector<float> input_mean, input_stddev;
};

namespace detail {
template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
}  // namespace detail

inline void save_model(const std::string& path, const Model& m) {
  validate(m.genotype);
  EDGENAS_CHECK(static_cast<std::int64_t>(m.weights.size()) == inference_weight_count(m.genotype.view()),
                Status::invalid_argument, "save_model: %zu weights, genotype needs %lld", m.weights.size(),
                static_cast<long long>(inference_weight_count(m.genotype.view())));
  std::string payload;
  const std::string text = to_string(m.genotype);
  detail::put(payload, static_cast<std::uint32_t>(text.size()));
  payload += text;
  detail::put(payload, static_cast<std::uint64_t>(m.weights.size()));
  payload.append(reinterpret_cast<const char*>(m.weights.data()), m.weights.size() * sizeof(float));
  EDGENAS_CHECK(m.input_mean.size() == m.input_stddev.size() &&
                    (m.input_mean.empty() || static_cast<int>(m.input_mean.size()) == m.genotype.input.c),
                Status::invalid_argument, "save_model: normalisation for %zu/%zu channels, the input has %d",
                m.input_mean.size(), m.input_stddev.size(), m.genotype.input.c);
  detail::put(payload, static_cast<std::uint32_t>(m.input_mean.size()));
  if (!m.input_mean.empty()) {
    payload.append(reinterpret_cast<const char*>(m.input_mean.data()), m.input_mean.size() * sizeof(float));
    payload.append(reinterpret_cast<const char*>(m.input_stddev.data()), m.input_stddev.size() * sizeof(float));
  }
  write_file_atomically(path, container_bytes(model_file_magic, model_file_version, payload));
}

inline Model load_model(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_binary_file(path, "model file");
  const Payload payload = checked_payload(path, bytes, model_file_magic, model_file_version, "model file");
  const std::uint8_t* p = payload.data;
  std::size_t left = payload.size;
  const auto need = [&](std::size_t n) {
    EDGENAS_CHECK(n <= left, Status::corrupt_data, "%s: payload ends early", path.c_str());
  };
  need(4);
  std::uint32_t text_bytes;
  std::memcpy(&text_bytes, p, 4);
  p += 4, left -= 4;
  need(text_bytes);
  Model m;
  m.genotype = parse_genotype(std::string(reinterpret_cast<const char*>(p), text_bytes));
  p += text_bytes, left -= text_bytes;
  need(8);
  std::uint64_t count;
  std::memcpy(&count, p, 8);
  p += 8, left -= 8;
  const auto expected = static_cast<std::uint64_t>(inference_weight_count(m.genotype.view()));
  EDGENAS_CHECK(count == expected, Status::corrupt_data, "%s: %llu weights, the genotype \"%s\" needs %llu", path.c_str(),
                static_cast<unsigned long long>(count), to_string(m.genotype).c_str(),
                static_cast<unsigned long long>(expected));
  need(count * sizeof(float));
  m.weights.resize(count);
  std::memcpy(m.weights.data(), p, count * sizeof(float));
  p += count * sizeof(float), left -= count * sizeof(float);
  need(4);
  std::uint32_t channels;
  std::memcpy(&channels, p, 4);
  p += 4, left -= 4;
  EDGENAS_CHECK((channels == 0 || static_cast<int>(channels) == m.genotype.input.c) && left == 2ull * channels * sizeof(float),
                Status::corrupt_data, "%s: normalisation for %u channels in %zu bytes, the input has %d channels",
                path.c_str(), channels, left, m.genotype.input.c);
  m.input_mean.resize(channels);
  m.input_stddev.resize(channels);
  if (channels > 0) {  // (memcpy from/to an empty vector's null data() is undefined)
    std::memcpy(m.input_mean.data(), p, channels * sizeof(float));
    std::memcpy(m.input_stddev.data(), p + channels * sizeof(float), channels * sizeof(float));
  }
  return m;
}

}  // namespace edgenas
