// BatchNormalization in inference mode (opsets 7-15, spatial and per-activation, input
// ranks 1-5, mixed parameter types), with per-channel scale and shift computed once at
// load when the parameters are constants; LRN; InstanceNormalization.
#include <algorithm>
#include <cmath>

#include "../exec/thread_pool.h"
#include "../passes/blocked_layout.h"
#include "common.h"

namespace edgert {
namespace {

class BatchNormOp : public Op {
 public:
  explicit BatchNormOp(const CreateContext& c) : node_(c.node), kernels_(c.kernels) {
    const Node& n = c.node;
    if (n.inputs.size() < 5) fail(ErrorCode::parse, n.label(), ": needs 5 inputs (X, scale, B, mean, var)");
    eps_ = n.attr_float("epsilon", 1e-5f);
    spatial_ = n.opset < 9 ? n.attr_int("spatial", 1) != 0 : true;
    if (n.opset >= 14 && n.attr_int("training_mode", 0) != 0)
      fail(ErrorCode::unsupported, n.label(), ": training mode (training_mode=1) is not supported");
    for (std::size_t i = 1; i < n.outputs.size(); ++i)
      if (n.outputs[i] != kNoValue)
        fail(ErrorCode::unsupported, n.label(),
             ": training mode (outputs beyond Y: running or saved statistics) is not supported");
    // Set by the epilogue fusion pass: an activation and a residual (input 5) in the same pass.
    act_.kind = static_cast<simd::Act>(n.attr_int("_edgert_act", 0));
    act_.alpha = n.attr_float("_edgert_alpha", 0.0f);
    act_.beta = n.attr_float("_edgert_beta", 0.0f);
    residual_first_ = n.attr_int("_edgert_residual_first", 1) != 0;
    const Tensor* p[4] = {c.constant(1), c.constant(2), c.constant(3), c.constant(4)};
    if (p[0] && p[1] && p[2] && p[3]) {
      check_params(p[0]->shape(), p[1]->shape(), p[2]->shape(), p[3]->shape());
      compute(*p[0], *p[1], *p[2], *p[3], scale_, shift_);
      constant_ = true;
    }
    blocked_ = (n.attr_int(kLayoutAttr, 0) & kLayoutInput) != 0;
    if (blocked_) {
      // The layout pass picks spatial BatchNormalizations with constant parameters only.
      if (!constant_ || !spatial_ || n.has_input(5))
        fail(ErrorCode::internal, n.label(), ": a blocked BatchNormalization needs constant parameters");
      // Padded to whole blocks with zeros (the blocked kernel reads 16 channels a vector).
      scale_.resize(round_up(scale_.size(), kBlock), 0.0f);
      shift_.resize(scale_.size(), 0.0f);
    }
  }

  // With a broadcasting residual the output is larger than X, and the planner keeps them apart.
  int inplace_input() const override { return 0; }

  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (x.dtype() != DataType::float32 && x.dtype() != DataType::float64)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    for (std::size_t i = 1; i < 5; ++i)
      if (!dtype_is_float(ctx.in(i).dtype())) ctx.error(cat("parameter ", i, " must be floating point"));
    const std::int64_t expect = channels(x.shape());
    for (std::size_t i = 1; i < 5; ++i)
      if (ctx.in(i).numel() != expect)
        ctx.error(cat("parameter ", i, " has shape ", shape_str(ctx.in(i).shape()), " but the input ",
                      shape_str(x.shape()), " needs ", expect, " values"));
    if (!constant_) check_params(ctx.in(1).shape(), ctx.in(2).shape(), ctx.in(3).shape(), ctx.in(4).shape());
    if (blocked_) {
      if (x.rank() != 4 || x.dtype() != DataType::float32)
        fail(ErrorCode::internal, node_.label(), ": a blocked input must be a 4-D float32 tensor");
      ctx.set_output(0, x.dtype(), x.shape());
      ctx.set_output_storage(0, blocked_bytes(x.shape()));
      return;
    }
    if (ctx.has(5)) {
      if (ctx.in(5).dtype() != x.dtype()) ctx.error("the fused residual's type differs from the input's");
      ctx.set_output(0, x.dtype(), broadcast_shapes(node_, {&x.shape(), &ctx.in(5).shape()}));
    } else {
      ctx.set_output(0, x.dtype(), x.shape());
    }
    if (!constant_) ctx.scratch_bytes = 2 * static_cast<std::size_t>(expect) * sizeof(double);
  }

