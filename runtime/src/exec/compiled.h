#pragma once

#include <memory>

#include "../ops/op.h"

namespace edgert::detail {

struct CompiledNode {
  std::unique_ptr<Op> op;
};

}  // namespace edgert::detail
