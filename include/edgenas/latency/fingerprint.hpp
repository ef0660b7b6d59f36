// edgenas/latency/fingerprint.hpp — what device a latency was measured on (cpuinfo).
//
// A latency table is only valid for the device, thread count, data type and XNNPACK build it
// was measured with; the fingerprint names all of them and is stored with every table.
#pragma once

#include <cpuinfo.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "edgenas/core/error.hpp"
#include "edgenas/core/json.hpp"
#include "edgenas/runtime/xnnpack/runtime.hpp"

namespace edgenas::latency {

struct Fingerprint {
  std::string arch;  // instruction set the program was built for: x86_64, aarch64, armv7 …
  std::string vendor;
  std::string uarch;
  std::string package;  // the processor's marketing name, when the OS reports one
  int cores = 0;
  int logical_processors = 0;
  std::int64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;
  std::vector<std::string> isa;  // NEON, AVX2, AVX-512F, …
  int threads = 1;               // threads the measurement used
  std::string dtype = "fp32";
  std::string backend;           // XNNPACK build identity

  /// The part that must match for a table to be reused: everything but the cache sizes'
  /// formatting — all fields, in one line.
  std::string key() const {
    std::string isa_list;
    for (const auto& f : isa) isa_list += (isa_list.empty() ? "" : "+") + f;
    return arch + "/" + vendor + "/" + uarch + "/" + package + "/" + std::to_string(cores) + "c/" + isa_list + "/" +
           std::to_string(threads) + "t/" + dtype + "/" + backend;
  }
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

namespace detail {

inline const char* vendor_name(cpuinfo_vendor v) {
  switch (v) {
    case cpuinfo_vendor_intel: return "Intel";
    case cpuinfo_vendor_amd: return "AMD";
    case cpuinfo_vendor_arm: return "ARM";
    case cpuinfo_vendor_qualcomm: return "Qualcomm";
    case cpuinfo_vendor_apple: return "Apple";
    case cpuinfo_vendor_samsung: return "Samsung";
    case cpuinfo_vendor_nvidia: return "Nvidia";
    case cpuinfo_vendor_broadcom: return "Broadcom";
    default: return "unknown";
  }
}

inline std::string uarch_name(cpuinfo_uarch u) {
  switch (u) {
    case cpuinfo_uarch_unknown: return "unknown uarch";  // e.g. a core newer than this cpuinfo (2022)
    case cpuinfo_uarch_zen: return "Zen";
    case cpuinfo_uarch_zen2: return "Zen 2";
    case cpuinfo_uarch_zen3: return "Zen 3";
    case cpuinfo_uarch_sky_lake: return "Skylake";
    case cpuinfo_uarch_cortex_a7: return "Cortex-A7";
    case cpuinfo_uarch_cortex_a9: return "Cortex-A9";
    case cpuinfo_uarch_cortex_a15: return "Cortex-A15";
    case cpuinfo_uarch_cortex_a35: return "Cortex-A35";
    case cpuinfo_uarch_cortex_a53: return "Cortex-A53";
    case cpuinfo_uarch_cortex_a55: return "Cortex-A55";
    case cpuinfo_uarch_cortex_a57: return "Cortex-A57";
    case cpuinfo_uarch_cortex_a72: return "Cortex-A72";
    case cpuinfo_uarch_cortex_a73: return "Cortex-A73";
    case cpuinfo_uarch_cortex_a75: return "Cortex-A75";
    case cpuinfo_uarch_cortex_a76: return "Cortex-A76";
    case cpuinfo_uarch_cortex_a77: return "Cortex-A77";
    case cpuinfo_uarch_cortex_a78: return "Cortex-A78";
    case cpuinfo_uarch_neoverse_n1: return "Neoverse N1";
    case cpuinfo_uarch_neoverse_v1: return "Neoverse V1";
    case cpuinfo_uarch_neoverse_n2: return "Neoverse N2";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "uarch 0x%08x", static_cast<unsigned>(u));
      return buf;  // cpuinfo's code for a core this build does not name (e.g. newer than 2022)
    }
  }
}

inline const char* build_architecture() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__i386__)
  return "x86";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__arm__)
  return "armv7";
#elif defined(__riscv)
  return "riscv";
#else
  return "unknown";
#endif
}

