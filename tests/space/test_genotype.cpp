#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <edgenas/blocks.hpp>
#include <edgenas/core/rng.hpp>
#include <edgenas/space/space_json.hpp>
#include <edgenas/zoo.hpp>

using namespace edgenas;

namespace {
const char* const reference_text =
    "in:28x28x1 stem:16:k3:s1:hswish mb:16:e4:k3:s1:se:hswish mb:24:e4:k3:s2:se:hswish mb:24:e4:k5:s1:se:hswish "
    "mb:40:e4:k5:s2:se:hswish mb:40:e4:k3:s1:se:hswish mb:80:e4:k3:s1:se:hswish head:128:hswish fc:10";
}

TEST_CASE("genotype text form round-trips exactly and matches the typed reference network", "[space][genotype]") {
  const Genotype g = parse_genotype(reference_text);
  CHECK(to_string(g) == reference_text);
  CHECK(g == genotype_of<zoo::FashionReference>());
  REQUIRE(g.blocks.size() == 6);
  CHECK(g.blocks[3] == BlockGene{40, 96, 5, 2, true, Activation::hswish});
  // Random genotypes round-trip too (every kernel, stride, activation, SE on/off, e and x widths).
  Rng rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    Genotype r;
    r.input = {1, rng.between(8, 64), rng.between(8, 64), rng.between(1, 3)};
    r.stem = {rng.between(1, 32), std::array{1, 3, 5, 7}[rng.below(4)], rng.between(1, 2), all_activations[rng.below(7)]};
    int in = r.stem.channels;
    int h = same_output_extent(r.input.h, r.stem.stride), w = same_output_extent(r.input.w, r.stem.stride);
    for (int b = rng.between(0, 6); b > 0; --b) {
      const int stride = h > 1 || w > 1 ? rng.between(1, 2) : 1;
      h = same_output_extent(h, stride), w = same_output_extent(w, stride);
      BlockGene gene{rng.between(1, 64), in * rng.between(1, 6), std::array{3, 5, 7}[rng.below(3)], stride,
                     rng.coin(), all_activations[rng.below(7)]};
      if (rng.coin(0.2f)) gene.expanded = in * 2 + 1;  // not a multiple: the x form
      r.blocks.push_back(gene);
      in = gene.out;
    }
    r.head = {rng.between(1, 256), all_activations[rng.below(7)], rng.coin() ? 0 : rng.between(1, 64), rng.between(2, 100)};
    const std::string text = to_string(r);
    INFO(text);
    const Genotype back = parse_genotype(text);
    REQUIRE(back == r);
    REQUIRE(to_string(back) == text);
    REQUIRE(genotype_from_json(json::parse(json::dump(to_json(r)))) == r);
  }
}

TEST_CASE("genotype JSON is readable and names the field on error", "[space][genotype][json]") {
  const Genotype g = parse_genotype(reference_text);
  const std::string text = json::dump(to_json(g));
  CHECK_THAT(text, Catch::Contains("\"input\": [28, 28, 1]"));
  CHECK_THAT(text, Catch::Contains("\"act\": \"hswish\""));
  CHECK_THROWS_WITH(genotype_from_json(json::parse(R"({"input": [28, 28], "stem": {}})")),
                    Catch::Contains("genotype.input: expected [H, W, C], got 2 values"));
  CHECK_THROWS_WITH(genotype_from_json(json::parse(R"({"input": [28, 28, 1]})")),
                    Catch::Contains("genotype: missing key \"stem\""));
  CHECK_THROWS_WITH(json::parse("{\n  \"a\": [1, 2,\n", "space.json"), Catch::Contains("space.json:3:1: unexpected end of input"));
  CHECK_THROWS_WITH(json::parse("{\"a\": tru}", "x.json"), Catch::Contains("x.json:1:7: expected a value"));
  CHECK_THROWS_WITH(json::parse("[1] 2"), Catch::Contains("unexpected text after the JSON value"));
  // Numbers round-trip exactly.
  const json::Value v = json::parse(json::dump(json::Value(json::Value::Array{0.1, 1e-30, -3.0, 123456789.0})));
  CHECK(v.as_array("")[0].as_number("") == 0.1);
  CHECK(v.as_array("")[1].as_number("") == 1e-30);
}

