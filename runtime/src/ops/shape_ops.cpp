// Operators that move or describe data: Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
// Concat, Split, Slice, Gather, Shape, Size, Cast, Constant, ConstantOfShape, Expand, Pad,
// Tile, Range, DepthToSpace, SpaceToDepth.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "../passes/blocked_layout.h"
#include "common.h"

namespace edgert {
namespace {

// out[i...] = in[base + sum(i_d * strides[d])] over `shape`.
template <class T>
void strided_copy(T* out, const Shape& shape, const T* in, std::int64_t base,
                  const std::vector<std::int64_t>& strides) {
  const std::int64_t total = shape_numel(shape);
  if (total == 0) return;
  if (shape.empty()) {
    out[0] = in[base];
    return;
  }
  const std::size_t r = shape.size();
  if (r > kMaxRank)
    fail(ErrorCode::unsupported, "tensors of rank ", r, " are not supported here (at most ", kMaxRank, ")");
  const std::int64_t len = shape[r - 1], st = strides[r - 1];
  std::int64_t idx[kMaxRank] = {0};
  std::int64_t off = base;
  for (std::int64_t o = 0; o < total; o += len) {
    const T* src = in + off;
    if (st == 1) {
      std::copy(src, src + len, out + o);
    } else {
      for (std::int64_t i = 0; i < len; ++i) out[o + i] = src[i * st];
    }
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

void strided_copy_any(const Node& n, Tensor& out, const Tensor& in, std::int64_t base,
                      const std::vector<std::int64_t>& strides, const Shape& shape) {
  dispatch_bytes(in.dtype(), n, [&](auto tag) {
    using T = typename decltype(tag)::type;
    strided_copy<T>(out.data<T>(), shape, in.data<T>(), base, strides);
  });
}

void copy_data(Tensor& out, const Tensor& in) {
  if (out.raw() != in.raw() && in.nbytes()) std::memcpy(out.raw(), in.raw(), in.nbytes());
}

// Ops whose output is the input's data under a new shape.
class ReshapeLike : public Op {
 public:
  void run(const RunContext& ctx) const override { copy_data(ctx.out(0), ctx.in(0)); }
};

class ReshapeOp : public ReshapeLike {
 public:
  explicit ReshapeOp(const CreateContext& c) {
    allowzero_ = c.node.attr_int("allowzero", 0) != 0;
    if (!c.node.has_input(1)) legacy_ = c.node.attr_ints("shape");
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    std::vector<std::int64_t> spec = ctx.has(1) ? ints_of(ctx.value(1)) : legacy_;
    Shape out(spec.size());
    std::int64_t known = 1, infer_at = -1;
    for (std::size_t i = 0; i < spec.size(); ++i) {
      std::int64_t d = spec[i];
      if (d == 0 && !allowzero_) {
        if (i >= x.rank())
          ctx.error(
              cat("shape ", shape_str(spec), " copies dim ", i, " that the input ", shape_str(x.shape()), " lacks"));
        d = x.dim(i);
      }
      if (d == -1) {
        if (infer_at >= 0) ctx.error(cat("shape ", shape_str(spec), " has more than one -1"));
        infer_at = static_cast<std::int64_t>(i);
        continue;
      }
      if (d < 0) ctx.error(cat("shape ", shape_str(spec), " has a negative dimension"));
      out[i] = d;
      known = mul_saturate(known, d);
    }
    if (infer_at >= 0) {
      if (known == 0 || x.numel() % known != 0)
        ctx.error(cat("cannot reshape ", shape_str(x.shape()), " to ", shape_str(spec)));
      out[infer_at] = x.numel() / known;
    }
    if (shape_numel(out) != x.numel()) ctx.error(cat("cannot reshape ", shape_str(x.shape()), " to ", shape_str(spec)));
    ctx.set_output(0, x.dtype(), out);
  }

 private:
  bool allowzero_;
  std::vector<std::int64_t> legacy_;
};

class FlattenOp : public ReshapeLike {
 public:
  explicit FlattenOp(const CreateContext& c) { axis_ = c.node.attr_int("axis", 1); }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t r = static_cast<std::int64_t>(x.rank());
    std::int64_t axis = axis_ < 0 ? axis_ + r : axis_;
    if (axis < 0 || axis > r) ctx.error(cat("axis ", axis_, " is out of range for rank ", r));
    std::int64_t outer = 1;
    for (std::int64_t i = 0; i < axis; ++i) outer *= x.dim(static_cast<std::size_t>(i));
    ctx.set_output(0, x.dtype(), {outer, outer ? x.numel() / outer : 0});
  }

 private:
  std::int64_t axis_;
};

class SqueezeOp : public ReshapeLike {
 public:
  explicit SqueezeOp(const CreateContext& c) : node_(c.node), unsqueeze_(c.node.op_type == "Unsqueeze") {
    axes_ = c.node.attr_ints("axes");
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    std::vector<std::int64_t> axes = ctx.has(1) ? ints_of(ctx.value(1)) : axes_;
    Shape out;
    if (unsqueeze_) {
      const std::int64_t r = static_cast<std::int64_t>(x.rank() + axes.size());
      std::vector<char> mark(static_cast<std::size_t>(r), 0);
      for (std::int64_t a : axes) {
        const std::int64_t ax = normalize_axis(node_, a, r);
        if (mark[ax]) ctx.error(cat("axis ", a, " is repeated"));
        mark[ax] = 1;
      }
      std::size_t j = 0;
      for (std::int64_t i = 0; i < r; ++i) out.push_back(mark[i] ? 1 : x.dim(j++));
    } else {
      const std::int64_t r = static_cast<std::int64_t>(x.rank());
      std::vector<char> mark(static_cast<std::size_t>(r), 0);
      for (std::int64_t a : axes) {
        const std::int64_t ax = normalize_axis(node_, a, r);
        if (x.dim(ax) != 1) ctx.error(cat("cannot squeeze axis ", a, " of size ", x.dim(ax)));
        mark[ax] = 1;
      }
      for (std::int64_t i = 0; i < r; ++i)
        if (!(axes.empty() ? x.dim(i) == 1 : mark[i])) out.push_back(x.dim(i));
    }
    ctx.set_output(0, x.dtype(), out);
  }

 private:
  const Node& node_;
  bool unsqueeze_;
  std::vector<std::int64_t> axes_;
};

class TransposeOp : public Op {
 public:
  explicit TransposeOp(const CreateContext& c) : node_(c.node) { perm_ = c.node.attr_ints("perm"); }
  std::vector<std::int64_t> perm(std::size_t r) const {
    std::vector<std::int64_t> p = perm_;
    if (p.empty())
      for (std::size_t i = 0; i < r; ++i) p.push_back(static_cast<std::int64_t>(r - 1 - i));
    return p;
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const auto p = perm(x.rank());
    if (p.size() != x.rank()) ctx.error(cat("perm has ", p.size(), " entries for rank ", x.rank()));
    std::vector<char> seen(x.rank(), 0);
    Shape out;
    for (std::int64_t v : p) {
      if (v < 0 || v >= static_cast<std::int64_t>(x.rank()) || seen[v]) ctx.error("perm is not a permutation");
      seen[v] = 1;
      out.push_back(x.dim(v));
    }
    ctx.set_output(0, x.dtype(), out);
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const auto p = perm(x.rank());
    const auto st = strides_of(x.shape());
    std::vector<std::int64_t> s;
    for (std::int64_t v : p) s.push_back(st[v]);
    strided_copy_any(node_, ctx.out(0), x, 0, s, ctx.out(0).shape());
  }

 private:
  const Node& node_;
  std::vector<std::int64_t> perm_;
};

class ConcatOp : public Op {
 public:
  explicit ConcatOp(const CreateContext& c) : node_(c.node) {
    if (!c.node.has_attr("axis") && c.node.opset >= 4)
      fail(ErrorCode::parse, c.node.label(), ": attribute 'axis' is required");
    axis_ = c.node.attr_int("axis", 1);
    blocked_ = (c.node.attr_int(kLayoutAttr, 0) & kLayoutOutput) != 0;
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x0 = ctx.in(0);
    const std::int64_t axis = normalize_axis(node_, axis_, static_cast<std::int64_t>(x0.rank()));
    Shape out = x0.shape();
    out[axis] = 0;
    for (std::size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& x = ctx.in(i);
      if (x.dtype() != x0.dtype())
        ctx.error(cat("input ", i, " is ", dtype_name(x.dtype()), ", input 0 is ", dtype_name(x0.dtype())));
      if (x.rank() != x0.rank()) ctx.error(cat("input ", i, " has rank ", x.rank(), ", input 0 has ", x0.rank()));
      for (std::size_t d = 0; d < x.rank(); ++d)
        if (static_cast<std::int64_t>(d) != axis && x.dim(d) != x0.dim(d))
          ctx.error(cat("input ", i, " shape ", shape_str(x.shape()), " does not match ", shape_str(x0.shape())));
      out[axis] += x.dim(axis);
    }
    ctx.set_output(0, x0.dtype(), out);
    if (blocked_) {
      // The layout pass picks channel Concats whose inputs but the last fill whole blocks.
      if (x0.rank() != 4 || x0.dtype() != DataType::float32 || axis != 1)
        fail(ErrorCode::internal, node_.label(), ": a blocked Concat must join the channels of 4-D float32 tensors");
      for (std::size_t i = 0; i + 1 < ctx.num_inputs(); ++i)
        if (ctx.in(i).dim(1) % static_cast<std::int64_t>(kBlock) != 0)
          fail(ErrorCode::internal, node_.label(), ": input ", i, " of a blocked Concat does not fill whole blocks");
      ctx.set_output_storage(0, blocked_bytes(out));
    }
  }
  std::vector<std::size_t> joined_inputs(const InferContext& ctx) const override {
    if (outer(ctx.outputs[0]) != 1) return {};
    std::vector<std::size_t> at;
    std::size_t col = 0;
    for (std::size_t i = 0; i < ctx.num_inputs(); ++i) at.push_back(col), col += bytes(ctx.in(i));
    return at;
  }
  void run(const RunContext& ctx) const override {
    Tensor& y = ctx.out(0);
    const std::int64_t n = std::max<std::int64_t>(outer(y), 1);
    const std::size_t out_row = bytes(y) / static_cast<std::size_t>(n);
    char* py = static_cast<char*>(y.raw());
    std::size_t col = 0;
    for (std::size_t i = 0; i < ctx.num_inputs; ++i) {
      const Tensor& x = ctx.in(i);
      const std::size_t row = bytes(x) / static_cast<std::size_t>(n);
      const char* px = static_cast<const char*>(x.raw());
      if (px != py + col)  // else the planner had x written in place (joined_inputs)
        for (std::int64_t o = 0; o < n; ++o)
          if (row)
            std::memcpy(py + static_cast<std::size_t>(o) * out_row + col, px + static_cast<std::size_t>(o) * row, row);
      col += row;
    }
  }

 private:
  // The product of the dimensions before the axis: how many runs of each input the output
  // interleaves.
  std::int64_t outer(const Tensor& y) const {
    const std::int64_t axis = normalize_axis(node_, axis_, static_cast<std::int64_t>(y.rank()));
    std::int64_t n = 1;
    for (std::int64_t d = 0; d < axis; ++d) n *= y.dim(d);
    return n;
  }
  // A tensor's bytes. Blocked (axis 1): an image's blocks of every input follow one another,
  // each input's whole blocks (and the last input's padded one) as they are.
  std::size_t bytes(const Tensor& t) const {
    return blocked_ ? blocked_bytes(t.shape()) : static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
  }

  const Node& node_;
  std::int64_t axis_;
  bool blocked_ = false;
};

class SplitOp : public Op {
 public:
  explicit SplitOp(const CreateContext& c) : node_(c.node) {
    axis_ = c.node.attr_int("axis", 0);
    split_ = c.node.attr_ints("split");
    num_outputs_ = c.node.attr_int("num_outputs", 0);
  }
  std::vector<std::int64_t> sizes(const InferContext* ctx, const RunContext* rc, std::int64_t dim) const {
    std::vector<std::int64_t> s = split_;
    if (ctx && ctx->has(1)) s = ints_of(ctx->value(1));
    if (rc && rc->has(1)) s = ints_of(rc->in(1));
    const std::int64_t n = static_cast<std::int64_t>(node_.outputs.size());
    if (s.empty()) {
      if (num_outputs_ > 0) {
        const std::int64_t chunk = (dim + num_outputs_ - 1) / num_outputs_;
        for (std::int64_t i = 0; i < num_outputs_; ++i)
          s.push_back(std::max<std::int64_t>(0, std::min(chunk, dim - i * chunk)));
      } else {
        if (dim % n != 0)
          fail(ErrorCode::shape, node_.label(), ": axis of size ", dim, " does not split evenly into ", n, " outputs");
        s.assign(static_cast<std::size_t>(n), dim / n);
      }
    }
    return s;
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t axis = normalize_axis(node_, axis_, static_cast<std::int64_t>(x.rank()));
    const auto s = sizes(&ctx, nullptr, x.dim(axis));
    if (s.size() != node_.outputs.size())
      ctx.error(cat("split has ", s.size(), " parts for ", node_.outputs.size(), " outputs"));
    std::int64_t total = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] < 0) ctx.error("split sizes must be non-negative");
      total += s[i];
      Shape o = x.shape();
      o[axis] = s[i];
      ctx.set_output(i, x.dtype(), o);
    }
    if (total != x.dim(axis)) ctx.error(cat("split sizes sum to ", total, ", the axis has ", x.dim(axis)));
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t axis = normalize_axis(node_, axis_, static_cast<std::int64_t>(x.rank()));
    std::int64_t outer = 1;
    for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    const std::size_t es = dtype_size(x.dtype());
    const std::size_t in_row = static_cast<std::size_t>(x.numel() / std::max<std::int64_t>(outer, 1)) * es;
    const std::size_t inner = in_row / std::max<std::int64_t>(x.dim(axis), 1);
    const auto s = sizes(nullptr, &ctx, x.dim(axis));
    std::size_t col = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const std::size_t row = static_cast<std::size_t>(s[i]) * inner;
      if (ctx.has_out(i)) {
        char* py = static_cast<char*>(ctx.out(i).raw());
        for (std::int64_t o = 0; o < outer; ++o)
          if (row)
            std::memcpy(py + static_cast<std::size_t>(o) * row,
                        static_cast<const char*>(x.raw()) + static_cast<std::size_t>(o) * in_row + col, row);
      }
      col += row;
    }
  }

 private:
  const Node& node_;
  std::int64_t axis_, num_outputs_;
  std::vector<std::int64_t> split_;
};

