// The int8 header `edgenas export --precision int8 --header` writes, compiled into a program,
// classifies like the integer reference and leaves its logits bit for bit.
#include <cstdio>
#include <edgenas/runtime/reference/int8_inference.hpp>

#include "deployed_int8_model.hpp"
#include "deployed_models.hpp"

int main() {
  const edgenas::Model m = deployed_models::model();
  edgenas::reference::Int8Network reference(*m.int8);
  edgenas::Rng rng(9);
  int differ = 0;
  std::uint8_t pixels[deployed_int8::height * deployed_int8::width * deployed_int8::channels];
  float image[sizeof pixels];
  static_assert(deployed_int8::arena_bytes > 0 && deployed_int8::classes == 10);
  for (int trial = 0; trial < 20; ++trial) {
    for (std::uint8_t& p : pixels) p = static_cast<std::uint8_t>(rng.between(0, 255));
    const int k = deployed_int8::predict(pixels);
    deployed_int8::normalize(pixels, image);
    reference.run(image);
    differ += k != reference.predicted_class();
    // predict() left the logits in its arena: run again into one we can read.
    alignas(4) static std::int8_t arena[deployed_int8::arena_bytes];
    edgenas::reference::int8::run(deployed_int8::network, image, arena);
    for (int c = 0; c < deployed_int8::classes; ++c)
      differ += arena[deployed_int8::network.output_at + c] != reference.logits()[static_cast<std::size_t>(c)];
  }
  std::printf("int8 header: %d differences from the integer reference over 20 images; arena %lld bytes\n", differ,
              static_cast<long long>(deployed_int8::arena_bytes));
  return differ == 0 ? 0 : 1;
}