TEST_CASE("invalid genotypes are rejected with a message naming block and field", "[space][genotype][errors]") {
  const auto fails_with = [](const std::string& text, const std::string& message) {
    INFO(text);
    CHECK_THROWS_WITH(parse_genotype(text), Catch::Contains(message));
  };
  const std::string stem = "in:28x28x1 stem:16:k3:s1:hswish ";
  const std::string tail = " head:128:hswish fc:10";
  fails_with(stem + "mb:24:e4:k4:s1:relu" + tail, "block 0 has kernel 4, expected 3, 5 or 7");
  fails_with(stem + "mb:24:e4:k3:s3:relu" + tail, "block 0 has stride 3, expected 1 or 2");
  fails_with(stem + "mb:0:e4:k3:s1:relu" + tail, "block 0 has 0 output channels");
  fails_with(stem + "mb:24:e4:k3:s1:gelu" + tail, "unknown activation \"gelu\"");
  fails_with(stem + "mb:24:x8:k3:s1:relu" + tail, "block 0 expands 16 input channels to 8");
  fails_with(stem + "mb:24:e4:k3:s1:xx:relu" + tail, "expected \"se\"");
  fails_with("in:28x28x1 stem:0:k3:s1:relu head:8:relu fc:10", "stem has 0 channels");
  fails_with("in:28x28 stem:8:k3:s1:relu head:8:relu fc:10", "is not HxWxC");
  fails_with("in:28x28x1 stem:8:k3:s1:relu head:8:relu fc:1", "1 classes, expected 2 to 100000");
  fails_with("in:28x28x1 stem:8:k3:s1:relu head:8:relu", "missing fc:");
  fails_with("in:28x28x1 stem:8:k3:s1:relu conv:3 head:8:relu fc:10", "unknown element \"conv:3\"");
  // Sizes beyond the limits name the limit instead of wrapping or exhausting memory.
  fails_with(stem + "mb:16:e200000000:k3:s1:relu" + tail,
             "expands 16 input channels to 3200000000; the limit is 16384 channels");
  fails_with(stem + "mb:16:x999999999:k3:s1:relu" + tail, "expands 16 input channels to 999999999; the limit is 16384");
  fails_with("in:999999999x999999999x1 stem:8:k3:s1:relu head:8:relu fc:10", "exceeds the limit of 4096x4096x256");
  fails_with("in:28x28x1000 stem:8:k3:s1:relu head:8:relu fc:10", "exceeds the limit of 4096x4096x256");
  fails_with("in:28x28x1 stem:99999:k3:s1:relu head:8:relu fc:10", "the stem has 99999 channels, expected 1 to 16384");
  fails_with("in:28x28x1 stem:8:k3:s1:relu head:8:relu:20000 fc:10", "head hidden width 20000, expected 0 (none)");
  fails_with("in:28x28x1 stem:8:k3:s1:relu head:8:relu fc:999999999", "999999999 classes, expected 2 to 100000");
  fails_with("in:4096x4096x3 stem:16384:k3:s1:relu head:8:relu fc:10",
             "the stem makes a 4096x4096x16384 activation (274877906944 values); the limit is 268435456");
  fails_with("in:1024x1024x1 stem:8:k3:s1:relu mb:16:x512:k3:s1:relu head:8:relu fc:10",
             "block 0 makes a 1024x1024x512");
  {
    std::string many = "in:28x28x1 stem:8:k3:s1:relu";
    for (int i = 0; i < 257; ++i) many += " mb:8:e1:k3:s1:relu";
    fails_with(many + " head:8:relu fc:10", "257 blocks, the limit is 256");
  }
  // Within the limits every genotype's text parses back to itself.
  const Genotype wide =
      parse_genotype("in:4096x4096x4 stem:8:k3:s2:relu mb:16:e6:k7:s2:se:relu head:128:relu:16384 fc:100000");
  CHECK(parse_genotype(to_string(wide)) == wide);
  // Too many stride-2 blocks for the input.
  fails_with("in:2x2x1 stem:8:k3:s2:relu mb:8:e1:k3:s2:relu head:8:relu fc:10",
             "block 0 has stride 2 but its input is already 1x1");
}

