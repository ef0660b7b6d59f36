// Model files: round trip, and every kind of damage is refused with a message that says what.
#include <catch2/catch.hpp>
#include <edgenas/export/model_file.hpp>
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
  const Model m{net.genotype(), net.inference_weights(), {0.286f}, {0.353f}};
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
  const Model m{net.genotype(), net.inference_weights(), {}, {}};
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
