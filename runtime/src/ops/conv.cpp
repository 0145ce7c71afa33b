// Conv and ConvTranspose, 1-D to 3-D, any group, dilation, stride, padding and auto_pad.
// Conv: im2col (skipped for 1x1 stride-1 unpadded kernels) and the blocked GEMM, per image
// and group; depthwise kernels (one input channel per group) run a direct loop.
// ConvTranspose: GEMM of the transposed weights with the input, then col2im.
#include <algorithm>

#include "../exec/thread_pool.h"
#include "../passes/blocked_layout.h"
#include "common.h"
#include "gemm_driver.h"
#include "winograd.h"

namespace edgert {
namespace {

struct Geometry {
  // Spatial extents padded to 3 dims (leading 1s).
  std::int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  std::int64_t stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pad[3] = {0, 0, 0};
  std::int64_t in_size() const { return in[0] * in[1] * in[2]; }
  std::int64_t out_size() const { return out[0] * out[1] * out[2]; }
  std::int64_t k_size() const { return k[0] * k[1] * k[2]; }
};

struct ConvAttrs {
  std::string auto_pad;
  std::vector<std::int64_t> kernel, strides, dilations, pads, output_padding, output_shape;
  std::int64_t group = 1;

  explicit ConvAttrs(const Node& n) {
    auto_pad = n.attr_string("auto_pad", "NOTSET");
    kernel = n.attr_ints("kernel_shape");
    strides = n.attr_ints("strides");
    dilations = n.attr_ints("dilations");
    pads = n.attr_ints("pads");
    output_padding = n.attr_ints("output_padding");
    output_shape = n.attr_ints("output_shape");
    group = n.attr_int("group", 1);
    if (group <= 0) fail(ErrorCode::parse, n.label(), ": group must be positive");
    if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
      fail(ErrorCode::parse, n.label(), ": unknown auto_pad '", auto_pad, "'");
  }

  // Fills per-dim vectors and checks their lengths against `sp` spatial dims.
  void resolve(const Node& n, std::size_t sp, const Shape& w_shape, std::vector<std::int64_t>& k,
               std::vector<std::int64_t>& s, std::vector<std::int64_t>& d, std::vector<std::int64_t>& p) const {
    k.assign(w_shape.begin() + 2, w_shape.end());
    if (!kernel.empty() && kernel != k)
      fail(ErrorCode::shape, n.label(), ": kernel_shape ", shape_str(kernel), " disagrees with the weight shape ",
           shape_str(w_shape));
    s = strides.empty() ? std::vector<std::int64_t>(sp, 1) : strides;
    d = dilations.empty() ? std::vector<std::int64_t>(sp, 1) : dilations;
    p = pads.empty() ? std::vector<std::int64_t>(2 * sp, 0) : pads;
    if (s.size() != sp || d.size() != sp || p.size() != 2 * sp)
      fail(ErrorCode::shape, n.label(), ": strides, dilations or pads do not match ", sp, " spatial dims");
    for (std::size_t i = 0; i < sp; ++i)
      if (s[i] <= 0 || d[i] <= 0 || k[i] <= 0)
        fail(ErrorCode::shape, n.label(), ": strides, dilations and kernel dims must be positive");
    for (std::int64_t v : p)
      if (v < 0) fail(ErrorCode::shape, n.label(), ": negative pads are not supported");
    check_geometry(n, "kernel dims", k, 1);
    check_geometry(n, "strides", s, 1);
    check_geometry(n, "dilations", d, 1);
    check_geometry(n, "pads", p, 0);
  }
};

// y = act(x * scale[c] + shift[c] (+ r)) over `planes` planes of `plane` floats, channel
// c = plane index % channels, split across the pool; x, r, y may alias.
void epilogue(const RunContext& ctx, const float* x, const float* r, float* y, const float* scale, const float* shift,
              std::int64_t planes, std::int64_t channels, std::int64_t plane, const simd::ActParams& act,
              bool residual_first) {
  const auto kernel = ctx.kernels.affine_act_nchw_f32;
  const std::size_t grain =
      static_cast<std::size_t>(std::max<std::int64_t>(1, (1 << 15) / std::max<std::int64_t>(plane, 1)));
  ctx.pool->parallel_for(static_cast<std::size_t>(planes), grain, [&](std::size_t lo, std::size_t hi) {
    std::size_t i = lo;
    const std::size_t c = static_cast<std::size_t>(channels), p = static_cast<std::size_t>(plane);
    while (i < hi) {
      const std::size_t ch = i % c, run = std::min(hi - i, c - ch), off = i * p;
      kernel(1, run, p, x + off, r ? r + off : nullptr, y + off, scale + ch, shift + ch, act, residual_first);
      i += run;
    }
  });
}

// Calls f(plane, block, channels) once per image and block of 16 channels, as one task
// each: the offsets of the block's first plane and of the block, and its channel count.
template <class F>
void for_each_block(ThreadPool* pool, const Shape& s, F&& f) {
  const std::size_t n = static_cast<std::size_t>(s[0]), c = static_cast<std::size_t>(s[1]), pixels = pixels_of(s);
  const std::size_t blocks = (c + kBlock - 1) / kBlock;
  pool->parallel_tasks(n * blocks, [&](std::size_t t, std::size_t) {
    const std::size_t i = t / blocks, c0 = t % blocks * kBlock;
    f((i * c + c0) * pixels, (i * blocks * kBlock + c0) * pixels, std::min(kBlock, c - c0));
  });
}
void to_blocked(ThreadPool* pool, const simd::KernelTable& k, const Shape& s, const float* planes, float* blocked) {
  const std::size_t pixels = pixels_of(s);
  for_each_block(pool, s, [&](std::size_t p, std::size_t b, std::size_t nc) {
    k.nc16_pack_f32(pixels, planes + p, pixels, nc, blocked + b);
  });
}
void from_blocked(ThreadPool* pool, const simd::KernelTable& k, const Shape& s, const float* blocked, float* planes) {
  const std::size_t pixels = pixels_of(s);
  for_each_block(pool, s, [&](std::size_t p, std::size_t b, std::size_t nc) {
    k.nc16_unpack_f32(pixels, blocked + b, nc, planes + p, pixels);
  });
}

// The checks Conv and ConvTranspose share: float32 data and weights of matching rank 3-5.
void check_conv_inputs(const InferContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& w = ctx.in(1);
  if (x.dtype() != DataType::float32 || w.dtype() != DataType::float32)
    fail(ErrorCode::unsupported, ctx.node.label(), ": only float32 is supported, got ", dtype_name(x.dtype()));
  if (x.rank() < 3 || x.rank() > 5) ctx.error(cat("input must have rank 3 to 5, got ", shape_str(x.shape())));
  if (w.rank() != x.rank())
    ctx.error(cat("weight shape ", shape_str(w.shape()), " does not match input ", shape_str(x.shape())));
}

// Pad a vector of spatial values to 3 with leading `fill`.
void put3(std::int64_t dst[3], const std::vector<std::int64_t>& v, std::size_t off) {
  for (std::size_t i = 0; i < 3 - off; ++i) dst[off + i] = v[i];
}

// The im2col matrix of one image and group (row p = (channel, kd, kh, kw), column j = output
// position), never stored whole: the GEMM driver asks for one block at a time, written
// straight into its panels.
struct Im2col {
  const float* x;
  const Geometry* g;
  const simd::KernelTable* k;

  static constexpr std::size_t kLine = 512;  // columns gathered per step; a multiple of every nr

  // Columns [j0, j0 + n) of row p into line[0, n): one run per output row, the part
  // inside the image copied (or gathered at column stride > 1), the rest zero.
  void gather(std::size_t p, std::size_t j0, std::size_t n, float* line) const {
    std::int64_t q = static_cast<std::int64_t>(p);
    const std::int64_t kw = q % g->k[2];
    q /= g->k[2];
    const std::int64_t kh = q % g->k[1];
    q /= g->k[1];
    const std::int64_t kd = q % g->k[0], c = q / g->k[0];
    const float* xc = x + c * g->in_size();
    const std::int64_t ow = g->out[2], oh = g->out[1], sx = g->stride[2], iw = g->in[2];
    const std::int64_t off = kw * g->dil[2] - g->pad[2];
    const std::int64_t j = static_cast<std::int64_t>(j0);
    std::int64_t xo = j % ow, y = (j / ow) % oh, z = j / ow / oh;
    for (std::int64_t jj = 0, end = static_cast<std::int64_t>(n); jj < end;) {
      const std::int64_t run = std::min(ow - xo, end - jj);
      float* dst = line + jj;
      const std::int64_t iz = z * g->stride[0] - g->pad[0] + kd * g->dil[0];
      const std::int64_t iy = y * g->stride[1] - g->pad[1] + kh * g->dil[1];
      if (iz < 0 || iz >= g->in[0] || iy < 0 || iy >= g->in[1]) {
        std::fill(dst, dst + run, 0.0f);
      } else {
        const float* src = xc + (iz * g->in[1] + iy) * iw;
        const std::int64_t ix0 = xo * sx + off;
        // Outputs [lo, hi) of the run read inside the row: ix0 + t * sx in [0, iw).
        const std::int64_t lo = std::clamp<std::int64_t>(ix0 >= 0 ? 0 : (-ix0 + sx - 1) / sx, 0, run);
        const std::int64_t hi = std::clamp<std::int64_t>(iw - ix0 <= 0 ? 0 : (iw - ix0 + sx - 1) / sx, lo, run);
        std::fill(dst, dst + lo, 0.0f);
        if (hi > lo)
          k->strided_copy_f32(static_cast<std::size_t>(hi - lo), src + ix0 + lo * sx, static_cast<std::size_t>(sx),
                              dst + lo);
        std::fill(dst + hi, dst + run, 0.0f);
      }
      jj += run;
      xo += run;
      if (xo == ow) {
        xo = 0;
        if (++y == oh) y = 0, ++z;
      }
    }
  }

  static void pack(const void* ctx, std::size_t nr, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t nc,
                   float* out) {
    const Im2col& s = *static_cast<const Im2col*>(ctx);
    if (kLine % nr != 0) fail(ErrorCode::internal, "im2col packing does not support ", nr, "-column panels");
    alignas(64) float line[kLine];
    for (std::size_t c0 = 0; c0 < nc; c0 += kLine) {
      const std::size_t n = std::min(kLine, nc - c0), n_pad = (n + nr - 1) / nr * nr;
      std::fill(line + n, line + n_pad, 0.0f);
      float* base = out + (c0 / nr) * kc * nr;
      for (std::size_t p = p0; p < p0 + kc; ++p) {
        s.gather(p, j0 + c0, n, line);
        float* row = base + (p - p0) * nr;
        for (std::size_t q = 0; q < n_pad; q += nr, row += kc * nr)
          for (std::size_t t = 0; t < nr; ++t) row[t] = line[q + t];
      }
    }
  }
};

// Bias, residual and activation on one output plane while it is still in cache: the
// depthwise paths that finish a plane at a time apply it there instead of in a second pass
// over the whole output.
struct PlaneEpilogue {
  const float* bias = nullptr;      // per channel, or none
  const float* residual = nullptr;  // laid out as the output, or none
  std::int64_t plane_size = 0, channels = 1;
  simd::ActParams act;
  int residual_first = 1;

  bool active() const { return bias || residual || act.kind != simd::Act::none; }
  // Elements [begin, begin + count) of output plane `plane`, which starts at y.
  void apply(const simd::KernelTable& k, std::size_t plane, float* y, std::int64_t begin, std::int64_t count) const {
    if (!active()) return;
    static const float one = 1.0f, zero = 0.0f;
    const std::int64_t p = static_cast<std::int64_t>(plane);
    k.affine_act_nchw_f32(1, 1, static_cast<std::size_t>(count), y + begin,
                          residual ? residual + p * plane_size + begin : nullptr, y + begin, &one,
                          bias ? bias + p % channels : &zero, act, residual_first);
  }
};

class ConvOp : public Op {
 public:
  explicit ConvOp(const CreateContext& c) : node_(c.node), attrs_(c.node), kernels_(c.kernels) {
    if (c.node.inputs.size() < 2) fail(ErrorCode::parse, c.node.label(), ": needs inputs X and W");
    // Set by the epilogue fusion pass: an activation and a residual (input 3) applied with
    // the bias in one pass over the output.
    act_.kind = static_cast<simd::Act>(c.node.attr_int("_edgert_act", 0));
    act_.alpha = c.node.attr_float("_edgert_alpha", 0.0f);
    act_.beta = c.node.attr_float("_edgert_beta", 0.0f);
    residual_first_ = c.node.attr_int("_edgert_residual_first", 1) != 0;
    // Set by the layout pass: input 0 and/or output 0 (with the residual) channel-blocked.
    layout_ = static_cast<int>(c.node.attr_int(kLayoutAttr, 0));
    pack_constant_weights(c);
  }

