// Fuzz target: latency tables (JSON). An accepted table predicts a positive, finite latency
// for every network it covers.
#include <edgenas/latency/table.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const edgenas::latency::Fingerprint here = edgenas::latency::this_device(1);
  return fuzz::only_edgenas_errors([&] {
    const std::string path = fuzz::write_temp(data, size, "table.json");
    std::string warning;
    edgenas::latency::Table t =
        edgenas::latency::load_table(path, here, edgenas::latency::DeviceCheck::warn_if_different, &warning);
    for (const edgenas::latency::FitSample& s : t.fit_samples)
      if (t.covers(s.genotype)) {
        const double ms = t.predict_ms(s.genotype);
        fuzz::require(ms > 0 && std::isfinite(ms), "a positive prediction");
      }
  });
}
