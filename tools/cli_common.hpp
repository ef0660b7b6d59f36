// Shared pieces of the edgenas command-line tool: spaces by name or file, progress bars.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <edgenas/space/search_space.hpp>
#include <edgenas/space/space_json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace edgenas::cli {

/// A built-in space (spaces::builtin(): fmnist, fmnist-mcu, mobilenetv3) or a JSON space description file.
inline SearchSpace space_named(const std::string& name) {
  if (std::optional<SearchSpace> s = spaces::named(name)) return std::move(*s);
  std::string names;
  for (const SearchSpace& s : spaces::builtin()) names += (names.empty() ? "" : ", ") + s.name;
  EDGENAS_CHECK(name.find(".json") != std::string::npos || std::filesystem::exists(name), Status::invalid_argument,
                "unknown search space \"%s\" (built-in: %s; or a .json space file)", name.c_str(), names.c_str());
  std::ifstream in(name);
  EDGENAS_CHECK(in.good(), Status::io_error, "%s: cannot open space file", name.c_str());
  std::stringstream text;
  text << in.rdbuf();
  return search_space_from_json(json::parse(text.str(), name.c_str()));
}

/// A progress bar with an ETA on stderr: redrawn in place on a terminal, otherwise one line at
/// every tenth of the way (so CI logs and `tee` stay readable). When the count starts over (the
/// next epoch of a task, the next pass of a table) the elapsed time keeps running but the ETA is
/// estimated from the new pass alone.
class Progress {
 public:
  explicit Progress(std::string what, bool quiet = false)
      : what_(std::move(what)),
        start_(std::chrono::steady_clock::now()),
        pass_start_(start_),
        tty_(isatty(2)),
        quiet_(quiet) {}
  void update(std::size_t done, std::size_t total, const std::string& detail = "") {
    if (quiet_ || total == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < last_done_) {  // a new pass: its first step is not timed, so count from here
      pass_start_ = now, pass_base_ = done;
      last_tenth_ = static_cast<std::size_t>(-1);
    }
    last_done_ = done;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double pass = std::chrono::duration<double>(now - pass_start_).count();
    char eta[32] = "ETA ?";
    if (done > pass_base_)
      std::snprintf(eta, sizeof eta, "ETA %.0fs",
                    pass / static_cast<double>(done - pass_base_) * static_cast<double>(total - done));
    if (tty_) {
      const int filled = static_cast<int>(30 * done / total);
      std::fprintf(stderr, "\r%s [%-30.*s] %zu/%zu  %5.0fs  %s  %-44.44s", what_.c_str(), filled,
                   "##############################", done, total, elapsed, eta, detail.c_str());
      if (done == total) std::fprintf(stderr, "\n");
      return;
    }
    const std::size_t tenth = done * 10 / total;
    if (tenth == last_tenth_ && done != total) return;
    last_tenth_ = tenth;
    std::fprintf(stderr, "%s %zu/%zu  %.0fs elapsed, %s  %s\n", what_.c_str(), done, total, elapsed, eta,
                 detail.c_str());
  }

 private:
  std::string what_;
  std::chrono::steady_clock::time_point start_, pass_start_;
  bool tty_, quiet_;
  std::size_t last_tenth_ = static_cast<std::size_t>(-1);
  std::size_t last_done_ = 0, pass_base_ = 0;
};

/// A training-progress callback for `bar` that shows each batch's loss.
inline auto loss_progress(Progress& bar) {
  return [&bar](std::size_t batch, std::size_t batches, double loss) {
    char detail[32];
    std::snprintf(detail, sizeof detail, "loss %.3f", loss);
    bar.update(batch, batches, detail);
  };
}

}  // namespace edgenas::cli