  /// Constant weights are packed into GEMM panels here; the session then drops the original.
  bool releases_constant(std::size_t input) const override {
    return input == 1 && (!packed_.empty() || wino_ || wino_nc16_ || blocked_panels_ || dwc_weights_);
  }

  void infer(InferContext& ctx) const override {
    check_conv_inputs(ctx);
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    const std::int64_t cin = x.dim(1), cout = w.dim(0), g = attrs_.group;
    if (cin % g != 0 || cout % g != 0 || w.dim(1) * g != cin)
      ctx.error(cat("input channels ", cin, ", weight ", shape_str(w.shape()), " and group ", g, " disagree"));
    if (ctx.has(2) && (ctx.in(2).rank() != 1 || ctx.in(2).dim(0) != cout))
      ctx.error(cat("bias shape ", shape_str(ctx.in(2).shape()), " must be [", cout, "]"));
    Geometry geo = geometry(x.shape(), w.shape());
    Shape out = {x.dim(0), cout};
    const std::size_t sp = x.rank() - 2;
    for (std::size_t i = 0; i < sp; ++i) out.push_back(geo.out[3 - sp + i]);
    std::size_t tmp = 0;
    if (ctx.has(3)) {
      const Shape& rs = ctx.in(3).shape();
      if (ctx.in(3).dtype() != DataType::float32) ctx.error("the fused residual must be float32");
      ctx.set_output(0, DataType::float32, broadcast_shapes(node_, {&out, &rs}));
      if (rs != out) tmp = align64(static_cast<std::size_t>(shape_numel(out)) * sizeof(float));
    } else {
      ctx.set_output(0, DataType::float32, out);
    }
    if (layout_ & kLayoutOutput) ctx.set_output_storage(0, blocked_bytes(ctx.outputs[0].shape()));
    if (wino_nc16_) {
      ctx.scratch_bytes = wino_nc16_->scratch_bytes(winograd_shape(geo, cin, cout), ctx.threads);
      return;
    }
    if (layout_) {
      const bool residual_fits = !ctx.has(3) || ctx.in(3).shape() == out;
      if (residual_fits && blocked_panels_) {
        ctx.scratch_bytes = blocked_scratch_bytes(geo, cin, cout, ctx.has(3), ctx.threads);
        return;
      }
      if (residual_fits && blocked_dwc(geo, x.shape(), w.shape())) {
        ctx.scratch_bytes = static_cast<std::size_t>(ctx.threads) *
                            dwc_plan(geo, layout_ & kLayoutInput, layout_ & kLayoutOutput).floats * sizeof(float);
        return;
      }
      // Anything else in the blocked layout runs on planes, converted on the way in and out
      // (see run), the product of a pointwise or depthwise kernel first into planes.
      tmp += (layout_ & kLayoutInput ? align64(static_cast<std::size_t>(x.numel()) * sizeof(float)) : 0) +
             (layout_ & kLayoutOutput ? align64(ctx.outputs[0].nbytes()) : 0) +
             (layout_ & kLayoutOutput && ctx.has(3) ? align64(ctx.in(3).nbytes()) : 0);
      if (blocked_panels_ || blocked_dwc(geo, x.shape(), w.shape())) {
        const std::size_t product = static_cast<std::size_t>(shape_numel(out)) * sizeof(float);
        ctx.scratch_bytes = tmp + align64(product) + align64(blocked_bytes(out)) +
                            std::max(blocked_panels_ ? blocked_scratch_bytes(geo, cin, cout, false, ctx.threads) : 0,
                                     static_cast<std::size_t>(ctx.threads) *
                                         dwc_plan(geo, layout_ & kLayoutInput, false).floats * sizeof(float));
        return;
      }
    }
    std::size_t col = 0;
    if (wino_) {
      ctx.scratch_bytes = tmp + align64(2 * static_cast<std::size_t>(cout) * sizeof(float)) +
                          wino_->scratch_bytes(winograd_shape(geo, cin, cout), ctx.threads);
      return;
    }
    if (depthwise(x.shape(), w.shape())) {
      if (use_dwc(geo, w.dim(0) == x.dim(1)))
        col = static_cast<std::size_t>(ctx.threads) * dwc_plan(geo, false, false).floats * sizeof(float);
      else if (dw3x3(geo) && w.dim(0) == x.dim(1))
        col = geo.stride[2] == 2 ? static_cast<std::size_t>(ctx.threads) * dw3x3s2_floats(geo) * sizeof(float)
              : dw3x3_flat(geo)  ? static_cast<std::size_t>(ctx.threads) * dw3x3_flat_floats(geo) * sizeof(float)
                                 : align64(static_cast<std::size_t>(geo.in[2]) * sizeof(float));  // a zero row
    }
    ctx.scratch_bytes = tmp + col + gemm_scratch_bytes(kernels_, ctx.threads);
  }

  void run(const RunContext& ctx) const override {
    if (!layout_)
      return run_planes(ctx, ctx.in(0), ctx.has(3) ? &ctx.in(3) : nullptr, ctx.out(0), static_cast<char*>(ctx.scratch));
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    Tensor& y = ctx.out(0);
    const Geometry geo = geometry(x.shape(), w.shape());
    const Tensor* r = ctx.has(3) ? &ctx.in(3) : nullptr;
    // The blocked kernels take a residual of the convolution's own shape (which y then has).
    const Shape cshape = {x.dim(0), w.dim(0), geo.out[1], geo.out[2]};
    const bool residual_fits = !r || (r->shape() == cshape && y.shape() == cshape);
    const float* bias = ctx.has(2) ? ctx.in(2).data<float>() : nullptr;
    const bool x_blocked = layout_ & kLayoutInput, y_blocked = layout_ & kLayoutOutput;
    if (wino_nc16_) {  // blocked in and out, no residual (see pack_constant_weights)
      const WinogradShape ws = winograd_shape(geo, x.dim(1), w.dim(0));
      const std::size_t x_image = round_up(static_cast<std::size_t>(ws.cin), kBlock) * pixels_of(x.shape());
      const std::size_t y_image = round_up(static_cast<std::size_t>(ws.cout), kBlock) * pixels_of(y.shape());
      for (std::int64_t b = 0; b < x.dim(0); ++b)
        wino_nc16_->run(ctx.pool, ws, x.data<float>() + b * x_image, bias, act_, y.data<float>() + b * y_image,
                        ctx.scratch);
      return;
    }
    if (residual_fits && blocked_panels_) {
      run_blocked(ctx, geo, x, x_blocked, bias, r ? r->data<float>() : nullptr, act_, y, y_blocked,
                  static_cast<float*>(ctx.scratch));
      return;
    }
    if (residual_fits && blocked_dwc(geo, x.shape(), w.shape())) {
      const PlaneEpilogue fin{bias, r ? r->data<float>() : nullptr, geo.out_size(), w.dim(0), act_, residual_first_};
      run_dwc(ctx, geo, x.data<float>(), w.data<float>(), dwc_weights_.get(), y.data<float>(), x.dim(0), x.dim(1), bias,
              static_cast<float*>(ctx.scratch), fin, x_blocked, y_blocked);
      return;
    }
    // The rest on planes: blocked inputs unpacked into scratch, the result packed back (the
    // Winograd convolutions, and a fused residual that broadcasts).
    char* scratch = static_cast<char*>(ctx.scratch);
    auto take = [&](std::size_t bytes) {
      float* p = reinterpret_cast<float*>(scratch);
      scratch += align64(bytes);
      return p;
    };
    Tensor rv, yv = y;
    if (y_blocked) {
      yv.set_data(take(y.nbytes()));
      if (r) {
        rv = *r;
        rv.set_data(take(r->nbytes()));
        from_blocked(ctx.pool, kernels_, r->shape(), r->data<float>(), rv.data<float>());
      }
    }
    const Tensor* rp = r ? (y_blocked ? &rv : r) : nullptr;
    if (!residual_fits && (blocked_panels_ || blocked_dwc(geo, x.shape(), w.shape()))) {
      // These kernels keep no planes weights: the product and bias on planes first.
      float* cp = take(static_cast<std::size_t>(shape_numel(cshape)) * sizeof(float));
      if (blocked_panels_) {
        Tensor cb = Tensor::view(DataType::float32, cshape, take(blocked_bytes(cshape)));
        run_blocked(ctx, geo, x, x_blocked, bias, nullptr, {}, cb, true, reinterpret_cast<float*>(scratch));
        from_blocked(ctx.pool, kernels_, cshape, cb.data<float>(), cp);
      } else {
        const PlaneEpilogue fin{bias, nullptr, geo.out_size(), w.dim(0), {}, 1};
        run_dwc(ctx, geo, x.data<float>(), w.data<float>(), dwc_weights_.get(), cp, x.dim(0), x.dim(1), bias,
                reinterpret_cast<float*>(scratch), fin, x_blocked, false);
      }
      add_broadcast_residual(cp, cshape, *rp, yv);
    } else {
      if (dwc_weights_) fail(ErrorCode::internal, node_.label(), ": depthwise weights packed for blocks only");
      Tensor xv = x;
      if (x_blocked) {
        xv.set_data(take(x.nbytes()));
        from_blocked(ctx.pool, kernels_, x.shape(), x.data<float>(), xv.data<float>());
      }
      run_planes(ctx, xv, rp, yv, scratch);
    }
    if (y_blocked) to_blocked(ctx.pool, kernels_, y.shape(), yv.data<float>(), y.data<float>());
  }

 private:
  // The convolution on planes (NCHW); x, the residual r and y may be views of scratch.
  void run_planes(const RunContext& ctx, const Tensor& x, const Tensor* r, Tensor& y, char* scratch) const {
    const Tensor& w = ctx.in(1);
    const Geometry geo = geometry(x.shape(), w.shape());
    const std::int64_t n = x.dim(0), cin = x.dim(1), cout = w.dim(0), g = attrs_.group;
    const std::int64_t cin_g = cin / g, cout_g = cout / g;
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
    // Scratch: the convolution's own output when a fused residual broadcasts, then the
    // depthwise buffers or the GEMM's packing.
    const float* bias = ctx.has(2) ? ctx.in(2).data<float>() : nullptr;
    Shape cshape = {n, cout};
    for (std::size_t i = 2; i < x.rank(); ++i) cshape.push_back(geo.out[3 - (x.rank() - 2) + i - 2]);
    const bool broadcast_residual = r && r->shape() != cshape;
    float* py = y.data<float>();
    if (broadcast_residual) {
      py = reinterpret_cast<float*>(scratch);
      scratch += align64(static_cast<std::size_t>(shape_numel(cshape)) * sizeof(float));
    }
    // What follows the product: bias, then (unless it broadcasts) the residual and activation.
    const float* pr = r && !broadcast_residual ? r->data<float>() : nullptr;
    const simd::ActParams act = broadcast_residual ? simd::ActParams{} : act_;
    const std::int64_t osz = geo.out_size();
    if (wino_) {
      // Winograd adds the bias when transforming back; the residual and activation follow
      // in one pass over the output.
      float* ones = reinterpret_cast<float*>(scratch);
      scratch += align64(2 * static_cast<std::size_t>(cout) * sizeof(float));
      const WinogradShape ws = winograd_shape(geo, cin, cout);
      for (std::int64_t b = 0; b < n; ++b)
        wino_->run(ctx.pool, ws, px + b * cin * geo.in_size(), bias, py + b * cout * osz, scratch);
      if (pr || act.kind != simd::Act::none) {
        std::fill(ones, ones + cout, 1.0f);
        std::fill(ones + cout, ones + 2 * cout, 0.0f);
        epilogue(ctx, py, pr, py, ones, ones + cout, n * cout, cout, osz, act, residual_first_);
      }
    } else if (depthwise(x.shape(), w.shape())) {
      // Every depthwise path applies bias, residual and activation per plane (or block of
      // planes) while the plane is in cache.
      const PlaneEpilogue fin{bias, pr, osz, cout, act, residual_first_};
      if (use_dwc(geo, cout_g == 1)) {
        run_dwc(ctx, geo, px, pw, nullptr, py, n, cin, bias, reinterpret_cast<float*>(scratch), fin, false, false);
      } else if (dw3x3(geo) && cout_g == 1) {
        float* buffers = reinterpret_cast<float*>(scratch);
        if (geo.stride[2] == 2)
          run_dw3x3s2(ctx, geo, px, pw, py, n * cin, cin, buffers, fin);
        else if (dw3x3_flat(geo))
          run_dw3x3_flat(ctx, geo, px, pw, py, n * cin, cin, buffers, fin);
        else
          run_dw3x3(ctx, geo, px, pw, py, n * cin, cin, buffers, fin);
      } else {
        run_depthwise(ctx, geo, px, pw, py, n, cin, cout_g, fin);
      }
    } else {
      const std::int64_t kdim = cin_g * geo.k_size();
      const bool pw1 = pointwise(geo);
      const bool fuse = bias || pr || act.kind != simd::Act::none;
      for (std::int64_t b = 0; b < n; ++b) {
        for (std::int64_t gi = 0; gi < g; ++gi) {
          const float* xg = px + (b * cin + gi * cin_g) * geo.in_size();
          const std::int64_t first = b * cout + gi * cout_g;  // first output plane
          float* yg = py + first * osz;
          const Im2col source{xg, &geo, &kernels_};
          const BSource bs = pw1 ? BSource(MatrixRef{xg, osz, 1}) : BSource(&Im2col::pack, &source);
          simd::GemmEpilogue ep;
          ep.shift = bias ? bias + gi * cout_g : nullptr;
          ep.residual = pr ? pr + first * osz : nullptr;
          ep.ldr = static_cast<std::size_t>(osz);
          ep.act = act;
          ep.residual_first = residual_first_;
          if (!packed_.empty()) {
            gemm_f32_packed(kernels_, ctx.pool, static_cast<std::size_t>(osz), packed_[static_cast<std::size_t>(gi)],
                            bs, yg, static_cast<std::size_t>(osz), false, scratch, fuse ? &ep : nullptr);
          } else {
            gemm_f32(kernels_, ctx.pool, static_cast<std::size_t>(cout_g), static_cast<std::size_t>(osz),
                     static_cast<std::size_t>(kdim), MatrixRef{pw + gi * cout_g * kdim, kdim, 1}, bs, yg,
                     static_cast<std::size_t>(osz), false, scratch, fuse ? &ep : nullptr);
          }
        }
      }
    }
    if (broadcast_residual) add_broadcast_residual(py, cshape, *r, y);
  }