TEST_CASE("search spaces round-trip through JSON and bad descriptions name the field", "[space][json]") {
  for (const SearchSpace& space : spaces::builtin()) {
    REQUIRE(spaces::named(space.name).has_value());
    CHECK(spaces::named(space.name)->log10_size() == space.log10_size());
    const SearchSpace back = search_space_from_json(json::parse(json::dump(to_json(space))));
    CHECK(back.name == space.name);
    CHECK(back.log10_size() == Approx(space.log10_size()));
    Rng a(3), b(3);
    for (int i = 0; i < 20; ++i) CHECK(back.sample(a) == space.sample(b));
  }
  CHECK_FALSE(spaces::named("fmnist_mcu").has_value());  // names are exact
  const std::string good = json::dump(to_json(spaces::fmnist()));
  const auto fails_with = [&](const std::string& from, const std::string& to, const std::string& message) {
    std::string text = good;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    INFO(to);
    CHECK_THROWS_WITH(search_space_from_json(json::parse(text)), Catch::Contains(message));
  };
  fails_with("\"kernels\": [3, 5, 7]", "\"kernels\": [3, 4]", "space.stages[0].kernels: 4 is not allowed (choose from 3, 5, 7)");
  fails_with("\"expands\": [1, 3, 4, 6]", "\"expands\": []", "space.stages[0].expands: no choices");
  fails_with("\"stride\": 2", "\"stride\": 3", "space.stages[1].stride: 3 is not allowed");
  fails_with("\"acts\": [\"relu\", \"hswish\"]", "\"acts\": [\"gelu\"]", "unknown activation \"gelu\"");
  fails_with("\"in_channels\": 1", "\"in_channels\": 1, \"colour\": true", "space: unknown key \"colour\"");
  fails_with("\"depths\": [1, 2]", "\"depth\": [1, 2]", "space.stages[0]: unknown key \"depth\"");
  fails_with("\"resolutions\": [28]", "\"resolutions\": [2]", "stride 2 but its input is already 1x1");
  // Sizes beyond the limits of space/genes.hpp, found by validating the widest architecture.
  fails_with("\"in_channels\": 1", "\"in_channels\": 1000", "space.in_channels: expected an integer in [1, 256]");
  fails_with("\"resolutions\": [28]", "\"resolutions\": [28, 1e300]", "expected an integer in [1, 4096], got 1e+300");
  fails_with("\"out_channels\": 80", "\"out_channels\": 16000",
             "expands 16000 input channels to 96000; the limit is 16384");
  fails_with("\"resolutions\": [28]", "\"resolutions\": [4096]", "values an image");
  // make_divisible saturates instead of overflowing int.
  STATIC_REQUIRE(make_divisible(1e30) == 1 << 24);
  CHECK(make_divisible(std::nan("")) == 1 << 24);
}