class SliceOp : public Op {
 public:
  explicit SliceOp(const CreateContext& c) : node_(c.node) {
    starts_ = c.node.attr_ints("starts");
    ends_ = c.node.attr_ints("ends");
    axes_ = c.node.attr_ints("axes");
  }
  struct Plan {
    Shape out;
    std::int64_t base = 0;
    std::vector<std::int64_t> strides;
  };
  template <class Get>
  Plan plan(const Shape& x, Get&& get) const {
    std::vector<std::int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    if (node_.has_input(1)) {
      starts = get(1);
      ends = get(2);
      axes = node_.has_input(3) ? get(3) : std::vector<std::int64_t>{};
      steps = node_.has_input(4) ? get(4) : std::vector<std::int64_t>{};
    }
    if (axes.empty())
      for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
      fail(ErrorCode::shape, node_.label(), ": starts, ends, axes and steps have different lengths");
    const std::int64_t r = static_cast<std::int64_t>(x.size());
    std::vector<std::int64_t> st(x.size(), 0), sp(x.size(), 1);
    Plan p;
    p.out = x;
    std::vector<char> seen(x.size(), 0);
    for (std::size_t i = 0; i < axes.size(); ++i) {
      const std::int64_t a = normalize_axis(node_, axes[i], r);
      if (seen[a]) fail(ErrorCode::shape, node_.label(), ": axis ", axes[i], " is repeated");
      seen[a] = 1;
      const std::int64_t dim = x[a], step = steps[i];
      if (step == 0) fail(ErrorCode::shape, node_.label(), ": steps must not be 0");
      std::int64_t s = starts[i], e = ends[i];
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      if (step > 0) {
        s = std::clamp<std::int64_t>(s, 0, dim);
        e = std::clamp<std::int64_t>(e, 0, dim);
        p.out[a] = e > s ? (e - s + step - 1) / step : 0;
      } else {
        s = std::clamp<std::int64_t>(s, -1, dim - 1);
        e = std::clamp<std::int64_t>(e, -1, dim - 1);
        p.out[a] = s > e ? (s - e + (-step) - 1) / (-step) : 0;
      }
      st[a] = s;
      sp[a] = step;
    }
    const auto xs = strides_of(x);
    for (std::size_t d = 0; d < x.size(); ++d) {
      if (p.out[d] > 0) p.base += st[d] * xs[d];
      p.strides.push_back(xs[d] * sp[d]);
    }
    return p;
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Plan p = plan(x.shape(), [&](std::size_t i) { return ints_of(ctx.value(i)); });
    ctx.set_output(0, x.dtype(), p.out);
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Plan p = plan(x.shape(), [&](std::size_t i) { return ints_of(ctx.in(i)); });
    strided_copy_any(node_, ctx.out(0), x, p.base, p.strides, p.out);
  }

