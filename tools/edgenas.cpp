// edgenas — the command-line tool.
//
//   edgenas search [--preset tiny|quick|full] [--out DIR] [--resume] [budgets…]  (search_command.cpp)
//   edgenas train --genotype TEXT [--epochs N] [--out DIR] [--resume]
//   edgenas bench --genotype TEXT | --model FILE [--table FILE] [--threads N]
//   edgenas export --from MODEL|CHECKPOINT [--model FILE] [--header FILE [--test-images N]]
//   edgenas info [--threads N] [--json]
//   edgenas latency build --space fmnist|mobilenetv3 --table FILE [--threads N] [--fit N]
//   edgenas latency check --space fmnist|mobilenetv3 --table FILE [--samples N] [--json]
//   edgenas latency breakdown --genotype TEXT --table FILE [--json]
//
// Errors are one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <edgenas/data.hpp>
#include <edgenas/export/header.hpp>
#include <edgenas/export/model_file.hpp>
#include <edgenas/runtime/reference/inference.hpp>
#include <cstring>
#include <edgenas/runtime/xnnpack.hpp>
#include <edgenas/train.hpp>
#include <chrono>
#include <cstdio>
#include <edgenas/latency.hpp>
#include <edgenas/space/search_space.hpp>
#include <filesystem>
#include <string>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli_common.hpp"
#include "search_command.hpp"

using namespace edgenas;
using namespace edgenas::cli;

