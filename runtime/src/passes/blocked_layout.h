// Load-time pass: chooses which activations live in the channel-blocked layout
// ([image][channel block][pixel][16], simd::kChannelBlock) instead of planes. Runs after
// epilogue fusion, on the graph a session executes (never on a graph `edgert fold` writes).
#pragma once

#include <array>
#include <vector>

#include "edgert/graph.h"
#include "edgert/simd/kernels.h"

namespace edgert {

/// Node attribute the pass sets on a Conv or global pool: bit kLayoutInput when input 0 is blocked, bit
/// kLayoutOutput when output 0 (and a fused residual, input 3) is.
inline constexpr const char* kLayoutAttr = "_edgert_layout";
inline constexpr int kLayoutInput = 1, kLayoutOutput = 2;
/// Node attribute the pass sets on a Mul it blocks that scales a map's channels by a
/// [n, c or 1, 1, 1] gate (squeeze-and-excitation): the input (0 or 1) that is the map,
/// blocked in and out with the output (kLayoutInput | kLayoutOutput); the gate stays planes.
inline constexpr const char* kScaleInputAttr = "_edgert_scale_input";
/// Node attribute the pass sets to 1 on a Conv that suits Winograd but runs shifted when its
/// input is blocked (Winograd23::yields_to_shifted, decided here where map sizes are known).
inline constexpr const char* kShiftedAttr = "_edgert_shifted";
/// Node attribute the pass sets on a stride-1 3x3 without a fused residual whose output map
/// (known at load) and channels suit Winograd on blocks: the tile m of F(m x m, 3x3)
/// (WinogradNc16::tile_for, 4 or 2). ConvOp runs it so when its input and output are both
/// blocked (the pass then counts it as reading and writing blocks in place), otherwise as
/// before (F(2x2, 3x3) converting, shifted, or im2col).
inline constexpr const char* kWinogradNc16Attr = "_edgert_winograd_nc16";

/// The channel-blocked layout of a [n, c, spatial...] float tensor: [n][ceil(c / 16)][pixel][16],
/// the lanes past c in the last block of each image present but not part of the value.
inline constexpr std::size_t kBlock = simd::kChannelBlock;
/// Pixels per channel of a [n, c, spatial...] tensor.
inline std::size_t pixels_of(const Shape& s) {
  std::size_t p = 1;
  for (std::size_t i = 2; i < s.size(); ++i) p *= static_cast<std::size_t>(s[i]);
  return p;
}
/// Bytes of a [n, c, spatial...] float tensor in the blocked layout.
inline std::size_t blocked_bytes(const Shape& s) {
  const std::size_t c16 = (static_cast<std::size_t>(s[1]) + kBlock - 1) / kBlock * kBlock;
  return static_cast<std::size_t>(s[0]) * c16 * pixels_of(s) * sizeof(float);
}

/// A tensor is blocked when its producer is a Conv that can write it so (a 2-D convolution
/// with constant weights: pointwise, depthwise, or any other of one group, the 3x3s that run
/// Winograd converting) and every reader can read it so: input 0 of such a Conv (for a
/// pointwise or other non-depthwise, non-Winograd one only when its own output is blocked,
/// except a one-group Conv at stride 1 with whole input blocks and no fused residual, which
/// runs shifted and may write planes; a narrow 3x3 Winograd would take on planes runs so too,
/// see Winograd23::yields_to_shifted), the fused residual of such a Conv whose output is
/// blocked, or a GlobalAveragePool / GlobalMaxPool (which gets kLayoutInput and writes
/// planes). A Mul scaling a known map's channels by a gate of a 1x1 map (kScaleInputAttr)
/// carries the layout from its map input to its output. A 2-D MaxPool or AveragePool, an inference BatchNormalization
/// with constant parameters, and a channel Concat whose inputs but the last fill whole blocks carry the layout: blocked
/// in and out (both bits) when all their data inputs and their output can be. Graph outputs stay planes, and so does a
/// tensor only converting Convs would touch (no end reads or writes it in place). `isa` is the tier the model's kernels
/// run at (it moves the Winograd/shifted choice).
void choose_blocked_layout(Graph& g, simd::Isa isa);

/// What the pass knows of each value at load, per ValueId. `channels`: of the values Convs
/// write and the pools, BatchNormalizations and channel Concats make from them; `maps`:
/// height and width of the 4-D values whose spatial size follows from static graph input
/// shapes through Convs, pools and shape-preserving nodes. -1 (both -1) where not known.
struct KnownShapes {
  std::vector<std::int64_t> channels;
  std::vector<std::array<std::int64_t, 2>> maps;
};
KnownShapes known_shapes(const Graph& g);

}  // namespace edgert
