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

Broadcaster::Broadcaster(const Shape& out, std::initializer_list<const Shape*> ins) {
  total_ = shape_numel(out);
  inputs_ = ins.size();
  if (inputs_ > kMaxInputs) fail(ErrorCode::internal, "Broadcaster takes at most ", kMaxInputs, " inputs");
  const std::size_t r = out.size();
  // Per input and output dim: does the input span it (1) or broadcast over it (0)?
  auto spans = [&](const Shape& s, std::size_t d) {
    const std::size_t off = r - s.size();
    return d >= off && s[d - off] != 1;
  };
  char flags[kMaxInputs][kMaxRank] = {};
  for (std::size_t d = 0; d < r; ++d) {
    if (out[d] == 1) continue;
    bool merge = rank_ > 0;
    std::size_t j = 0;
    for (const Shape* s : ins) {
      if (merge && flags[j][rank_ - 1] != spans(*s, d)) merge = false;
      ++j;
    }
    if (merge) {
      dims_[rank_ - 1] *= out[d];
      continue;
    }
    if (rank_ == kMaxRank)
      fail(ErrorCode::unsupported, "broadcasting over more than ", kMaxRank, " distinct dimensions is not supported");
    dims_[rank_] = out[d];
    j = 0;
    for (const Shape* s : ins) flags[j++][rank_] = spans(*s, d);
    ++rank_;
  }
  for (std::size_t j = 0; j < inputs_; ++j) {
    std::int64_t stride = 1;
    for (std::size_t d = rank_; d-- > 0;) {
      if (flags[j][d]) {
        strides_[j][d] = stride;
        stride *= dims_[d];
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

std::int64_t computed_extent(const Node& n, const char* what, double v) {
  if (!(v >= 0 && v <= kMaxComputedExtent))
    fail(ErrorCode::shape, n.label(), ": ", what, " ", v, " is not a size in [0, 2^48]");
  return static_cast<std::int64_t>(v);
}

void check_geometry(const Node& n, const char* what, const std::vector<std::int64_t>& values, std::int64_t lo) {
  for (std::int64_t v : values)
    if (v < lo || v > kMaxGeometry)
      fail(ErrorCode::shape, n.label(), ": ", what, " ", shape_str(values), " must lie in [", lo, ", ", kMaxGeometry,
           "]");
}

}  // namespace edgert
