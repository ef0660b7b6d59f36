// Classifies Fashion-MNIST test images on a Cortex-M4 with the int8 network `edgenas export
// --precision int8 --header` wrote, and checks every logit against the host's integer
// reference, bit for bit. Build and run: scripts/firmware.sh --int8 (QEMU mps2-an386).
#include "board.hpp"
#include "fashion_model.hpp"              // namespace fashion: the int8 tables, network, predict()
#include "fashion_model_test_images.hpp"  // namespace fashion_test: images, labels, host_predictions, host_logits

int main() {
  board::say("edgenas int8 firmware: arena ", fashion::arena_bytes, " bytes (input and logits included; ",
             fashion::peak_bytes_between_io, " between them), ", fashion::classes, " classes\n");
  alignas(4) static std::int8_t arena[fashion::arena_bytes];
  static float image[fashion::height * fashion::width * fashion::channels];
  board::start_ticks();
  const board::Calibration calibration = board::calibrate();
  std::uint64_t ticks = 0;
  int same = 0, correct = 0;
  for (int i = 0; i < fashion_test::count; ++i) {
    const std::uint32_t start = board::now();
    fashion::normalize(fashion_test::images[i], image);
    const int k = edgenas::reference::int8::predict(fashion::network, image, arena);
    ticks += board::ticks_since(start);
    bool logits_equal = true;
    for (int c = 0; c < fashion::classes; ++c)
      logits_equal = logits_equal && arena[fashion::network.output_at + c] == fashion_test::host_logits[i][c];
    same += logits_equal && k == fashion_test::host_predictions[i];
    correct += k == fashion_test::labels[i];
    board::say("image ", i, ": class ", k, " (label ", fashion_test::labels[i], ", host ",
               fashion_test::host_predictions[i], "), logits ", logits_equal ? "equal to" : "DIFFER from",
               " the host's\n");
  }
  return board::summarise("logits", same, correct, fashion_test::count, calibration, ticks);
}
