// TensorProto <-> Tensor.
#pragma once

#include <string>

#include "edgert/onnx/import.h"
#include "onnx.pb.h"

namespace edgert::onnx {

/// Converts a TensorProto. `what` names it in errors ("initializer 'w'"); `base_dir` is
/// where external data may be read ("" refuses it).
Tensor tensor_from_proto(const ::onnx::TensorProto& t, const std::string& what, const std::string& base_dir,
                         const LoadLimits& limits);

/// As tensor_from_proto, but a raw_data buffer is handed over to the tensor instead of
/// copied (left empty in `t`): loading keeps one copy of the weights, not two.
Tensor take_tensor_from_proto(::onnx::TensorProto& t, const std::string& what, const std::string& base_dir,
                              const LoadLimits& limits);

/// Writes `t` into `out` as `name`, data in raw_data (little-endian).
void tensor_to_proto(const Tensor& t, const std::string& name, ::onnx::TensorProto* out);

/// Converts a parsed model; with `release`, each initializer's bytes are freed from `m` once
/// copied (for loading), else `m` is left as it was (for tools that rewrite it).
Imported convert_model(::onnx::ModelProto& m, const LoadLimits& limits, const std::string& base_dir,
                       const std::string& label, bool release);

/// Stops protobuf from printing parse complaints to stderr (errors are reported by edgert).
void quiet_protobuf();

/// Element type from an ONNX data_type code; undefined for unknown or unsupported ones.
DataType dtype_from_onnx(int code);

}  // namespace edgert::onnx
