// Writes what `edgenas export --header` writes (float, and with --precision int8) for a network
// with squeeze-and-excitation, h-swish and residuals, so the deploy checks can compile them with
// nothing but the deploy headers on the include path.
#include <edgenas/export/int8_header.hpp>
#include <fstream>
#include <string>

#include "deployed_models.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const edgenas::Model m = deployed_models::model();
  std::ofstream(std::string(argv[1]) + "/deployed_model.hpp") << edgenas::header_source(m, "deployed");
  std::ofstream(std::string(argv[1]) + "/deployed_int8_model.hpp") << edgenas::int8_header_source(m, "deployed_int8");
  return 0;
}
