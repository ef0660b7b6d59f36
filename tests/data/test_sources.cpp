// Bring-your-own-data readers (NumPy, CSV, image folders), format detection, the summary of
// `edgenas data inspect`, and bilinear resizing against a naive reference. Every file is
// generated here.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <edgenas/data/image_write.hpp>
#include <edgenas/data/source.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#if EDGENAS_TEST_JPEG
#include <jpeglib.h>
#endif

#include "../support/temp_dir.hpp"

using namespace edgenas;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string gzip(const std::string& s, const fs::path& tmp) {
  gzFile f = gzopen(tmp.c_str(), "wb");
  gzwrite(f, s.data(), static_cast<unsigned>(s.size()));
  gzclose(f);
  std::ifstream in(tmp, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// numpy.save's format 1.0, little-endian, C order.
std::string npy(const std::string& descr, const std::string& shape, const void* data, std::size_t bytes,
                const std::string& fortran = "False") {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': (" + shape + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(data), bytes);
  return out;
}

void write_png(const fs::path& p, int w, int h, int comp, const std::vector<std::uint8_t>& px) {
  fs::create_directories(p.parent_path());
  data::write_png(p.string(), px.data(), h, w, comp);
}

// A 16-bit greyscale PNG (stb_image_write writes 8 bits only): chunks by hand, zlib for IDAT.
void write_png16(const fs::path& p, int w, int h, const std::vector<std::uint16_t>& px) {
  const auto be32 = [](std::string& s, std::uint32_t v) {
    for (int k = 24; k >= 0; k -= 8) s += static_cast<char>((v >> k) & 0xff);
  };
  const auto chunk = [&](std::string& out, const char* type, const std::string& data) {
    be32(out, static_cast<std::uint32_t>(data.size()));
    std::string td = std::string(type, 4) + data;
    out += td;
    be32(out,
         static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(td.data()), static_cast<uInt>(td.size()))));
  };
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw += '\0';  // filter: none
    for (int x = 0; x < w; ++x) {
      raw += static_cast<char>(px[static_cast<std::size_t>(y * w + x)] >> 8);
      raw += static_cast<char>(px[static_cast<std::size_t>(y * w + x)] & 0xff);
    }
  }
  uLongf len = compressBound(static_cast<uLong>(raw.size()));
  std::string z(len, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &len, reinterpret_cast<const Bytef*>(raw.data()),
           static_cast<uLong>(raw.size()));
  z.resize(len);
  std::string ihdr;
  be32(ihdr, static_cast<std::uint32_t>(w));
  be32(ihdr, static_cast<std::uint32_t>(h));
  ihdr += std::string("\x10\x00\x00\x00\x00", 5);  // 16 bits, greyscale, deflate, no filter, no interlace
  std::string out = "\x89PNG\r\n\x1a\n";
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", z);
  chunk(out, "IEND", "");
  write_file(p, out);
}

// Naive bilinear (triangle filter, support widened by the shrink factor) straight from the
// definition: every output pixel a weighted sum over all source pixels, in double.
std::vector<double> naive_resize(const std::vector<double>& src, int ih, int iw, int c, int oh, int ow) {
  const auto weight = [](int j, int o, int in, int out) {
    const double scale = static_cast<double>(in) / out, support = std::max(1.0, scale);
    return std::max(0.0, 1.0 - std::abs(j + 0.5 - (o + 0.5) * scale) / support);
  };
  std::vector<double> out(static_cast<std::size_t>(oh * ow * c));
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int ch = 0; ch < c; ++ch) {
        double s = 0, wsum = 0;
        for (int j = 0; j < ih; ++j)
          for (int i = 0; i < iw; ++i) {
            const double w = weight(j, y, ih, oh) * weight(i, x, iw, ow);
            s += w * src[static_cast<std::size_t>((j * iw + i) * c + ch)];
            wsum += w;
          }
        out[static_cast<std::size_t>((y * ow + x) * c + ch)] = s / wsum;
      }
  return out;
}

}  // namespace

