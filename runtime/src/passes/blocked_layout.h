// Load-time pass: chooses which activations live in the channel-blocked layout
// ([image][channel block][pixel][16], simd::kChannelBlock) instead of planes. Runs after
// epilogue fusion, on the graph a session executes (never on a graph `edgert fold` writes).
#pragma once

#include "edgert/graph.h"

namespace edgert {

/// Node attribute the pass sets on a Conv or global pool: bit kLayoutInput when input 0 is blocked, bit
/// kLayoutOutput when output 0 (and a fused residual, input 3) is.
inline constexpr const char* kLayoutAttr = "_edgert_layout";
inline constexpr int kLayoutInput = 1, kLayoutOutput = 2;

/// A tensor is blocked when its producer is a Conv that can write it so (a 2-D convolution
/// with constant weights: pointwise, depthwise, or any other of one group, the 3x3s that run
/// Winograd converting) and every reader can read it so: input 0 of such a Conv (for a
/// pointwise or other non-depthwise, non-Winograd one only when its own output is blocked,
/// except a one-group Conv at stride 1 with whole input blocks and no fused residual, which
/// runs shifted and may write planes; a narrow 3x3 Winograd would take on planes runs so too,
/// see Winograd23::yields_to_shifted), the fused residual of such a Conv whose output is
/// blocked, or a GlobalAveragePool /
/// GlobalMaxPool (which gets kLayoutInput and writes planes). Graph outputs stay planes,
/// and so does a tensor only converting Convs would touch (no end reads or writes it in place).
void choose_blocked_layout(Graph& g);

}  // namespace edgert
