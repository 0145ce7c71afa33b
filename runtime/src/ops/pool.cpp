// MaxPool (with optional Indices), AveragePool (count_include_pad, ceil_mode),
// GlobalAveragePool, GlobalMaxPool, LpPool and GlobalLpPool; 1-D to 3-D.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "../exec/thread_pool.h"
#include "../passes/blocked_layout.h"
#include "common.h"

namespace edgert {
namespace {

enum class P { max, avg, lp };

class PoolOp : public Op {
 public:
  explicit PoolOp(const CreateContext& c) : node_(c.node) {
    const Node& n = c.node;
    blocked_ = (n.attr_int(kLayoutAttr, 0) & kLayoutInput) != 0;
    kind_ = n.op_type == "MaxPool" ? P::max : n.op_type == "AveragePool" ? P::avg : P::lp;
    auto_pad_ = n.attr_string("auto_pad", "NOTSET");
    kernel_ = n.attr_ints("kernel_shape");
    if (kernel_.empty()) fail(ErrorCode::parse, n.label(), ": kernel_shape is required");
    strides_ = n.attr_ints("strides");
    dilations_ = n.attr_ints("dilations");
    pads_ = n.attr_ints("pads");
    ceil_ = n.attr_int("ceil_mode", 0) != 0;
    include_pad_ = n.attr_int("count_include_pad", 0) != 0;
    storage_order_ = n.attr_int("storage_order", 0);
    p_ = n.attr_int("p", 2);
    const std::size_t sp = kernel_.size();
    if (strides_.empty()) strides_.assign(sp, 1);
    if (dilations_.empty()) dilations_.assign(sp, 1);
    if (pads_.empty()) pads_.assign(2 * sp, 0);
    if (strides_.size() != sp || dilations_.size() != sp || pads_.size() != 2 * sp || sp > 3)
      fail(ErrorCode::parse, n.label(), ": strides, dilations or pads do not match kernel_shape");
    for (std::size_t i = 0; i < sp; ++i)
      if (kernel_[i] <= 0 || strides_[i] <= 0 || dilations_[i] <= 0)
        fail(ErrorCode::parse, n.label(), ": kernel_shape, strides and dilations must be positive");
    check_geometry(n, "kernel_shape", kernel_, 1);
    check_geometry(n, "strides", strides_, 1);
    check_geometry(n, "dilations", dilations_, 1);
    check_geometry(n, "pads", pads_, 0);
  }

  struct Geo {
    std::int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1},
                 pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  };

