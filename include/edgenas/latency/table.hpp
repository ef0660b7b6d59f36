// edgenas/latency/table.hpp — per-piece latency lookup tables and the latency predictor.
//
// A table maps each distinct piece configuration (stem, MBConv block with its input shape,
// head) to its measured latency on one device (Fingerprint: CPU, threads, dtype, XNNPACK
// build). Network latency is predicted as a·Σ pieces + b, with (a, b) fitted on networks
// measured whole (a covers fusion and cache effects, b the per-invocation overhead).
//
// File: JSON {"format": "edgenas-latency-table", "version": 1, "fingerprint": {...},
// "fit": {"scale": a, "offset_ms": b, "networks": n}, "entries": {"key": {"median_ms": …,
// "p10_ms": …, "p90_ms": …, "mad_ms": …, "ci_low_ms": …, "ci_high_ms": …, "runs": …,
// "rounds": …, "stable": …}}} (interval and rounds optional: older tables lack them). Saving
// writes a temporary file and renames it, as entries finish during a build, so an interrupted
// build keeps what it measured and resumes where it stopped.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "edgenas/core/atomic_file.hpp"
#include "edgenas/core/rank_correlation.hpp"
#include "edgenas/core/rng.hpp"
#include "edgenas/latency/conditions.hpp"
#include "edgenas/latency/fingerprint.hpp"
#include "edgenas/latency/kernel_plan.hpp"
#include "edgenas/latency/timing.hpp"
#include "edgenas/runtime/xnnpack/int8_runtime.hpp"
#include "edgenas/runtime/xnnpack/runtime.hpp"
#include "edgenas/space/search_space.hpp"

namespace edgenas::latency {

inline constexpr int table_version = 1;

/// A piece of a network and the key it has in a table.
struct PieceKey {
  xnnpack::Piece piece;
  std::string key;
};

inline std::string stem_key(const Genotype& g) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "stem %dx%dx%d c%d k%d s%d %s", g.input.h, g.input.w, g.input.c, g.stem.channels,
                g.stem.kernel, g.stem.stride, activation_name(g.stem.act).data());
  return buf;
}
inline std::string block_key(Shape in, const BlockGene& b) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "mbconv %dx%dx%d o%d x%d k%d s%d %s%s", in.h, in.w, in.c, b.out, b.expanded, b.kernel,
                b.stride, b.se ? "se " : "", activation_name(b.act).data());
  return buf;
}
inline std::string head_key(Shape in, const HeadGene& h) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "head %dx%dx%d c%d %s h%d k%d", in.h, in.w, in.c, h.channels,
                activation_name(h.act).data(), h.hidden, h.classes);
  return buf;
}

// ---- numeric keys: what predictions look up (no strings, no allocation) ------------------

namespace detail {
constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}
constexpr std::uint64_t shape_hash(std::uint64_t kind, int h, int w, int c) noexcept {
  return mix(mix(mix(mix(0x51ED27ull, kind), static_cast<std::uint64_t>(h)), static_cast<std::uint64_t>(w)),
             static_cast<std::uint64_t>(c));
}
}  // namespace detail

constexpr std::uint64_t stem_hash(const Genotype& g) noexcept {
  std::uint64_t k = detail::shape_hash(1, g.input.h, g.input.w, g.input.c);
  for (int v : {g.stem.channels, g.stem.kernel, g.stem.stride, static_cast<int>(g.stem.act)})
    k = detail::mix(k, static_cast<std::uint64_t>(v));
  return k;
}
constexpr std::uint64_t block_hash(Shape in, const BlockGene& b) noexcept {
  std::uint64_t k = detail::shape_hash(2, in.h, in.w, in.c);
  for (int v : {b.out, b.expanded, b.kernel, b.stride, static_cast<int>(b.se), static_cast<int>(b.act)})
    k = detail::mix(k, static_cast<std::uint64_t>(v));
  return k;
}
constexpr std::uint64_t head_hash(Shape in, const HeadGene& h) noexcept {
  std::uint64_t k = detail::shape_hash(3, in.h, in.w, in.c);
  for (int v : {h.channels, static_cast<int>(h.act), h.hidden, h.classes}) k = detail::mix(k, static_cast<std::uint64_t>(v));
  return k;
}

/// A piece to time: a network holding it (stem and head settings) and the piece.
struct PieceToTime {
  Genotype genotype;
  xnnpack::Piece piece;
};

/// The piece a table key string names (the inverse of *_key()), inside a minimal network that
/// holds it (a 1×1 identity stem feeds a block or head its input), or nothing if the key is
/// not one.
inline std::optional<PieceToTime> piece_from_key(const std::string& key) {
  int h, w, c, a, b, d, e, f;
  char act[32], act2[32];
  Activation x{};
  PieceToTime p;
  if (std::sscanf(key.c_str(), "stem %dx%dx%d c%d k%d s%d %31s", &h, &w, &c, &a, &b, &d, act) == 7 && parse_activation(act, x)) {
    p.genotype.input = {1, h, w, c};
    p.genotype.stem = {a, b, d, x};
    p.piece = {xnnpack::Piece::Kind::stem, {}, {}};
    return p;
  }
  if (std::sscanf(key.c_str(), "mbconv %dx%dx%d o%d x%d k%d s%d %31s %31s", &h, &w, &c, &a, &b, &d, &e, act, act2) >= 8) {
    const bool se = std::string(act) == "se";
    if (!parse_activation(se ? act2 : act, x)) return std::nullopt;
    p.genotype.input = {1, h, w, c};
    p.genotype.stem = {c, 1, 1, Activation::identity};
    p.genotype.blocks = {BlockGene{a, b, d, e, se, x}};
    p.piece = {xnnpack::Piece::Kind::block, {1, h, w, c}, p.genotype.blocks[0]};
    return p;
  }
  if (std::sscanf(key.c_str(), "head %dx%dx%d c%d %31s h%d k%d", &h, &w, &c, &a, act, &e, &f) == 7 && parse_activation(act, x)) {
    p.genotype.input = {1, h, w, c};
    p.genotype.stem = {c, 1, 1, Activation::identity};
    p.genotype.head = {a, x, e, f};
    p.piece = {xnnpack::Piece::Kind::head, {1, h, w, c}, {}};
    return p;
  }
  return std::nullopt;
}