 private:
  const Node& node_;
  std::vector<std::int64_t> starts_, ends_, axes_;
};

class GatherOp : public Op {
 public:
  explicit GatherOp(const CreateContext& c) : node_(c.node) { axis_ = c.node.attr_int("axis", 0); }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    if (idx.dtype() != DataType::int64 && idx.dtype() != DataType::int32) ctx.error("indices must be int32 or int64");
    const std::int64_t axis = normalize_axis(node_, axis_, static_cast<std::int64_t>(x.rank()));
    Shape out(x.shape().begin(), x.shape().begin() + axis);
    out.insert(out.end(), idx.shape().begin(), idx.shape().end());
    out.insert(out.end(), x.shape().begin() + axis + 1, x.shape().end());
    ctx.set_output(0, x.dtype(), out);
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    const std::int64_t axis = normalize_axis(node_, axis_, static_cast<std::int64_t>(x.rank()));
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const std::int64_t dim = x.dim(axis), count = idx.numel();
    const std::size_t es = dtype_size(x.dtype()), chunk = static_cast<std::size_t>(inner) * es;
    const char* px = static_cast<const char*>(x.raw());
    char* py = static_cast<char*>(ctx.out(0).raw());
    for (std::int64_t j = 0; j < count; ++j) {
      std::int64_t k = tensor_int_at(idx, static_cast<std::size_t>(j));
      if (k < -dim || k >= dim)
        fail(ErrorCode::shape, node_.label(), ": index ", k, " is out of range for an axis of size ", dim);
      if (k < 0) k += dim;
      for (std::int64_t o = 0; o < outer; ++o)
        std::memcpy(py + static_cast<std::size_t>(o * count + j) * chunk,
                    px + static_cast<std::size_t>(o * dim + k) * chunk, chunk);
    }
  }

 private:
  const Node& node_;
  std::int64_t axis_;
};

