// `edgenas train`: one architecture trained from scratch on Fashion-MNIST-format data;
// checkpoint every epoch (resumable), model file at the end.
#include <cstdio>
#include <edgenas/data.hpp>
#include <edgenas/data/source.hpp>
#include <edgenas/export/model_file.hpp>
#include <edgenas/quant/model.hpp>
#include <edgenas/runtime/xnnpack/int8_evaluate.hpp>
#include <edgenas/train.hpp>
#include <edgenas/train/qat.hpp>
#include <filesystem>
#include <optional>

#include "cli_common.hpp"
#include "commands.hpp"

namespace edgenas::cli {
namespace {

struct TrainOptions {
  std::string genotype, data, out = "out/train";
  int epochs = 15, batch = 128, threads = 2;
  float lr = 0.2f, erase = 0.0f, weight_decay = 1e-4f, weight_average = 0.0f;
  long validation = 0, train_images = 0;
  std::uint64_t seed = 1;
  bool resume = false, json = false, quiet = false;
  std::string precision = "fp32";
  int qat_epochs = 0;
  float qat_lr = 0.001f;
  long calibration_images = 1000;
};

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * fraction);
  return text;
}

// What int8 adds after float training: post-training quantization, then QAT if asked.
struct Int8Result {
  double post_training_accuracy = -1.0, qat_accuracy = -1.0;
  std::optional<quant::QuantizedModel> model;
};

Int8Result quantize_trained(const TrainOptions& o, const Genotype& g, const std::vector<float>& folded,
                            const data::Dataset& train_set, const data::Dataset& test, const data::Normalization& norm) {
  Int8Result r;
  const std::vector<float> images =
      xnnpack::normalized_images(train_set, norm, static_cast<std::size_t>(o.calibration_images));
  const auto count = static_cast<int>(images.size() / static_cast<std::size_t>(g.input.per_image()));
  const quant::Ranges ranges =
      train::QatNetwork::calibrate(g, folded, ConstTensorView(images.data(), g.input.with_batch(count)));
  r.model = quant::quantize(g, folded, quant::activation_params(quant::build_graph(g.view()), ranges));
  r.post_training_accuracy = xnnpack::int8_accuracy(*r.model, test, norm, o.threads);
  if (!o.quiet)
    std::fprintf(stderr, "int8 post-training (%d calibration images): test %.2f%%\n", count,
                 100 * r.post_training_accuracy);
  if (o.qat_epochs == 0) return r;
  train::QatNetwork qat(g, folded, ranges);
  train::QatConfig config;
  config.epochs = o.qat_epochs;
  config.lr = o.qat_lr;
  config.seed = o.seed;
  config.augmentation = {2, true};
  Progress bar("QAT", o.quiet);
  train::train_qat(qat, train_set, norm, config, [&](std::size_t step, std::size_t steps, double loss) {
    bar.update(step, steps, "loss " + std::to_string(loss).substr(0, 6));
  });
  r.model = qat.quantized();
  r.qat_accuracy = xnnpack::int8_accuracy(*r.model, test, norm, o.threads);
  if (!o.quiet) std::fprintf(stderr, "int8 QAT (%d epochs): test %.2f%%\n", o.qat_epochs, 100 * r.qat_accuracy);
  return r;
}

