// The subcommands of the edgenas tool. Each lives in its own file with its own options struct:
// add_*_command() adds it to the app and, when the user chooses it, sets `run` to its action.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace edgenas::cli {

using Action = std::function<int()>;

/// A check for a numeric option: a finite number in [lo, hi] (or (lo, hi] when `above_lo`).
/// CLI11's own PositiveNumber lets NaN through ("--latency-budget nan" meant no budget) and
/// prints its range with 309 digits; this names the range in plain numbers.
inline CLI::Validator number(double lo, double hi, bool above_lo = false) {
  char range[96];
  std::snprintf(range, sizeof range, above_lo ? "greater than %.15g and at most %.15g" : "from %.15g to %.15g", lo, hi);
  const std::string expected = range;
  return CLI::Validator(
      [lo, hi, above_lo, expected](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
          return "\"" + text + "\" is not a finite number (expected " + expected + ")";
        if ((above_lo ? v <= lo : v < lo) || v > hi) return text + " is out of range: expected " + expected;
        return "";
      },
      "NUMBER " + expected);
}
/// Counts of threads: 1 to edgenas::max_threads (256).
inline CLI::Validator thread_count() { return number(1, 256); }
/// Epochs: 0 (skip the stage) to 10000.
inline CLI::Validator epochs(double lo = 0) { return number(lo, 10000); }
/// Learning rates: above 0, at most 10.
inline CLI::Validator learning_rate() { return number(0, 10, true); }
/// Image counts: 1 (or lo) to a billion.
inline CLI::Validator images(double lo = 1) { return number(lo, 1e9); }
/// Budgets in parameters, MACs or bytes: 1 to 10^15.
inline CLI::Validator budget() { return number(1, 1e15); }

void add_info_command(CLI::App& app, Action& run);     // info.cpp
void add_search_command(CLI::App& app, Action& run);   // search_command.cpp
void add_data_command(CLI::App& app, Action& run);     // data_command.cpp
void add_train_command(CLI::App& app, Action& run);    // train_command.cpp
void add_bench_command(CLI::App& app, Action& run);    // bench_command.cpp
void add_export_command(CLI::App& app, Action& run);   // export_command.cpp
void add_latency_command(CLI::App& app, Action& run);  // latency_command.cpp

}  // namespace edgenas::cli
