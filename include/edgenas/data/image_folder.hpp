// edgenas/data/image_folder.hpp — a folder of images, one subfolder per class:
//   DIR/<class>/*.{png,jpg,jpeg,bmp}                       (split later, stratified and seeded)
//   DIR/{train,val,test}/<class>/*.{png,jpg,jpeg,bmp}      (the splits as given; val optional)
//
// Decoding: stb_image from Debian's libstb-dev. One header decodes all three formats with what
// sensor and phone images need (8- and 16-bit PNG of any colour type, baseline and progressive
// JPEG including CMYK/YCCK, BMP), it is compiled into this header (static linkage: nothing to
// link, and the same on ARM and Cortex-M cross builds), and it reports why a file fails.
// libpng + libjpeg-turbo decode faster but are two libraries and two error models; at 28×28 the
// time goes to opening files, not decoding (bench_data: 70 000 PNGs in ≈1.5 s on 2 cores).
// A program that uses stb_image itself includes this header in another translation unit.
//
// Every image is converted to the set's channels (1 when every image is grey, else 3; alpha
// dropped) and resized (data/resize.hpp) to the set's size: the most common size, or `size`.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "edgenas/core/parallel.hpp"
#include "edgenas/data/dataset.hpp"
#include "edgenas/data/resize.hpp"
#include "edgenas/space/genes.hpp"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS 16384  // a forged header cannot ask for gigabytes
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace edgenas::data {

struct ImageFolderOptions {
  int height = 0, width = 0;                         // 0: the most common size of the images (limited by max_side)
  int channels = 0;                                  // 0: 1 if every image is grey, else 3
  int max_side = 256;                                // the most common size is scaled down to fit this
  std::int64_t max_pixels = std::int64_t{64} << 20;  // larger files are refused before decoding (64 M: 8192²)
};

/// What a folder holds, before decoding: its files by split and class, and their sizes.
struct ImageFolderScan {
  std::string root;
  std::vector<std::string> class_names;  // sorted
  // split name ("" when the folder is not split) → per class, the files (sorted)
  std::map<std::string, std::vector<std::vector<std::filesystem::path>>> files;
  std::map<std::pair<int, int>, std::size_t> sizes;  // (height, width) → images
  bool colour = false;                               // some image has colour
  std::size_t ignored = 0;                           // files without an image extension
  int height = 0, width = 0, channels = 0;           // what the images become
};

namespace detail {

inline bool is_image_file(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".bmp";
}

// The error of the first file in order (not the first to happen on some thread).
struct FirstError {
  std::mutex mutex;
  std::int64_t index = INT64_MAX;
  std::string message;
  void keep(std::int64_t i, std::string m) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (i < index) index = i, message = std::move(m);
  }
};

inline std::vector<std::uint8_t> read_file(const std::filesystem::path& p, std::size_t max_bytes = SIZE_MAX) {
  std::ifstream in(p, std::ios::binary);
  EDGENAS_CHECK(in.good(), Status::io_error, "%s: cannot open", p.c_str());
  std::vector<std::uint8_t> bytes;
  std::uint8_t buf[1 << 16];
  while (bytes.size() < max_bytes && in.read(reinterpret_cast<char*>(buf), sizeof buf), in.gcount() > 0)
    bytes.insert(bytes.end(), buf, buf + in.gcount());
  EDGENAS_CHECK(!in.bad(), Status::io_error, "%s: read error", p.c_str());
  return bytes;
}

// stb_image 2.27 (Debian 12's libstb) trusts a JPEG's Huffman tables: it builds a table
// without checking that it has at most 256 codes (writing past its arrays when a file says
// more), and decodes a scan with a table no DHT segment defined (reading uninitialised memory,
// which then indexes out of bounds). Both found by fuzzing (tests/fuzz/image.cpp). Every DHT
// and SOS segment is checked here first, walking the marker segments (and skipping
// entropy-coded data) as stb does. True when every table fits and every scan's tables exist.
inline constexpr const char* bad_jpeg =
    "corrupt JPEG: a Huffman table over 256 codes, or a scan using an undefined table";

inline bool jpeg_huffman_tables_sound(const std::uint8_t* p, std::size_t n) {
  // A JPEG to stb: 0xFF, any number of 0xFF fill bytes, then SOI (0xD8).
  std::size_t i = 0;
  if (n < 2 || p[0] != 0xFF) return true;  // not a JPEG: stb decides
  while (i < n && p[i] == 0xFF) ++i;
  if (i >= n || p[i] != 0xD8) return true;
  ++i;
  bool dc[4] = {}, ac[4] = {}, progressive = false;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) {  // entropy-coded data: up to the next marker that is not a stuffed byte or RSTn
      ++i;
      continue;
    }
    const std::uint8_t m = p[i + 1];
    if (m == 0x00 || m == 0xFF || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
      i += m == 0xFF ? 1 : 2;
      continue;
    }
    if (m == 0xD8 || m == 0xD9) {
      i += 2;
      continue;
    }
    const std::size_t length = (std::size_t{p[i + 2]} << 8) | p[i + 3];
    if (length < 2) return false;
    const std::size_t end = std::min(n, i + 2 + length);
    if (m == 0xC2) progressive = true;
    if (m == 0xC4) {
      if (i + 2 + length > n) return false;  // a cut table: stb would read its counts past the end
      // Tables while the segment lasts, each read whole even where it overruns it (as stb does).
      for (std::size_t t = i + 4; t < end;) {
        std::size_t codes = 0;
        for (std::size_t k = t + 1; k < t + 17 && k < n; ++k) codes += p[k];
        if (codes > 256) return false;
        const int kind = p[t] >> 4, slot = p[t] & 15;
        if (kind <= 1 && slot <= 3) (kind == 0 ? dc : ac)[slot] = true;
        t += 17 + codes;
      }
    }
    if (m == 0xDA && i + 5 <= n) {  // a scan: the tables of its components must exist
      const std::size_t components = p[i + 4];
      if (i + 6 + 2 * components > n) return false;
      const bool dc_scan = !progressive || p[i + 5 + 2 * components] == 0;  // Ss = 0: DC coefficients
      const bool ac_scan = !progressive || p[i + 5 + 2 * components] != 0;
      for (std::size_t k = 0; k < components; ++k) {
        const int tables = p[i + 6 + 2 * k], d = tables >> 4, a = tables & 15;
        if (d > 3 || a > 3) continue;  // stb refuses these itself
        if ((dc_scan && !dc[d]) || (ac_scan && !ac[a])) return false;
      }
    }
    i = end;
  }
  return true;
}