int train_command(const TrainOptions& o) {
  set_num_threads(o.threads);
  EDGENAS_CHECK(o.precision == "int8" || o.qat_epochs == 0, Status::invalid_argument,
                "--qat-epochs %d needs --precision int8", o.qat_epochs);
  const Genotype g = parse_genotype(o.genotype);
  const std::string &data_dir = o.data, &out = o.out;
  const int epochs = o.epochs, batch = o.batch;
  const float lr = o.lr;
  const std::uint64_t seed = o.seed;
  const long validation = o.validation, train_images = o.train_images;
  const bool resume = o.resume, as_json = o.json, quiet = o.quiet;
  validate(g);
  std::filesystem::create_directories(out);
  const std::string dir = data_dir.empty() ? data::fashion_mnist_dir() : data_dir;
  // Any format (docs/data.md), made to fit the network's input (resized, 1 ↔ 3 channels).
  data::DataSource source = data::load(dir, {.test_fraction = 0.2, .seed = seed});
  const int h = g.input.h, w = g.input.w, c = g.input.c;
  EDGENAS_CHECK(g.head.classes >= source.classes(), Status::invalid_argument,
                "%s has %d classes, the network's head %d (fc:%d in the genotype)", dir.c_str(), source.classes(),
                g.head.classes, source.classes());
  data::Dataset train_set = data::conform(source.train, h, w, c), validation_set;
  if (!source.validation.labels.empty())
    validation_set = data::conform(source.validation, h, w, c);
  else if (validation > 0)
    std::tie(train_set, validation_set) = data::split(train_set, static_cast<std::size_t>(validation), seed);
  if (train_images > 0) data::keep_head(train_set, static_cast<std::size_t>(train_images));
  const data::Dataset test = data::conform(source.test, h, w, c);
  const data::Normalization norm = data::compute_normalization(train_set);
  train::Network net(g, seed);
  train::TrainConfig config;
  config.epochs = epochs;
  config.batch_size = batch;
  config.lr = lr;
  config.optimizer.weight_decay = o.weight_decay;
  config.augmentation = data::default_augmentation(source.images, h);
  if (source.images) config.augmentation.erase_probability = o.erase;
  config.seed = seed;
  config.weight_average = o.weight_average;
  config.checkpoint = (std::filesystem::path(out) / "train.ckpt").string();
  EDGENAS_CHECK(resume || !std::filesystem::exists(config.checkpoint), Status::invalid_argument,
                "%s exists; pass --resume to continue that training, or choose another --out", config.checkpoint.c_str());
  train::Trainer trainer(net, train_set, norm, config);
  if (resume && std::filesystem::exists(config.checkpoint)) trainer.resume(config.checkpoint);
  json::Value::Array epochs_json;
  while (!trainer.finished()) {
    Progress bar("epoch " + std::to_string(trainer.epochs_done() + 1) + "/" + std::to_string(epochs), quiet);
    const auto e = trainer.train_epoch(loss_progress(bar));
    std::string val;
    if (validation > 0) {
      val = ", validation " + percent(trainer.evaluate(validation_set).accuracy);
      if (train::WeightAverage* average = trainer.weight_average()) {
        average->swap();
        val += " (weight average " + percent(trainer.evaluate(validation_set).accuracy) + ")";
        average->swap();
      }
    }
    if (!quiet)
      std::fprintf(stderr, "epoch %d: loss %.4f, training accuracy %.2f%%%s, %.1f s (%.0f images/s)\n", e.epoch, e.loss,
                   100 * e.accuracy, val.c_str(), e.seconds, e.images_per_second);
    epochs_json.push_back(json::Value().set("epoch", e.epoch).set("loss", e.loss).set("seconds", e.seconds));
  }
  // With a weight average the average is the model; the last weights are reported beside it.
  double without_average = -1.0;
  if (train::WeightAverage* average = trainer.weight_average()) {
    without_average = trainer.evaluate(test).accuracy;
    average->swap();
  }
  const auto result = trainer.evaluate(test);
  const std::string model_path = (std::filesystem::path(out) / "model.enas").string();
  Int8Result int8;
  if (o.precision == "int8") {
    int8 = quantize_trained(o, g, net.inference_weights(), train_set, test, norm);
    int8.model->input_mean = norm.mean, int8.model->input_stddev = norm.stddev;
  }
  save_model(model_path, {g, net.inference_weights(), norm.mean, norm.stddev, int8.model});
  if (as_json) {
    std::printf("%s\n", json::dump(json::Value()
                                       .set("genotype", to_string(g))
                                       .set("test_accuracy", result.accuracy)
                                       .set("weight_average", static_cast<double>(o.weight_average))
                                       .set("test_accuracy_without_average", without_average)
                                       .set("precision", o.precision)
                                       .set("int8_post_training_accuracy", int8.post_training_accuracy)
                                       .set("int8_qat_accuracy", int8.qat_accuracy)
                                       .set("params", parameter_count(g.view()))
                                       .set("model", model_path)
                                       .set("epochs", std::move(epochs_json)))
                            .c_str());
  } else {
    std::printf("test     %.2f%% on %zu images (float)\n", 100 * result.accuracy, test.size());
    if (without_average >= 0)
      std::printf("         (the weight average; the last weights %.2f%%)\n", 100 * without_average);
    if (int8.post_training_accuracy >= 0) std::printf("int8     %.2f%% post-training\n", 100 * int8.post_training_accuracy);
    if (int8.qat_accuracy >= 0) std::printf("int8     %.2f%% after QAT\n", 100 * int8.qat_accuracy);
    std::printf("model    %s\n", model_path.c_str());
  }
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand("train", "Train one architecture from scratch on Fashion-MNIST (resumable)");
  cmd->add_option("--genotype", o->genotype, "The network, in genotype text form (see docs/blocks.md)")->required();
  cmd->add_option("--data", o->data, "The data, any format (docs/data.md; default: Debian's Fashion-MNIST)");
  cmd->add_option("--out", o->out, "Output folder: train.ckpt, model.enas")->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Epochs")->check(epochs(1))->capture_default_str();
  cmd->add_option("--batch", o->batch, "Batch size")->check(number(2, 100000))->capture_default_str();
  cmd->add_option("--lr", o->lr, "Peak learning rate (SGD, Nesterov, cosine)")
      ->check(learning_rate())
      ->capture_default_str();
  cmd->add_option("--weight-decay", o->weight_decay, "L2 weight decay on conv and FC weights")
      ->check(number(0, 0.5))
      ->capture_default_str();
  cmd->add_option("--weight-average", o->weight_average,
                  "Keep an exponential moving average of the weights with this decay (e.g. 0.999; 0: none); the "
                  "average is the trained model")
      ->check(number(0, 0.999999))
      ->capture_default_str();
  cmd->add_option("--validation", o->validation, "Hold out this many training images and report on them")
      ->check(number(0, 1e9));
  cmd->add_option("--train-images", o->train_images, "Use only this many training images")->check(images());
  cmd->add_option("--threads", o->threads, "Threads")->check(thread_count())->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed")->capture_default_str();
  cmd->add_option("--erase", o->erase, "Random erasing: probability that a training picture gets a random rectangle")
      ->check(number(0, 1))
      ->capture_default_str();
  cmd->add_option("--precision", o->precision, "fp32, or int8: also quantize (TFLite int8 scheme) after training")
      ->check(CLI::IsMember({"fp32", "int8"}))
      ->capture_default_str();
  cmd->add_option("--qat-epochs", o->qat_epochs,
                  "int8: quantization-aware fine-tuning epochs after post-training quantization")
      ->check(epochs())
      ->capture_default_str();
  cmd->add_option("--qat-lr", o->qat_lr, "int8: QAT peak learning rate")->check(learning_rate())->capture_default_str();
  cmd->add_option("--calibration-images", o->calibration_images,
                  "int8: training images that calibrate activation ranges")
      ->check(images())
      ->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue from OUT/train.ckpt");
  cmd->add_flag("--json", o->json, "Machine-readable output");
  cmd->add_flag("--quiet", o->quiet, "No progress output");
  cmd->callback([o, &run] { run = [o] { return train_command(*o); }; });
}

}  // namespace edgenas::cli
