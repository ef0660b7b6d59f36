// edgenas — the command-line tool.
//
//   edgenas info [--threads N] [--json]
//   edgenas latency build --space fmnist|mobilenetv3 --table FILE [--threads N] [--fit N]
//   edgenas latency check --space fmnist|mobilenetv3 --table FILE [--samples N] [--json]
//   edgenas latency breakdown --genotype TEXT --table FILE [--json]
//
// Errors are one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <edgenas/latency.hpp>
#include <edgenas/space/search_space.hpp>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace edgenas;

namespace {

SearchSpace space_named(const std::string& name) {
  if (name == "fmnist") return spaces::fmnist();
  if (name == "mobilenetv3") return spaces::mobilenetv3();
  EDGENAS_FAIL(Status::invalid_argument, "unknown search space \"%s\" (built-in: fmnist, mobilenetv3)", name.c_str());
}

// A one-line progress bar with an ETA on stderr (only on a terminal).
class Progress {
 public:
  explicit Progress(std::string what) : what_(std::move(what)), start_(std::chrono::steady_clock::now()), tty_(isatty(2)) {}
  void update(std::size_t done, std::size_t total, const std::string& detail = "") {
    if (!tty_ || total == 0) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total - done) : 0.0;
    const int filled = static_cast<int>(30 * done / total);
    std::fprintf(stderr, "\r%s [%-30.*s] %zu/%zu  ETA %4.0fs  %-48.48s", what_.c_str(), filled,
                 "##############################", done, total, eta, detail.c_str());
    if (done == total) std::fprintf(stderr, "\n");
  }

 private:
  std::string what_;
  std::chrono::steady_clock::time_point start_;
  bool tty_;
};

int info(int threads, bool as_json) {
  const latency::Fingerprint f = latency::this_device(threads);
  if (as_json) {
    json::Value spaces_json;
    for (const char* name : {"fmnist", "mobilenetv3"})
      spaces_json.set(name, json::Value().set("log10_architectures", space_named(name).log10_size()));
    std::printf("%s\n", json::dump(json::Value().set("device", latency::to_json(f)).set("spaces", spaces_json)).c_str());
    return 0;
  }
  std::printf("device   %s\n", latency::describe(f).c_str());
  std::printf("key      %s\n", f.key().c_str());
  for (const char* name : {"fmnist", "mobilenetv3"})
    std::printf("space    %-12s ~10^%.1f architectures\n", name, space_named(name).log10_size());
  return 0;
}

int latency_build(const std::string& space_name, const std::string& path, int threads, int fit_networks,
                  std::uint64_t seed) {
  const SearchSpace space = space_named(space_name);
  latency::Table table;
  table.device = latency::this_device(threads);
  if (std::filesystem::exists(path)) {
    table = latency::load_table(path, table.device);  // resume; another device is an error
    std::fprintf(stderr, "resuming %s: %zu entries already measured\n", path.c_str(), table.entries.size());
  }
  std::printf("device   %s\n", latency::describe(table.device).c_str());
  const auto jobs = latency::space_pieces(space);
  Progress bar("measuring pieces");
  const std::size_t added = latency::extend_table(table, jobs, path, {},
                                                  [&](std::size_t d, std::size_t n, const std::string& key,
                                                      const latency::Measurement&) { bar.update(d, n, key); });
  std::printf("pieces   %zu distinct in space %s, %zu measured now, %zu in the table\n", jobs.size(), space.name.c_str(),
              added, table.entries.size());
  Rng rng(seed);
  std::vector<Genotype> nets;
  std::vector<double> measured;
  Progress fit_bar("measuring networks");
  for (int i = 0; i < fit_networks; ++i) {
    nets.push_back(space.sample(rng));
    measured.push_back(latency::measure_network(nets.back(), threads).median_ms);
    fit_bar.update(static_cast<std::size_t>(i + 1), static_cast<std::size_t>(fit_networks));
  }
  latency::fit_overhead(table, nets, measured);
  latency::save_table(table, path);
  std::printf("fit      latency = %.4f x sum(pieces) %+.4f ms over %d networks\ntable    %s\n", table.scale,
              table.offset_ms, table.fitted_networks, path.c_str());
  return 0;
}

