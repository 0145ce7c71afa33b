// Reductions (ReduceMean/Sum/Max/Min/Prod/L1/L2/LogSumExp/SumSquare/LogSum), ArgMax/ArgMin,
// Softmax, LogSoftmax and Hardmax.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../exec/thread_pool.h"
#include "common.h"

namespace edgert {
namespace {

enum class R { mean, sum, max, min, prod, l1, l2, log_sum_exp, sum_square, log_sum };

class ReduceOp : public Op {
 public:
  explicit ReduceOp(const CreateContext& c) : node_(c.node) {
    const std::string& t = c.node.op_type;
    kind_ = t == "ReduceMean"        ? R::mean
            : t == "ReduceSum"       ? R::sum
            : t == "ReduceMax"       ? R::max
            : t == "ReduceMin"       ? R::min
            : t == "ReduceProd"      ? R::prod
            : t == "ReduceL1"        ? R::l1
            : t == "ReduceL2"        ? R::l2
            : t == "ReduceLogSumExp" ? R::log_sum_exp
            : t == "ReduceSumSquare" ? R::sum_square
                                     : R::log_sum;
    keepdims_ = c.node.attr_int("keepdims", 1) != 0;
    noop_ = c.node.attr_int("noop_with_empty_axes", 0) != 0;
    axes_ = c.node.attr_ints("axes");
  }

  Shape keep_shape(const Shape& x, const std::vector<std::int64_t>& axes_in, bool& noop) const {
    Shape k = x;
    noop = false;
    if (axes_in.empty()) {
      if (noop_) {
        noop = true;
        return k;
      }
      for (auto& d : k) d = 1;
      return k;
    }
    for (std::int64_t a : axes_in) k[normalize_axis(node_, a, static_cast<std::int64_t>(x.size()))] = 1;
    return k;
  }
  template <class Get>
  std::vector<std::int64_t> axes(Get&& get) const {
    return node_.has_input(1) ? get(1) : axes_;
  }

  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (!dtype_is_float(x.dtype()) && x.dtype() != DataType::int64 && x.dtype() != DataType::int32)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    if (x.dtype() == DataType::float16 || x.dtype() == DataType::bfloat16)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    const auto ax = axes([&](std::size_t i) { return ints_of(ctx.value(i)); });
    bool noop;
    Shape k = keep_shape(x.shape(), ax, noop);
    if (!noop && (kind_ == R::max || kind_ == R::min))
      for (std::size_t d = 0; d < k.size(); ++d)
        if (k[d] == 1 && x.dim(d) == 0) ctx.error("cannot take the max or min of an empty axis");
    Shape out;
    if (keepdims_ || noop) {
      out = k;
    } else {
      std::vector<char> red(x.rank(), 0);
      if (ax.empty()) std::fill(red.begin(), red.end(), 1);
      for (std::int64_t a : ax) red[normalize_axis(node_, a, static_cast<std::int64_t>(x.rank()))] = 1;
      for (std::size_t d = 0; d < x.rank(); ++d)
        if (!red[d]) out.push_back(x.dim(d));
    }
    ctx.set_output(0, x.dtype(), out);
    ctx.scratch_bytes = static_cast<std::size_t>(shape_numel(k)) * sizeof(double);
  }

  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const auto ax = axes([&](std::size_t i) { return ints_of(ctx.in(i)); });
    bool noop;
    const Shape k = keep_shape(x.shape(), ax, noop);
    if (x.dtype() == DataType::float32 && !noop &&
        (kind_ == R::sum || kind_ == R::mean || kind_ == R::max || kind_ == R::min)) {
      // The reduced axes form the trailing block of the layout: one contiguous row per output.
      std::size_t first = x.rank();
      while (first > 0 && k[first - 1] == 1) --first;
      bool trailing = true;
      for (std::size_t d = 0; d < first; ++d) trailing &= k[d] == x.dim(d);
      for (std::size_t d = first; d < x.rank(); ++d) trailing &= k[d] == 1;
      const std::int64_t outs = shape_numel(k), len = outs ? x.numel() / outs : 0;
      if (trailing && len > 0) {
        const simd::Reduce op = kind_ == R::max   ? simd::Reduce::max
                                : kind_ == R::min ? simd::Reduce::min
                                                  : simd::Reduce::sum;
        const float* px = x.data<float>();
        float* py = ctx.out(0).data<float>();
        ctx.pool->parallel_for(
            static_cast<std::size_t>(outs), std::max<std::size_t>(1, 4096 / static_cast<std::size_t>(len)),
            [&](std::size_t b, std::size_t e) {
              for (std::size_t o = b; o < e; ++o) {
                const float v = ctx.kernels.reduce_row_f32(op, static_cast<std::size_t>(len), px + o * len);
                py[o] = kind_ == R::mean ? v / static_cast<float>(len) : v;
              }
            });
        return;
      }
    }
    dispatch_numeric(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.out(0).data<T>();
      if (noop) {
        std::copy(px, px + x.numel(), py);
        return;
      }
      double* acc = static_cast<double*>(ctx.scratch);
      const std::int64_t on = shape_numel(k);
      const double init = kind_ == R::max    ? -std::numeric_limits<double>::infinity()
                          : kind_ == R::min  ? std::numeric_limits<double>::infinity()
                          : kind_ == R::prod ? 1.0
                                             : 0.0;
      std::fill(acc, acc + on, init);
      // log-sum-exp subtracts the max first for stability.
      std::vector<double> mx;
      if (kind_ == R::log_sum_exp) {
        mx.assign(static_cast<std::size_t>(on), -std::numeric_limits<double>::infinity());
        Broadcaster br(x.shape(), {&k});
        br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
          for (std::int64_t i = 0; i < len; ++i) {
            double& m = mx[offs[0] + i * st[0]];
            m = std::max(m, static_cast<double>(px[o + i]));
          }
        });
      }
      Broadcaster br(x.shape(), {&k});
      br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
        for (std::int64_t i = 0; i < len; ++i) {
          const double v = static_cast<double>(px[o + i]);
          double& a = acc[offs[0] + i * st[0]];
          switch (kind_) {
            case R::mean:
            case R::sum:
            case R::log_sum:
              a += v;
              break;
            case R::max:
              a = (v > a || v != v) ? v : a;
              break;
            case R::min:
              a = (v < a || v != v) ? v : a;
              break;
            case R::prod:
              a *= v;
              break;
            case R::l1:
              a += std::abs(v);
              break;
            case R::l2:
            case R::sum_square:
              a += v * v;
              break;
            case R::log_sum_exp:
              a += std::exp(v - mx[offs[0] + i * st[0]]);
              break;
          }
        }
      });
      const double count = static_cast<double>(x.numel()) / static_cast<double>(std::max<std::int64_t>(on, 1));
      for (std::int64_t i = 0; i < on; ++i) {
        double v = acc[i];
        if (kind_ == R::mean)
          v /= count;
        else if (kind_ == R::l2)
          v = std::sqrt(v);
        else if (kind_ == R::log_sum)
          v = std::log(v);
        else if (kind_ == R::log_sum_exp)
          v = std::log(v) + mx[i];
        py[i] = saturate_cast<T>(v);
      }
    });
  }

 private:
  const Node& node_;
  R kind_;
  bool keepdims_, noop_;
  std::vector<std::int64_t> axes_;
};

