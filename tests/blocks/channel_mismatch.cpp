// Must NOT compile: the second MBConv declares 32 input channels, the first outputs 24. The
// test (ctest blocks_channel_mismatch_is_a_compile_error) checks that the error names the
// block index and both channel counts.
#include <edgenas/blocks.hpp>

using Broken = edgenas::Sequential<edgenas::Input<28, 28, 1>, edgenas::Stem<16, 3, 1, edgenas::HSwish>,
                                   edgenas::MBConv<16, 24, edgenas::Expand<4>, edgenas::Stride<2>>,
                                   edgenas::MBConv<32, 40, edgenas::Expand<4>>, edgenas::Head<64, 10>>;

int main() { return static_cast<int>(Broken::parameters); }