  void run(const RunContext& ctx) const override {
    if (blocked_) return run_blocked(ctx);
    const Tensor& x = ctx.in(0);
    const float* a = scale_.data();
    const float* b = shift_.data();
    const std::int64_t c = channels(x.shape());
    if (!constant_) {
      float* sa = static_cast<float*>(ctx.scratch);
      float* sb = sa + c;
      std::vector<float> va, vb;
      compute(ctx.in(1), ctx.in(2), ctx.in(3), ctx.in(4), va, vb);
      std::copy(va.begin(), va.end(), sa);
      std::copy(vb.begin(), vb.end(), sb);
      a = sa, b = sb;
    }
    const std::int64_t n = x.rank() <= 1 ? x.numel() : x.dim(0);
    const std::int64_t plane = x.rank() <= 1 ? 1 : x.numel() / std::max<std::int64_t>(1, n * c);
    const Tensor* r = ctx.has(5) ? &ctx.in(5) : nullptr;
    Tensor& y = ctx.out(0);
    if (x.dtype() == DataType::float64 || (r && r->shape() != x.shape())) return run_general(x, r, y, a, b, c, plane);
    const float* px = x.data<float>();
    const float* pr = r ? r->data<float>() : nullptr;
    float* py = y.data<float>();
    const bool plain = act_.kind == simd::Act::none && !r;
    const std::size_t grain =
        static_cast<std::size_t>(std::max<std::int64_t>(1, (1 << 15) / std::max<std::int64_t>(plane, 1)));
    ctx.pool->parallel_for(static_cast<std::size_t>(n * c), grain, [&](std::size_t lo, std::size_t hi) {
      std::size_t i = lo;
      while (i < hi) {
        const std::size_t img = i / static_cast<std::size_t>(c), ch = i % static_cast<std::size_t>(c);
        const std::size_t run = std::min(hi - i, static_cast<std::size_t>(c) - ch);
        const std::size_t off = (img * static_cast<std::size_t>(c) + ch) * static_cast<std::size_t>(plane);
        if (plain) {
          kernels_.affine_nchw_f32(1, run, static_cast<std::size_t>(plane), px + off, py + off, a + ch, b + ch);
        } else {
          kernels_.affine_act_nchw_f32(1, run, static_cast<std::size_t>(plane), px + off, pr ? pr + off : nullptr,
                                       py + off, a + ch, b + ch, act_, residual_first_);
        }
        i += run;
      }
    });
  }

 private:
  // The channel-blocked layout in and out: the per-channel affine map and activation are
  // simd::dwc_f32 at a 1x1 kernel (weights = scale, bias = shift, 16 channels a vector),
  // over runs of pixels of one block. Padding lanes get act(0).
  void run_blocked(const RunContext& ctx) const {
    const Tensor& x = ctx.in(0);
    const std::size_t n = static_cast<std::size_t>(x.dim(0)), pixels = pixels_of(x.shape());
    const std::size_t blocks = scale_.size() / kBlock;
    constexpr std::size_t kRun = 2048;  // pixels per task
    const std::size_t runs = (pixels + kRun - 1) / kRun;
    const float* px = x.data<float>();
    float* py = ctx.out(0).data<float>();
    ctx.pool->parallel_tasks(n * blocks * runs, [&](std::size_t t, std::size_t) {
      const std::size_t nb = t / runs, p0 = t % runs * kRun, b = nb % blocks;
      const float* row = px + (nb * pixels + p0) * kBlock;
      simd::DwcArgs a;
      a.rows = &row;
      a.y = py + (nb * pixels + p0) * kBlock;
      a.ow = a.iw = std::min(kRun, pixels - p0);
      a.kh = a.kw = 1;
      a.w = scale_.data() + b * kBlock;
      a.bias = shift_.data() + b * kBlock;
      a.act = act_;
      kernels_.dwc_f32(a);
    });
  }

