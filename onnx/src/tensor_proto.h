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

/// Element type from an ONNX data_type code; undefined for unknown or unsupported ones.
DataType dtype_from_onnx(int code);

}  // namespace edgert::onnx
