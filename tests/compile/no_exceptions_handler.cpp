// Built with -fno-exceptions -fno-rtti: a shape error must reach the installed handler
// (which here reports and exits 0) instead of throwing or returning. With the argument `long`,
// a message longer than the no-heap buffer arrives cut, its end marked "...".
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <edgenas/ops.hpp>
#include <string>

int main(int argc, char** argv) {
  edgenas::set_error_handler([](edgenas::Status status, const char* message) {
    std::printf("handler called: %s: %s\n", edgenas::status_name(status), message);
    std::printf("message length %zu\n", std::strlen(message));
    std::fflush(stdout);
    std::_Exit(0);
  });
  if (argc > 1 && std::strcmp(argv[1], "long") == 0) {
    const std::string path(2000, 'p');
    EDGENAS_FAIL(edgenas::Status::io_error, "%s: cannot open", path.c_str());
  }
  edgenas::Tensor x({1, 8, 8, 4}), y({1, 8, 8, 4});
  std::vector<float> w(3 * 3 * 4, 0.0f);
  edgenas::ops::depthwise_forward(x, w, {}, 3, 2, y);  // stride 2 needs a 4×4 output
  std::puts("returned normally");
  return 1;
}
