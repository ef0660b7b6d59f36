// Classifies Fashion-MNIST test images on a Cortex-M4 with the network `edgenas export
// --header` wrote, and checks every class against what the exporting host predicted.
// Build and run: scripts/firmware.sh (QEMU mps2-an386, semihosting).
#include <cstdio>

#include "fashion_model.hpp"              // namespace fashion: Net, weights, predict()
#include "fashion_model_test_images.hpp"  // namespace fashion_test: images, labels, host_predictions

int main() {
  std::printf("edgenas firmware: %lld parameters, %lld MACs, arena %lld bytes, %d classes\n",
              static_cast<long long>(fashion::Net::parameters), static_cast<long long>(fashion::Net::macs),
              static_cast<long long>(fashion::arena_bytes), fashion::classes);
  int same = 0, correct = 0;
  for (int i = 0; i < fashion_test::count; ++i) {
    const int k = fashion::predict(fashion_test::images[i]);
    same += k == fashion_test::host_predictions[i];
    correct += k == fashion_test::labels[i];
    std::printf("image %2d: class %d (label %d, host %d)\n", i, k, fashion_test::labels[i], fashion_test::host_predictions[i]);
  }
  std::printf("predictions equal to the host's: %d/%d; correct: %d/%d\n", same, fashion_test::count, correct,
              fashion_test::count);
  std::printf(same == fashion_test::count ? "FIRMWARE PASS\n" : "FIRMWARE FAIL\n");
  return same == fashion_test::count ? 0 : 1;
}
