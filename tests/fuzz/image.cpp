// Fuzz target: an image file (PNG, JPEG, BMP: stb_image) in a folder of two classes, through the
// image-folder reader (header scan, decode, resize).
#include <unistd.h>

#include <edgenas/data/image_folder.hpp>
#include <filesystem>
#include <fstream>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgenas::set_num_threads(1);  // decoding on this thread: a finding's stack shows where
  return fuzz::only_edgenas_errors([&] {
    namespace fs = std::filesystem;
    const fs::path root = "/tmp/edgenas-fuzz-" + std::to_string(::getpid()) + "-image.folder";
    for (const char* c : {"a", "b"}) {  // written, not copied: copy_file fails on EINTR from libFuzzer's timers
      fs::create_directories(root / c);
      std::ofstream(root / c / "0.png", std::ios::binary)
          .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    const edgenas::data::ImageFolderScan scan =
        edgenas::data::scan_image_folder(root.string(), {.max_side = 64, .max_pixels = 1 << 18});
    const edgenas::data::Dataset d = edgenas::data::load_image_folder_split(scan, "");
    fuzz::require(d.size() == 2 && d.pixels.size() == 2 * d.image_bytes(), "both images decoded");
  });
}
