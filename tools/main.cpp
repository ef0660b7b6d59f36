// edgenas — the command-line tool: a thin shell over the library, one file per subcommand.
//
//   edgenas search [--preset tiny|quick|full] [--out DIR] [--resume] [budgets…]  (search_command.cpp)
//   edgenas train --genotype TEXT [--epochs N] [--out DIR] [--resume]            (train_command.cpp)
//   edgenas bench --genotype TEXT | --model FILE [--table FILE] [--threads N]    (bench_command.cpp)
//   edgenas export --from MODEL|CHECKPOINT [--model FILE] [--header FILE]        (export_command.cpp)
//   edgenas data inspect PATH [--json] | convert PATH OUT                        (data_command.cpp)
//   edgenas info [--threads N] [--json]                                          (info.cpp)
//   edgenas latency build|check|breakdown …                                      (latency_command.cpp)
//
// Errors are one line on stderr and a non-zero exit code.
#include <cstdio>
#include <edgenas/core/error.hpp>
#include <exception>
#include <new>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"edgenas — hardware-aware neural architecture search for embedded targets.\n\n"
               "Start with `edgenas search --preset quick`: it measures this device, trains a weight-sharing\n"
               "supernet on Fashion-MNIST, searches under the budgets and trains the winner.\n"
               "Every subcommand has its own --help."};
  app.require_subcommand(1);
  app.footer("Errors are one line on stderr and a non-zero exit code. Docs: docs/search.md, docs/latency.md.");
  edgenas::cli::Action run;
  edgenas::cli::add_info_command(app, run);
  edgenas::cli::add_search_command(app, run);
  edgenas::cli::add_data_command(app, run);
  edgenas::cli::add_train_command(app, run);
  edgenas::cli::add_bench_command(app, run);
  edgenas::cli::add_export_command(app, run);
  edgenas::cli::add_latency_command(app, run);
  CLI11_PARSE(app, argc, argv);
  try {
    return run ? run() : 0;
  } catch (const edgenas::Error& e) {
    std::fprintf(stderr, "edgenas: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "edgenas: out of memory; `edgenas search --memory-budget SIZE` fits a search to this machine\n");
    return 1;
  } catch (const std::exception& e) {  // std::filesystem and friends
    std::fprintf(stderr, "edgenas: %s\n", e.what());
    return 1;
  }
}
