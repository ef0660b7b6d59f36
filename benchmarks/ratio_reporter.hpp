// A Google Benchmark console reporter that also prints, per case, the time ratio of two
// implementations measured in the same run. A benchmark whose name contains a numerator
// marker is paired with the one whose name is the same with a denominator marker instead
// (e.g. "zoo/v2/edgenas/threads:1" with "zoo/v2/baseline/threads:1").
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
      const double t = run.GetAdjustedRealTime();
      const auto key = [&](const std::string& marker) {
        std::string k = full;
        return k.erase(k.find(marker), marker.size());
      };
      for (const auto& n : numerators_)
        if (full.find(n) != std::string::npos) times_[key(n)].first = t;
      for (const auto& d : denominators_)
        if (full.find(d) != std::string::npos) times_[key(d)].second = t;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%s\n", title_.c_str());
    for (const auto& [name, t] : times_)
      if (t.first > 0 && t.second > 0) std::printf("  %-40s %6.3fx\n", name.c_str(), t.first / t.second);
  }

 private:
  std::vector<std::string> numerators_, denominators_;
  std::string title_;
  std::map<std::string, std::pair<double, double>> times_;
};