TEST_CASE("spaces that follow the data: for_data's downsampling and resolutions, \"resolutions\": \"data\"",
          "[space][data]") {
  const SearchSpace f = spaces::for_data(28, 28, 1, 10);
  CHECK(f.resolutions == std::vector<int>{20, 24, 28});
  CHECK(f.stem.stride == 1);
  REQUIRE(f.stages.size() == spaces::fmnist().stages.size());
  for (std::size_t i = 0; i < f.stages.size(); ++i) {  // the fmnist space's stages at 28×28
    CHECK(f.stages[i].stride == spaces::fmnist().stages[i].stride);
    CHECK(f.stages[i].out_channels == spaces::fmnist().stages[i].out_channels);
  }
  const auto at_full_resolution = [](const SearchSpace& s) {
    Choices c = s.smallest_choices();
    c.resolution = static_cast<int>(s.resolutions.size()) - 1;
    return s.decode(c);
  };
  for (auto [side, channels, classes, halvings] :
       {std::array{8, 1, 10, 1}, {28, 1, 10, 2}, {32, 3, 10, 3}, {96, 3, 2, 4}, {224, 3, 1000, 5}}) {
    const SearchSpace s = spaces::for_data(side, side, channels, classes);
    INFO(side);
    CHECK(s.resolutions.back() == side);
    CHECK(s.in_channels == channels);
    CHECK(s.head.classes == classes);
    CHECK(s.head.channels >= classes);
    const Genotype g = at_full_resolution(s);
    int downs = g.stem.stride == 2 ? 1 : 0;
    for (const BlockGene& b : g.blocks) downs += b.stride == 2 ? 1 : 0;
    CHECK(downs == halvings);
    const int last = side >> halvings;
    CHECK((last >= 4 && last <= 7));
    validate_space(s);
  }
  // A space file may take its resolutions from the data; until a search fills them in, using
  // it is an error that says so.
  std::string text = json::dump(to_json(spaces::fmnist()), -1);
  const std::string list = "\"resolutions\":[28]";
  REQUIRE(text.find(list) != std::string::npos);
  text.replace(text.find(list), list.size(), "\"resolutions\":\"data\"");
  const SearchSpace d = search_space_from_json(json::parse(text));
  CHECK(d.resolutions.empty());
  CHECK(json::dump(to_json(d), -1).find("\"resolutions\":\"data\"") != std::string::npos);
  Rng rng(1);
  CHECK_THROWS_WITH(d.random_choices(rng), Catch::Contains("takes its resolutions from the data"));
  text.replace(text.find("\"data\""), 6, "\"auto\"");
  CHECK_THROWS_WITH(search_space_from_json(json::parse(text)), Catch::Contains("expected a list of sizes or \"data\""));
}

TEST_CASE("encode finds the choices of a genotype of the space, and nothing for others", "[space][genotype]") {
  for (const SearchSpace& space : spaces::builtin()) {
    Rng rng(5);
    for (int k = 0; k < 200; ++k) {
      const Choices c = space.random_choices(rng);
      const Genotype g = space.decode(c);
      const std::optional<Choices> back = space.encode(g);
      INFO(space.name << " " << to_string(g));
      REQUIRE(back.has_value());
      REQUIRE(space.decode(*back) == g);
      CHECK(back->depth == c.depth);
      for (std::size_t s = 0; s < c.blocks.size(); ++s)  // the used blocks' choices
        for (int j = 0; j < space.stages[s].depths[static_cast<std::size_t>(c.depth[s])]; ++j)
          CHECK(back->blocks[s][static_cast<std::size_t>(j)] == c.blocks[s][static_cast<std::size_t>(j)]);
    }
  }
  Genotype g = spaces::fmnist().decode(spaces::fmnist().largest_choices());
  CHECK_FALSE(spaces::mobilenetv3().encode(g).has_value());
  g.blocks[3].kernel = 9;  // not a kernel of the space
  CHECK_FALSE(spaces::fmnist().encode(g).has_value());
  g = spaces::fmnist().decode(spaces::fmnist().largest_choices());
  g.blocks.pop_back();  // the last stage one block short is still in the space (depth 2)
  CHECK(spaces::fmnist().encode(g).has_value());
  g.input.h = g.input.w = 32;
  CHECK_FALSE(spaces::fmnist().encode(g).has_value());
}
