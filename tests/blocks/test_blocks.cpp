// Compile-time block arithmetic: most checks are static_asserts (this file failing to compile
// is the failure); the Catch cases cross-check the type world against the genotype world.
#include <catch2/catch.hpp>
#include <edgenas/zoo.hpp>

using namespace edgenas;

namespace {

constexpr bool within_percent(std::int64_t value, double reference, double percent) {
  const double diff = static_cast<double>(value) - reference;
  return (diff < 0 ? -diff : diff) <= reference * percent / 100.0;
}

// Reference figures from the issue (torchvision, 224×224, 1000 classes): ±1%.
static_assert(within_percent(zoo::MobileNetV2::macs, 300.8e6, 1.0));
static_assert(within_percent(zoo::MobileNetV3Small::macs, 56.5e6, 1.0));
static_assert(within_percent(zoo::MobileNetV3Large::macs, 216.6e6, 1.0));
static_assert(within_percent(zoo::MobileNetV2::parameters, 3.50e6, 1.0));
static_assert(within_percent(zoo::MobileNetV3Small::parameters, 2.54e6, 1.0));
static_assert(within_percent(zoo::MobileNetV3Large::parameters, 5.48e6, 1.0));
// torchvision's exact counts (sum of p.numel()).
static_assert(zoo::MobileNetV2::parameters == 3504872);
static_assert(zoo::MobileNetV3Small::parameters == 2542856);
static_assert(zoo::MobileNetV3Large::parameters == 5483032);
// The Fashion-MNIST reference network of the issue: ≈110.7 k parameters, 7.77 M MACs.
static_assert(within_percent(zoo::FashionReference::parameters, 110.7e3, 0.5));
static_assert(within_percent(zoo::FashionReference::macs, 7.77e6, 0.1));
static_assert(zoo::FashionReference::output_shape == Shape{1, 1, 1, 10});
static_assert(zoo::MobileNetV2::output_shape == Shape{1, 1, 1, 1000});

// Shapes through the network.
static_assert(stem_output_shape(zoo::MobileNetV2::view) == Shape{1, 112, 112, 32});
static_assert(head_input_shape(zoo::MobileNetV2::view) == Shape{1, 7, 7, 320});
static_assert(head_input_shape(zoo::MobileNetV3Small::view) == Shape{1, 7, 7, 96});
static_assert(head_input_shape(zoo::FashionReference::view) == Shape{1, 7, 7, 80});

// SE width rounding matches torchvision's _make_divisible(expanded // 4, 8).
static_assert(se_reduced_channels(16) == 8 && se_reduced_channels(64) == 16 && se_reduced_channels(72) == 24);
static_assert(se_reduced_channels(96) == 24 && se_reduced_channels(120) == 32 && se_reduced_channels(960) == 240);

// One block by hand: 16→24, expand 4 (64), k3, s2, SE (16), on 28×28.
using One = Sequential<Input<28, 28, 16>, Stem<16, 1, 1, ReLU>, MBConv<16, 24, Expand<4>, Stride<2>, SE<4>, HSwish>,
                       Head<32, 10, ReLU>>;
constexpr BlockGene one = One::block_genes[0];
static_assert(one.out == 24 && one.expanded == 64 && one.kernel == 3 && one.stride == 2 && one.se &&
              one.act == Activation::hswish);
static_assert(block_parameters(16, one) == 16 * 64 + 128 + 9 * 64 + 128 + (64 * 16 + 16 + 16 * 64 + 64) + 64 * 24 + 48);
static_assert(block_macs(one, {{1, 28, 28, 16}, {1, 28, 28, 64}, {1, 14, 14, 24}}) ==
              28 * 28 * 16 * 64 + 14 * 14 * 9 * 64 + 2 * 64 * 16 + 14 * 14 * 64 * 24);
// Peak inside the block: expansion (in + expanded) = 28·28·(16 + 64) floats is the largest set
// (no residual at stride 2).
static_assert(block_peak_floats(one, {{1, 28, 28, 16}, {1, 28, 28, 64}, {1, 14, 14, 24}}) == 28 * 28 * 80);
// Options in any order give the same block; defaults are Expand<1>, Kernel<3>, Stride<1>, ReLU.
static_assert(MBConv<8, 8, HSwish, Kernel<5>, Expand<6>>::gene == MBConv<8, 8, Expand<6>, Kernel<5>, HSwish>::gene);
static_assert(MBConv<8, 8>::gene == BlockGene{8, 8, 3, 1, false, Activation::relu});
// Residual only when the shape is kept.
static_assert(has_residual(16, BlockGene{16, 64, 3, 1, false, Activation::relu}));
static_assert(!has_residual(16, BlockGene{16, 64, 3, 2, false, Activation::relu}));
static_assert(!has_residual(16, BlockGene{24, 64, 3, 1, false, Activation::relu}));
// The residual shortcut keeps the block input alive across the whole branch.
static_assert(block_peak_floats(BlockGene{16, 64, 3, 1, false, Activation::relu},
                                {{1, 10, 10, 16}, {1, 10, 10, 64}, {1, 10, 10, 16}}) == 100 * (16 + 64 + 64));
// Firmware budget example from the design: 64 KB arena.
using Tiny = Sequential<Input<28, 28, 1>, Stem<8, 3, 2, HSwish>, MBConv<8, 16, Expand<3>, Stride<2>, HSwish>,
                        Head<64, 10, HSwish>>;
static_assert(Tiny::peak_activation_bytes <= 64 * 1024);

template <typename Net>
void check_worlds_agree() {
  const Genotype g = genotype_of<Net>();
  validate(g);
  CHECK(parameter_count(g.view()) == Net::parameters);
  CHECK(mac_count(g.view()) == Net::macs);
  CHECK(peak_activation_bytes(g.view()) == Net::peak_activation_bytes);
  // The text form round-trips to the same genotype and costs.
  const Genotype back = parse_genotype(to_string(g));
  CHECK(back == g);
  CHECK(parameter_count(back.view()) == Net::parameters);
  const Genotype from_json = genotype_from_json(json::parse(json::dump(to_json(g))));
  CHECK(from_json == g);
}

}  // namespace

TEST_CASE("zoo networks: the type and its genotype agree on params, MACs and memory", "[blocks][zoo]") {
  check_worlds_agree<zoo::MobileNetV2>();
  check_worlds_agree<zoo::MobileNetV3Small>();
  check_worlds_agree<zoo::MobileNetV3Large>();
  check_worlds_agree<zoo::FashionReference>();
  check_worlds_agree<One>();
}

TEST_CASE("MobileNetV3-Large text form names explicit expanded widths", "[blocks][zoo]") {
  const std::string text = to_string(genotype_of<zoo::MobileNetV3Large>());
  CHECK_THAT(text, Catch::StartsWith("in:224x224x3 stem:16:k3:s2:hswish mb:16:e1:k3:s1:relu mb:24:e4:k3:s2:relu "
                                     "mb:24:e3:k3:s1:relu mb:40:e3:k5:s2:se:relu"));
  CHECK_THAT(text, Catch::Contains("mb:80:x200:k3:s1:hswish mb:80:x184:k3:s1:hswish"));
  CHECK_THAT(text, Catch::EndsWith("head:960:hswish:1280 fc:1000"));
}
