#include "memory_plan.h"

#include <algorithm>
#include <cstdint>
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

JoinPlan plan_joins(const std::vector<PlannedBuffer>& buffers, const std::vector<Join>& joins) {
  using I = std::int64_t;
  constexpr std::size_t none = SIZE_MAX;
  struct Range {
    I lo, hi;
    std::size_t copy_of = none;  // the buffer a join copies there; none: its producer writes it
  };
  auto overlaps = [](const std::vector<Range>& rs, Range x) {
    return std::any_of(rs.begin(), rs.end(), [&](const Range& r) { return r.lo < x.hi && x.lo < r.hi; });
  };
  auto aligned = [](I v) { return ((v % 64) + 64) % 64 == 0; };
  JoinPlan r;
  r.group.assign(buffers.size(), none);
  std::vector<I> pos(buffers.size(), 0);   // place in the group's coordinates (may be negative)
  std::vector<std::vector<Range>> writes;  // per group: bytes each written by one step
  for (const Join& j : joins) {
    const std::size_t n = j.at.size();
    if (j.out >= buffers.size() || r.group[j.out] != none || j.in.size() != n) continue;
    auto slot = [&](std::size_t i) { return I((i + 1 < n ? j.at[i + 1] : buffers[j.out].size) - j.at[i]); };
    // The output's group and place: where the first input already in a group says.
    std::size_t g = none;
    I base = 0;
    for (std::size_t i = 0; i < n && g == none; ++i) {
      const std::size_t b = j.in[i];
      if (b != none && r.group[b] != none && aligned(pos[b] - I(j.at[i]))) g = r.group[b], base = pos[b] - I(j.at[i]);
    }
    // Each slot is already there (the same buffer at the same place, or an earlier join's
    // copy of it: copying it again writes the bytes they hold), or new bytes written once:
    // by the input's producer when it can move in, else by this step's copy.
    std::vector<Range> added;
    std::vector<std::pair<std::size_t, I>> moved;
    bool ok = true;
    for (std::size_t i = 0; i < n && ok; ++i) {
      const Range x{base + I(j.at[i]), base + I(j.at[i]) + slot(i)};
      const std::size_t b = j.in[i];
      if (x.lo == x.hi) continue;
      if (b != none && g != none && r.group[b] == g && pos[b] == x.lo && I(buffers[b].size) == slot(i)) continue;
      if (b != none && g != none && std::any_of(writes[g].begin(), writes[g].end(), [&](const Range& w) {
            return w.copy_of == b && w.lo == x.lo && w.hi == x.hi;
          }))
        continue;
      ok = !(g != none && overlaps(writes[g], x)) && !overlaps(added, x);
      const bool taken = std::any_of(moved.begin(), moved.end(), [&](const auto& m) { return m.first == b; });
      if (b != none && b != j.out && r.group[b] == none && !taken && I(buffers[b].size) == slot(i) && aligned(x.lo)) {
        moved.push_back({b, x.lo});
        added.push_back(x);
      } else {
        added.push_back({x.lo, x.hi, b});
      }
    }
    if (!ok || (g == none && moved.empty())) continue;
    if (g == none) g = writes.size(), writes.emplace_back();
    writes[g].insert(writes[g].end(), added.begin(), added.end());
    moved.push_back({j.out, base});
    for (const auto& [b, p] : moved) r.group[b] = g, pos[b] = p;
  }
  // Each group's span: from its lowest member to its highest, alive while any member is.
  r.spans.assign(writes.size(), PlannedBuffer{});
  std::vector<I> lo(writes.size()), hi(writes.size());
  std::vector<char> seen(writes.size(), 0);
  for (std::size_t b = 0; b < buffers.size(); ++b) {
    const std::size_t g = r.group[b];
    if (g == none) continue;
    PlannedBuffer& span = r.spans[g];
    if (!seen[g]) seen[g] = 1, span = buffers[b], lo[g] = pos[b], hi[g] = pos[b] + I(buffers[b].size);
    lo[g] = std::min(lo[g], pos[b]), hi[g] = std::max(hi[g], pos[b] + I(buffers[b].size));
    span.first = std::min(span.first, buffers[b].first), span.last = std::max(span.last, buffers[b].last);
  }
  r.at.assign(buffers.size(), 0);
  for (std::size_t b = 0; b < buffers.size(); ++b)
    if (r.group[b] != none) r.at[b] = static_cast<std::size_t>(pos[b] - lo[r.group[b]]);
  for (std::size_t g = 0; g < writes.size(); ++g) r.spans[g].size = static_cast<std::size_t>(hi[g] - lo[g]);
  return r;
}

}  // namespace edgert
