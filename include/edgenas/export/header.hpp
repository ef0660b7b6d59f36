// edgenas/export/header.hpp — a trained network as a C++ header for firmware.
//
// The header holds the network as a compile-time type (edgenas::Sequential<…>, so its shapes,
// arena size and costs are constants and a mismatch is a compile error), its BN-folded weights
// as a constexpr array (flash on a microcontroller; hex-float literals, so every bit is exact),
// the input normalisation, and predict(): one image in, the class out, through the reference
// runtime in a static arena of exactly Net::arena_bytes — no heap.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>

#include "edgenas/export/model_file.hpp"

namespace edgenas {

/// Refuses a namespace that would make the header fail to compile: it must be C++ identifiers
/// joined by "::" (a nested namespace), none of them a keyword or reserved (leading "_" + capital
/// or a double underscore).
inline void check_namespace_name(const std::string& name) {
  static constexpr const char* keywords[] = {
      "alignas",   "alignof",  "and",      "asm",       "auto",      "bool",      "break",     "case",     "catch",
      "char",      "class",    "concept",  "const",     "consteval", "constexpr", "constinit", "continue", "co_await",
      "co_return", "co_yield", "decltype", "default",   "delete",    "do",        "double",    "else",     "enum",
      "explicit",  "export",   "extern",   "false",     "float",     "for",       "friend",    "goto",     "if",
      "inline",    "int",      "long",     "mutable",   "namespace", "new",       "noexcept",  "not",      "nullptr",
      "operator",  "or",       "private",  "protected", "public",    "register",  "requires",  "return",   "short",
      "signed",    "sizeof",   "static",   "struct",    "switch",    "template",  "this",      "throw",    "true",
      "try",       "typedef",  "typeid",   "typename",  "union",     "unsigned",  "using",     "virtual",  "void",
      "volatile",  "while",    "xor",      "std",       "edgenas"};
  const auto bad = [&](const char* why) {
    EDGENAS_FAIL(Status::invalid_argument,
                 "export: namespace \"%s\" %s (expected C++ identifiers, optionally nested with ::, e.g. "
                 "my_board::model)",
                 name.c_str(), why);
  };
  if (name.empty()) bad("is empty");
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(name.find("::", start), name.size());
    const std::string part = name.substr(start, end - start);
    if (part.empty()) bad("has an empty part");
    if (part[0] >= '0' && part[0] <= '9') bad("starts a name with a digit");
    for (char c : part)
      if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
        bad("holds a character that is not a letter, digit or underscore");
    if (part.find("__") != std::string::npos || (part[0] == '_' && part.size() > 1 && part[1] >= 'A' && part[1] <= 'Z'))
      bad("uses a name reserved for the compiler");
    for (const char* k : keywords)
      if (part == k) bad("uses a C++ keyword or a namespace the header itself uses");
    if (end == name.size()) break;
    start = end + 2;
  }
}

namespace detail {
inline const char* activation_tag(Activation a) {
  switch (a) {
    case Activation::identity: return "edgenas::Identity";
    case Activation::relu: return "edgenas::ReLU";
    case Activation::relu6: return "edgenas::ReLU6";
    case Activation::hsigmoid: return "edgenas::HSigmoid";
    case Activation::hswish: return "edgenas::HSwish";
    case Activation::sigmoid: return "edgenas::Sigmoid";
    case Activation::swish: return "edgenas::Swish";
  }
  return "edgenas::Identity";
}

inline void append_floats(std::string& out, const std::vector<float>& v) {
  char buf[40];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%a", double{v[i]});
    out += buf;
    out += i + 1 < v.size() ? (i % 6 == 5 ? "f,\n    " : "f, ") : "f";
  }
}
// input_mean[] and input_stddev[] of `m` (none recorded: 0 and 1).
inline void append_normalisation(std::string& s, const Model& m) {
  const int C = m.genotype.input.c;
  std::vector<float> mean = m.input_mean, stddev = m.input_stddev;
  if (mean.empty()) mean.assign(static_cast<std::size_t>(C), 0.0f), stddev.assign(static_cast<std::size_t>(C), 1.0f);
  s += "/// Input normalisation the network was trained with: (pixel / 255 - mean) / stddev.\n";
  s += "inline constexpr float input_mean[" + std::to_string(C) + "] = {";
  append_floats(s, mean);
  s += "};\ninline constexpr float input_stddev[" + std::to_string(C) + "] = {";
  append_floats(s, stddev);
  s += "};\n\n";
}
}  // namespace detail

