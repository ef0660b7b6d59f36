// edgenas/train/supernet.hpp — one set of weights from which every architecture of a search
// space is a sub-network (Once-for-All).
//
// Each position of the space (stem, fixed block, stage s block j, head) owns tensors of the
// largest shape any architecture needs there. A sub-network takes:
//   - width (elastic expand, width multiplier): the leading channels of every axis;
//   - depth: the first d blocks of each stage;
//   - kernel: the centre k×k of the largest depthwise kernel, passed through a learned k²×k²
//     transformation per step down (7→5, 5→3; identity at the start, shared by the channels).
// Training never runs the shared tensors directly: extract() copies a sub-network's slice into
// an ordinary train::Network, which trains with the tested kernels, and accumulate_gradients()
// adds its gradients back into the shared tensors (the adjoint of the slice and of the kernel
// transformations). Copying costs a few hundred thousand floats per step, against the tens of
// millions of multiply-adds of the step itself.
#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "edgenas/space/search_space.hpp"
#include "edgenas/space/space_json.hpp"
#include "edgenas/train/network.hpp"
#include "edgenas/train/optimizer.hpp"

namespace edgenas::train {

class Supernet {
 public:
  explicit Supernet(SearchSpace space, std::uint64_t seed = 1) : space_(std::move(space)) {
    EDGENAS_CHECK(!space_.stages.empty(), Status::invalid_argument, "Supernet: space %s has no stages", space_.name.c_str());
    const auto widest = [&](int channels) {
      int m = 0;
      for (double w : space_.width_multipliers) m = std::max(m, SearchSpace::scaled(channels, w));
      return m;
    };
    Rng rng(seed);
    stem_ = conv("stem", {widest(space_.stem.channels), space_.stem.kernel, space_.stem.kernel, space_.in_channels}, rng);
    int in = widest(space_.stem.channels);
    for (std::size_t i = 0; i < space_.fixed.size(); ++i) {
      const BlockGene& b = space_.fixed[i];
      const int ratio = std::max(1, b.expanded / std::max(1, b.out));
      fixed_.push_back(block("fixed" + std::to_string(i), in, widest(b.out), in * ratio, {b.kernel}, b.se, rng));
      in = widest(b.out);
    }
    for (std::size_t s = 0; s < space_.stages.size(); ++s) {
      const StageSpace& st = space_.stages[s];
      const int out = widest(st.out_channels);
      const int expand = *std::max_element(st.expands.begin(), st.expands.end());
      const bool se = std::find(st.se.begin(), st.se.end(), true) != st.se.end();
      std::vector<int> kernels = st.kernels;
      std::sort(kernels.begin(), kernels.end());
      kernels.erase(std::unique(kernels.begin(), kernels.end()), kernels.end());
      stages_.emplace_back();
      for (int j = 0; j < SearchSpace::max_depth(st); ++j) {
        const int block_in = j == 0 ? in : out;
        stages_.back().push_back(block("s" + std::to_string(s) + ".b" + std::to_string(j), block_in, out,
                                       block_in * expand, kernels, se, rng));
      }
      in = out;
    }
    head_ = conv("head.conv", {space_.head.channels, 1, 1, in}, rng);
    int features = space_.head.channels;
    if (space_.head.hidden > 0) {
      hidden_w_ = tensor("head.hidden.weight", {space_.head.hidden, space_.head.channels}, true);
      hidden_b_ = tensor("head.hidden.bias", {space_.head.hidden}, false);
      tensors_[static_cast<std::size_t>(hidden_w_)].param.kaiming_normal(space_.head.hidden, rng);
      features = space_.head.hidden;
    }
    classifier_w_ = tensor("head.classifier.weight", {space_.head.classes, features}, true);
    classifier_b_ = tensor("head.classifier.bias", {space_.head.classes}, false);
    tensors_[static_cast<std::size_t>(classifier_w_)].param.normal(0.01f, rng);
  }

  Supernet(const Supernet&) = delete;
  Supernet& operator=(const Supernet&) = delete;

  const SearchSpace& space() const noexcept { return space_; }
  /// What a checkpoint of this supernet must match: the space, as JSON.
  std::string identity() const { return json::dump(to_json(space_)); }

  std::vector<Parameter*> parameters() {
    std::vector<Parameter*> p;
    for (auto& t : tensors_) p.push_back(&t.param);
    return p;
  }
  std::int64_t parameter_count() const {
    std::int64_t n = 0;
    for (const auto& t : tensors_) n += static_cast<std::int64_t>(t.param.size());
    return n;
  }
  void zero_grad() {
    for (auto& t : tensors_) t.param.zero_grad();
  }

