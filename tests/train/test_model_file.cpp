// Model files: round trip, and every kind of damage is refused with a message that says what.
#include <catch2/catch.hpp>
#include <cstring>
#include <edgenas/export/model_file.hpp>
#include <edgenas/quant/calibrate.hpp>
#include <edgenas/train.hpp>
#include <fstream>
#include <iterator>

#include "../support/temp_dir.hpp"

using namespace edgenas;

namespace {
std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
}  // namespace

TEST_CASE("model file: round trip of a trained network's folded weights", "[export]") {
  test::TempDir dir("model");
  train::Network net(parse_genotype("in:12x10x1 stem:8:k3:s2:hswish mb:8:e3:k5:s1:se:relu mb:16:e4:k3:s2:hswish head:32:hswish fc:4"));
  const Model m{net.genotype(), net.inference_weights(), {0.286f}, {0.353f}, {}};
  save_model(dir.file("m.enas"), m);
  const Model back = load_model(dir.file("m.enas"));
  CHECK(back.genotype == m.genotype);
  CHECK(back.weights == m.weights);
  CHECK(back.input_mean == m.input_mean);
  CHECK(back.input_stddev == m.input_stddev);
  Model two_channels = m;
  two_channels.input_mean = {0.1f, 0.2f};
  two_channels.input_stddev = {1.0f, 1.0f};
  CHECK_THROWS_WITH(save_model(dir.file("n.enas"), two_channels), Catch::Contains("normalisation for 2/2 channels"));
  // A checkpoint exported through train::load_network gives the same weights.
  train::Optimizer opt(net.parameters(), {});
  train::save_checkpoint(dir.file("c.ckpt"), net, opt, 3);
  CHECK(train::load_network(dir.file("c.ckpt"))->inference_weights() == m.weights);
}

TEST_CASE("model file: truncated, corrupt, foreign and mismatched files are refused", "[export]") {
  test::TempDir dir("model_bad");
  train::Network net(parse_genotype("in:8x8x1 stem:8:k3:s1:relu mb:8:e2:k3:s1:relu head:16:relu fc:3"));
  const Model m{net.genotype(), net.inference_weights(), {}, {}, {}};
  const std::string good = dir.file("good.enas"), bad = dir.file("bad.enas");
  save_model(good, m);
  const std::string bytes = bytes_of(good);

  write(bad, bytes.substr(0, bytes.size() - 5));
  CHECK_THROWS_WITH(load_model(bad), Catch::Contains("truncated"));
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  write(bad, flipped);
  CHECK_THROWS_WITH(load_model(bad), Catch::Contains("checksum mismatch"));
  write(bad, "ENASCKPT" + bytes.substr(8));
  CHECK_THROWS_WITH(load_model(bad), Catch::Contains("not an edgenas model file"));
  std::string future = bytes;
  future[8] = 9;
  write(bad, future);
  CHECK_THROWS_WITH(load_model(bad), Catch::Contains("version 9"));
  CHECK_THROWS_WITH(load_model(dir.file("missing.enas")), Catch::Contains("cannot open model file"));
  Model wrong = m;
  wrong.weights.pop_back();
  CHECK_THROWS_WITH(save_model(bad, wrong), Catch::Contains("genotype needs"));
  CHECK(load_model(good).weights == m.weights);  // the good file was never touched
}

namespace {
// A model file with payload `payload` as `version` (the container's checksum made to fit).
void write_payload(const std::string& path, std::uint32_t version, const std::string& payload) {
  write(path, container_bytes(model_file_magic, version, payload));
}
std::string payload_of(const std::string& bytes) { return bytes.substr(24, bytes.size() - 32); }

Model int8_model(const std::string& genotype) {
  train::Network net(parse_genotype(genotype), 5);
  Rng rng(9);
  std::vector<float> images(static_cast<std::size_t>(net.genotype().input.per_image() * 8));
  for (float& x : images) x = rng.uniform(-1.0f, 1.0f);
  Model m{net.genotype(), net.inference_weights(), {0.5f}, {0.25f}, {}};
  m.int8 = quant::quantize_post_training(m.genotype, m.weights, images, 8);
  return m;
}
}  // namespace