// GatherElements: out[i...] = data[i... with axis coordinate replaced by indices[i...]].
class GatherElementsOp : public Op {
 public:
  explicit GatherElementsOp(const CreateContext& c) : node_(c.node) { axis_ = c.node.attr_int("axis", 0); }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    if (idx.dtype() != DataType::int64 && idx.dtype() != DataType::int32) ctx.error("indices must be int32 or int64");
    if (idx.rank() != x.rank()) ctx.error("indices must have the data's rank");
    const std::int64_t a = normalize_axis(node_, axis_, static_cast<std::int64_t>(x.rank()));
    for (std::size_t d = 0; d < x.rank(); ++d)
      if (static_cast<std::int64_t>(d) != a && idx.dim(d) > x.dim(d))
        ctx.error(cat("indices of shape ", shape_str(idx.shape()), " exceed the data's ", shape_str(x.shape()),
                      " on axis ", d));
    ctx.set_output(0, x.dtype(), idx.shape());
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const Tensor& idx = ctx.in(1);
    Tensor& y = ctx.out(0);
    const std::size_t r = x.rank();
    const std::int64_t a = normalize_axis(node_, axis_, static_cast<std::int64_t>(r));
    const auto xs = strides_of(x.shape());
    const std::int64_t dim = x.dim(static_cast<std::size_t>(a));
    dispatch_bytes(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = y.data<T>();
      std::vector<std::int64_t> pos(r, 0);
      for (std::int64_t o = 0; o < y.numel(); ++o) {
        std::int64_t k = tensor_int_at(idx, static_cast<std::size_t>(o));
        if (k < -dim || k >= dim)
          fail(ErrorCode::shape, node_.label(), ": index ", k, " is out of range for an axis of size ", dim);
        if (k < 0) k += dim;
        std::int64_t off = 0;
        for (std::size_t d = 0; d < r; ++d) off += (static_cast<std::int64_t>(d) == a ? k : pos[d]) * xs[d];
        py[o] = px[off];
        for (std::size_t d = r; d-- > 0;) {
          if (++pos[d] < y.dim(d)) break;
          pos[d] = 0;
        }
      }
    });
  }

 private:
  const Node& node_;
  std::int64_t axis_;
};

