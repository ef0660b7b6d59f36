// Fuzz target: NumPy .npy images and labels. The first two bytes give the length of the image
// array's file; the rest is the label file.
#include <edgenas/data/npy.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t split = std::min<std::size_t>(size - 2, data[0] | (std::size_t{data[1]} << 8));
  return fuzz::only_edgenas_errors([&] {
    const std::string images = fuzz::write_temp(data + 2, split, "x.npy");
    const std::string labels = fuzz::write_temp(data + 2 + split, size - 2 - split, "y.npy");
    const edgenas::data::Dataset d = edgenas::data::load_npy_dataset(images, labels);
    fuzz::require(d.pixels.size() == d.size() * d.image_bytes(), "pixels for every image");
    for (std::int32_t l : d.labels) fuzz::require(l >= 0 && l < d.classes, "labels within the classes");
  });
}
