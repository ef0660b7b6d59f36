// edgenas/search/report.hpp — what a search found, and its files: result.json (machine),
// front.tsv (deterministic: what a resumed run must reproduce), report.md (a person) and
// front.svg (accuracy vs latency, budget lines, the chosen networks marked).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "edgenas/core/atomic_file.hpp"
#include "edgenas/search/candidate.hpp"
#include "edgenas/search/strategies.hpp"

namespace edgenas::search {

/// The network chosen for one latency budget, after its final training.
struct ChosenNetwork {
  double budget_ms = 0.0;  // infinity: no latency budget
  bool found = false;
  Candidate candidate;
  double validation_accuracy = 0.0, test_accuracy = 0.0, measured_ms = 0.0, xnnpack_agreement = 0.0;
  bool validation_held_out = true;  // false: the final training also trained on the validation images
  // With a weight average in the final training the average is the model; this is the last
  // weights' test accuracy beside it (−1: no average kept).
  double test_accuracy_without_average = -1.0;
  int final_epochs = 0;  // epochs of the final training (under a time budget: what fitted)
  std::string model_path;
  // The deployed precision; test_accuracy, measured_ms and xnnpack_agreement are in it. int8:
  // xnnpack_agreement is XNNPACK int8 against the integer reference, and the float network's
  // accuracy and post-training quantization's are kept next to QAT's (−1: not run). The deployed
  // int8 model is whichever of the two is more accurate on the validation split (`int8_method`):
  // QAT does not always help (docs/quantization.md), and the test set must not decide.
  std::string precision = "fp32";
  double float_test_accuracy = 0.0, post_training_accuracy = -1.0, qat_accuracy = -1.0;
  double post_training_validation_accuracy = -1.0, qat_validation_accuracy = -1.0;
  std::string int8_method;  // "post-training" or "QAT"; empty for fp32
  // The device's speed when measured_ms was taken against when the latency table was built (its
  // reference pieces re-timed next to the network; > 1: slower now). 0: not compared.
  double device_drift = 0.0;
  bool device_drift_significant = false;  // beyond the reference pieces' own noise
};

/// One line on an int8 network's accuracies: float, post-training and QAT on the test set (with
/// validation in brackets), and which of the two was deployed.
inline std::string int8_summary(const ChosenNetwork& c) {
  char line[240];
  int n = std::snprintf(line, sizeof line, "float %.2f%%, post-training %.2f%% (validation %.2f%%)",
                        100 * c.float_test_accuracy, 100 * c.post_training_accuracy,
                        100 * c.post_training_validation_accuracy);
  if (c.qat_accuracy >= 0)
    n += std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), ", QAT %.2f%% (validation %.2f%%)",
                       100 * c.qat_accuracy, 100 * c.qat_validation_accuracy);
  std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), "; deployed: %s", c.int8_method.c_str());
  return line;
}

struct SearchReport {
  std::string device, space, strategy, preset;
  std::string choose_by = "accuracy";  // SearchConfig::choose_by: how each budget's network was chosen
  std::uint64_t seed = 0;
  std::vector<Candidate> history;
  std::vector<std::size_t> front;
  std::vector<ChosenNetwork> chosen;
  Budgets budgets;
  std::vector<double> latency_budgets;
  double hypervolume = 0.0, wall_seconds = 0.0;
  std::int64_t peak_memory_bytes = 0;  // resident, of the process that wrote the report
  // Reference pieces of the latency table re-timed (at the end of its build, or before a search
  // that loads a table of this device) against their entries (1: no drift); significant:
  // beyond their own noise.
  double table_drift = 1.0;
  bool table_drift_significant = false;
  std::string table_drift_when;               // which moments: e.g. "now, against when T was measured"
  std::string latency_statistic = "typical";  // what predicted and measured latencies are
  double time_budget_minutes = 0.0;           // the run's, which sized the final trainings (0: none)
};

inline json::Value candidate_json(const Candidate& c) {
  return json::Value()
      .set("genotype", to_string(c.genotype))
      .set("validation_accuracy", c.accuracy)
      .set("predicted_ms", c.costs.latency_ms)
      .set("params", c.costs.params)
      .set("macs", c.costs.macs)
      .set("arena_bytes", c.costs.arena_bytes)
      .set("flash_bytes", c.costs.flash_bytes);
}

inline json::Value budget_value(double v) { return std::isfinite(v) ? json::Value(v) : json::Value(); }
inline json::Value budget_value(std::int64_t v) {
  return v == std::numeric_limits<std::int64_t>::max() ? json::Value() : json::Value(v);
}