class ShapeOp : public Op {
 public:
  explicit ShapeOp(const CreateContext& c) : size_(c.node.op_type == "Size") {
    start_ = c.node.attr_int("start", 0);
    end_ = c.node.attr_int("end", std::numeric_limits<std::int64_t>::max());
  }
  bool shape_only() const override { return true; }
  std::pair<std::int64_t, std::int64_t> range(std::int64_t r) const {
    std::int64_t s = start_ < 0 ? start_ + r : start_, e = end_ < 0 ? end_ + r : end_;
    s = std::clamp<std::int64_t>(s, 0, r);
    e = std::clamp<std::int64_t>(e, 0, r);
    return {s, std::max(s, e)};
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (size_) return ctx.set_output(0, DataType::int64, {});
    auto [s, e] = range(static_cast<std::int64_t>(x.rank()));
    ctx.set_output(0, DataType::int64, {e - s});
  }
  void run(const RunContext& ctx) const override {
    std::int64_t* out = ctx.out(0).data<std::int64_t>();
    const Tensor& x = ctx.in(0);
    if (size_) {
      out[0] = x.numel();
      return;
    }
    auto [s, e] = range(static_cast<std::int64_t>(x.rank()));
    for (std::int64_t i = s; i < e; ++i) out[i - s] = x.dim(static_cast<std::size_t>(i));
  }

 private:
  bool size_;
  std::int64_t start_, end_;
};

// Integers narrow by wrapping (as C++ and numpy convert them); floats into integers saturate.
template <class D>
void cast_from(const double* src, D* dst, std::size_t n, bool from_integer) {
  for (std::size_t i = 0; i < n; ++i)
    dst[i] = from_integer && std::is_integral_v<D> ? static_cast<D>(saturate_cast<std::int64_t>(src[i]))
                                                   : saturate_cast<D>(src[i]);
}

class CastOp : public Op {
 public:
  explicit CastOp(const CreateContext& c) : node_(c.node) {
    if (c.node.op_type == "CastLike") return;
    const Attribute* to = c.node.attr("to");
    if (!to) fail(ErrorCode::parse, c.node.label(), ": attribute 'to' is required");
    if (to->kind == Attribute::Kind::string) {  // opsets 1-5 name the type
      static const std::pair<const char*, DataType> names[] = {
          {"FLOAT", DataType::float32},  {"UINT8", DataType::uint8},   {"INT8", DataType::int8},
          {"UINT16", DataType::uint16},  {"INT16", DataType::int16},   {"INT32", DataType::int32},
          {"INT64", DataType::int64},    {"BOOL", DataType::boolean},  {"FLOAT16", DataType::float16},
          {"DOUBLE", DataType::float64}, {"UINT32", DataType::uint32}, {"UINT64", DataType::uint64}};
      for (const auto& [n, t] : names)
        if (to->s == n) to_ = t;
    } else {
      to_ = static_cast<DataType>(c.node.attr_int("to", 0));
    }
    if (dtype_size(to_) == 0)
      fail(ErrorCode::unsupported, c.node.label(), ": cast to type ", static_cast<int>(to_), " is not supported");
  }
  void infer(InferContext& ctx) const override {
    const DataType to = node_.op_type == "CastLike" ? ctx.in(1).dtype() : to_;
    if (dtype_size(ctx.in(0).dtype()) == 0)
      fail(ErrorCode::unsupported, node_.label(), ": cast from ", dtype_name(ctx.in(0).dtype()), " is not supported");
    if (dtype_size(to) == 0)
      fail(ErrorCode::unsupported, node_.label(), ": cast to ", dtype_name(to), " is not supported");
    ctx.set_output(0, to, ctx.in(0).shape());
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    const std::size_t n = static_cast<std::size_t>(x.numel());
    if (x.dtype() == y.dtype()) return copy_data(y, x);
    if (x.dtype() == DataType::float32 && y.dtype() == DataType::float16) {
      for (std::size_t i = 0; i < n; ++i) y.data<std::uint16_t>()[i] = float_to_half(x.data<float>()[i]);
      return;
    }
    if (x.dtype() == DataType::int64 && y.dtype() == DataType::int32) {
      for (std::size_t i = 0; i < n; ++i)
        y.data<std::int32_t>()[i] = static_cast<std::int32_t>(x.data<std::int64_t>()[i]);
      return;
    }
    if (x.dtype() == DataType::int64 || x.dtype() == DataType::uint64) {
      // Keep 64-bit integers exact.
      if (y.dtype() == DataType::uint64 || y.dtype() == DataType::int64) return copy_data(y, x);
    }
    const std::vector<double> v = tensor_to_doubles(x);
    const bool from_integer = !dtype_is_float(x.dtype());
    switch (y.dtype()) {
      case DataType::float32:
        return cast_from(v.data(), y.data<float>(), n, from_integer);
      case DataType::float64:
        return cast_from(v.data(), y.data<double>(), n, from_integer);
      case DataType::int64:
        return cast_from(v.data(), y.data<std::int64_t>(), n, from_integer);
      case DataType::int32:
        return cast_from(v.data(), y.data<std::int32_t>(), n, from_integer);
      case DataType::int16:
        return cast_from(v.data(), y.data<std::int16_t>(), n, from_integer);
      case DataType::int8:
        return cast_from(v.data(), y.data<std::int8_t>(), n, from_integer);
      case DataType::uint8:
        return cast_from(v.data(), y.data<std::uint8_t>(), n, from_integer);
      case DataType::uint16:
        return cast_from(v.data(), y.data<std::uint16_t>(), n, from_integer);
      case DataType::uint32:
        return cast_from(v.data(), y.data<std::uint32_t>(), n, from_integer);
      case DataType::uint64:
        return cast_from(v.data(), y.data<std::uint64_t>(), n, from_integer);
      case DataType::boolean:
        for (std::size_t i = 0; i < n; ++i) y.data<std::uint8_t>()[i] = v[i] != 0.0;
        return;
      case DataType::float16:
        for (std::size_t i = 0; i < n; ++i) y.data<std::uint16_t>()[i] = float_to_half(static_cast<float>(v[i]));
        return;
      case DataType::bfloat16:
        for (std::size_t i = 0; i < n; ++i) y.data<std::uint16_t>()[i] = float_to_bfloat16(static_cast<float>(v[i]));
        return;
      default:
        fail(ErrorCode::unsupported, node_.label(), ": cast to ", dtype_name(y.dtype()), " is not supported");
    }
  }