  // y = act(conv (+) r) element by element, r broadcasting: conv holds the product and bias
  // on planes of shape cshape, r and y are planes.
  void add_broadcast_residual(const float* py, const Shape& cshape, const Tensor& r, Tensor& y) const {
    Broadcaster br(y.shape(), {&cshape, &r.shape()});
    const float* prb = r.data<float>();
    float* out = y.data<float>();
    br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
      for (std::int64_t k = 0; k < len; ++k) {
        float v = py[offs[0] + k * st[0]];
        const float rv = prb[offs[1] + k * st[1]];
        if (residual_first_) v += rv;
        v = simd::reference::apply_act(v, act_);
        if (!residual_first_) v += rv;
        out[o + k] = v;
      }
    });
  }

  bool depthwise(const Shape& x, const Shape& w) const { return attrs_.group > 1 && w[1] == 1 && x[1] == attrs_.group; }

  // One packed A per group, for a float32 constant weight the GEMM path will use; weights
  // infer() is going to reject, and depthwise ones on planes (a direct loop), stay as they are.
  void pack_constant_weights(const CreateContext& c) {
    const Tensor* w = c.constant(1);
    if (!w || w->dtype() != DataType::float32 || !w->has_data() || w->rank() < 3 || w->numel() == 0) return;
    const std::int64_t g = attrs_.group, cout = w->dim(0);
    // A depthwise convolution in a blocked chain (always run_dwc, see blocked_dwc): its
    // weights in the kernel's layout, each block's taps as [tap][16] (zero past the channels),
    // instead of transposed again by every task of every run.
    if (layout_ && g > 1 && w->rank() == 4 && w->dim(1) == 1 && cout == g) {
      const std::size_t taps = static_cast<std::size_t>(w->dim(2) * w->dim(3)), co = static_cast<std::size_t>(cout);
      dwc_weights_ = alloc_packed(round_up(co, kBlock) * taps);
      for (std::size_t c0 = 0; c0 < co; c0 += kBlock)
        kernels_.nc16_pack_f32(taps, w->data<float>() + c0 * taps, taps, std::min(kBlock, co - c0),
                               dwc_weights_.get() + c0 * taps);
      return;
    }
    const bool suits = Winograd23::suits_conv(w->shape(), g, attrs_.strides, attrs_.dilations);
    // F(m x m, 3x3) on blocks where the layout pass chose it and both ends are blocked.
    const std::int64_t tile = c.node.attr_int(kWinogradNc16Attr, 0);
    if ((tile == 2 || tile == 4) && layout_ == (kLayoutInput | kLayoutOutput) && !c.node.has_input(3) &&
        Winograd23::stride1_3x3(w->shape(), g, attrs_.strides, attrs_.dilations)) {
      wino_nc16_ = std::make_unique<WinogradNc16>(kernels_, w->data<float>(), cout, w->dim(1), static_cast<int>(tile));
      return;
    }
    const bool winograd = suits && !(layout_ & kLayoutInput && c.node.attr_int(kShiftedAttr, 0));
    // A convolution writing the blocked layout runs the transposed product (pixels x output
    // channels): its weights become B panels, column = output channel, padded to whole
    // blocks; row p = (input channel, ky, kx) as in the weight, or, when the input is
    // blocked, (ky, kx, input channel padded to whole blocks).
    // A shifted convolution (see Shifted) reading blocks may write planes too.
    const bool ones = std::all_of(attrs_.strides.begin(), attrs_.strides.end(), [](auto e) { return e == 1; });
    const bool to_planes = layout_ == kLayoutInput && ones && !c.node.has_input(3);
    if ((layout_ & kLayoutOutput || to_planes) && g == 1 && w->rank() == 4 && !winograd) {
      const std::size_t taps = static_cast<std::size_t>(w->dim(2) * w->dim(3)), co = static_cast<std::size_t>(cout);
      const std::size_t ci = static_cast<std::size_t>(w->dim(1));
      const bool zeros = std::all_of(attrs_.pads.begin(), attrs_.pads.end(), [](auto e) { return e == 0; });
      // As pointwise(geometry): a 1x1 at stride 1 without padding reads blocks in place.
      regrouped_ = layout_ & kLayoutInput && !(taps == 1 && ones && (attrs_.auto_pad != "NOTSET" || zeros));
      const std::size_t ci16 = round_up(ci, kBlock), kdim = regrouped_ ? taps * ci16 : ci * taps;
      const std::size_t nr = kernels_.gemm_nr, cols = round_up(round_up(co, kBlock), nr), size = cols * kdim;
      // Output channel o is column o % nr of panel o / nr (kdim rows of nr); padding rows and
      // columns are zero. Sixteen output channels at a time, their weight rows (ci * taps
      // floats each) are transposed in registers into [p][16] (nc16_pack), then each row's
      // values go to their panel row: row p as in the weight ((input channel, ky, kx)) or,
      // regrouped, row t * ci16 + c for channel c at tap t.
      blocked_panels_ = alloc_packed(size);
      const float* src = w->data<float>();
      const std::size_t ksrc = ci * taps, width = std::min(nr, kBlock);
      std::unique_ptr<float[]> tr(new float[ksrc * kBlock]);
      for (std::size_t o0 = 0; o0 < cols; o0 += kBlock) {
        const std::size_t nc = o0 < co ? std::min(kBlock, co - o0) : 0;
        kernels_.nc16_pack_f32(ksrc, nc ? src + o0 * ksrc : src, ksrc, nc, tr.get());
        for (std::size_t w0 = 0; w0 < kBlock; w0 += width) {
          float* col = blocked_panels_.get() + (o0 + w0) / nr * nr * kdim + (o0 + w0) % nr;
          auto put = [&](std::size_t row, const float* from) {
            float* d = col + row * nr;
            if (from)
              std::copy_n(from + w0, width, d);
            else
              std::fill_n(d, width, 0.0f);
          };
          for (std::size_t t = 0; t < (regrouped_ ? taps : 0); ++t)
            for (std::size_t c = 0; c < ci16; ++c)
              put(t * ci16 + c, c < ci ? tr.get() + (c * taps + t) * kBlock : nullptr);
          for (std::size_t p = 0; p < (regrouped_ ? 0 : ksrc); ++p) put(p, tr.get() + p * kBlock);
        }
      }
      return;
    }
    if (winograd) {
      wino_ = std::make_unique<Winograd23>(kernels_, w->data<float>(), cout, w->dim(1));
      return;
    }
    if (g < 1 || cout % g != 0 || (g > 1 && w->dim(1) == 1)) return;
    const std::int64_t cout_g = cout / g, kdim = w->numel() / cout;
    packed_.reserve(static_cast<std::size_t>(g));
    for (std::int64_t gi = 0; gi < g; ++gi)
      packed_.push_back(gemm_pack_a(kernels_, static_cast<std::size_t>(cout_g), static_cast<std::size_t>(kdim),
                                    MatrixRef{w->data<float>() + gi * cout_g * kdim, kdim, 1}));
  }
  // Rows of k per part of run_blocked's sum (a multiple of the block): a panel's part is 16
  // KiB of weights, which stay in L1 while the tiles pass (128 rows of 32 columns on
  // AVX-512, 256 of 16 on AVX2, 512 of 8 on NEON). AVX2 took 128 before: bench_conv, one
  // thread, Zen 3, min of 3 alternating rounds in each order, us: mobilenetv2 pw_960_320_7
  // 364-375 -> 357-359, pw_320_1280_7 500-529 -> 486-491, pw_576_96_14 260-267 -> 245-254,
  // resnet50 res5 1x1s 2-5% faster, its 3x3s at stride 2 within +-3%; in the model
  // mobilenetv2's 7x7 layers took 2.56 -> 2.38 ms (per-node medians, 4 alternating runs).
  std::size_t blocked_kc() const { return 4096 / kernels_.gemm_nr; }
  // Pixels per task chunk of run_blocked. Each chunk reads every weight panel once, so a map
  // with fewer pixels than output channels (weights outweighing the input) is one chunk when
  // its input rows fit in twice the L2, split across threads by panels. Otherwise a chunk's
  // input rows (kdim floats a pixel) fill about half the L2 and stay there while the
  // panels, each one sequential stream, pass over them. The L2 is this machine's (it was
  // taken as 2 MiB before; on Zen 3's 512 KiB, bench_conv with chunks sized to it, one
  // thread, min of 5 alternating rounds in each order: resnet50 res3 512->128 1x1 1-5%
  // faster, mobilenetv2 144->24 1-5%, res2 256->64 0-3% slower, stride-2 3x3s within +-4%).
  std::size_t blocked_chunk_pixels(std::size_t kdim, std::size_t pixels, std::size_t n16) const {
    const std::size_t half_l2 = simd::l2_cache_bytes() / 8;  // floats
    const std::size_t mr = kernels_.gemm_mr, all = round_up(pixels, mr);
    if (n16 >= pixels && kdim * all <= 4 * half_l2) return all;
    return std::clamp<std::size_t>(half_l2 / std::max<std::size_t>(kdim, 1) / mr, 1, 4096 / mr) * mr;
  }
  // Pixels per tile of run_blocked's pointwise and im2col runs: gemm_mr, or the kernel's
  // shorter full-width tile (pointwise_short_mr) where that takes at least 3% fewer kernel
  // steps. A tile of r pixels runs in the kernel's smallest register block of at least r
  // rows (gemm_mr / 3 apart, and the short one), and a step of that block takes at least
  // as long as one of 4 rows: fewer than 8 accumulators (4 rows of two vectors) wait on the
  // FMA latency (4 cycles on two pipes) instead of keeping both pipes busy. A 7x7 map's 49
  // pixels: AVX-512, 4 tiles of 12 and one of 1 pixel in the 4-row block (52 steps) or 7 of 7
  // (49); AVX2, 8 of 6 and one in the 2-row block taking 4 (52) or 9 of 5 and one of 4 (49).
  // bench_conv .../blocked, 1 thread, Zen 4, us, min of 3, tiles of 7 where 7 divided the
  // map: resnet50 res5_1x1_2048_512 994 -> 929, res5_1x1_512_2048 987 -> 924, res5_3x3_512
  // 2344 -> 2212, res5_3x3s2_512 2330 -> 2153, mobilenetv2 pw_960_320_7 298 -> 273; 14x14
  // maps (196 = 16 x 12 + 4) lose 0-2% with 7 and keep 12. AVX2 in tiles of 5 (Zen 3, one
  // thread, 150 pairs of runs in one process): mobilenetv2's 7x7 1x1s 1.5-3% faster (the
  // model 0.6%), resnet50's res5 1x1s 1-2.5%.
  std::size_t tile_rows(std::size_t pixels) const {
    const std::size_t mr = kernels_.gemm_mr, alt = kernels_.pointwise_short_mr;
    if (alt == 0) return mr;
    auto steps = [&](std::size_t tile) {
      const std::size_t rem = pixels % tile;
      std::size_t block = rem ? round_up(rem, mr / 3) : 0;
      if (rem && rem <= alt) block = std::min(block, alt);
      return pixels / tile * std::max<std::size_t>(tile, 4) + (rem ? std::max<std::size_t>(block, 4) : 0);
    };
    return steps(alt) * 100 <= steps(mr) * 97 ? alt : mr;
  }
  // A 2-D convolution at stride 1 reading blocks (any kernel, padding and dilation) runs
  // `shifted`, without im2col: output pixel (oy, ox) is position oy * wp + ox of a zero-padded
  // copy of the input (hp rows of wp pixels per block, then gemm_mr pixels of zeros for the
  // kernel's whole tiles), and tap (ky, kx) reads the positions shifted by ky * dy * wp +
  // kx * dx, so each tap's part of the sum is the pointwise kernel over a run of positions.
  // The wp - out_w positions past each row's end are computed and dropped (a fused residual,
  // which would be read there, takes the im2col path).
  struct Shifted {
    std::size_t wp, hp, positions, plane;
  };
  // Shifted runs where its dropped positions cost less than im2col's gather, which is
  // spread over the output channels: up to 16 / n16 more tiles (a 7x7 map's 61 positions
  // against 49 pixels pay at 32 channels, not at 512), and always when writing planes (the
  // im2col kernel writes blocks only).
  bool shifted(const Geometry& g, std::size_t cout, bool residual) const {
    if (!regrouped_ || residual || g.in[0] != 1 || g.k[0] != 1 || g.stride[1] != 1 || g.stride[2] != 1) return false;
    if (!(layout_ & kLayoutOutput)) return true;
    const std::size_t mr = kernels_.gemm_mr, n16 = round_up(cout, kBlock);
    const std::size_t tiles = (shifted_plan(g).positions + mr - 1) / mr;
    const std::size_t im2col_tiles = (static_cast<std::size_t>(g.out_size()) + mr - 1) / mr;
    return tiles * n16 <= im2col_tiles * (n16 + kBlock);
  }
  Shifted shifted_plan(const Geometry& g) const {
    Shifted s;
    s.wp = static_cast<std::size_t>(g.out[2] + (g.k[2] - 1) * g.dil[2]);
    s.hp = static_cast<std::size_t>(g.out[1] + (g.k[1] - 1) * g.dil[1]);
    s.positions = (static_cast<std::size_t>(g.out[1]) - 1) * s.wp + static_cast<std::size_t>(g.out[2]);
    s.plane = s.hp * s.wp + kernels_.gemm_mr;
    return s;
  }
  // A 2-D convolution at column stride 1 or 2 reading planes of fewer channels than a block
  // (an image's first layer: RGB in, blocks out) runs `direct`, without im2col: its tiles
  // are runs of gemm_mr pixels of one output row, and the pointwise kernel gathers A through
  // one offset per (channel, ky, kx) into a zero-padded copy of the image's planes (hp rows
  // of wp pixels each, the pixels of a tile stride apart; gemm_mr * stride floats of zeros
  // after the last plane for the reads of a partial tile's rows that are not stored).
  struct Direct {
    std::size_t wp, hp, plane, floats, tiles_per_row;
  };
  bool direct(const Geometry& g, std::size_t cin) const {
    if (regrouped_ || layout_ & kLayoutInput || pointwise(g) || g.in[0] != 1 || g.k[0] != 1 || cin >= kBlock ||
        (g.stride[2] != 1 && g.stride[2] != 2))
      return false;
    return cin * direct_plan(g).plane < (std::size_t{1} << 31);
  }
  Direct direct_plan(const Geometry& g) const {
    Direct d;
    d.wp = static_cast<std::size_t>((g.out[2] - 1) * g.stride[2] + (g.k[2] - 1) * g.dil[2] + 1);
    d.hp = static_cast<std::size_t>((g.out[1] - 1) * g.stride[1] + (g.k[1] - 1) * g.dil[1] + 1);
    d.plane = d.hp * d.wp;
    d.floats = d.plane + kernels_.gemm_mr * static_cast<std::size_t>(g.stride[2]);
    d.tiles_per_row = (static_cast<std::size_t>(g.out[2]) + kernels_.gemm_mr - 1) / kernels_.gemm_mr;
    return d;
  }
  // Floats of one worker's buffer for run_blocked: a partial tile's input (pointwise), the
  // chunk's im2col rows, or (shifted) one panel's products for the chunk's positions; none
  // for a direct run.
  std::size_t blocked_temp_floats(const Geometry& g, std::int64_t cin, std::int64_t cout, bool residual) const {
    const std::size_t kdim = blocked_kdim(g, cin), n16 = round_up(static_cast<std::size_t>(cout), kBlock);
    if (pointwise(g)) return round_up(static_cast<std::size_t>(cin), kBlock) * kernels_.gemm_mr;
    if (direct(g, static_cast<std::size_t>(cin))) return 0;
    if (shifted(g, static_cast<std::size_t>(cout), residual)) {
      const std::size_t cin16 = round_up(static_cast<std::size_t>(cin), kBlock);
      return blocked_chunk_pixels(cin16, shifted_plan(g).positions, n16) * round_up(kernels_.gemm_nr + kBlock, kBlock);
    }
    return kdim * blocked_chunk_pixels(kdim, static_cast<std::size_t>(g.out_size()), n16);
  }
  // run_blocked's scratch: the padded bias, the workers' buffers and (shifted, direct) one
  // image's padded input (direct: then the offsets).
  std::size_t blocked_scratch_bytes(const Geometry& g, std::int64_t cin, std::int64_t cout, bool residual,
                                    int threads) const {
    std::size_t floats =
        align64(round_up(static_cast<std::size_t>(cout), kernels_.gemm_nr) * sizeof(float)) / sizeof(float) +
        static_cast<std::size_t>(std::max(threads, 1)) * blocked_temp_floats(g, cin, cout, residual);
    if (direct(g, static_cast<std::size_t>(cin)))
      floats += static_cast<std::size_t>(cin) * direct_plan(g).floats + blocked_kdim(g, cin);
    else if (shifted(g, static_cast<std::size_t>(cout), residual))
      floats += round_up(static_cast<std::size_t>(cin), kBlock) * shifted_plan(g).plane;
    return floats * sizeof(float);
  }
  // Rows of the transposed product's weight panels (see pack_constant_weights).
  std::size_t blocked_kdim(const Geometry& g, std::int64_t cin) const {
    const std::size_t c = static_cast<std::size_t>(cin), taps = static_cast<std::size_t>(g.k_size());
    return regrouped_ ? taps * round_up(c, kBlock) : c * taps;
  }

