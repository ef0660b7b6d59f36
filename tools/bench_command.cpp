// `edgenas bench`: a network's latency on this device (XNNPACK), next to a table's prediction.
#include <cstdio>
#include <edgenas/export/model_file.hpp>
#include <edgenas/latency.hpp>
#include <edgenas/space/search_space.hpp>

#include "cli_common.hpp"
#include "commands.hpp"

namespace edgenas::cli {
namespace {

struct BenchOptions {
  std::string genotype, model, table, kernel_plan;
  int threads = 1;
  bool json = false, plan = false;
};

// Each operator of `g` as the runtime runs it: who runs it, its time in place, and for
// depthwise layers both alternatives' times from the kernel plan.
json::Value::Array plan_report(const Genotype& g, int threads, bool print) {
  const std::vector<float> weights = latency::detail::random_weights(inference_weight_count(g.view()), 7);
  xnnpack::Runtime runtime(g, weights, threads);
  const auto steps = runtime.steps();
  const auto times = runtime.profile(200);
  json::Value::Array rows;
  if (print)
    std::printf(
        "plan      %zu operators, arena %lld bytes; times: median in place, and each alternative alone\n"
        "  %-22s %-44s %-8s %10s %11s %11s\n",
        steps.size(), static_cast<long long>(runtime.arena_bytes()), "layer", "operation", "runs on", "in place ms",
        "xnnpack ms", "edgenas ms");
  double total = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    total += times[i];
    json::Value row = json::Value()
                          .set("layer", s.layer)
                          .set("operation", s.operation)
                          .set("implementation", xnnpack::implementation_name(s.implementation))
                          .set("in_place_ms", times[i]);
    char alternatives[64] = "";
    if (const auto c = s.plan_key.empty() ? std::nullopt : xnnpack::kernel_plan().find(s.plan_key)) {
      row.set("xnnpack_ms", c->xnnpack_ms).set("edgenas_ms", c->edgenas_ms);
      std::snprintf(alternatives, sizeof alternatives, "%11.4f %11.4f", c->xnnpack_ms, c->edgenas_ms);
    }
    if (print)
      std::printf("  %-22s %-44s %-8s %10.4f %s\n", s.layer.c_str(), s.operation.c_str(),
                  xnnpack::implementation_name(s.implementation), times[i], alternatives);
    rows.push_back(std::move(row));
  }
  if (print) std::printf("  %-22s %-44s %-8s %10.4f\n", "sum", "", "", total);
  return rows;
}

int bench_command(const BenchOptions& o) {
  const std::string &genotype_text = o.genotype, &model_path = o.model, &table_path = o.table;
  const int threads = o.threads;
  const bool as_json = o.json;
  EDGENAS_CHECK(genotype_text.empty() != model_path.empty(), Status::invalid_argument,
                "bench: give exactly one of --genotype and --model");
  const Model model = model_path.empty() ? Model{parse_genotype(genotype_text), {}, {}, {}, {}} : load_model(model_path);
  const Genotype& g = model.genotype;
  if (!o.kernel_plan.empty()) {
    std::string message;
    latency::use_kernel_plan_file(o.kernel_plan, &message);
    if (!message.empty()) std::fprintf(stderr, "note: %s\n", message.c_str());
  }
  const latency::Measurement m = latency::measure_network(g, threads);
  double predicted = -1.0, comparable = m.p10_ms;  // the table's statistic, measured
  if (!table_path.empty()) {
    const latency::Table table = latency::load_table(table_path, latency::this_device(threads));
    predicted = table.predict_ms(g);
    comparable = latency::value_of(m, table.statistic);
  }
  const NetworkView v = g.view();
  if (as_json) {
    json::Value r = json::Value()
                        .set("genotype", to_string(g))
                        .set("threads", threads)
                        .set("typical_ms", m.p10_ms)
                        .set("median_ms", m.median_ms)
                        .set("run_p90_ms", m.run_p90_ms)
                        .set("p10_ms", m.p10_ms)
                        .set("p90_ms", m.p90_ms)
                        .set("runs", m.runs)
                        .set("stable", m.stable)
                        .set("params", parameter_count(v))
                        .set("macs", mac_count(v))
                        .set("arena_bytes", peak_activation_bytes(v));
    if (predicted >= 0) r.set("predicted_ms", predicted);
    if (o.plan) r.set("plan", plan_report(g, threads, false));
    std::printf("%s\n", json::dump(r).c_str());
    return 0;
  }
  std::printf("device    %s\n", latency::describe(latency::this_device(threads)).c_str());
  std::printf("network   %s\n", to_string(g).c_str());
  std::printf("latency   %.4f ms typical (median %.4f, single runs' p90 %.4f, %d runs%s)\n", m.p10_ms, m.median_ms,
              m.run_p90_ms, m.runs, m.stable ? "" : ", did not settle");
  if (predicted >= 0)
    std::printf("predicted %.4f ms (%+.1f %% against %.4f ms measured)\n", predicted,
                100 * (predicted - comparable) / comparable, comparable);
  std::printf("costs     %lld parameters, %.2f M MACs, %lld arena bytes\n", static_cast<long long>(parameter_count(v)),
              mac_count(v) / 1e6, static_cast<long long>(peak_activation_bytes(v)));
  if (o.plan) plan_report(g, threads, true);
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand("bench", "Measure a network's latency on this device (XNNPACK), optionally against a table");
  cmd->add_option("--genotype", o->genotype, "The network, in genotype text form");
  cmd->add_option("--model", o->model, "A model file (from search, train or export)")->check(CLI::ExistingFile);
  cmd->add_option("--table", o->table, "Latency table to compare the prediction with")->check(CLI::ExistingFile);
  cmd->add_option("--threads", o->threads, "Threads XNNPACK uses")->check(thread_count());
  cmd->add_flag("--plan", o->plan,
                "Print each layer's implementation (the kernel plan: XNNPACK or edgenas's own, chosen by measurement "
                "here) with its time in place and the time of each alternative");
  cmd->add_option("--kernel-plan", o->kernel_plan,
                  "Keep the kernel plan in this file (read if it was measured on this device, updated with new "
                  "measurements)");
  cmd->add_flag("--json", o->json, "Machine-readable output");
  cmd->callback([o, &run] { run = [o] { return bench_command(*o); }; });
}

}  // namespace edgenas::cli
