// Static memory plan: buffers with known sizes and lifetimes (first and last step that
// touch them) placed in one arena so that buffers alive at the same time never overlap.
#pragma once

#include <cstddef>
#include <vector>

namespace edgert {

struct PlannedBuffer {
  std::size_t size = 0;
  std::size_t first = 0;   ///< first step that writes it
  std::size_t last = 0;    ///< last step that reads it (inclusive)
  std::size_t offset = 0;  ///< result: byte offset in the arena, a multiple of 64
};

/// Assigns offsets, largest buffer first, each at the lowest 64-aligned offset that does
/// not overlap a placed buffer whose lifetime intersects its own. Returns the arena size.
std::size_t plan_memory(std::vector<PlannedBuffer>& buffers);

}  // namespace edgert