/// The numeric key of a piece written as a table key string.
inline bool parse_piece_key(const std::string& key, std::uint64_t& hash) {
  const std::optional<PieceToTime> p = piece_from_key(key);
  if (!p) return false;
  switch (p->piece.kind) {
    case xnnpack::Piece::Kind::stem:
      hash = stem_hash(p->genotype);
      break;
    case xnnpack::Piece::Kind::block:
      hash = block_hash(p->piece.input, p->piece.block);
      break;
    default:
      hash = head_hash(p->piece.input, p->genotype.head);
      break;
  }
  return true;
}

/// The pieces a genotype is made of, in order.
inline std::vector<PieceKey> pieces_of(const Genotype& g) {
  std::vector<PieceKey> out;
  out.push_back({{xnnpack::Piece::Kind::stem, {}, {}}, stem_key(g)});
  for_each_block(g.view(), [&](std::size_t, const BlockGene& b, const BlockShapes& s) {
    out.push_back({{xnnpack::Piece::Kind::block, s.in, b}, block_key(s.in, b)});
  });
  const Shape head_in = head_input_shape(g.view());
  out.push_back({{xnnpack::Piece::Kind::head, head_in, {}}, head_key(head_in, g.head)});
  return out;
}

/// Which figure of a Measurement a table predicts. `p10` (the 10th percentile of the
/// speed-corrected round medians) is the typical latency: interference only ever adds time, and
/// on a noisy 2-vCPU VM it predicted networks best (18 checks: 87.2 % within ±5 % on average,
/// against 80.7–82.1 % for the median, the trimmed mean and the uncorrected median; docs/latency.md).
/// `run_p90` predicts the 90th percentile of single runs, for budgets that must hold on a busy
/// device.
enum class Statistic { median, trimmed_mean, p10, uncorrected_median, run_p90 };

inline constexpr Statistic all_statistics[] = {Statistic::median, Statistic::trimmed_mean, Statistic::p10,
                                               Statistic::uncorrected_median, Statistic::run_p90};

inline std::string_view statistic_name(Statistic s) noexcept {
  switch (s) {
    case Statistic::median:
      return "median";
    case Statistic::trimmed_mean:
      return "trimmed_mean";
    case Statistic::p10:
      return "p10";
    case Statistic::uncorrected_median:
      return "uncorrected_median";
    default:
      return "run_p90";
  }
}

inline double& value_of(Measurement& m, Statistic s) noexcept {
  switch (s) {
    case Statistic::median:
      return m.median_ms;
    case Statistic::trimmed_mean:
      return m.trimmed_ms;
    case Statistic::p10:
      return m.p10_ms;
    case Statistic::uncorrected_median:
      return m.uncorrected_ms;
    default:
      return m.run_p90_ms;
  }
}
inline double value_of(const Measurement& m, Statistic s) noexcept { return value_of(const_cast<Measurement&>(m), s); }

/// A network measured whole at build time: what the overhead is fitted on (kept in the table,
/// so it can be refitted for another statistic without measuring again).
struct FitSample {
  Genotype genotype;
  Measurement measured;
};

/// How the device's speed now compares with when a table was measured.
struct Drift {
  double ratio = 1.0;            // median over the reference pieces of now / table (> 1: slower now)
  double low = 1.0, high = 1.0;  // the smallest and largest of those ratios
  double interval_low = 1.0, interval_high = 1.0;  // 95 % interval of the median ratio
  int pieces = 0;
  bool significant = false;  // that interval excludes 1
  /// The factor to scale predictions by: the ratio when significant, else 1 (correcting by
  /// noise would only add it to every prediction).
  double correction() const noexcept { return significant ? ratio : 1.0; }
};

struct Table;
inline void fit_overhead(Table& table, const std::vector<Genotype>& networks, const std::vector<double>& measured_ms);

struct Table {
  Fingerprint device;
  Conditions built_start, built_end;  // the device's state when the build began and ended
  Drift drift_at_end;                 // reference pieces re-timed as the build ended, against their entries
  int passes = 1;                     // 2: measured again because the device's speed moved during the first
  std::map<std::string, Measurement> entries;
  std::map<std::string, std::string> implementations;  // what timed each entry ("xnnpack", "depthwise edgenas")
  double scale = 1.0;      // fitted a
  double offset_ms = 0.0;  // fitted b
  int fitted_networks = 0;
  std::vector<FitSample> fit_samples;    // empty in tables built before they were kept
  Statistic statistic = Statistic::p10;  // what predict_ms() predicts (select()); the fit is for it

  /// Rebuilds the numeric index predict_ms() reads; called by extend_table and load_table.
  void index() {
    medians_.clear();
    medians_.reserve(entries.size() * 2);
    for (const auto& [key, m] : entries) {
      std::uint64_t h = 0;
      EDGENAS_CHECK(parse_piece_key(key, h), Status::corrupt_data, "latency table: unreadable entry key \"%s\"", key.c_str());
      medians_[h] = value_of(m, statistic);
    }
  }

  /// Predict `s` from now on: the entries' figure for it, and the overhead refitted on the
  /// table's fitting networks measured the same way. A table built before `s` was recorded is
  /// an error that says to rebuild it.
  void select(Statistic s) {
    if (s == statistic) return;
    const bool recorded = !fit_samples.empty() && std::all_of(entries.begin(), entries.end(),
                                                              [&](const auto& e) { return value_of(e.second, s) > 0; });
    EDGENAS_CHECK(recorded, Status::invalid_argument,
                  "this latency table was built before the %s of each piece was recorded; build it again to predict it",
                  statistic_name(s).data());
    statistic = s;
    index();
    std::vector<Genotype> nets;
    std::vector<double> ms;
    for (const FitSample& f : fit_samples) nets.push_back(f.genotype), ms.push_back(value_of(f.measured, s));
    if (nets.size() >= 2) fit_overhead(*this, nets, ms);
  }

