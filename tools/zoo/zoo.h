// Reference architectures built in code, with seeded weights and realistic BatchNorm
// statistics (running variance in [0.5, 2], means near 0, scale near 1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx.pb.h"

namespace edgert::zoo {

struct Entry {
  std::string name;
  std::string description;
};

/// The models `build` knows, in a fixed order.
const std::vector<Entry>& list();

/// Builds model `name` (opset 13, IR 7) with weights from `seed`. Throws Error(invalid_argument)
/// for an unknown name.
::onnx::ModelProto build(const std::string& name, std::uint64_t seed = 0);

}  // namespace edgert::zoo