inline json::Value report_json(const SearchReport& r) {
  json::Value::Array front, chosen;
  for (std::size_t i : r.front) front.push_back(candidate_json(r.history[i]));
  for (const ChosenNetwork& c : r.chosen) {
    json::Value v = json::Value().set("latency_budget_ms", budget_value(c.budget_ms)).set("found", c.found);
    if (c.found)
      v.set("network", candidate_json(c.candidate))
          .set("supernet_validation_accuracy", c.candidate.accuracy)
          .set("validation_accuracy", c.validation_accuracy)
          .set("validation_held_out", c.validation_held_out)
          .set("test_accuracy", c.test_accuracy)
          .set("test_accuracy_without_average", c.test_accuracy_without_average)
          .set("final_epochs", c.final_epochs)
          .set("predicted_ms", c.candidate.costs.latency_ms)
          .set("measured_ms", c.measured_ms)
          .set("xnnpack_agreement", c.xnnpack_agreement)
          .set("model", c.model_path)
          .set("precision", c.precision)
          .set("float_test_accuracy", c.float_test_accuracy)
          .set("post_training_accuracy", c.post_training_accuracy)
          .set("qat_accuracy", c.qat_accuracy)
          .set("post_training_validation_accuracy", c.post_training_validation_accuracy)
          .set("qat_validation_accuracy", c.qat_validation_accuracy)
          .set("int8_method", c.int8_method)
          .set("device_drift", c.device_drift)
          .set("device_drift_significant", c.device_drift_significant);
    chosen.push_back(std::move(v));
  }
  return json::Value()
      .set("device", r.device)
      .set("space", r.space)
      .set("strategy", r.strategy)
      .set("choose_by", r.choose_by)
      .set("preset", r.preset)
      .set("seed", static_cast<std::int64_t>(r.seed))
      .set("evaluations", static_cast<std::int64_t>(r.history.size()))
      .set("budgets", json::Value()
                          .set("latency_ms", budget_value(r.budgets.latency_ms))
                          .set("params", budget_value(r.budgets.params))
                          .set("arena_bytes", budget_value(r.budgets.arena_bytes))
                          .set("flash_bytes", budget_value(r.budgets.flash_bytes))
                          .set("macs", budget_value(r.budgets.macs)))
      .set("hypervolume", r.hypervolume)
      .set("front", std::move(front))
      .set("chosen", std::move(chosen))
      .set("wall_seconds", r.wall_seconds)
      .set("peak_memory_bytes", r.peak_memory_bytes)
      .set("latency_statistic", r.latency_statistic)
      .set("table_drift", r.table_drift)
      .set("table_drift_significant", r.table_drift_significant)
      .set("table_drift_when", r.table_drift_when);
}

/// Everything that must not change when a run is interrupted and resumed (no timings).
inline std::string front_tsv(const SearchReport& r) {
  std::string out =
      "kind\tgenotype\tvalidation_accuracy\tpredicted_ms\tparams\tmacs\tarena_bytes\tflash_bytes\ttest_accuracy\n";
  char line[192];
  const auto row = [&](const char* kind, const Candidate& c, double test) {
    std::snprintf(line, sizeof line, "\t%.17g\t%.17g\t%lld\t%lld\t%lld\t%lld\t%.17g\n", c.accuracy, c.costs.latency_ms,
                  static_cast<long long>(c.costs.params), static_cast<long long>(c.costs.macs),
                  static_cast<long long>(c.costs.arena_bytes), static_cast<long long>(c.costs.flash_bytes), test);
    out += std::string(kind) + "\t" + to_string(c.genotype) + line;
  };
  for (std::size_t i : r.front) row("front", r.history[i], -1.0);
  for (const ChosenNetwork& c : r.chosen)
    if (c.found) row("chosen", c.candidate, c.test_accuracy);
  return out;
}