  bool covers(const Genotype& g) const {
    for (const auto& p : pieces_of(g))
      if (!entries.count(p.key)) return false;
    return true;
  }

  /// Σ of the pieces' medians (no fit). One hash lookup per piece, no allocation; a piece the
  /// table lacks is an error naming it.
  double sum_ms(const Genotype& g) const {
    double sum = 0.0;
    bool complete = lookup(stem_hash(g), sum);
    for_each_block(g.view(), [&](std::size_t, const BlockGene& b, const BlockShapes& s) {
      complete = lookup(block_hash(s.in, b), sum) && complete;
    });
    complete = lookup(head_hash(head_input_shape(g.view()), g.head), sum) && complete;
    if (!complete)
      for (const auto& p : pieces_of(g))
        EDGENAS_CHECK(entries.count(p.key), Status::invalid_argument,
                      "latency table has no entry for \"%s\" (of %s); build the table for this search space first",
                      p.key.c_str(), to_string(g).c_str());
    return sum;
  }

  /// Predicted latency of the whole network in milliseconds: scale · Σ pieces + offset. The
  /// offset is usually negative (each piece timed alone pays the call overhead the whole network
  /// pays once); for a network smaller than every fitting network it could push the prediction
  /// to 0 or below and let every budget pass, so there the pieces' scaled sum stands (an
  /// overestimate: safe for a budget). A scale that is not positive is an error naming the fit.
  double predict_ms(const Genotype& g) const {
    EDGENAS_CHECK(scale > 0 && std::isfinite(scale) && std::isfinite(offset_ms), Status::corrupt_data,
                  "latency table: fit scale %g, offset %g ms cannot predict %s: the fit is unusable; build the table "
                  "again",
                  scale, offset_ms, to_string(g).c_str());
    const double pieces = scale * sum_ms(g), ms = pieces + offset_ms;
    return ms > 0 ? ms : pieces;
  }

 private:
  bool lookup(std::uint64_t key, double& sum) const {
    const auto it = medians_.find(key);
    if (it == medians_.end()) return false;
    sum += it->second;
    return true;
  }
  std::unordered_map<std::uint64_t, double> medians_;
};

// ---- files ------------------------------------------------------------------------------

inline json::Value to_json(const Table& t) {
  json::Value::Array samples;  // the fitting networks: genotype and every statistic
  for (const FitSample& f : t.fit_samples) {
    json::Value v = json::Value().set("genotype", to_string(f.genotype));
    for (Statistic s : all_statistics) v.set(std::string(statistic_name(s)) + "_ms", value_of(f.measured, s));
    samples.push_back(std::move(v));
  }
  json::Value entries;
  entries = json::Value(json::Value::Object{});
  for (const auto& [key, m] : t.entries)
    entries.set(key, json::Value()
                         .set("median_ms", m.median_ms)
                         .set("trimmed_ms", m.trimmed_ms)
                         .set("p10_ms", m.p10_ms)
                         .set("p90_ms", m.p90_ms)
                         .set("mad_ms", m.mad_ms)
                         .set("run_p90_ms", m.run_p90_ms)
                         .set("uncorrected_ms", m.uncorrected_ms)
                         .set("ci_low_ms", m.ci_low_ms)
                         .set("ci_high_ms", m.ci_high_ms)
                         .set("runs", m.runs)
                         .set("rounds", m.rounds)
                         .set("stable", m.stable)
                         .set("implementation", t.implementations.count(key) ? t.implementations.at(key) : "xnnpack"));
  return json::Value()
      .set("format", "edgenas-latency-table")
      .set("version", table_version)
      .set("fingerprint", to_json(t.device))
      .set("conditions", json::Value()
                             .set("start", to_json(t.built_start))
                             .set("end", to_json(t.built_end))
                             .set("drift_at_end", json::Value()
                                                      .set("ratio", t.drift_at_end.ratio)
                                                      .set("low", t.drift_at_end.low)
                                                      .set("high", t.drift_at_end.high)
                                                      .set("pieces", t.drift_at_end.pieces)
                                                      .set("significant", t.drift_at_end.significant))
                             .set("passes", t.passes))
      .set("fit", json::Value()
                      .set("statistic", std::string(statistic_name(t.statistic)))
                      .set("scale", t.scale)
                      .set("offset_ms", t.offset_ms)
                      .set("networks", t.fitted_networks)
                      .set("samples", std::move(samples)))
      .set("entries", std::move(entries))
      .set("kernel_plan", choices_json(xnnpack::kernel_plan().choices()));
}

/// Writes the table atomically (temporary file + rename).
inline void save_table(const Table& t, const std::string& path) {
  write_file_atomically(path, json::dump(to_json(t)) + "\n");
}

enum class DeviceCheck { must_match, warn_if_different };

/// Reads a table. With must_match, a table measured on another device, thread count, dtype or
/// XNNPACK build is an error naming both; with warn_if_different, `warning` receives the text.
inline Table parse_table(const std::string& text, const std::string& path, const Fingerprint& expected,
                         DeviceCheck check = DeviceCheck::must_match, std::string* warning = nullptr);

inline Table load_table(const std::string& path, const Fingerprint& expected, DeviceCheck check = DeviceCheck::must_match,
                        std::string* warning = nullptr) {
  std::ifstream in(path, std::ios::binary);
  EDGENAS_CHECK(in.good(), Status::io_error, "%s: cannot open latency table", path.c_str());
  std::stringstream text;
  text << in.rdbuf();
  return parse_table(text.str(), path, expected, check, warning);
}