// stb_image allocates a PNG chunk's declared length before reading it, and inflates the whole
// zlib stream before comparing its size with the image's: a 300-byte file could make it
// allocate gigabytes (found by fuzzing). Chunks are checked against the file's length here and
// the stream inflated first through a fixed buffer, counting: true when nothing exceeds what
// the file and the header's size and pixel format allow.
inline bool png_inflates_within_size(const std::uint8_t* p, std::size_t n) {
  static const std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n < 33 || std::memcmp(p, signature, 8) != 0 || std::memcmp(p + 12, "IHDR", 4) != 0) return true;
  const auto be32 = [&](std::size_t i) {
    return (std::uint32_t{p[i]} << 24) | (std::uint32_t{p[i + 1]} << 16) | (std::uint32_t{p[i + 2]} << 8) | p[i + 3];
  };
  const std::uint64_t w = be32(16), h = be32(20), depth = p[24], type = p[25];
  const std::uint64_t samples = type == 2 ? 3 : type == 4 ? 2 : type == 6 ? 4 : 1;
  const std::uint64_t row = (w * samples * std::max<std::uint64_t>(depth, 1) + 7) / 8 + 1;
  const std::uint64_t allowed = 2 * h * row + 65536;  // interlaced images take a little more
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return false;
  std::vector<std::uint8_t> out(1 << 16);
  std::uint64_t total = 0;
  bool ok = true, done = false;
  for (std::size_t i = 8; i + 12 <= n && ok && !done;) {
    const std::size_t length = be32(i);
    if (length > n - i - 12) {  // a chunk longer than the file: stb would allocate it before reading
      ok = false;
      break;
    }
    if (std::memcmp(p + i + 4, "IDAT", 4) == 0) {
      z.next_in = const_cast<Bytef*>(p + i + 8);
      z.avail_in = static_cast<uInt>(length);
      while (z.avail_in > 0 && ok) {
        z.next_out = out.data();
        z.avail_out = static_cast<uInt>(out.size());
        const int r = inflate(&z, Z_NO_FLUSH);
        total += out.size() - z.avail_out;
        ok = total <= allowed;
        if (r == Z_STREAM_END) {
          done = true;
          break;
        }
        if (r != Z_OK) break;  // corrupt: stb reports it
      }
    }
    i += length + 12;
  }
  inflateEnd(&z);
  return ok;
}