  Geo geometry(const Shape& x) const {
    const std::size_t sp = kernel_.size();
    if (x.size() != sp + 2)
      fail(ErrorCode::shape, node_.label(), ": input ", shape_str(x), " does not have ", sp, " spatial dims");
    Geo g;
    const std::size_t off = 3 - sp;
    for (std::size_t i = 0; i < sp; ++i) {
      const std::int64_t in = x[2 + i], ext = (kernel_[i] - 1) * dilations_[i] + 1, s = strides_[i];
      std::int64_t out, pb, pe;
      if (auto_pad_ == "SAME_UPPER" || auto_pad_ == "SAME_LOWER") {
        out = (in + s - 1) / s;
        const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s + ext - in);
        pb = auto_pad_ == "SAME_UPPER" ? total / 2 : total - total / 2;
        pe = total - pb;
      } else {
        pb = auto_pad_ == "VALID" ? 0 : pads_[i];
        pe = auto_pad_ == "VALID" ? 0 : pads_[sp + i];
        const std::int64_t span = in + pb + pe - ext;
        if (span < 0) fail(ErrorCode::shape, node_.label(), ": kernel is larger than the padded input");
        out = ceil_ ? (span + s - 1) / s + 1 : span / s + 1;
        // A window must start inside the input or the left padding.
        if (ceil_ && (out - 1) * s >= in + pb) --out;
      }
      g.in[off + i] = in, g.out[off + i] = out, g.k[off + i] = kernel_[i], g.s[off + i] = s;
      g.d[off + i] = dilations_[i], g.pb[off + i] = pb, g.pe[off + i] = pe;
    }
    return g;
  }

  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const bool int8 = x.dtype() == DataType::uint8 || x.dtype() == DataType::int8;
    if ((!dtype_is_float(x.dtype()) && !(int8 && kind_ == P::max)) || x.dtype() == DataType::float16 ||
        x.dtype() == DataType::bfloat16)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    const Geo g = geometry(x.shape());
    Shape out = {x.dim(0), x.dim(1)};
    for (std::size_t i = 0; i < kernel_.size(); ++i) out.push_back(g.out[3 - kernel_.size() + i]);
    ctx.set_output(0, x.dtype(), out);
    if (blocked_) {
      // The layout pass picks 2-D float pools without indices only.
      if (x.rank() != 4 || x.dtype() != DataType::float32 || kind_ == P::lp || node_.has_output(1))
        fail(ErrorCode::internal, node_.label(), ": a blocked pool must be a 2-D float32 MaxPool or AveragePool");
      ctx.set_output_storage(0, blocked_bytes(out));
      ctx.scratch_bytes =
          blocked_columns_bytes(g) + static_cast<std::size_t>(ctx.threads) * rows_stride(g) * sizeof(const float*);
      return;
    }
    if (float_rows(x.dtype(), node_.has_output(1)) && rows_path(g))
      ctx.scratch_bytes = static_cast<std::size_t>(ctx.threads) * rows_stride(g) * sizeof(const float*);
    if (node_.has_output(1)) {
      if (kind_ != P::max) ctx.error("only MaxPool has a second output");
      ctx.set_output(1, DataType::int64, out);
    }
  }

  void run(const RunContext& ctx) const override {
    if (blocked_) return run_blocked(ctx, geometry(ctx.in(0).shape()));
    if (float_rows(ctx.in(0).dtype(), node_.has_output(1))) {
      const Geo g = geometry(ctx.in(0).shape());
      if (rows_path(g)) return run_rows(ctx, g);
    }
    dispatch_numeric(ctx.in(0).dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      run_typed<T>(ctx);
    });
  }

 private:
  bool float_rows(DataType t, bool indices) const { return t == DataType::float32 && !indices && kind_ != P::lp; }
  static bool rows_path(const Geo& g) { return g.k[0] == 1 && g.out[0] == 1 && g.in[0] == 1; }
  // Row pointers per worker, a whole number of cache lines: workers sharing a line rewrite
  // it for every output row (false sharing made two threads slower than one).
  static std::size_t rows_stride(const Geo& g) {
    return align64(static_cast<std::size_t>(g.k[1]) * sizeof(const float*)) / sizeof(const float*);
  }

  // 1-D and 2-D float pooling, one kernel call per output row: the columns whose windows
  // lie wholly inside the image go to simd::pool_row_f32 with the window's rows that are
  // inside; the few border columns are combined here in the same order (rows, then taps).
  void run_rows(const RunContext& ctx, const Geo& g) const {
    const Tensor& x = ctx.in(0);
    const std::int64_t planes = x.dim(0) * x.dim(1);
    const std::int64_t ih = g.in[1], iw = g.in[2], oh = g.out[1], ow = g.out[2];
    const std::int64_t kw = g.k[2], sw = g.s[2], dw = g.d[2], pl = g.pb[2];
    const float* px = x.data<float>();
    float* py = ctx.out(0).data<float>();
    const bool max = kind_ == P::max;
    const float init = max ? -std::numeric_limits<float>::infinity() : 0.0f;
    // Average: how many taps of each output column land inside the row (or inside the
    // explicit padding), the same for every row and plane.
    std::vector<std::int64_t> cols(max ? 0 : static_cast<std::size_t>(ow));
    for (std::int64_t xo = 0; xo < static_cast<std::int64_t>(cols.size()); ++xo)
      for (std::int64_t t = 0; t < kw; ++t) {
        const std::int64_t ix = xo * sw - pl + t * dw;
        if (include_pad_ ? ix < iw + g.pe[2] : ix >= 0 && ix < iw) ++cols[static_cast<std::size_t>(xo)];
      }
    // Output columns [xa, xb) read only inside the row.
    const std::int64_t xa = std::min(ow, (pl + sw - 1) / sw);
    const std::int64_t last = iw - 1 - (kw - 1) * dw + pl;  // the last window start inside
    const std::int64_t xb = std::max(xa, last < 0 ? 0 : std::min(ow, last / sw + 1));
    const float** buffers = static_cast<const float**>(ctx.scratch);
    ctx.pool->parallel_tasks(static_cast<std::size_t>(planes), [&](std::size_t plane, std::size_t worker) {
      const float** rows = buffers + worker * rows_stride(g);  // the window's rows inside
      const float* xc = px + static_cast<std::int64_t>(plane) * ih * iw;
      for (std::int64_t y = 0; y < oh; ++y) {
        float* orow = py + (static_cast<std::int64_t>(plane) * oh + y) * ow;
        std::size_t n = 0;
        std::int64_t rows_padded = 0;
        for (std::int64_t kh = 0; kh < g.k[1]; ++kh) {
          const std::int64_t iy = y * g.s[1] - g.pb[1] + kh * g.d[1];
          if (iy < ih + g.pe[1]) ++rows_padded;
          if (iy >= 0 && iy < ih) rows[n++] = xc + iy * iw;
        }
        // Average: divide by the taps that landed inside (or inside the explicit padding); a
        // column with none holds 0 and stays 0.
        const std::int64_t r = include_pad_ ? rows_padded : static_cast<std::int64_t>(n);
        auto border = [&](std::int64_t xo) {
          float acc = init;
          for (std::size_t i = 0; i < n; ++i)
            for (std::int64_t t = 0; t < kw; ++t) {
              const std::int64_t ix = xo * sw - pl + t * dw;
              if (ix < 0 || ix >= iw) continue;
              const float v = rows[i][ix];
              acc = max ? (v > acc ? v : acc) : acc + v;
            }
          orow[xo] =
              max ? acc : acc / static_cast<float>(std::max<std::int64_t>(1, r * cols[static_cast<std::size_t>(xo)]));
        };
        for (std::int64_t xo = 0; xo < xa; ++xo) border(xo);
        if (n == 0) {
          std::fill(orow + xa, orow + xb, init);
        } else if (xb > xa) {
          for (std::size_t i = 0; i < n; ++i) rows[i] += xa * sw - pl;
          ctx.kernels.pool_row_f32(max, static_cast<std::size_t>(xb - xa), rows, n, static_cast<std::size_t>(kw),
                                   static_cast<std::size_t>(sw), static_cast<std::size_t>(dw),
                                   max ? 0.0f : static_cast<float>(r * kw), orow + xa);
          for (std::size_t i = 0; i < n; ++i) rows[i] -= xa * sw - pl;
        }
        for (std::int64_t xo = xb; xo < ow; ++xo) border(xo);
      }
    });
  }

  // Per output column of a blocked run: the taps inside the row [lo, hi) and, for an
  // average, how many taps count (as run_rows's cols).
  static std::size_t blocked_columns_bytes(const Geo& g) { return 3 * align64(static_cast<std::size_t>(g.out[2]) * 4); }

  // A 2-D float pool in the channel-blocked layout ([image][block][pixel][16]) in and out:
  // one simd::pool_nc16_f32 call per output row of a block, the window's rows and each
  // column's taps inside the image handed over, so borders need no special case. Values
  // are combined in run_rows's order and divided by the same counts, so the result is the
  // planes path's bit for bit.
  void run_blocked(const RunContext& ctx, const Geo& g) const {
    const Tensor& x = ctx.in(0);
    const std::size_t n = static_cast<std::size_t>(x.dim(0)),
                      blocks = (static_cast<std::size_t>(x.dim(1)) + kBlock - 1) / kBlock;
    const std::int64_t ih = g.in[1], iw = g.in[2], oh = g.out[1], ow = g.out[2];
    const std::int64_t kw = g.k[2], sw = g.s[2], dw = g.d[2], pl = g.pb[2];
    const bool max = kind_ == P::max;
    char* scratch = static_cast<char*>(ctx.scratch);
    const std::size_t col_bytes = align64(static_cast<std::size_t>(ow) * 4);
    auto* lo = reinterpret_cast<std::uint32_t*>(scratch);
    auto* hi = reinterpret_cast<std::uint32_t*>(scratch + col_bytes);
    auto* cdiv = reinterpret_cast<float*>(scratch + 2 * col_bytes);
    const float** buffers = reinterpret_cast<const float**>(scratch + blocked_columns_bytes(g));
    for (std::int64_t xo = 0; xo < ow; ++xo) {
      std::int64_t a = kw, b = 0, counted = 0;
      for (std::int64_t t = 0; t < kw; ++t) {
        const std::int64_t ix = xo * sw - pl + t * dw;
        if (ix >= 0 && ix < iw) a = std::min(a, t), b = t + 1;
        if (include_pad_ ? ix < iw + g.pe[2] : ix >= 0 && ix < iw) ++counted;
      }
      lo[xo] = static_cast<std::uint32_t>(a < b ? a : 0);
      hi[xo] = static_cast<std::uint32_t>(a < b ? b : 0);
      cdiv[xo] = static_cast<float>(counted);
    }
    const std::size_t in_plane = static_cast<std::size_t>(ih * iw) * kBlock,
                      out_plane = static_cast<std::size_t>(oh * ow) * kBlock;
    const float* px = x.data<float>();
    float* py = ctx.out(0).data<float>();
    // One task per output row of a block (the pool splits them into contiguous ranges).
    ctx.pool->parallel_tasks(n * blocks * static_cast<std::size_t>(oh), [&](std::size_t i, std::size_t worker) {
      const float** rows = buffers + worker * rows_stride(g);
      simd::PoolNc16Args a;
      a.max = max;
      a.n = static_cast<std::size_t>(ow);
      a.rows = rows;
      a.sx = static_cast<std::size_t>(sw), a.dx = static_cast<std::size_t>(dw), a.pl = static_cast<std::size_t>(pl);
      a.lo = lo, a.hi = hi, a.cdiv = cdiv;
      const std::size_t plane = i / static_cast<std::size_t>(oh);
      const std::int64_t y = static_cast<std::int64_t>(i % static_cast<std::size_t>(oh));
      const float* xc = px + plane * in_plane;
      std::size_t nr = 0;
      std::int64_t rows_padded = 0;
      for (std::int64_t kh = 0; kh < g.k[1]; ++kh) {
        const std::int64_t iy = y * g.s[1] - g.pb[1] + kh * g.d[1];
        if (iy < ih + g.pe[1]) ++rows_padded;
        if (iy >= 0 && iy < ih) rows[nr++] = xc + static_cast<std::size_t>(iy * iw) * kBlock;
      }
      a.nrows = nr;
      a.rdiv = static_cast<float>(include_pad_ ? rows_padded : static_cast<std::int64_t>(nr));
      a.y = py + plane * out_plane + static_cast<std::size_t>(y * ow) * kBlock;
      ctx.kernels.pool_nc16_f32(a);
    });
  }

  template <class T>
  void run_typed(const RunContext& ctx) const {
    const Tensor& x = ctx.in(0);
    const Geo g = geometry(x.shape());
    const std::int64_t planes = x.dim(0) * x.dim(1);
    const std::int64_t isz = g.in[0] * g.in[1] * g.in[2], osz = g.out[0] * g.out[1] * g.out[2];
    const T* px = x.data<T>();
    T* py = ctx.out(0).data<T>();
    std::int64_t* pi = ctx.has_out(1) ? ctx.out(1).data<std::int64_t>() : nullptr;
    ctx.pool->parallel_for(static_cast<std::size_t>(planes), 1, [&](std::size_t b, std::size_t e) {
      for (std::size_t pl = b; pl < e; ++pl) {
        const T* xc = px + static_cast<std::int64_t>(pl) * isz;
        T* yc = py + static_cast<std::int64_t>(pl) * osz;
        for (std::int64_t z = 0; z < g.out[0]; ++z)
          for (std::int64_t y = 0; y < g.out[1]; ++y)
            for (std::int64_t xo = 0; xo < g.out[2]; ++xo) {
              double acc = kind_ == P::max ? -std::numeric_limits<double>::infinity() : 0.0;
              std::int64_t count = 0, arg = -1;
              for (std::int64_t kd = 0; kd < g.k[0]; ++kd) {
                const std::int64_t iz = z * g.s[0] - g.pb[0] + kd * g.d[0];
                for (std::int64_t kh = 0; kh < g.k[1]; ++kh) {
                  const std::int64_t iy = y * g.s[1] - g.pb[1] + kh * g.d[1];
                  for (std::int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const std::int64_t ix = xo * g.s[2] - g.pb[2] + kw * g.d[2];
                    const bool inside = iz >= 0 && iz < g.in[0] && iy >= 0 && iy < g.in[1] && ix >= 0 && ix < g.in[2];
                    if (!inside) {
                      // count_include_pad counts the explicit padding, not the ceil_mode overhang.
                      if (include_pad_ && iz < g.in[0] + g.pe[0] && iy < g.in[1] + g.pe[1] && ix < g.in[2] + g.pe[2])
                        ++count;
                      continue;
                    }
                    const std::int64_t idx = (iz * g.in[1] + iy) * g.in[2] + ix;
                    const double v = static_cast<double>(xc[idx]);
                    ++count;
                    if (kind_ == P::max) {
                      if (v > acc || arg < 0) acc = v, arg = idx;
                    } else if (kind_ == P::avg) {
                      acc += v;
                    } else {
                      acc += std::pow(std::abs(v), static_cast<double>(p_));
                    }
                  }
                }
              }
              const std::int64_t o = (z * g.out[1] + y) * g.out[2] + xo;
              if (kind_ == P::max) {
                // A window wholly in the padding has no maximum: the lowest value of the type.
                yc[o] = arg >= 0                               ? saturate_cast<T>(acc)
                        : std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                               : std::numeric_limits<T>::lowest();
                if (pi) {
                  std::int64_t flat = static_cast<std::int64_t>(pl) * isz + std::max<std::int64_t>(arg, 0);
                  if (storage_order_ == 1 && arg >= 0) {
                    const std::int64_t ax = arg % g.in[2], ay = (arg / g.in[2]) % g.in[1];
                    flat = static_cast<std::int64_t>(pl) * isz + ax * g.in[1] + ay;
                  }
                  pi[static_cast<std::int64_t>(pl) * osz + o] = flat;
                }
              } else if (kind_ == P::avg) {
                yc[o] = saturate_cast<T>(count ? acc / static_cast<double>(count) : 0.0);
              } else {
                yc[o] = saturate_cast<T>(std::pow(acc, 1.0 / static_cast<double>(p_)));
              }
            }
      }
    });
  }

  const Node& node_;
  P kind_;
  std::string auto_pad_;
  std::vector<std::int64_t> kernel_, strides_, dilations_, pads_;
  bool ceil_ = false, include_pad_ = false, blocked_ = false;
  std::int64_t storage_order_ = 0, p_ = 2;
};