  Choices largest() const { return space_.largest_choices(); }
  Choices smallest() const { return space_.smallest_choices(); }

  /// Copies the sub-network's weights into `net` (built from space().decode(c)).
  void extract(const Choices& c, Network& net) const {
    const auto plan = plan_for(c, net);
    const auto& params = net.parameters();
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const Slice& s = plan[i];
      const SharedTensor& t = tensors_[static_cast<std::size_t>(s.tensor)];
      if (s.block && s.dims[0] != t.dims[0]) {
        KernelChain chain = kernel_chain(*s.block, t, s.dims);
        params[i]->value = std::move(chain.levels.back());
      } else {
        for_each_row(t.dims, s.dims, [&](std::int64_t big, std::int64_t small, int n) {
          std::copy_n(t.param.value.data() + big, n, params[i]->value.data() + small);
        });
      }
    }
  }

  /// Adds the gradients of `net` (a sub-network built for `c`) into the shared gradients.
  void accumulate_gradients(const Choices& c, Network& net) {
    const auto plan = plan_for(c, net);
    const auto& params = net.parameters();
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const Slice& s = plan[i];
      SharedTensor& t = tensors_[static_cast<std::size_t>(s.tensor)];
      if (s.block && s.dims[0] != t.dims[0]) {
        kernel_chain_backward(*s.block, t, s.dims, params[i]->grad);
      } else {
        for_each_row(t.dims, s.dims, [&](std::int64_t big, std::int64_t small, int n) {
          float* g = t.param.grad.data() + big;
          const float* d = params[i]->grad.data() + small;
          for (int k = 0; k < n; ++k) g[k] += d[k];
        });
      }
    }
  }

  /// Once-for-All's channel sorting: every block's expanded channels are reordered by
  /// importance (L1 norm of their column of the projection weights), most important first, so
  /// narrower sub-networks keep the channels that matter most. The largest network computes
  /// exactly the same function afterwards. Optimizer state is permuted with the weights.
  void sort_expanded_channels(Optimizer* optimizer = nullptr) {
    const auto sort_block = [&](const BlockSlot& b) {
      if (b.expand.weight < 0) return;  // the hidden channels are the block's input channels
      const SharedTensor& project = tensors_[static_cast<std::size_t>(b.project.weight)];
      const int out = project.dims[0], hidden = project.dims[1];
      std::vector<double> importance(static_cast<std::size_t>(hidden), 0.0);
      for (int o = 0; o < out; ++o)
        for (int h = 0; h < hidden; ++h)
          importance[static_cast<std::size_t>(h)] += std::abs(project.param.value[static_cast<std::size_t>(o) * hidden + h]);
      std::vector<int> order(static_cast<std::size_t>(hidden));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int c) {
        return importance[static_cast<std::size_t>(a)] > importance[static_cast<std::size_t>(c)];
      });
      const auto apply = [&](int index, std::size_t axis) {
        if (index < 0) return;
        permute(index, axis, order, optimizer);
      };
      apply(b.expand.weight, 0);
      apply(b.expand.gamma, 0);
      apply(b.expand.beta, 0);
      apply(b.dw.weight, 2);
      apply(b.dw.gamma, 0);
      apply(b.dw.beta, 0);
      apply(b.se_w1, 1);
      apply(b.se_w2, 0);
      apply(b.se_b2, 0);
      apply(b.project.weight, 1);
    };
    for (const BlockSlot& b : fixed_) sort_block(b);
    for (const auto& stage : stages_)
      for (const BlockSlot& b : stage) sort_block(b);
  }

 private:
  struct SharedTensor {
    Parameter param;
    std::vector<int> dims;
  };
  struct ConvSlot {
    int weight = -1, gamma = -1, beta = -1;
  };
  struct BlockSlot {
    ConvSlot expand, dw, project;
    int se_w1 = -1, se_b1 = -1, se_w2 = -1, se_b2 = -1;
    std::vector<int> kernels;     // ascending; the depthwise tensor stores the last
    std::vector<int> transforms;  // transforms[i] maps kernels[i + 1] to kernels[i]
  };
  /// Where one parameter of a sub-network comes from: the leading `dims` of a shared tensor
  /// (through the kernel transformations when `block` is set and the kernel is smaller).
  struct Slice {
    int tensor;
    std::vector<int> dims;
    const BlockSlot* block = nullptr;
  };

  static std::int64_t volume(const std::vector<int>& dims) {
    std::int64_t n = 1;
    for (int d : dims) n *= d;
    return n;
  }

  int tensor(std::string name, std::vector<int> dims, bool decay) {
    SharedTensor t{Parameter(std::move(name), static_cast<std::size_t>(volume(dims)), decay), std::move(dims)};
    tensors_.push_back(std::move(t));
    return static_cast<int>(tensors_.size() - 1);
  }

  /// weight dims: [out, k, k, in] full conv, [out, 1, 1, in] pointwise, [k, k, C] depthwise.
  ConvSlot conv(const std::string& name, std::vector<int> dims, Rng& rng, bool depthwise = false) {
    ConvSlot s;
    const int out = depthwise ? dims[2] : dims[0];
    const int fan_out = depthwise ? dims[0] * dims[1] : dims[0] * dims[1] * dims[2];
    if (!depthwise && dims[1] == 1) dims = {dims[0], dims[3]};  // pointwise: [out, in]
    s.weight = tensor(name + ".weight", std::move(dims), true);
    tensors_[static_cast<std::size_t>(s.weight)].param.kaiming_normal(fan_out, rng);
    s.gamma = tensor(name + ".bn.gamma", {out}, false);
    s.beta = tensor(name + ".bn.beta", {out}, false);
    tensors_[static_cast<std::size_t>(s.gamma)].param.fill(1.0f);
    return s;
  }

  BlockSlot block(const std::string& name, int in, int out, int expanded, std::vector<int> kernels, bool se, Rng& rng) {
    BlockSlot b;
    if (expanded != in) b.expand = conv(name + ".expand", {expanded, 1, 1, in}, rng);
    const int k = kernels.back();
    b.dw = conv(name + ".depthwise", {k, k, expanded}, rng, true);
    if (se) {
      const int reduced = se_reduced_channels(expanded);
      b.se_w1 = tensor(name + ".se.reduce.weight", {reduced, expanded}, true);
      b.se_b1 = tensor(name + ".se.reduce.bias", {reduced}, false);
      b.se_w2 = tensor(name + ".se.expand.weight", {expanded, reduced}, true);
      b.se_b2 = tensor(name + ".se.expand.bias", {expanded}, false);
      tensors_[static_cast<std::size_t>(b.se_w1)].param.kaiming_normal(reduced, rng);
      tensors_[static_cast<std::size_t>(b.se_w2)].param.kaiming_normal(expanded, rng);
    }
    b.project = conv(name + ".project", {out, 1, 1, expanded}, rng);
    for (std::size_t i = 0; i + 1 < kernels.size(); ++i) {
      const int n = kernels[i] * kernels[i];
      const int t = tensor(name + ".depthwise.transform" + std::to_string(kernels[i + 1]) + "to" + std::to_string(kernels[i]),
                           {n, n}, false);
      for (int d = 0; d < n; ++d) tensors_[static_cast<std::size_t>(t)].param.value[static_cast<std::size_t>(d) * n + d] = 1.0f;
      b.transforms.push_back(t);
    }
    b.kernels = std::move(kernels);
    return b;
  }

  /// One Slice per parameter of the sub-network, in Network::parameters() order.
  std::vector<Slice> plan_for(const Choices& c, Network& net) const {
    // Not decoded again (the caller has): a network of other choices fails the block count
    // here or a tensor fit below.
    const Genotype& g = net.genotype();
    std::size_t blocks = fixed_.size();
    for (std::size_t s = 0; s < stages_.size() && s < c.depth.size(); ++s)
      blocks += static_cast<std::size_t>(space_.stages[s].depths.at(static_cast<std::size_t>(c.depth[s])));
    EDGENAS_CHECK(c.depth.size() == stages_.size() && blocks == g.blocks.size(), Status::invalid_argument,
                  "Supernet: the network \"%s\" is not the sub-network these choices describe (%zu blocks, choices "
                  "give %zu)", to_string(g).c_str(), g.blocks.size(), blocks);
    std::vector<Slice> plan;
    const auto add_conv = [&](const ConvSlot& s, std::vector<int> weight_dims, int out, const BlockSlot* block = nullptr) {
      plan.push_back({s.weight, std::move(weight_dims), block});
      plan.push_back({s.gamma, {out}});
      plan.push_back({s.beta, {out}});
    };
    add_conv(stem_, {g.stem.channels, g.stem.kernel, g.stem.kernel, g.input.c}, g.stem.channels);
    int in = g.stem.channels;
    std::vector<const BlockSlot*> slots;
    for (const BlockSlot& b : fixed_) slots.push_back(&b);
    for (std::size_t s = 0; s < stages_.size(); ++s)
      for (int j = 0; j < space_.stages[s].depths.at(static_cast<std::size_t>(c.depth[s])); ++j)
        slots.push_back(&stages_[s][static_cast<std::size_t>(j)]);
    for (std::size_t i = 0; i < g.blocks.size(); ++i) {
      const BlockGene& b = g.blocks[i];
      const BlockSlot& slot = *slots.at(i);
      if (b.expanded != in) add_conv(slot.expand, {b.expanded, in}, b.expanded);
      EDGENAS_CHECK(std::find(slot.kernels.begin(), slot.kernels.end(), b.kernel) != slot.kernels.end(),
                    Status::invalid_argument, "Supernet: block %zu has kernel %d, not one of the space's", i, b.kernel);
      add_conv(slot.dw, {b.kernel, b.kernel, b.expanded}, b.expanded, &slot);
      if (b.se) {
        const int r = se_reduced_channels(b.expanded);
        plan.push_back({slot.se_w1, {r, b.expanded}});
        plan.push_back({slot.se_b1, {r}});
        plan.push_back({slot.se_w2, {b.expanded, r}});
        plan.push_back({slot.se_b2, {b.expanded}});
      }
      add_conv(slot.project, {b.out, b.expanded}, b.out);
      in = b.out;
    }
    add_conv(head_, {g.head.channels, in}, g.head.channels);
    if (g.head.hidden > 0) {
      plan.push_back({hidden_w_, {g.head.hidden, g.head.channels}});
      plan.push_back({hidden_b_, {g.head.hidden}});
    }
    const int features = g.head.hidden > 0 ? g.head.hidden : g.head.channels;
    plan.push_back({classifier_w_, {g.head.classes, features}});
    plan.push_back({classifier_b_, {g.head.classes}});

    const auto& params = net.parameters();
    EDGENAS_CHECK(plan.size() == params.size(), Status::invalid_argument,
                  "Supernet: %zu parameters planned, the network has %zu", plan.size(), params.size());
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const SharedTensor& t = tensors_[static_cast<std::size_t>(plan[i].tensor)];
      bool fits = plan[i].dims.size() == t.dims.size();
      for (std::size_t d = 0; fits && d < t.dims.size(); ++d) fits = plan[i].dims[d] <= t.dims[d];
      EDGENAS_CHECK(fits && volume(plan[i].dims) == static_cast<std::int64_t>(params[i]->size()), Status::invalid_argument,
                    "Supernet: parameter %s does not fit the shared tensor %s", params[i]->name.c_str(),
                    t.param.name.c_str());
    }
    return plan;
  }

  /// f(offset in the big tensor, offset in the small one, row length) for every innermost row
  /// of the leading `small` block of a row-major `big` tensor.
  template <typename F>
  static void for_each_row(const std::vector<int>& big, const std::vector<int>& small, F&& f) {
    const std::size_t r = big.size();
    const int row = small[r - 1];
    std::int64_t rows = 1;
    for (std::size_t d = 0; d + 1 < r; ++d) rows *= small[d];
    std::array<int, 4> idx{};  // tensors have rank 1 to 4
    for (std::int64_t k = 0; k < rows; ++k) {
      std::int64_t offset = 0;
      for (std::size_t d = 0; d < r; ++d) offset = offset * big[d] + idx[d];
      f(offset, k * row, row);
      for (std::size_t d = r - 1; d-- > 0;) {  // next row index, last-but-one axis fastest
        if (++idx[d] < small[d]) break;
        idx[d] = 0;
      }
    }
  }

  /// Depthwise kernels from the stored size down to the requested one, [k·k, C] each, with
  /// the centre crop taken at every step (kept for the backward pass).
  struct KernelChain {
    std::vector<std::vector<float>> levels, crops;
    std::vector<std::size_t> steps;  // index into the block's transforms, largest first
  };

  static std::vector<float> centre_crop(const std::vector<float>& w, int from, int to, int C) {
    std::vector<float> out(static_cast<std::size_t>(to) * to * C);
    const int off = (from - to) / 2;
    for (int y = 0; y < to; ++y)
      for (int x = 0; x < to; ++x)
        std::copy_n(w.data() + (static_cast<std::size_t>(y + off) * from + x + off) * C, C,
                    out.data() + (static_cast<std::size_t>(y) * to + x) * C);
    return out;
  }

  KernelChain kernel_chain(const BlockSlot& b, const SharedTensor& t, const std::vector<int>& dims) const {
    const int C = dims[2], target = dims[0];
    KernelChain chain;
    std::vector<float> top(static_cast<std::size_t>(t.dims[0]) * t.dims[1] * C);
    for_each_row(t.dims, {t.dims[0], t.dims[1], C}, [&](std::int64_t big, std::int64_t small, int n) {
      std::copy_n(t.param.value.data() + big, n, top.data() + small);
    });
    chain.levels.push_back(std::move(top));
    for (std::size_t i = b.kernels.size() - 1; b.kernels[i] > target; --i) {
      const int from = b.kernels[i], to = b.kernels[i - 1], n = to * to;
      chain.crops.push_back(centre_crop(chain.levels.back(), from, to, C));
      const std::vector<float>& crop = chain.crops.back();
      const std::vector<float>& T = tensors_[static_cast<std::size_t>(b.transforms[i - 1])].param.value;
      std::vector<float> out(static_cast<std::size_t>(n) * C, 0.0f);
      for (int p = 0; p < n; ++p)
        for (int q = 0; q < n; ++q) {
          const float a = T[static_cast<std::size_t>(p) * n + q];
          const float* src = crop.data() + static_cast<std::size_t>(q) * C;
          float* dst = out.data() + static_cast<std::size_t>(p) * C;
          for (int c = 0; c < C; ++c) dst[c] += a * src[c];
        }
      chain.levels.push_back(std::move(out));
      chain.steps.push_back(i - 1);
    }
    return chain;
  }

  void kernel_chain_backward(const BlockSlot& b, SharedTensor& t, const std::vector<int>& dims,
                             const std::vector<float>& grad) {
    const int C = dims[2];
    const KernelChain chain = kernel_chain(b, t, dims);
    std::vector<float> g = grad;
    for (std::size_t s = chain.steps.size(); s-- > 0;) {
      const std::size_t i = chain.steps[s];
      const int from = b.kernels[i + 1], to = b.kernels[i], n = to * to, off = (from - to) / 2;
      Parameter& T = tensors_[static_cast<std::size_t>(b.transforms[i])].param;
      const std::vector<float>& crop = chain.crops[s];
      std::vector<float> g_crop(static_cast<std::size_t>(n) * C, 0.0f);
      for (int p = 0; p < n; ++p)
        for (int q = 0; q < n; ++q) {
          const float* gp = g.data() + static_cast<std::size_t>(p) * C;
          const float* cq = crop.data() + static_cast<std::size_t>(q) * C;
          float* gq = g_crop.data() + static_cast<std::size_t>(q) * C;
          const float a = T.value[static_cast<std::size_t>(p) * n + q];
          double dT = 0.0;
          for (int c = 0; c < C; ++c) {
            dT += double{gp[c]} * cq[c];
            gq[c] += a * gp[c];
          }
          T.grad[static_cast<std::size_t>(p) * n + q] += static_cast<float>(dT);
        }
      std::vector<float> g_from(static_cast<std::size_t>(from) * from * C, 0.0f);
      for (int y = 0; y < to; ++y)
        for (int x = 0; x < to; ++x)
          std::copy_n(g_crop.data() + (static_cast<std::size_t>(y) * to + x) * C, C,
                      g_from.data() + (static_cast<std::size_t>(y + off) * from + x + off) * C);
      g = std::move(g_from);
    }
    for_each_row(t.dims, {t.dims[0], t.dims[1], C}, [&](std::int64_t big, std::int64_t small, int n) {
      for (int k = 0; k < n; ++k) t.param.grad[static_cast<std::size_t>(big + k)] += g[static_cast<std::size_t>(small + k)];
    });
  }

  /// Reorders tensor `index` along `axis` (new position i takes old position order[i]), and
  /// its optimizer state with it.
  void permute(int index, std::size_t axis, const std::vector<int>& order, Optimizer* optimizer) {
    SharedTensor& t = tensors_[static_cast<std::size_t>(index)];
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < axis; ++d) outer *= t.dims[d];
    for (std::size_t d = axis + 1; d < t.dims.size(); ++d) inner *= t.dims[d];
    const auto n = static_cast<std::int64_t>(order.size());
    const auto reorder = [&](std::vector<float>& v) {
      const std::vector<float> old = v;
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < n; ++i)
          std::copy_n(old.data() + (o * n + order[static_cast<std::size_t>(i)]) * inner, inner,
                      v.data() + (o * n + i) * inner);
    };
    reorder(t.param.value);
    if (optimizer)
      for (std::vector<float>* s : optimizer->state_of(static_cast<std::size_t>(index))) reorder(*s);
  }

  SearchSpace space_;
  std::vector<SharedTensor> tensors_;
  ConvSlot stem_, head_;
  std::vector<BlockSlot> fixed_;
  std::vector<std::vector<BlockSlot>> stages_;
  int hidden_w_ = -1, hidden_b_ = -1, classifier_w_ = -1, classifier_b_ = -1;
};

}  // namespace edgenas::train