inline std::vector<std::filesystem::path> sorted_entries(const std::filesystem::path& dir, bool directories) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_directory() == directories) out.push_back(e.path());
  EDGENAS_CHECK(!ec, Status::io_error, "%s: cannot list (%s)", dir.c_str(), ec.message().c_str());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace detail

/// True for a folder whose subfolders hold images (directly, or under train/val/test).
inline bool looks_like_image_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& sub : detail::sorted_entries(dir, true)) {
    for (const auto& f : fs::recursive_directory_iterator(sub, ec))
      if (f.is_regular_file() && detail::is_image_file(f.path())) return true;
  }
  return false;
}

/// Lists the folder and reads every image's header (size and colour) without decoding it.
inline ImageFolderScan scan_image_folder(const std::string& dir, const ImageFolderOptions& options = {}) {
  namespace fs = std::filesystem;
  EDGENAS_CHECK(fs::is_directory(dir), Status::io_error, "%s: not a folder", dir.c_str());
  ImageFolderScan scan;
  scan.root = dir;
  std::vector<fs::path> splits;
  for (const char* s : {"train", "val", "test"})
    if (fs::is_directory(fs::path(dir) / s)) splits.push_back(fs::path(dir) / s);
  if (fs::is_directory(fs::path(dir) / "validation") && !fs::is_directory(fs::path(dir) / "val"))
    splits.push_back(fs::path(dir) / "validation");
  const bool split = !splits.empty();
  EDGENAS_CHECK(!split || fs::is_directory(fs::path(dir) / "train"), Status::invalid_argument,
                "%s: has %s/ but no train/ folder; give train/ (and val/, test/) or no split folders at all",
                dir.c_str(), splits.front().filename().c_str());
  if (!split) splits.push_back(dir);
  // Classes: every class folder of every split, sorted by name.
  std::map<std::string, int> classes;
  for (const fs::path& s : splits)
    for (const fs::path& c : detail::sorted_entries(s, true)) classes.emplace(c.filename().string(), 0);
  EDGENAS_CHECK(classes.size() >= 2, Status::invalid_argument,
                "%s: %zu class folder%s; a classifier needs at least two (one subfolder of images per class)",
                split ? splits.front().c_str() : dir.c_str(), classes.size(), classes.size() == 1 ? "" : "s");
  EDGENAS_CHECK(classes.size() <= static_cast<std::size_t>(limits::max_classes), Status::invalid_argument,
                "%s: %zu classes; the limit is %d", dir.c_str(), classes.size(), limits::max_classes);
  for (auto& [name, index] : classes) {
    index = static_cast<int>(scan.class_names.size());
    scan.class_names.push_back(name);
  }
  std::vector<fs::path> all;
  for (const fs::path& s : splits) {
    const std::string name = split ? (s.filename() == "validation" ? "val" : s.filename().string()) : "";
    auto& per_class = scan.files[name];
    per_class.resize(classes.size());
    scan.ignored += detail::sorted_entries(s, false).size();  // loose files beside the class folders
    for (const auto& [cname, k] : classes) {
      const fs::path cdir = s / cname;
      if (!fs::is_directory(cdir)) continue;
      for (const auto& e : fs::recursive_directory_iterator(cdir)) {
        if (!e.is_regular_file()) continue;
        if (detail::is_image_file(e.path()))
          per_class[static_cast<std::size_t>(k)].push_back(e.path());
        else
          ++scan.ignored;
      }
      auto& list = per_class[static_cast<std::size_t>(k)];
      std::sort(list.begin(), list.end());
      // An empty class in the training images would be a class the network never sees.
      EDGENAS_CHECK(!list.empty() || (split && name != "train"), Status::invalid_argument,
                    "%s: no images (.png, .jpg, .jpeg, .bmp) in this class folder; add images or remove it",
                    cdir.c_str());
    }
    for (const auto& list : per_class) all.insert(all.end(), list.begin(), list.end());
  }
  if (split)
    for (std::size_t k = 0; k < classes.size(); ++k)
      EDGENAS_CHECK(!scan.files["train"][k].empty(), Status::invalid_argument,
                    "%s: class \"%s\" has no training images (train/%s is missing or empty)", dir.c_str(),
                    scan.class_names[k].c_str(), scan.class_names[k].c_str());
  // Headers, in parallel: the first 64 KiB hold them (JPEG files with large metadata are read whole).
  std::vector<int> h(all.size()), w(all.size()), comp(all.size());
  detail::FirstError error;
  parallel_for(static_cast<std::int64_t>(all.size()), [&](int, std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const auto k = static_cast<std::size_t>(i);
      try {
        // The header, from the first 64 KiB; the whole file when they do not settle it (a JPEG with
        // large metadata, or a Huffman table cut by the 64 KiB).
        std::vector<std::uint8_t> head = detail::read_file(all[k], 1 << 16);
        const auto sound = [&] { return detail::jpeg_huffman_tables_sound(head.data(), head.size()); };
        bool whole = head.size() < (1 << 16), checked = sound();
        int ok = checked && stbi_info_from_memory(head.data(), static_cast<int>(head.size()), &w[k], &h[k], &comp[k]);
        if (!ok && !whole) {
          head = detail::read_file(all[k]);
          whole = true;
          checked = sound();
          ok = checked &&
               stbi_info_from_memory(head.data(), static_cast<int>(std::min<std::size_t>(head.size(), INT32_MAX)),
                                     &w[k], &h[k], &comp[k]);
        }
        EDGENAS_CHECK(checked, Status::corrupt_data, "%s: not a readable image (%s)", all[k].c_str(), detail::bad_jpeg);
        EDGENAS_CHECK(ok, Status::corrupt_data, "%s: not a readable image (%s)", all[k].c_str(),
                      head.empty() ? "empty file" : stbi_failure_reason());
        EDGENAS_CHECK(h[k] >= 1 && w[k] >= 1 && std::int64_t{h[k]} * w[k] <= options.max_pixels, Status::corrupt_data,
                      "%s: image of %dx%d pixels; the limit is %lld pixels", all[k].c_str(), w[k], h[k],
                      static_cast<long long>(options.max_pixels));
      } catch (const Error& e) {
        error.keep(i, e.what());
      }
    }
  });
  EDGENAS_CHECK(error.message.empty(), Status::corrupt_data, "%s", error.message.c_str());
  for (std::size_t k = 0; k < all.size(); ++k) {
    ++scan.sizes[{h[k], w[k]}];
    scan.colour = scan.colour || comp[k] >= 3;
  }
  std::pair<int, int> common{0, 0};
  std::size_t most = 0;
  for (const auto& [size, count] : scan.sizes)
    if (count > most) most = count, common = size;
  scan.height = options.height > 0 ? options.height : common.first;
  scan.width = options.width > 0 ? options.width : common.second;
  if (options.height <= 0 && options.width <= 0 && std::max(scan.height, scan.width) > options.max_side) {
    const double f = static_cast<double>(options.max_side) / std::max(scan.height, scan.width);
    scan.height = std::max(1, static_cast<int>(std::lround(scan.height * f)));
    scan.width = std::max(1, static_cast<int>(std::lround(scan.width * f)));
  }
  scan.channels = options.channels > 0 ? options.channels : scan.colour ? 3 : 1;
  EDGENAS_CHECK(scan.channels == 1 || scan.channels == 3, Status::invalid_argument,
                "%s: %d channels asked; images become 1 (grey) or 3 (colour) channels", dir.c_str(), scan.channels);
  return scan;
}

