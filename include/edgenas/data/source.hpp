// edgenas/data/source.hpp — one path, any supported format: what `--data PATH` reads.
//
//   PATH                                          format
//   folder with train-images-idx3-ubyte[.gz]      IDX (MNIST, Fashion-MNIST), t10k-* the test split
//   folder with data_batch_1.bin                  CIFAR-10 binary, test_batch.bin the test split
//   folder with x_train.npy (y_train, x_test…)    NumPy; or images.npy + labels.npy (not split)
//   FILE.npy                                      NumPy; labels in y….npy for x….npy, labels….npy
//                                                 for images….npy, else FILE_labels.npy
//   folder with train.csv[.gz] (test.csv[.gz])    CSV; FILE.csv / FILE.csv.gz one table
//   folder of class folders (or train/ val/ test/ of class folders)   images (image_folder.hpp)
//
// Data without a test split is split here, stratified and seeded (LoadOptions::test_fraction);
// the search later holds out its validation images from the training split the same way.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

#include "edgenas/core/json.hpp"
#include "edgenas/data/csv.hpp"
#include "edgenas/data/image_folder.hpp"
#include "edgenas/data/loader.hpp"
#include "edgenas/data/npy.hpp"
#include "edgenas/data/readers.hpp"

namespace edgenas::data {

enum class Format { idx, cifar10, npy, csv, image_folder };

inline const char* format_name(Format f) {
  constexpr const char* names[] = {"IDX", "CIFAR-10 binary", "NumPy .npy", "CSV", "image folder"};
  return names[static_cast<int>(f)];
}

struct LoadOptions {
  double test_fraction = 0.2;  // held out as the test split when the data has none
  std::uint64_t seed = 1;      // of that split
  std::string shape{};         // "HxWxC" of CSV rows and N×F arrays that are not square images
  int label_column = -1;       // CSV without a header naming it: 0-based, −1 the last column
  ImageFolderOptions folder{};
};

/// A data set as read: its splits, and what a person should know about how it was read.
struct DataSource {
  std::string path;
  Format format = Format::idx;
  Dataset train, validation, test;  // validation is empty unless the data has a val split
  bool test_given = true;           // false: `test` was split off here
  bool images = true;               // pictures (augmented with crops and flips) or rows of values
  std::vector<std::string> notes;   // how values became pixels, what was ignored or split
  std::map<std::pair<int, int>, std::size_t> native_sizes;  // image folders: sizes as stored
  int height() const noexcept { return train.height; }
  int width() const noexcept { return train.width; }
  int channels() const noexcept { return train.channels; }
  int classes() const noexcept { return train.classes; }
};

namespace detail {

inline std::string existing(const std::filesystem::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (std::filesystem::exists(dir / n)) return (dir / n).string();
  return {};
}

inline std::string npy_labels_for(const std::filesystem::path& images) {
  const std::string name = images.filename().string();
  std::string labels;
  if (name.size() > 1 && (name[0] == 'x' || name[0] == 'X'))
    labels = (name[0] == 'x' ? "y" : "Y") + name.substr(1);
  else if (name.rfind("images", 0) == 0)
    labels = "labels" + name.substr(6);
  else
    labels = name.substr(0, name.find(".npy")) + "_labels.npy";
  return (images.parent_path() / labels).string();
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Every split gets the largest class count and the class names of the training split.
inline void unify_classes(DataSource& d) {
  int classes = d.train.classes;
  for (const Dataset* s : {&d.validation, &d.test}) classes = std::max(classes, s->classes);
  for (Dataset* s : {&d.train, &d.validation, &d.test}) {
    s->classes = classes;
    if (s->class_names.empty()) s->class_names = d.train.class_names;
  }
}

}  // namespace detail

/// Reads the data at `path` (format detected as in the table above); every error names the file.
inline DataSource load(const std::string& path, const LoadOptions& options = {}) {
  namespace fs = std::filesystem;
  DataSource d;
  d.path = path;
  EDGENAS_CHECK(fs::exists(path), Status::io_error, "%s: no such file or folder", path.c_str());
  const auto mapping_note = [&](const PixelMapping& m, const std::string& file) {
    if (m.offset != 0.0 || m.scale != 1.0) d.notes.push_back(file + ": " + m.describe());
  };
  PixelMapping m;
  bool rows = false;  // NumPy N×F: rows of values, not pictures
  if (fs::is_directory(path)) {
    const fs::path dir(path);
    if (!detail::existing(dir, {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"}).empty()) {
      d.format = Format::idx;
      const std::string gz = fs::exists(dir / "train-images-idx3-ubyte.gz") ? ".gz" : "";
      const auto idx = [&](const char* prefix) {
        Dataset s = load_idx((dir / (std::string(prefix) + "-images-idx3-ubyte" + gz)).string(),
                             (dir / (std::string(prefix) + "-labels-idx1-ubyte" + gz)).string(), limits::max_classes);
        s.classes = count_classes(s.labels, path);
        return s;
      };
      d.train = idx("train");
      d.test_given = fs::exists(dir / ("t10k-images-idx3-ubyte" + gz));
      if (d.test_given) d.test = idx("t10k");
    } else if (fs::exists(dir / "data_batch_1.bin")) {
      d.format = Format::cifar10;
      d.train = load_cifar10(Split::train, path);
      d.test = load_cifar10(Split::test, path);
    } else if (const std::string x = detail::existing(dir, {"x_train.npy", "images.npy"}); !x.empty()) {
      d.format = Format::npy;
      d.train = load_npy_dataset(x, detail::npy_labels_for(x), options.shape, &m, &rows);
      mapping_note(m, x);
      for (const auto& [split, target] : {std::pair{"x_test.npy", &d.test}, {"x_val.npy", &d.validation}})
        if (fs::exists(dir / split)) {
          *target = load_npy_dataset((dir / split).string(), detail::npy_labels_for(dir / split), options.shape, &m);
          mapping_note(m, (dir / split).string());
        }
      d.test_given = !d.test.labels.empty();
    } else if (const std::string t = detail::existing(dir, {"train.csv", "train.csv.gz"}); !t.empty()) {
      d.format = Format::csv;
      const CsvOptions co{options.label_column, options.shape};
      d.train = load_csv(t, co, &m);
      mapping_note(m, t);
      for (const auto& [names, target] : {std::pair{std::pair{"test.csv", "test.csv.gz"}, &d.test},
                                          {std::pair{"val.csv", "val.csv.gz"}, &d.validation}})
        if (const std::string f = detail::existing(dir, {names.first, names.second}); !f.empty()) {
          *target = load_csv(f, co, &m);
          mapping_note(m, f);
        }
      d.test_given = !d.test.labels.empty();
    } else if (looks_like_image_folder(path)) {
      d.format = Format::image_folder;
      const ImageFolderScan scan = scan_image_folder(path, options.folder);
      d.native_sizes = scan.sizes;
      const bool split = scan.files.count("train") > 0;
      d.train = load_image_folder_split(scan, split ? "train" : "");
      if (scan.files.count("test")) d.test = load_image_folder_split(scan, "test");
      if (scan.files.count("val")) d.validation = load_image_folder_split(scan, "val");
      d.test_given = !d.test.labels.empty();
      if (scan.ignored)
        d.notes.push_back(std::to_string(scan.ignored) + " files that are not .png, .jpg, .jpeg or .bmp ignored");
      if (scan.sizes.size() > 1 || scan.sizes.begin()->first != std::pair{scan.height, scan.width})
        d.notes.push_back("images resized to " + std::to_string(scan.height) + "x" + std::to_string(scan.width));
    } else {
      EDGENAS_FAIL(Status::invalid_argument,
                   "%s: cannot tell the data format: expected IDX files (train-images-idx3-ubyte.gz), CIFAR-10 "
                   "(data_batch_1.bin), NumPy (x_train.npy or images.npy), CSV (train.csv) or one folder of images "
                   "per class (docs/data.md)",
                   path.c_str());
    }
  } else if (detail::ends_with(path, ".npy") || detail::ends_with(path, ".npy.gz")) {
    d.format = Format::npy;
    const std::string labels = detail::npy_labels_for(path);
    EDGENAS_CHECK(fs::exists(labels), Status::io_error, "%s: its labels are expected in %s, which does not exist",
                  path.c_str(), labels.c_str());
    d.train = load_npy_dataset(path, labels, options.shape, &m, &rows);
    mapping_note(m, path);
    d.test_given = false;
  } else if (detail::ends_with(path, ".csv") || detail::ends_with(path, ".csv.gz")) {
    d.format = Format::csv;
    d.train = load_csv(path, {options.label_column, options.shape}, &m);
    mapping_note(m, path);
    d.test_given = false;
  } else {
    EDGENAS_FAIL(Status::invalid_argument,
                 "%s: cannot tell the data format from the name: give a .npy or .csv[.gz] file, or a folder "
                 "(docs/data.md)",
                 path.c_str());
  }
  d.images = d.format != Format::csv && !rows;
  // Shapes must agree between splits.
  for (const auto& [s, name] : {std::pair{&d.test, "test"}, {&d.validation, "validation"}})
    EDGENAS_CHECK(s->labels.empty() ||
                      (s->height == d.train.height && s->width == d.train.width && s->channels == d.train.channels),
                  Status::invalid_shape, "%s: %s images are %dx%dx%d, training images %dx%dx%d", path.c_str(), name,
                  s->height, s->width, s->channels, d.train.height, d.train.width, d.train.channels);
  detail::unify_classes(d);
  // Image folders list class by class, and tables are often sorted by label: the first images
  // would then hold only the first classes (a search trains its supernet and recalibrates batch
  // norm on the first images). Splits sorted by class are shuffled, seeded; others keep their order.
  for (const auto& [s, name] : {std::pair{&d.train, "training"}, {&d.validation, "validation"}, {&d.test, "test"}})
    if (s->size() > 1 && std::is_sorted(s->labels.begin(), s->labels.end()) && s->labels.front() != s->labels.back()) {
      std::vector<std::size_t> order(s->size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      Rng rng(options.seed ^ 0x5eed0f0de4ull);
      for (std::size_t i = order.size() - 1; i > 0; --i)
        std::swap(order[i], order[rng.below(static_cast<std::uint32_t>(i + 1))]);
      *s = select(*s, order);
      d.notes.push_back(std::string("the ") + name + " images came sorted by class: shuffled (seeded)");
    }
  EDGENAS_CHECK(d.classes() >= 2, Status::invalid_argument,
                "%s: the labels name %d class; a classifier needs two or more", path.c_str(), d.classes());
  if (!d.test_given) {
    std::tie(d.train, d.test) = stratified_split(d.train, options.test_fraction, options.seed);
    EDGENAS_CHECK(!d.test.labels.empty() && !d.train.labels.empty(), Status::invalid_argument,
                  "%s: %zu images are too few to hold out a test split (%g of each class)", path.c_str(),
                  d.train.size() + d.test.size(), options.test_fraction);
    d.notes.push_back("no test split in the data: " + std::to_string(d.test.size()) + " images (" +
                      std::to_string(static_cast<int>(std::lround(100 * options.test_fraction))) +
                      " %, stratified, seeded) held out as the test split");
  }
  return d;
}

/// The augmentation a data set gets by default: random crops (padding 1/14 of the side, 2 at
/// 28×28) and horizontal flips for pictures, none for rows of values.
inline Augmentation default_augmentation(bool pictures, int side) {
  if (!pictures) return Augmentation::none();
  return {std::max(1, static_cast<int>(std::lround(side / 14.0))), true};
}

/// What `edgenas data inspect` prints: counts per class and split, value range and warnings.
struct DataSummary {
  json::Value value;                  // everything, for --json
  std::vector<std::string> warnings;  // class imbalance, mixed sizes, duplicates, leakage
};

inline DataSummary summarize(const DataSource& d) {
  DataSummary s;
  json::Value::Array classes;
  std::vector<std::array<std::size_t, 3>> counts(static_cast<std::size_t>(d.classes()), {0, 0, 0});
  const Dataset* splits[3] = {&d.train, &d.validation, &d.test};
  for (int k = 0; k < 3; ++k)
    for (std::int32_t l : splits[k]->labels) ++counts[static_cast<std::size_t>(l)][static_cast<std::size_t>(k)];
  for (int c = 0; c < d.classes(); ++c) {
    const auto& n = counts[static_cast<std::size_t>(c)];
    classes.push_back(json::Value()
                          .set("class", c)
                          .set("name", class_name(d.train, c))
                          .set("train", static_cast<std::int64_t>(n[0]))
                          .set("validation", static_cast<std::int64_t>(n[1]))
                          .set("test", static_cast<std::int64_t>(n[2])));
  }
  int lo = 255, hi = 0;
  for (const Dataset* p : splits)
    for (std::uint8_t v : p->pixels) lo = std::min<int>(lo, v), hi = std::max<int>(hi, v);
  json::Value::Array notes, sizes;
  for (const std::string& n : d.notes) notes.emplace_back(n);
  for (const auto& [hw, n] : d.native_sizes)
    sizes.push_back(
        json::Value().set("height", hw.first).set("width", hw.second).set("images", static_cast<std::int64_t>(n)));
  // Warnings.
  std::size_t most = 0, least = SIZE_MAX;
  int most_c = 0, least_c = 0;
  for (int c = 0; c < d.classes(); ++c) {
    const std::size_t n = counts[static_cast<std::size_t>(c)][0];
    if (n > most) most = n, most_c = c;
    if (n < least) least = n, least_c = c;
  }
  const auto add = [&](std::string w) { s.warnings.push_back(std::move(w)); };
  if (least == 0)
    add("class \"" + class_name(d.train, least_c) + "\" has no training images");
  else if (most >= 3 * least)
    add("class imbalance: \"" + class_name(d.train, most_c) + "\" has " + std::to_string(most) +
        " training images, \"" + class_name(d.train, least_c) + "\" " + std::to_string(least) + " (" +
        std::to_string(most / least) + "x)");
  if (least > 0 && least < 10)
    add("class \"" + class_name(d.train, least_c) + "\" has only " + std::to_string(least) + " training images");
  if (d.native_sizes.size() > 1) {
    std::pair<int, int> common{0, 0};
    std::size_t n = 0;
    for (const auto& [hw, k] : d.native_sizes)
      if (k > n) n = k, common = hw;
    add("mixed image sizes: " + std::to_string(d.native_sizes.size()) + " different, the most common " +
        std::to_string(common.first) + "x" + std::to_string(common.second) + " (" + std::to_string(n) +
        " images); all are resized to " + std::to_string(d.height()) + "x" + std::to_string(d.width()));
  }
  // Duplicates: identical pixels within the training split, with different labels, and
  // between training and test (a test score that measures memory, not generalisation).
  std::unordered_map<std::string_view, std::int32_t> seen;
  std::size_t dup = 0, conflicting = 0, leaked = 0;
  const auto view = [](const Dataset& x, std::size_t i) {
    return std::string_view(reinterpret_cast<const char*>(x.image(i)), x.image_bytes());
  };
  for (std::size_t i = 0; i < d.train.size(); ++i) {
    const auto [it, fresh] = seen.emplace(view(d.train, i), d.train.labels[i]);
    if (!fresh) ++dup, conflicting += it->second != d.train.labels[i];
  }
  for (const Dataset* p : {&d.validation, &d.test})
    for (std::size_t i = 0; i < p->size(); ++i) leaked += seen.count(view(*p, i));
  if (dup)
    add(std::to_string(dup) + " training images are exact duplicates of others" +
        (conflicting ? " (" + std::to_string(conflicting) + " with a different label)" : std::string()));
  if (leaked) add(std::to_string(leaked) + " validation or test images also appear in the training images");
  json::Value::Array warnings;
  for (const std::string& w : s.warnings) warnings.emplace_back(w);
  s.value = json::Value()
                .set("path", d.path)
                .set("format", format_name(d.format))
                .set("height", d.height())
                .set("width", d.width())
                .set("channels", d.channels())
                .set("classes", d.classes())
                .set("images", d.images)
                .set("train", static_cast<std::int64_t>(d.train.size()))
                .set("validation", static_cast<std::int64_t>(d.validation.size()))
                .set("test", static_cast<std::int64_t>(d.test.size()))
                .set("test_given", d.test_given)
                .set("pixel_min", lo)
                .set("pixel_max", hi)
                .set("per_class", std::move(classes))
                .set("native_sizes", std::move(sizes))
                .set("notes", std::move(notes))
                .set("warnings", std::move(warnings));
  return s;
}

}  // namespace edgenas::data