int latency_check(const std::string& space_name, const std::string& path, int threads, int samples, std::uint64_t seed,
                  bool as_json) {
  const SearchSpace space = space_named(space_name);
  const latency::Table table = latency::load_table(path, latency::this_device(threads));
  Rng rng(seed);
  std::vector<Genotype> nets;
  std::vector<double> measured;
  int unstable = 0;
  Progress bar("measuring networks");
  for (int i = 0; i < samples; ++i) {
    nets.push_back(space.sample(rng));
    table.predict_ms(nets.back());  // fails early, naming the piece, if the table lacks one
    const latency::Measurement m = latency::measure_network(nets.back(), threads);
    unstable += !m.stable;
    measured.push_back(m.median_ms);
    bar.update(static_cast<std::size_t>(i + 1), static_cast<std::size_t>(samples));
  }
  const latency::PredictorReport r = latency::check_predictor(table, nets, measured);
  int within5 = 0, within10 = 0;
  for (std::size_t i = 0; i < nets.size(); ++i) {
    const double err = std::abs(r.predicted_ms[i] - r.measured_ms[i]) / r.measured_ms[i];
    within5 += err <= 0.05;
    within10 += err <= 0.10;
  }
  // Prediction throughput: how many predictions a search can afford.
  const auto t0 = std::chrono::steady_clock::now();
  volatile double sink = 0.0;  // keeps the predictions from being optimised away
  const int reps = 200000;
  for (int i = 0; i < reps; ++i) sink = sink + table.predict_ms(nets[static_cast<std::size_t>(i) % nets.size()]);
  const double per_second = reps / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (as_json) {
    std::printf("%s\n", json::dump(json::Value()
                                       .set("space", space.name)
                                       .set("networks", r.networks)
                                       .set("within_5_percent", static_cast<double>(within5) / samples)
                                       .set("within_10_percent", static_cast<double>(within10) / samples)
                                       .set("mean_abs_error_percent", r.mean_abs_error_pct)
                                       .set("max_abs_error_percent", r.max_abs_error_pct)
                                       .set("kendall_tau", r.kendall_tau)
                                       .set("unstable_measurements", unstable)
                                       .set("predictions_per_second", per_second))
                            .c_str());
  } else {
    std::printf("device      %s\n", latency::describe(table.device).c_str());
    std::printf("space       %s, %d random networks (seed %llu), measured end to end\n", space.name.c_str(), r.networks,
                static_cast<unsigned long long>(seed));
    std::printf("within ±5%%  %.1f %%\nwithin ±10%% %.1f %%\nmean |err|  %.2f %%  (max %.2f %%, RMSE %.4f ms)\n",
                100.0 * within5 / samples, 100.0 * within10 / samples, r.mean_abs_error_pct, r.max_abs_error_pct,
                r.rmse_ms);
    std::printf("kendall tau %.3f\nunstable    %d measurements did not settle within the spread bound\n", r.kendall_tau,
                unstable);
    std::printf("predictions %.2f M/s\n", per_second / 1e6);
  }
  return 0;
}

