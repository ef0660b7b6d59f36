// `edgenas search`: the product, end to end — a thin shell over edgenas::search::Pipeline
// (include/edgenas/search/pipeline.hpp): a preset, the options the user gave on top of it,
// progress bars, and the summary. Under mpirun (a build with EDGENAS_WITH_MPI) every rank runs
// it: the workers search together, rank 0 prints (docs/distributed.md).
#include <cstdio>
#include <cstdlib>
#include <edgenas/search/pipeline.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#ifdef EDGENAS_WITH_MPI
#include <edgenas/distributed/mpi.hpp>
#endif

#include "cli_common.hpp"
#include "commands.hpp"

namespace edgenas::cli {
namespace {

/// The preset, and every option the user gave: each given option overrides its field.
struct SearchOptions {
  std::string preset = "quick";
  search::SearchConfig given;  // the values of the options given (others are the preset's)
  std::vector<std::pair<CLI::Option*, std::function<void(search::SearchConfig&, const search::SearchConfig&)>>> fields;
  std::string space, strategy, final_training, memory_budget;
  int latency_rank = -1;
  int rank_check = 0, rank_epochs = 2, rank_trainings = 1;
  bool json = false, quiet = false, no_flip = false, no_crop = false;

  search::SearchConfig config() const {
    search::SearchConfig c = search::presets::named(preset);
    for (const auto& [option, copy] : fields)
      if (option->count() > 0) copy(c, given);
    if (!space.empty()) c.space = space_named(space);
    if (!strategy.empty()) c.strategy = search::parse_strategy(strategy);
    if (!final_training.empty()) {
      c.final_training = search::parse_final_training(final_training);
      const bool lr_given = std::any_of(fields.begin(), fields.end(), [](const auto& f) {
        return f.first->get_name() == "--finetune-lr" && f.first->count() > 0;
      });
      if (!lr_given) c.final_lr = c.final_training == search::FinalTraining::retrain ? 0.2 : 0.1;
    }
    if (!memory_budget.empty()) c.memory_budget = search::parse_bytes(memory_budget);
    if (no_flip || no_crop) {
      std::string& a = c.augmentation;
      if (a.rfind("auto", 0) == 0) a = no_flip && no_crop ? "none" : no_flip ? "auto/no-flip" : "auto/no-crop";
      const bool crop = !no_crop && (a == "crop" || a == "crop+flip"),
                 flip = !no_flip && (a == "flip" || a == "crop+flip");
      if (a.rfind("auto", 0) != 0) a = crop && flip ? "crop+flip" : crop ? "crop" : flip ? "flip" : "none";
    }
    return c;
  }
};

void print_summary(const search::SearchReport& r, const std::string& out) {
  std::printf("search   %s on %s: %zu evaluations, %zu on the front, hypervolume %.4f\n", r.strategy.c_str(),
              r.space.c_str(), r.history.size(), r.front.size(), r.hypervolume);
  for (const search::ChosenNetwork& c : r.chosen) {
    if (!c.found) {
      std::printf("budget   %.3f ms: nothing evaluated meets it\n", c.budget_ms);
      continue;
    }
    const auto& k = c.candidate.costs;
    std::printf("chosen   %s\n", to_string(c.candidate.genotype).c_str());
    std::printf(
        "         test %.2f%%  latency %.4f ms measured / %.4f predicted  %lld params  %.2f M MACs  %lld arena "
        "bytes  %lld flash bytes (%s)\n",
        100 * c.test_accuracy, c.measured_ms, k.latency_ms, static_cast<long long>(k.params), k.macs / 1e6,
        static_cast<long long>(k.arena_bytes), static_cast<long long>(k.flash_bytes), c.precision.c_str());
    if (c.precision == "int8") std::printf("         int8 (test and latency above): %s\n", int8_summary(c).c_str());
  }
  std::printf("memory   %.0f MiB peak resident, %.0f s\n", static_cast<double>(r.peak_memory_bytes) / 1048576.0,
              r.wall_seconds);
  std::printf("report   %s/report.md (front.svg, result.json, model files)\n", out.c_str());
}

/// The search in this process (`cluster`: one rank of a distributed job; its rank 0 prints).
int run_search(const SearchOptions& o, const search::SearchConfig& config, search::Cluster* cluster = nullptr) {
  set_num_threads(config.threads);
  const bool leader = !cluster || cluster->rank() == 0;
  // One progress bar per task (a supernet epoch, the search, ...), replaced when the task changes.
  std::unique_ptr<Progress> bar;
  std::string task;
  search::Callbacks callbacks;
  if (!o.quiet && leader) {
    callbacks.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    callbacks.progress = [&](const search::ProgressEvent& e) {
      if (!bar || e.task != task) bar = std::make_unique<Progress>(task = e.task);
      bar->update(e.done, e.total, e.detail);
    };
  }
  search::Pipeline pipeline(config, callbacks, cluster);
  if (o.rank_check > 0) {  // the search (resumed, or run), then the ranking check instead of final training
    pipeline.load_data();
    pipeline.measure_latency();
    pipeline.train_supernet();
    pipeline.search();
    const search::RankCheck r = pipeline.rank_check(o.rank_check, o.rank_epochs, o.rank_trainings);
    if (leader && o.json) std::printf("%s\n", json::dump(search::to_json(r)).c_str());
    else if (leader)
      std::printf("rank check  %s (%s/rank-check.json)\n", search::summary(r).c_str(), config.out.c_str());
    return 0;
  }
  if (!pipeline.run()) return 2;
  if (!leader) return 0;
  if (o.json) std::printf("%s\n", json::dump(search::report_json(pipeline.report())).c_str());
  else print_summary(pipeline.report(), config.out);
  return 0;
}

#ifdef EDGENAS_WITH_MPI
// Every rank of an mpirun job: the device rank answers latency requests, the others search. An
// error on any rank ends the whole job (nothing acknowledged is lost: --resume continues it).
int distributed_search(const SearchOptions& o) {
  distributed::MpiCluster cluster(o.latency_rank);
  try {
    cluster.check(o.latency_rank);
    const search::SearchConfig config = o.config();
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const int local_ranks = local ? std::atoi(local) : 1;
    if (cluster.rank() == 0 && !o.quiet && local_ranks * config.threads > static_cast<int>(std::thread::hardware_concurrency()))
      std::fprintf(stderr, "search: %d ranks on this host x %d threads each > %u cores: give --threads %d\n", local_ranks,
                   config.threads, std::thread::hardware_concurrency(),
                   std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / local_ranks));
    if (cluster.rank() == cluster.latency_rank()) {
      set_num_threads(config.threads);
      search::serve_latency(cluster, config.out + "/rank-" + std::to_string(cluster.rank()));
      return 0;
    }
    if (cluster.rank() == 0 && !o.quiet)
      std::fprintf(stderr, "search: %d worker processes%s\n", cluster.workers(),
                   cluster.latency_rank() > 0 ? (", rank " + std::to_string(cluster.latency_rank()) + " measures latency").c_str() : "");
    const int code = run_search(o, config, &cluster);
    if (code != 0) {
      std::fprintf(stderr, "edgenas: cancelled (rank %d): run again with --resume to continue\n", cluster.rank());
      cluster.abort(code);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgenas: %s (rank %d of %d)\n", e.what(), cluster.rank(), cluster.size());
    std::fflush(stderr);
    cluster.abort(1);
  }
}
#endif

int search_command(const SearchOptions& o) {
#ifdef EDGENAS_WITH_MPI
  if (distributed::launched_by_mpi()) return distributed_search(o);
#endif
  EDGENAS_CHECK(o.latency_rank < 0, Status::unsupported,
                "--latency-rank: this is not a distributed run (start it with mpirun, from a build with "
                "-DEDGENAS_WITH_MPI=ON; docs/distributed.md)");
  return run_search(o, o.config());
}

}  // namespace

void add_search_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<SearchOptions>();
  search::SearchConfig& g = o->given;
  auto* cmd = app.add_subcommand(
      "search",
      "Find the most accurate network that fits a device budget.\n"
      "Trains a weight-sharing supernet (sandwich rule, in-place distillation), searches it with the chosen\n"
      "strategy under hard budgets (latency from this device's measured table, parameters, arena, flash, MACs),\n"
      "trains the best network under each latency budget to full accuracy, measures it, and writes OUT/report.md,\n"
      "front.svg, result.json and model files. Interrupted? Run the same command with --resume.");
  using C = search::SearchConfig;
  // An option bound to a field of `given`, copied over the preset's value when the user gives it.
  const auto field = [&](const std::string& name, auto member, const std::string& help) {
    CLI::Option* opt = cmd->add_option(name, g.*member, help);
    o->fields.emplace_back(opt, [member](search::SearchConfig& c, const search::SearchConfig& from) {
      c.*member = from.*member;
    });
    return opt;
  };
  const auto flag = [&](const std::string& name, bool C::*member, const std::string& help) {
    CLI::Option* opt = cmd->add_flag(name, g.*member, help);
    o->fields.emplace_back(opt, [member](search::SearchConfig& c, const search::SearchConfig& from) {
      c.*member = from.*member;
    });
  };
  cmd->add_option("--preset", o->preset,
                  "tiny (seconds, a smoke test), quick (about 10 min on 2 cores), full (within 60 min; <= 100k params, "
                  "<= 0.25 ms)")
      ->check(CLI::IsMember({"tiny", "quick", "full"}))
      ->capture_default_str();
  cmd->add_option("--space", o->space,
                  "fmnist (default), fmnist-mcu (stem stride 2, for microcontrollers), mobilenetv3, auto (follows the "
                  "data: resolutions, channels, classes, downsampling), or a space .json file");
  field("--data", &C::data,
        "The data: a folder of class folders of images, NumPy .npy, CSV (.csv[.gz]), IDX or CIFAR-10 (format "
        "detected; docs/data.md). Default: Debian's Fashion-MNIST");
  field("--shape", &C::data_shape, "HxWxC of CSV rows or NumPy N×F rows that are not square images");
  field("--label-column", &C::label_column, "CSV without a header naming the label: its 0-based column (-1: the last)")
      ->check(number(-1, 1e6));
  field("--test-fraction", &C::test_fraction, "Held out as the test split when the data has none (default 0.2)")
      ->check(number(0.01, 0.9));
  field("--augment", &C::augmentation,
        "auto (random crops and flips for pictures, none for rows of values), none, crop, flip or crop+flip")
      ->check(CLI::IsMember({"auto", "none", "crop", "flip", "crop+flip"}));
  cmd->add_flag("--no-flip", o->no_flip, "No horizontal flips (digits, text)");
  cmd->add_flag("--no-crop", o->no_crop, "No random crops");
  field("--reference-images", &C::reference_images,
        "Epochs count passes over this many images; smaller data trains more epochs, at most 25x (0: as given)")
      ->check(number(0, 1e9));
  field("--out", &C::out, "Output folder (journal, checkpoints, report); default out/search");
  flag("--resume", &C::resume, "Continue the search in --out after an interruption");
  cmd->add_option(
         "--strategy", o->strategy,
         "random, evolution (regularized/aging; the default and the quick preset's), nsga2, reinforce "
         "(MnasNet's policy gradient) or differentiable (FBNet's Gumbel-softmax, latency in the loss; the full "
         "preset's, with --latency-beta 0)")
      ->check(CLI::IsMember({"random", "evolution", "nsga2", "reinforce", "differentiable"}));
  field("--choose-by", &C::choose_by,
        "How the final network is chosen among the evaluated ones within the budgets: accuracy (the supernet's; "
        "default) or accuracy+macs (the rank sum of the supernet's accuracy and the MACs, which ranks architectures "
        "trained alone better on the ranking checks: docs/search.md)")
      ->check(CLI::IsMember({"accuracy", "accuracy+macs"}));
  field("--evaluations", &C::evaluations, "Distinct architectures evaluated")->check(number(1, 1e6));
  field("--population", &C::population, "Population of evolution / NSGA-II")->check(number(2, 100000));
  field("--latency-budget", &C::latency_budgets_ms,
        "Hard latency budget in ms (repeat for several: one chosen network each)")
      ->check(number(0, 1e6, true));
  field("--params-budget", &C::params_budget, "Hard budget on parameters")->check(budget());
  field("--arena-budget", &C::arena_budget,
        "Hard budget on the static inference arena, bytes of --precision (input and logits included)")
      ->check(budget());
  field("--flash-budget", &C::flash_budget,
        "Hard budget on flash for the weights and per-layer constants, bytes of --precision (docs/quantization.md)")
      ->check(budget());
  field("--macs-budget", &C::macs_budget, "Hard budget on multiply-accumulates")->check(budget());
  field("--table", &C::tables,
        "Latency table(s) from `edgenas latency build` (repeat: the budget must hold on the slowest). "
        "Default: measure one on this device into OUT")
      ->check(CLI::ExistingFile);
  field("--reward-target", &C::reward_target_ms, "MnasNet soft reward ACC*(LAT/T)^w with this T in ms")
      ->check(number(0, 1e6, true));
  field("--reward-exponent", &C::reward_exponent, "w of the soft reward (default -0.07)")->check(number(-10, 0));
  field("--policy-lr", &C::policy_lr, "reinforce: step size on the policy's logits (default 0.1)")
      ->check(number(1e-9, 1e3));
  field("--entropy", &C::entropy_weight, "reinforce: weight of the entropy bonus (default 0.02)")
      ->check(number(0, 1e3));
  field("--arch-lr", &C::arch_lr, "differentiable: Adam's step on the architecture logits (default 0.01)")
      ->check(number(1e-9, 10));
  field("--latency-alpha", &C::latency_alpha,
        "differentiable: alpha of FBNet's loss CE*alpha*ln(LAT_us)^beta (default 0.2)")
      ->check(number(1e-9, 1e3));
  field("--latency-beta", &C::latency_beta,
        "differentiable: beta of that loss (default 0.6; the full preset's 0: the budgets alone bound latency)")
      ->check(number(0, 10));
  field("--supernet-epochs", &C::supernet_epochs, "Epochs of supernet training")->check(epochs());
  field("--supernet", &C::supernet_init, "Start from this supernet checkpoint (e.g. OUT/supernet.ckpt of another run)")
      ->check(CLI::ExistingFile);
  field("--sandwich-near-budget", &C::sandwich_near_budget,
        "The supernet's random sub-networks use at least this share of their nearest budget, e.g. 0.7 (default "
        "0: any that fits)")
      ->check(number(0, 1));
  field("--supernet-teacher", &C::supernet_teacher,
        "The supernet's smaller sub-networks distill from this network (OUT/train.ckpt of `edgenas train` on the "
        "same data) instead of from its largest")
      ->check(CLI::ExistingFile);
  flag("--progressive-shrinking,!--sandwich", &C::progressive_shrinking,
       "Supernet schedule: Once-for-All's phases (full, kernel, depth, expand; the full preset's), or the sandwich "
       "rule throughout (--sandwich; the other presets')");
  field("--finetune-epochs", &C::final_epochs, "Epochs of the final training")->check(epochs());
  cmd->add_option("--final", o->final_training,
                  "How the chosen networks get their final weights: retrain (from scratch; quick, full) or fine-tune "
                  "(from the supernet's weights; tiny)")
      ->check(CLI::IsMember({"retrain", "fine-tune"}));
  field("--erase", &C::final_erase,
        "Random erasing in the final training: probability that a training picture gets a random rectangle "
        "(default 0)")
      ->check(number(0, 1));
  field("--weight-decay", &C::final_weight_decay, "L2 weight decay of the final training (default 1e-4)")
      ->check(number(0, 0.5));
  flag("--final-with-validation", &C::final_with_validation,
       "The final training also trains on the validation images once the network is chosen (its validation "
       "accuracy is then not held out; fp32 only)");
  field("--time-budget", &C::time_budget_minutes,
        "Minutes of wall time for the whole run: the final training trains as many of its --finetune-epochs as "
        "fit in what the earlier stages left, re-planned before each epoch at the pace the epochs run (0: none)")
      ->check(number(0, 1e6));
  field("--weight-average", &C::final_weight_average,
        "Keep a moving average of the final training's weights with this decay (e.g. 0.999), the average "
        "becoming the model (default 0: none)")
      ->check(number(0, 0.999999));
  field("--finetune-lr", &C::final_lr, "Peak learning rate of that training (default 0.2 retrain, 0.1 fine-tune)")
      ->check(learning_rate());
  field("--precision", &C::precision,
        "fp32, or int8: candidates evaluated quantized, int8 latency tables and budgets, the chosen networks "
        "quantized after training then QAT-fine-tuned")
      ->check(CLI::IsMember({"fp32", "int8"}));
  field("--qat-epochs", &C::qat_epochs, "int8: QAT epochs for each chosen network (default 2)")->check(epochs());
  field("--qat-lr", &C::qat_lr, "int8: QAT peak learning rate (default 0.001)")->check(learning_rate());
  field("--quant-calibration-images", &C::quant_calibration_images,
        "int8: training images that calibrate activation ranges (default 500)")
      ->check(images());
  field("--train-images", &C::train_images, "Use only this many training images")->check(images());
  field("--supernet-images", &C::supernet_images, "Train the supernet on only this many of them")->check(images());
  field("--validation-images", &C::validation_images, "Held out from training for the search")->check(images());
  field("--test-images", &C::test_images, "Use only this many test images")->check(images());
  field("--calibration-images", &C::calibration_images, "Images for batch-norm recalibration (at least 2)")
      ->check(images(2));
  field("--batch", &C::batch, "Training batch size (default 128; tiny 50)")->check(number(2, 100000));
  cmd->add_option("--memory-budget", o->memory_budget,
                  "Peak memory to fit, e.g. 512M or 1G: batch sizes are lowered to fit, or the search refuses to start");
  field("--threads", &C::threads, "Training threads (default 2)")->check(thread_count());
  field("--latency-statistic", &C::latency_statistic,
        "What latency budgets hold for: typical, or p90 (the 90th percentile of single runs, for a busy device)")
      ->check(CLI::IsMember({"typical", "p90"}));
  field("--latency-threads", &C::latency_threads, "Threads the deployed model will use (latency; default 1)")
      ->check(thread_count());
  field("--seed", &C::seed, "Seed: the same seed gives the same search (default 1)");
  field("--shards", &C::shards,
        "Supernet steps split the batch into this many shards (batch norm per shard), spread over the MPI "
        "workers (default: one per worker; the same --shards gives the same search on any number of workers)")
      ->check(number(0, 4096));
  field("--proposals", &C::proposals,
        "Evolution: children proposed per round; reinforce: samples per policy update; evaluated in parallel by "
        "the MPI workers (default: one per worker)")
      ->check(number(0, 100000));
  cmd->add_option("--rank-check", o->rank_check,
                  "After the search (run or resumed), train this many of its architectures alone, spread across "
                  "latency, and report how well the supernet ranked them (Kendall tau, Spearman rho, top-5 overlap; "
                  "OUT/rank-check.json) instead of the final training")
      ->check(number(2, 10000));
  cmd->add_option("--rank-epochs", o->rank_epochs, "Epochs of that stand-alone training (default 2)")->check(epochs());
  cmd->add_option("--rank-trainings", o->rank_trainings,
                  "Train each of those architectures this many times (seeds --seed, --seed + 1, ...) and rank against "
                  "the mean; reports how well the trainings agree with each other (default 1). Asked again with more, "
                  "a check trains only the new seeds")
      ->check(number(1, 100));
  cmd->add_option("--latency-rank", o->latency_rank,
                  "Under mpirun: this rank (1..N-1; e.g. the board) measures the latency table and the chosen networks "
                  "on its device and does nothing else");
  cmd->add_flag("--json", o->json, "Print result.json to stdout");
  cmd->add_flag("--quiet", o->quiet, "No progress output");
  cmd->callback([o, &run] { run = [o] { return search_command(*o); }; });
}

}  // namespace edgenas::cli