  // The fused activation in double precision (the kernels' formulas).
  double act_double(double v) const {
    switch (act_.kind) {
      case simd::Act::none:
        return v;
      case simd::Act::relu:
        return v < 0 ? 0 : v;
      case simd::Act::clip:
        return v < act_.alpha ? act_.alpha : (v > act_.beta ? act_.beta : v);
      case simd::Act::leaky_relu:
        return v < 0 ? v * act_.alpha : v;
      case simd::Act::hard_sigmoid:
        return std::clamp(act_.alpha * v + act_.beta, 0.0, 1.0);
      case simd::Act::hard_swish:
        return v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0);
      case simd::Act::sigmoid:
        return 1.0 / (1.0 + std::exp(-v));
      case simd::Act::silu:
        return v / (1.0 + std::exp(-v));
    }
    return v;
  }

  // float64 data, or a residual that broadcasts: element by element through the offsets.
  void run_general(const Tensor& x, const Tensor* r, Tensor& y, const float* a, const float* b, std::int64_t c,
                   std::int64_t plane) const {
    const Shape& rs = r ? r->shape() : x.shape();
    Broadcaster br(y.shape(), {&x.shape(), &rs});
    const bool f64 = x.dtype() == DataType::float64;
    auto load = [&](const Tensor& t, std::int64_t i) {
      return f64 ? t.data<double>()[i] : static_cast<double>(t.data<float>()[i]);
    };
    br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
      for (std::int64_t k = 0; k < len; ++k) {
        const std::int64_t xi = offs[0] + k * st[0];
        const std::int64_t ch = (xi / plane) % c;
        double v = load(x, xi) * a[ch] + b[ch];
        const double rv = r ? load(*r, offs[1] + k * st[1]) : 0.0;
        if (r && residual_first_) v += rv;
        v = act_double(v);
        if (r && !residual_first_) v += rv;
        if (f64) {
          y.data<double>()[o + k] = v;
        } else {
          y.data<float>()[o + k] = static_cast<float>(v);
        }
      }
    });
  }

  // Number of scale/shift values for an input of this shape.
  std::int64_t channels(const Shape& x) const {
    if (x.size() <= 1) return 1;
    if (spatial_ || x.size() == 2) return x[1];
    return shape_numel(Shape(x.begin() + 1, x.end()));
  }

  void check_params(const Shape& s, const Shape& b, const Shape& m, const Shape& v) const {
    if (s != b || s != m || s != v)
      fail(ErrorCode::shape, node_.label(), ": scale, B, mean and var have different shapes ", shape_str(s), ", ",
           shape_str(b), ", ", shape_str(m), ", ", shape_str(v));
    if (spatial_ && s.size() != 1)
      fail(ErrorCode::shape, node_.label(), ": parameters must be rank 1, got ", shape_str(s));
  }

  void compute(const Tensor& s, const Tensor& bias, const Tensor& mean, const Tensor& var, std::vector<float>& a,
               std::vector<float>& b) const {
    const std::vector<double> vs = tensor_to_doubles(s), vb = tensor_to_doubles(bias), vm = tensor_to_doubles(mean),
                              vv = tensor_to_doubles(var);
    a.resize(vs.size());
    b.resize(vs.size());
    for (std::size_t i = 0; i < vs.size(); ++i) {
      const double ai = vs[i] / std::sqrt(vv[i] + static_cast<double>(eps_));
      a[i] = static_cast<float>(ai);
      b[i] = static_cast<float>(vb[i] - vm[i] * ai);
    }
  }

  const Node& node_;
  const simd::KernelTable& kernels_;
  float eps_;
  bool spatial_ = true, constant_ = false, blocked_ = false;
  simd::ActParams act_;
  bool residual_first_ = true;
  std::vector<float> scale_, shift_;  // blocked: padded to whole blocks with zeros
};