namespace {

int info(int threads, bool as_json) {
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

int latency_build(const std::string& space_name, const std::string& path, int threads, int fit_networks,
                  std::uint64_t seed) {
  const SearchSpace space = space_named(space_name);
  if (std::filesystem::exists(path)) std::fprintf(stderr, "resuming %s\n", path.c_str());
  const latency::Table table = build_table(space, path, threads, fit_networks, seed);
  std::printf("device   %s\n", latency::describe(table.device).c_str());
  std::printf("pieces   %zu distinct in space %s, %zu in the table\n", latency::space_pieces(space).size(),
              space.name.c_str(), table.entries.size());
  std::printf("fit      latency = %.4f x sum(pieces) %+.4f ms over %d networks\ntable    %s\n", table.scale,
              table.offset_ms, table.fitted_networks, path.c_str());
  return 0;
}

int latency_check(const std::string& space_name, const std::string& path, int threads, int samples, std::uint64_t seed,
                  bool as_json) {
  const SearchSpace space = space_named(space_name);
  const latency::Table table = latency::load_table(path, latency::this_device(threads));
  Rng rng(seed);
  std::vector<Genotype> nets;
  std::vector<double> measured;
  int unstable = 0;
  Progress bar("measuring networks");
  for (int i = 0; i < samples; ++i) {
    nets.push_back(space.sample(rng));
    table.predict_ms(nets.back());  // fails early, naming the piece, if the table lacks one
    const latency::Measurement m = latency::measure_network(nets.back(), threads);
    unstable += !m.stable;
    measured.push_back(m.median_ms);
    bar.update(static_cast<std::size_t>(i + 1), static_cast<std::size_t>(samples));
  }
  const latency::PredictorReport r = latency::check_predictor(table, nets, measured);
  int within5 = 0, within10 = 0;
  for (std::size_t i = 0; i < nets.size(); ++i) {
    const double err = std::abs(r.predicted_ms[i] - r.measured_ms[i]) / r.measured_ms[i];
    within5 += err <= 0.05;
    within10 += err <= 0.10;
  }
  // Prediction throughput: how many predictions a search can afford.
  const auto t0 = std::chrono::steady_clock::now();
  volatile double sink = 0.0;  // keeps the predictions from being optimised away
  const int reps = 200000;
  for (int i = 0; i < reps; ++i) sink = sink + table.predict_ms(nets[static_cast<std::size_t>(i) % nets.size()]);
  const double per_second = reps / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (as_json) {
    std::printf("%s\n", json::dump(json::Value()
                                       .set("space", space.name)
                                       .set("networks", r.networks)
                                       .set("within_5_percent", static_cast<double>(within5) / samples)
                                       .set("within_10_percent", static_cast<double>(within10) / samples)
                                       .set("mean_abs_error_percent", r.mean_abs_error_pct)
                                       .set("max_abs_error_percent", r.max_abs_error_pct)
                                       .set("kendall_tau", r.kendall_tau)
                                       .set("unstable_measurements", unstable)
                                       .set("predictions_per_second", per_second))
                            .c_str());
  } else {
    std::printf("device      %s\n", latency::describe(table.device).c_str());
    std::printf("space       %s, %d random networks (seed %llu), measured end to end\n", space.name.c_str(), r.networks,
                static_cast<unsigned long long>(seed));
    std::printf("within ±5%%  %.1f %%\nwithin ±10%% %.1f %%\nmean |err|  %.2f %%  (max %.2f %%, RMSE %.4f ms)\n",
                100.0 * within5 / samples, 100.0 * within10 / samples, r.mean_abs_error_pct, r.max_abs_error_pct,
                r.rmse_ms);
    std::printf("kendall tau %.3f\nunstable    %d measurements did not settle within the spread bound\n", r.kendall_tau,
                unstable);
    std::printf("predictions %.2f M/s\n", per_second / 1e6);
  }
  return 0;
}

// Where the time goes: every piece of a network measured on its own next to its table entry,
// and the whole network measured against the prediction.
int latency_breakdown(const std::string& genotype_text, const std::string& path, int threads, bool as_json) {
  const Genotype g = parse_genotype(genotype_text);
  const latency::Table table = latency::load_table(path, latency::this_device(threads));
  json::Value::Array rows;
  double measured_sum = 0.0;
  if (!as_json) std::printf("%-52s %10s %10s %7s\n", "piece", "table ms", "now ms", "share");
  const double predicted = table.predict_ms(g);
  std::vector<std::pair<std::string, double>> now;
  for (const auto& p : latency::pieces_of(g)) {
    const double ms = latency::measure_piece(g, p.piece, threads).median_ms;
    measured_sum += ms;
    now.emplace_back(p.key, ms);
  }
  for (const auto& [key, ms] : now) {
    const double entry = table.entries.at(key).median_ms;
    if (as_json)
      rows.push_back(json::Value().set("piece", key).set("table_ms", entry).set("measured_ms", ms));
    else
      std::printf("%-52s %10.4f %10.4f %6.1f%%\n", key.c_str(), entry, ms, 100.0 * ms / measured_sum);
  }
  const double whole = latency::measure_network(g, threads).median_ms;
  if (as_json) {
    std::printf("%s\n", json::dump(json::Value()
                                       .set("genotype", to_string(g))
                                       .set("pieces", std::move(rows))
                                       .set("predicted_ms", predicted)
                                       .set("measured_ms", whole))
                            .c_str());
  } else {
    std::printf("network: predicted %.4f ms, measured %.4f ms (%+.1f %%)\n", predicted, whole,
                100.0 * (predicted - whole) / whole);
  }
  return 0;
}

// Trains one architecture from scratch on Fashion-MNIST-format data; checkpoint every epoch
// (resumable), model file at the end.
int train_command(const std::string& genotype_text, const std::string& data_dir, const std::string& out, int epochs,
                  int batch, float lr, std::uint64_t seed, long validation, long train_images, bool resume, bool as_json,
                  bool quiet) {
  const Genotype g = parse_genotype(genotype_text);
  validate(g);
  std::filesystem::create_directories(out);
  const std::string dir = data_dir.empty() ? data::fashion_mnist_dir() : data_dir;
  data::Dataset train_set = data::load_fashion_mnist(data::Split::train, dir), validation_set;
  if (validation > 0) std::tie(train_set, validation_set) = data::split(train_set, static_cast<std::size_t>(validation), seed);
  if (train_images > 0) train_set = data::head(train_set, static_cast<std::size_t>(train_images));
  const data::Dataset test = data::load_fashion_mnist(data::Split::test, dir);
  const data::Normalization norm = data::compute_normalization(train_set);
  train::Network net(g, seed);
  train::TrainConfig config;
  config.epochs = epochs;
  config.batch_size = batch;
  config.lr = lr;
  config.optimizer.weight_decay = 1e-4f;
  config.augmentation = {2, true};
  config.seed = seed;
  config.checkpoint = (std::filesystem::path(out) / "train.ckpt").string();
  EDGENAS_CHECK(resume || !std::filesystem::exists(config.checkpoint), Status::invalid_argument,
                "%s exists; pass --resume to continue that training, or choose another --out", config.checkpoint.c_str());
  train::Trainer trainer(net, train_set, norm, config);
  if (resume && std::filesystem::exists(config.checkpoint)) trainer.resume(config.checkpoint);
  json::Value::Array epochs_json;
  while (!trainer.finished()) {
    Progress bar("epoch " + std::to_string(trainer.epochs_done() + 1) + "/" + std::to_string(epochs), quiet);
    const auto e = trainer.train_epoch(loss_progress(bar));
    const double val = validation > 0 ? trainer.evaluate(validation_set).accuracy : -1.0;
    if (!quiet)
      std::fprintf(stderr, "epoch %d: loss %.4f, training accuracy %.2f%%%s, %.1f s (%.0f images/s)\n", e.epoch, e.loss,
                   100 * e.accuracy, val >= 0 ? (", validation " + std::to_string(100 * val).substr(0, 5) + "%").c_str() : "",
                   e.seconds, e.images_per_second);
    epochs_json.push_back(json::Value().set("epoch", e.epoch).set("loss", e.loss).set("seconds", e.seconds));
  }
  const auto result = trainer.evaluate(test);
  const std::string model_path = (std::filesystem::path(out) / "model.enas").string();
  save_model(model_path, {g, net.inference_weights(), norm.mean, norm.stddev});
  if (as_json) {
    std::printf("%s\n", json::dump(json::Value()
                                       .set("genotype", to_string(g))
                                       .set("test_accuracy", result.accuracy)
                                       .set("params", parameter_count(g.view()))
                                       .set("model", model_path)
                                       .set("epochs", std::move(epochs_json)))
                            .c_str());
  } else {
    std::printf("test     %.2f%% on %zu images\nmodel    %s\n", 100 * result.accuracy, test.size(), model_path.c_str());
  }
  return 0;
}

// Latency of a network on this device through XNNPACK, next to a table's prediction.
int bench_command(const std::string& genotype_text, const std::string& model_path, const std::string& table_path,
                  int threads, bool as_json) {
  EDGENAS_CHECK(genotype_text.empty() != model_path.empty(), Status::invalid_argument,
                "bench: give exactly one of --genotype and --model");
  const Model model = model_path.empty() ? Model{parse_genotype(genotype_text), {}, {}, {}} : load_model(model_path);
  const Genotype& g = model.genotype;
  const latency::Measurement m = latency::measure_network(g, threads);
  double predicted = -1.0;
  if (!table_path.empty()) predicted = latency::load_table(table_path, latency::this_device(threads)).predict_ms(g);
  const NetworkView v = g.view();
  if (as_json) {
    json::Value r = json::Value()
                        .set("genotype", to_string(g))
                        .set("threads", threads)
                        .set("median_ms", m.median_ms)
                        .set("p10_ms", m.p10_ms)
                        .set("p90_ms", m.p90_ms)
                        .set("runs", m.runs)
                        .set("stable", m.stable)
                        .set("params", parameter_count(v))
                        .set("macs", mac_count(v))
                        .set("arena_bytes", peak_activation_bytes(v));
    if (predicted >= 0) r.set("predicted_ms", predicted);
    std::printf("%s\n", json::dump(r).c_str());
    return 0;
  }
  std::printf("device    %s\n", latency::describe(latency::this_device(threads)).c_str());
  std::printf("network   %s\n", to_string(g).c_str());
  std::printf("latency   %.4f ms median (p10 %.4f, p90 %.4f, %d runs%s)\n", m.median_ms, m.p10_ms, m.p90_ms, m.runs,
              m.stable ? "" : ", did not settle");
  if (predicted >= 0) std::printf("predicted %.4f ms (%+.1f %%)\n", predicted, 100 * (predicted - m.median_ms) / m.median_ms);
  std::printf("costs     %lld parameters, %.2f M MACs, %lld arena bytes\n", static_cast<long long>(parameter_count(v)),
              mac_count(v) / 1e6, static_cast<long long>(peak_activation_bytes(v)));
  return 0;
}

// A training checkpoint or model file to a model file and/or a C++ header for firmware; with
// --test-images, also a header of that many Fashion-MNIST test images with the classes this
// host predicts for them (through the same reference runtime the firmware runs).
int export_command(const std::string& from, const std::string& model_out, const std::string& header_out,
                   const std::string& name, int test_images, const std::string& data_dir) {
  EDGENAS_CHECK(!model_out.empty() || !header_out.empty(), Status::invalid_argument,
                "export: nothing to write; give --model FILE and/or --header FILE");
  Model model;
  const auto bytes = read_binary_file(from, "input");
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), model_file_magic.data(), 8) == 0) {
    model = load_model(from);
  } else {
    const auto net = train::load_network(from);
    model = {net->genotype(), net->inference_weights(), {}, {}};
    std::fprintf(stderr, "export: %s holds no input normalisation (model files from search/train do); none recorded\n",
                 from.c_str());
  }
  if (!model_out.empty()) {
    save_model(model_out, model);
    load_model(model_out);  // what we wrote reads back
    std::printf("model    %s\n", model_out.c_str());
  }
  if (!header_out.empty()) {
    write_file_atomically(header_out, header_source(model, name));
    std::printf("header   %s (namespace %s: Net, arena_bytes %lld, %zu weights, predict())\n", header_out.c_str(), name.c_str(),
                static_cast<long long>(peak_activation_bytes(model.genotype.view())), model.weights.size());
  }
  if (test_images > 0) {
    EDGENAS_CHECK(!header_out.empty(), Status::invalid_argument, "export: --test-images needs --header");
    const data::Dataset test = data::load_fashion_mnist(data::Split::test, data_dir.empty() ? data::fashion_mnist_dir() : data_dir);
    const Genotype& g = model.genotype;
    EDGENAS_CHECK(test.height == g.input.h && test.width == g.input.w && test.channels == g.input.c, Status::invalid_shape,
                  "export: test images are %dx%dx%d, the network takes %dx%dx%d", test.height, test.width, test.channels,
                  g.input.h, g.input.w, g.input.c);
    const int n = std::min<int>(test_images, static_cast<int>(test.size()));
    std::vector<float> arena(static_cast<std::size_t>(reference::arena_floats(g.view()))), image(test.image_bytes()),
        logits(static_cast<std::size_t>(g.head.classes));
    std::string s = "// Generated by `edgenas export --test-images`: Fashion-MNIST test images and the classes the\n"
                    "// exporting host predicted for them with the same reference runtime.\n#pragma once\n\n#include <cstdint>\n\n"
                    "namespace " + name + "_test {\n\n";
    s += "inline constexpr int count = " + std::to_string(n) + ";\ninline constexpr int pixels = " +
         std::to_string(test.image_bytes()) + ";\n";
    std::string pixels = "inline constexpr std::uint8_t images[count][pixels] = {\n", labels = "inline constexpr int labels[count] = {",
                classes = "inline constexpr int host_predictions[count] = {";
    int correct = 0;
    for (int i = 0; i < n; ++i) {
      const std::uint8_t* px = test.image(static_cast<std::size_t>(i));
      for (std::size_t p = 0; p < image.size(); ++p) {
        const std::size_t c = p % static_cast<std::size_t>(g.input.c);
        const float mean = model.input_mean.empty() ? 0.0f : model.input_mean[c];
        const float sd = model.input_stddev.empty() ? 1.0f : model.input_stddev[c];
        image[p] = (px[p] / 255.0f - mean) / sd;
      }
      reference::infer(g.view(), model.weights, ConstTensorView(image.data(), g.input.with_batch(1)), arena, logits);
      const int k = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      correct += k == test.labels[static_cast<std::size_t>(i)];
      pixels += "    {";
      for (std::size_t p = 0; p < image.size(); ++p) pixels += std::to_string(px[p]) + (p + 1 < image.size() ? "," : "");
      pixels += "},\n";
      labels += std::to_string(test.labels[static_cast<std::size_t>(i)]) + (i + 1 < n ? ", " : "");
      classes += std::to_string(k) + (i + 1 < n ? ", " : "");
    }
    s += pixels + "};\n" + labels + "};\n" + classes + "};\n\n}  // namespace " + name + "_test\n";
    const std::string images_out = header_out.substr(0, header_out.rfind('.')) + "_test_images.hpp";
    write_file_atomically(images_out, s);
    std::printf("images   %s (%d test images, host predicts %d correctly)\n", images_out.c_str(), n, correct);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // Training builds and drops networks with large activation buffers every step; keep freed
  // memory in the heap instead of returning it to the kernel (and faulting it back in).
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  CLI::App app{"edgenas — hardware-aware neural architecture search for embedded targets.\n\n"
               "Start with `edgenas search --preset quick`: it measures this device, trains a weight-sharing\n"
               "supernet on Fashion-MNIST, searches under the budgets and fine-tunes the winner.\n"
               "Every subcommand has its own --help."};
  app.require_subcommand(1);
  app.footer("Errors are one line on stderr and a non-zero exit code. Docs: docs/search.md, docs/latency.md.");
  int threads = 1;
  bool as_json = false, quiet = false;

  auto* info_cmd = app.add_subcommand("info", "Print this device's fingerprint and the built-in search spaces");
  info_cmd->add_option("--threads", threads, "Threads the fingerprint is for")->check(CLI::PositiveNumber);
  info_cmd->add_flag("--json", as_json, "Machine-readable output");

  // ---- search ----
  SearchOptions so;
  auto* search_cmd = app.add_subcommand(
      "search",
      "Find the most accurate network that fits a device budget.\n"
      "Trains a weight-sharing supernet (sandwich rule, in-place distillation), searches it with the chosen\n"
      "strategy under hard budgets (latency from this device's measured table, parameters, arena, MACs),\n"
      "trains the best network under each latency budget to full accuracy, measures it, and writes OUT/report.md,\n"
      "front.svg, result.json and model files. Interrupted? Run the same command with --resume.");
  search_cmd->add_option("--preset", so.preset,
                         "tiny (seconds, a smoke test), quick (<= 20 min on 2 cores), full (<= 2 h; <= 100k params, <= 0.25 ms)")
      ->check(CLI::IsMember({"tiny", "quick", "full"}))
      ->capture_default_str();
  search_cmd->add_option("--space", so.space, "fmnist, fmnist-mcu (stem stride 2, for microcontrollers), mobilenetv3, or a space .json file")->capture_default_str();
  search_cmd->add_option("--data", so.data, "Directory with Fashion-MNIST-format IDX files (default: Debian's dataset-fashion-mnist)");
  search_cmd->add_option("--out", so.out, "Output folder (journal, checkpoints, report)")->capture_default_str();
  search_cmd->add_flag("--resume", so.resume, "Continue the search in --out after an interruption");
  search_cmd->add_option("--strategy", so.strategy, "random, evolution (regularized/aging) or nsga2")
      ->check(CLI::IsMember({"random", "evolution", "nsga2"}))
      ->capture_default_str();
  search_cmd->add_option("--evaluations", so.evaluations, "Distinct architectures evaluated")->check(CLI::PositiveNumber);
  search_cmd->add_option("--population", so.population, "Population of evolution / NSGA-II")->check(CLI::Range(2, 100000));
  search_cmd->add_option("--latency-budget", so.latency_budgets,
                         "Hard latency budget in ms (repeat for several: one chosen network each)")
      ->check(CLI::PositiveNumber);
  search_cmd->add_option("--params-budget", so.params_budget, "Hard budget on parameters")->check(CLI::PositiveNumber);
  search_cmd->add_option("--arena-budget", so.arena_budget, "Hard budget on the inference arena, bytes")->check(CLI::PositiveNumber);
  search_cmd->add_option("--macs-budget", so.macs_budget, "Hard budget on multiply-accumulates")->check(CLI::PositiveNumber);
  search_cmd->add_option("--table", so.tables,
                         "Latency table(s) from `edgenas latency build` (repeat: the budget must hold on the slowest). "
                         "Default: measure one on this device into OUT")
      ->check(CLI::ExistingFile);
  search_cmd->add_option("--reward-target", so.reward_target_ms, "MnasNet soft reward ACC*(LAT/T)^w with this T in ms");
  search_cmd->add_option("--reward-exponent", so.reward_exponent, "w of the soft reward")->capture_default_str();
  search_cmd->add_option("--supernet-epochs", so.supernet_epochs, "Epochs of supernet training")->check(CLI::NonNegativeNumber);
  search_cmd->add_option("--supernet", so.supernet, "Start from this supernet checkpoint (e.g. OUT/supernet.ckpt of another run)")
      ->check(CLI::ExistingFile);
  search_cmd->add_flag("--progressive-shrinking", so.progressive_shrinking, "Once-for-All phases: full, kernel, depth, expand");
  search_cmd->add_option("--finetune-epochs", so.finetune_epochs, "Epochs of that final training")->check(CLI::NonNegativeNumber);
  search_cmd->add_option("--final", so.final_training,
                         "How the chosen networks get their final weights: retrain (from scratch; quick, full) or fine-tune "
                         "(from the supernet's weights; tiny)")
      ->check(CLI::IsMember({"retrain", "fine-tune"}));
  search_cmd->add_option("--finetune-lr", so.finetune_lr, "Peak learning rate of that training (default 0.2 retrain, 0.1 fine-tune)")
      ->check(CLI::PositiveNumber);
  search_cmd->add_option("--train-images", so.train_images, "Use only this many training images")->check(CLI::PositiveNumber);
  search_cmd->add_option("--supernet-images", so.supernet_images, "Train the supernet on only this many of them")->check(CLI::PositiveNumber);
  search_cmd->add_option("--validation-images", so.validation_images, "Held out from training for the search")->check(CLI::PositiveNumber);
  search_cmd->add_option("--test-images", so.test_images, "Use only this many test images")->check(CLI::PositiveNumber);
  search_cmd->add_option("--calibration-images", so.calibration_images, "Images for batch-norm recalibration (at least 2)")->check(CLI::Range(2L, 1000000L));
  search_cmd->add_option("--threads", so.threads, "Training threads")->check(CLI::PositiveNumber)->capture_default_str();
  search_cmd->add_option("--latency-threads", so.latency_threads, "Threads the deployed model will use (latency)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  search_cmd->add_option("--seed", so.seed, "Seed: the same seed gives the same search")->capture_default_str();
  search_cmd->add_flag("--json", so.json, "Print result.json to stdout");
  search_cmd->add_flag("--quiet", so.quiet, "No progress output");

  // ---- train ----
  std::string genotype, data_dir, out = "out/train", model_path, table;
  int epochs = 15, batch = 128;
  float lr = 0.2f;
  long validation = 0, train_images = 0;
  bool resume = false;
  std::uint64_t seed = 1;
  auto* train_cmd = app.add_subcommand("train", "Train one architecture from scratch on Fashion-MNIST (resumable)");
  train_cmd->add_option("--genotype", genotype, "The network, in genotype text form (see docs/blocks.md)")->required();
  train_cmd->add_option("--data", data_dir, "Directory with Fashion-MNIST-format IDX files");
  train_cmd->add_option("--out", out, "Output folder: train.ckpt, model.enas")->capture_default_str();
  train_cmd->add_option("--epochs", epochs, "Epochs")->check(CLI::PositiveNumber)->capture_default_str();
  train_cmd->add_option("--batch", batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str();
  train_cmd->add_option("--lr", lr, "Peak learning rate (SGD, Nesterov, cosine)")->check(CLI::PositiveNumber)->capture_default_str();
  train_cmd->add_option("--validation", validation, "Hold out this many training images and report on them")->check(CLI::NonNegativeNumber);
  train_cmd->add_option("--train-images", train_images, "Use only this many training images")->check(CLI::PositiveNumber);
  train_cmd->add_option("--threads", so.threads, "Threads")->check(CLI::PositiveNumber);
  train_cmd->add_option("--seed", seed, "Seed")->capture_default_str();
  train_cmd->add_flag("--resume", resume, "Continue from OUT/train.ckpt");
  train_cmd->add_flag("--json", as_json, "Machine-readable output");
  train_cmd->add_flag("--quiet", quiet, "No progress output");

  // ---- bench ----
  auto* bench_cmd = app.add_subcommand("bench", "Measure a network's latency on this device (XNNPACK), optionally against a table");
  bench_cmd->add_option("--genotype", genotype, "The network, in genotype text form");
  bench_cmd->add_option("--model", model_path, "A model file (from search, train or export)")->check(CLI::ExistingFile);
  bench_cmd->add_option("--table", table, "Latency table to compare the prediction with")->check(CLI::ExistingFile);
  bench_cmd->add_option("--threads", threads, "Threads XNNPACK uses")->check(CLI::PositiveNumber);
  bench_cmd->add_flag("--json", as_json, "Machine-readable output");

  // ---- export ----
  std::string from, header, name = "edgenas_model";
  int test_images = 0;
  auto* export_cmd = app.add_subcommand(
      "export", "Write a model file (genotype + BN-folded weights, checksummed) and/or a C++ header for firmware");
  export_cmd->add_option("--from", from, "A model file (model.enas from search or train) or a training checkpoint")
      ->required()
      ->check(CLI::ExistingFile);
  export_cmd->add_option("--model", model_path, "The model file to write");
  export_cmd->add_option("--header", header,
                         "The C++ header to write: using Net = edgenas::Sequential<...>, constexpr weights, predict()");
  export_cmd->add_option("--namespace", name, "Namespace of the header's declarations")->capture_default_str();
  export_cmd->add_option("--test-images", test_images,
                         "Also write HEADER_test_images.hpp: this many test images and this host's predictions")
      ->check(CLI::NonNegativeNumber);
  export_cmd->add_option("--data", data_dir, "Directory with Fashion-MNIST-format IDX files");

  // ---- latency ----
  auto* lat = app.add_subcommand("latency", "Build or check per-piece latency tables measured on this device");
  lat->require_subcommand(1);
  std::string space = "fmnist";
  int fit = 40, samples = 100;
  auto* build = lat->add_subcommand("build", "Time every distinct piece of a search space (resumable), then fit the overhead");
  auto* check = lat->add_subcommand("check", "Compare predictions with end-to-end measurements of random networks");
  for (auto* cmd : {build, check}) {
    cmd->add_option("--space", space, "fmnist, fmnist-mcu (stem stride 2, for microcontrollers), mobilenetv3, or a space .json file")->capture_default_str();
    cmd->add_option("--table", table, "Latency table file (JSON)")->required();
    cmd->add_option("--threads", threads, "Threads XNNPACK uses")->check(CLI::PositiveNumber);
  }
  build->add_option("--fit", fit, "Networks measured whole to fit the per-network overhead")->check(CLI::Range(2, 10000));
  build->add_option("--seed", seed, "Seed for the fitting networks");
  std::uint64_t check_seed = 12345;
  check->add_option("--samples", samples, "Random networks to measure")->check(CLI::Range(2, 100000));
  check->add_option("--seed", check_seed, "Seed for the random networks")->capture_default_str();
  check->add_flag("--json", as_json, "Machine-readable output");
  auto* breakdown = lat->add_subcommand("breakdown", "Per-piece latency of one network: table, measured now, share");
  breakdown->add_option("--genotype", genotype, "The network, in genotype text form")->required();
  breakdown->add_option("--table", table, "Latency table file (JSON)")->required();
  breakdown->add_option("--threads", threads, "Threads XNNPACK uses")->check(CLI::PositiveNumber);
  breakdown->add_flag("--json", as_json, "Machine-readable output");

  CLI11_PARSE(app, argc, argv);
  try {
    if (info_cmd->parsed()) return info(threads, as_json);
    if (search_cmd->parsed()) return search_command(so);
    if (train_cmd->parsed()) {
      set_num_threads(so.threads);
      return train_command(genotype, data_dir, out, epochs, batch, lr, seed, validation, train_images, resume, as_json, quiet);
    }
    if (bench_cmd->parsed()) return bench_command(genotype, model_path, table, threads, as_json);
    if (export_cmd->parsed()) return export_command(from, model_path, header, name, test_images, data_dir);
    if (build->parsed()) return latency_build(space, table, threads, fit, seed);
    if (check->parsed()) return latency_check(space, table, threads, samples, check_seed, as_json);
    if (breakdown->parsed()) return latency_breakdown(genotype, table, threads, as_json);
  } catch (const Error& e) {
    std::fprintf(stderr, "edgenas: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // std::filesystem and friends
    std::fprintf(stderr, "edgenas: %s\n", e.what());
    return 1;
  }
  return 0;
}
