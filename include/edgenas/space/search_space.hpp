// edgenas/space/search_space.hpp — which architectures a search may produce, and sampling.
//
// A space is a stem, a list of stages and a head. Each stage has depth choices, an output
// width, the stride of its first block and per-block choices (kernel, expansion ratio, SE,
// activation); a width multiplier scales every width (rounded to multiples of 8, as
// MobileNets do). Macro choices (resolution, width, depth) and micro choices (inside blocks)
// are both sampled here; mutation, crossover and the JSON form come with the search.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edgenas/core/rng.hpp"
#include "edgenas/space/genotype.hpp"

namespace edgenas {

struct StageSpace {
  std::vector<int> depths{1};
  int out_channels = 16;
  int stride = 1;
  std::vector<int> kernels{3};
  std::vector<int> expands{1};
  std::vector<bool> se{false};
  std::vector<Activation> acts{Activation::relu};
};

/// One block's choices: indices into its stage's kernels, expands, se and acts.
struct BlockChoice {
  int kernel = 0, expand = 0, se = 0, act = 0;
  friend bool operator==(const BlockChoice&, const BlockChoice&) = default;
};

/// An architecture as indices into a space: what evolution mutates and crosses over.
/// Every stage keeps choices for its deepest option, so changing a depth never loses genes.
struct Choices {
  int resolution = 0, width = 0;
  std::vector<int> depth;                      // index into each stage's depths
  std::vector<std::vector<BlockChoice>> blocks;  // [stage][block], max depth entries each
  friend bool operator==(const Choices&, const Choices&) = default;
};

struct SearchSpace {
  std::string name;
  std::vector<int> resolutions{28};
  int in_channels = 1;
  std::vector<double> width_multipliers{1.0};
  StemGene stem;                   // channels before the width multiplier
  std::vector<BlockGene> fixed;    // blocks every architecture starts with (widths unscaled)
  std::vector<StageSpace> stages;
  HeadGene head;

  /// Channels after the width multiplier.
  static int scaled(int channels, double multiplier) { return make_divisible(channels * multiplier); }

  static int pick(Rng& rng, std::size_t n) { return static_cast<int>(rng.below(static_cast<std::uint32_t>(n))); }
  static BlockChoice random_block(const StageSpace& s, Rng& rng) {
    BlockChoice b;
    b.kernel = pick(rng, s.kernels.size());
    b.expand = pick(rng, s.expands.size());
    b.se = pick(rng, s.se.size());
    b.act = pick(rng, s.acts.size());
    return b;
  }
  /// A space with "resolutions": "data" (or --space auto) is complete only once a search has
  /// read its data (search/pipeline.hpp fills them in).
  void require_resolutions() const {
    EDGENAS_CHECK(!resolutions.empty(), Status::invalid_argument,
                  "space %s takes its resolutions from the data: only a search with --data can use it as it is "
                  "(a search writes the space it searched to OUT/space.json)",
                  name.c_str());
  }
  static int max_depth(const StageSpace& s) { return *std::max_element(s.depths.begin(), s.depths.end()); }

  /// Uniformly random choices (the blocks a depth leaves unused are drawn last, so the
  /// architecture drawn for a seed does not depend on them).
  Choices random_choices(Rng& rng) const {
    require_resolutions();
    Choices c;
    c.resolution = pick(rng, resolutions.size());
    c.width = pick(rng, width_multipliers.size());
    for (const StageSpace& s : stages) {
      c.depth.push_back(pick(rng, s.depths.size()));
      std::vector<BlockChoice> blocks;
      for (int i = 0; i < s.depths[static_cast<std::size_t>(c.depth.back())]; ++i) blocks.push_back(random_block(s, rng));
      c.blocks.push_back(std::move(blocks));
    }
    for (std::size_t i = 0; i < stages.size(); ++i)
      while (static_cast<int>(c.blocks[i].size()) < max_depth(stages[i])) c.blocks[i].push_back(random_block(stages[i], rng));
    return c;
  }

