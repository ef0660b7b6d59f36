// edgenas/space/genotype.hpp — an architecture as a plain value, and its text and JSON forms.
//
// A genotype is what a search samples, mutates, trains and measures: input size, a stem, a
// list of MBConv blocks and a head. It is also what a compile-time network type describes
// (blocks/ turns a type into the same gene structs), so every cost function (params, MACs,
// memory in space/cost.hpp) is written once, constexpr, over genes.
//
// Text form (one line, round-trips exactly):
//   in:28x28x1 stem:16:k3:s1:hswish mb:16:e4:k3:s1:se:hswish mb:24:e4:k3:s2:se:hswish
//   head:128:hswish fc:10
// `eN` is an expansion ratio over the block's input channels; `xN` an explicit expanded width
// (MobileNetV3 uses 200, 184 …). `head:C:act:H` adds a hidden fully-connected layer of H units.
#pragma once

#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgenas/core/error.hpp"
#include "edgenas/core/json.hpp"
#include "edgenas/space/genes.hpp"

namespace edgenas {

struct Genotype {
  Shape input{1, 28, 28, 1};
  StemGene stem;
  std::vector<BlockGene> blocks;
  HeadGene head;

  NetworkView view() const noexcept { return {input, stem, blocks, head}; }
  friend bool operator==(const Genotype&, const Genotype&) = default;
};

inline void validate(const Genotype& g) { validate(g.view()); }

/// The run-time value a network type (blocks/network.hpp: anything with a constexpr view)
/// describes.
template <typename Net>
Genotype genotype_of() {
  Genotype g;
  g.input = Net::view.input;
  g.stem = Net::view.stem;
  g.blocks.assign(Net::view.blocks.begin(), Net::view.blocks.end());
  g.head = Net::view.head;
  return g;
}

/// A hash of every field: genotypes are keys by value (never by their text form).
inline std::size_t hash_value(const Genotype& g) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ull;
  const auto mix = [&h](std::int64_t v) {  // splitmix64 step over the running value
    std::uint64_t z = h ^ (static_cast<std::uint64_t>(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    h = z ^ (z >> 31);
  };
  for (int v : {g.input.h, g.input.w, g.input.c, g.stem.channels, g.stem.kernel, g.stem.stride}) mix(v);
  mix(static_cast<int>(g.stem.act));
  for (const BlockGene& b : g.blocks)
    for (int v : {b.out, b.expanded, b.kernel, b.stride, int{b.se}, static_cast<int>(b.act)}) mix(v);
  for (int v : {g.head.channels, static_cast<int>(g.head.act), g.head.hidden, g.head.classes}) mix(v);
  mix(static_cast<std::int64_t>(g.blocks.size()));
  return static_cast<std::size_t>(h);
}
struct GenotypeHash {
  std::size_t operator()(const Genotype& g) const noexcept { return hash_value(g); }
};

// ---- text form --------------------------------------------------------------------------

inline std::string to_string(const Genotype& g) {
  std::string s;
  char buf[96];
  std::snprintf(buf, sizeof buf, "in:%dx%dx%d stem:%d:k%d:s%d:%s", g.input.h, g.input.w, g.input.c, g.stem.channels,
                g.stem.kernel, g.stem.stride, activation_name(g.stem.act).data());
  s += buf;
  int in = g.stem.channels;
  for (const BlockGene& b : g.blocks) {
    char expand[16];
    if (b.expanded % in == 0) std::snprintf(expand, sizeof expand, "e%d", b.expanded / in);
    else std::snprintf(expand, sizeof expand, "x%d", b.expanded);
    std::snprintf(buf, sizeof buf, " mb:%d:%s:k%d:s%d:%s%s", b.out, expand, b.kernel, b.stride, b.se ? "se:" : "",
                  activation_name(b.act).data());
    s += buf;
    in = b.out;
  }
  std::snprintf(buf, sizeof buf, " head:%d:%s", g.head.channels, activation_name(g.head.act).data());
  s += buf;
  if (g.head.hidden > 0) s += ":" + std::to_string(g.head.hidden);
  s += " fc:" + std::to_string(g.head.classes);
  return s;
}

namespace detail {

inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = s.find(sep, start);
    const std::size_t stop = end == std::string_view::npos ? s.size() : end;
    if (stop > start || sep != ' ') parts.push_back(s.substr(start, stop - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

// "16" → 16; "k3" with prefix "k" → 3. Fails naming the token.
inline int parse_int(std::string_view token, std::string_view prefix, std::string_view whole) {
  const auto fail = [&] {
    EDGENAS_FAIL(Status::invalid_argument, "genotype text: expected %.*s<number> in \"%.*s\", got \"%.*s\"",
                 static_cast<int>(prefix.size()), prefix.data(), static_cast<int>(whole.size()), whole.data(),
                 static_cast<int>(token.size()), token.data());
  };
  if (token.substr(0, prefix.size()) != prefix) fail();
  token.remove_prefix(prefix.size());
  if (token.empty() || token.size() > 9) fail();
  int v = 0;
  for (char c : token) {
    if (c < '0' || c > '9') fail();
    v = v * 10 + (c - '0');
  }
  return v;
}

inline Activation parse_act(std::string_view token, std::string_view whole) {
  Activation a{};
  EDGENAS_CHECK(parse_activation(token, a), Status::invalid_argument,
                "genotype text: unknown activation \"%.*s\" in \"%.*s\" (expected relu, relu6, hswish, swish, "
                "hsigmoid, sigmoid or identity)",
                static_cast<int>(token.size()), token.data(), static_cast<int>(whole.size()), whole.data());
  return a;
}

}  // namespace detail

/// Parses the text form and validates the result.
inline Genotype parse_genotype(std::string_view text) {
  Genotype g;
  bool have_in = false, have_stem = false, have_head = false, have_fc = false;
  int in = 0;
  for (std::string_view token : detail::split(text, ' ')) {
    const auto f = detail::split(token, ':');
    const std::string_view kind = f[0];
    const auto need = [&](std::size_t lo, std::size_t hi) {
      EDGENAS_CHECK(f.size() >= lo && f.size() <= hi, Status::invalid_argument,
                    "genotype text: \"%.*s\" has %zu fields, expected %zu to %zu", static_cast<int>(token.size()),
                    token.data(), f.size(), lo, hi);
    };
    if (kind == "in") {
      need(2, 2);
      const auto dims = detail::split(f[1], 'x');
      EDGENAS_CHECK(dims.size() == 3, Status::invalid_argument, "genotype text: input \"%.*s\" is not HxWxC",
                    static_cast<int>(f[1].size()), f[1].data());
      g.input = {1, detail::parse_int(dims[0], "", token), detail::parse_int(dims[1], "", token),
                 detail::parse_int(dims[2], "", token)};
      have_in = true;
    } else if (kind == "stem") {
      need(5, 5);
      g.stem = {detail::parse_int(f[1], "", token), detail::parse_int(f[2], "k", token),
                detail::parse_int(f[3], "s", token), detail::parse_act(f[4], token)};
      in = g.stem.channels;
      have_stem = true;
    } else if (kind == "mb") {
      EDGENAS_CHECK(have_stem, Status::invalid_argument, "genotype text: block \"%.*s\" before the stem",
                    static_cast<int>(token.size()), token.data());
      need(6, 7);
      BlockGene b;
      b.out = detail::parse_int(f[1], "", token);
      if (!f[2].empty() && f[2][0] == 'x') {
        b.expanded = detail::parse_int(f[2], "x", token);
      } else {  // in int64: a ratio of up to nine digits times the input width must not wrap
        const std::int64_t expanded = std::int64_t{detail::parse_int(f[2], "e", token)} * in;
        EDGENAS_CHECK(expanded <= limits::max_channels, Status::invalid_argument,
                      "genotype text: \"%.*s\" expands %d input channels to %lld; the limit is %d channels",
                      static_cast<int>(token.size()), token.data(), in, static_cast<long long>(expanded),
                      limits::max_channels);
        b.expanded = static_cast<int>(expanded);
      }
      b.kernel = detail::parse_int(f[3], "k", token);
      b.stride = detail::parse_int(f[4], "s", token);
      if (f.size() == 7) {
        EDGENAS_CHECK(f[5] == "se", Status::invalid_argument, "genotype text: expected \"se\" in \"%.*s\"",
                      static_cast<int>(token.size()), token.data());
        b.se = true;
      }
      b.act = detail::parse_act(f.back(), token);
      g.blocks.push_back(b);
      in = b.out;
    } else if (kind == "head") {
      need(3, 4);
      g.head.channels = detail::parse_int(f[1], "", token);
      g.head.act = detail::parse_act(f[2], token);
      g.head.hidden = f.size() == 4 ? detail::parse_int(f[3], "", token) : 0;
      have_head = true;
    } else if (kind == "fc") {
      need(2, 2);
      g.head.classes = detail::parse_int(f[1], "", token);
      have_fc = true;
    } else {
      EDGENAS_FAIL(Status::invalid_argument, "genotype text: unknown element \"%.*s\" (expected in, stem, mb, head, fc)",
                   static_cast<int>(token.size()), token.data());
    }
  }
  EDGENAS_CHECK(have_in && have_stem && have_head && have_fc, Status::invalid_argument,
                "genotype text: missing %s", !have_in ? "in:HxWxC" : !have_stem ? "stem:" : !have_head ? "head:" : "fc:");
  validate(g);
  return g;
}

// ---- JSON -------------------------------------------------------------------------------

inline json::Value to_json(const Genotype& g) {
  json::Value::Array blocks;
  for (const BlockGene& b : g.blocks)
    blocks.push_back(json::Value()
                         .set("out", b.out)
                         .set("expanded", b.expanded)
                         .set("kernel", b.kernel)
                         .set("stride", b.stride)
                         .set("se", b.se)
                         .set("act", std::string(activation_name(b.act))));
  return json::Value()
      .set("input", json::Value::Array{g.input.h, g.input.w, g.input.c})
      .set("stem", json::Value()
                       .set("channels", g.stem.channels)
                       .set("kernel", g.stem.kernel)
                       .set("stride", g.stem.stride)
                       .set("act", std::string(activation_name(g.stem.act))))
      .set("blocks", std::move(blocks))
      .set("head", json::Value()
                       .set("channels", g.head.channels)
                       .set("act", std::string(activation_name(g.head.act)))
                       .set("hidden", g.head.hidden)
                       .set("classes", g.head.classes));
}

inline Genotype genotype_from_json(const json::Value& v) {
  const auto act = [](const json::Value& obj, const char* what) {
    const std::string& name = obj.at("act", what).as_string(what);
    return detail::parse_act(name, what);
  };
  Genotype g;
  const auto& input = v.at("input", "genotype").as_array("genotype.input");
  EDGENAS_CHECK(input.size() == 3, Status::corrupt_data, "genotype.input: expected [H, W, C], got %zu values",
                input.size());
  g.input = {1, input[0].as_int("genotype.input[0]"), input[1].as_int("genotype.input[1]"),
             input[2].as_int("genotype.input[2]")};
  const auto& stem = v.at("stem", "genotype");
  g.stem = {stem.at("channels", "genotype.stem").as_int("genotype.stem.channels"),
            stem.at("kernel", "genotype.stem").as_int("genotype.stem.kernel"),
            stem.at("stride", "genotype.stem").as_int("genotype.stem.stride"), act(stem, "genotype.stem")};
  for (const auto& b : v.at("blocks", "genotype").as_array("genotype.blocks"))
    g.blocks.push_back({b.at("out", "genotype.blocks[]").as_int("genotype.blocks[].out"),
                        b.at("expanded", "genotype.blocks[]").as_int("genotype.blocks[].expanded"),
                        b.at("kernel", "genotype.blocks[]").as_int("genotype.blocks[].kernel"),
                        b.at("stride", "genotype.blocks[]").as_int("genotype.blocks[].stride"),
                        b.at("se", "genotype.blocks[]").as_bool("genotype.blocks[].se"), act(b, "genotype.blocks[]")});
  const auto& head = v.at("head", "genotype");
  g.head = {head.at("channels", "genotype.head").as_int("genotype.head.channels"), act(head, "genotype.head"),
            head.find("hidden") ? head.at("hidden", "genotype.head").as_int("genotype.head.hidden") : 0,
            head.at("classes", "genotype.head").as_int("genotype.head.classes")};
  validate(g);
  return g;
}

}  // namespace edgenas