 private:
  const Node& node_;
  DataType to_ = DataType::undefined;
};

// Converts a Constant node's attribute to a tensor (shared with the ONNX importer).
class ConstantOp : public Op {
 public:
  explicit ConstantOp(const CreateContext& c) {
    const Node& n = c.node;
    if (const Attribute* a = n.attr("value")) {
      value_ = a->t;
    } else if (const Attribute* a = n.attr("value_float")) {
      value_ = Tensor::from_vector<float>(DataType::float32, {}, {a->f});
    } else if (const Attribute* a = n.attr("value_floats")) {
      value_ = Tensor::from_vector<float>(DataType::float32, {static_cast<std::int64_t>(a->floats.size())}, a->floats);
    } else if (const Attribute* a = n.attr("value_int")) {
      value_ = Tensor::from_vector<std::int64_t>(DataType::int64, {}, {a->i});
    } else if (const Attribute* a = n.attr("value_ints")) {
      value_ = Tensor::from_vector<std::int64_t>(DataType::int64, {static_cast<std::int64_t>(a->ints.size())}, a->ints);
    } else {
      fail(ErrorCode::unsupported, n.label(), ": only value, value_float(s) and value_int(s) are supported");
    }
    if (!value_.has_data() && value_.numel() > 0) fail(ErrorCode::parse, n.label(), ": the constant has no data");
  }
  void infer(InferContext& ctx) const override { ctx.set_output(0, value_.dtype(), value_.shape()); }
  void run(const RunContext& ctx) const override { copy_data(ctx.out(0), value_); }

 private:
  Tensor value_;
};

class ConstantOfShapeOp : public Op {
 public:
  explicit ConstantOfShapeOp(const CreateContext& c) {
    if (const Attribute* a = c.node.attr("value")) {
      if (a->t.numel() != 1) fail(ErrorCode::parse, c.node.label(), ": value must hold one element");
      value_ = a->t;
    } else {
      value_ = Tensor::from_vector<float>(DataType::float32, {1}, {0.0f});
    }
  }
  void infer(InferContext& ctx) const override {
    const auto dims = ints_of(ctx.value(0));
    for (std::int64_t d : dims)
      if (d < 0) ctx.error(cat("negative dimension in ", shape_str(dims)));
    ctx.set_output(0, value_.dtype(), dims);
  }
  void run(const RunContext& ctx) const override {
    Tensor& y = ctx.out(0);
    const std::size_t es = dtype_size(y.dtype());
    char* p = static_cast<char*>(y.raw());
    for (std::int64_t i = 0; i < y.numel(); ++i) std::memcpy(p + static_cast<std::size_t>(i) * es, value_.raw(), es);
  }

 private:
  Tensor value_;
};

class ExpandOp : public Op {
 public:
  explicit ExpandOp(const CreateContext& c) : node_(c.node) {}
  void infer(InferContext& ctx) const override {
    const Shape target = ints_of(ctx.value(1));
    ctx.set_output(0, ctx.in(0).dtype(), broadcast_shapes(node_, {&ctx.in(0).shape(), &target}));
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    const std::size_t off = y.rank() - x.rank();
    const auto xs = strides_of(x.shape());
    std::vector<std::int64_t> st(y.rank(), 0);
    for (std::size_t d = 0; d < x.rank(); ++d) st[off + d] = x.dim(d) == 1 ? 0 : xs[d];
    strided_copy_any(node_, y, x, 0, st, y.shape());
  }

 private:
  const Node& node_;
};

