// edgenas/data/csv.hpp — CSV tables (plain or gzipped): one image per row, a label column and
// pixel or feature columns.
//
// The label column is the one a header names label, class, target, y or category (any case),
// else `label_column` (0-based; −1: the last, scikit-learn's convention — its digits.csv.gz ends
// each row with the digit). Labels are whole numbers (the class) or names (classes sorted by
// name). A header is recognised by a first row that is not all numbers. Errors name the file,
// the row (1-based, as an editor shows it) and the column.
#pragma once

#include <cctype>
#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "edgenas/data/dataset.hpp"
#include "edgenas/data/pixels.hpp"
#include "edgenas/data/readers.hpp"

namespace edgenas::data {

struct CsvOptions {
  int label_column = -1;  // when no header names it: 0-based index, −1 the last column
  std::string shape{};    // "HxWxC" for rows that are not square images of 1 or 3 channels
};

namespace detail {

inline std::vector<std::string_view> split_csv_row(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    std::string_view f = line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t' || f.front() == '"')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t' || f.back() == '"' || f.back() == '\r'))
      f.remove_suffix(1);
    fields.push_back(f);
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

inline bool parse_number(std::string_view f, double& v) {
  if (f.empty()) return false;
  if (f.front() == '+') f.remove_prefix(1);
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  return ec == std::errc() && end == f.data() + f.size();
}

inline bool is_label_name(std::string_view f) {
  std::string lower;
  for (char c : f) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "label" || lower == "class" || lower == "target" || lower == "y" || lower == "category";
}

}  // namespace detail

/// Reads a CSV file (gzip detected by content).
inline Dataset load_csv(const std::string& path, const CsvOptions& options = {}, PixelMapping* mapping_used = nullptr) {
  const std::vector<std::uint8_t> bytes = detail::read_maybe_gzip(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<std::string_view> lines;
  for (std::size_t p = 0; p < text.size();) {
    std::size_t e = text.find('\n', p);
    if (e == std::string_view::npos) e = text.size();
    lines.push_back(text.substr(p, e - p));
    p = e + 1;
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t\r") == std::string_view::npos) lines.pop_back();
  EDGENAS_CHECK(!lines.empty(), Status::corrupt_data, "%s: no rows", path.c_str());
  const std::vector<std::string_view> first = detail::split_csv_row(lines[0]);
  const std::size_t columns = first.size();
  EDGENAS_CHECK(columns >= 2, Status::corrupt_data, "%s row 1: %zu column; expected a label and at least one value",
                path.c_str(), columns);
  double v = 0;
  bool header = false;
  for (std::string_view f : first) header = header || !detail::parse_number(f, v);
  int label = options.label_column < 0 ? static_cast<int>(columns) - 1 : options.label_column;
  if (header)
    for (std::size_t c = 0; c < columns; ++c)
      if (detail::is_label_name(first[c])) label = static_cast<int>(c);
  EDGENAS_CHECK(label >= 0 && static_cast<std::size_t>(label) < columns, Status::invalid_argument,
                "%s: label column %d, the rows have %zu columns", path.c_str(), label, columns);
  const std::size_t rows = lines.size() - (header ? 1 : 0), features = columns - 1;
  EDGENAS_CHECK(rows >= 1, Status::corrupt_data, "%s: a header and no rows", path.c_str());
  const ImageShape s = image_shape_of_row(features, options.shape, path);
  std::vector<double> values(rows * features);
  std::vector<std::string> label_text(rows);
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  bool integers = true, numeric_labels = true;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t line = r + (header ? 1 : 0);
    const std::vector<std::string_view> f = detail::split_csv_row(lines[line]);
    EDGENAS_CHECK(f.size() == columns, Status::corrupt_data, "%s row %zu: %zu columns, the first row has %zu",
                  path.c_str(), line + 1, f.size(), columns);
    std::size_t k = 0;
    for (std::size_t c = 0; c < columns; ++c) {
      if (static_cast<int>(c) == label) {
        label_text[r] = std::string(f[c]);
        EDGENAS_CHECK(!f[c].empty(), Status::corrupt_data, "%s row %zu: empty label (column %zu)", path.c_str(),
                      line + 1, c + 1);
        double lv = 0;
        numeric_labels = numeric_labels && detail::parse_number(f[c], lv) && lv == std::floor(lv) && lv >= 0;
        continue;
      }
      double x = 0;
      EDGENAS_CHECK(detail::parse_number(f[c], x), Status::corrupt_data,
                    "%s row %zu, column %zu: \"%.*s\" is not a number", path.c_str(), line + 1, c + 1,
                    static_cast<int>(f[c].size()), f[c].data());
      EDGENAS_CHECK(std::isfinite(x), Status::numerical_error, "%s row %zu, column %zu: %.*s is not a finite number",
                    path.c_str(), line + 1, c + 1, static_cast<int>(f[c].size()), f[c].data());
      values[r * features + k++] = x;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      integers = integers && x == std::floor(x);
    }
  }
  Dataset d{s.height, s.width, s.channels, 0, std::vector<std::uint8_t>(values.size()), std::vector<std::int32_t>(rows),
            {}};
  if (numeric_labels) {
    for (std::size_t r = 0; r < rows; ++r) {
      double lv = 0;
      detail::parse_number(label_text[r], lv);
      EDGENAS_CHECK(lv < limits::max_classes, Status::corrupt_data, "%s row %zu: label %s is outside [0, %d)",
                    path.c_str(), r + 1 + (header ? 1 : 0), label_text[r].c_str(), limits::max_classes);
      d.labels[r] = static_cast<std::int32_t>(lv);
    }
    d.classes = count_classes(d.labels, path);
  } else {
    std::map<std::string, int> names;
    for (const std::string& t : label_text) names.emplace(t, 0);
    EDGENAS_CHECK(names.size() <= static_cast<std::size_t>(limits::max_classes), Status::corrupt_data,
                  "%s: %zu class names; the limit is %d", path.c_str(), names.size(), limits::max_classes);
    for (auto& [name, index] : names) {
      index = static_cast<int>(d.class_names.size());
      d.class_names.push_back(name);
    }
    for (std::size_t r = 0; r < rows; ++r) d.labels[r] = names.at(label_text[r]);
    d.classes = static_cast<int>(names.size());
  }
  const PixelMapping m = pixel_mapping(lo, hi, integers);
  to_pixels(values.data(), values.size(), m, d.pixels.data());
  if (mapping_used) *mapping_used = m;
  return d;
}

}  // namespace edgenas::data