class LrnOp : public Op {
 public:
  explicit LrnOp(const CreateContext& c) : node_(c.node) {
    alpha_ = c.node.attr_float("alpha", 1e-4f);
    beta_ = c.node.attr_float("beta", 0.75f);
    bias_ = c.node.attr_float("bias", 1.0f);
    size_ = c.node.attr_int("size", 0);
    if (size_ <= 0) fail(ErrorCode::parse, c.node.label(), ": size must be positive");
  }
  void infer(InferContext& ctx) const override {
    if (ctx.in(0).dtype() != DataType::float32)
      fail(ErrorCode::unsupported, node_.label(), ": only float32 is supported");
    if (ctx.in(0).rank() < 3) ctx.error("input must have rank 3 or more");
    ctx.set_output(0, DataType::float32, ctx.in(0).shape());
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t n = x.dim(0), c = x.dim(1), plane = x.numel() / (n * c);
    const float* px = x.data<float>();
    float* py = ctx.out(0).data<float>();
    const std::int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;
    for (std::int64_t b = 0; b < n; ++b)
      for (std::int64_t ch = 0; ch < c; ++ch)
        for (std::int64_t i = 0; i < plane; ++i) {
          double sq = 0;
          for (std::int64_t j = std::max<std::int64_t>(0, ch - lo); j <= std::min(c - 1, ch + hi); ++j) {
            const double v = px[(b * c + j) * plane + i];
            sq += v * v;
          }
          const std::int64_t o = (b * c + ch) * plane + i;
          py[o] = static_cast<float>(px[o] / std::pow(bias_ + alpha_ / size_ * sq, beta_));
        }
  }

 private:
  const Node& node_;
  float alpha_, beta_, bias_;
  std::int64_t size_;
};

class InstanceNormOp : public Op {
 public:
  explicit InstanceNormOp(const CreateContext& c) : node_(c.node) { eps_ = c.node.attr_float("epsilon", 1e-5f); }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (x.dtype() != DataType::float32) fail(ErrorCode::unsupported, node_.label(), ": only float32 is supported");
    if (x.rank() < 3) ctx.error("input must have rank 3 or more");
    if (ctx.in(1).numel() != x.dim(1) || ctx.in(2).numel() != x.dim(1)) ctx.error("scale and B must have C values");
    ctx.set_output(0, DataType::float32, x.shape());
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t n = x.dim(0), c = x.dim(1), plane = x.numel() / (n * c);
    const float* px = x.data<float>();
    const float* s = ctx.in(1).data<float>();
    const float* bb = ctx.in(2).data<float>();
    float* py = ctx.out(0).data<float>();
    for (std::int64_t i = 0; i < n * c; ++i) {
      double mean = 0, var = 0;
      for (std::int64_t j = 0; j < plane; ++j) mean += px[i * plane + j];
      mean /= static_cast<double>(plane);
      for (std::int64_t j = 0; j < plane; ++j) var += (px[i * plane + j] - mean) * (px[i * plane + j] - mean);
      var /= static_cast<double>(plane);
      const double a = s[i % c] / std::sqrt(var + eps_);
      for (std::int64_t j = 0; j < plane; ++j)
        py[i * plane + j] = static_cast<float>((px[i * plane + j] - mean) * a + bb[i % c]);
    }
  }

 private:
  const Node& node_;
  float eps_;
};

