// edgenas/blocks/network.hpp — networks as types.
//
//   using Net = edgenas::Sequential<
//       edgenas::Input<28, 28, 1>,
//       edgenas::Stem<16, 3, 1, edgenas::HSwish>,
//       edgenas::MBConv<16, 24, edgenas::Expand<4>, edgenas::Kernel<5>, edgenas::Stride<2>,
//                       edgenas::SE<4>, edgenas::HSwish>,
//       edgenas::Head<128, 10, edgenas::HSwish>>;
//   static_assert(Net::output_shape == edgenas::Shape{1, 1, 1, 10});
//   static_assert(Net::peak_activation_bytes <= 64 * 1024);
//
// Each block type only produces a gene (space/genes.hpp); Sequential collects them into
// constexpr arrays and every figure comes from the constexpr cost functions (space/cost.hpp)
// that genotypes use too. genotype_of<Net>() (space/genotype.hpp) gives the run-time value.
#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <utility>

#include "edgenas/blocks/options.hpp"
#include "edgenas/quant/footprint.hpp"
#include "edgenas/space/cost.hpp"
#include "edgenas/space/genes.hpp"

namespace edgenas {

/// The network's input image: height, width, channels.
template <int H, int W, int C>
struct Input {
  static_assert(H >= 1 && W >= 1 && C >= 1, "edgenas: Input<H, W, C> needs positive dimensions");
  static constexpr Shape shape{1, H, W, C};
};

/// Full k×k convolution + batch norm + activation.
template <int Channels, int KernelSize, int StrideSize, detail::ActivationTag Act>
struct Stem {
  static_assert(Channels >= 1, "edgenas: Stem needs at least one output channel");
  static_assert(KernelSize >= 1 && KernelSize <= 7 && KernelSize % 2 == 1, "edgenas: Stem kernel must be 1, 3, 5 or 7");
  static_assert(StrideSize == 1 || StrideSize == 2, "edgenas: Stem stride must be 1 or 2");
  static constexpr StemGene gene{Channels, KernelSize, StrideSize, Act::activation};
};

/// Inverted residual block: [1×1 expand + BN + act] → depthwise k×k + BN + act → [SE] →
/// 1×1 project + BN → [+ input when stride 1 and In == Out]. Options in any order; defaults
/// Expand<1>, Kernel<3>, Stride<1>, no SE, ReLU.
template <int In, int Out, detail::MBConvOption... Options>
struct MBConv {
  static_assert(In >= 1 && Out >= 1, "edgenas: MBConv<In, Out, ...> needs positive channel counts");

 private:
  static constexpr BlockGene make() {
    BlockGene g{Out, In, 3, 1, false, Activation::relu};
    (
        [&] {
          if constexpr (requires { Options::expand_ratio; }) g.expanded = In * Options::expand_ratio;
          if constexpr (requires { Options::expand_to; }) g.expanded = Options::expand_to;
          if constexpr (requires { Options::kernel; }) g.kernel = Options::kernel;
          if constexpr (requires { Options::stride; }) g.stride = Options::stride;
          if constexpr (requires { Options::se; }) g.se = true;
          if constexpr (requires { Options::activation; }) g.act = Options::activation;
        }(),
        ...);
    return g;
  }

