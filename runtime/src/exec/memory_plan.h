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

/// A step whose output is its inputs' bytes one after another (Op::joined_inputs).
struct Join {
  std::size_t out = 0;          ///< the output's buffer
  std::vector<std::size_t> in;  ///< per input: its buffer, or SIZE_MAX (not planned)
  std::vector<std::size_t> at;  ///< per input: its byte offset in the output
};

/// Buffers joined into groups, each planned as one buffer: a join's output and the inputs it
/// can take in place share a group, at their offsets, so the inputs' producers write into
/// the output and nothing is copied. Within a group the bytes written by different steps
/// never overlap, so no byte has two writers and nothing read is overwritten.
struct JoinPlan {
  std::vector<std::size_t> group;    ///< per buffer: its group, or SIZE_MAX
  std::vector<std::size_t> at;       ///< per buffer in a group: its byte offset in the group
  std::vector<PlannedBuffer> spans;  ///< per group: its size and lifetime, every member's
};

/// Joins are taken in the order of their steps. An input joins its output's group when it
/// is not in a group yet, has its slot's size and a 64-byte aligned place; a join whose
/// output would overlap bytes another step writes keeps its own buffer (it copies then).
JoinPlan plan_joins(const std::vector<PlannedBuffer>& buffers, const std::vector<Join>& joins);

/// Assigns offsets, largest buffer first, each at the lowest 64-aligned offset that does
/// not overlap a placed buffer whose lifetime intersects its own. Returns the arena size.
std::size_t plan_memory(std::vector<PlannedBuffer>& buffers);

}  // namespace edgert