TEST_CASE("bilinear resizing equals a naive weighted sum when enlarging and shrinking", "[data][resize]") {
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (auto [ih, iw, oh, ow] : {std::array{7, 5, 13, 9},
                                {28, 28, 20, 20},
                                {28, 28, 11, 17},
                                {8, 8, 8, 8},
                                {96, 64, 24, 30},
                                {3, 3, 1, 1},
                                {1, 1, 4, 4}}) {
    const int c = 3, n = 2;
    Tensor in(Shape{n, ih, iw, c}), out;
    for (std::int64_t i = 0; i < in.size(); ++i) in.data()[i] = u(gen);
    data::resize_batch(in.view(), oh, ow, out);
    REQUIRE(out.shape() == Shape{n, oh, ow, c});
    for (int b = 0; b < n; ++b) {
      std::vector<double> src(in.data() + b * in.shape().per_image(), in.data() + (b + 1) * in.shape().per_image());
      const std::vector<double> ref = naive_resize(src, ih, iw, c, oh, ow);
      double worst = 0;
      for (std::size_t k = 0; k < ref.size(); ++k)
        worst =
            std::max(worst, std::abs(ref[k] - out.data()[b * out.shape().per_image() + static_cast<std::int64_t>(k)]));
      INFO(ih << "x" << iw << " -> " << oh << "x" << ow);
      CHECK(worst < 1e-5);
    }
  }
  // Enlarging 2x: plain bilinear with half-pixel centres (output 1 sits at source 0.25 → px0).
  const std::uint8_t src[2] = {0, 200};
  std::uint8_t dst[4];
  data::resize_image(src, 1, 2, 1, dst, 1, 4);
  CHECK(std::vector<int>(dst, dst + 4) == std::vector<int>{0, 50, 150, 200});
}

TEST_CASE("conform converts grey to colour and back and resizes datasets", "[data][resize]") {
  data::Dataset d{2, 2, 1, 2, {10, 20, 30, 40, 0, 0, 255, 255}, {0, 1}, {"a", "b"}};
  const data::Dataset rgb = data::conform(d, 2, 2, 3);
  REQUIRE(rgb.channels == 3);
  CHECK(rgb.image(0)[0] == 10);
  CHECK(rgb.image(0)[2] == 10);
  CHECK(rgb.image(1)[11] == 255);
  CHECK(rgb.class_names == d.class_names);
  const data::Dataset back = data::conform(rgb, 2, 2, 1);
  CHECK(back.pixels == d.pixels);
  const data::Dataset small = data::conform(d, 1, 1, 1);
  CHECK(small.pixels == std::vector<std::uint8_t>{25, 128});
  data::Dataset four = d;
  four.channels = 2;
  CHECK_THROWS_WITH(data::conform(four, 2, 2, 3), Catch::Contains("2 channels per pixel"));
}