/// A table from its JSON text (as a file holds it); `path` names it in messages.
inline Table parse_table(const std::string& text, const std::string& path, const Fingerprint& expected,
                         DeviceCheck check, std::string* warning) {
  const json::Value v = json::parse(text, path.c_str());
  EDGENAS_CHECK(v.is_object() && v.find("format") && v.at("format", path.c_str()).kind() == json::Value::Kind::string &&
                    v.at("format", path.c_str()).as_string("format") == "edgenas-latency-table",
                Status::corrupt_data, "%s: not an edgenas latency table", path.c_str());
  const int version = v.at("version", path.c_str()).as_int("version");
  EDGENAS_CHECK(version == table_version, Status::corrupt_data, "%s: table format version %d, this build reads %d",
                path.c_str(), version, table_version);
  Table t;
  t.device = fingerprint_from_json(v.at("fingerprint", path.c_str()));
  if (const json::Value* c = v.find("conditions")) {  // tables before conditions were recorded lack them
    if (const json::Value* start = c->find("start")) t.built_start = conditions_from_json(*start);
    if (const json::Value* end = c->find("end")) t.built_end = conditions_from_json(*end);
    if (const json::Value* passes = c->find("passes")) t.passes = passes->as_int("conditions.passes", 1);
    if (const json::Value* d = c->find("drift_at_end")) {
      t.drift_at_end.ratio = d->at("ratio", "drift_at_end").as_number("drift_at_end.ratio");
      t.drift_at_end.low = d->at("low", "drift_at_end").as_number("drift_at_end.low");
      t.drift_at_end.high = d->at("high", "drift_at_end").as_number("drift_at_end.high");
      t.drift_at_end.pieces = d->at("pieces", "drift_at_end").as_int("drift_at_end.pieces", 0);
      t.drift_at_end.significant = d->at("significant", "drift_at_end").as_bool("drift_at_end.significant");
    }
  }
  // Another precision is never close enough to use (int8 and fp32 kernels differ entirely).
  EDGENAS_CHECK(t.device.dtype == expected.dtype, Status::invalid_argument,
                "%s: a table of %s latencies, this needs %s (build one with --precision %s)", path.c_str(),
                t.device.dtype.c_str(), expected.dtype.c_str(), expected.dtype.c_str());
  if (t.device.key() != expected.key()) {
    const std::string devices = "measured on [" + describe(t.device) + "], this is [" + describe(expected) + "]";
    // The remedy first: it is what a reader needs, and firmware builds cut messages at 511 bytes.
    EDGENAS_CHECK(check != DeviceCheck::must_match, Status::invalid_argument,
                  "%s: a table holds only for the device and runtime that measured it; measure a new one here "
                  "(another --out, or edgenas latency): %s",
                  path.c_str(), devices.c_str());
    if (warning) *warning = path + ": " + devices;
  }
  const json::Value& fit = v.at("fit", path.c_str());
  t.scale = fit.at("scale", "fit").as_number("fit.scale");
  EDGENAS_CHECK(t.scale > 0 && t.scale <= 1e3, Status::corrupt_data,
                "%s: fit.scale is %g, expected a positive scale up to 1000 (with a scale of 0 or less every prediction "
                "is 0 or less and every latency budget passes); build the table again",
                path.c_str(), t.scale);
  t.offset_ms = fit.at("offset_ms", "fit").as_number("fit.offset_ms", -1e6, 1e6);
  t.fitted_networks = fit.at("networks", "fit").as_int("fit.networks", 0);
  t.statistic = Statistic::median;  // what tables were fitted on before the statistic was recorded
  if (const json::Value* st = fit.find("statistic")) {
    const std::string name = st->as_string("fit.statistic");
    const auto* known = std::find_if(std::begin(all_statistics), std::end(all_statistics),
                                     [&](Statistic x) { return statistic_name(x) == name; });
    EDGENAS_CHECK(known != std::end(all_statistics), Status::corrupt_data, "%s: unknown fit statistic \"%s\"",
                  path.c_str(), name.c_str());
    t.statistic = *known;
  }
  if (const json::Value* samples = fit.find("samples"))
    for (const json::Value& f : samples->as_array("fit.samples")) {
      FitSample sample{parse_genotype(f.at("genotype", "fit.samples").as_string("genotype")), {}};
      for (Statistic st : all_statistics) {
        const std::string name = std::string(statistic_name(st)) + "_ms";
        value_of(sample.measured, st) = f.at(name.c_str(), "fit.samples").as_number(name.c_str());
      }
      t.fit_samples.push_back(std::move(sample));
    }
  for (const auto& [key, e] : v.at("entries", path.c_str()).as_object("entries")) {
    Measurement m;
    m.median_ms = e.at("median_ms", key.c_str()).as_number("median_ms");
    m.p10_ms = e.at("p10_ms", key.c_str()).as_number("p10_ms");
    m.p90_ms = e.at("p90_ms", key.c_str()).as_number("p90_ms");
    m.mad_ms = e.at("mad_ms", key.c_str()).as_number("mad_ms", 0, 1e9);
    // Figures added with the speed correction; absent (0) in older tables, which select() refuses.
    using Named = std::pair<const char*, Statistic>;
    for (const auto& [name, st] :
         {Named{"trimmed_ms", Statistic::trimmed_mean}, Named{"run_p90_ms", Statistic::run_p90},
          Named{"uncorrected_ms", Statistic::uncorrected_median}})
      if (const json::Value* x = e.find(name)) value_of(m, st) = x->as_number(name);
    m.runs = e.at("runs", key.c_str()).as_int("runs", 1);
    m.stable = e.at("stable", key.c_str()).as_bool("stable");
    // Tables measured before interleaved rounds have no interval: the median stands for it.
    const json::Value* lo = e.find("ci_low_ms");
    const json::Value* hi = e.find("ci_high_ms");
    const json::Value* rounds = e.find("rounds");
    m.ci_low_ms = lo ? lo->as_number("ci_low_ms") : m.median_ms;
    m.ci_high_ms = hi ? hi->as_number("ci_high_ms") : m.median_ms;
    m.rounds = rounds ? rounds->as_int("rounds", 1) : 1;
    EDGENAS_CHECK(m.ci_low_ms <= m.median_ms && m.median_ms <= m.ci_high_ms, Status::corrupt_data,
                  "%s: entry \"%s\": confidence interval [%g, %g] ms does not hold its median %g ms", path.c_str(),
                  key.c_str(), m.ci_low_ms, m.ci_high_ms, m.median_ms);
    EDGENAS_CHECK(m.median_ms > 0 && m.median_ms < 1e9 && m.p10_ms <= m.median_ms && m.median_ms <= m.p90_ms,
                  Status::corrupt_data, "%s: entry \"%s\" has inconsistent timings", path.c_str(), key.c_str());
    t.entries[key] = m;
    if (const json::Value* impl = e.find("implementation")) t.implementations[key] = impl->as_string("implementation");
  }
  // The pieces were timed with these kernel choices: runs on the same device use them too.
  if (const json::Value* plan = v.find("kernel_plan"); plan && t.device.key() == expected.key())
    import_choices(*plan, path);
  t.index();
  return t;
}

