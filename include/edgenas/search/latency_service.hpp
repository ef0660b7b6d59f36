// edgenas/search/latency_service.hpp — the device rank of a distributed search (--latency-rank):
// it builds the latency table of the search's space on its own hardware and measures the chosen
// networks there, while the other ranks train. Requests and answers are JSON messages between
// the leader (rank 0) and the device rank (search/cluster.hpp); the device needs no data and
// no access to the leader's folder.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <functional>
#include <string>

#include "edgenas/core/json.hpp"
#include "edgenas/latency.hpp"
#include "edgenas/latency/kernel_plan.hpp"
#include "edgenas/search/cluster.hpp"
#include "edgenas/space/space_json.hpp"

namespace edgenas::search {

struct TableRequest {
  SearchSpace space;
  int threads = 1, fit_networks = 20;
  std::uint64_t seed = 1;
  std::string precision = "fp32";
  latency::TimingOptions timing{};
  std::string table;  // the table the leader holds already (a resumed search), or empty
};

/// What the device measured a network at, and how far its speed has moved since its table.
struct DeviceMeasurement {
  double ms = 0;
  latency::Drift drift{};
};

namespace detail {
inline json::Value timing_json(const latency::TimingOptions& t) {
  return json::Value()
      .set("warmup_runs", t.warmup_runs)
      .set("round_seconds", t.round_seconds)
      .set("min_rounds", t.min_rounds)
      .set("max_rounds", t.max_rounds)
      .set("memory_bytes", static_cast<double>(t.memory_bytes));
}
inline latency::TimingOptions timing_from_json(const json::Value& v) {
  latency::TimingOptions t;
  t.warmup_runs = v.at("warmup_runs", "timing").as_int("warmup_runs", 0);
  t.round_seconds = v.at("round_seconds", "timing").as_number("round_seconds", 0, 10);
  t.min_rounds = v.at("min_rounds", "timing").as_int("min_rounds", 1);
  t.max_rounds = v.at("max_rounds", "timing").as_int("max_rounds", 1);
  t.memory_bytes = static_cast<std::int64_t>(v.at("memory_bytes", "timing").as_number("memory_bytes", 0, 1e15));
  return t;
}
inline std::string op_of(const json::Value& v) { return v.at("op", "latency request").as_string("op"); }
}  // namespace detail

/// Device rank: answers the leader's requests until it says "done". `scratch` is a folder on the
/// device's own disk: an interrupted table build resumes from it, and its kernel plan lives there.
inline void serve_latency(Cluster& cluster, const std::string& scratch,
                          const std::function<void(const std::string&)>& log = {}) {
  namespace fs = std::filesystem;
  fs::create_directories(scratch);
  std::optional<latency::Table> table;
  for (;;) {
    const json::Value request = json::parse(cluster.receive(0), "latency request");
    const std::string op = detail::op_of(request);
    if (op == "done") return;
    if (op == "table") {
      const SearchSpace space = search_space_from_json(request.at("space", "table request"));
      const int threads = request.at("threads", "table request").as_int("threads", 1, max_threads);
      const std::string precision = request.at("precision", "table request").as_string("precision");
      const std::string file = (fs::path(scratch) / ("latency-" + std::to_string(threads) + "t" +
                                                     (precision == "fp32" ? "" : "-" + precision) + ".json"))
                                   .string();
      const std::string held = request.at("table", "table request").as_string("table");
      if (!held.empty() && !fs::exists(file)) write_file_atomically(file, held);
      latency::use_kernel_plan_file((fs::path(scratch) / "kernel-plan.json").string());
      if (log) log("latency rank " + std::to_string(cluster.rank()) + ": measuring space " + space.name + " into " + file);
      table = latency::build_table(space, file, threads, request.at("fit_networks", "table request").as_int("fit_networks", 0),
                                   std::strtoull(request.at("seed", "table request").as_string("seed").c_str(), nullptr, 10),
                                   detail::timing_from_json(request.at("timing", "table request")), {}, precision);
      cluster.send(0, json::dump(latency::to_json(*table)));
    } else if (op == "measure") {
      const Genotype g = parse_genotype(request.at("genotype", "measure request").as_string("genotype"));
      const auto statistic = static_cast<latency::Statistic>(request.at("statistic", "measure request").as_int("statistic", 0));
      DeviceMeasurement m;
      if (table) {
        const auto [timed, drift] = latency::measure_networks_with_drift(*table, {g});
        m.ms = latency::value_of(timed.front(), statistic);
        m.drift = drift;
      } else {
        const int threads = request.at("threads", "measure request").as_int("threads", 1, max_threads);
        m.ms = latency::value_of(
            latency::measure_network(g, threads, {}, request.at("precision", "measure request").as_string("precision")),
            statistic);
      }
      cluster.send(0, json::dump(json::Value()
                                     .set("ms", m.ms)
                                     .set("ratio", m.drift.ratio)
                                     .set("pieces", m.drift.pieces)
                                     .set("significant", m.drift.significant),
                                 -1));
    } else {
      EDGENAS_FAIL(Status::invalid_argument, "latency rank: unknown request \"%s\"", op.c_str());
    }
  }
}

/// Leader: the device rank's table of `r.space` (measured now, or finished from r.table), as JSON.
inline std::string request_table(Cluster& cluster, const TableRequest& r) {
  cluster.send(cluster.latency_rank(), json::dump(json::Value()
                                                      .set("op", "table")
                                                      .set("space", to_json(r.space))
                                                      .set("threads", r.threads)
                                                      .set("fit_networks", r.fit_networks)
                                                      .set("seed", std::to_string(r.seed))
                                                      .set("precision", r.precision)
                                                      .set("timing", detail::timing_json(r.timing))
                                                      .set("table", r.table),
                                                  -1));
  return cluster.receive(cluster.latency_rank());
}

/// Leader: a network measured on the device rank (with its drift when the device built a table).
inline DeviceMeasurement request_measurement(Cluster& cluster, const Genotype& g, int threads, const std::string& precision,
                                             latency::Statistic statistic) {
  cluster.send(cluster.latency_rank(), json::dump(json::Value()
                                                      .set("op", "measure")
                                                      .set("genotype", to_string(g))
                                                      .set("threads", threads)
                                                      .set("precision", precision)
                                                      .set("statistic", static_cast<int>(statistic)),
                                                  -1));
  const json::Value a = json::parse(cluster.receive(cluster.latency_rank()), "latency answer");
  DeviceMeasurement m;
  m.ms = a.at("ms", "latency answer").as_number("ms");
  m.drift.ratio = a.at("ratio", "latency answer").as_number("ratio");
  m.drift.pieces = a.at("pieces", "latency answer").as_int("pieces", 0);
  m.drift.significant = a.at("significant", "latency answer").as_bool("significant");
  return m;
}

/// Leader: the device rank may stop.
inline void release_latency_rank(Cluster& cluster) {
  if (cluster.latency_rank() >= 0) cluster.send(cluster.latency_rank(), R"({"op":"done"})");
}

}  // namespace edgenas::search
