// Load-time pass: fold BatchNormalization into the weights of a producing Conv,
// ConvTranspose or Gemm wherever that is exact, and record for every BatchNormalization
// what happened to it and why.
#pragma once

#include <vector>

#include "edgert/graph.h"
#include "edgert/session.h"

namespace edgert {

/// Records every BatchNormalization as kept because folding is switched off.
void record_batchnorm_unfolded(const Graph& g, std::vector<PassRecord>& records);

/// Removes constants that no node, graph input or graph output uses any more.
void drop_unused_constants(Graph& g);

}  // namespace edgert