/// Decodes one split of a scanned folder ("" when it is not split) into a dataset.
inline Dataset load_image_folder_split(const ImageFolderScan& scan, const std::string& split) {
  const auto it = scan.files.find(split);
  EDGENAS_CHECK(it != scan.files.end(), Status::invalid_argument, "%s: no split \"%s\"", scan.root.c_str(),
                split.c_str());
  // In the order of the file names across classes (then of the classes): files numbered as
  // exported (`edgenas data convert`: <index>.png) come back in their original order, and the
  // usual per-class numbering (cat/0001.jpg, dog/0001.jpg) interleaves the classes.
  std::vector<std::pair<const std::filesystem::path*, std::int32_t>> order;
  for (std::size_t k = 0; k < it->second.size(); ++k)
    for (const auto& f : it->second[k]) order.emplace_back(&f, static_cast<std::int32_t>(k));
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first->filename() < b.first->filename(); });
  std::vector<const std::filesystem::path*> files;
  Dataset d{scan.height, scan.width, scan.channels,   static_cast<int>(scan.class_names.size()),
            {},          {},         scan.class_names};
  for (const auto& [f, k] : order) {
    files.push_back(f);
    d.labels.push_back(k);
  }
  d.pixels.resize(files.size() * d.image_bytes());
  detail::FirstError error;
  parallel_for(static_cast<std::int64_t>(files.size()), [&](int, std::int64_t lo, std::int64_t hi) {
    std::vector<std::uint8_t> resized;
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::filesystem::path& f = *files[static_cast<std::size_t>(i)];
      try {
        const std::vector<std::uint8_t> bytes = detail::read_file(f);
        int w = 0, h = 0, comp = 0;
        EDGENAS_CHECK(bytes.size() <= INT32_MAX, Status::corrupt_data, "%s: larger than 2 GB", f.c_str());
        EDGENAS_CHECK(detail::jpeg_huffman_tables_sound(bytes.data(), bytes.size()), Status::corrupt_data,
                      "%s: cannot decode (%s)", f.c_str(), detail::bad_jpeg);
        EDGENAS_CHECK(
            detail::png_inflates_within_size(bytes.data(), bytes.size()), Status::corrupt_data,
            "%s: cannot decode (corrupt or truncated PNG: a chunk longer than the file, or pixel data larger than "
            "its size allows)",
            f.c_str());
        stbi_uc* px = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp, d.channels);
        EDGENAS_CHECK(px != nullptr, Status::corrupt_data, "%s: cannot decode (%s)", f.c_str(),
                      bytes.empty() ? "empty file" : stbi_failure_reason());
        std::uint8_t* dst = d.pixels.data() + static_cast<std::size_t>(i) * d.image_bytes();
        if (h == d.height && w == d.width)
          std::copy_n(px, d.image_bytes(), dst);
        else
          resize_image(px, h, w, d.channels, dst, d.height, d.width);
        stbi_image_free(px);
      } catch (const Error& e) {
        error.keep(i, e.what());
      }
    }
  });
  EDGENAS_CHECK(error.message.empty(), Status::corrupt_data, "%s", error.message.c_str());
  return d;
}

}  // namespace edgenas::data