/// Accuracy (y) against predicted latency (x): every evaluation, the front as a step line,
/// each latency budget as a dashed line, each chosen network circled and labelled.
inline std::string front_svg(const SearchReport& r) {
  const double W = 720, H = 480, left = 70, right = 30, top = 40, bottom = 60;
  double xmax = 0, ymin = 1, ymax = 0;
  for (const auto& c : r.history) {
    xmax = std::max(xmax, c.costs.latency_ms);
    ymin = std::min(ymin, c.accuracy);
    ymax = std::max(ymax, c.accuracy);
  }
  for (double b : r.latency_budgets) xmax = std::max(xmax, b);
  xmax = xmax > 0 ? xmax * 1.08 : 1.0;
  const double pad = std::max(0.005, (ymax - ymin) * 0.08);
  ymin = std::max(0.0, ymin - pad), ymax = std::min(1.0, ymax + pad);
  if (ymax <= ymin) ymax = ymin + 0.01;
  const auto X = [&](double ms) { return left + (W - left - right) * ms / xmax; };
  const auto Y = [&](double acc) { return H - bottom - (H - top - bottom) * (acc - ymin) / (ymax - ymin); };
  std::string s;
  char buf[512];
  const auto add = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    s += buf;
  };
  add("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  add("<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  add("<text x=\"%.0f\" y=\"22\" font-size=\"15\">edgenas search: %s, %s, %zu evaluations</text>\n", left, r.space.c_str(),
      r.strategy.c_str(), r.history.size());
  // Axes with ticks.
  add("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, H - bottom, W - right, H - bottom);
  add("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", left, top, left, H - bottom);
  for (int i = 0; i <= 5; ++i) {
    const double ms = xmax * i / 5, acc = ymin + (ymax - ymin) * i / 5;
    add("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>", X(ms), H - bottom, X(ms), H - bottom + 5);
    add("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3f</text>\n", X(ms), H - bottom + 20, ms);
    add("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, Y(acc), W - right, Y(acc));
    add("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f%%</text>\n", left - 6, Y(acc) + 4, 100 * acc);
  }
  add("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">predicted latency (ms, %s)</text>\n", (left + W - right) / 2,
      H - 15, r.device.substr(0, 60).c_str());
  add("<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">validation accuracy (supernet)</text>\n",
      (top + H - bottom) / 2);
  for (double b : r.latency_budgets) {
    add("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>", X(b), top, X(b),
        H - bottom);
    add("<text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\">budget %.3g ms</text>\n", X(b) + 4, top + 12, b);
  }
  for (const auto& c : r.history)
    add("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#999\" fill-opacity=\"0.6\"/>\n", X(c.costs.latency_ms), Y(c.accuracy));
  std::string path;
  for (std::size_t k = 0; k < r.front.size(); ++k) {
    const auto& c = r.history[r.front[k]];
    if (k) {
      std::snprintf(buf, sizeof buf, " L%.1f %.1f", X(c.costs.latency_ms), Y(r.history[r.front[k - 1]].accuracy));
      path += buf;
    }
    std::snprintf(buf, sizeof buf, "%s%.1f %.1f", k ? " L" : "M", X(c.costs.latency_ms), Y(c.accuracy));
    path += buf;
  }
  if (!path.empty()) s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\"/>\n";
  for (std::size_t i : r.front)
    add("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f5fbf\"/>\n", X(r.history[i].costs.latency_ms), Y(r.history[i].accuracy));
  for (const ChosenNetwork& c : r.chosen) {
    if (!c.found) continue;
    const double x = X(c.candidate.costs.latency_ms), y = Y(c.candidate.accuracy);
    add("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"9\" fill=\"none\" stroke=\"#c00\" stroke-width=\"2.5\"/>", x, y);
    add("<text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\">chosen: test %.2f%%, %.3f ms measured</text>\n", x + 12, y + 18,
        100 * c.test_accuracy, c.measured_ms);
  }
  s += "</svg>\n";
  return s;
}

inline std::string report_markdown(const SearchReport& r) {
  std::string s;
  char buf[1024];
  const auto add = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    s += buf;
  };
  add("# edgenas search report\n\n");
  add("- device: %s\n- space: %s, strategy: %s, preset: %s, seed %llu\n- evaluations: %zu, front: %zu networks, "
      "hypervolume %.4f\n- wall time of this run: %.0f s, peak memory %.0f MiB\n\n",
      r.device.c_str(), r.space.c_str(), r.strategy.c_str(), r.preset.c_str(), static_cast<unsigned long long>(r.seed),
      r.history.size(), r.front.size(), r.hypervolume, r.wall_seconds, static_cast<double>(r.peak_memory_bytes) / 1048576.0);
  if (r.latency_statistic == "p90")
    add("Latencies (budgets, predicted, measured) are the 90th percentile of single runs, not the typical "
        "latency.\n\n");
  if (r.table_drift_significant)
    add("**Warning:** the device's speed differs by %+.1f %% %s (reference pieces of the latency table re-timed): "
        "predictions may be off by that much. Check the table (`edgenas latency check`) or build it again on a quiet "
        "device.\n\n",
        100 * (r.table_drift - 1), r.table_drift_when.c_str());
  add("![front](front.svg)\n\n## Chosen networks\n\n");
  if (r.choose_by == "accuracy+macs")
    add("Chosen within each budget by the rank sum of the supernet's accuracy and the MACs among the evaluated "
        "networks that meet it (`--choose-by accuracy+macs`).\n\n");
  for (const ChosenNetwork& c : r.chosen) {
    if (std::isfinite(c.budget_ms)) add("### Latency budget %.3f ms\n\n", c.budget_ms);
    else add("### No latency budget\n\n");
    if (!c.found) {
      add("No evaluated architecture meets this budget.\n\n");
      continue;
    }
    const auto& k = c.candidate.costs;
    add("```\n%s\n```\n\n", to_string(c.candidate.genotype).c_str());
    add("| test accuracy | validation accuracy | supernet validation accuracy | measured latency | predicted latency | "
        "parameters | MACs | arena bytes | flash bytes | XNNPACK agrees "
        "|\n|---|---|---|---|---|---|---|---|---|---|\n");
    add("| %.2f %% | %.2f %% | %.2f %% | %.4f ms | %.4f ms (%+.1f %%) | %lld | %lld | %lld | %lld | %.1f %% |\n\nModel "
        "file: `%s`\n\n",
        100 * c.test_accuracy, 100 * c.validation_accuracy, 100 * c.candidate.accuracy, c.measured_ms, k.latency_ms,
        c.measured_ms > 0 ? 100 * (k.latency_ms - c.measured_ms) / c.measured_ms : 0.0,
        static_cast<long long>(k.params), static_cast<long long>(k.macs), static_cast<long long>(k.arena_bytes),
        static_cast<long long>(k.flash_bytes), 100 * c.xnnpack_agreement,
        std::filesystem::path(c.model_path).filename().c_str());
    if (!c.validation_held_out)
      add("The final training also trained on the validation images (`--final-with-validation`): its validation "
          "accuracy is not held out; the test accuracy is.\n\n");
    if (r.time_budget_minutes > 0)
      add("The final training ran %d epoch%s, what the run's time budget of %g minutes left room for "
          "(`--time-budget`).\n\n",
          c.final_epochs, c.final_epochs == 1 ? "" : "s", r.time_budget_minutes);
    if (c.test_accuracy_without_average >= 0)
      add("The model is the moving average of the final training's weights (`--weight-average`); the last "
          "weights test at %.2f %%.\n\n",
          100 * c.test_accuracy_without_average);
    if (c.device_drift_significant)
      add("When this latency was measured the device ran %.0f %% %s than when the latency table was built "
          "(the table's reference pieces re-timed next to it): compare predictions with care.\n\n",
          100 * std::abs(c.device_drift - 1), c.device_drift > 1 ? "slower" : "faster");
    if (c.precision == "int8")
      add("int8 (latency and test accuracy above; XNNPACK int8 against the integer reference; the more accurate "
          "on the validation split is deployed): %s\n\n",
          int8_summary(c).c_str());
  }
  add("## Pareto front (validation accuracy vs predicted latency)\n\n| # | accuracy | latency ms | params | MACs | "
      "arena "
      "bytes | flash bytes | genotype |\n|---|---|---|---|---|---|---|---|\n");
  int n = 0;
  for (std::size_t i : r.front) {
    const auto& c = r.history[i];
    s += "| " + std::to_string(++n);
    add(" | %.2f %% | %.4f | %lld | %lld | %lld | %lld | `", 100 * c.accuracy, c.costs.latency_ms,
        static_cast<long long>(c.costs.params), static_cast<long long>(c.costs.macs),
        static_cast<long long>(c.costs.arena_bytes), static_cast<long long>(c.costs.flash_bytes));
    s += to_string(c.genotype) + "` |\n";
  }
  return s;
}

inline void write_report(const std::string& out, const SearchReport& r) {
  const auto path = [&](const char* name) { return (std::filesystem::path(out) / name).string(); };
  write_file_atomically(path("result.json"), json::dump(report_json(r)) + "\n");
  write_file_atomically(path("front.tsv"), front_tsv(r));
  write_file_atomically(path("front.svg"), front_svg(r));
  write_file_atomically(path("report.md"), report_markdown(r));
}

}  // namespace edgenas::search