// LayerNormalization (opset 17): over axes [axis, rank), with Scale and optional B that
// broadcast to the normalized shape; optional Mean and InvStdDev outputs.
class LayerNormOp : public Op {
 public:
  explicit LayerNormOp(const CreateContext& c) : node_(c.node) {
    axis_ = c.node.attr_int("axis", -1);
    eps_ = c.node.attr_float("epsilon", 1e-5f);
    if (c.node.inputs.size() < 2) fail(ErrorCode::parse, c.node.label(), ": needs X and Scale");
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (x.dtype() != DataType::float32 && x.dtype() != DataType::float64)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    const std::int64_t r = static_cast<std::int64_t>(x.rank()), a = normalize_axis(node_, axis_, r);
    const Shape norm(x.shape().begin() + a, x.shape().end());
    for (std::size_t i = 1; i < 3; ++i)
      if (ctx.has(i) && ctx.in(i).dtype() != DataType::float32 && ctx.in(i).dtype() != DataType::float64)
        ctx.error(cat("input ", i, " is ", dtype_name(ctx.in(i).dtype()), "; Scale and B must be float32 or float64"));
    for (std::size_t i = 1; i < 3; ++i)
      if (ctx.has(i) && broadcast_shapes(node_, {&norm, &ctx.in(i).shape()}) != norm)
        ctx.error(
            cat("input ", i, " of shape ", shape_str(ctx.in(i).shape()), " does not broadcast to ", shape_str(norm)));
    ctx.set_output(0, x.dtype(), x.shape());
    Shape stat = x.shape();
    for (std::int64_t d = a; d < r; ++d) stat[d] = 1;
    if (node_.has_output(1)) ctx.set_output(1, DataType::float32, stat);
    if (node_.has_output(2)) ctx.set_output(2, DataType::float32, stat);
    const std::size_t n = static_cast<std::size_t>(shape_numel(norm));
    ctx.scratch_bytes = 2 * n * sizeof(double);
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t r = static_cast<std::int64_t>(x.rank()), a = normalize_axis(node_, axis_, r);
    const Shape norm(x.shape().begin() + a, x.shape().end());
    const std::int64_t inner = shape_numel(norm), outer = inner ? x.numel() / inner : 0;
    // Scale and bias expanded to the normalized shape once per run, in scratch.
    double* sc = static_cast<double*>(ctx.scratch);
    double* bi = sc + inner;
    for (std::size_t i = 1; i < 3; ++i) {
      double* dst = i == 1 ? sc : bi;
      if (!ctx.has(i)) {
        std::fill(dst, dst + inner, 0.0);
        continue;
      }
      const Tensor& t = ctx.in(i);
      Broadcaster br(norm, {&t.shape()});
      br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
        for (std::int64_t k = 0; k < len; ++k) {
          const std::int64_t j = offs[0] + k * st[0];
          dst[o + k] = t.dtype() == DataType::float64 ? t.data<double>()[j] : static_cast<double>(t.data<float>()[j]);
        }
      });
    }
    dispatch_float(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.out(0).data<T>();
      float* pm = ctx.has_out(1) ? ctx.out(1).data<float>() : nullptr;
      float* pv = ctx.has_out(2) ? ctx.out(2).data<float>() : nullptr;
      ctx.pool->parallel_for(static_cast<std::size_t>(outer), 1, [&](std::size_t b, std::size_t e) {
        for (std::size_t o = b; o < e; ++o) {
          const T* row = px + static_cast<std::int64_t>(o) * inner;
          double mean = 0, var = 0;
          for (std::int64_t i = 0; i < inner; ++i) mean += row[i];
          mean /= static_cast<double>(inner);
          for (std::int64_t i = 0; i < inner; ++i) var += (row[i] - mean) * (row[i] - mean);
          var /= static_cast<double>(inner);
          const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps_));
          T* out = py + static_cast<std::int64_t>(o) * inner;
          for (std::int64_t i = 0; i < inner; ++i) out[i] = static_cast<T>((row[i] - mean) * inv * sc[i] + bi[i]);
          if (pm) pm[o] = static_cast<float>(mean);
          if (pv) pv[o] = static_cast<float>(inv);
        }
      });
    });
  }

 private:
  const Node& node_;
  std::int64_t axis_;
  float eps_;
};

}  // namespace

std::vector<OpEntry> norm_ops() {
  return {{"BatchNormalization", make_op<BatchNormOp>},
          {"LRN", make_op<LrnOp>},
          {"InstanceNormalization", make_op<InstanceNormOp>},
          {"LayerNormalization", make_op<LayerNormOp>}};
}

}  // namespace edgert
