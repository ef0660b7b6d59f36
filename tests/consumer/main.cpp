// A downstream program: uses edgenas's headers through whichever CMake route built it.
#include <cstdio>
#include <edgenas/edgenas.hpp>
#include <vector>

int main() {
  edgenas::Tensor x({1, 4, 4, 2}), y({1, 2, 2, 2});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = 1.0f;
  std::vector<float> w(3 * 3 * 2, 1.0f);
  edgenas::ops::depthwise_forward(x, w, {}, 3, 2, y);
  // Stride-2 SAME 3×3 on 4×4 pads one row/column after (TensorFlow convention): output (0,0)
  // sees a full 3×3 of ones, output (1,1) only rows/columns 2..3.
  if (y(0, 0, 0, 0) != 9.0f || y(0, 1, 1, 1) != 4.0f) {
    std::printf("consumer: wrong result %g %g\n", double{y(0, 0, 0, 0)}, double{y(0, 1, 1, 1)});
    return 1;
  }
  std::printf("consumer: edgenas %d.%d.%d ok\n", edgenas::version_major, edgenas::version_minor,
              edgenas::version_patch);
  return 0;
}