/// Implementer and part of an Arm MIDR_EL1 value, as named in the cores' reference manuals.
struct MidrName {
  std::string vendor, uarch;
};
inline MidrName decode_midr(std::uint64_t midr) {
  const unsigned implementer = (midr >> 24) & 0xff, part = (midr >> 4) & 0xfff;
  MidrName n;
  switch (implementer) {
    case 0x41: n.vendor = "ARM"; break;
    case 0x42: n.vendor = "Broadcom"; break;
    case 0x48: n.vendor = "HiSilicon"; break;
    case 0x4e: n.vendor = "Nvidia"; break;
    case 0x51: n.vendor = "Qualcomm"; break;
    case 0x53: n.vendor = "Samsung"; break;
    case 0x61: n.vendor = "Apple"; break;
    case 0xc0: n.vendor = "Ampere"; break;
    default: n.vendor = "unknown";
  }
  static constexpr struct { unsigned part; const char* name; } arm_parts[] = {
      {0xd01, "Cortex-A32"}, {0xd03, "Cortex-A53"}, {0xd04, "Cortex-A35"}, {0xd05, "Cortex-A55"},
      {0xd07, "Cortex-A57"}, {0xd08, "Cortex-A72"}, {0xd09, "Cortex-A73"}, {0xd0a, "Cortex-A75"},
      {0xd0b, "Cortex-A76"}, {0xd0c, "Neoverse N1"}, {0xd0d, "Cortex-A77"}, {0xd40, "Neoverse V1"},
      {0xd41, "Cortex-A78"}, {0xd44, "Cortex-X1"}, {0xd46, "Cortex-A510"}, {0xd47, "Cortex-A710"},
      {0xd48, "Cortex-X2"}, {0xd49, "Neoverse N2"}, {0xd4b, "Cortex-A78C"}, {0xd4d, "Cortex-A715"}};
  if (implementer == 0x41)
    for (const auto& p : arm_parts)
      if (p.part == part) n.uarch = p.name;
  if (n.uarch.empty()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "part 0x%03x", part);
    n.uarch = buf;
  }
  return n;
}

/// MIDR_EL1 of the core we run on, read through the kernel's emulation of the register (and
/// qemu-user's), or 0 where that is unavailable. cpuinfo names the core from /proc/cpuinfo,
/// which some kernels and every qemu-user < 8 leave without the core's identity.
inline std::uint64_t this_midr() {
#if defined(__aarch64__) && defined(__linux__)
  if (getauxval(AT_HWCAP) & HWCAP_CPUID) {
    std::uint64_t midr = 0;
    asm volatile("mrs %0, midr_el1" : "=r"(midr));
    return midr;
  }
#endif
  return 0;
}

}  // namespace detail

/// Fingerprint of this machine for measurements with `threads` threads through XNNPACK, of
/// networks in `dtype` ("fp32" or "int8").
inline Fingerprint this_device(int threads, std::string_view dtype = "fp32") {
  EDGENAS_CHECK(dtype == "fp32" || dtype == "int8", Status::invalid_argument, "precision \"%.*s\": expected fp32 or int8",
                static_cast<int>(dtype.size()), dtype.data());
  EDGENAS_CHECK(cpuinfo_initialize(), Status::runtime_error, "cpuinfo_initialize failed: cannot identify this CPU");
  Fingerprint f;
  f.dtype = std::string(dtype);
  const cpuinfo_core* core = cpuinfo_get_cores_count() > 0 ? cpuinfo_get_core(0) : nullptr;
  f.arch = detail::build_architecture();
  f.vendor = core ? detail::vendor_name(core->vendor) : "unknown";
  f.uarch = core ? detail::uarch_name(core->uarch) : "unknown";
  if (f.vendor == "unknown") {
    if (const std::uint64_t midr = detail::this_midr()) {
      const detail::MidrName n = detail::decode_midr(midr);
      f.vendor = n.vendor;
      f.uarch = n.uarch;
    }
  }
  const cpuinfo_package* package = cpuinfo_get_package(0);
  f.package = package && package->name[0] ? package->name : "unknown";
  f.cores = static_cast<int>(cpuinfo_get_cores_count());
  f.logical_processors = static_cast<int>(cpuinfo_get_processors_count());
  if (cpuinfo_get_l1d_caches_count() > 0) f.l1d_bytes = cpuinfo_get_l1d_cache(0)->size;
  if (cpuinfo_get_l2_caches_count() > 0) f.l2_bytes = cpuinfo_get_l2_cache(0)->size;
  if (cpuinfo_get_l3_caches_count() > 0) f.l3_bytes = cpuinfo_get_l3_cache(0)->size;
#if CPUINFO_ARCH_X86 || CPUINFO_ARCH_X86_64
  if (cpuinfo_has_x86_sse4_1()) f.isa.push_back("SSE4.1");
  if (cpuinfo_has_x86_avx()) f.isa.push_back("AVX");
  if (cpuinfo_has_x86_fma3()) f.isa.push_back("FMA3");
  if (cpuinfo_has_x86_avx2()) f.isa.push_back("AVX2");
  if (cpuinfo_has_x86_avx512f()) f.isa.push_back("AVX-512F");
#endif
#if CPUINFO_ARCH_ARM || CPUINFO_ARCH_ARM64
  if (cpuinfo_has_arm_neon()) f.isa.push_back("NEON");
  if (cpuinfo_has_arm_neon_fma()) f.isa.push_back("NEON-FMA");
  if (cpuinfo_has_arm_fp16_arith()) f.isa.push_back("FP16");
  if (cpuinfo_has_arm_neon_dot()) f.isa.push_back("DOT");
#endif
  f.threads = threads;
  f.backend = xnnpack::library_identity();
  return f;
}

