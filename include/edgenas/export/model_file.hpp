// edgenas/export/model_file.hpp — a trained network for deployment: genotype, folded float
// weights and, from version 2, its int8 form.
//
// File (little-endian): "ENASMODL", u32 format version, u32 0, u64 payload bytes, payload,
// u64 FNV-1a checksum of the payload.
// Version 1 payload: genotype text (u32 length + bytes), u64 weight count, float32 weights,
// u32 channel count + per-channel input mean and stddev (0: none).
// Version 2 appends: u8 int8 present; if 1: u64 int8 weight count + int8 weights, u64 channel
// count + int32 biases + float32 weight scales, u32 value count + (float32 scale, int32 zero
// point) per int8 tensor (quant/model.hpp). The float weight count may be 0 in version 2
// (an int8-only model).
// Float weights are in the layout runtime/reference/inference.hpp and the XNNPACK runtime read
// (batch norm folded). Written atomically; loading checks magic, version, length, checksum,
// that the genotype parses and validates, that every count is exactly what the genotype
// needs and (int8) that every scale, zero point and requantization shift can run, naming the
// layer — before returning anything. Version-1 files still load.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "edgenas/core/atomic_file.hpp"
#include "edgenas/core/binary_file.hpp"
#include "edgenas/quant/model.hpp"
#include "edgenas/space/cost.hpp"
#include "edgenas/space/genotype.hpp"

namespace edgenas {

inline constexpr std::uint32_t model_file_version = 2;
inline constexpr std::string_view model_file_magic = "ENASMODL";

struct Model {
  Genotype genotype;
  std::vector<float> weights;  // inference (folded) layout
  // Input normalisation the weights were trained with: x = (pixel/255 − mean[c]) / stddev[c].
  // Empty: none recorded (the images are fed as they are).
  std::vector<float> input_mean, input_stddev;
  // The int8 network (its genotype and normalisation are the ones above); empty: float only.
  std::optional<quant::QuantizedModel> int8;
};

namespace detail {
template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
}  // namespace detail

/// The bytes of a model file (checked: the genotype, the weights' count, the int8 network).
inline std::string model_file_bytes(const Model& m) {
  validate(m.genotype);
  EDGENAS_CHECK(static_cast<std::int64_t>(m.weights.size()) == inference_weight_count(m.genotype.view()) ||
                    (m.weights.empty() && m.int8),
                Status::invalid_argument, "save_model: %zu weights, genotype needs %lld", m.weights.size(),
                static_cast<long long>(inference_weight_count(m.genotype.view())));
  if (m.int8) {
    EDGENAS_CHECK(m.int8->genotype == m.genotype, Status::invalid_argument,
                  "save_model: the int8 network's genotype differs from the model's");
    quant::check(*m.int8, quant::build_graph(m.genotype.view()));
  }
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
  detail::put(payload, static_cast<std::uint8_t>(m.int8 ? 1 : 0));
  if (m.int8) {
    const quant::QuantizedModel& q = *m.int8;
    detail::put(payload, static_cast<std::uint64_t>(q.weights.size()));
    payload.append(reinterpret_cast<const char*>(q.weights.data()), q.weights.size());
    detail::put(payload, static_cast<std::uint64_t>(q.biases.size()));
    payload.append(reinterpret_cast<const char*>(q.biases.data()), q.biases.size() * sizeof(std::int32_t));
    payload.append(reinterpret_cast<const char*>(q.weight_scales.data()), q.weight_scales.size() * sizeof(float));
    detail::put(payload, static_cast<std::uint32_t>(q.activations.size()));
    for (const quant::QuantParams& p : q.activations) detail::put(payload, p.scale), detail::put(payload, p.zero_point);
  }
  return container_bytes(model_file_magic, model_file_version, payload);
}

/// Writes a model file atomically: a reader sees the old file or the new one, never a part.
inline void save_model(const std::string& path, const Model& m) { write_file_atomically(path, model_file_bytes(m)); }

namespace detail {

// Reads a payload front to back; every read checks that the bytes are there.
class PayloadReader {
 public:
  PayloadReader(const std::string& path, Payload p) : path_(path), p_(p.data), left_(p.size) {}
  template <typename T>
  T get() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  template <typename T>
  void array(std::vector<T>& out, std::uint64_t count) {
    need(count * sizeof(T));  // before resizing: a corrupt count must not allocate
    out.resize(static_cast<std::size_t>(count));
    if (count > 0) bytes(out.data(), static_cast<std::size_t>(count) * sizeof(T));
  }
  void bytes(void* out, std::size_t n) {
    need(n);
    std::memcpy(out, p_, n);
    p_ += n, left_ -= n;
  }
  std::size_t left() const noexcept { return left_; }
  void need(std::uint64_t n) const {
    EDGENAS_CHECK(n <= left_, Status::corrupt_data, "%s: payload ends early", path_.c_str());
  }