  // A convolution writing the blocked layout: per image, the transposed product
  // Y[pixel, out channel] = X[pixel, k] * W^T by simd::pointwise_nc16_f32 tiles (gemm_mr
  // pixels by gemm_nr channels). A 1x1 reads its input in place from either layout; a
  // stride-1 kernel on blocks runs shifted (see Shifted), a stem on planes direct (see
  // Direct); any other kernel gathers the
  // chunk's im2col rows, from planes one row per (channel, tap), from blocks one block of 16
  // channels per (tap, block, pixel). The channels are padded to whole blocks (zero weights
  // and bias), so every lane is written. A task takes a chunk of pixel tiles and a group of
  // column panels; each output element is one kernel call per part of the sum, summed in the
  // same order whatever the chunks, so the result does not depend on the thread count.
  void run_blocked(const RunContext& ctx, const Geometry& g, const Tensor& x, bool x_blocked, const float* bias,
                   const float* residual, const simd::ActParams& act, Tensor& y, bool y_blocked, float* scratch) const {
    const std::size_t nr = kernels_.gemm_nr;
    const std::size_t n = static_cast<std::size_t>(x.dim(0)), cin = static_cast<std::size_t>(x.dim(1));
    const std::size_t cout = static_cast<std::size_t>(y.dim(1)), pixels = static_cast<std::size_t>(g.out_size());
    const std::size_t n16 = round_up(cout, kBlock), cin16 = round_up(cin, kBlock);
    const bool gather = direct(g, cin);
    const bool shift = !gather && shifted(g, cout, residual != nullptr), im2col = !pointwise(g) && !shift && !gather;
    const std::size_t mr = shift || gather ? kernels_.gemm_mr : tile_rows(pixels);
    const Shifted sh = shift ? shifted_plan(g) : Shifted{};
    const Direct dp = gather ? direct_plan(g) : Direct{};
    // The rows the tiles run over: output pixels, or (shifted) positions of the padded input;
    // direct tiles are runs along output rows.
    const std::size_t rows = shift ? sh.positions : pixels;
    const std::size_t tiles = gather ? static_cast<std::size_t>(g.out[1]) * dp.tiles_per_row : (rows + mr - 1) / mr;
    const std::size_t panels = (n16 + nr - 1) / nr;
    if (x_blocked != ((layout_ & kLayoutInput) != 0) || (!y_blocked && !shift))
      fail(ErrorCode::internal, node_.label(), ": weights packed for other layouts");
    const std::size_t kdim = blocked_kdim(g, x.dim(1));
    const float* bpad = padded_bias(scratch, bias, cout, round_up(cout, nr));
    const std::size_t threads = static_cast<std::size_t>(ctx.pool->size());
    const std::size_t temp_floats =
        blocked_temp_floats(g, static_cast<std::int64_t>(cin), static_cast<std::int64_t>(cout), residual != nullptr);
    float* temps = scratch + align64(round_up(cout, nr) * sizeof(float)) / sizeof(float);
    float* padded = temps + threads * temp_floats;
    // Direct: offset of row p = (channel, ky, kx) of the weights in the padded planes.
    std::uint32_t* offsets = reinterpret_cast<std::uint32_t*>(padded + (gather ? cin * dp.floats : 0));
    if (gather)
      for (std::size_t c = 0, p = 0; c < cin; ++c)
        for (std::int64_t ky = 0; ky < g.k[1]; ++ky)
          for (std::int64_t kx = 0; kx < g.k[2]; ++kx, ++p)
            offsets[p] = static_cast<std::uint32_t>(c * dp.floats + static_cast<std::size_t>(ky * g.dil[1]) * dp.wp +
                                                    static_cast<std::size_t>(kx * g.dil[2]));
    // Enough tasks to go round (twice the threads for balance, but once per thread for
    // im2col, which every group of a chunk gathers again): a map with more pixels than
    // output channels splits into more chunks, one with fewer into groups, so each thread
    // reads the smaller of the two operands again. Chunks of at most blocked_chunk_pixels(),
    // evened out (17 tiles in 4: 4, 4, 4, 5, not 5, 5, 5, 2). A group is an equal share of
    // the chunk's (panel, tile) pairs, panel by panel, so the threads' shares differ by at
    // most a tile however few panels there are (5 panels in 4 groups: 1.25 panels each, not
    // 1, 1, 1, 2). A shifted or direct run goes one image at a time (the padded copy is of
    // one image).
    const std::size_t want = im2col ? threads : 2 * threads, images = shift || gather ? 1 : n;
    const std::size_t most = blocked_chunk_pixels(shift ? cin16 : kdim, rows, n16) / mr;
    std::size_t chunks = (tiles + most - 1) / most, groups = 1;
    if (n16 >= rows) groups = std::max<std::size_t>(1, (want + images * chunks - 1) / (images * chunks));
    if (images * chunks * groups < want)
      chunks = std::min(tiles, std::max(chunks, (want + images * groups - 1) / (images * groups)));
    // As many tasks as a multiple of the threads where there are tiles for it: the tasks of
    // a run are about equal, so 5 chunks on 2 threads left one thread idle for a fifth of
    // the layer (densenet121's 56x56 and 28x28 1x1s; two threads, Zen 3, 30-150 pairs of
    // runs in one process: densenet121 2.8% faster, resnet50 1.2-2.5% (its 56x56 and 28x28
    // 1x1s 6-16%), mobilenetv2 1.2%; one thread unchanged).
    while ((images * chunks * groups) % threads && chunks < tiles) ++chunks;
    const std::size_t chunk = (tiles + chunks - 1) / chunks;  // the most tiles of a chunk
    const float* px = x.data<float>();
    float* py = y.data<float>();
    const std::size_t x_image = (x_blocked ? cin16 : cin) * static_cast<std::size_t>(g.in_size()),
                      y_image = (y_blocked ? n16 : cout) * pixels;
    const std::size_t a_stride = x_blocked ? pixels * kBlock : pixels;
    // A direct sum of up to two parts' rows runs in one part (an RGB stem's 147).
    const std::size_t chunk_pixels = chunk * mr, kc = gather && kdim <= 2 * blocked_kc() ? kdim : blocked_kc();
    // A map of fewer pixels than output channels is one chunk whose input every panel reads
    // again. Where the weights are larger than the L2 and the input rows outnumber the
    // outputs (a 7x7 or 14x14 map's 1x1 of 1024 or 2048 channels down to a quarter, a 3x3
    // at stride 2 by im2col) the parts run outermost (see `part`): the chunk's input part
    // stays in L1 while the weights stream past, and the smaller output is what is read
    // again. In a model, whose weights come cold from memory, resnet50's 2048 -> 512 1x1s
    // took 7% less time, its 1024 -> 256 ones 6% and its 3x3s at stride 2 5% (`edgert
    // bench --profile`, one thread, five alternating runs of each build); with the weights
    // hot in L3 (bench_conv's repeated layer) the panel order was 2-6% faster.
    const bool k_outer =
        !shift && kdim > kc && kdim > n16 && n16 >= rows && n16 * kdim * sizeof(float) > simd::l2_cache_bytes();
    // One task: image img's chunk ch of tiles, group gq of its (panel, tile) pairs.
    auto task = [&](std::size_t img, std::size_t ch, std::size_t gq, std::size_t worker) {
      const std::size_t t0 = ch * tiles / chunks, t1 = (ch + 1) * tiles / chunks, nt = t1 - t0;
      const std::size_t u0 = gq * panels * nt / groups, u1 = (gq + 1) * panels * nt / groups;
      if (u0 == u1) return;
      const std::size_t q0 = u0 / nt, q1 = (u1 - 1) / nt + 1;
      const float* xa = px + img * x_image;
      // The chunk's last tile, when partial, is read from a copy padded to gemm_mr rows in
      // the blocked layout (the kernel reads whole tiles, which could run past the input).
      const std::size_t last = t1 - 1, last_rows = rows - last * mr;
      float* temp = temps + worker * temp_floats;
      if (im2col) {
        // Rows of im2col for the chunk's pixels; a partial last tile reads within the buffer.
        const std::size_t np = std::min(pixels, t1 * mr) - t0 * mr;
        if (x_blocked) {
          gather_blocked(g, xa, cin16 / kBlock, t0 * mr, np, chunk_pixels, temp);
        } else {
          const Im2col source{xa, &g, &kernels_};
          for (std::size_t p = 0; p < kdim; ++p) source.gather(p, t0 * mr, np, temp + p * chunk_pixels);
        }
      } else if (!shift && !gather && last_rows < mr) {
        // Per block: the tile's pixels (from blocks, one run of last_rows * 16 floats), then
        // zeros to gemm_mr rows.
        for (std::size_t b = 0; b < cin16 / kBlock; ++b) {
          float* dst = temp + b * mr * kBlock;
          if (x_blocked) {
            std::copy_n(xa + b * a_stride + last * mr * kBlock, last_rows * kBlock, dst);
          } else {
            const std::size_t nc = std::min(kBlock, cin - b * kBlock);
            for (std::size_t i = 0; i < last_rows; ++i)
              for (std::size_t c = 0; c < kBlock; ++c)
                dst[i * kBlock + c] = c < nc ? xa[(b * kBlock + c) * a_stride + last * mr + i] : 0.0f;
          }
          std::fill(dst + last_rows * kBlock, dst + mr * kBlock, 0.0f);
        }
      }
      simd::PointwiseArgs a;
      a.ldb = nr;
      a.y_stride = (shift ? chunk_pixels : pixels) * kBlock;
      a.act = act;
      a.residual_first = residual_first_;
      // Between the tiles of a run (a copied partial tile is a run of one).
      a.a_tile_step = mr * (gather ? static_cast<std::size_t>(g.stride[2]) : shift || x_blocked ? kBlock : 1);
      a.y_tile_step = mr * kBlock;
      // Panel by panel (each one sequential stream of weights), the sum over k in parts of
      // kc (whole blocks; shifted, also whole taps): a panel's part stays in L1 while the
      // chunk's tiles pass over it.
      const std::size_t tap_rows = shift ? cin16 : kdim;
      // Rows of the part of the sum that starts at row k0, and where panel q's part starts.
      auto part_rows = [&](std::size_t k0) { return std::min(kc, tap_rows - k0 % tap_rows); };
      auto weights_at = [&](std::size_t q, std::size_t k0) { return blocked_panels_.get() + q * nr * kdim + k0 * nr; };
      // This panel's tiles [ta, tb) of the group's pairs.
      auto tile_range = [&](std::size_t q) {
        return std::pair{t0 + std::max(u0, q * nt) - q * nt, t0 + std::min(u1, (q + 1) * nt) - q * nt};
      };
      // Rows [k0, k0 + part_rows(k0)) of panel q's sum over its tiles; `next`: the weights
      // to bring into the cache while the first call's tiles run, `after`: while the last call's
      // tiles run when that is another call (a partial last tile, or a direct run's last
      // row); null: none. The loops pass the next part and the one after it, so a part read
      // by few tiles (a 7x7 or 14x14 map's) is prefetched twice, the second time early
      // enough to come from memory (see WinogradNc16::run). Against the next part alone
      // (one thread, Zen 3, 30 pairs of runs in one process): resnet50's 7x7 1x1s 4-6%
      // faster, its 2048 <- 1024 projection 2.4%, the model 1%; mobilenetv2's 7x7 1x1s 3-6%.
      auto part = [&](std::size_t q, std::size_t k0, const float* next, const float* after) {
        const auto [ta, tb] = tile_range(q);
        const std::size_t j0 = q * nr;
        // The panel's columns, up to the last block's end: the kernel computes the vectors
        // that hold channels and writes zeros to the rest (a 24-channel layer's last 8 lanes
        // on AVX2); a panel of padding only (8 columns on SSE2 or NEON) is computed whole.
        const std::size_t extent = std::min(nr, n16 - j0), unit = std::min(nr / 2, kBlock);
        const std::size_t used = cout > j0 ? std::min(extent, round_up(cout - j0, unit)) : 0;
        a.nr_valid = used ? used : extent;
        a.nr_zero = extent - a.nr_valid;
        a.lane0 = j0 % kBlock;
        a.bias = bpad ? bpad + j0 : nullptr;
        const std::size_t tap = k0 / tap_rows, c0 = k0 % tap_rows;
        a.k = part_rows(k0);
        a.accumulate = k0 > 0;
        a.finish = k0 + a.k == kdim;
        a.b = weights_at(q, k0);
        // Shifted: the padded input at this tap's offset, from block c0 / 16.
        const float* tap_at =
            shift ? padded +
                        ((tap / static_cast<std::size_t>(g.k[2])) * static_cast<std::size_t>(g.dil[1]) * sh.wp +
                         tap % static_cast<std::size_t>(g.k[2]) * static_cast<std::size_t>(g.dil[2])) *
                            kBlock +
                        c0 / kBlock * sh.plane * kBlock
                  : nullptr;
        // Whole tiles one after another go to the kernel as one run (a.tiles): their inputs
        // and outputs lie a_tile_step and y_tile_step apart (a direct run's: the whole tiles of
        // one output row).
        for (std::size_t tile = ta; tile < tb; tile += a.tiles) {
          std::size_t p0 = tile * mr;
          a.mr_valid = std::min(mr, rows - p0);
          const std::size_t whole_end =
              std::min(tb, gather ? tile / dp.tiles_per_row * dp.tiles_per_row + static_cast<std::size_t>(g.out[2]) / mr
                                  : rows / mr);
          a.tiles = tile < whole_end ? whole_end - tile : 1;
          a.prefetch = tile == ta ? next : tile + a.tiles >= tb ? after : nullptr;
          const bool copied = !im2col && !shift && !gather && a.mr_valid < mr;
          if (gather) {
            const std::size_t oy = tile / dp.tiles_per_row, ox = tile % dp.tiles_per_row * mr;
            const std::size_t ow = static_cast<std::size_t>(g.out[2]);
            a.mr_valid = std::min(mr, ow - ox);
            a.a = padded + oy * static_cast<std::size_t>(g.stride[1]) * dp.wp +
                  ox * static_cast<std::size_t>(g.stride[2]);
            a.a_offsets = offsets + k0;
            a.a_step = static_cast<std::size_t>(g.stride[2]);
            p0 = oy * ow + ox;
          } else if (shift) {
            a.a = tap_at + p0 * kBlock;
            a.a_stride = sh.plane * kBlock;
            a.a_blocked = 1;
          } else if (im2col) {
            a.a = temp + (p0 - t0 * mr) * (x_blocked ? kBlock : 1);
            a.a_stride = chunk_pixels * (x_blocked ? kBlock : 1);
            a.a_blocked = x_blocked;
            a.a += a.a_blocked ? k0 / kBlock * a.a_stride : k0 * a.a_stride;
          } else {
            a.a = copied ? temp : x_blocked ? xa + p0 * kBlock : xa + p0;
            a.a_stride = copied ? mr * kBlock : a_stride;
            a.a_blocked = copied || x_blocked;
            a.a += a.a_blocked ? k0 / kBlock * a.a_stride : k0 * a.a_stride;
          }
          const std::size_t at = img * y_image + j0 / kBlock * pixels * kBlock + p0 * kBlock;
          a.y = shift ? temp + (p0 - t0 * mr) * kBlock : py + at;
          a.residual = residual ? residual + at : nullptr;
          kernels_.pointwise_nc16_f32(a);
        }
      };
      if (k_outer) {
        // Part by part, every panel: the part's input rows stay in L1 and L2 while the
        // weights stream past once, instead of the whole input again per panel. The part
        // `ahead` on from panel q's at k0 in that order (parts of kc rows here), or null.
        auto ahead = [&](std::size_t q, std::size_t k0, std::size_t n) -> const float* {
          const std::size_t i = q - q0 + n, width = q1 - q0, k = k0 + i / width * kc;
          return k < kdim ? weights_at(q0 + i % width, k) : nullptr;
        };
        for (std::size_t k0 = 0; k0 < kdim; k0 += part_rows(k0))
          for (std::size_t q = q0; q < q1; ++q) part(q, k0, ahead(q, k0, 1), ahead(q, k0, 2));
        return;
      }
      // Panel by panel, each in parts: the part `ahead` on from panel q's at k0 (of this
      // panel, or the next panel's: the panels lie one after another), or null past the
      // group's last panel.
      auto ahead = [&](std::size_t q, std::size_t k0, std::size_t n) -> const float* {
        std::size_t r = q * kdim + k0;
        for (std::size_t i = 0; i < n && r < q1 * kdim; ++i) r += part_rows(r % kdim);
        return r < q1 * kdim ? weights_at(0, r) : nullptr;
      };
      for (std::size_t q = q0; q < q1; ++q) {
        for (std::size_t k0 = 0; k0 < kdim; k0 += part_rows(k0)) part(q, k0, ahead(q, k0, 1), ahead(q, k0, 2));
        const auto [ta, tb] = tile_range(q);
        const std::size_t j0 = q * nr, extent = std::min(nr, n16 - j0);
        // Shifted: the panel's lanes of the chunk's positions that are output pixels, row
        // run by row run, from the products into the output's blocks or planes (lanes past
        // cout are padding there).
        if (shift)
          for (std::size_t j = j0; j < j0 + extent;) {
            const std::size_t b = j / kBlock, l0 = j % kBlock, l1 = std::min(kBlock, l0 + (j0 + extent - j));
            const float* src = temp + (b - j0 / kBlock) * chunk_pixels * kBlock;
            float* dst = py + img * y_image + b * pixels * kBlock;
            const std::size_t c0 = b * kBlock + l0, nc = std::min(l1 - l0, cout > c0 ? cout - c0 : 0);
            const std::size_t ow = static_cast<std::size_t>(g.out[2]), end = std::min(rows, tb * mr);
            for (std::size_t p = ta * mr; p < end;) {
              const std::size_t oy = p / sh.wp, ox = p % sh.wp, stop = std::min(end, oy * sh.wp + ow);
              if (ox < ow) {
                const float* s = src + (p - t0 * mr) * kBlock;
                const std::size_t at = oy * ow + ox;
                if (!y_blocked) {
                  if (nc) kernels_.nc16_unpack_f32(stop - p, s + l0, nc, dst + l0 * pixels + at, pixels);
                } else if (l0 == 0 && l1 == kBlock) {
                  std::copy(s, s + (stop - p) * kBlock, dst + at * kBlock);
                } else {
                  for (std::size_t i = 0; i < stop - p; ++i)
                    std::copy(s + i * kBlock + l0, s + i * kBlock + l1, dst + (at + i) * kBlock + l0);
                }
              }
              p = (oy + 1) * sh.wp;
            }
            j += l1 - l0;
          }
      }
    };
    if (gather) {
      const std::size_t in_h = static_cast<std::size_t>(g.in[1]), in_w = static_cast<std::size_t>(g.in[2]);
      const std::size_t pt = static_cast<std::size_t>(g.pad[1]), pl = static_cast<std::size_t>(g.pad[2]);
      for (std::size_t img = 0; img < n; ++img) {
        // The image's padded planes, one task per channel: zeros around the input's rows.
        ctx.pool->parallel_tasks(cin, [&](std::size_t c, std::size_t) {
          const float* src = px + (img * cin + c) * static_cast<std::size_t>(g.in_size());
          float* dst = padded + c * dp.floats;
          const std::size_t lo = std::min(pl, dp.wp), hi = std::min(dp.wp, pl + in_w);
          for (std::size_t r = 0; r < dp.hp; ++r, dst += dp.wp) {
            if (r < pt || r - pt >= in_h || hi <= lo) {
              std::fill(dst, dst + dp.wp, 0.0f);
              continue;
            }
            std::fill(dst, dst + lo, 0.0f);
            std::copy(src + (r - pt) * in_w, src + (r - pt) * in_w + (hi - lo), dst + lo);
            std::fill(dst + hi, dst + dp.wp, 0.0f);
          }
          std::fill(dst, dst + (dp.floats - dp.plane), 0.0f);
        });
        ctx.pool->parallel_tasks(chunks * groups,
                                 [&](std::size_t t, std::size_t worker) { task(img, t / groups, t % groups, worker); });
      }
      return;
    }
    if (!shift) {
      ctx.pool->parallel_tasks(n * chunks * groups, [&](std::size_t t, std::size_t worker) {
        task(t / (chunks * groups), t / groups % chunks, t % groups, worker);
      });
      return;
    }
    const std::size_t blocks = cin16 / kBlock, in_h = static_cast<std::size_t>(g.in[1]),
                      in_w = static_cast<std::size_t>(g.in[2]);
    const std::size_t pt = static_cast<std::size_t>(g.pad[1]), pl = static_cast<std::size_t>(g.pad[2]);
    for (std::size_t img = 0; img < n; ++img) {
      // The image's padded copy, one task per block: zeros around the input's rows.
      ctx.pool->parallel_tasks(blocks, [&](std::size_t b, std::size_t) {
        const float* src = px + img * x_image + b * static_cast<std::size_t>(g.in_size()) * kBlock;
        float* dst = padded + b * sh.plane * kBlock;
        const std::size_t lo = std::min(pl, sh.wp), hi = std::min(sh.wp, pl + in_w);
        for (std::size_t r = 0; r < sh.hp; ++r, dst += sh.wp * kBlock) {
          if (r < pt || r - pt >= in_h) {
            std::fill(dst, dst + sh.wp * kBlock, 0.0f);
            continue;
          }
          std::fill(dst, dst + lo * kBlock, 0.0f);
          std::copy(src + (r - pt) * in_w * kBlock, src + ((r - pt) * in_w + hi - lo) * kBlock, dst + lo * kBlock);
          std::fill(dst + hi * kBlock, dst + sh.wp * kBlock, 0.0f);
        }
        std::fill(dst, dst + mr * kBlock, 0.0f);
      });
      ctx.pool->parallel_tasks(chunks * groups,
                               [&](std::size_t t, std::size_t worker) { task(img, t / groups, t % groups, worker); });
    }
  }
  // im2col of a blocked input for output pixels [p0, p0 + np): block (tap, b) of the result,
  // at rows * 16 floats per block, holds per pixel the 16 channels of input block b that
  // tap reads (zeros outside the image).
  static void gather_blocked(const Geometry& g, const float* x, std::size_t blocks, std::size_t p0, std::size_t np,
                             std::size_t rows, float* out) {
    const std::size_t in_size = static_cast<std::size_t>(g.in_size());
    std::size_t tap = 0;
    for (std::int64_t kd = 0; kd < g.k[0]; ++kd)
      for (std::int64_t kh = 0; kh < g.k[1]; ++kh)
        for (std::int64_t kw = 0; kw < g.k[2]; ++kw, ++tap) {
          std::int64_t xo = static_cast<std::int64_t>(p0) % g.out[2];
          std::int64_t yo = static_cast<std::int64_t>(p0) / g.out[2] % g.out[1];
          std::int64_t zo = static_cast<std::int64_t>(p0) / g.out[2] / g.out[1];
          for (std::size_t j = 0; j < np; ++j) {
            const std::int64_t iz = zo * g.stride[0] - g.pad[0] + kd * g.dil[0];
            const std::int64_t iy = yo * g.stride[1] - g.pad[1] + kh * g.dil[1];
            const std::int64_t ix = xo * g.stride[2] - g.pad[2] + kw * g.dil[2];
            float* dst = out + (tap * blocks * rows + j) * kBlock;
            if (iz < 0 || iz >= g.in[0] || iy < 0 || iy >= g.in[1] || ix < 0 || ix >= g.in[2]) {
              for (std::size_t b = 0; b < blocks; ++b) std::fill_n(dst + b * rows * kBlock, kBlock, 0.0f);
            } else {
              // A block is 64 bytes: a memcpy of that constant size is inlined as a few vector
              // moves, where std::copy_n called memmove for each one.
              const float* src = x + static_cast<std::size_t>((iz * g.in[1] + iy) * g.in[2] + ix) * kBlock;
              for (std::size_t b = 0; b < blocks; ++b)
                std::memcpy(dst + b * rows * kBlock, src + b * in_size * kBlock, sizeof(float) * kBlock);
            }
            if (++xo == g.out[2]) {
              xo = 0;
              if (++yo == g.out[1]) yo = 0, ++zo;
            }
          }
        }
  }

