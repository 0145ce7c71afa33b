// Load-time pass: chooses which activations live in the channel-blocked layout
// ([image][channel block][pixel][16], simd::kChannelBlock) instead of planes. Runs after
// epilogue fusion, on the graph a session executes (never on a graph `edgert fold` writes).
#pragma once

#include "edgert/graph.h"

namespace edgert {

/// Node attribute the pass sets on a Conv: bit kLayoutInput when input 0 is blocked, bit
/// kLayoutOutput when output 0 (and a fused residual, input 3) is.
inline constexpr const char* kLayoutAttr = "_edgert_layout";
inline constexpr int kLayoutInput = 1, kLayoutOutput = 2;

/// A tensor is blocked when its producer is a Conv that can write it so (a 2-D convolution
/// with constant weights: pointwise, depthwise, or any other of one group but the 3x3s that
/// run Winograd) and every reader can read it so: input 0 of such a depthwise Conv, or of such
/// a pointwise Conv whose own output is blocked, or the fused residual of a Conv whose output
/// is blocked. Graph outputs stay planes.
void choose_blocked_layout(Graph& g);

}  // namespace edgert
