#include "memory_plan.h"

#include <algorithm>
#include <numeric>

namespace edgert {

std::size_t plan_memory(std::vector<PlannedBuffer>& buffers) {
  auto align = [](std::size_t v) { return (v + 63) / 64 * 64; };
  std::vector<std::size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return buffers[a].size > buffers[b].size; });
  std::vector<std::size_t> placed;
  std::size_t arena = 0;
  for (std::size_t idx : order) {
    PlannedBuffer& b = buffers[idx];
    std::vector<const PlannedBuffer*> live;
    for (std::size_t p : placed) {
      const PlannedBuffer& o = buffers[p];
      if (o.first <= b.last && b.first <= o.last) live.push_back(&o);
    }
    std::sort(live.begin(), live.end(),
              [](const PlannedBuffer* x, const PlannedBuffer* y) { return x->offset < y->offset; });
    std::size_t offset = 0;
    const std::size_t need = align(b.size);
    for (const PlannedBuffer* o : live) {
      if (o->offset >= offset + need) break;
      offset = std::max(offset, align(o->offset + o->size));
    }
    b.offset = offset;
    arena = std::max(arena, offset + need);
    placed.push_back(idx);
  }
  return arena;
}

}  // namespace edgert