// ---- measuring --------------------------------------------------------------------------

namespace detail {
inline std::vector<float> random_weights(std::int64_t n, std::uint64_t seed) {
  std::vector<float> w(static_cast<std::size_t>(n));
  Rng rng(seed);
  for (float& x : w) x = rng.uniform(-0.1f, 0.1f);
  return w;
}
}  // namespace detail

/// One piece of `g` (Piece{}: the whole network, batch 1) ready to run through the XNNPACK
/// runtime of `dtype`, with random weights and input (latency does not depend on values).
class PieceRunner {
 public:
  PieceRunner(const Genotype& g, const xnnpack::Piece& piece, int threads, std::string_view dtype) {
    Rng rng(11);
    if (dtype == "int8") {
      const xnnpack::Int8Piece p = xnnpack::int8_piece(g, piece);
      int8_ = std::make_unique<xnnpack::Int8Runtime>(xnnpack::random_int8_model(p.genotype, 7), threads, 1,
                                                     xnnpack::Segmentation::fused, p.ops);
      for (std::int8_t& x : int8_->input()) x = static_cast<std::int8_t>(rng.between(-128, 127));
      return;
    }
    fp32_ = std::make_unique<xnnpack::Runtime>(
        g, piece, detail::random_weights(xnnpack::piece_weight_count(g, piece), 7), threads);
    TensorView in = fp32_->input();
    for (std::int64_t i = 0; i < in.size(); ++i) in.data()[i] = rng.uniform(-1.0f, 1.0f);
  }
  void operator()() {
    if (int8_)
      int8_->invoke();
    else
      fp32_->invoke();
  }

 private:
  std::unique_ptr<xnnpack::Runtime> fp32_;
  std::unique_ptr<xnnpack::Int8Runtime> int8_;
};

/// What runs a piece on this device (the kernel plan's choice for a block's depthwise layer),
/// as a table records it. Call after the piece has been built once (the plan then holds it).
inline std::string implementation_of(const xnnpack::Piece& piece, int threads, std::string_view dtype) {
  if (dtype == "int8") return "xnnpack int8";
  if (piece.kind == xnnpack::Piece::Kind::network) return "per-layer plan";
  if (piece.kind != xnnpack::Piece::Kind::block) return "xnnpack";
  const kernels::DepthwiseLayer dw{piece.input.h,      piece.input.w,      piece.block.expanded,
                                   piece.block.kernel, piece.block.stride, piece.block.act};
  const auto choice = xnnpack::kernel_plan().find(xnnpack::depthwise_key(dw, 1, threads));
  return std::string("depthwise ") +
         xnnpack::implementation_name(choice ? choice->implementation : xnnpack::Implementation::xnnpack);
}

/// Rough bytes a PieceRunner holds (weights and the feature maps it passes through): how many
/// runtimes measure_pieces keeps alive at once.
inline std::int64_t runner_bytes(const Genotype& g, const xnnpack::Piece& piece) {
  if (piece.kind == xnnpack::Piece::Kind::network)
    return 4 * (inference_weight_count(g.view()) + peak_activation_bytes(g.view()));
  const Shape in = piece.kind == xnnpack::Piece::Kind::stem ? g.input : piece.input;
  const std::int64_t widest = std::max({in.c, g.stem.channels, piece.block.expanded, g.head.channels});
  return 4 * (xnnpack::piece_weight_count(g, piece) + std::int64_t{in.h} * in.w * widest * 4);
}

/// Every millisecond figure of `m` multiplied by `factor`.
inline Measurement scaled(Measurement m, double factor) {
  for (double* x : {&m.median_ms, &m.trimmed_ms, &m.p10_ms, &m.p90_ms, &m.mad_ms, &m.min_ms, &m.ci_low_ms,
                    &m.ci_high_ms, &m.run_p90_ms, &m.uncorrected_ms})
    *x *= factor;
  return m;
}

/// Times every item interleaved (timing.hpp), keeping at most options.memory_bytes of runtimes
/// alive: larger sets are cut into groups of a random mix of items (seeded), each timed
/// interleaved. Groups run one after another, and the device's speed can move in between: the
/// first group's first 8 items (anchors) are timed again inside every later group, and each
/// later group is rescaled by the median of its anchors' ratios to the first group. done(i, m)
/// is called once per item, as it finishes in the first group and at the end of a later one
/// (a caller can save there: an interrupted run keeps every item done).
template <typename Done>
std::vector<Measurement> measure_pieces(const std::vector<PieceToTime>& items, int threads,
                                        const TimingOptions& options, std::string_view dtype, Done&& done) {
  std::vector<std::size_t> order(items.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(options.seed ^ 0x5eedu);
  for (std::size_t k = order.size(); k > 1; --k)
    std::swap(order[k - 1], order[static_cast<std::size_t>(rng.between(0, static_cast<int>(k) - 1))]);
  std::vector<Measurement> result(items.size());
  std::vector<std::size_t> anchors;  // indices into items
  for (std::size_t first = 0; first < order.size();) {
    std::vector<PieceRunner> runners;
    runners.reserve(order.size() - first + anchors.size());
    std::vector<std::size_t> timed;  // indices into items, one per runner
    std::int64_t bytes = 0;
    std::size_t last = first;
    for (; last < order.size(); ++last) {
      const PieceToTime& item = items[order[last]];
      const std::int64_t b = runner_bytes(item.genotype, item.piece);
      if (last > first && bytes + b > options.memory_bytes) break;
      bytes += b;
      runners.emplace_back(item.genotype, item.piece, threads, dtype);
      timed.push_back(order[last]);
    }
    const std::size_t own = timed.size();
    const bool later = first > 0;
    if (later)
      for (std::size_t a : anchors)
        runners.emplace_back(items[a].genotype, items[a].piece, threads, dtype), timed.push_back(a);
    TimingOptions group = options;
    group.seed = options.seed + first;
    const std::vector<Measurement> m = measure_interleaved(
        runners.size(), [&](std::size_t i) { runners[i](); }, group,
        [&](std::size_t i, const Measurement& finished) {
          if (!later) done(timed[i], finished);
        });
    if (!later) {
      for (std::size_t i = 0; i < own; ++i) result[timed[i]] = m[i];
      anchors.assign(timed.begin(), timed.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(own, 8)));
    } else {
      std::vector<double> ratios;
      for (std::size_t k = 0; k < anchors.size(); ++k)
        ratios.push_back(result[anchors[k]].median_ms / m[own + k].median_ms);
      const double factor = ratios.empty() ? 1.0 : detail::percentile(ratios, 0.5);
      for (std::size_t i = 0; i < own; ++i) {
        result[timed[i]] = scaled(m[i], factor);
        done(timed[i], result[timed[i]]);
      }
    }
    first = last;
  }
  return result;
}

