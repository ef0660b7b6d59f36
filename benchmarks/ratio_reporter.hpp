// A Google Benchmark console reporter that also prints, per case, the time ratio of two
// implementations measured in the same run: benchmarks named "<numerator>/<case>" and
// "<denominator>/<case>" are paired.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter(std::vector<std::string> numerators, std::vector<std::string> denominators, std::string title)
      : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular),  // plain text when redirected
        numerators_(std::move(numerators)), denominators_(std::move(denominators)), title_(std::move(title)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      // Single runs, or the median when repetitions are aggregated.
      if (run.error_occurred || (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median")) continue;
      const std::string full = run.run_name.str();
      const auto slash = full.find('/');
      if (slash == std::string::npos) continue;
      const std::string kind = full.substr(0, slash), rest = full.substr(slash + 1);
      const double t = run.GetAdjustedRealTime();
      for (const auto& n : numerators_)
        if (kind == n) times_[rest].first = t;
      for (const auto& d : denominators_)
        if (kind == d) times_[rest].second = t;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%s\n", title_.c_str());
    for (const auto& [name, t] : times_)
      if (t.first > 0 && t.second > 0) std::printf("  %-32s %6.3fx\n", name.c_str(), t.first / t.second);
  }

 private:
  std::vector<std::string> numerators_, denominators_;
  std::string title_;
  std::map<std::string, std::pair<double, double>> times_;
};
