// Offline BatchNormalization folding applied directly to an ONNX model: every node,
// attribute, doc string, metadata entry, opset import and value_info it does not touch
// survives unchanged, and the result loads in any ONNX runtime.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "edgert/onnx/import.h"
#include "edgert/session.h"

namespace edgert::onnx {

struct FoldReport {
  std::vector<PassRecord> batchnorm;  ///< one per BatchNormalization node, in file order
  std::map<std::string, int> ops_before, ops_after;
  std::size_t initializers_before = 0, initializers_after = 0;
  std::size_t bytes_before = 0, bytes_after = 0;
  bool external_data = false;  ///< the model keeps initializers in external files
  std::size_t folded() const;
};

/// Folds the model in `model_bytes` (read from `base_dir`, where its external data lives)
/// and returns the rewritten model, serialized. The same decisions and arithmetic as the
/// load-time pass (edgert::fold_batchnorm). Throws Error on a malformed model.
std::string fold_model(const std::string& model_bytes, const std::string& base_dir, FoldReport& report,
                       const LoadLimits& limits = {});

}  // namespace edgert::onnx