// Where the time goes: every piece of a network measured on its own next to its table entry,
// and the whole network measured against the prediction.
int latency_breakdown(const std::string& genotype_text, const std::string& path, int threads, bool as_json) {
  const Genotype g = parse_genotype(genotype_text);
  const latency::Table table = latency::load_table(path, latency::this_device(threads));
  json::Value::Array rows;
  double measured_sum = 0.0;
  if (!as_json) std::printf("%-52s %10s %10s %7s\n", "piece", "table ms", "now ms", "share");
  const double predicted = table.predict_ms(g);
  std::vector<std::pair<std::string, double>> now;
  for (const auto& p : latency::pieces_of(g)) {
    const double ms = latency::measure_piece(g, p.piece, threads).median_ms;
    measured_sum += ms;
    now.emplace_back(p.key, ms);
  }
  for (const auto& [key, ms] : now) {
    const double entry = table.entries.at(key).median_ms;
    if (as_json)
      rows.push_back(json::Value().set("piece", key).set("table_ms", entry).set("measured_ms", ms));
    else
      std::printf("%-52s %10.4f %10.4f %6.1f%%\n", key.c_str(), entry, ms, 100.0 * ms / measured_sum);
  }
  const double whole = latency::measure_network(g, threads).median_ms;
  if (as_json) {
    std::printf("%s\n", json::dump(json::Value()
                                       .set("genotype", to_string(g))
                                       .set("pieces", std::move(rows))
                                       .set("predicted_ms", predicted)
                                       .set("measured_ms", whole))
                            .c_str());
  } else {
    std::printf("network: predicted %.4f ms, measured %.4f ms (%+.1f %%)\n", predicted, whole,
                100.0 * (predicted - whole) / whole);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edgenas — hardware-aware neural architecture search for embedded targets"};
  app.require_subcommand(1);
  int threads = 1;
  bool as_json = false;

  auto* info_cmd = app.add_subcommand("info", "Print this device's fingerprint and the built-in search spaces");
  info_cmd->add_option("--threads", threads, "Threads the fingerprint is for")->check(CLI::PositiveNumber);
  info_cmd->add_flag("--json", as_json, "Machine-readable output");

  auto* lat = app.add_subcommand("latency", "Build or check per-piece latency tables measured on this device");
  lat->require_subcommand(1);
  std::string space = "fmnist", table;
  int fit = 40, samples = 100;
  std::uint64_t seed = 1;
  auto* build = lat->add_subcommand("build", "Time every distinct piece of a search space (resumable), then fit the overhead");
  auto* check = lat->add_subcommand("check", "Compare predictions with end-to-end measurements of random networks");
  for (auto* cmd : {build, check}) {
    cmd->add_option("--space", space, "Search space: fmnist or mobilenetv3")->check(CLI::IsMember({"fmnist", "mobilenetv3"}));
    cmd->add_option("--table", table, "Latency table file (JSON)")->required();
    cmd->add_option("--threads", threads, "Threads XNNPACK uses")->check(CLI::PositiveNumber);
  }
  build->add_option("--fit", fit, "Networks measured whole to fit the per-network overhead")->check(CLI::Range(2, 10000));
  build->add_option("--seed", seed, "Seed for the fitting networks");
  check->add_option("--samples", samples, "Random networks to measure")->check(CLI::Range(2, 100000));
  check->add_option("--seed", seed, "Seed for the random networks")->default_val(12345);
  check->add_flag("--json", as_json, "Machine-readable output");
  std::string genotype;
  auto* breakdown = lat->add_subcommand("breakdown", "Per-piece latency of one network: table, measured now, share");
  breakdown->add_option("--genotype", genotype, "The network, in genotype text form")->required();
  breakdown->add_option("--table", table, "Latency table file (JSON)")->required();
  breakdown->add_option("--threads", threads, "Threads XNNPACK uses")->check(CLI::PositiveNumber);
  breakdown->add_flag("--json", as_json, "Machine-readable output");

  CLI11_PARSE(app, argc, argv);
  try {
    if (info_cmd->parsed()) return info(threads, as_json);
    if (build->parsed()) return latency_build(space, table, threads, fit, seed);
    if (check->parsed()) return latency_check(space, table, threads, samples, seed, as_json);
    if (breakdown->parsed()) return latency_breakdown(genotype, table, threads, as_json);
  } catch (const Error& e) {
    std::fprintf(stderr, "edgenas: %s\n", e.what());
    return 1;
  }
  return 0;
}