 private:
  const std::string& path_;
  const std::uint8_t* p_;
  std::size_t left_;
};

}  // namespace detail

/// A model from the bytes of a model file; `path` names it in errors. Every count is checked
/// against the bytes that are there before anything is allocated.
inline Model model_from_bytes(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  const Payload payload = checked_payload(path, bytes, model_file_magic, model_file_version, "model file", 1);
  detail::PayloadReader in(path, payload);
  const auto text_bytes = in.get<std::uint32_t>();
  in.need(text_bytes);  // before allocating: a corrupt length must not allocate gigabytes (found by fuzz_model_file)
  std::string text(text_bytes, '\0');
  in.bytes(text.data(), text.size());
  Model m;
  m.genotype = parse_genotype(text);
  const std::uint64_t count = in.get<std::uint64_t>();
  const auto expected = static_cast<std::uint64_t>(inference_weight_count(m.genotype.view()));
  EDGENAS_CHECK(count == expected || (count == 0 && payload.version >= 2), Status::corrupt_data,
                "%s: %llu weights, the genotype \"%s\" needs %llu", path.c_str(), static_cast<unsigned long long>(count),
                to_string(m.genotype).c_str(), static_cast<unsigned long long>(expected));
  in.array(m.weights, count);
  const std::uint32_t channels = in.get<std::uint32_t>();
  EDGENAS_CHECK(channels == 0 || static_cast<int>(channels) == m.genotype.input.c, Status::corrupt_data,
                "%s: normalisation for %u channels, the input has %d channels", path.c_str(), channels,
                m.genotype.input.c);
  in.array(m.input_mean, channels);
  in.array(m.input_stddev, channels);
  if (payload.version >= 2 && in.get<std::uint8_t>() == 1) {
    quant::QuantizedModel q;
    q.genotype = m.genotype;
    q.input_mean = m.input_mean, q.input_stddev = m.input_stddev;
    const quant::Graph g = quant::build_graph(m.genotype.view());
    const std::uint64_t weights = in.get<std::uint64_t>();
    EDGENAS_CHECK(weights == static_cast<std::uint64_t>(g.weight_count), Status::corrupt_data,
                  "%s: %llu int8 weights, the genotype needs %lld", path.c_str(), static_cast<unsigned long long>(weights),
                  static_cast<long long>(g.weight_count));
    in.array(q.weights, weights);
    const std::uint64_t channel_count = in.get<std::uint64_t>();
    EDGENAS_CHECK(channel_count == static_cast<std::uint64_t>(g.channel_count), Status::corrupt_data,
                  "%s: %llu int8 output channels, the genotype has %lld", path.c_str(),
                  static_cast<unsigned long long>(channel_count), static_cast<long long>(g.channel_count));
    in.array(q.biases, channel_count);
    in.array(q.weight_scales, channel_count);
    const std::uint32_t values = in.get<std::uint32_t>();
    EDGENAS_CHECK(values == static_cast<std::uint32_t>(g.value_count()), Status::corrupt_data,
                  "%s: %u int8 tensor quantizations, the genotype has %d int8 tensors", path.c_str(), values,
                  g.value_count());
    q.activations.resize(values);
    for (quant::QuantParams& p : q.activations) p.scale = in.get<float>(), p.zero_point = in.get<std::int32_t>();
    quant::check(q, g, path.c_str());
    m.int8 = std::move(q);
  }
  EDGENAS_CHECK(in.left() == 0, Status::corrupt_data, "%s: %zu bytes after the model", path.c_str(), in.left());
  EDGENAS_CHECK(!m.weights.empty() || m.int8, Status::corrupt_data, "%s: neither float nor int8 weights", path.c_str());
  return m;
}

inline Model load_model(const std::string& path) {
  return model_from_bytes(read_binary_file(path, "model file"), path);
}

}  // namespace edgenas
