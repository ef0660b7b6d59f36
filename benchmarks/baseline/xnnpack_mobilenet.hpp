// A plain, hand-written XNNPACK subgraph of MobileNetV2-1.0, MobileNetV3-Small and
// MobileNetV3-Large (torchvision's definitions, 224×224×3, 1000 classes, random weights).
// No edgenas code: only XNNPACK, pthreadpool and the standard library, in the style of
// XNNPACK's own model builders — the baseline bench_zoo compares edgenas's runtime against.
#pragma once

#include <xnnpack.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace baseline {

enum class Act { relu, relu6, hswish };

struct Block {
  int in, expanded, out, kernel, stride;
  bool se;
  Act act;
};

struct Model {
  int stem;
  Act stem_act;
  std::vector<Block> blocks;
  int last_conv;
  int hidden;  // 0: none
};

inline Model mobilenet_v2() {
  Model m{32, Act::relu6, {}, 1280, 0};
  const int table[][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int in = 32;
  for (const auto& t : table)
    for (int i = 0; i < t[2]; ++i) {
      m.blocks.push_back({in, in * t[0], t[1], 3, i == 0 ? t[3] : 1, false, Act::relu6});
      in = t[1];
    }
  return m;
}

inline Model mobilenet_v3_small() {
  const Act R = Act::relu, H = Act::hswish;
  return {16, H,
          {{16, 16, 16, 3, 2, true, R}, {16, 72, 24, 3, 2, false, R}, {24, 88, 24, 3, 1, false, R},
           {24, 96, 40, 5, 2, true, H}, {40, 240, 40, 5, 1, true, H}, {40, 240, 40, 5, 1, true, H},
           {40, 120, 48, 5, 1, true, H}, {48, 144, 48, 5, 1, true, H}, {48, 288, 96, 5, 2, true, H},
           {96, 576, 96, 5, 1, true, H}, {96, 576, 96, 5, 1, true, H}},
          576, 1024};
}

inline Model mobilenet_v3_large() {
  const Act R = Act::relu, H = Act::hswish;
  return {16, H,
          {{16, 16, 16, 3, 1, false, R}, {16, 64, 24, 3, 2, false, R}, {24, 72, 24, 3, 1, false, R},
           {24, 72, 40, 5, 2, true, R}, {40, 120, 40, 5, 1, true, R}, {40, 120, 40, 5, 1, true, R},
           {40, 240, 80, 3, 2, false, H}, {80, 200, 80, 3, 1, false, H}, {80, 184, 80, 3, 1, false, H},
           {80, 184, 80, 3, 1, false, H}, {80, 480, 112, 3, 1, true, H}, {112, 672, 112, 3, 1, true, H},
           {112, 672, 160, 5, 2, true, H}, {160, 960, 160, 5, 1, true, H}, {160, 960, 160, 5, 1, true, H}},
          960, 1280};
}

class Network {
 public:
  explicit Network(const Model& model, pthreadpool_t pool = nullptr) : rng_(42) {
    if (xnn_initialize(nullptr) != xnn_status_success) throw std::runtime_error("xnn_initialize");
    ok(xnn_create_subgraph(2, 0, &subgraph_), "create_subgraph");
    input_.resize(224 * 224 * 3 + XNN_EXTRA_BYTES / sizeof(float));
    output_.resize(1000 + XNN_EXTRA_BYTES / sizeof(float));
    uint32_t x = value({1, 224, 224, 3}, nullptr, 0, XNN_VALUE_FLAG_EXTERNAL_INPUT);
    int h = 224, c = 3;
    x = conv(x, h, c, model.stem, 3, 2, 1, model.stem_act);
    h = (h + 1) / 2, c = model.stem;
    for (const Block& b : model.blocks) {
      uint32_t y = x;
      if (b.expanded != b.in) y = conv(y, h, b.in, b.expanded, 1, 1, 1, b.act);
      y = conv(y, h, b.expanded, b.expanded, b.kernel, b.stride, b.expanded, b.act);
      const int oh = (h + b.stride - 1) / b.stride;
      if (b.se) y = squeeze_excite(y, oh, b.expanded);
      y = conv(y, oh, b.expanded, b.out, 1, 1, 1, Act::relu, /*linear*/ true);
      if (b.stride == 1 && b.in == b.out) {
        const uint32_t sum = value({1, static_cast<size_t>(oh), static_cast<size_t>(oh), static_cast<size_t>(b.out)});
        ok(xnn_define_add2(subgraph_, -inf, inf, y, x, sum, 0), "add2");
        y = sum;
      }
      x = y, h = oh, c = b.out;
    }
    const Act head_act = model.hidden ? Act::hswish : Act::relu6;
    x = conv(x, h, c, model.last_conv, 1, 1, 1, head_act);
    const uint32_t pooled = value({1, 1, 1, static_cast<size_t>(model.last_conv)});
    ok(xnn_define_global_average_pooling_2d(subgraph_, -inf, inf, x, pooled, 0), "gap");
    int features = model.last_conv;
    x = pooled;
    if (model.hidden) {
      x = conv(x, 1, features, model.hidden, 1, 1, 1, Act::hswish);
      features = model.hidden;
    }
    const uint32_t logits = value({1, 1, 1, 1000}, nullptr, 1, XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
    conv(x, 1, features, 1000, 1, 1, 1, Act::relu, true, logits);
    ok(xnn_create_runtime_v2(subgraph_, pool, 0, &runtime_), "create_runtime");
    const xnn_external_value ext[] = {{0, input_.data()}, {1, output_.data()}};
    ok(xnn_setup_runtime(runtime_, 2, ext), "setup_runtime");
  }
  ~Network() {
    if (runtime_) xnn_delete_runtime(runtime_);
    if (subgraph_) xnn_delete_subgraph(subgraph_);
  }
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  void run() { ok(xnn_invoke_runtime(runtime_), "invoke"); }

 private:
  static constexpr float inf = std::numeric_limits<float>::infinity();

  static void ok(xnn_status s, const char* what) {
    if (s != xnn_status_success) throw std::runtime_error(std::string("baseline XNNPACK call failed: ") + what);
  }
  const float* random(size_t n) {
    auto& v = storage_.emplace_back(n);
    std::uniform_real_distribution<float> d(-0.1f, 0.1f);
    for (float& x : v) x = d(rng_);
    return v.data();
  }
  uint32_t value(std::vector<size_t> dims, const float* data = nullptr, uint32_t id = XNN_INVALID_VALUE_ID,
                 uint32_t flags = 0) {
    uint32_t out = 0;
    ok(xnn_define_tensor_value(subgraph_, xnn_datatype_fp32, dims.size(), dims.data(), data, id, flags, &out), "tensor");
    return out;
  }
  // k×k convolution with symmetric padding k/2 (groups == in: depthwise) + activation.
  uint32_t conv(uint32_t x, int h, int in, int out, int k, int s, int groups, Act act, bool linear = false,
                uint32_t external = XNN_INVALID_VALUE_ID) {
    const int oh = (h + s - 1) / s;
    const bool dw = groups > 1;
    const uint32_t w = dw ? value({1, size_t(k), size_t(k), size_t(in)}, random(size_t(k * k * in)))
                          : value({size_t(out), size_t(k), size_t(k), size_t(in)}, random(size_t(out * k * k * in)));
    const uint32_t b = value({size_t(out)}, random(size_t(out)));
    const float lo = linear ? -inf : act == Act::hswish ? -inf : 0.0f;
    const float hi = linear ? inf : act == Act::relu6 ? 6.0f : inf;
    const bool hswish = !linear && act == Act::hswish;
    const uint32_t y = external != XNN_INVALID_VALUE_ID && !hswish ? external : value({1, size_t(oh), size_t(oh), size_t(out)});
    const auto p = static_cast<uint32_t>(k / 2);
    if (dw)
      ok(xnn_define_depthwise_convolution_2d(subgraph_, p, p, p, p, uint32_t(k), uint32_t(k), uint32_t(s), uint32_t(s), 1, 1,
                                             1, size_t(in), lo, hi, x, w, b, y, 0),
         "depthwise");
    else
      ok(xnn_define_convolution_2d(subgraph_, p, p, p, p, uint32_t(k), uint32_t(k), uint32_t(s), uint32_t(s), 1, 1, 1,
                                   size_t(in), size_t(out), lo, hi, x, w, b, y, 0),
         "convolution");
    if (!hswish) return y;
    const uint32_t z = external != XNN_INVALID_VALUE_ID ? external : value({1, size_t(oh), size_t(oh), size_t(out)});
    ok(xnn_define_hardswish(subgraph_, y, z, 0), "hardswish");
    return z;
  }
  // pool → 1×1 conv + ReLU → 1×1 conv → h-sigmoid as (x + 3) clamped to [0, 6] times 1/6 → scale.
  uint32_t squeeze_excite(uint32_t x, int h, int c) {
    const int r = std::max(8, (c / 4 + 4) / 8 * 8 + ((c / 4 + 4) / 8 * 8 * 10 < (c / 4) * 9 ? 8 : 0));
    const uint32_t pooled = value({1, 1, 1, size_t(c)});
    ok(xnn_define_global_average_pooling_2d(subgraph_, -inf, inf, x, pooled, 0), "se pool");
    const uint32_t hidden = conv(pooled, 1, c, r, 1, 1, 1, Act::relu);
    const uint32_t pre = conv(hidden, 1, r, c, 1, 1, 1, Act::relu, true);
    static const float three = 3.0f, sixth = 1.0f / 6.0f;
    const uint32_t t = value({1}, &three), k = value({1}, &sixth);
    const uint32_t shifted = value({1, 1, 1, size_t(c)}), gate = value({1, 1, 1, size_t(c)});
    ok(xnn_define_add2(subgraph_, 0.0f, 6.0f, pre, t, shifted, 0), "se add3 clamp");
    ok(xnn_define_multiply2(subgraph_, -inf, inf, shifted, k, gate, 0), "se div6");
    const uint32_t y = value({1, size_t(h), size_t(h), size_t(c)});
    ok(xnn_define_multiply2(subgraph_, -inf, inf, x, gate, y, 0), "se scale");
    return y;
  }

  std::mt19937 rng_;
  xnn_subgraph_t subgraph_ = nullptr;
  xnn_runtime_t runtime_ = nullptr;
  std::vector<std::vector<float>> storage_;
  std::vector<float> input_, output_;
};

}  // namespace baseline