/// Times one piece of `g` (see PieceRunner).
inline Measurement measure_piece(const Genotype& g, const xnnpack::Piece& piece, int threads,
                                 const TimingOptions& options = {}, std::string_view dtype = "fp32") {
  PieceRunner runner(g, piece, threads, dtype);
  return measure([&] { runner(); }, options);
}

/// Times a whole network (batch 1).
inline Measurement measure_network(const Genotype& g, int threads, const TimingOptions& options = {},
                                   std::string_view dtype = "fp32") {
  return measure_piece(g, xnnpack::Piece{}, threads, options, dtype);
}

/// Times whole networks (batch 1) interleaved: what a predictor is fitted on and checked against.
inline std::vector<Measurement> measure_networks(const std::vector<Genotype>& networks, int threads,
                                                 const TimingOptions& options = {}, std::string_view dtype = "fp32",
                                                 const std::function<void(std::size_t done)>& progress = {}) {
  std::vector<PieceToTime> items;
  for (const Genotype& g : networks) items.push_back({g, xnnpack::Piece{}});
  std::size_t finished = 0;
  return measure_pieces(items, threads, options, dtype, [&](std::size_t, const Measurement&) {
    if (progress) progress(++finished);
  });
}

/// What "typical latency" is for `t`: p10, or for a table built before fitting networks were
/// kept, the median it was fitted on.
inline Statistic typical_statistic(const Table& t) { return t.fit_samples.empty() ? t.statistic : Statistic::p10; }

/// Up to `count` entries of `table`, spread evenly over its range of latencies: the pieces
/// re-timed to see how the device's speed has moved since the table was measured.
inline std::vector<std::string> reference_keys(const Table& table, int count = 16) {
  std::vector<std::pair<double, std::string>> by_time;
  for (const auto& [key, m] : table.entries) by_time.emplace_back(m.median_ms, key);
  std::sort(by_time.begin(), by_time.end());
  std::vector<std::string> keys;
  const std::size_t n = by_time.size(), k = std::min(n, static_cast<std::size_t>(std::max(count, 0)));
  for (std::size_t i = 0; i < k; ++i) keys.push_back(by_time[k == 1 ? n / 2 : i * (n - 1) / (k - 1)].second);
  return keys;
}

/// Networks timed together with reference pieces of a table (measure_with_references).
struct TimedWithReferences {
  std::vector<Measurement> networks;
  std::vector<std::string> reference_keys;
  std::vector<Measurement> references;

  /// The device's drift since `table` was measured, as its `s` figures show it.
  Drift drift(const Table& table, Statistic s) const {
    std::vector<double> ratios;
    for (std::size_t i = 0; i < reference_keys.size(); ++i)
      ratios.push_back(value_of(references[i], s) / value_of(table.entries.at(reference_keys[i]), s));
    Drift d;
    if (ratios.empty()) return d;
    std::sort(ratios.begin(), ratios.end());
    d.ratio = detail::percentile(ratios, 0.5);
    d.low = ratios.front();
    d.high = ratios.back();
    d.pieces = static_cast<int>(ratios.size());
    const auto [lo, hi] = detail::median_interval(ratios.size());
    d.interval_low = ratios[lo];
    d.interval_high = ratios[hi];
    d.significant = ratios[lo] > 1.0 || ratios[hi] < 1.0;
    return d;
  }

  /// Whether the device held still enough to judge a table by these measurements: at most a
  /// fifth of the networks without a settled interval, and the references agreeing on the
  /// drift within ±5 %. Bursts of load that slow some pieces more than others (measured on a
  /// shared VM: references spread from −23 to +20 %, 57 of 100 networks unsettled) fail it.
  bool settled(const Table& table, Statistic s) const {
    const Drift d = drift(table, s);
    return unstable() * 5 <= static_cast<int>(networks.size()) && d.interval_high - d.interval_low <= 0.10 * d.ratio;
  }

  /// Networks whose interval did not settle.
  int unstable() const {
    return static_cast<int>(
        std::count_if(networks.begin(), networks.end(), [](const Measurement& m) { return !m.stable; }));
  }
};

/// Times `networks` whole together with `references` reference pieces of `table`, all
/// interleaved in one set of rounds so that both see the same device at the same moments.
/// progress(done, total) counts finished items.
inline TimedWithReferences measure_with_references(
    const Table& table, const std::vector<Genotype>& networks, const TimingOptions& options = {},
    const std::function<void(std::size_t done, std::size_t total)>& progress = {}, int references = 16) {
  std::vector<PieceToTime> items;
  for (const Genotype& g : networks) items.push_back({g, xnnpack::Piece{}});
  TimedWithReferences t;
  t.reference_keys = reference_keys(table, references);
  for (const std::string& key : t.reference_keys) items.push_back(*piece_from_key(key));
  std::size_t finished = 0;
  t.networks =
      measure_pieces(items, table.device.threads, options, table.device.dtype, [&](std::size_t, const Measurement&) {
        if (progress) progress(++finished, items.size());
      });
  t.references.assign(t.networks.begin() + static_cast<std::ptrdiff_t>(networks.size()), t.networks.end());
  t.networks.resize(networks.size());
  return t;
}