  // The blocked layout runs depthwise convolutions on the channel-blocked kernel whatever the
  // map size: nothing needs packing there.
  bool blocked_dwc(const Geometry& g, const Shape& x, const Shape& w) const {
    return depthwise(x, w) && w[0] == x[1] && dwc(g);
  }

  static WinogradShape winograd_shape(const Geometry& g, std::int64_t cin, std::int64_t cout) {
    return WinogradShape{cin, cout, g.in[1], g.in[2], g.out[1], g.out[2], g.pad[1], g.pad[2]};
  }
  static bool pointwise(const Geometry& g) {
    for (int i = 0; i < 3; ++i)
      if (g.k[i] != 1 || g.stride[i] != 1 || g.pad[i] != 0) return false;
    return true;
  }

  Geometry geometry(const Shape& x, const Shape& w) const {
    const std::size_t sp = x.size() - 2;
    std::vector<std::int64_t> k, s, d, p;
    attrs_.resolve(node_, sp, w, k, s, d, p);
    Geometry g;
    const std::size_t off = 3 - sp;
    std::vector<std::int64_t> in(x.begin() + 2, x.end()), out(sp), pb(sp);
    for (std::size_t i = 0; i < sp; ++i) {
      const std::int64_t ext = (k[i] - 1) * d[i] + 1;
      if (attrs_.auto_pad == "SAME_UPPER" || attrs_.auto_pad == "SAME_LOWER") {
        out[i] = (in[i] + s[i] - 1) / s[i];
        const std::int64_t total = std::max<std::int64_t>(0, (out[i] - 1) * s[i] + ext - in[i]);
        pb[i] = attrs_.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      } else {
        const std::int64_t b = attrs_.auto_pad == "VALID" ? 0 : p[i];
        const std::int64_t e = attrs_.auto_pad == "VALID" ? 0 : p[sp + i];
        const std::int64_t span = in[i] + b + e - ext;
        if (span < 0)
          fail(ErrorCode::shape, node_.label(), ": kernel extent ", ext, " is larger than the padded input ",
               in[i] + b + e);
        out[i] = span / s[i] + 1;
        pb[i] = b;
      }
    }
    put3(g.in, in, off);
    put3(g.out, out, off);
    put3(g.k, k, off);
    put3(g.stride, s, off);
    put3(g.dil, d, off);
    put3(g.pad, pb, off);
    return g;
  }

