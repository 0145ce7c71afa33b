#include "common.h"

namespace edgert {

Shape broadcast_shapes(const Node& n, const std::vector<const Shape*>& shapes) {
  std::size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  Shape out(rank, 1);
  for (const Shape* s : shapes) {
    const std::size_t off = rank - s->size();
    for (std::size_t d = 0; d < s->size(); ++d) {
      const std::int64_t v = (*s)[d];
      std::int64_t& o = out[off + d];
      if (v == o || v == 1) continue;
      if (o == 1) {
        o = v;
        continue;
      }
      std::string all;
      for (const Shape* t : shapes) all += (all.empty() ? "" : " and ") + shape_str(*t);
      fail(ErrorCode::shape, n.label(), ": shapes ", all, " cannot be broadcast together");
    }
  }
  return out;
}

Broadcaster::Broadcaster(const Shape& out, const std::vector<const Shape*>& ins) {
  total_ = shape_numel(out);
  const std::size_t r = out.size();
  // Per input: does it span (1) or broadcast (0) each output dim.
  std::vector<std::vector<char>> spans(ins.size(), std::vector<char>(r, 0));
  for (std::size_t j = 0; j < ins.size(); ++j) {
    const Shape& s = *ins[j];
    const std::size_t off = r - s.size();
    for (std::size_t d = 0; d < s.size(); ++d) spans[j][off + d] = s[d] != 1;
  }
  std::vector<std::int64_t> dims;
  std::vector<std::vector<char>> flags(ins.size());
  for (std::size_t d = 0; d < r; ++d) {
    if (out[d] == 1) continue;
    bool merge = !dims.empty();
    for (std::size_t j = 0; merge && j < ins.size(); ++j)
      if (flags[j].back() != spans[j][d]) merge = false;
    if (merge) {
      dims.back() *= out[d];
    } else {
      dims.push_back(out[d]);
      for (std::size_t j = 0; j < ins.size(); ++j) flags[j].push_back(spans[j][d]);
    }
  }
  dims_ = dims;
  strides_.assign(ins.size(), std::vector<std::int64_t>(dims.size(), 0));
  for (std::size_t j = 0; j < ins.size(); ++j) {
    std::int64_t stride = 1;
    for (std::size_t d = dims.size(); d-- > 0;) {
      if (flags[j][d]) {
        strides_[j][d] = stride;
        stride *= dims[d];
      }
    }
  }
}

std::vector<std::int64_t> strides_of(const Shape& s) {
  std::vector<std::int64_t> st(s.size(), 1);
  for (std::size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

std::vector<std::int64_t> ints_of(const Tensor& t) { return tensor_to_ints(t); }

double scalar_of(const Node& n, const Tensor& t, const char* what) {
  if (t.numel() != 1)
    fail(ErrorCode::shape, n.label(), ": ", what, " must hold one value, got shape ", shape_str(t.shape()));
  return tensor_to_doubles(t)[0];
}

}  // namespace edgert
