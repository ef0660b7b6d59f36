// A Google Benchmark console reporter that also prints time ratios of two implementations
// measured in the same run. A benchmark whose name contains a comparison's numerator marker is
// paired with the one whose name is the same with the denominator marker instead (e.g.
// "zoo/v2/edgenas/threads:1" with "zoo/v2/baseline/threads:1"). Each comparison prints its own
// table; a name may take part in several.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

struct RatioComparison {
  std::vector<std::string> numerators, denominators;
  std::string title;
};

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(std::vector<RatioComparison> comparisons)
      : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular),  // plain text when redirected
        comparisons_(std::move(comparisons)), times_(comparisons_.size()) {}
  RatioReporter(std::vector<std::string> numerators, std::vector<std::string> denominators, std::string title)
      : RatioReporter({RatioComparison{std::move(numerators), std::move(denominators), std::move(title)}}) {}

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
      for (std::size_t c = 0; c < comparisons_.size(); ++c) {
        for (const auto& n : comparisons_[c].numerators)
          if (full.find(n) != std::string::npos) times_[c][key(n)].first = t;
        for (const auto& d : comparisons_[c].denominators)
          if (full.find(d) != std::string::npos) times_[c][key(d)].second = t;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    for (std::size_t c = 0; c < comparisons_.size(); ++c) {
      bool any = false;
      for (const auto& [name, t] : times_[c]) {
        if (t.first <= 0 || t.second <= 0) continue;
        if (!any) std::printf("\n%s\n", comparisons_[c].title.c_str());
        any = true;
        std::printf("  %-56s %6.3fx\n", name.c_str(), t.first / t.second);
      }
    }
  }

 private:
  std::vector<RatioComparison> comparisons_;
  std::vector<std::map<std::string, std::pair<double, double>>> times_;
};