TEST_CASE("NumPy arrays: uint8 N×H×W and float32 N×H×W×C with integer labels", "[data][npy]") {
  const test::TempDir dir("npy");
  std::vector<std::uint8_t> x(4 * 3 * 2);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<std::uint8_t>(i * 10);
  const std::int64_t y[4] = {0, 2, 1, 2};
  write_file(dir.path() / "x_train.npy", npy("|u1", "4, 3, 2", x.data(), x.size()));
  write_file(dir.path() / "y_train.npy", npy("<i8", "4,", y, sizeof y));
  std::vector<float> xf(2 * 2 * 2 * 3);
  for (std::size_t i = 0; i < xf.size(); ++i) xf[i] = static_cast<float>(i) / static_cast<float>(xf.size() - 1);
  const std::int32_t yt[2] = {1, 0};
  write_file(dir.path() / "x_test.npy", npy("<f4", "2, 2, 2, 3", xf.data(), xf.size() * 4));
  write_file(dir.path() / "y_test.npy", npy("<i4", "2,", yt, sizeof yt));
  // Same shape check first: the test set must match the training set's image shape.
  CHECK_THROWS_WITH(data::load(dir.path().string()), Catch::Contains("test images are 2x2x3, training images 3x2x1"));
  std::vector<float> xt(2 * 3 * 2);
  for (std::size_t i = 0; i < xt.size(); ++i) xt[i] = static_cast<float>(i) / static_cast<float>(xt.size() - 1);
  write_file(dir.path() / "x_test.npy", npy("<f4", "2, 3, 2", xt.data(), xt.size() * 4));
  const data::DataSource d = data::load(dir.path().string());
  CHECK(d.format == data::Format::npy);
  CHECK(d.test_given);
  CHECK(d.images);
  CHECK(d.train.pixels == x);
  CHECK(d.train.labels == std::vector<std::int32_t>{0, 2, 1, 2});
  CHECK(d.classes() == 3);
  CHECK(d.test.classes == 3);
  CHECK(d.test.pixels.front() == 0);
  CHECK(d.test.pixels.back() == 255);  // [0, 1] floats × 255
  CHECK(d.test.pixels[1] == static_cast<std::uint8_t>(std::lround(255.0 / 11)));
  REQUIRE(d.notes.size() == 1);
  CHECK_THAT(d.notes[0], Catch::Contains("x_test.npy: pixel = value x 255"));

  SECTION("one file whose labels sit beside it, N×F rows split into a test part") {
    std::vector<std::uint8_t> rows(20 * 4);
    std::vector<std::uint8_t> labels(20);
    for (std::size_t i = 0; i < 20; ++i)
      labels[i] = static_cast<std::uint8_t>(i % 2), rows[i * 4] = static_cast<std::uint8_t>(i);
    write_file(dir.path() / "one" / "features.npy", npy("|u1", "20, 4", rows.data(), rows.size()));
    write_file(dir.path() / "one" / "features_labels.npy", npy("|u1", "20,", labels.data(), labels.size()));
    const data::DataSource one = data::load((dir.path() / "one" / "features.npy").string(), {.test_fraction = 0.2});
    CHECK(one.train.height == 2);  // 4 values: a 2×2 image
    CHECK_FALSE(one.images);       // rows of values: no crops or flips
    CHECK_FALSE(one.test_given);
    CHECK(one.test.size() == 4);  // 2 of each class
    CHECK(one.train.size() == 16);
  }
  SECTION("bad arrays are named with the file and the index") {
    const std::int64_t bad[4] = {0, 1, -1, 2};
    write_file(dir.path() / "y_train.npy", npy("<i8", "4,", bad, sizeof bad));
    CHECK_THROWS_WITH(data::load(dir.path().string()),
                      Catch::Contains("y_train.npy") && Catch::Contains("label -1 at index 2"));
    write_file(dir.path() / "y_train.npy", npy("<i8", "3,", y, 3 * 8));
    CHECK_THROWS_WITH(data::load(dir.path().string()), Catch::Contains("3 labels for 4 images"));
    write_file(dir.path() / "y_train.npy", npy("<i8", "4,", y, 3 * 8));
    CHECK_THROWS_WITH(data::load(dir.path().string()), Catch::Contains("truncated"));
    write_file(dir.path() / "y_train.npy", npy("<i8", "4,", y, sizeof y, "True"));
    CHECK_THROWS_WITH(data::load(dir.path().string()), Catch::Contains("Fortran order"));
    write_file(dir.path() / "y_train.npy", "not numpy");
    CHECK_THROWS_WITH(data::load(dir.path().string()), Catch::Contains("not a NumPy .npy file"));
    std::vector<float> nan(4 * 3 * 2, 0.5f);
    nan[7] = std::nanf("");
    write_file(dir.path() / "y_train.npy", npy("<i8", "4,", y, sizeof y));
    write_file(dir.path() / "x_train.npy", npy("<f4", "4, 3, 2", nan.data(), nan.size() * 4));
    CHECK_THROWS_WITH(data::load(dir.path().string()), Catch::Contains("at image 1, element 1 is not finite"));
  }
}

