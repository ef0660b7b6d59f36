// Fuzz target: the genotype JSON form (and the JSON parser under it). Accepted JSON describes
// a genotype whose JSON form reads back to the same genotype.
#include <edgenas/space/genotype.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::only_edgenas_errors([&] {
    const edgenas::json::Value v =
        edgenas::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), "input");
    const edgenas::Genotype g = edgenas::genotype_from_json(v);
    const std::string again = edgenas::json::dump(edgenas::to_json(g), 2);
    fuzz::require(edgenas::genotype_from_json(edgenas::json::parse(again, "again")) == g, "JSON round trip");
  });
}
