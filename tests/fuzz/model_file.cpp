// Fuzz target: model files. The first byte chooses: the input as a whole file (header checks),
// or as the payload of a container with a valid header and checksum (the payload reader, the
// genotype, float and int8 weights, quantization parameters).
#include <edgenas/export/model_file.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  return fuzz::only_edgenas_errors([&] {
    std::vector<std::uint8_t> bytes;
    if (data[0] & 1) {
      bytes.assign(data + 1, data + size);
    } else {
      const std::uint32_t version = 1 + ((data[0] >> 1) & 1);
      const std::string file = edgenas::container_bytes(
          edgenas::model_file_magic, version, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
      bytes.assign(file.begin(), file.end());
    }
    const edgenas::Model m = edgenas::model_from_bytes(bytes, "input");
    // An accepted model writes out and reads back to the same weights.
    const std::string again = edgenas::model_file_bytes(m);
    const edgenas::Model n = edgenas::model_from_bytes(std::vector<std::uint8_t>(again.begin(), again.end()), "again");
    fuzz::require(
        n.genotype == m.genotype && n.weights.size() == m.weights.size() && n.int8.has_value() == m.int8.has_value(),
        "model file round trip");
  });
}
