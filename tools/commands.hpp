// The subcommands of the edgenas tool. Each lives in its own file with its own options struct:
// add_*_command() adds it to the app and, when the user chooses it, sets `run` to its action.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace edgenas::cli {

using Action = std::function<int()>;

void add_info_command(CLI::App& app, Action& run);     // info.cpp
void add_search_command(CLI::App& app, Action& run);   // search_command.cpp
void add_train_command(CLI::App& app, Action& run);    // train_command.cpp
void add_bench_command(CLI::App& app, Action& run);    // bench_command.cpp
void add_export_command(CLI::App& app, Action& run);   // export_command.cpp
void add_latency_command(CLI::App& app, Action& run);  // latency_command.cpp

}  // namespace edgenas::cli
