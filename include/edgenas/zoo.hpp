// edgenas/zoo.hpp — reference networks as types (and, via genotype_of, as genotypes).
//
// MobileNetV2-1.0 and MobileNetV3-Small/Large follow torchvision's definitions (channels
// already rounded to multiples of 8, SE width make_divisible(expanded/4, 8), 1000 classes,
// 224×224×3 input); FashionReference is the 28×28 network the trainer is proven on.
#pragma once

#include "edgenas/blocks.hpp"  // the network types, and genotype_of<Net>() for their run-time values

namespace edgenas::zoo {

// clang-format off
using MobileNetV2 = Sequential<
    Input<224, 224, 3>,
    Stem<32, 3, 2, ReLU6>,
    MBConv<32, 16, Expand<1>, ReLU6>,
    MBConv<16, 24, Expand<6>, Stride<2>, ReLU6>,
    MBConv<24, 24, Expand<6>, ReLU6>,
    MBConv<24, 32, Expand<6>, Stride<2>, ReLU6>,
    MBConv<32, 32, Expand<6>, ReLU6>,
    MBConv<32, 32, Expand<6>, ReLU6>,
    MBConv<32, 64, Expand<6>, Stride<2>, ReLU6>,
    MBConv<64, 64, Expand<6>, ReLU6>,
    MBConv<64, 64, Expand<6>, ReLU6>,
    MBConv<64, 64, Expand<6>, ReLU6>,
    MBConv<64, 96, Expand<6>, ReLU6>,
    MBConv<96, 96, Expand<6>, ReLU6>,
    MBConv<96, 96, Expand<6>, ReLU6>,
    MBConv<96, 160, Expand<6>, Stride<2>, ReLU6>,
    MBConv<160, 160, Expand<6>, ReLU6>,
    MBConv<160, 160, Expand<6>, ReLU6>,
    MBConv<160, 320, Expand<6>, ReLU6>,
    Head<1280, 1000, ReLU6>>;

using MobileNetV3Small = Sequential<
    Input<224, 224, 3>,
    Stem<16, 3, 2, HSwish>,
    MBConv<16, 16, ExpandTo<16>, Kernel<3>, Stride<2>, SE<4>, ReLU>,
    MBConv<16, 24, ExpandTo<72>, Kernel<3>, Stride<2>, ReLU>,
    MBConv<24, 24, ExpandTo<88>, Kernel<3>, ReLU>,
    MBConv<24, 40, ExpandTo<96>, Kernel<5>, Stride<2>, SE<4>, HSwish>,
    MBConv<40, 40, ExpandTo<240>, Kernel<5>, SE<4>, HSwish>,
    MBConv<40, 40, ExpandTo<240>, Kernel<5>, SE<4>, HSwish>,
    MBConv<40, 48, ExpandTo<120>, Kernel<5>, SE<4>, HSwish>,
    MBConv<48, 48, ExpandTo<144>, Kernel<5>, SE<4>, HSwish>,
    MBConv<48, 96, ExpandTo<288>, Kernel<5>, Stride<2>, SE<4>, HSwish>,
    MBConv<96, 96, ExpandTo<576>, Kernel<5>, SE<4>, HSwish>,
    MBConv<96, 96, ExpandTo<576>, Kernel<5>, SE<4>, HSwish>,
    Head<576, 1000, HSwish, 1024>>;

using MobileNetV3Large = Sequential<
    Input<224, 224, 3>,
    Stem<16, 3, 2, HSwish>,
    MBConv<16, 16, ExpandTo<16>, Kernel<3>, ReLU>,
    MBConv<16, 24, ExpandTo<64>, Kernel<3>, Stride<2>, ReLU>,
    MBConv<24, 24, ExpandTo<72>, Kernel<3>, ReLU>,
    MBConv<24, 40, ExpandTo<72>, Kernel<5>, Stride<2>, SE<4>, ReLU>,
    MBConv<40, 40, ExpandTo<120>, Kernel<5>, SE<4>, ReLU>,
    MBConv<40, 40, ExpandTo<120>, Kernel<5>, SE<4>, ReLU>,
    MBConv<40, 80, ExpandTo<240>, Kernel<3>, Stride<2>, HSwish>,
    MBConv<80, 80, ExpandTo<200>, Kernel<3>, HSwish>,
    MBConv<80, 80, ExpandTo<184>, Kernel<3>, HSwish>,
    MBConv<80, 80, ExpandTo<184>, Kernel<3>, HSwish>,
    MBConv<80, 112, ExpandTo<480>, Kernel<3>, SE<4>, HSwish>,
    MBConv<112, 112, ExpandTo<672>, Kernel<3>, SE<4>, HSwish>,
    MBConv<112, 160, ExpandTo<672>, Kernel<5>, Stride<2>, SE<4>, HSwish>,
    MBConv<160, 160, ExpandTo<960>, Kernel<5>, SE<4>, HSwish>,
    MBConv<160, 160, ExpandTo<960>, Kernel<5>, SE<4>, HSwish>,
    Head<960, 1000, HSwish, 1280>>;

/// The Fashion-MNIST reference network (≈110.7 k parameters, 7.77 M MACs).
using FashionReference = Sequential<
    Input<28, 28, 1>,
    Stem<16, 3, 1, HSwish>,
    MBConv<16, 16, Expand<4>, Kernel<3>, SE<4>, HSwish>,
    MBConv<16, 24, Expand<4>, Kernel<3>, Stride<2>, SE<4>, HSwish>,
    MBConv<24, 24, Expand<4>, Kernel<5>, SE<4>, HSwish>,
    MBConv<24, 40, Expand<4>, Kernel<5>, Stride<2>, SE<4>, HSwish>,
    MBConv<40, 40, Expand<4>, Kernel<3>, SE<4>, HSwish>,
    MBConv<40, 80, Expand<4>, Kernel<3>, SE<4>, HSwish>,
    Head<128, 10, HSwish>>;
// clang-format on

}  // namespace edgenas::zoo