/// The same, returning the networks' measurements and the drift in the table's statistic.
inline std::pair<std::vector<Measurement>, Drift> measure_networks_with_drift(
    const Table& table, const std::vector<Genotype>& networks, const TimingOptions& options = {},
    const std::function<void(std::size_t done, std::size_t total)>& progress = {}, int references = 16) {
  TimedWithReferences t = measure_with_references(table, networks, options, progress, references);
  const Drift d = t.drift(table, table.statistic);
  return {std::move(t.networks), d};
}

using BuildProgress = std::function<void(std::size_t done, std::size_t total, const std::string& key, const Measurement&)>;

/// A piece to measure, with a genotype it belongs to (for the stem and head settings).
struct PieceJob {
  Genotype genotype;
  PieceKey piece;
};

/// Every distinct piece configuration a search space can produce: stems and heads for each
/// resolution and width, and every block at every input shape a stage can give it.
inline std::vector<PieceJob> space_pieces(const SearchSpace& space) {
  space.require_resolutions();
  std::vector<PieceJob> jobs;
  std::set<std::string> seen;
  const auto add = [&](const Genotype& g, PieceKey p) {
    if (seen.insert(p.key).second) jobs.push_back({g, std::move(p)});
  };
  Rng rng(1);
  for (int res : space.resolutions)
    for (double w : space.width_multipliers) {
      SearchSpace one = space;
      one.resolutions = {res};
      one.width_multipliers = {w};
      const Genotype g = one.sample(rng);  // stem, fixed blocks and head are the same for all
      for (auto& p : pieces_of(g))
        if (p.piece.kind != xnnpack::Piece::Kind::block) add(g, std::move(p));
      Shape in = stem_output_shape(g.view());
      for (std::size_t i = 0; i < space.fixed.size(); ++i) {
        add(g, {{xnnpack::Piece::Kind::block, in, g.blocks[i]}, block_key(in, g.blocks[i])});
        in = same_window_output(in, g.blocks[i].stride, g.blocks[i].out);
      }
      for (const StageSpace& st : space.stages) {
        const int out = SearchSpace::scaled(st.out_channels, w);
        const Shape after{1, same_output_extent(in.h, st.stride), same_output_extent(in.w, st.stride), out};
        const int max_depth = *std::max_element(st.depths.begin(), st.depths.end());
        for (int position = 0; position < std::min(max_depth, 2); ++position) {  // first block, then the rest
          const Shape block_in = position == 0 ? in : after;
          for (int k : st.kernels)
            for (int e : st.expands)
              for (bool se : st.se)
                for (Activation a : st.acts) {
                  const BlockGene b{out, block_in.c * e, k, position == 0 ? st.stride : 1, se, a};
                  add(g, {{xnnpack::Piece::Kind::block, block_in, b}, block_key(block_in, b)});
                }
        }
        in = after;
      }
    }
  return jobs;
}

/// The pieces of `genotypes`, each once.
inline std::vector<PieceJob> genotype_pieces(const std::vector<Genotype>& genotypes) {
  std::vector<PieceJob> jobs;
  std::set<std::string> seen;
  for (const Genotype& g : genotypes)
    for (auto& p : pieces_of(g))
      if (seen.insert(p.key).second) jobs.push_back({g, std::move(p)});
  return jobs;
}

inline void fit_overhead(Table& table, std::vector<FitSample> samples);

/// Measures every job whose piece is not yet in `table`, all interleaved (timing.hpp), saving
/// when `path` is not empty as each entry finishes: an interrupted build keeps them. With two
/// or more `fit_networks`, those are timed whole in the same rounds (so they see the device as
/// the pieces do) and the overhead is fitted on them. progress's key is empty for a network.
/// Returns the number of pieces measured.
inline std::size_t extend_table(Table& table, const std::vector<PieceJob>& jobs, const std::string& path,
                                const TimingOptions& options = {}, const BuildProgress& progress = {},
                                const std::vector<Genotype>& fit_networks = {}) {
  std::vector<const PieceJob*> todo;
  std::vector<PieceToTime> items;
  for (const PieceJob& j : jobs)
    if (!table.entries.count(j.piece.key)) todo.push_back(&j), items.push_back({j.genotype, j.piece.piece});
  const bool fit = fit_networks.size() >= 2;
  if (fit)
    for (const Genotype& g : fit_networks) items.push_back({g, xnnpack::Piece{}});
  std::size_t finished = 0;
  const std::vector<Measurement> m = measure_pieces(
      items, table.device.threads, options, table.device.dtype, [&](std::size_t i, const Measurement& x) {
        const bool piece = i < todo.size();
        if (piece) {
          table.entries[todo[i]->piece.key] = x;
          table.implementations[todo[i]->piece.key] =
              implementation_of(todo[i]->piece.piece, table.device.threads, table.device.dtype);
          table.index();
          if (!path.empty()) save_table(table, path);
        }
        if (progress) progress(++finished, items.size(), piece ? todo[i]->piece.key : std::string(), x);
      });
  table.index();
  if (fit) {
    std::vector<FitSample> samples;
    for (std::size_t k = 0; k < fit_networks.size(); ++k) samples.push_back({fit_networks[k], m[todo.size() + k]});
    fit_overhead(table, std::move(samples));
    if (!path.empty()) save_table(table, path);
  }
  return todo.size();
}

/// Measures every piece of `genotypes` not yet in `table` (see above).
inline std::size_t extend_table(Table& table, const std::vector<Genotype>& genotypes, const std::string& path,
                                const TimingOptions& options = {}, const BuildProgress& progress = {}) {
  return extend_table(table, genotype_pieces(genotypes), path, options, progress);
}