TEST_CASE("CSV: header naming the label, class names, gzip, and digits-style rows", "[data][csv]") {
  const test::TempDir dir("csv");
  std::string text = "pixel0,pixel1,pixel2,pixel3,Label\n";
  for (int i = 0; i < 10; ++i)
    text += std::to_string(i * 0.1) + ",0,1," + std::to_string(i % 3 == 0 ? 0.5 : 0.25) + "," +
            (i % 2 ? "cat" : "dog") + "\n";
  write_file(dir.path() / "t.csv.gz", gzip(text, dir.path() / "tmp.gz"));
  const data::DataSource d = data::load((dir.path() / "t.csv.gz").string(), {.test_fraction = 0.2});
  CHECK(d.format == data::Format::csv);
  CHECK_FALSE(d.images);
  CHECK(d.classes() == 2);
  CHECK(d.train.class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(d.train.size() + d.test.size() == 10);
  CHECK(d.train.height == 2);
  // digits.csv.gz: no header, 0..16 integers, the label last, values kept as they are.
  std::string digits;
  for (int i = 0; i < 6; ++i) {
    for (int k = 0; k < 64; ++k) digits += std::to_string((i + k) % 17) + ",";
    digits += std::to_string(i % 3) + "\n";
  }
  write_file(dir.path() / "digits.csv", digits);
  const data::DataSource g = data::load((dir.path() / "digits.csv").string(), {.test_fraction = 0.34});
  CHECK(g.train.height == 8);
  CHECK(g.classes() == 3);
  CHECK(g.notes.size() == 1);  // only the split note: values used as they are
  const auto [lo, hi] = std::minmax_element(g.train.pixels.begin(), g.train.pixels.end());
  CHECK(*lo == 0);
  CHECK(*hi == 16);
  SECTION("errors name the row and column") {
    write_file(dir.path() / "bad.csv", "1,2,3,4,0\n1,2,nan,4,1\n");
    CHECK_THROWS_WITH(data::load((dir.path() / "bad.csv").string()),
                      Catch::Contains("bad.csv row 2, column 3") && Catch::Contains("not a finite number"));
    write_file(dir.path() / "bad.csv", "1,2,3,4,0\n1,2,4,1\n");
    CHECK_THROWS_WITH(data::load((dir.path() / "bad.csv").string()),
                      Catch::Contains("row 2: 4 columns, the first row has 5"));
    write_file(dir.path() / "bad.csv", "1,2,3,4,5,6,0\n1,2,4,4,5,6,1\n1,2,3,4,5,6,0\n1,2,4,4,5,6,1\n");
    CHECK_THROWS_WITH(data::load((dir.path() / "bad.csv").string()),
                      Catch::Contains("6 values per row are not a square"));
    CHECK(data::load((dir.path() / "bad.csv").string(), {.test_fraction = 0.5, .shape = "2x3x1"}).train.width == 3);
    write_file(dir.path() / "bad.csv", "1,2,3,4,0\n1,2,3,4,0\n");
    CHECK_THROWS_WITH(data::load((dir.path() / "bad.csv").string()), Catch::Contains("name 1 class"));
    write_file(dir.path() / "bad.csv", "1,2,3,4,0\n1,2,3,4,1\n");
    CHECK_THROWS_WITH(data::load((dir.path() / "bad.csv").string()),
                      Catch::Contains("2 images are too few to hold out a test split"));
  }
}

TEST_CASE("image folders: classes from folder names, grey into colour, 16-bit PNG, mixed sizes, splits",
          "[data][images]") {
  const test::TempDir dir("images");
  const fs::path root = dir.path() / "set";
  std::vector<std::uint8_t> grey(6 * 4), colour(6 * 4 * 3);
  for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = static_cast<std::uint8_t>(i * 9);
  for (std::size_t i = 0; i < colour.size(); ++i) colour[i] = static_cast<std::uint8_t>(i * 3);
  for (int i = 0; i < 5; ++i) {
    write_png(root / "cat" / ("c" + std::to_string(i) + ".png"), 4, 6, 1, grey);
    write_png(root / "dog" / ("d" + std::to_string(i) + ".PNG"), 4, 6, 1, grey);
  }
  write_file(root / "dog" / "notes.txt", "not an image");
  write_file(root / "README", "loose file");
  std::vector<std::uint16_t> deep(6 * 4);
  for (std::size_t i = 0; i < deep.size(); ++i) deep[i] = static_cast<std::uint16_t>(i * 9 * 257);  // 8-bit value i*9
  write_png16(root / "cat" / "deep.png", 4, 6, deep);

  data::DataSource d = data::load(root.string(), {.test_fraction = 0.25});
  CHECK(d.format == data::Format::image_folder);
  CHECK(d.train.class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(d.height() == 6);
  CHECK(d.width() == 4);
  CHECK(d.channels() == 1);
  CHECK(d.train.size() + d.test.size() == 11);
  for (std::size_t i = 0; i < d.train.size(); ++i)
    CHECK(std::equal(grey.begin(), grey.end(), d.train.image(i)));  // the 16-bit PNG too
  CHECK_THAT(d.notes.front(), Catch::Contains("2 files that are not .png"));
  CHECK(std::count(d.train.labels.begin(), d.train.labels.end(), 0) +
            std::count(d.test.labels.begin(), d.test.labels.end(), 0) ==
        6);

  SECTION("grey PNGs into a 3-channel set replicate the grey value") {
    const data::DataSource c = data::load(root.string(), {.folder = {.channels = 3}});
    REQUIRE(c.channels() == 3);
    for (int k = 0; k < 3; ++k) CHECK(c.train.image(0)[5 * 3 + k] == grey[5]);
  }
  SECTION("a colour image makes the set colour; other sizes are resized to the most common") {
    write_png(root / "dog" / "big.png", 8, 12, 3, std::vector<std::uint8_t>(8 * 12 * 3, 77));
    const data::DataSource c = data::load(root.string());
    CHECK(c.channels() == 3);
    CHECK(c.height() == 6);
    REQUIRE(c.native_sizes.size() == 2);
    bool found = false;
    for (std::size_t i = 0; i < c.train.size() + c.test.size(); ++i) {
      const data::Dataset& s = i < c.train.size() ? c.train : c.test;
      const std::uint8_t* px = s.image(i < c.train.size() ? i : i - c.train.size());
      found = found || std::all_of(px, px + s.image_bytes(), [](std::uint8_t v) { return v == 77; });
    }
    CHECK(found);
    const data::DataSummary sum = data::summarize(c);
    CHECK_THAT(json::dump(sum.value, -1), Catch::Contains("\"native_sizes\""));
    bool mixed = false;
    for (const std::string& w : sum.warnings)
      mixed = mixed || w.find("mixed image sizes: 2 different") != std::string::npos;
    CHECK(mixed);
  }
  SECTION("train/ and test/ subfolders are the splits") {
    const fs::path s = dir.path() / "split";
    for (const char* part : {"train", "test"})
      for (const char* cls : {"a", "b", "c"}) write_png(s / part / cls / "0.png", 4, 6, 1, grey);
    write_png(s / "train" / "a" / "1.png", 4, 6, 1, grey);
    for (int i = 0; i < 6; ++i)  // numbered as exported: the numbering is the order, across classes
      write_png(s / "train" / (i % 2 ? "b" : "c") / ("n" + std::to_string(i) + ".png"), 4, 6, 1, grey);
    const data::DataSource numbered = data::load(s.string());
    CHECK(std::vector<std::int32_t>(numbered.train.labels.end() - 6, numbered.train.labels.end()) ==
          std::vector<std::int32_t>{2, 1, 2, 1, 2, 1});
    for (int i = 0; i < 6; ++i) fs::remove(s / "train" / (i % 2 ? "b" : "c") / ("n" + std::to_string(i) + ".png"));
    const data::DataSource sp = data::load(s.string());
    CHECK(sp.test_given);
    CHECK(sp.train.size() == 4);
    CHECK(sp.test.size() == 3);
    CHECK(sp.test.labels == std::vector<std::int32_t>{0, 1, 2});
    const data::DataSummary sum = data::summarize(sp);
    CHECK(sum.warnings.size() >= 2);  // identical images: duplicates and test images seen in training
  }
  SECTION("an empty class folder, a single class, an unreadable or truncated file: named errors") {
    fs::create_directories(root / "empty");
    CHECK_THROWS_WITH(data::load(root.string()), Catch::Contains("empty") && Catch::Contains("no images"));
    fs::remove(root / "empty");
    const fs::path one = dir.path() / "one";
    write_png(one / "only" / "0.png", 4, 6, 1, grey);
    CHECK_THROWS_WITH(data::load(one.string()), Catch::Contains("1 class folder;"));
    write_file(root / "cat" / "broken.png", "\x89PNG\r\n\x1a\n garbage");
    CHECK_THROWS_WITH(data::load(root.string()), Catch::Contains("broken.png"));
    fs::remove(root / "cat" / "broken.png");
    std::ifstream in(root / "cat" / "c0.png", std::ios::binary);
    std::string png{std::istreambuf_iterator<char>(in), {}};
    write_file(root / "cat" / "cut.png", png.substr(0, png.size() / 2));
    CHECK_THROWS_WITH(data::load(root.string()), Catch::Contains("cut.png: cannot decode"));
    fs::remove(root / "cat" / "cut.png");
    // A JPEG whose Huffman table claims 272 codes: Debian's stb_image would write past its
    // tables (found by fuzzing); refused before it decodes.
    std::string jpeg = "\xFF\xD8\xFF\xC4";
    jpeg += std::string("\x01\x13\x00", 3) + std::string(16, '\x11') + std::string(272, '\x01') + "\xFF\xD9";
    write_file(root / "cat" / "huffman.jpg", jpeg);
    CHECK_THROWS_WITH(data::load(root.string()),
                      Catch::Contains("huffman.jpg") && Catch::Contains("Huffman table over 256 codes"));
  }
#if EDGENAS_TEST_JPEG
  SECTION("CMYK and progressive JPEGs decode (and pass the checks made before stb_image)") {
    const auto write_jpeg = [](const fs::path& p, int components, J_COLOR_SPACE space, bool progressive) {
      FILE* f = std::fopen(p.c_str(), "wb");
      REQUIRE(f);
      jpeg_compress_struct c{};
      jpeg_error_mgr err{};
      c.err = jpeg_std_error(&err);
      jpeg_create_compress(&c);
      jpeg_stdio_dest(&c, f);
      c.image_width = 4;
      c.image_height = 6;
      c.input_components = components;
      c.in_color_space = space;
      jpeg_set_defaults(&c);
      jpeg_set_quality(&c, 100, TRUE);
      if (progressive) jpeg_simple_progression(&c);
      jpeg_start_compress(&c, TRUE);
      std::vector<std::uint8_t> row(static_cast<std::size_t>(4 * components), 0);
      for (int x = 0; x < 4; ++x) row[static_cast<std::size_t>(components * x)] = 255;
      while (c.next_scanline < c.image_height) {
        JSAMPROW r = row.data();
        jpeg_write_scanlines(&c, &r, 1);
      }
      jpeg_finish_compress(&c);
      jpeg_destroy_compress(&c);
      std::fclose(f);
    };
    write_jpeg(root / "dog" / "cmyk.jpg", 4, JCS_CMYK, false);
    write_jpeg(root / "cat" / "progressive.jpg", 3, JCS_RGB, true);
    const data::DataSource j = data::load(root.string());
    CHECK(j.channels() == 3);  // colour images in the set
    CHECK(j.train.size() + j.test.size() == 13);
  }
#endif
}

TEST_CASE("the summary warns of class imbalance and duplicates, and names the format", "[data][inspect]") {
  const test::TempDir dir("inspect");
  std::string rows;
  for (int i = 0; i < 40; ++i) rows += std::to_string(i) + ",1,2,3," + (i < 36 ? "0" : "1") + "\n";
  rows += "0,1,2,3,1\n";  // the first row's pixels with another label
  write_file(dir.path() / "t.csv", rows);
  const data::DataSource d = data::load((dir.path() / "t.csv").string(), {.test_fraction = 0.2});
  // Rows sorted by class are shuffled, so that the first images (a supernet's) hold every class.
  CHECK_THAT(d.notes.front(), Catch::Contains("training images came sorted by class: shuffled"));
  const data::DataSummary s = data::summarize(d);
  CHECK(s.value.at("format", "").as_string("") == "CSV");
  std::string all;
  for (const std::string& w : s.warnings) all += w + "\n";
  CHECK_THAT(all, Catch::Contains("class imbalance"));
  CHECK_THAT(all, Catch::Contains("only 4 training images"));
  INFO(all);
  CHECK((all.find("with a different label") != std::string::npos ||
         all.find("also appear in the training") != std::string::npos));
}

TEST_CASE("format detection refuses what it cannot read, naming the path", "[data]") {
  const test::TempDir dir("detect");
  CHECK_THROWS_WITH(data::load((dir.path() / "missing").string()), Catch::Contains("no such file or folder"));
  write_file(dir.path() / "x.bin", "0");
  CHECK_THROWS_WITH(data::load((dir.path() / "x.bin").string()), Catch::Contains("cannot tell the data format"));
  fs::create_directories(dir.path() / "nothing" / "a");
  CHECK_THROWS_WITH(data::load((dir.path() / "nothing").string()), Catch::Contains("cannot tell the data format"));
  write_file(dir.path() / "lonely.npy", npy("|u1", "1, 1", "x", 1));
  CHECK_THROWS_WITH(data::load((dir.path() / "lonely.npy").string()), Catch::Contains("lonely_labels.npy"));
}
