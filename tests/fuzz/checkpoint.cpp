// Fuzz target: training checkpoints, read as `edgenas export --from` reads them (the network
// they hold). The input is the payload of a container with a valid header and checksum, or
// (first byte odd) a whole file.
#include <edgenas/train/checkpoint.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  return fuzz::only_edgenas_errors([&] {
    std::string file;
    if (data[0] & 1)
      file.assign(reinterpret_cast<const char*>(data + 1), size - 1);
    else
      file = edgenas::container_bytes(edgenas::train::checkpoint_magic, edgenas::train::checkpoint_version,
                                      std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    const std::string path =
        fuzz::write_temp(reinterpret_cast<const std::uint8_t*>(file.data()), file.size(), "checkpoint");
    const auto net = edgenas::train::load_network(path);
    fuzz::require(net != nullptr, "a network");
  });
}
