// edgenas/blocks/options.hpp — the vocabulary of compile-time blocks: activations and MBConv
// options as empty types that carry only their parameter (the kernels live in ops/).
#pragma once

#include "edgenas/core/activation.hpp"

namespace edgenas {

struct Identity { static constexpr Activation activation = Activation::identity; };
struct ReLU { static constexpr Activation activation = Activation::relu; };
struct ReLU6 { static constexpr Activation activation = Activation::relu6; };
struct HSigmoid { static constexpr Activation activation = Activation::hsigmoid; };
struct HSwish { static constexpr Activation activation = Activation::hswish; };
struct Sigmoid { static constexpr Activation activation = Activation::sigmoid; };
struct Swish { static constexpr Activation activation = Activation::swish; };

/// Expanded width = ratio × input channels (1: no expansion conv).
template <int Ratio>
struct Expand {
  static_assert(Ratio >= 1, "edgenas: Expand<Ratio> needs Ratio >= 1");
  static constexpr int expand_ratio = Ratio;
};
/// Expanded width given directly (MobileNetV3's 72, 200, 184 … channels).
template <int Channels>
struct ExpandTo {
  static_assert(Channels >= 1, "edgenas: ExpandTo<Channels> needs Channels >= 1");
  static constexpr int expand_to = Channels;
};
/// Depthwise kernel size.
template <int K>
struct Kernel {
  static_assert(K == 3 || K == 5 || K == 7, "edgenas: Kernel<K> must be Kernel<3>, Kernel<5> or Kernel<7>");
  static constexpr int kernel = K;
};
/// Depthwise stride.
template <int S>
struct Stride {
  static_assert(S == 1 || S == 2, "edgenas: Stride<S> must be Stride<1> or Stride<2>");
  static constexpr int stride = S;
};
/// Squeeze-and-excitation on the depthwise output; width = expanded / Ratio rounded to 8.
template <int Ratio = 4>
struct SE {
  static_assert(Ratio == 4, "edgenas: only SE<4> is supported (expanded/4 rounded to a multiple of 8, as MobileNetV3)");
  static constexpr bool se = true;
};

namespace detail {
template <typename T>
concept ActivationTag = requires { T::activation; };
template <typename T>
concept MBConvOption = ActivationTag<T> || requires { T::expand_ratio; } || requires { T::expand_to; } ||
                       requires { T::kernel; } || requires { T::stride; } || requires { T::se; };
}  // namespace detail

}  // namespace edgenas