  // Channel-blocked depthwise (simd::dwc_f32): 2-D, one output channel per input channel,
  // any kernel, stride, dilation and padding. A task takes 16 channels and a chunk of output
  // rows. Blocked input is read in place (the kernel skips taps in the padding); planes are
  // first packed, the rows the chunk reads, into [row][pixel][16]. Output goes straight into
  // blocks, or through a buffer unpacked into the planes.
  static bool dwc(const Geometry& g) { return g.in[0] == 1 && g.out[0] == 1 && g.k[0] == 1; }
  struct DwcPlan {
    std::int64_t chunk = 1;     // output rows per task
    std::size_t in_floats = 0;  // the packed input rows (planes input only)
    std::size_t floats = 0;     // per-thread buffer: weights, bias, input rows, output rows
    std::int64_t rows_in(std::int64_t rows, const Geometry& g) const {
      return (rows - 1) * g.stride[1] + (g.k[1] - 1) * g.dil[1] + 1;
    }
  };
  // A blocked input is read in place and a blocked output written in place: the buffer
  // holds rows only for the sides in planes.
  static DwcPlan dwc_plan(const Geometry& g, bool x_blocked, bool y_blocked) {
    constexpr std::int64_t C = simd::kChannelBlock, kBudget = 32768;  // floats of rows in L2
    DwcPlan p;
    const std::int64_t iw = g.in[2];
    while (p.chunk < g.out[1] && (p.rows_in(p.chunk + 1, g) * iw + (p.chunk + 1) * g.out[2]) * C <= kBudget) ++p.chunk;
    p.in_floats = x_blocked ? 0 : static_cast<std::size_t>(C * p.rows_in(p.chunk, g) * iw);
    p.floats = static_cast<std::size_t>(C * (g.k[1] * g.k[2] + 1 + (y_blocked ? 0 : p.chunk * g.out[2]))) + p.in_floats;
    return p;
  }