TEST_CASE("model file: version 2 carries int8 weights, scales and zero points; version 1 still loads", "[export][int8]") {
  test::TempDir dir("model_int8");
  const Model m = int8_model("in:12x10x1 stem:8:k3:s2:hswish mb:8:e3:k5:s1:se:relu mb:16:e4:k3:s2:hswish head:32:hswish fc:4");
  save_model(dir.file("q.enas"), m);
  const Model back = load_model(dir.file("q.enas"));
  REQUIRE(back.int8);
  CHECK(back.weights == m.weights);
  CHECK(back.int8->weights == m.int8->weights);
  CHECK(back.int8->biases == m.int8->biases);
  CHECK(back.int8->weight_scales == m.int8->weight_scales);
  CHECK(back.int8->activations == m.int8->activations);
  CHECK(back.int8->genotype == m.genotype);
  Model int8_only = m;
  int8_only.weights.clear();
  save_model(dir.file("o.enas"), int8_only);
  CHECK(load_model(dir.file("o.enas")).weights.empty());

  // A version-1 file: the version-2 float-only payload without its trailing int8 flag.
  Model float_only = m;
  float_only.int8.reset();
  save_model(dir.file("f.enas"), float_only);
  const std::string v2 = payload_of(bytes_of(dir.file("f.enas")));
  write_payload(dir.file("v1.enas"), 1, v2.substr(0, v2.size() - 1));
  const Model v1 = load_model(dir.file("v1.enas"));
  CHECK(v1.weights == m.weights);
  CHECK(!v1.int8);
}

TEST_CASE("model file: corrupt quantization parameters are refused naming the layer", "[export][int8]") {
  test::TempDir dir("model_int8_bad");
  const Model m = int8_model("in:8x8x1 stem:8:k3:s1:relu mb:8:e2:k3:s1:se:hswish head:16:relu fc:3");
  save_model(dir.file("good.enas"), m);
  const std::string payload = payload_of(bytes_of(dir.file("good.enas")));
  const std::size_t values = m.int8->activations.size(), channels = m.int8->weight_scales.size();
  const std::size_t activations_at = payload.size() - values * 8;
  const std::size_t scales_at = activations_at - 4 - channels * 4;
  const auto patched = [&](std::size_t at, auto value) {
    std::string p = payload;
    std::memcpy(p.data() + at, &value, sizeof value);
    write_payload(dir.file("bad.enas"), 2, p);
    return dir.file("bad.enas");
  };
  CHECK_THROWS_WITH(load_model(patched(scales_at, 0.0f)), Catch::Contains("bad.enas: stem channel 0 has weight scale 0"));
  CHECK_THROWS_WITH(load_model(patched(scales_at + 4 * (channels - 1), -2.0f)),
                    Catch::Contains("classifier channel 2 has weight scale -2"));
  CHECK_THROWS_WITH(load_model(patched(activations_at + 8, std::nanf(""))), Catch::Contains("output of stem has scale nan"));
  CHECK_THROWS_WITH(load_model(patched(activations_at + 8 + 4, std::int32_t{200})),
                    Catch::Contains("output of stem") && Catch::Contains("zero point 200"));
  CHECK_THROWS_WITH(load_model(patched(activations_at + 8 * (values - 1), 1e-35f)),
                    Catch::Contains("classifier") && Catch::Contains("shift"));
  std::string short_weights = payload;
  const std::size_t count_at = payload.size() - values * 8 - 4 - channels * 8 - 8 - m.int8->weights.size() - 8;
  const std::uint64_t fewer = m.int8->weights.size() - 1;
  std::memcpy(short_weights.data() + count_at, &fewer, 8);
  write_payload(dir.file("bad.enas"), 2, short_weights);
  CHECK_THROWS_WITH(load_model(dir.file("bad.enas")), Catch::Contains("int8 weights, the genotype needs"));
  CHECK(load_model(dir.file("good.enas")).int8->activations == m.int8->activations);
}
