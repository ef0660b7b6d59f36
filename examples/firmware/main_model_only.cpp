// The deployed part alone: the exported network (fp32 or int8) and its runtime classifying one
// image that arrives in RAM, as a camera driver would leave it — no test data. Its flash is
// what a product pays for the model; scripts/firmware.sh reports it next to the test
// firmware's, which also holds 32 test images and their expected results.
#include "board.hpp"
#include "fashion_model.hpp"

int main() {
  static std::uint8_t pixels[fashion::Net::input_shape.per_image()];
  board::say("class ", fashion::predict(pixels), "\n");
  return 0;
}
