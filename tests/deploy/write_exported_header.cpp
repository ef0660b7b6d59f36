// Writes what `edgenas export --header` writes for a network with squeeze-and-excitation,
// h-swish and a residual (random weights), so the deploy check can compile it with nothing
// but the deploy headers on the include path.
#include <cstdio>
#include <edgenas/core/rng.hpp>
#include <edgenas/export/header.hpp>
#include <edgenas/zoo.hpp>
#include <fstream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.hpp\n", argv[0]);
    return 2;
  }
  edgenas::Model m;
  m.genotype = edgenas::genotype_of<edgenas::zoo::FashionReference>();
  edgenas::Rng rng(1);
  m.weights.resize(static_cast<std::size_t>(edgenas::inference_weight_count(m.genotype.view())));
  for (float& w : m.weights) w = rng.uniform(-0.1f, 0.1f);
  std::ofstream(argv[1]) << edgenas::header_source(m, "deployed");
  return 0;
}