 public:
  static constexpr int in_channels = In;
  static constexpr BlockGene gene = make();
  static_assert(gene.expanded >= In, "edgenas: MBConv ExpandTo<C> must not be smaller than the input channels");
};

/// 1×1 conv + BN + act → global average pool → [FC Hidden + act] → FC Classes.
template <int Channels, int Classes, detail::ActivationTag Act = HSwish, int Hidden = 0>
struct Head {
  static_assert(Channels >= 1 && Hidden >= 0, "edgenas: Head needs positive channels and Hidden >= 0");
  static_assert(Classes >= 2, "edgenas: Head needs at least two classes");
  static constexpr HeadGene gene{Channels, Act::activation, Hidden, Classes};
};

namespace detail {

// An error here means: block `BlockIndex` (0 = first MBConv after the stem) declares
// `BlockInChannels` input channels, but the block before it produces `PreviousOutChannels`.
template <std::size_t BlockIndex, int PreviousOutChannels, int BlockInChannels>
constexpr bool mbconv_input_channels_match_previous_output() {
  static_assert(PreviousOutChannels == BlockInChannels,
                "edgenas: channel mismatch between consecutive blocks — MBConv number BlockIndex expects "
                "BlockInChannels input channels but the previous block (the Stem for block 0) outputs "
                "PreviousOutChannels (values in the 'required from' line above)");
  return true;
}

template <typename... Blocks>
struct SequentialParts {
  using Tuple = std::tuple<Blocks...>;
  static constexpr std::size_t count = sizeof...(Blocks);
  static_assert(count >= 3, "edgenas: Sequential needs at least Input<...>, Stem<...> and Head<...>");
  using InputT = std::tuple_element_t<0, Tuple>;
  using StemT = std::tuple_element_t<1, Tuple>;
  using HeadT = std::tuple_element_t<count - 1, Tuple>;
  static_assert(requires { InputT::shape; }, "edgenas: the first element of Sequential must be Input<H, W, C>");
  static_assert(requires { StemT::gene.channels; StemT::gene.kernel; }, "edgenas: the second element of Sequential must be a Stem<...>");
  static_assert(requires { HeadT::gene.classes; }, "edgenas: the last element of Sequential must be a Head<...>");
  static constexpr std::size_t block_count = count - 3;

  template <std::size_t I>
  using BlockT = std::tuple_element_t<I + 2, Tuple>;

  template <std::size_t... I>
  static constexpr std::array<BlockGene, block_count> genes(std::index_sequence<I...>) {
    static_assert((requires { BlockT<I>::in_channels; } && ...),
                  "edgenas: every element between the Stem and the Head must be an MBConv<...>");
    return {BlockT<I>::gene...};
  }
  template <std::size_t I>
  static constexpr int out_before() {
    if constexpr (I == 0) return StemT::gene.channels;
    else return BlockT<I - 1>::gene.out;
  }
  template <std::size_t... I>
  static constexpr bool chain_ok(std::index_sequence<I...>) {
    return (mbconv_input_channels_match_previous_output<I, out_before<I>(), BlockT<I>::in_channels>() && ...);
  }
};

}  // namespace detail

template <typename... Blocks>
struct Sequential {
 private:
  using Parts = detail::SequentialParts<Blocks...>;
  static_assert(Parts::chain_ok(std::make_index_sequence<Parts::block_count>{}));

 public:
  static constexpr std::array<BlockGene, Parts::block_count> block_genes =
      Parts::genes(std::make_index_sequence<Parts::block_count>{});
  static constexpr NetworkView view{Parts::InputT::shape, Parts::StemT::gene, block_genes, Parts::HeadT::gene};

  static constexpr Shape input_shape = Parts::InputT::shape;
  static constexpr Shape output_shape = edgenas::output_shape(view);
  static constexpr std::int64_t parameters = parameter_count(view);
  static constexpr std::int64_t macs = mac_count(view);
  /// Bytes of the one static activation arena inference needs (float32, batch 1).
  static constexpr std::int64_t peak_activation_bytes = edgenas::peak_activation_bytes(view);
  static constexpr std::int64_t arena_bytes = peak_activation_bytes;
  /// Floats of BN-folded inference weights (train::Network::inference_weights(), model files).
  static constexpr std::int64_t weight_count = inference_weight_count(view);
  /// The same per precision (quant/footprint.hpp): the static arena, input and output included,
  /// and the flash of weights and per-layer constants; int8 as `edgenas export --precision int8`
  /// lays it out (int8_arena_bytes is the exported header's arena_bytes).
  static constexpr std::int64_t int8_arena_bytes = edgenas::arena_bytes(view, Precision::int8);
  static constexpr std::int64_t flash_bytes = edgenas::flash_bytes(view, Precision::fp32);
  static constexpr std::int64_t int8_flash_bytes = edgenas::flash_bytes(view, Precision::int8);
};

}  // namespace edgenas