  /// Every choice of `c` in a fixed order — resolution, width, then per stage its depth and each
  /// block's kernel, expand, SE and activation — as visit(int& value, options, used): `used` is
  /// false for the blocks past a stage's depth (kept, not part of the architecture). What
  /// mutation and the policies over a space (search/policy.hpp) walk; `C` is Choices or
  /// const Choices. A visit may change a depth: the blocks after it see the new one.
  template <class C, class Visit>
  void for_each_decision(C& c, Visit&& visit) const {
    const auto n = [](const auto& options) { return static_cast<int>(options.size()); };
    visit(c.resolution, n(resolutions), true);
    visit(c.width, n(width_multipliers), true);
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const StageSpace& s = stages[i];
      visit(c.depth[i], n(s.depths), true);
      for (std::size_t j = 0; j < c.blocks[i].size(); ++j) {
        const bool used = static_cast<int>(j) < s.depths[static_cast<std::size_t>(c.depth[i])];
        auto& b = c.blocks[i][j];
        visit(b.kernel, n(s.kernels), used);
        visit(b.expand, n(s.expands), used);
        visit(b.se, n(s.se), used);
        visit(b.act, n(s.acts), used);
      }
    }
  }

  /// Each choice re-drawn with probability `rate` (at least one changes when rate > 0).
  Choices mutate(const Choices& parent, double rate, Rng& rng) const {
    Choices c = parent;
    bool changed = false;
    for_each_decision(c, [&](int& value, int options, bool) {
      if (options > 1 && rng.uniform_double() < rate) {
        const int v = pick(rng, static_cast<std::size_t>(options - 1));
        value = v >= value ? v + 1 : v;  // a different value
        changed = true;
      }
    });
    if (!changed && rate > 0 && log10_size() > 0) return mutate(parent, std::min(1.0, rate * 2 + 0.01), rng);
    return c;
  }

  /// Uniform crossover: every choice from one parent or the other.
  Choices crossover(const Choices& a, const Choices& b, Rng& rng) const {
    Choices c = a;
    if (rng.coin()) c.resolution = b.resolution;
    if (rng.coin()) c.width = b.width;
    for (std::size_t i = 0; i < stages.size(); ++i) {
      if (rng.coin()) c.depth[i] = b.depth[i];
      for (std::size_t j = 0; j < c.blocks[i].size(); ++j)
        if (rng.coin()) c.blocks[i][j] = b.blocks[i][j];
    }
    return c;
  }

  /// The architecture the choices describe.
  Genotype decode(const Choices& c) const {
    require_resolutions();
    EDGENAS_CHECK(c.depth.size() == stages.size() && c.blocks.size() == stages.size(), Status::invalid_argument,
                  "SearchSpace %s: choices for %zu stages, the space has %zu", name.c_str(), c.depth.size(), stages.size());
    Genotype g;
    const int res = resolutions.at(static_cast<std::size_t>(c.resolution));
    const double w = width_multipliers.at(static_cast<std::size_t>(c.width));
    g.input = {1, res, res, in_channels};
    g.stem = stem;
    g.stem.channels = scaled(stem.channels, w);
    int in = g.stem.channels;
    for (BlockGene b : fixed) {
      const int ratio = std::max(1, b.expanded / std::max(1, b.out));
      b.out = scaled(b.out, w);
      b.expanded = in * ratio;
      g.blocks.push_back(b);
      in = b.out;
    }
    for (std::size_t i = 0; i < stages.size(); ++i) {
      const StageSpace& s = stages[i];
      const int depth = s.depths.at(static_cast<std::size_t>(c.depth[i]));
      const int out = scaled(s.out_channels, w);
      for (int j = 0; j < depth; ++j) {
        const BlockChoice& bc = c.blocks[i].at(static_cast<std::size_t>(j));
        BlockGene b;
        b.out = out;
        b.kernel = s.kernels.at(static_cast<std::size_t>(bc.kernel));
        b.expanded = in * s.expands.at(static_cast<std::size_t>(bc.expand));
        b.stride = j == 0 ? s.stride : 1;
        b.se = s.se.at(static_cast<std::size_t>(bc.se));
        b.act = s.acts.at(static_cast<std::size_t>(bc.act));
        g.blocks.push_back(b);
        in = out;
      }
    }
    g.head = head;
    return g;
  }

