// edgenas/core/activation.hpp — the activation functions edgenas knows, by name.
// (The kernels are in ops/activation.hpp; genotypes and block types only need the names.)
#pragma once

#include <string_view>

namespace edgenas {

enum class Activation : unsigned char { identity, relu, relu6, hsigmoid, hswish, sigmoid, swish };

inline constexpr Activation all_activations[] = {Activation::identity, Activation::relu,    Activation::relu6,
                                                  Activation::hsigmoid, Activation::hswish, Activation::sigmoid,
                                                  Activation::swish};

constexpr std::string_view activation_name(Activation a) noexcept {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::relu: return "relu";
    case Activation::relu6: return "relu6";
    case Activation::hsigmoid: return "hsigmoid";
    case Activation::hswish: return "hswish";
    case Activation::sigmoid: return "sigmoid";
    case Activation::swish: return "swish";
  }
  return "unknown";
}

/// Parses a name produced by activation_name(); returns false for anything else.
constexpr bool parse_activation(std::string_view name, Activation& out) noexcept {
  for (Activation a : all_activations) {
    if (activation_name(a) == name) {
      out = a;
      return true;
    }
  }
  return false;
}

}  // namespace edgenas
