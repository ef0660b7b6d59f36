// `edgenas latency build|check|breakdown`: per-piece latency tables measured on this device,
// how well they predict whole networks, and where one network's time goes.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <edgenas/latency.hpp>
#include <edgenas/space/search_space.hpp>

#include "cli_common.hpp"
#include "commands.hpp"

namespace edgenas::cli {
namespace {

struct LatencyOptions {
  std::string space = "fmnist", table, genotype;
  int threads = 1, fit = 40, samples = 100;
  std::uint64_t seed = 1, check_seed = 12345;
  bool json = false;
  std::string precision = "fp32";
  bool no_drift_correction = false;
  std::string statistic = "typical";
};

latency::Statistic statistic_named(const std::string& name, const latency::Table& table) {
  return name == "p90" ? latency::Statistic::run_p90 : latency::typical_statistic(table);
}

int latency_build(const LatencyOptions& o) {
  const SearchSpace space = space_named(o.space);
  const std::string& path = o.table;
  if (std::filesystem::exists(path)) std::fprintf(stderr, "resuming %s\n", path.c_str());
  const latency::Conditions before = latency::current_conditions();
  const std::string warning = latency::noise_warning(before, latency::this_device(o.threads).logical_processors);
  if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  Progress bar("latency table (pieces and fitting networks)");
  const latency::Table table = latency::build_table(
      space, path, o.threads, o.fit, o.seed, {},
      [&](std::size_t d, std::size_t n, const std::string& key) {
        bar.update(d, n, key.empty() ? "a fitting network" : key);
      },
      o.precision);
  std::printf("device   %s\n", latency::describe(table.device).c_str());
  std::printf("pieces   %zu distinct in space %s, %zu in the table\n", latency::space_pieces(space).size(),
              space.name.c_str(), table.entries.size());
  std::printf("fit      latency = %.4f x sum(pieces) %+.4f ms over %d networks\n", table.scale, table.offset_ms,
              table.fitted_networks);
  std::printf("device   at the start of the build: %s\n         at its end: %s\n",
              latency::describe(table.built_start).c_str(), latency::describe(table.built_end).c_str());
  const latency::Drift& d = table.drift_at_end;
  std::printf(
      "drift    %d reference pieces re-timed at the end: %+.1f %% (%+.1f to %+.1f %%), %s%s\ntable    %s\n", d.pieces,
      100.0 * (d.ratio - 1), 100.0 * (d.low - 1), 100.0 * (d.high - 1),
      d.significant ? "beyond the noise" : "within the noise",
      table.passes > 1 ? "; measured twice (the speed moved during the first pass), the steadier pass kept" : "",
      path.c_str());
  if (d.significant)
    std::fprintf(
        stderr,
        "warning: the device's speed moved by %+.1f %% while the table was built; other work or the CPU's "
        "clock changed it. Check it (`edgenas latency check`, which corrects for such drift) or build it again "
        "on a quiet device.\n",
        100.0 * (d.ratio - 1));
  return 0;
}

int latency_check(const LatencyOptions& o) {
  const SearchSpace space = space_named(o.space);
  const std::string& path = o.table;
  const int threads = o.threads, samples = o.samples;
  const std::uint64_t seed = o.check_seed;
  const bool as_json = o.json;
  const latency::Table table = latency::load_table(path, latency::this_device(threads, o.precision));
  Rng rng(seed);
  std::vector<Genotype> nets;
  for (int i = 0; i < samples; ++i) {
    nets.push_back(space.sample(rng));
    table.predict_ms(nets.back());  // fails early, naming the piece, if the table lacks one
  }
  // All networks timed interleaved, in rounds (timing.hpp), as the table's pieces were, together
  // with reference pieces of the table: how much the device's speed moved since it was built.
  // When the device did not hold still (settled()), measure again, up to twice, and keep the
  // most settled attempt.
  const latency::Statistic statistic = statistic_named(o.statistic, table);
  latency::TimedWithReferences timed;
  int attempts = 0;
  do {
    Progress bar(attempts == 0 ? "measuring networks" : "the device was unsettled: measuring again");
    latency::TimingOptions timing;
    timing.seed += static_cast<std::uint64_t>(attempts);
    latency::TimedWithReferences t = latency::measure_with_references(
        table, nets, timing, [&](std::size_t done, std::size_t total) { bar.update(done, total); });
    if (attempts++ == 0 || t.unstable() < timed.unstable()) timed = std::move(t);
  } while (attempts < 3 && !timed.settled(table, statistic));
  const bool settled = timed.settled(table, statistic);
  if (!settled)
    std::fprintf(stderr,
                 "warning: the device did not hold still in %d attempts (other work is running?): the figures below "
                 "describe this moment's noise as much as the table\n",
                 attempts);
  const int unstable = timed.unstable();
  // How one statistic's predictions fare: the table predicting it (refitted on its fitting
  // networks measured the same way), against the same statistic of each network, corrected for
  // the drift its reference pieces show unless told not to.
  struct Judged {
    latency::PredictorReport report, uncorrected;
    latency::Drift drift;
    double factor = 1.0, within5 = 0, within10 = 0, covered = 0;  // covered: measured <= predicted
  };
  const auto within = [&](const latency::PredictorReport& r, double bound) {
    int n = 0;
    for (std::size_t i = 0; i < nets.size(); ++i)
      n += std::abs(r.predicted_ms[i] - r.measured_ms[i]) <= bound * r.measured_ms[i];
    return static_cast<double>(n) / samples;
  };
  const auto judge = [&](latency::Statistic s) {
    Judged j;
    latency::Table t = table;
    t.select(s);
    std::vector<double> measured;
    for (const latency::Measurement& m : timed.networks) measured.push_back(latency::value_of(m, s));
    j.drift = timed.drift(t, s);
    j.uncorrected = latency::check_predictor(t, nets, measured);
    j.factor = o.no_drift_correction ? 1.0 : j.drift.correction();
    t.scale *= j.factor, t.offset_ms *= j.factor;
    j.report = latency::check_predictor(t, nets, measured);
    j.within5 = within(j.report, 0.05), j.within10 = within(j.report, 0.10);
    for (std::size_t i = 0; i < nets.size(); ++i)
      if (j.report.measured_ms[i] <= j.report.predicted_ms[i]) j.covered += 1.0 / samples;
    return j;
  };
  const Judged main = judge(statistic);
  const latency::PredictorReport& r = main.report;
  const latency::Drift& drift = main.drift;
  const double factor = main.factor, within5 = main.within5, within10 = main.within10;
  // Where the model fails: signed error of networks grouped by depth, largest kernel, and
  // whether they hold squeeze-and-excitation.
  struct Group {
    int networks = 0, within10 = 0;
    double signed_error = 0;  // sum of (predicted − measured) / measured
  };
  std::map<std::string, std::map<std::string, Group>> groups;
  for (std::size_t i = 0; i < nets.size(); ++i) {
    int kernel = nets[i].stem.kernel;
    bool se = false;
    for (const BlockGene& b : nets[i].blocks) kernel = std::max(kernel, b.kernel), se = se || b.se;
    const double err = (r.predicted_ms[i] - r.measured_ms[i]) / r.measured_ms[i];
    for (const auto& [by, value] : {std::pair<std::string, std::string>{"depth", std::to_string(nets[i].blocks.size())},
                                    {"largest kernel", std::to_string(kernel)},
                                    {"squeeze-excite", se ? "some" : "none"}}) {
      Group& g = groups[by][value];
      ++g.networks;
      g.within10 += std::abs(err) <= 0.10;
      g.signed_error += err;
    }
  }
  // Prediction throughput: how many predictions a search can afford.
  const auto t0 = std::chrono::steady_clock::now();
  volatile double sink = 0.0;  // keeps the predictions from being optimised away
  const int reps = 200000;
  for (int i = 0; i < reps; ++i) sink = sink + table.predict_ms(nets[static_cast<std::size_t>(i) % nets.size()]);
  const double per_second = reps / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (as_json) {
    // The same measurements judged with each estimator of the typical latency (the one the
    // tables use, p10, was chosen by comparing them: docs/latency.md).
    json::Value estimators = json::Value(json::Value::Object{});
    if (!table.fit_samples.empty())
      for (latency::Statistic s : {latency::Statistic::median, latency::Statistic::trimmed_mean,
                                   latency::Statistic::p10, latency::Statistic::uncorrected_median}) {
        const Judged j = judge(s);
        estimators.set(std::string(latency::statistic_name(s)),
                       json::Value()
                           .set("within_5_percent", j.within5)
                           .set("within_10_percent", j.within10)
                           .set("mean_abs_error_percent", j.report.mean_abs_error_pct)
                           .set("kendall_tau", j.report.kendall_tau)
                           .set("drift_ratio", j.drift.ratio));
      }
    json::Value error_by = json::Value(json::Value::Object{});
    for (const auto& [by, values] : groups) {
      json::Value v = json::Value(json::Value::Object{});
      for (const auto& [value, g] : values)
        v.set(value, json::Value()
                         .set("networks", g.networks)
                         .set("mean_error_percent", 100.0 * g.signed_error / g.networks)
                         .set("within_10_percent", static_cast<double>(g.within10) / g.networks));
      error_by.set(by, std::move(v));
    }
    json::Value::Array rows;
    for (std::size_t i = 0; i < nets.size(); ++i)
      rows.push_back(json::Value()
                         .set("genotype", to_string(nets[i]))
                         .set("predicted_ms", r.predicted_ms[i])
                         .set("measured_ms", r.measured_ms[i]));
    std::printf("%s\n", json::dump(json::Value()
                                       .set("space", space.name)
                                       .set("networks", r.networks)
                                       .set("within_5_percent", within5)
                                       .set("within_10_percent", within10)
                                       .set("mean_abs_error_percent", r.mean_abs_error_pct)
                                       .set("max_abs_error_percent", r.max_abs_error_pct)
                                       .set("kendall_tau", r.kendall_tau)
                                       .set("unstable_measurements", unstable)
                                       .set("attempts", attempts)
                                       .set("settled", settled)
                                       .set("statistic", o.statistic)
                                       .set("measured_at_most_predicted", main.covered)
                                       .set("drift_ratio", drift.ratio)
                                       .set("drift_significant", drift.significant)
                                       .set("drift_corrected", factor != 1.0)
                                       .set("uncorrected_within_10_percent", within(main.uncorrected, 0.10))
                                       .set("table_drift_at_end", table.drift_at_end.ratio)
                                       .set("estimators", std::move(estimators))
                                       .set("predictions_per_second", per_second)
                                       .set("error_by", std::move(error_by))
                                       .set("networks_measured", std::move(rows)))
                            .c_str());
  } else {
    std::printf("device      %s\n", latency::describe(table.device).c_str());
    std::printf("space       %s, %d random networks (seed %llu), measured end to end\n", space.name.c_str(), r.networks,
                static_cast<unsigned long long>(seed));
    std::printf("conditions  now: %s; table built: %s\n", latency::describe(latency::current_conditions()).c_str(),
                latency::describe(table.built_end).c_str());
    std::printf("drift       the device is %.1f %% %s than when the table was measured (%d reference pieces: %+.1f to "
                "%+.1f %%); %s\n",
                100.0 * std::abs(drift.ratio - 1), drift.ratio >= 1 ? "slower" : "faster", drift.pieces,
                100.0 * (drift.low - 1), 100.0 * (drift.high - 1),
                o.no_drift_correction ? "not corrected"
                : drift.significant   ? "predictions corrected by it"
                                      : "within the noise, not corrected");
    if (statistic == latency::Statistic::run_p90)
      std::printf("statistic   %s of single runs: %.1f %% of networks measured at or below their prediction\n",
                  o.statistic.c_str(), 100.0 * main.covered);
    std::printf("within ±5%%  %.1f %%\nwithin ±10%% %.1f %%", 100.0 * within5, 100.0 * within10);
    if (factor != 1.0) std::printf("  (%.1f %% without the correction)", 100.0 * within(main.uncorrected, 0.10));
    std::printf("\nmean |err|  %.2f %%  (max %.2f %%, RMSE %.4f ms)\n", r.mean_abs_error_pct, r.max_abs_error_pct,
                r.rmse_ms);
    std::printf(
        "kendall tau %.3f\nunstable    %d measurements whose 95%% interval stayed wider than +-2%%%s\n", r.kendall_tau,
        unstable,
        attempts > 1 ? (" (measured " + std::to_string(attempts) + " times: the device was unsettled)").c_str() : "");
    std::printf("predictions %.2f M/s\nwhere it misses (mean signed error: + predicted too slow; share within ±10%%):\n",
                per_second / 1e6);
    for (const auto& [by, values] : groups) {
      std::printf("  %-15s", by.c_str());
      for (const auto& [value, g] : values)
        std::printf("  %s: %+.1f %% %.0f %% (%d)", value.c_str(), 100.0 * g.signed_error / g.networks,
                    100.0 * g.within10 / g.networks, g.networks);
      std::printf("\n");
    }
  }
  return 0;
}

// Where the time goes: every piece of a network measured on its own next to its table entry,
// and the whole network measured against the prediction.
int latency_breakdown(const LatencyOptions& o) {
  const Genotype g = parse_genotype(o.genotype);
  const std::string& path = o.table;
  const int threads = o.threads;
  const bool as_json = o.json;
  const latency::Table table = latency::load_table(path, latency::this_device(threads, o.precision));
  json::Value::Array rows;
  double measured_sum = 0.0;
  if (!as_json) std::printf("%-52s %10s %10s %7s\n", "piece", "table ms", "now ms", "share");
  const double predicted = table.predict_ms(g);
  std::vector<std::pair<std::string, double>> now;
  for (const auto& p : latency::pieces_of(g)) {
    const double ms = latency::value_of(latency::measure_piece(g, p.piece, threads, {}, o.precision), table.statistic);
    measured_sum += ms;
    now.emplace_back(p.key, ms);
  }
  for (const auto& [key, ms] : now) {
    const double entry = latency::value_of(table.entries.at(key), table.statistic);
    if (as_json)
      rows.push_back(json::Value().set("piece", key).set("table_ms", entry).set("measured_ms", ms));
    else
      std::printf("%-52s %10.4f %10.4f %6.1f%%\n", key.c_str(), entry, ms, 100.0 * ms / measured_sum);
  }
  const double whole = latency::value_of(latency::measure_network(g, threads, {}, o.precision), table.statistic);
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

void add_latency_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<LatencyOptions>();
  auto* lat = app.add_subcommand("latency", "Build or check per-piece latency tables measured on this device");
  lat->require_subcommand(1);
  auto* build = lat->add_subcommand("build", "Time every distinct piece of a search space (resumable), then fit the overhead");
  auto* check = lat->add_subcommand("check", "Compare predictions with end-to-end measurements of random networks");
  auto* breakdown = lat->add_subcommand("breakdown", "Per-piece latency of one network: table, measured now, share");
  for (auto* cmd : {build, check, breakdown})
    cmd->add_option("--precision", o->precision, "Networks in fp32 or int8 (XNNPACK's qint8 kernels); part of the table's key")
        ->check(CLI::IsMember({"fp32", "int8"}))
        ->capture_default_str();
  for (auto* cmd : {build, check}) {
    cmd->add_option("--space", o->space, "fmnist, fmnist-mcu (stem stride 2, for microcontrollers), mobilenetv3, or a space .json file")
        ->capture_default_str();
    cmd->add_option("--table", o->table, "Latency table file (JSON)")->required();
    cmd->add_option("--threads", o->threads, "Threads XNNPACK uses")->check(thread_count());
  }
  build->add_option("--fit", o->fit, "Networks measured whole to fit the per-network overhead")
      ->check(number(2, 10000));
  build->add_option("--seed", o->seed, "Seed for the fitting networks");
  check->add_option("--samples", o->samples, "Random networks to measure")->check(number(2, 100000));
  check->add_option("--seed", o->check_seed, "Seed for the random networks")->capture_default_str();
  check->add_flag("--json", o->json, "Machine-readable output");
  check
      ->add_option("--statistic", o->statistic,
                   "What to predict and measure: the typical latency, or the 90th percentile of single runs (p90)")
      ->check(CLI::IsMember({"typical", "p90"}))
      ->capture_default_str();
  check->add_flag("--no-drift-correction", o->no_drift_correction,
                  "Judge the table's predictions as they are, not scaled by the device's drift since it was measured");
  breakdown->add_option("--genotype", o->genotype, "The network, in genotype text form")->required();
  breakdown->add_option("--table", o->table, "Latency table file (JSON)")->required();
  breakdown->add_option("--threads", o->threads, "Threads XNNPACK uses")->check(thread_count());
  breakdown->add_flag("--json", o->json, "Machine-readable output");
  build->callback([o, &run] { run = [o] { return latency_build(*o); }; });
  check->callback([o, &run] { run = [o] { return latency_check(*o); }; });
  breakdown->callback([o, &run] { run = [o] { return latency_breakdown(*o); }; });
}

}  // namespace edgenas::cli