  /// The choices that decode to `g` (blocks past a stage's depth at their first options), or
  /// nothing if `g` is not an architecture of this space: what turns a genotype written by a
  /// search (a journal, rank-check.json) back into a sub-network of its supernet.
  std::optional<Choices> encode(const Genotype& g) const {
    require_resolutions();
    const auto index_of = [](const auto& options, const auto& value) {
      const auto it = std::find(options.begin(), options.end(), value);
      return it == options.end() ? -1 : static_cast<int>(it - options.begin());
    };
    const std::size_t first = fixed.size();
    if (g.blocks.size() < first) return std::nullopt;
    for (std::size_t r = 0; r < resolutions.size(); ++r) {
      if (resolutions[r] != g.input.h) continue;
      for (std::size_t w = 0; w < width_multipliers.size(); ++w) {
        Choices c;
        c.resolution = static_cast<int>(r), c.width = static_cast<int>(w);
        c.depth.assign(stages.size(), 0);
        c.blocks.resize(stages.size());
        for (std::size_t i = 0; i < stages.size(); ++i)
          c.blocks[i].assign(static_cast<std::size_t>(max_depth(stages[i])), BlockChoice{});
        // Stage by stage, every depth whose blocks match (stages of equal widths may share blocks
        // differently: the decode at the end decides).
        const auto fill = [&](const auto& self, std::size_t stage, std::size_t at) -> bool {
          if (stage == stages.size()) return at == g.blocks.size() && decode(c) == g;
          const StageSpace& s = stages[stage];
          for (std::size_t d = 0; d < s.depths.size(); ++d) {
            const auto depth = static_cast<std::size_t>(s.depths[d]);
            if (at + depth > g.blocks.size()) continue;
            bool match = true;
            for (std::size_t j = 0; j < depth && match; ++j) {
              const BlockGene& b = g.blocks[at + j];
              const int in = at + j == 0 ? g.stem.channels : g.blocks[at + j - 1].out;
              BlockChoice& bc = c.blocks[stage][j];
              bc.kernel = index_of(s.kernels, b.kernel);
              bc.expand = in > 0 && b.expanded % in == 0 ? index_of(s.expands, b.expanded / in) : -1;
              bc.se = index_of(s.se, b.se);
              bc.act = index_of(s.acts, b.act);
              match = bc.kernel >= 0 && bc.expand >= 0 && bc.se >= 0 && bc.act >= 0;
            }
            c.depth[stage] = static_cast<int>(d);
            if (match && self(self, stage + 1, at + depth)) return true;
            for (BlockChoice& bc : c.blocks[stage]) bc = BlockChoice{};
          }
          return false;
        };
        if (fill(fill, 0, first)) return c;
      }
    }
    return std::nullopt;
  }

  /// The architecture with every choice at its largest (deepest, widest, largest kernel, SE
  /// on, the last activation listed) and at its smallest (SE off, the first activation).
  Choices largest_choices() const { return extreme_choices(true); }
  Choices smallest_choices() const { return extreme_choices(false); }
  Choices extreme_choices(bool largest) const {
    require_resolutions();
    const auto best = [&](const auto& values) {
      int pick = 0;
      for (std::size_t i = 1; i < values.size(); ++i)
        if (largest ? values[i] > values[static_cast<std::size_t>(pick)] : values[i] < values[static_cast<std::size_t>(pick)])
          pick = static_cast<int>(i);
      return pick;
    };
    Choices c;
    c.resolution = best(resolutions);
    c.width = best(width_multipliers);
    for (const StageSpace& s : stages) {
      c.depth.push_back(best(s.depths));
      BlockChoice b;
      b.kernel = best(s.kernels);
      b.expand = best(s.expands);
      std::vector<int> se(s.se.begin(), s.se.end());
      b.se = best(se);
      b.act = largest ? static_cast<int>(s.acts.size()) - 1 : 0;
      c.blocks.emplace_back(static_cast<std::size_t>(SearchSpace::max_depth(s)), b);
    }
    return c;
  }