inline json::Value to_json(const Fingerprint& f) {
  json::Value::Array isa;
  for (const auto& s : f.isa) isa.emplace_back(s);
  return json::Value()
      .set("arch", f.arch)
      .set("vendor", f.vendor)
      .set("uarch", f.uarch)
      .set("package", f.package)
      .set("cores", f.cores)
      .set("logical_processors", f.logical_processors)
      .set("l1d_bytes", f.l1d_bytes)
      .set("l2_bytes", f.l2_bytes)
      .set("l3_bytes", f.l3_bytes)
      .set("isa", std::move(isa))
      .set("threads", f.threads)
      .set("dtype", f.dtype)
      .set("backend", f.backend);
}

inline Fingerprint fingerprint_from_json(const json::Value& v) {
  Fingerprint f;
  const char* what = "fingerprint";
  // Tables written before the field existed do not say; they then match no device and are remeasured.
  const json::Value* arch = v.find("arch");
  f.arch = arch ? arch->as_string("fingerprint.arch") : "unknown";
  f.vendor = v.at("vendor", what).as_string("fingerprint.vendor");
  f.uarch = v.at("uarch", what).as_string("fingerprint.uarch");
  f.package = v.at("package", what).as_string("fingerprint.package");
  f.cores = v.at("cores", what).as_int("fingerprint.cores", 0);
  f.logical_processors = v.at("logical_processors", what).as_int("fingerprint.logical_processors", 0);
  f.l1d_bytes = v.at("l1d_bytes", what).as_int64("fingerprint.l1d_bytes", 0);
  f.l2_bytes = v.at("l2_bytes", what).as_int64("fingerprint.l2_bytes", 0);
  f.l3_bytes = v.at("l3_bytes", what).as_int64("fingerprint.l3_bytes", 0);
  for (const auto& s : v.at("isa", what).as_array("fingerprint.isa")) f.isa.push_back(s.as_string("fingerprint.isa[]"));
  f.threads = v.at("threads", what).as_int("fingerprint.threads", 1);
  f.dtype = v.at("dtype", what).as_string("fingerprint.dtype");
  f.backend = v.at("backend", what).as_string("fingerprint.backend");
  return f;
}

/// One human-readable line ("x86_64 AMD Zen 4 'AMD EPYC 9R14', 2 cores, L2 1024 KiB, AVX2+AVX-512F, 1 thread, fp32").
inline std::string describe(const Fingerprint& f) {
  std::string isa;
  for (const auto& s : f.isa) isa += (isa.empty() ? "" : "+") + s;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s %s %s '%s', %d cores / %d logical, L1d %lld KiB, L2 %lld KiB, L3 %lld KiB, %s, %d thread%s, %s, %s",
                f.arch.c_str(), f.vendor.c_str(), f.uarch.c_str(), f.package.c_str(), f.cores, f.logical_processors,
                static_cast<long long>(f.l1d_bytes / 1024), static_cast<long long>(f.l2_bytes / 1024),
                static_cast<long long>(f.l3_bytes / 1024), isa.empty() ? "no SIMD" : isa.c_str(), f.threads,
                f.threads == 1 ? "" : "s", f.dtype.c_str(), f.backend.c_str());
  return buf;
}

}  // namespace edgenas::latency