class PadOp : public Op {
 public:
  explicit PadOp(const CreateContext& c) : node_(c.node) {
    mode_ = c.node.attr_string("mode", "constant");
    if (mode_ != "constant" && mode_ != "reflect" && mode_ != "edge" && mode_ != "wrap")
      fail(ErrorCode::unsupported, c.node.label(), ": pad mode '", mode_, "' is not supported");
    pads_ = c.node.attr_ints("pads");
    value_ = c.node.attr_float("value", 0.0f);
  }
  std::vector<std::int64_t> full_pads(std::size_t r, const std::vector<std::int64_t>& pads,
                                      const std::vector<std::int64_t>& axes_in) const {
    std::vector<std::int64_t> axes = axes_in;
    if (axes.empty())
      for (std::size_t i = 0; i < r; ++i) axes.push_back(static_cast<std::int64_t>(i));
    if (pads.size() != 2 * axes.size())
      fail(ErrorCode::shape, node_.label(), ": pads has ", pads.size(), " values for ", axes.size(), " axes");
    std::vector<std::int64_t> full(2 * r, 0);
    for (std::size_t i = 0; i < axes.size(); ++i) {
      const std::int64_t a = normalize_axis(node_, axes[i], static_cast<std::int64_t>(r));
      full[a] = pads[i];
      full[r + a] = pads[axes.size() + i];
    }
    return full;
  }
  template <class Get>
  std::vector<std::int64_t> pads(std::size_t r, Get&& get) const {
    if (!node_.has_input(1)) return full_pads(r, pads_, {});
    return full_pads(r, get(1), node_.has_input(3) ? get(3) : std::vector<std::int64_t>{});
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const auto p = pads(x.rank(), [&](std::size_t i) { return ints_of(ctx.value(i)); });
    Shape out = x.shape();
    for (std::size_t d = 0; d < out.size(); ++d) {
      if (__builtin_add_overflow(out[d], p[d], &out[d]) || __builtin_add_overflow(out[d], p[out.size() + d], &out[d]))
        ctx.error(cat("pads ", shape_str(p), " overflow the output shape"));
      if (out[d] < 0) ctx.error("pads remove more than the whole axis");
      if (mode_ != "constant" && x.dim(d) == 0 && out[d] > 0) ctx.error("cannot pad an empty axis in this mode");
      if (mode_ == "reflect" && (p[d] >= x.dim(d) || p[out.size() + d] >= x.dim(d)) &&
          (p[d] > 0 || p[out.size() + d] > 0))
        ctx.error("reflect pads must be smaller than the axis");
    }
    ctx.set_output(0, x.dtype(), out);
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    const std::size_t r = x.rank();
    const auto p = pads(r, [&](std::size_t i) { return ints_of(ctx.in(i)); });
    dispatch_bytes(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T fill{};
      if (mode_ == "constant") {
        if (ctx.has(2) && ctx.in(2).numel() > 0) {
          std::memcpy(&fill, ctx.in(2).raw(), sizeof(T));
        } else if (x.dtype() == DataType::float32) {
          if constexpr (sizeof(T) == sizeof(float)) {
            const float v = value_;
            std::memcpy(&fill, &v, sizeof(T));
          }
        } else if (x.dtype() == DataType::float64) {
          if constexpr (sizeof(T) == sizeof(double)) {
            const double v = value_;
            std::memcpy(&fill, &v, sizeof(T));
          }
        } else {
          fill = static_cast<T>(static_cast<std::int64_t>(value_));
        }
      }
      const T* px = x.data<T>();
      T* py = y.data<T>();
      const auto xs = strides_of(x.shape());
      const Shape& os = y.shape();
      std::vector<std::int64_t> idx(r, 0);
      const std::int64_t total = y.numel();
      for (std::int64_t o = 0; o < total; ++o) {
        std::int64_t off = 0;
        bool outside = false;
        for (std::size_t d = 0; d < r; ++d) {
          std::int64_t i = idx[d] - p[d];
          const std::int64_t n = x.dim(d);
          if (i < 0 || i >= n) {
            if (mode_ == "constant") {
              outside = true;
              break;
            } else if (mode_ == "edge") {
              i = i < 0 ? 0 : n - 1;
            } else if (mode_ == "wrap") {
              i = ((i % n) + n) % n;
            } else {
              const std::int64_t period = 2 * (n - 1);
              if (period == 0) {
                i = 0;
              } else {
                i = ((i % period) + period) % period;
                if (i >= n) i = period - i;
              }
            }
          }
          off += i * xs[d];
        }
        py[o] = outside ? fill : px[off];
        for (std::size_t d = r; d-- > 0;) {
          if (++idx[d] < os[d]) break;
          idx[d] = 0;
        }
      }
    });
  }

 private:
  const Node& node_;
  std::string mode_;
  std::vector<std::int64_t> pads_;
  float value_;
};

class TileOp : public Op {
 public:
  explicit TileOp(const CreateContext& c) : node_(c.node) {
    if (c.node.opset < 6)
      fail(ErrorCode::unsupported, c.node.label(), ": Tile before opset 6 (tiles, axis) is not supported");
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const auto rep = ints_of(ctx.value(1));
    if (rep.size() != x.rank()) ctx.error(cat("repeats has ", rep.size(), " values for rank ", x.rank()));
    Shape out = x.shape();
    for (std::size_t d = 0; d < out.size(); ++d) {
      if (rep[d] < 0) ctx.error("repeats must be non-negative");
      out[d] = mul_saturate(out[d], rep[d]);  // refused by the tensor size limit when huge
    }
    ctx.set_output(0, x.dtype(), out);
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    const std::size_t r = x.rank();
    const auto xs = strides_of(x.shape());
    dispatch_bytes(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = y.data<T>();
      std::vector<std::int64_t> idx(r, 0);
      for (std::int64_t o = 0; o < y.numel(); ++o) {
        std::int64_t off = 0;
        for (std::size_t d = 0; d < r; ++d) off += (idx[d] % x.dim(d)) * xs[d];
        py[o] = px[off];
        for (std::size_t d = r; d-- > 0;) {
          if (++idx[d] < y.dim(d)) break;
          idx[d] = 0;
        }
      }
    });
  }

 private:
  const Node& node_;
};