  // pw: the weights as given, transposed per task; or `packed` (not null): dwc_weights_.
  void run_dwc(const RunContext& ctx, const Geometry& g, const float* px, const float* pw, const float* packed,
               float* py, std::int64_t n, std::int64_t channels, const float* bias, float* buffers,
               const PlaneEpilogue& fin, bool x_blocked, bool y_blocked) const {
    constexpr std::int64_t C = simd::kChannelBlock;
    const std::int64_t ih = g.in[1], iw = g.in[2], oh = g.out[1], ow = g.out[2], pt = g.pad[1];
    const std::int64_t kh = g.k[1], taps = g.k[1] * g.k[2], blocks = (channels + C - 1) / C;
    const DwcPlan plan = dwc_plan(g, x_blocked, y_blocked);
    const std::int64_t chunks = (oh + plan.chunk - 1) / plan.chunk;
    // With a residual, the kernel adds only the bias; `rest` adds the residual and activation.
    PlaneEpilogue rest = fin;
    rest.bias = nullptr;
    const bool act_in_kernel = !fin.residual;
    const std::size_t tasks = static_cast<std::size_t>(n * blocks * chunks);
    ctx.pool->parallel_tasks(tasks, [&](std::size_t task, std::size_t worker) {
      const std::int64_t t = static_cast<std::int64_t>(task);
      const std::int64_t img = t / (blocks * chunks), blk = t / chunks % blocks, y0 = t % chunks * plan.chunk;
      const std::int64_t c0 = blk * C, rows = std::min(plan.chunk, oh - y0);
      const std::size_t nc = static_cast<std::size_t>(std::min(C, channels - c0));
      float* wbuf = buffers + worker * plan.floats;
      float* bbuf = wbuf + taps * C;
      float* in = bbuf + C;
      float* out = in + plan.in_floats;
      if (!packed)
        kernels_.nc16_pack_f32(static_cast<std::size_t>(taps), pw + c0 * taps, static_cast<std::size_t>(taps), nc,
                               wbuf);
      for (std::int64_t c = 0; c < C; ++c) bbuf[c] = bias && c < static_cast<std::int64_t>(nc) ? bias[c0 + c] : 0.0f;
      // Blocked input: this block's plane of 16-channel pixels, read in place; planes: the
      // rows inside the image the chunk reads, packed (buffer row j holds image row y_in + j).
      const std::int64_t y_in = y0 * g.stride[1] - pt;
      const float* xb = x_blocked ? px + (img * blocks + blk) * ih * iw * C : in;
      if (!x_blocked) {
        const float* xp = px + (img * channels + c0) * ih * iw;
        for (std::int64_t j = 0; j < plan.rows_in(rows, g); ++j)
          if (y_in + j >= 0 && y_in + j < ih)
            kernels_.nc16_pack_f32(static_cast<std::size_t>(iw), xp + (y_in + j) * iw,
                                   static_cast<std::size_t>(ih * iw), nc, in + j * iw * C);
      }
      auto row_at = [&](std::int64_t iy) { return xb + (x_blocked ? iy : iy - y_in) * iw * C; };
      // Blocked output: straight into the block's rows; the residual there has the same layout.
      const std::int64_t at = ((img * blocks + blk) * oh + y0) * ow * C;
      float* yb = y_blocked ? py + at : out;
      // The taps' rows of as many output rows as fit in 64 pointers go to the kernel in one
      // call (a 7x7 or 14x14 map's whole plane at 3x3).
      constexpr std::int64_t kStack = 64;
      const float* stack[kStack];
      std::vector<const float*> heap(kh > kStack ? kh : 0);
      const float** tap_rows = kh > kStack ? heap.data() : stack;
      const std::int64_t per_call = std::max<std::int64_t>(1, kStack / kh);
      simd::DwcArgs a;
      a.rows = tap_rows;
      a.iw = static_cast<std::size_t>(iw);
      a.pl = static_cast<std::size_t>(g.pad[2]);
      a.w = packed ? packed + c0 * taps : wbuf;
      a.bias = bbuf;
      a.ow = static_cast<std::size_t>(ow);
      a.kh = static_cast<std::size_t>(kh);
      a.kw = static_cast<std::size_t>(g.k[2]);
      a.sx = static_cast<std::size_t>(g.stride[2]);
      a.dx = static_cast<std::size_t>(g.dil[2]);
      if (act_in_kernel) a.act = fin.act;
      a.y_row = static_cast<std::size_t>(ow * C);
      for (std::int64_t r0 = 0; r0 < rows; r0 += per_call) {
        const std::int64_t r1 = std::min(rows, r0 + per_call);
        for (std::int64_t r = r0; r < r1; ++r)
          for (std::int64_t ky = 0; ky < kh; ++ky) {
            const std::int64_t iy = y_in + r * g.stride[1] + ky * g.dil[1];
            tap_rows[(r - r0) * kh + ky] = iy >= 0 && iy < ih ? row_at(iy) : nullptr;
          }
        a.nrows = static_cast<std::size_t>(r1 - r0);
        a.y = yb + r0 * ow * C;
        kernels_.dwc_f32(a);
      }
      if (y_blocked) {
        if (!act_in_kernel) {
          static const float one = 1.0f, zero = 0.0f;
          kernels_.affine_act_nchw_f32(1, 1, static_cast<std::size_t>(rows * ow * C), py + at, fin.residual + at,
                                       py + at, &one, &zero, fin.act, fin.residual_first);
        }
        return;
      }
      const std::int64_t first = img * channels + c0;  // first output plane
      kernels_.nc16_unpack_f32(static_cast<std::size_t>(rows * ow), out, nc, py + first * oh * ow + y0 * ow,
                               static_cast<std::size_t>(oh * ow));
      if (!act_in_kernel)
        for (std::int64_t c = 0; c < static_cast<std::int64_t>(nc); ++c)
          rest.apply(kernels_, static_cast<std::size_t>(first + c), py + (first + c) * oh * ow, y0 * ow, rows * ow);
    });
  }

  // The channel-blocked path packs and unpacks every value; the 3x3 row kernels work on the
  // planes in place, which wins on wide maps (bench_conv, 1 thread: 192x28x28 stride 1 65 vs
  // 85 us, 96x112x112 stride 2 350 vs 372) and loses on narrow ones (576x14x14 80 vs 66,
  // 576x14x14 stride 2 102 vs 33, 960x7x7 71 vs 38). Other kernels have no row kernel.
  static bool use_dwc(const Geometry& g, bool one_per_channel) {
    return one_per_channel && dwc(g) && (!dw3x3(g) || g.out[2] <= 14 * g.stride[2]);
  }
  // 2-D 3x3 depthwise at dilation 1 and column stride 1 or 2 (any row stride, any padding),
  // one output channel per input channel: the kernel table's row kernels.
  static bool dw3x3(const Geometry& g) {
    return g.in[0] == 1 && g.out[0] == 1 && g.k[0] == 1 && g.k[1] == 3 && g.k[2] == 3 && g.dil[1] == 1 &&
           g.dil[2] == 1 && (g.stride[2] == 1 || g.stride[2] == 2);
  }
  // Maps at stride 1 with one pixel of padding all round whose bordered plane and flat output
  // fit in about 32 KiB (MobileNetV2's 28x28 and 56x56; narrower maps go channel-blocked):
  // short rows would run mostly in the kernel's scalar tail and the edge columns, so each
  // plane is copied into a zero-bordered buffer and run as one long row (see
  // run_dw3x3_flat). Bigger planes would not stay in L1.
  static bool dw3x3_flat(const Geometry& g) {
    return g.stride[1] == 1 && g.stride[2] == 1 && g.pad[1] == 1 && g.pad[2] == 1 && g.out[1] == g.in[1] &&
           g.out[2] == g.in[2] && dw3x3_flat_floats(g) <= 8192;
  }
  // Per-thread: the bordered plane, (ih + 2) x (iw + 2), and the flat output, oh x (iw + 2).
  static std::size_t dw3x3_flat_floats(const Geometry& g) {
    return (static_cast<std::size_t>((g.in[1] + 2 + g.out[1]) * (g.in[2] + 2)) + 15) / 16 * 16;
  }

  // With the plane bordered by zeros and W = iw + 2, output (y, x) sums the taps at
  // P[(y + r) * W + x + c]: over the flat index q = y * W + x that is the row kernel on the
  // three rows P, P + W, P + 2W. The two columns per row past the image are computed and
  // dropped when the outputs are copied out.
  void run_dw3x3_flat(const RunContext& ctx, const Geometry& g, const float* px, const float* pw, float* py,
                      std::int64_t planes, std::int64_t channels, float* buffers, const PlaneEpilogue& fin) const {
    const std::int64_t ih = g.in[1], iw = g.in[2], oh = g.out[1], ow = g.out[2], W = iw + 2;
    const std::size_t per_thread = dw3x3_flat_floats(g);
    const auto dw_row = kernels_.dw3x3_row_f32;
    ctx.pool->parallel_tasks(static_cast<std::size_t>(planes), [&](std::size_t plane, std::size_t worker) {
      float* pad = buffers + worker * per_thread;
      float* flat = pad + (ih + 2) * W;
      const float* xc = px + static_cast<std::int64_t>(plane) * ih * iw;
      std::fill(pad, pad + W, 0.0f);
      for (std::int64_t y = 0; y < ih; ++y) {
        float* row = pad + (y + 1) * W;
        row[0] = 0.0f;
        std::copy(xc + y * iw, xc + (y + 1) * iw, row + 1);
        row[iw + 1] = 0.0f;
      }
      std::fill(pad + (ih + 1) * W, pad + (ih + 2) * W, 0.0f);
      dw_row(static_cast<std::size_t>((oh - 1) * W + ow), pad, pad + W, pad + 2 * W,
             pw + static_cast<std::int64_t>(plane) % channels * 9, flat);
      float* yc = py + static_cast<std::int64_t>(plane) * oh * ow;
      for (std::int64_t y = 0; y < oh; ++y) std::copy(flat + y * W, flat + y * W + ow, yc + y * ow);
      fin.apply(kernels_, plane, yc, 0, oh * ow);
    });
  }

  // The stride-2 path works on chunks of output rows small enough for its buffers to stay in
  // L1 (about 32 KiB): per thread, even and odd columns of the three row sets (one row more
  // than the chunk each, ow + 1 columns) and the chunk's flat output.
  static std::int64_t dw3x3s2_chunk_rows(const Geometry& g) {
    return std::clamp<std::int64_t>(8192 / (7 * (g.out[2] + 1)), 1, std::max<std::int64_t>(g.out[1], 1));
  }
  static std::size_t dw3x3s2_floats(const Geometry& g) {
    return (static_cast<std::size_t>((7 * dw3x3s2_chunk_rows(g) + 6) * (g.out[2] + 1)) + 15) / 16 * 16;
  }

  // Column stride 2, any row stride and padding, one plane at a time: for each tap row r the
  // input rows y * stride + r - pad (y < oh) are split into even columns E_r and odd columns
  // O_r, Wh = ow + 1 wide, zero where the taps leave the image. Output (y, x) then sums
  // E_r[q], O_r[q], E_r[q + 1] at the flat index q = y * Wh + x, so the kernel runs the whole
  // chunk of rows as one row of (rows - 1) * Wh + ow outputs, however narrow the map. At row
  // stride 2 the third row set is the first one row down (E_2 = E_0 + Wh) and is not built.
  void run_dw3x3s2(const RunContext& ctx, const Geometry& g, const float* px, const float* pw, float* py,
                   std::int64_t planes, std::int64_t channels, float* buffers, const PlaneEpilogue& fin) const {
    const std::int64_t ih = g.in[1], iw = g.in[2], oh = g.out[1], ow = g.out[2], pt = g.pad[1], pl = g.pad[2];
    const std::int64_t sy = g.stride[1], wh = ow + 1, chunk = dw3x3s2_chunk_rows(g);
    const std::size_t per_thread = dw3x3s2_floats(g);
    const auto dw_row = kernels_.dw3x3s2_row_f32;
    // Columns x in [j0, j1) read both 2x - pl and 2x + 1 - pl inside the row.
    const std::int64_t j0 = std::min(wh, (pl + 1) / 2);
    const std::int64_t j1 = std::max(j0, std::min(wh, (iw - 1 + pl) / 2));
    ctx.pool->parallel_tasks(static_cast<std::size_t>(planes), [&](std::size_t plane, std::size_t worker) {
      float* mine = buffers + worker * per_thread;
      const float* xc = px + static_cast<std::int64_t>(plane) * ih * iw;
      auto split = [&](std::int64_t iy, float* e, float* o) {
        if (iy < 0 || iy >= ih) {
          std::fill(e, e + wh, 0.0f);
          std::fill(o, o + wh, 0.0f);
          return;
        }
        const float* row = xc + iy * iw;
        auto checked = [&](std::int64_t x) {
          const std::int64_t c = 2 * x - pl;
          e[x] = c >= 0 && c < iw ? row[c] : 0.0f;
          o[x] = c + 1 >= 0 && c + 1 < iw ? row[c + 1] : 0.0f;
        };
        for (std::int64_t x = 0; x < j0; ++x) checked(x);
        if (j1 > j0) {
          const float* src = row - pl + 2 * j0;
          kernels_.strided_copy_f32(static_cast<std::size_t>(j1 - j0), src, 2, e + j0);
          kernels_.strided_copy_f32(static_cast<std::size_t>(j1 - j0), src + 1, 2, o + j0);
        }
        for (std::int64_t x = j1; x < wh; ++x) checked(x);
      };
      const float* wc = pw + static_cast<std::int64_t>(plane) % channels * 9;
      float* yc = py + static_cast<std::int64_t>(plane) * oh * ow;
      for (std::int64_t y0 = 0; y0 < oh; y0 += chunk) {
        const std::int64_t n_rows = std::min(chunk, oh - y0);
        // Buffers first, then the rows in input order (y outer), so the input is read front
        // to back. One row more than the outputs need, for the row-stride-2 alias.
        const int sets = sy == 2 ? 2 : 3;
        float* e[3];
        float* o[3];
        float* next = mine;
        for (int r = 0; r < sets; ++r) {
          e[r] = next;
          o[r] = e[r] + (n_rows + 1) * wh;
          next = o[r] + (n_rows + 1) * wh;
        }
        if (sets == 2) e[2] = e[0] + wh, o[2] = o[0] + wh;
        for (std::int64_t y = 0; y <= n_rows; ++y)
          for (int r = 0; r < sets; ++r) split((y0 + y) * sy + r - pt, e[r] + y * wh, o[r] + y * wh);
        float* flat = next;
        dw_row(static_cast<std::size_t>((n_rows - 1) * wh + ow), e, o, wc, flat);
        for (std::int64_t y = 0; y < n_rows; ++y) std::copy(flat + y * wh, flat + y * wh + ow, yc + (y0 + y) * ow);
        fin.apply(kernels_, plane, yc, y0 * ow, n_rows * ow);
      }
    });
  }

