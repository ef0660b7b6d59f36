// Classifies Fashion-MNIST test images on a Cortex-M4 with the int8 network `edgenas export
// --precision int8 --header` wrote, and checks every logit against the host's integer
// reference, bit for bit. Build and run: scripts/firmware.sh --int8 (QEMU mps2-an386).
#include <cstdio>

#include "fashion_model.hpp"              // namespace fashion: the int8 tables, network, predict()
#include "fashion_model_test_images.hpp"  // namespace fashion_test: images, labels, host_predictions, host_logits

int main() {
  std::printf("edgenas int8 firmware: arena %lld bytes (input and logits included; %lld between them), %d classes\n",
              static_cast<long long>(fashion::arena_bytes), static_cast<long long>(fashion::peak_bytes_between_io),
              fashion::classes);
  alignas(4) static std::int8_t arena[fashion::arena_bytes];
  static float image[fashion::height * fashion::width * fashion::channels];
  int same = 0, correct = 0;
  for (int i = 0; i < fashion_test::count; ++i) {
    fashion::normalize(fashion_test::images[i], image);
    const int k = edgenas::reference::int8::predict(fashion::network, image, arena);
    bool logits_equal = true;
    for (int c = 0; c < fashion::classes; ++c)
      logits_equal = logits_equal && arena[fashion::network.output_at + c] == fashion_test::host_logits[i][c];
    same += logits_equal && k == fashion_test::host_predictions[i];
    correct += k == fashion_test::labels[i];
    std::printf("image %2d: class %d (label %d, host %d), logits %s the host's\n", i, k, fashion_test::labels[i],
                fashion_test::host_predictions[i], logits_equal ? "equal" : "DIFFER from");
  }
  std::printf("logits equal to the host's: %d/%d; correct: %d/%d\n", same, fashion_test::count, correct,
              fashion_test::count);
  std::printf(same == fashion_test::count ? "FIRMWARE PASS\n" : "FIRMWARE FAIL\n");
  return same == fashion_test::count ? 0 : 1;
}