class RangeOp : public Op {
 public:
  explicit RangeOp(const CreateContext& c) : node_(c.node) {}
  void infer(InferContext& ctx) const override {
    const double s = scalar_of(node_, ctx.value(0), "start"), l = scalar_of(node_, ctx.value(1), "limit"),
                 d = scalar_of(node_, ctx.value(2), "delta");
    if (d == 0) ctx.error("delta must not be 0");
    const double n = std::ceil((l - s) / d);
    ctx.set_output(0, ctx.in(0).dtype(),
                   {computed_extent(node_, "element count", std::isnan(n) ? n : std::max(0.0, n))});
  }
  void run(const RunContext& ctx) const override {
    Tensor& y = ctx.out(0);
    dispatch_numeric(y.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T s = ctx.in(0).data<T>()[0], d = ctx.in(2).data<T>()[0];
      T* p = y.data<T>();
      if constexpr (std::is_integral_v<T>) {
        // Wrapping 64-bit arithmetic: the count comes from doubles, so the last value may
        // step past the type's range by rounding, and signed overflow would be undefined.
        using U = std::uint64_t;
        for (std::int64_t i = 0; i < y.numel(); ++i)
          p[i] = static_cast<T>(static_cast<U>(s) + static_cast<U>(i) * static_cast<U>(d));
      } else {
        for (std::int64_t i = 0; i < y.numel(); ++i) p[i] = static_cast<T>(s + static_cast<T>(i) * d);
      }
    });
  }

 private:
  const Node& node_;
};

class DepthSpaceOp : public Op {
 public:
  explicit DepthSpaceOp(const CreateContext& c) : node_(c.node), to_space_(c.node.op_type == "DepthToSpace") {
    b_ = c.node.attr_int("blocksize", 0);
    if (b_ <= 0) fail(ErrorCode::parse, c.node.label(), ": blocksize must be positive");
    crd_ = c.node.attr_string("mode", "DCR") == "CRD";
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (x.rank() != 4) ctx.error("input must have rank 4");
    const std::int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    if (to_space_) {
      if (c % (b_ * b_)) ctx.error(cat("channels ", c, " are not a multiple of blocksize^2"));
      ctx.set_output(0, x.dtype(), {n, c / (b_ * b_), h * b_, w * b_});
    } else {
      if (h % b_ || w % b_) ctx.error("height and width must be multiples of blocksize");
      ctx.set_output(0, x.dtype(), {n, c * b_ * b_, h / b_, w / b_});
    }
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), b = b_;
    Shape view;
    std::vector<std::int64_t> st;
    if (to_space_) {
      const std::int64_t co = c / (b * b);
      // Output index order: n, co, h, b1, w, b2. Input viewed as DCR [n,b1,b2,co,h,w] or CRD [n,co,b1,b2,h,w].
      const std::int64_t hw = h * w;
      view = {n, co, h, b, w, b};
      if (crd_)
        st = {c * hw, b * b * hw, w, b * hw, 1, hw};
      else
        st = {c * hw, hw, w, b * co * hw, 1, co * hw};
    } else {
      // Output [n, b1, b2, c, ho, wo] from input [n, c, ho, b1, wo, b2].
      const std::int64_t ho = h / b, wo = w / b;
      view = {n, b, b, c, ho, wo};
      st = {c * h * w, w, 1, h * w, b * w, b};
    }
    strided_copy_any(node_, ctx.out(0), x, 0, st, view);
  }

 private:
  const Node& node_;
  bool to_space_;
  std::int64_t b_;
  bool crd_;
};

}  // namespace

std::vector<OpEntry> shape_ops() {
  return {{"Reshape", make_op<ReshapeOp>},
          {"Flatten", make_op<FlattenOp>},
          {"Squeeze", make_op<SqueezeOp>},
          {"Unsqueeze", make_op<SqueezeOp>},
          {"Transpose", make_op<TransposeOp>},
          {"Concat", make_op<ConcatOp>},
          {"Split", make_op<SplitOp>},
          {"Slice", make_op<SliceOp>},
          {"Gather", make_op<GatherOp>},
          {"GatherElements", make_op<GatherElementsOp>},
          {"Shape", make_op<ShapeOp>},
          {"Size", make_op<ShapeOp>},
          {"Cast", make_op<CastOp>},
          {"CastLike", make_op<CastOp>},
          {"Constant", make_op<ConstantOp>},
          {"ConstantOfShape", make_op<ConstantOfShapeOp>},
          {"Expand", make_op<ExpandOp>},
          {"Pad", make_op<PadOp>},
          {"Tile", make_op<TileOp>},
          {"Range", make_op<RangeOp>},
          {"DepthToSpace", make_op<DepthSpaceOp>},
          {"SpaceToDepth", make_op<DepthSpaceOp>}};
}

}  // namespace edgert
