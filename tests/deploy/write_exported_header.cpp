// Writes what `edgenas export --header` writes (float, and with --precision int8) for a network
// with squeeze-and-excitation, h-swish and residuals, so the deploy checks can compile them with
// nothing but the deploy headers on the include path. Also writes inconsistent_int8.enas: the
// same model file with the classifier's output scale patched to 1e-35 (checksum recomputed),
// which `edgenas export` must refuse naming the layer (tools/CMakeLists.txt).
#include <cstring>
#include <edgenas/core/binary_file.hpp>
#include <edgenas/export/int8_header.hpp>
#include <edgenas/export/model_file.hpp>
#include <fstream>
#include <iterator>
#include <string>

#include "deployed_models.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const edgenas::Model m = deployed_models::model();
  std::ofstream(std::string(argv[1]) + "/deployed_model.hpp") << edgenas::header_source(m, "deployed");
  std::ofstream(std::string(argv[1]) + "/deployed_int8_model.hpp") << edgenas::int8_header_source(m, "deployed_int8");
  const std::string path = std::string(argv[1]) + "/inconsistent_int8.enas";
  edgenas::save_model(path, m);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  // Layout (model_file.hpp): 24-byte header, payload, u64 checksum; the payload ends with the
  // last int8 tensor's (the logits') f32 scale and i32 zero point.
  const float tiny = 1e-35f;
  std::memcpy(bytes.data() + bytes.size() - 8 - 8, &tiny, sizeof tiny);
  const auto* payload = reinterpret_cast<const std::uint8_t*>(bytes.data()) + 24;
  const std::uint64_t sum = edgenas::fnv1a(payload, bytes.size() - 24 - 8);
  std::memcpy(bytes.data() + bytes.size() - 8, &sum, sizeof sum);
  std::ofstream(path, std::ios::binary) << bytes;
  return 0;
}