/// Fits scale and offset on whole-network measurements (least squares on relative error).
inline void fit_overhead(Table& table, const std::vector<Genotype>& networks, const std::vector<double>& measured_ms) {
  EDGENAS_CHECK(networks.size() == measured_ms.size() && networks.size() >= 2, Status::invalid_argument,
                "fit_overhead: need at least 2 networks with one measurement each");
  // Weighted by 1/measured²: the fit minimises relative error, what a predictor is judged by
  // (within ±10 %). Unweighted, the slowest networks set the offset: int8 tables, whose 7×7
  // depthwise blocks are 100× slower than the rest, got an offset larger than whole small
  // networks.
  double s = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < networks.size(); ++i) {
    const double x = table.sum_ms(networks[i]), y = measured_ms[i];
    EDGENAS_CHECK(y > 0 && std::isfinite(y), Status::invalid_argument, "fit_overhead: measured %g ms", y);
    const double w = 1.0 / (y * y);
    s += w, sx += w * x, sy += w * y, sxx += w * x * x, sxy += w * x * y;
  }
  const double denom = s * sxx - sx * sx;
  if (std::abs(denom) < 1e-12 * s * sxx) {  // all sums equal: only an offset can be fitted
    table.scale = 1.0;
    table.offset_ms = (sy - sx) / s;
  } else {
    table.scale = (s * sxy - sx * sy) / denom;
    table.offset_ms = (sy - table.scale * sx) / s;
  }
  // A scale of 0 or less (a few fitting networks timed on a noisy device) would rank every
  // network backwards: fit a line through the origin instead, whose scale is positive
  // whenever the sums and times are (Σw·x·y / Σw·x²).
  if (!(table.scale > 0)) {
    table.scale = sxy / sxx;
    table.offset_ms = 0.0;
  }
  EDGENAS_CHECK(table.scale > 0 && std::isfinite(table.scale), Status::invalid_argument,
                "fit_overhead: no positive scale fits the whole-network times (%g)", table.scale);
  table.fitted_networks = static_cast<int>(networks.size());
}

/// Keeps `samples` in the table and fits on their figure for the table's statistic.
inline void fit_overhead(Table& table, std::vector<FitSample> samples) {
  std::vector<Genotype> nets;
  std::vector<double> ms;
  for (const FitSample& f : samples) nets.push_back(f.genotype), ms.push_back(value_of(f.measured, table.statistic));
  fit_overhead(table, nets, ms);
  table.fit_samples = std::move(samples);
}

/// What build_table reports as it goes: a piece measured (`key` its table key) or a whole
/// fitting network (`key` empty), `done` of `total` items.
using TableProgress = std::function<void(std::size_t done, std::size_t total, const std::string& key)>;

/// The table of `space` for this device at `path`: every piece missing from the file is timed
/// (saved after each, so an interrupted build resumes), interleaved with `fit_networks` random
/// networks timed whole, on which the per-network overhead is fitted unless the table has a
/// fit already. Then reference pieces are timed again: drift_at_end says how far the device's
/// speed moved while the table was built. A table of another device at `path` is an error
/// naming both.
inline Table build_table(const SearchSpace& space, const std::string& path, int threads, int fit_networks,
                         std::uint64_t seed, const TimingOptions& timing = {}, const TableProgress& progress = {},
                         std::string_view dtype = "fp32") {
  Table table;
  table.device = this_device(threads, dtype);
  if (std::filesystem::exists(path)) table = load_table(path, table.device);
  const bool complete = table.fitted_networks > 0 || fit_networks < 2;
  const std::vector<PieceJob> jobs = space_pieces(space);
  if (complete && std::all_of(jobs.begin(), jobs.end(), [&](const PieceJob& j) { return table.entries.count(j.piece.key); }))
    return table;  // nothing to measure: the conditions recorded are the build's
  if (table.entries.empty()) table.built_start = current_conditions();
  std::vector<Genotype> nets;
  Rng rng(seed);
  if (!complete)
    for (int i = 0; i < fit_networks; ++i) nets.push_back(space.sample(rng));
  const Table before = table;  // what the file held (a resumed build keeps it)
  std::optional<Table> first_pass;
  for (;;) {
    extend_table(
        table, jobs, path, timing,
        [&](std::size_t d, std::size_t n, const std::string& key, const Measurement&) {
          if (progress) progress(d, n, key);
        },
        nets);
    table.drift_at_end = measure_with_references(table, {}, timing).drift(table, table.statistic);
    table.built_end = current_conditions();
    const auto moved = [](const Table& t) { return std::abs(t.drift_at_end.ratio - 1.0); };
    // The device's speed moved beyond the noise and by more than 5 % while measuring: measure
    // everything once more, and keep the pass whose end agrees better with its whole.
    if (first_pass || !table.drift_at_end.significant || moved(table) <= 0.05) {
      if (first_pass && moved(*first_pass) < moved(table)) table = *first_pass;
      break;
    }
    first_pass = table;
    table = before;
    table.passes = 2;
    first_pass->passes = 2;
  }
  if (!path.empty()) save_table(table, path);
  return table;
}

/// How well the predictor matches measurement on a set of networks.
struct PredictorReport {
  int networks = 0;
  double mean_abs_error_pct = 0;
  double max_abs_error_pct = 0;
  double rmse_ms = 0;
  double kendall_tau = 0;  // rank agreement: what a search needs
  std::vector<double> predicted_ms, measured_ms;
};

inline PredictorReport check_predictor(const Table& table, const std::vector<Genotype>& networks,
                                       const std::vector<double>& measured_ms) {
  PredictorReport r;
  r.networks = static_cast<int>(networks.size());
  for (std::size_t i = 0; i < networks.size(); ++i) {
    const double p = table.predict_ms(networks[i]), m = measured_ms[i];
    r.predicted_ms.push_back(p);
    r.measured_ms.push_back(m);
    const double err = std::abs(p - m) / m * 100.0;
    r.mean_abs_error_pct += err / static_cast<double>(networks.size());
    r.max_abs_error_pct = std::max(r.max_abs_error_pct, err);
    r.rmse_ms += (p - m) * (p - m) / static_cast<double>(networks.size());
  }
  r.rmse_ms = std::sqrt(r.rmse_ms);
  r.kendall_tau = kendall_tau(r.predicted_ms, r.measured_ms);
  return r;
}

}  // namespace edgenas::latency
