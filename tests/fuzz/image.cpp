// Fuzz target: an image file (PNG, JPEG, BMP: stb_image) in a folder of two classes, through the
// image-folder reader (header scan, decode, resize).
#include <edgenas/data/image_folder.hpp>
#include <filesystem>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgenas::set_num_threads(1);  // decoding on this thread: a finding's stack shows where
  return fuzz::only_edgenas_errors([&] {
    namespace fs = std::filesystem;
    const fs::path file = fuzz::write_temp(data, size, "image.png");
    const fs::path root = file.string() + ".folder";
    for (const char* c : {"a", "b"}) {
      fs::create_directories(root / c);
      fs::copy_file(file, root / c / "0.png", fs::copy_options::overwrite_existing);
    }
    const edgenas::data::ImageFolderScan scan = edgenas::data::scan_image_folder(root.string(), {.max_side = 64, .max_pixels = 1 << 22});
    const edgenas::data::Dataset d = edgenas::data::load_image_folder_split(scan, "");
    fuzz::require(d.size() == 2 && d.pixels.size() == 2 * d.image_bytes(), "both images decoded");
  });
}
