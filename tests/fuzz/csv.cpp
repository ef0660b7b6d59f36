// Fuzz target: CSV tables (a label column and pixel columns; gzip detected by content).
#include <edgenas/data/csv.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::only_edgenas_errors([&] {
    const std::string path = fuzz::write_temp(data, size, "table.csv");
    const edgenas::data::Dataset d = edgenas::data::load_csv(path);
    fuzz::require(d.pixels.size() == d.size() * d.image_bytes(), "pixels for every row");
    for (std::int32_t l : d.labels) fuzz::require(l >= 0 && l < d.classes, "labels within the classes");
  });
}
