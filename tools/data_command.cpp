// edgenas data inspect PATH [--json]      what a search would read from PATH, with warnings
// edgenas data convert PATH OUT [--to png|csv]
//                                         any readable data as a folder of PNG images
//                                         (OUT/{train,val,test}/<class>/<index>.png), or as
//                                         OUT/{train,val,test}.csv (a header, the label last):
//                                         the splits exactly as a search reads them, for peers
#include <edgenas/data/image_write.hpp>
#include <edgenas/data/source.hpp>
#include <filesystem>
#include <fstream>

#include "commands.hpp"

namespace edgenas::cli {
namespace {

struct DataOptions {
  std::string path, out, shape, to = "png";
  int label_column = -1;
  double test_fraction = 0.2;
  bool json = false;
  data::LoadOptions load() const {
    data::LoadOptions o;
    o.test_fraction = test_fraction;
    o.shape = shape;
    o.label_column = label_column;
    return o;
  }
};

int inspect_command(const DataOptions& o) {
  const data::DataSource d = data::load(o.path, o.load());
  const data::DataSummary s = data::summarize(d);
  if (o.json) {
    std::printf("%s\n", json::dump(s.value).c_str());
    return 0;
  }
  std::printf("data      %s (%s)\n", d.path.c_str(), data::format_name(d.format));
  std::printf("images    %dx%dx%d, %s; pixel values %d to %d\n", d.height(), d.width(), d.channels(),
              d.images ? "pictures (crops and flips by default)" : "rows of values (no augmentation by default)",
              s.value.at("pixel_min", "").as_int(""), s.value.at("pixel_max", "").as_int(""));
  std::printf("splits    %zu train, %zu validation%s, %zu test%s\n", d.train.size(), d.validation.size(),
              d.validation.size() ? "" : " (a search holds some training images out)", d.test.size(),
              d.test_given ? "" : " (split off here)");
  std::printf("classes   %d\n", d.classes());
  std::printf("  %-6s %-24s %8s %10s %8s\n", "class", "name", "train", "validation", "test");
  for (const json::Value& c : s.value.at("per_class", "").as_array(""))
    std::printf("  %-6d %-24s %8lld %10lld %8lld\n", c.at("class", "").as_int(""),
                c.at("name", "").as_string("").c_str(), static_cast<long long>(c.at("train", "").as_int64("")),
                static_cast<long long>(c.at("validation", "").as_int64("")),
                static_cast<long long>(c.at("test", "").as_int64("")));
  for (const std::string& n : d.notes) std::printf("note      %s\n", n.c_str());
  for (const std::string& w : s.warnings) std::printf("warning   %s\n", w.c_str());
  if (s.warnings.empty()) std::printf("warnings  none\n");
  return 0;
}

int convert_command(const DataOptions& o) {
  namespace fs = std::filesystem;
  const data::DataSource d = data::load(o.path, o.load());
  EDGENAS_CHECK(!fs::exists(o.out) || fs::is_empty(o.out), Status::invalid_argument,
                "%s exists and is not empty; choose a new folder", o.out.c_str());
  std::size_t written = 0;
  fs::create_directories(o.out);
  for (const auto& [name, set] : {std::pair{"train", &d.train}, {"val", &d.validation}, {"test", &d.test}}) {
    if (set->labels.empty()) continue;
    if (o.to == "csv") {
      const fs::path p = fs::path(o.out) / (std::string(name) + ".csv");
      std::ofstream f(p);
      const std::size_t values = set->image_bytes();
      for (std::size_t k = 0; k < values; ++k) f << "pixel" << k << ",";
      f << "label\n";
      for (std::size_t i = 0; i < set->size(); ++i) {
        for (std::size_t k = 0; k < values; ++k) f << int{set->image(i)[k]} << ",";
        f << data::class_name(*set, set->labels[i]) << "\n";
      }
      EDGENAS_CHECK(f.good(), Status::io_error, "%s: cannot write", p.c_str());
      written += set->size();
      continue;
    }
    for (int c = 0; c < set->classes; ++c) fs::create_directories(fs::path(o.out) / name / data::class_name(*set, c));
    const int digits = static_cast<int>(std::to_string(set->size()).size());
    for (std::size_t i = 0; i < set->size(); ++i) {
      char file[32];
      std::snprintf(file, sizeof file, "%0*zu.png", digits, i);
      const fs::path p = fs::path(o.out) / name / data::class_name(*set, set->labels[i]) / file;
      data::write_png(p.string(), set->image(i), set->height, set->width, set->channels);
      ++written;
    }
  }
  if (o.to == "csv")
    std::printf("wrote %zu images to %s (train.csv, %stest.csv; pixels, then the label)\n", written, o.out.c_str(),
                d.validation.size() ? "val.csv, " : "");
  else
    std::printf("wrote %zu PNG images to %s (train/, %stest/; one folder per class)\n", written, o.out.c_str(),
                d.validation.size() ? "val/, " : "");
  return 0;
}

}  // namespace

void add_data_command(CLI::App& app, Action& run) {
  auto* cmd = app.add_subcommand("data", "Look at a data set as a search would read it, or convert it to images.");
  cmd->require_subcommand(1);
  const auto common = [](CLI::App* sub, DataOptions& o) {
    sub->add_option("PATH", o.path,
                    "A folder of class folders of images, NumPy .npy, CSV (.csv[.gz]), IDX or CIFAR-10 (docs/data.md)")
        ->required();
    sub->add_option("--shape", o.shape, "HxWxC of CSV rows or NumPy N×F rows that are not square images");
    sub->add_option("--label-column", o.label_column, "CSV without a header naming the label: its column (-1: last)")
        ->check(number(-1, 1e6));
    sub->add_option("--test-fraction", o.test_fraction, "Held out as the test split when the data has none")
        ->check(number(0.01, 0.9));
  };
  auto inspect = std::make_shared<DataOptions>();
  auto* i = cmd->add_subcommand("inspect",
                                "Classes, counts per class and split, shape, value range, and warnings "
                                "(class imbalance, mixed image sizes, duplicates, test images seen in training)");
  common(i, *inspect);
  i->add_flag("--json", inspect->json, "Print it as JSON");
  i->callback([inspect, &run] { run = [inspect] { return inspect_command(*inspect); }; });
  auto convert = std::make_shared<DataOptions>();
  auto* c = cmd->add_subcommand("convert",
                                "Write the data, split as a search reads it, as PNG images "
                                "(OUT/{train,test}/<class>/<index>.png) or CSV tables (OUT/{train,test}.csv)");
  common(c, *convert);
  c->add_option("OUT", convert->out, "A new folder")->required();
  c->add_option("--to", convert->to, "png (a folder of class folders) or csv (train.csv, test.csv)")
      ->check(CLI::IsMember({"png", "csv"}))
      ->capture_default_str();
  c->callback([convert, &run] { run = [convert] { return convert_command(*convert); }; });
}

}  // namespace edgenas::cli