class ArgOp : public Op {
 public:
  explicit ArgOp(const CreateContext& c) : node_(c.node), max_(c.node.op_type == "ArgMax") {
    axis_ = c.node.attr_int("axis", 0);
    keepdims_ = c.node.attr_int("keepdims", 1) != 0;
    last_ = c.node.attr_int("select_last_index", 0) != 0;
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t a = normalize_axis(node_, axis_, static_cast<std::int64_t>(x.rank()));
    if (x.dim(a) == 0) ctx.error("cannot take ArgMax/ArgMin of an empty axis");
    Shape out = x.shape();
    if (keepdims_)
      out[a] = 1;
    else
      out.erase(out.begin() + a);
    ctx.set_output(0, DataType::int64, out);
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t a = normalize_axis(node_, axis_, static_cast<std::int64_t>(x.rank()));
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t d = 0; d < a; ++d) outer *= x.dim(d);
    for (std::size_t d = static_cast<std::size_t>(a) + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const std::int64_t n = x.dim(a);
    std::int64_t* py = ctx.out(0).data<std::int64_t>();
    dispatch_numeric(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < inner; ++i) {
          const T* s = px + o * n * inner + i;
          std::int64_t best = 0;
          for (std::int64_t j = 1; j < n; ++j) {
            const T v = s[j * inner], b = s[best * inner];
            const bool better = max_ ? (last_ ? v >= b : v > b) : (last_ ? v <= b : v < b);
            if (better) best = j;
          }
          py[o * inner + i] = best;
        }
    });
  }

 private:
  const Node& node_;
  bool max_;
  std::int64_t axis_;
  bool keepdims_, last_;
};

