// Loading ONNX models into the runtime's graph. No protobuf types in this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "edgert/graph.h"
#include "edgert/session.h"

namespace edgert::onnx {

struct LoadLimits {
  std::size_t max_model_bytes = std::size_t{2} << 30;   ///< protobuf's own ceiling is 2 GiB
  std::size_t max_tensor_bytes = std::size_t{4} << 30;  ///< any one initializer or tensor
  std::size_t max_nodes = 1u << 20;

  /// The limits ModelOptions sets.
  static LoadLimits from(const ModelOptions& o) { return {o.max_model_bytes, o.max_tensor_bytes, o.max_nodes}; }
};

struct ModelInfo {
  std::int64_t ir_version = 0;
  std::int64_t opset = 0;  ///< default-domain opset
  std::vector<std::pair<std::string, std::int64_t>> opset_imports;
  std::string producer_name, producer_version, domain, doc_string;
  std::int64_t model_version = 0;
  std::size_t constant_nodes = 0;  ///< Constant nodes turned into constants
};

struct Imported {
  Graph graph;
  ModelInfo info;
};

/// Reads and converts an ONNX file. External data is read relative to the file's folder
/// and must stay inside it. Throws Error (io, parse, unsupported, out_of_memory) with a
/// message naming the file and the offending part.
Imported import_file(const std::string& path, const LoadLimits& limits = {});

/// Converts an in-memory ONNX model. `base_dir` is where external data lives ("" refuses
/// external data).
Imported import_memory(const void* data, std::size_t size, const LoadLimits& limits = {},
                       const std::string& base_dir = "", const std::string& label = "<memory>");

/// Reads a serialized TensorProto (.pb, as in the ONNX test data); `name` gets its name.
Tensor read_tensor_file(const std::string& path, std::string* name = nullptr, const LoadLimits& limits = {});

}  // namespace edgert::onnx
