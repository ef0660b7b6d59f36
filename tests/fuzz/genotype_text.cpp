// Fuzz target: the genotype text form. Accepted text round-trips exactly, and every cost of an
// accepted genotype is computed without overflow (UBSan) or a huge allocation.
#include <edgenas/quant/graph.hpp>
#include <edgenas/space/cost.hpp>
#include <edgenas/space/genotype.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::only_edgenas_errors([&] {
    const edgenas::Genotype g = edgenas::parse_genotype(std::string_view(reinterpret_cast<const char*>(data), size));
    fuzz::require(edgenas::parse_genotype(edgenas::to_string(g)) == g, "text round trip");
    const auto view = g.view();
    fuzz::require(edgenas::parameter_count(view) > 0 && edgenas::mac_count(view) > 0 &&
                      edgenas::peak_activation_bytes(view) > 0 && edgenas::inference_weight_count(view) > 0,
                  "positive costs");
    fuzz::require(edgenas::quant::build_graph(view).weight_count > 0, "an int8 graph with weights");
  });
}
