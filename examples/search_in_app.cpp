// A hardware-aware search started from C++, not from the tool: an application on a dev board
// includes the headers, starts the search with a progress callback, stops it (here: after a
// few seconds, as a user pressing "stop" would), and later resumes it to the end.
//
//   search_in_app [OUT_DIR] [CANCEL_AFTER_SECONDS] [SPACE] [IMAGES]
//                 (defaults: out/search-in-app, 5, fmnist, 1000)
//
// The search is the `tiny` preset on Fashion-MNIST (IMAGES training images) under 100 000
// parameters, with latency measured on this device (the front is accuracy against it); SPACE is a built-in space or a space .json file
// (scripts/test-cross.sh runs a small one under qemu). The report lands in OUT_DIR/report.md.
// Exit code 0 when the resumed search finished and chose a network.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <edgenas/search/pipeline.hpp>
#include <edgenas/space/space_json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {
edgenas::SearchSpace space_from(const std::string& name) {
  if (auto s = edgenas::spaces::named(name)) return *s;
  std::ifstream in(name);
  std::stringstream text;
  text << in.rdbuf();
  return edgenas::search_space_from_json(edgenas::json::parse(text.str(), name.c_str()));
}
}  // namespace

int run(int argc, char** argv) {
  namespace search = edgenas::search;
  const std::string out = argc > 1 ? argv[1] : "out/search-in-app";
  const double cancel_after = argc > 2 ? std::atof(argv[2]) : 5.0;
  const std::string space = argc > 3 ? argv[3] : "fmnist";
  const long images = argc > 4 ? std::atol(argv[4]) : 1000;
  std::filesystem::remove_all(out);  // a fresh search each time this example runs

  search::SearchConfig config = search::presets::tiny();
  config.space = space_from(space);
  config.out = out;
  config.params_budget = 100'000;
  config.train_images = config.supernet_images = images;
  config.validation_images = config.test_images = config.calibration_images = images / 2;
  config.threads = 2;

  // Progress: one line whenever the task changes, and the last step of each task.
  std::string task;
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  search::Callbacks callbacks;
  callbacks.log = [&](const std::string& line) { std::printf("[%6.1f s] %s\n", seconds(), line.c_str()); };
  callbacks.progress = [&](const search::ProgressEvent& e) {
    if (e.task != task || e.done == e.total)
      std::printf("[%6.1f s] %-14s %s %zu/%zu %s\n", seconds(), search::stage_name(e.stage), e.task.c_str(), e.done, e.total,
                  e.detail.c_str());
    task = e.task;
  };
  // Cancel: any condition the application likes; polled at every step.
  std::atomic<bool> stop{false};
  callbacks.cancel = [&] { return stop.load() || seconds() > cancel_after; };

  {
    search::Pipeline first(config, callbacks);
    const bool finished = first.run();
    std::printf("first run: %s after %.1f s\n", finished ? "finished" : "cancelled", seconds());
  }

  // Later (another process would do the same): resume with the same settings, to the end.
  config.resume = true;
  callbacks.cancel = {};
  search::Pipeline resumed(config, callbacks);
  if (!resumed.run()) return 1;
  const search::SearchReport& report = resumed.report();
  std::printf("resumed run finished after %.1f s: %zu evaluations, %zu on the front\n", seconds(), report.history.size(),
              report.front.size());
  for (const search::ChosenNetwork& c : report.chosen)
    if (c.found)
      std::printf("chosen: %s\n  test accuracy %.2f %%, %.4f ms measured, %lld parameters, model %s\n",
                  edgenas::to_string(c.candidate.genotype).c_str(), 100 * c.test_accuracy, c.measured_ms,
                  static_cast<long long>(c.candidate.costs.params), c.model_path.c_str());
  return report.chosen.empty() || !report.chosen.front().found ? 1 : 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // edgenas::Error names the problem; also std::bad_alloc
    std::fprintf(stderr, "search_in_app: %s\n", e.what());
    return 1;
  }
}
