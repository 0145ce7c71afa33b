// Load-time pass: a Conv or a standalone BatchNormalization followed by an activation
// (Relu, Clip, LeakyRelu, HardSigmoid, HardSwish) and/or a residual Add applies all of it,
// with the bias, in one memory pass (simd affine_act kernel). Runs after folding.
#pragma once

#include <vector>

#include "edgert/graph.h"
#include "edgert/session.h"

namespace edgert {

/// Rewrites `g` and appends what was fused to the matching BatchNormalization records.
void fuse_batchnorm_epilogues(Graph& g, std::vector<PassRecord>& records);

}  // namespace edgert
