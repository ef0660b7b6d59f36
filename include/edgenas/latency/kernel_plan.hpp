// edgenas/latency/kernel_plan.hpp — the device's kernel plan (runtime/xnnpack/plan.hpp) kept in
// a file, so a search, its resumption and later `edgenas bench` runs use the same choices.
//
// File: JSON {"format": "edgenas-kernel-plan", "version": 1, "fingerprint": {...},
// "choices": {"dw 28x28x96 k7 s2 hswish n1 t1": {"implementation": "edgenas", "xnnpack_ms": …,
// "edgenas_ms": …}}}. The fingerprint is this device's with threads 1 (keys carry the thread
// count). A file from another device, XNNPACK build or kernel version is not used: its shapes
// are measured again (with a message) and the file is rewritten for this device.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "edgenas/core/atomic_file.hpp"
#include "edgenas/core/json.hpp"
#include "edgenas/latency/fingerprint.hpp"
#include "edgenas/runtime/xnnpack/plan.hpp"

namespace edgenas::latency {

inline constexpr int kernel_plan_version = 1;

/// The fingerprint a plan file is tied to: this device (its thread count 1 stands for any: the
/// choices' keys carry theirs).
inline Fingerprint plan_fingerprint() { return this_device(1); }

/// The choices as JSON {"key": {"implementation", "xnnpack_ms", "edgenas_ms"}} (also kept in
/// latency tables: the pieces were timed with them).
inline json::Value choices_json(const std::map<std::string, xnnpack::DepthwiseChoice>& choices) {
  json::Value entries = json::Value(json::Value::Object{});
  for (const auto& [key, c] : choices)
    entries.set(key, json::Value()
                         .set("implementation", xnnpack::implementation_name(c.implementation))
                         .set("xnnpack_ms", c.xnnpack_ms)
                         .set("edgenas_ms", c.edgenas_ms));
  return entries;
}

/// Puts the choices of `v` (choices_json's form) into the process's plan; returns how many.
inline int import_choices(const json::Value& v, const std::string& source) {
  int taken = 0;
  for (const auto& [key, c] : v.as_object("kernel plan choices")) {
    const std::string impl = c.at("implementation", key.c_str()).as_string("implementation");
    EDGENAS_CHECK(impl == "xnnpack" || impl == "edgenas", Status::corrupt_data,
                  "%s: kernel plan choice \"%s\": implementation \"%s\", expected xnnpack or edgenas", source.c_str(),
                  key.c_str(), impl.c_str());
    xnnpack::kernel_plan().set(key,
                               {impl == "edgenas" ? xnnpack::Implementation::edgenas : xnnpack::Implementation::xnnpack,
                                c.at("xnnpack_ms", key.c_str()).as_number("xnnpack_ms"),
                                c.at("edgenas_ms", key.c_str()).as_number("edgenas_ms")});
    ++taken;
  }
  return taken;
}

inline json::Value kernel_plan_json(const std::map<std::string, xnnpack::DepthwiseChoice>& choices) {
  return json::Value()
      .set("format", "edgenas-kernel-plan")
      .set("version", kernel_plan_version)
      .set("fingerprint", to_json(plan_fingerprint()))
      .set("choices", choices_json(choices));
}

/// Loads `path` into the process's plan when it was measured here (returns the number of
/// choices taken); otherwise says why in `message` and takes none. A missing file is empty.
inline int load_kernel_plan(const std::string& path, std::string* message = nullptr) {
  if (!std::filesystem::exists(path)) return 0;
  std::ifstream in(path, std::ios::binary);
  EDGENAS_CHECK(in.good(), Status::io_error, "%s: cannot open kernel plan", path.c_str());
  std::stringstream text;
  text << in.rdbuf();
  const json::Value v = json::parse(text.str(), path.c_str());
  const json::Value* format = v.is_object() ? v.find("format") : nullptr;
  EDGENAS_CHECK(
      format && format->kind() == json::Value::Kind::string && format->as_string("format") == "edgenas-kernel-plan",
      Status::corrupt_data, "%s: not an edgenas kernel plan", path.c_str());
  const int version = v.at("version", path.c_str()).as_int("version");
  const Fingerprint measured = fingerprint_from_json(v.at("fingerprint", path.c_str()));
  const Fingerprint here = plan_fingerprint();
  if (version != kernel_plan_version || measured.key() != here.key()) {
    if (message)
      *message = path + " was measured on " + describe(measured) + " (plan format " + std::to_string(version) +
                 "); this is " + describe(here) + ": its layers are measured again";
    return 0;
  }
  return import_choices(v.at("choices", path.c_str()), path);
}

/// Uses `path` as the process's kernel plan file: loads what it holds for this device and
/// rewrites it (atomically) after every new measurement.
inline int use_kernel_plan_file(const std::string& path, std::string* message = nullptr) {
  const int taken = load_kernel_plan(path, message);
  xnnpack::kernel_plan().on_measured([path](const std::string&, const xnnpack::DepthwiseChoice&) {
    write_file_atomically(path, json::dump(kernel_plan_json(xnnpack::kernel_plan().choices())) + "\n");
  });
  return taken;
}

}  // namespace edgenas::latency