  // Rows outside the image read `zeros`; columns whose taps leave the image are summed here,
  // the interior by the kernel.
  void run_dw3x3(const RunContext& ctx, const Geometry& g, const float* px, const float* pw, float* py,
                 std::int64_t planes, std::int64_t channels, float* zeros, const PlaneEpilogue& fin) const {
    const std::int64_t ih = g.in[1], iw = g.in[2], oh = g.out[1], ow = g.out[2], pt = g.pad[1], pl = g.pad[2];
    std::fill(zeros, zeros + iw, 0.0f);
    // Output columns [x0, x1) read input columns xo - pl .. xo - pl + 2, all inside the row.
    const std::int64_t x0 = std::min(pl, ow), x1 = std::max(x0, std::min(ow, iw - 2 + pl));
    const auto dw_row = kernels_.dw3x3_row_f32;
    ctx.pool->parallel_for(static_cast<std::size_t>(planes), 1, [&](std::size_t b, std::size_t e) {
      for (std::size_t plane = b; plane < e; ++plane) {
        const float* xc = px + static_cast<std::int64_t>(plane) * ih * iw;
        const float* wc = pw + static_cast<std::int64_t>(plane) % channels * 9;
        float* yc = py + static_cast<std::int64_t>(plane) * oh * ow;
        for (std::int64_t y = 0; y < oh; ++y) {
          const float* rows[3];
          for (std::int64_t r = 0; r < 3; ++r) {
            const std::int64_t iy = y * g.stride[1] - pt + r;
            rows[r] = (iy >= 0 && iy < ih) ? xc + iy * iw : zeros;
          }
          float* orow = yc + y * ow;
          auto edge = [&](std::int64_t xo) {
            float acc = 0.0f;
            for (int r = 0; r < 3; ++r)
              for (std::int64_t c = 0; c < 3; ++c) {
                const std::int64_t ix = xo - pl + c;
                if (ix >= 0 && ix < iw) acc += wc[3 * r + c] * rows[r][ix];
              }
            orow[xo] = acc;
          };
          for (std::int64_t xo = 0; xo < x0; ++xo) edge(xo);
          if (x1 > x0)
            dw_row(static_cast<std::size_t>(x1 - x0), rows[0] + (x0 - pl), rows[1] + (x0 - pl), rows[2] + (x0 - pl), wc,
                   orow + x0);
          for (std::int64_t xo = x1; xo < ow; ++xo) edge(xo);
        }
        fin.apply(kernels_, plane, yc, 0, oh * ow);
      }
    });
  }

  // Any depthwise convolution, channel multiplier and 3-D included: a plane at a time.
  void run_depthwise(const RunContext& ctx, const Geometry& g, const float* px, const float* pw, float* py,
                     std::int64_t n, std::int64_t channels, std::int64_t mult, const PlaneEpilogue& fin) const {
    const std::int64_t planes = n * channels * mult;
    ctx.pool->parallel_for(static_cast<std::size_t>(planes), 1, [&](std::size_t b, std::size_t e) {
      for (std::size_t plane = b; plane < e; ++plane) {
        const std::int64_t oc = static_cast<std::int64_t>(plane) % (channels * mult);
        const std::int64_t img = static_cast<std::int64_t>(plane) / (channels * mult);
        const std::int64_t ic = oc / mult;
        const float* xc = px + (img * channels + ic) * g.in_size();
        const float* wc = pw + oc * g.k_size();
        float* yc = py + static_cast<std::int64_t>(plane) * g.out_size();
        std::fill(yc, yc + g.out_size(), 0.0f);
        // Row by row: for each tap, the range of output columns whose input column is
        // inside the image is computed once, so the inner loop has no branches.
        for (std::int64_t z = 0; z < g.out[0]; ++z)
          for (std::int64_t kd = 0; kd < g.k[0]; ++kd) {
            const std::int64_t iz = z * g.stride[0] - g.pad[0] + kd * g.dil[0];
            if (iz < 0 || iz >= g.in[0]) continue;
            for (std::int64_t y = 0; y < g.out[1]; ++y) {
              float* orow = yc + (z * g.out[1] + y) * g.out[2];
              for (std::int64_t kh = 0; kh < g.k[1]; ++kh) {
                const std::int64_t iy = y * g.stride[1] - g.pad[1] + kh * g.dil[1];
                if (iy < 0 || iy >= g.in[1]) continue;
                const float* irow = xc + (iz * g.in[1] + iy) * g.in[2];
                const float* wr = wc + (kd * g.k[1] + kh) * g.k[2];
                for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
                  const std::int64_t off = kw * g.dil[2] - g.pad[2], sw = g.stride[2];
                  const std::int64_t x0 = off < 0 ? (-off + sw - 1) / sw : 0;
                  const std::int64_t x1 = g.in[2] - 1 - off < 0 ? 0 : std::min(g.out[2], (g.in[2] - 1 - off) / sw + 1);
                  const float wv = wr[kw];
                  if (sw == 1) {
                    const float* src = irow + off;
                    for (std::int64_t xo = x0; xo < x1; ++xo) orow[xo] += wv * src[xo];
                  } else {
                    for (std::int64_t xo = x0; xo < x1; ++xo) orow[xo] += wv * irow[xo * sw + off];
                  }
                }
              }
            }
          }
        fin.apply(kernels_, plane, yc, 0, g.out_size());
      }
    });
  }

  const Node& node_;
  ConvAttrs attrs_;
  const simd::KernelTable& kernels_;
  std::vector<PackedA> packed_;              // per group; empty when W is not a packed constant
  std::unique_ptr<WinogradNc16> wino_nc16_;  // set instead for F(m x m, 3x3) on blocks (kWinogradNc16Attr)
  std::unique_ptr<Winograd23> wino_;         // set instead of packed_ for 3x3 stride-1 weights it suits
  int layout_ = 0;                           // kLayoutInput / kLayoutOutput bits
  std::shared_ptr<float> blocked_panels_;    // B panels of a convolution writing blocks
  std::shared_ptr<float> dwc_weights_;       // a blocked depthwise's weights, [block][tap][16]
  bool regrouped_ = false;                   // their rows (ky, kx, padded channel): im2col from blocks
  simd::ActParams act_;
  bool residual_first_ = true;
};

class ConvTransposeOp : public Op {
 public:
  explicit ConvTransposeOp(const CreateContext& c) : node_(c.node), attrs_(c.node), kernels_(c.kernels) {
    if (c.node.inputs.size() < 2) fail(ErrorCode::parse, c.node.label(), ": needs inputs X and W");
  }

  void infer(InferContext& ctx) const override {
    check_conv_inputs(ctx);
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    if (w.dim(0) != x.dim(1) || x.dim(1) % attrs_.group != 0)
      ctx.error(cat("weight shape ", shape_str(w.shape()), " does not match input ", shape_str(x.shape()),
                    " with group ", attrs_.group));
    const std::int64_t cout = w.dim(1) * attrs_.group;
    if (ctx.has(2) && (ctx.in(2).rank() != 1 || ctx.in(2).dim(0) != cout))
      ctx.error(cat("bias shape ", shape_str(ctx.in(2).shape()), " must be [", cout, "]"));
    const Geometry geo = geometry(x.shape(), w.shape());
    Shape out = {x.dim(0), cout};
    const std::size_t sp = x.rank() - 2;
    for (std::size_t i = 0; i < sp; ++i) out.push_back(geo.out[3 - sp + i]);
    ctx.set_output(0, DataType::float32, out);
    ctx.scratch_bytes =
        (static_cast<std::size_t>(w.dim(1) * geo.k_size() * geo.in_size()) * sizeof(float) + 63) / 64 * 64 +
        gemm_scratch_bytes(kernels_, ctx.threads);
  }

  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const Tensor& w = ctx.in(1);
    Tensor& y = ctx.out(0);
    const Geometry g = geometry(x.shape(), w.shape());
    const std::int64_t n = x.dim(0), cin = x.dim(1), gr = attrs_.group;
    const std::int64_t cin_g = cin / gr, cout_g = w.dim(1), cout = cout_g * gr;
    const std::int64_t rows = cout_g * g.k_size(), isz = g.in_size(), osz = g.out_size();
    float* col = static_cast<float*>(ctx.scratch);
    void* gemm_scratch =
        static_cast<char*>(ctx.scratch) + (static_cast<std::size_t>(rows * isz) * sizeof(float) + 63) / 64 * 64;
    const float* bias = ctx.has(2) ? ctx.in(2).data<float>() : nullptr;
    float* py = y.data<float>();
    for (std::int64_t b = 0; b < n; ++b)
      for (std::int64_t gi = 0; gi < gr; ++gi) {
        const float* xg = x.data<float>() + (b * cin + gi * cin_g) * isz;
        const float* wg = w.data<float>() + gi * cin_g * rows;
        gemm_f32(kernels_, ctx.pool, static_cast<std::size_t>(rows), static_cast<std::size_t>(isz),
                 static_cast<std::size_t>(cin_g), MatrixRef{wg, 1, rows}, MatrixRef{xg, isz, 1}, col,
                 static_cast<std::size_t>(isz), false, gemm_scratch);
        for (std::int64_t oc = 0; oc < cout_g; ++oc) {
          float* yc = py + (b * cout + gi * cout_g + oc) * osz;
          std::fill(yc, yc + osz, bias ? bias[gi * cout_g + oc] : 0.0f);
          for (std::int64_t kd = 0; kd < g.k[0]; ++kd)
            for (std::int64_t kh = 0; kh < g.k[1]; ++kh)
              for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
                const float* src = col + ((oc * g.k[0] + kd) * g.k[1] + kh) * g.k[2] * isz + kw * isz;
                for (std::int64_t iz = 0; iz < g.in[0]; ++iz) {
                  const std::int64_t oz = iz * g.stride[0] - g.pad[0] + kd * g.dil[0];
                  if (oz < 0 || oz >= g.out[0]) continue;
                  for (std::int64_t iy = 0; iy < g.in[1]; ++iy) {
                    const std::int64_t oy = iy * g.stride[1] - g.pad[1] + kh * g.dil[1];
                    if (oy < 0 || oy >= g.out[1]) continue;
                    const float* s = src + (iz * g.in[1] + iy) * g.in[2];
                    float* d = yc + (oz * g.out[1] + oy) * g.out[2];
                    for (std::int64_t ix = 0; ix < g.in[2]; ++ix) {
                      const std::int64_t ox = ix * g.stride[2] - g.pad[2] + kw * g.dil[2];
                      if (ox >= 0 && ox < g.out[2]) d[ox] += s[ix];
                    }
                  }
                }
              }
        }
      }
  }

 private:
  Geometry geometry(const Shape& x, const Shape& w) const {
    const std::size_t sp = x.size() - 2;
    std::vector<std::int64_t> k, s, d, p;
    attrs_.resolve(node_, sp, w, k, s, d, p);
    std::vector<std::int64_t> op =
        attrs_.output_padding.empty() ? std::vector<std::int64_t>(sp, 0) : attrs_.output_padding;
    if (op.size() != sp) fail(ErrorCode::shape, node_.label(), ": output_padding must have ", sp, " values");
    check_geometry(node_, "output_padding", op, 0);
    std::vector<std::int64_t> in(x.begin() + 2, x.end()), out(sp), pb(sp);
    std::vector<std::int64_t> target = attrs_.output_shape;
    if (target.size() > sp) target.erase(target.begin(), target.end() - static_cast<std::ptrdiff_t>(sp));
    if (!target.empty() && target.size() != sp)
      fail(ErrorCode::shape, node_.label(), ": output_shape must have ", sp, " spatial values");
    check_geometry(node_, "output_shape", target, 0);
    const bool same = attrs_.auto_pad == "SAME_UPPER" || attrs_.auto_pad == "SAME_LOWER";
    for (std::size_t i = 0; i < sp; ++i) {
      const std::int64_t ext = (k[i] - 1) * d[i] + 1;
      const std::int64_t full = s[i] * (in[i] - 1) + op[i] + ext;
      if (!target.empty() || same) {
        out[i] = !target.empty() ? target[i] : in[i] * s[i];
        // A requested shape larger than the natural one leaves the extra outputs at the bias.
        const std::int64_t total = std::max<std::int64_t>(0, full - out[i]);
        pb[i] = attrs_.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      } else {
        const std::int64_t b = attrs_.auto_pad == "VALID" ? 0 : p[i];
        const std::int64_t e = attrs_.auto_pad == "VALID" ? 0 : p[sp + i];
        out[i] = full - b - e;
        pb[i] = b;
        if (out[i] <= 0) fail(ErrorCode::shape, node_.label(), ": pads leave no output");
      }
    }
    Geometry g;
    const std::size_t off = 3 - sp;
    put3(g.in, in, off);
    put3(g.out, out, off);
    put3(g.k, k, off);
    put3(g.stride, s, off);
    put3(g.dil, d, off);
    put3(g.pad, pb, off);
    return g;
  }

  const Node& node_;
  ConvAttrs attrs_;
  const simd::KernelTable& kernels_;
};

}  // namespace

std::vector<OpEntry> conv_ops() { return {{"Conv", make_op<ConvOp>}, {"ConvTranspose", make_op<ConvTransposeOp>}}; }

}  // namespace edgert