  /// A uniformly random architecture of the space.
  Genotype sample(Rng& rng) const { return decode(random_choices(rng)); }

  /// log10 of the number of distinct architectures.
  double log10_size() const {
    double total = std::log10(static_cast<double>(resolutions.size() * width_multipliers.size()));
    for (const StageSpace& s : stages) {
      const double per_block = std::log10(static_cast<double>(s.kernels.size() * s.expands.size() * s.se.size() * s.acts.size()));
      double sum = 0.0;  // Σ over depth choices of per_block^depth, in log space
      double max_term = -1e300;
      for (int d : s.depths) max_term = std::max(max_term, d * per_block);
      for (int d : s.depths) sum += std::pow(10.0, d * per_block - max_term);
      total += max_term + std::log10(sum);
    }
    return total;
  }
};

/// Every resolution must survive the strides and every architecture stay within the limits of
/// space/genes.hpp: validates the largest architecture (deepest, widest) at each resolution.
inline void validate_space(const SearchSpace& s) {
  for (std::size_t r = 0; r < s.resolutions.size(); ++r) {
    Choices largest = s.largest_choices();
    largest.resolution = static_cast<int>(r);
    validate(s.decode(largest));
  }
}

namespace spaces {

/// The Fashion-MNIST space: 28×28×1, four stages of MBConv blocks.
inline SearchSpace fmnist() {
  SearchSpace s;
  s.name = "fmnist";
  s.resolutions = {28};
  s.in_channels = 1;
  s.stem = {16, 3, 1, Activation::hswish};
  const std::vector<int> kernels{3, 5, 7}, expands{1, 3, 4, 6};
  const std::vector<bool> se{false, true};
  const std::vector<Activation> acts{Activation::relu, Activation::hswish};
  s.stages = {{{1, 2}, 16, 1, kernels, expands, se, acts},
              {{1, 2, 3}, 24, 2, kernels, expands, se, acts},
              {{1, 2, 3}, 40, 2, kernels, expands, se, acts},
              {{1, 2, 3}, 80, 1, kernels, expands, se, acts}};
  s.head = {128, Activation::hswish, 0, 10};
  return s;
}

/// Fashion-MNIST for microcontrollers: the stem halves the resolution to 14×14, so that a
/// network's float32 activations can fit a 64 KB static arena (one 28×28×16 tensor alone is
/// 50 KB). The first stage expands at most 3× for the same reason and the last stage is at
/// most 2 blocks deep (flash for float32 weights); `--arena-budget` and `--params-budget` pick
/// the rest. Used with the Cortex-M firmware example.
inline SearchSpace fmnist_mcu() {
  SearchSpace s = fmnist();
  s.name = "fmnist-mcu";
  s.stem.stride = 2;
  s.stages[0].expands = {1, 3};
  s.stages[3].depths = {1, 2};
  return s;
}

/// Once-for-All's MobileNetV3 space at 224×224: depth {2,3,4} × 5 stages, kernel {3,5,7},
/// expand {3,4,6}; SE and activations fixed per stage as in MobileNetV3-Large.
inline SearchSpace mobilenetv3() {
  SearchSpace s;
  s.name = "mobilenetv3";
  s.resolutions = {224};
  s.in_channels = 3;
  s.stem = {16, 3, 2, Activation::hswish};
  s.fixed = {{16, 16, 3, 1, false, Activation::relu}};
  const std::vector<int> depths{2, 3, 4}, kernels{3, 5, 7}, expands{3, 4, 6};
  const std::vector<Activation> relu{Activation::relu}, hswish{Activation::hswish};
  s.stages = {{depths, 24, 2, kernels, expands, {false}, relu},
              {depths, 40, 2, kernels, expands, {true}, relu},
              {depths, 80, 2, kernels, expands, {false}, hswish},
              {depths, 112, 1, kernels, expands, {true}, hswish},
              {depths, 160, 2, kernels, expands, {true}, hswish}};
  s.head = {960, Activation::hswish, 1280, 1000};
  return s;
}

/// Resolutions searched for images of `side` pixels: the side itself and, from 16 pixels up,
/// three quarters and seven eighths of it (multiples of 4), as elastic-resolution choices.
inline std::vector<int> resolutions_for(int side) {
  if (side < 16) return {side};
  std::vector<int> r;
  for (double f : {0.75, 0.875}) {
    const int v = std::max(4, static_cast<int>(std::lround(side * f / 4.0)) * 4);
    if (v < side && (r.empty() || v != r.back())) r.push_back(v);
  }
  r.push_back(side);
  return r;
}

/// A space that follows the data (`--space auto`): its resolutions (resolutions_for), input
/// channels and classes, and as many stride-2 steps as bring the image to 4 to 7 pixels
/// (28×28: 2, as the fmnist space; 96×96: 4; 224×224: 5; 8×8: 1). The stem halves the
/// resolution when three or more steps are needed (MobileNet's layout); the stages are
/// fmnist's, widths 16, 24, 40, 80, 112, 160, with a stride-1 stage after the last halving.
inline SearchSpace for_data(int height, int width, int channels, int classes) {
  const int side = std::min(height, width);
  EDGENAS_CHECK(side >= 1 && channels >= 1 && classes >= 2, Status::invalid_argument,
                "space for data of %dx%dx%d in %d classes", height, width, channels, classes);
  SearchSpace s = fmnist();
  s.name = "auto";
  s.resolutions = resolutions_for(side);
  s.in_channels = channels;
  const int halvings = std::clamp(static_cast<int>(std::floor(std::log2(side / 4.0))), 0, 5);
  s.stem.stride = halvings >= 3 ? 2 : 1;
  const int in_stages = halvings - (s.stem.stride == 2 ? 1 : 0);
  const StageSpace tmpl = s.stages[1];
  const int widths[] = {16, 24, 40, 80, 112, 160, 192};
  s.stages.assign(1, fmnist().stages[0]);
  for (int i = 0; i < in_stages; ++i) {
    StageSpace st = tmpl;
    st.out_channels = widths[i + 1];
    st.stride = 2;
    s.stages.push_back(st);
  }
  while (s.stages.size() < 4) {  // at least three stages after the first, the last at stride 1
    StageSpace st = tmpl;
    st.out_channels = widths[s.stages.size()];
    st.stride = 1;
    s.stages.push_back(st);
  }
  if (s.stages.back().stride == 2) {
    StageSpace st = tmpl;
    st.out_channels = widths[s.stages.size()];
    st.stride = 1;
    s.stages.push_back(st);
  }
  s.head.classes = classes;
  s.head.channels = std::max(128, make_divisible(classes));
  return s;
}

/// The built-in spaces, by the names the tool takes.
inline std::vector<SearchSpace> builtin() { return {fmnist(), fmnist_mcu(), mobilenetv3()}; }

/// `--space auto`: a placeholder (no stages) that a search replaces with for_data(its data).
inline SearchSpace from_data() {
  SearchSpace s;
  s.name = "auto";
  s.resolutions.clear();
  return s;
}

/// The built-in space called `name` ("auto": from_data()), if there is one.
inline std::optional<SearchSpace> named(std::string_view name) {
  if (name == "auto") return from_data();
  for (SearchSpace& s : builtin())
    if (s.name == name) return std::move(s);
  return std::nullopt;
}

}  // namespace spaces
}  // namespace edgenas
