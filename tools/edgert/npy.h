// NumPy .npy files (format 1.0-3.0, C order) <-> Tensor.
#pragma once

#include <string>

#include "edgert/tensor.h"

namespace edgert::tools {

/// Reads a .npy file; little-endian float16/32/64, int8-64, uint8-64 and bool.
Tensor read_npy(const std::string& path);

/// Writes `t` as a version 1.0 .npy file to `path` (overwriting it).
void write_npy(const std::string& path, const Tensor& t);

}  // namespace edgert::tools
