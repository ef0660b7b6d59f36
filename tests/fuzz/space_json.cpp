// Fuzz target: search-space JSON. An accepted space decodes its smallest, largest and a few
// random architectures into valid genotypes.
#include <edgenas/core/rng.hpp>
#include <edgenas/space/space_json.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::only_edgenas_errors([&] {
    const edgenas::json::Value v =
        edgenas::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), "input");
    const edgenas::SearchSpace s = edgenas::search_space_from_json(v);
    edgenas::validate(s.decode(s.smallest_choices()));
    edgenas::validate(s.decode(s.largest_choices()));
    edgenas::Rng rng(size);
    for (int i = 0; i < 4; ++i) edgenas::validate(s.decode(s.random_choices(rng)));
    fuzz::require(edgenas::search_space_from_json(edgenas::to_json(s)).name == s.name, "JSON round trip");
  });
}
