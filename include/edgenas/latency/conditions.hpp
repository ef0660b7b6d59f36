// edgenas/latency/conditions.hpp — the state a device was in while it was measured.
//
// Latency moves with load, CPU frequency scaling and temperature (a board throttles when hot).
// A table records these at the start and end of its build, read where Linux exposes them
// (/proc/loadavg, cpufreq, thermal zones); what a kernel does not expose is left unknown
// (negative, −1000 °C, or an empty governor) rather than guessed.
#pragma once

#include <cstdio>
#include <fstream>
#include <string>

#include "edgenas/core/json.hpp"

namespace edgenas::latency {

struct Conditions {
  double load_average = -1;   // 1-minute load average (the measuring process itself counts as ~1)
  double cpu_mhz = -1;        // current frequency of CPU 0
  std::string governor;       // cpufreq governor of CPU 0 (performance, schedutil, …)
  double temperature_c = -1000;  // the first thermal zone (−1000: unknown)
};

namespace detail {
inline bool read_number(const char* path, double& out) {
  std::ifstream in(path);
  return static_cast<bool>(in >> out);
}
}  // namespace detail

/// The device's conditions now.
inline Conditions current_conditions() {
  Conditions c;
  double v = 0;
  if (detail::read_number("/proc/loadavg", v)) c.load_average = v;
  if (detail::read_number("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", v)) c.cpu_mhz = v / 1000.0;
  std::ifstream governor("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  std::getline(governor, c.governor);
  if (detail::read_number("/sys/class/thermal/thermal_zone0/temp", v)) c.temperature_c = v / 1000.0;
  return c;
}

inline json::Value to_json(const Conditions& c) {
  return json::Value()
      .set("load_average", c.load_average)
      .set("cpu_mhz", c.cpu_mhz)
      .set("governor", c.governor)
      .set("temperature_c", c.temperature_c);
}

inline Conditions conditions_from_json(const json::Value& v) {
  Conditions c;
  if (const json::Value* x = v.find("load_average")) c.load_average = x->as_number("load_average");
  if (const json::Value* x = v.find("cpu_mhz")) c.cpu_mhz = x->as_number("cpu_mhz");
  if (const json::Value* x = v.find("governor")) c.governor = x->as_string("governor");
  if (const json::Value* x = v.find("temperature_c")) c.temperature_c = x->as_number("temperature_c");
  return c;
}

/// One line: "load 1.02, 2450 MHz, governor schedutil, 48.0 °C" (unknown parts left out).
inline std::string describe(const Conditions& c) {
  std::string out;
  char buf[64];
  const auto add = [&](const char* text) { out += (out.empty() ? "" : ", ") + std::string(text); };
  if (c.load_average >= 0) std::snprintf(buf, sizeof buf, "load %.2f", c.load_average), add(buf);
  if (c.cpu_mhz > 0) std::snprintf(buf, sizeof buf, "%.0f MHz", c.cpu_mhz), add(buf);
  if (!c.governor.empty()) add(("governor " + c.governor).c_str());
  if (c.temperature_c > -273) std::snprintf(buf, sizeof buf, "%.1f °C", c.temperature_c), add(buf);
  return out.empty() ? "not exposed by this kernel" : out;
}

/// A warning when other work is running (load average above what the measurement itself
/// explains, on `logical_processors`), or the governor lets the frequency wander; empty when
/// the conditions look quiet.
inline std::string noise_warning(const Conditions& c, int logical_processors) {
  std::string w;
  if (c.load_average > 1.5)
    w += "load average " + std::to_string(c.load_average).substr(0, 4) + " on " + std::to_string(logical_processors) +
         " logical processors: other work is running, latencies will be noisy";
  if (!c.governor.empty() && c.governor != "performance")
    w += std::string(w.empty() ? "" : "; ") + "CPU governor \"" + c.governor +
         "\": frequency scaling moves latency (docs/latency.md: pinning the governor)";
  return w;
}

}  // namespace edgenas::latency
