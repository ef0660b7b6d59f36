// Classifies Fashion-MNIST test images on a Cortex-M4 with the network `edgenas export
// --header` wrote, and checks every class against what the exporting host predicted.
// Build and run: scripts/firmware.sh (QEMU mps2-an386, semihosting).
#include "board.hpp"
#include "fashion_model.hpp"              // namespace fashion: Net, weights, predict()
#include "fashion_model_test_images.hpp"  // namespace fashion_test: images, labels, host_predictions

int main() {
  board::say("edgenas firmware: ", fashion::Net::parameters, " parameters, ", fashion::Net::macs, " MACs, arena ",
             fashion::arena_bytes, " bytes, ", fashion::classes, " classes\n");
  board::start_ticks();
  const board::Calibration calibration = board::calibrate();
  std::uint64_t ticks = 0;
  int same = 0, correct = 0;
  for (int i = 0; i < fashion_test::count; ++i) {
    const std::uint32_t start = board::now();
    const int k = fashion::predict(fashion_test::images[i]);
    ticks += board::ticks_since(start);
    same += k == fashion_test::host_predictions[i];
    correct += k == fashion_test::labels[i];
    board::say("image ", i, ": class ", k, " (label ", fashion_test::labels[i], ", host ",
               fashion_test::host_predictions[i], ")\n");
  }
  return board::summarise("predictions", same, correct, fashion_test::count, calibration, ticks);
}
