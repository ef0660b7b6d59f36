// train_fashion_mnist — trains the reference network of the issue from its genotype on the
// real Fashion-MNIST (Debian package dataset-fashion-mnist) and reports test accuracy.
//
//   train_fashion_mnist [--epochs N] [--batch N] [--lr X] [--threads N] [--seed N]
//                       [--train-images N] [--checkpoint FILE] [--resume]
//
// 55 000 images train, 5 000 held out for validation; the 10 000 test images are only used for
// the final report.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <edgenas/data.hpp>
#include <edgenas/runtime/xnnpack.hpp>
#include <edgenas/train.hpp>
#include <string>

using namespace edgenas;

namespace {
constexpr const char* reference_genotype =
    "in:28x28x1 stem:16:k3:s1:hswish mb:16:e4:k3:s1:se:hswish mb:24:e4:k3:s2:se:hswish mb:24:e4:k5:s1:se:hswish "
    "mb:40:e4:k5:s2:se:hswish mb:40:e4:k3:s1:se:hswish mb:80:e4:k3:s1:se:hswish head:128:hswish fc:10";

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "train_fashion_mnist: %s\nusage: train_fashion_mnist [--epochs N] [--batch N] [--lr X] [--threads N] "
               "[--seed N] [--train-images N] [--checkpoint FILE] [--resume] [--genotype TEXT] [--verify-xnnpack]\n",
               why);
  std::exit(2);
}
}  // namespace

int main(int argc, char** argv) {
  train::TrainConfig config;
  config.epochs = 15;
  config.batch_size = 128;
  config.lr = 0.2f;
  config.warmup_epochs = 1.0f;
  config.label_smoothing = 0.1f;
  config.optimizer.weight_decay = 1e-4f;
  config.augmentation = {2, true};
  int threads = 2;
  std::size_t train_images = 0;
  bool resume = false, verify_xnnpack = false;
  std::string genotype_text = reference_genotype;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--epochs") config.epochs = std::atoi(value());
    else if (arg == "--batch") config.batch_size = std::atoi(value());
    else if (arg == "--lr") config.lr = static_cast<float>(std::atof(value()));
    else if (arg == "--threads") threads = std::atoi(value());
    else if (arg == "--seed") config.seed = std::strtoull(value(), nullptr, 10);
    else if (arg == "--train-images") train_images = std::strtoull(value(), nullptr, 10);
    else if (arg == "--checkpoint") config.checkpoint = value();
    else if (arg == "--genotype") genotype_text = value();
    else if (arg == "--resume") resume = true;
    else if (arg == "--verify-xnnpack") verify_xnnpack = true;
    else usage(("unknown argument " + arg).c_str());
  }
  if (config.epochs < 1 || config.batch_size < 2 || threads < 1) usage("epochs, batch (>= 2) and threads must be positive");
  if (resume && config.checkpoint.empty()) usage("--resume needs --checkpoint FILE");

  try {
    set_num_threads(threads);
    const auto start = std::chrono::steady_clock::now();
    const data::Dataset all = data::load_fashion_mnist(data::Split::train);
    const data::Dataset test = data::load_fashion_mnist(data::Split::test);
    auto [train_set, val_set] = data::split(all, 5000, 42);
    if (train_images > 0) train_set = data::head(train_set, train_images);
    const data::Normalization norm = data::compute_normalization(train_set);

    const Genotype g = parse_genotype(genotype_text);
    train::Network net(g, config.seed);
    std::printf("genotype   %s\nparameters %lld (cost model %lld), %.2f M MACs\n", to_string(g).c_str(),
                static_cast<long long>(net.parameter_count()), static_cast<long long>(parameter_count(g.view())),
                static_cast<double>(mac_count(g.view())) / 1e6);
    std::printf("data       %zu train, %zu validation, %zu test images; %d threads, batch %d\n", train_set.size(),
                val_set.size(), test.size(), threads, config.batch_size);
    train::Trainer trainer(net, train_set, norm, config);
    if (resume) {
      trainer.resume(config.checkpoint);
      std::printf("resumed    after epoch %d from %s\n", trainer.epochs_done(), config.checkpoint.c_str());
    }
    double train_seconds = 0.0;
    while (!trainer.finished()) {
      const train::EpochStats e = trainer.train_epoch([&](std::size_t b, std::size_t n, double loss) {
        if (b % 43 == 0 || b == n) {
          std::fprintf(stderr, "\repoch %2d  [%-30.*s] %3zu%%  loss %.4f", trainer.epochs_done() + 1,
                       static_cast<int>(30 * b / n), "##############################", 100 * b / n, loss);
        }
      });
      train_seconds += e.seconds;
      const train::EvalStats val = trainer.evaluate(val_set);
      std::fprintf(stderr, "\r%70s\r", "");
      std::printf("epoch %2d   loss %.4f  train acc %.4f  val acc %.4f  %.1f s  %.0f img/s\n", e.epoch, e.loss,
                  e.accuracy, val.accuracy, e.seconds, e.images_per_second);
      std::fflush(stdout);
    }
    const train::EvalStats result = trainer.evaluate(test);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("test accuracy %.4f (loss %.4f) after %d epochs; training %.1f s, wall %.1f s\n", result.accuracy,
                result.loss, trainer.epochs_done(), train_seconds, total);
    if (verify_xnnpack) {
      // The deployed network: BN folded, through XNNPACK, one image at a time.
      xnnpack::Runtime runtime(net.genotype(), net.inference_weights(), 1, 1);
      data::BatchLoader loader(test, 1, norm);
      const auto order = loader.order(0, 0, false);
      Tensor image, logits({1, 1, 1, 10});
      std::vector<std::int32_t> label, predicted;
      std::size_t correct = 0, differ = 0;
      for (std::size_t i = 0; i < test.size(); ++i) {
        loader.fill(order, i, data::Augmentation::none(), 0, 0, image, label);
        runtime.run(image, logits);
        predicted.clear();
        train::predicted_classes(logits, predicted);
        correct += predicted[0] == label[0];
        differ += predicted[0] != result.predictions[i];
      }
      std::printf("XNNPACK runtime: test accuracy %.4f, %zu of %zu predicted classes differ from the trainer's\n",
                  static_cast<double>(correct) / static_cast<double>(test.size()), differ, test.size());
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "train_fashion_mnist: %s\n", e.what());
    return 1;
  }
}
