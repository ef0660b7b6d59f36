// `edgenas info`: this device's fingerprint (what latency tables are keyed by) and the spaces.
#include <cstdio>
#include <edgenas/latency.hpp>
#include <edgenas/space/search_space.hpp>

#include "cli_common.hpp"
#include "commands.hpp"

namespace edgenas::cli {
namespace {

struct InfoOptions {
  int threads = 1;
  bool json = false;
};

int info(const InfoOptions& o) {
  const int threads = o.threads;
  const bool as_json = o.json;
  const latency::Fingerprint f = latency::this_device(threads);
  if (as_json) {
    json::Value spaces_json;
    for (const SearchSpace& s : spaces::builtin())
      spaces_json.set(s.name, json::Value().set("log10_architectures", s.log10_size()));
    std::printf("%s\n", json::dump(json::Value().set("device", latency::to_json(f)).set("spaces", spaces_json)).c_str());
    return 0;
  }
  std::printf("device   %s\n", latency::describe(f).c_str());
  std::printf("key      %s\n", f.key().c_str());
  for (const SearchSpace& s : spaces::builtin())
    std::printf("space    %-12s ~10^%.1f architectures\n", s.name.c_str(), s.log10_size());
  return 0;
}


}  // namespace

void add_info_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand("info", "Print this device's fingerprint and the built-in search spaces");
  cmd->add_option("--threads", o->threads, "Threads the fingerprint is for")->check(thread_count());
  cmd->add_flag("--json", o->json, "Machine-readable output");
  cmd->callback([o, &run] { run = [o] { return info(*o); }; });
}

}  // namespace edgenas::cli