class GlobalPoolOp : public Op {
 public:
  explicit GlobalPoolOp(const CreateContext& c) : node_(c.node) {
    kind_ = c.node.op_type == "GlobalMaxPool" ? P::max : c.node.op_type == "GlobalAveragePool" ? P::avg : P::lp;
    p_ = c.node.attr_int("p", 2);
    blocked_ = (c.node.attr_int(kLayoutAttr, 0) & kLayoutInput) != 0;
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (blocked_ && (x.rank() != 4 || x.dtype() != DataType::float32))
      fail(ErrorCode::internal, node_.label(), ": a blocked input must be a 4-D float32 tensor");
    if (x.rank() < 2) ctx.error(cat("input must have rank 2 or more, got ", shape_str(x.shape())));
    if (x.dtype() != DataType::float32 && x.dtype() != DataType::float64)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    Shape out = x.shape();
    for (std::size_t i = 2; i < out.size(); ++i) out[i] = 1;
    ctx.set_output(0, x.dtype(), out);
  }
  void run(const RunContext& ctx) const override {
    if (blocked_) return run_blocked(ctx);
    dispatch_float(ctx.in(0).dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const Tensor& x = ctx.in(0);
      const std::int64_t planes = x.dim(0) * x.dim(1), sz = x.numel() / std::max<std::int64_t>(planes, 1);
      const T* px = x.data<T>();
      T* py = ctx.out(0).data<T>();
      ctx.pool->parallel_for(static_cast<std::size_t>(planes), 16, [&](std::size_t b, std::size_t e) {
        for (std::size_t pl = b; pl < e; ++pl) {
          const T* s = px + static_cast<std::int64_t>(pl) * sz;
          if constexpr (std::is_same_v<T, float>) {
            // The vector row reduction: several sums side by side instead of one chain of
            // dependent adds (EfficientNet-B0's squeeze-and-excitation pools, 17 of them, took
            // 1.9 ms of 22 at one thread on AVX2 that way).
            if (kind_ != P::lp && sz > 0) {
              const float r = ctx.kernels.reduce_row_f32(kind_ == P::max ? simd::Reduce::max : simd::Reduce::sum,
                                                         static_cast<std::size_t>(sz), s);
              py[pl] = kind_ == P::max ? r : r / static_cast<float>(sz);
              continue;
            }
          }
          if (kind_ == P::max) {
            T m = sz ? s[0] : T(0);
            for (std::int64_t i = 1; i < sz; ++i) m = max_keeping_nan(m, s[i]);
            py[pl] = m;
          } else if (kind_ == P::avg) {
            T acc = 0;
            for (std::int64_t i = 0; i < sz; ++i) acc += s[i];
            py[pl] = sz ? acc / static_cast<T>(sz) : T(0);
          } else {
            double acc = 0;
            for (std::int64_t i = 0; i < sz; ++i) acc += std::pow(std::abs(static_cast<double>(s[i])), double(p_));
            py[pl] = static_cast<T>(std::pow(acc, 1.0 / double(p_)));
          }
        }
      });
    });
  }

 private:
  // The running maximum of both layouts: a NaN, once seen, stays.
  template <class T>
  static T max_keeping_nan(T m, T v) {
    return v > m || v != v ? v : m;
  }
  // The input in the channel-blocked layout ([image][block][pixel][16]): per (image, block)
  // the 16 channels reduce side by side, each over the pixels in order (a maximum is the
  // planes' bit for bit; a sum differs from the planes' vector sums by rounding only).
  // Padding lanes past the channels are not written.
  void run_blocked(const RunContext& ctx) const {
    constexpr std::size_t C = simd::kChannelBlock;
    const Tensor& x = ctx.in(0);
    const std::size_t n = static_cast<std::size_t>(x.dim(0)), c = static_cast<std::size_t>(x.dim(1));
    const std::size_t sz = static_cast<std::size_t>(x.dim(2) * x.dim(3)), blocks = (c + C - 1) / C;
    const float* px = x.data<float>();
    float* py = ctx.out(0).data<float>();
    ctx.pool->parallel_for(n * blocks, 4, [&](std::size_t b, std::size_t e) {
      for (std::size_t nb = b; nb < e; ++nb) {
        const float* s = px + nb * sz * C;
        float acc[C];
        for (std::size_t l = 0; l < C; ++l) acc[l] = kind_ == P::max && sz ? s[l] : 0.0f;
        if (kind_ == P::max) {
          for (std::size_t i = 1; i < sz; ++i)
            for (std::size_t l = 0; l < C; ++l) acc[l] = max_keeping_nan(acc[l], s[i * C + l]);
        } else {
          for (std::size_t i = 0; i < sz; ++i)
            for (std::size_t l = 0; l < C; ++l) acc[l] += s[i * C + l];
          for (std::size_t l = 0; l < C; ++l) acc[l] = sz ? acc[l] / static_cast<float>(sz) : 0.0f;
        }
        const std::size_t img = nb / blocks, c0 = nb % blocks * C;
        for (std::size_t l = 0; l < C && c0 + l < c; ++l) py[img * c + c0 + l] = acc[l];
      }
    });
  }

  const Node& node_;
  P kind_;
  std::int64_t p_;
  bool blocked_ = false;
};

}  // namespace

std::vector<OpEntry> pool_ops() {
  return {{"MaxPool", make_op<PoolOp>},
          {"AveragePool", make_op<PoolOp>},
          {"LpPool", make_op<PoolOp>},
          {"GlobalAveragePool", make_op<GlobalPoolOp>},
          {"GlobalMaxPool", make_op<GlobalPoolOp>},
          {"GlobalLpPool", make_op<GlobalPoolOp>}};
}

}  // namespace edgert