enum class S { softmax, log_softmax, hardmax };

class SoftmaxOp : public Op {
 public:
  explicit SoftmaxOp(const CreateContext& c) : node_(c.node) {
    kind_ = c.node.op_type == "Softmax" ? S::softmax : c.node.op_type == "LogSoftmax" ? S::log_softmax : S::hardmax;
    legacy_ = c.node.opset < 13;
    axis_ = c.node.attr_int("axis", legacy_ ? 1 : -1);
  }
  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (x.dtype() != DataType::float32 && x.dtype() != DataType::float64)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    normalize_axis(node_, axis_, std::max<std::int64_t>(1, static_cast<std::int64_t>(x.rank())));
    ctx.set_output(0, x.dtype(), x.shape());
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const std::int64_t r = static_cast<std::int64_t>(x.rank());
    if (r == 0) fail(ErrorCode::shape, node_.label(), ": input must have rank 1 or more");
    const std::int64_t a = normalize_axis(node_, axis_, r);
    std::int64_t outer = 1, n = 1, inner = 1;
    if (legacy_) {
      for (std::int64_t d = 0; d < a; ++d) outer *= x.dim(d);
      n = x.numel() / std::max<std::int64_t>(outer, 1);
    } else {
      for (std::int64_t d = 0; d < a; ++d) outer *= x.dim(d);
      n = x.dim(a);
      for (std::int64_t d = a + 1; d < r; ++d) inner *= x.dim(d);
    }
    if (x.dtype() == DataType::float32 && inner == 1 && kind_ != S::hardmax) {
      // Rows along the last axis: the vector kernel, one row at a time, rows across the pool.
      const float* px = x.data<float>();
      float* py = ctx.out(0).data<float>();
      const int log = kind_ == S::log_softmax;
      ctx.pool->parallel_for(static_cast<std::size_t>(outer),
                             std::max<std::size_t>(1, 4096 / std::max<std::int64_t>(n, 1)),
                             [&](std::size_t b, std::size_t e) {
                               for (std::size_t r = b; r < e; ++r)
                                 ctx.kernels.softmax_row_f32(static_cast<std::size_t>(n), px + r * n, py + r * n, log);
                             });
      return;
    }
    dispatch_float(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.out(0).data<T>();
      ctx.pool->parallel_for(static_cast<std::size_t>(outer * inner), 64, [&](std::size_t b, std::size_t e) {
        for (std::size_t t = b; t < e; ++t) {
          const std::int64_t o = static_cast<std::int64_t>(t) / inner, i = static_cast<std::int64_t>(t) % inner;
          const T* s = px + o * n * inner + i;
          T* d = py + o * n * inner + i;
          T m = -std::numeric_limits<T>::infinity();
          std::int64_t arg = 0;
          for (std::int64_t j = 0; j < n; ++j)
            if (s[j * inner] > m) m = s[j * inner], arg = j;
          if (kind_ == S::hardmax) {
            for (std::int64_t j = 0; j < n; ++j) d[j * inner] = j == arg ? T(1) : T(0);
            continue;
          }
          T sum = 0;
          for (std::int64_t j = 0; j < n; ++j) {
            const T ev = std::exp(s[j * inner] - m);
            if (kind_ == S::softmax) d[j * inner] = ev;
            sum += ev;
          }
          if (kind_ == S::softmax) {
            const T inv = T(1) / sum;
            for (std::int64_t j = 0; j < n; ++j) d[j * inner] *= inv;
          } else {
            const T ls = std::log(sum);
            for (std::int64_t j = 0; j < n; ++j) d[j * inner] = s[j * inner] - m - ls;
          }
        }
      });
    });
  }

 private:
  const Node& node_;
  S kind_;
  bool legacy_;
  std::int64_t axis_;
};

}  // namespace

std::vector<OpEntry> reduce_ops() {
  std::vector<OpEntry> out;
  for (const char* t : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                        "ReduceLogSumExp", "ReduceSumSquare", "ReduceLogSum"})
    out.push_back({t, make_op<ReduceOp>});
  out.push_back({"ArgMax", make_op<ArgOp>});
  out.push_back({"ArgMin", make_op<ArgOp>});
  out.push_back({"Softmax", make_op<SoftmaxOp>});
  out.push_back({"LogSoftmax", make_op<SoftmaxOp>});
  out.push_back({"Hardmax", make_op<SoftmaxOp>});
  return out;
}

}  // namespace edgert
