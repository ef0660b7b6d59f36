// edgenas/train/checkpoint.hpp — save and resume training state.
//
// File: "ENASCKPT", u32 format version, u32 0, u64 payload bytes, payload, u64 FNV-1a checksum
// of the payload (little-endian). Payload: identity (a genotype's text, a supernet's space), optimizer name, epochs
// done, optimizer steps, then named float tensors (parameters, batch-norm statistics, optimizer state, the weight
// average when one is kept). Saving writes `path.tmp`, fsyncs and renames over `path`, so a crash never leaves a
// half-written checkpoint and never destroys the previous one. Loading checks everything
// (magic, version, size, checksum, genotype, tensor names and sizes) before touching the network.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "edgenas/core/atomic_file.hpp"
#include "edgenas/core/binary_file.hpp"
#include "edgenas/train/network.hpp"
#include "edgenas/train/optimizer.hpp"
#include "edgenas/train/weight_average.hpp"

namespace edgenas::train {

inline constexpr std::uint32_t checkpoint_version = 1;
inline constexpr std::string_view checkpoint_magic = "ENASCKPT";

namespace detail {

struct Writer {
  std::vector<std::uint8_t> bytes;
  template <typename T>
  void pod(T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof v);
  }
  void string(const std::string& s) {
    pod(static_cast<std::uint32_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void floats(const std::vector<float>& v) {
    pod(static_cast<std::uint64_t>(v.size()));
    const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
    bytes.insert(bytes.end(), p, p + v.size() * sizeof(float));
  }
};

struct Reader {
  const std::uint8_t* p;
  std::size_t left;
  const std::string& path;
  void need(std::size_t n) {
    EDGENAS_CHECK(n <= left, Status::corrupt_data, "%s: truncated payload (needs %zu more bytes, %zu left)", path.c_str(),
                  n, left);
  }
  template <typename T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v, left -= sizeof v;
    return v;
  }
  std::string string() {
    const auto n = pod<std::uint32_t>();
    need(n);
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n, left -= n;
    return s;
  }
  void floats_into(std::vector<float>& out, std::size_t expected, const std::string& name) {
    const auto n = pod<std::uint64_t>();
    EDGENAS_CHECK(n == expected, Status::corrupt_data, "%s: tensor %s has %llu values, this network needs %zu",
                  path.c_str(), name.c_str(), static_cast<unsigned long long>(n), expected);
    need(n * sizeof(float));
    out.resize(n);
    std::memcpy(out.data(), p, n * sizeof(float));
    p += n * sizeof(float), left -= n * sizeof(float);
  }
};

struct NamedTensor {
  std::string name;
  std::vector<float>* values;
};

inline std::vector<NamedTensor> model_state(const std::vector<Parameter*>& params, const std::vector<Buffer>& buffers,
                                            Optimizer& opt, WeightAverage* average = nullptr) {
  std::vector<NamedTensor> t;
  for (Parameter* p : params) t.push_back({p->name, &p->value});
  for (const Buffer& b : buffers) t.push_back({b.name, b.values});
  const auto state = opt.state();
  for (std::size_t i = 0; i < state.size(); ++i)
    t.push_back({std::string(i < params.size() ? "optimizer.first." : "optimizer.second.") +
                     params[i % params.size()]->name,
                 state[i]});
  if (average)
    for (const auto& a : average->state()) t.push_back({a.name, a.values});
  return t;
}

}  // namespace detail

/// Training state as a list of named tensors plus progress, independent of what is trained
/// (a Network, a Supernet): `identity` names the model (a genotype, a space) and must match.
struct TrainingState {
  std::string identity;
  Optimizer* optimizer = nullptr;
  std::vector<detail::NamedTensor> tensors;
};

/// Writes the state and progress atomically to `path`.
inline void save_training_state(const std::string& path, const TrainingState& state, int epochs_done) {
  detail::Writer payload;
  payload.string(state.identity);
  payload.string(std::string(optimizer_name(state.optimizer->config().kind)));
  payload.pod(static_cast<std::uint32_t>(epochs_done));
  payload.pod(static_cast<std::int64_t>(state.optimizer->steps()));
  payload.pod(static_cast<std::uint32_t>(state.tensors.size()));
  for (const auto& t : state.tensors) {
    payload.string(t.name);
    payload.floats(*t.values);
  }
  write_file_atomically(path, container_bytes(checkpoint_magic, checkpoint_version,
                                              std::string_view(reinterpret_cast<const char*>(payload.bytes.data()),
                                                               payload.bytes.size())));
}

/// Restores a state written for the same identity and optimizer; returns the number of epochs
/// it had completed. Nothing is modified unless the whole file checks out.
inline int load_training_state(const std::string& path, const TrainingState& state, const char* what = "model") {
  const std::vector<std::uint8_t> bytes = read_binary_file(path, "checkpoint");
  const Payload payload = checked_payload(path, bytes, checkpoint_magic, checkpoint_version, "checkpoint");
  detail::Reader r{payload.data, payload.size, path};
  const std::string identity = r.string();
  if (identity != state.identity) {  // long identities (a supernet's space): where they part
    const auto excerpt = [](const std::string& text, std::size_t at) {
      const std::size_t from = at > 40 ? at - 40 : 0;
      std::string e = (from > 0 ? "..." : "") + text.substr(from, 80) + (from + 80 < text.size() ? "..." : "");
      std::replace(e.begin(), e.end(), '\n', ' ');
      return e;
    };
    const std::size_t at = static_cast<std::size_t>(
        std::mismatch(identity.begin(), identity.end(), state.identity.begin(), state.identity.end()).first -
        identity.begin());
    EDGENAS_FAIL(Status::invalid_argument, "%s: checkpoint is for another %s: \"%s\", this one is \"%s\"", path.c_str(),
                 what, excerpt(identity, at).c_str(), excerpt(state.identity, at).c_str());
  }
  const std::string optimizer = r.string();
  EDGENAS_CHECK(optimizer == optimizer_name(state.optimizer->config().kind), Status::invalid_argument,
                "%s: checkpoint was written with optimizer %s, this run uses %s", path.c_str(), optimizer.c_str(),
                std::string(optimizer_name(state.optimizer->config().kind)).c_str());
  const auto epochs = r.pod<std::uint32_t>();
  const auto steps = r.pod<std::int64_t>();
  const auto& tensors = state.tensors;
  const auto count = r.pod<std::uint32_t>();
  EDGENAS_CHECK(count == tensors.size(), Status::corrupt_data, "%s: %u tensors, this %s and optimizer have %zu",
                path.c_str(), count, what, tensors.size());
  // Read everything into staging first, so a bad tensor leaves the model untouched.
  std::vector<std::vector<float>> staged(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::string name = r.string();
    EDGENAS_CHECK(name == tensors[i].name, Status::corrupt_data, "%s: tensor %zu is %s, expected %s", path.c_str(), i,
                  name.c_str(), tensors[i].name.c_str());
    r.floats_into(staged[i], tensors[i].values->size(), name);
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) *tensors[i].values = std::move(staged[i]);
  state.optimizer->set_steps(steps);
  return static_cast<int>(epochs);
}

/// What a checkpoint says about itself, read from a file that passes every integrity check.
struct CheckpointHeader {
  std::string identity;   // for a network: its genotype text
  std::string optimizer;  // sgd or adamw
  std::uint32_t tensors = 0;
};
inline CheckpointHeader checkpoint_header(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_binary_file(path, "checkpoint");
  const Payload payload = checked_payload(path, bytes, checkpoint_magic, checkpoint_version, "checkpoint");
  detail::Reader r{payload.data, payload.size, path};
  CheckpointHeader h;
  h.identity = r.string();
  h.optimizer = r.string();
  r.pod<std::uint32_t>();  // epochs done
  r.pod<std::int64_t>();   // optimizer steps
  h.tensors = r.pod<std::uint32_t>();
  return h;
}

/// Writes the network, optimizer, weight average (if kept) and progress atomically to `path`.
inline void save_checkpoint(const std::string& path, Network& net, Optimizer& opt, int epochs_done,
                            WeightAverage* average = nullptr) {
  save_training_state(
      path, {to_string(net.genotype()), &opt, detail::model_state(net.parameters(), net.buffers(), opt, average)},
      epochs_done);
}

/// Restores a checkpoint into `net` and `opt` (which must be built for the same genotype and
/// optimizer); returns the number of epochs it had completed. Nothing is modified unless the
/// whole file checks out.
inline int load_checkpoint(const std::string& path, Network& net, Optimizer& opt, WeightAverage* average = nullptr) {
  return load_training_state(
      path, {to_string(net.genotype()), &opt, detail::model_state(net.parameters(), net.buffers(), opt, average)},
      "genotype");
}

/// The network a (network) checkpoint holds, with its weights and batch-norm statistics — the
/// averaged ones when the training kept a weight average (what that training evaluates).
inline std::unique_ptr<Network> load_network(const std::string& path) {
  const CheckpointHeader header = checkpoint_header(path);
  const Genotype genotype = parse_genotype(header.identity);
  // Before building the network: a file too small for its genotype's weights is corrupt, and a
  // forged genotype must not make us allocate gigabytes.
  const auto file_bytes = static_cast<std::uintmax_t>(std::filesystem::file_size(path));
  const auto weight_bytes = static_cast<std::uintmax_t>(parameter_count(genotype.view())) * sizeof(float);
  EDGENAS_CHECK(weight_bytes <= file_bytes, Status::corrupt_data,
                "%s: the checkpoint's genotype has %lld parameters (%ju bytes), the file only %ju bytes", path.c_str(),
                static_cast<long long>(parameter_count(genotype.view())), weight_bytes, file_bytes);
  auto net = std::make_unique<Network>(genotype);
  OptimizerConfig config;
  config.kind = header.optimizer == optimizer_name(OptimizerKind::adamw) ? OptimizerKind::adamw : OptimizerKind::sgd;
  Optimizer opt(net->parameters(), config);
  if (header.tensors == detail::model_state(net->parameters(), net->buffers(), opt).size()) {
    load_checkpoint(path, *net, opt);
    return net;
  }
  WeightAverage average(net->parameters(), net->buffers(), 0.5f);  // the decay is not needed to read it
  load_checkpoint(path, *net, opt, &average);
  average.swap();
  return net;
}

}  // namespace edgenas::train