/// The network type of a genotype, as C++ source: edgenas::Sequential<Input, Stem, MBConv…, Head>.
inline std::string network_type_source(const Genotype& g) {
  validate(g);
  char buf[256];
  std::string s = "edgenas::Sequential<\n";
  std::snprintf(buf, sizeof buf, "    edgenas::Input<%d, %d, %d>,\n    edgenas::Stem<%d, %d, %d, %s>,\n", g.input.h, g.input.w,
                g.input.c, g.stem.channels, g.stem.kernel, g.stem.stride, detail::activation_tag(g.stem.act));
  s += buf;
  int in = g.stem.channels;
  for (const BlockGene& b : g.blocks) {
    std::string expand;
    if (b.expanded % in == 0) expand = "edgenas::Expand<" + std::to_string(b.expanded / in) + ">";
    else expand = "edgenas::ExpandTo<" + std::to_string(b.expanded) + ">";
    std::snprintf(buf, sizeof buf, "    edgenas::MBConv<%d, %d, %s, edgenas::Kernel<%d>, edgenas::Stride<%d>, %s%s>,\n", in, b.out,
                  expand.c_str(), b.kernel, b.stride, b.se ? "edgenas::SE<>, " : "", detail::activation_tag(b.act));
    s += buf;
    in = b.out;
  }
  std::snprintf(buf, sizeof buf, "    edgenas::Head<%d, %d, %s, %d>>", g.head.channels, g.head.classes,
                detail::activation_tag(g.head.act), g.head.hidden);
  return s + buf;
}

/// A self-contained header (it needs only edgenas's include directory) declaring, in
/// namespace `name`: Net, arena_bytes, weights, input_mean/input_stddev, normalize(), predict().
inline std::string header_source(const Model& m, const std::string& name = "edgenas_model") {
  check_namespace_name(name);
  const Genotype& g = m.genotype;
  std::string s;
  s += "// Generated by `edgenas export --header`. Do not edit.\n//   " + to_string(g) + "\n";
  s += "// Needs only edgenas's deploy headers (docs/porting.md): no Eigen, no heap, no exceptions,\n";
  s += "// no RTTI, no threads.\n#pragma once\n\n#include <cstdint>\n#include <span>\n\n";
  s += "#include <edgenas/blocks/network.hpp>\n#include <edgenas/runtime/reference/inference.hpp>\n\n";
  s += "namespace " + name + " {\n\n";
  s += "using Net = " + network_type_source(g) + ";\n\n";
  s += "/// Bytes of the one activation arena predict() uses (static storage, not the stack).\n";
  s += "inline constexpr std::int64_t arena_bytes = Net::arena_bytes;\n";
  s += "inline constexpr int classes = Net::output_shape.c;\n\n";
  s += "/// BN-folded weights in the reference runtime's layout (" + std::to_string(m.weights.size()) + " floats).\n";
  s += "alignas(16) inline constexpr float weights[" + std::to_string(m.weights.size()) + "] = {\n    ";
  detail::append_floats(s, m.weights);
  s += "};\nstatic_assert(sizeof(weights) / sizeof(float) == Net::weight_count, \"weights do not match Net\");\n\n";
  detail::append_normalisation(s, m);
  s += R"(/// 8-bit HWC pixels to the network's float input.
inline void normalize(const std::uint8_t* pixels, float* out) {
  constexpr int C = Net::input_shape.c;
  for (std::int64_t i = 0; i < Net::input_shape.per_image(); ++i)
    out[i] = (pixels[i] / 255.0f - input_mean[i % C]) / input_stddev[i % C];
}

/// Logits of one normalised image (HWC floats); returns the most likely class.
inline int predict(const float* image, float* logits) {
  alignas(16) static float arena[edgenas::reference::arena_floats_v<Net>];
  edgenas::reference::infer<Net>(weights, std::span<const float, Net::input_shape.per_image()>(image, Net::input_shape.per_image()),
                                 arena, std::span<float, classes>(logits, classes));
  int best = 0;
  for (int k = 1; k < classes; ++k)
    if (logits[k] > logits[best]) best = k;
  return best;
}

/// The class of one 8-bit image.
inline int predict(const std::uint8_t* pixels) {
  static float image[Net::input_shape.per_image()];
  float logits[classes];
  normalize(pixels, image);
  return predict(image, logits);
}

)";
  s += "}  // namespace " + name + "\n";
  return s;
}

}  // namespace edgenas
