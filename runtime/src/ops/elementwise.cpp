// Elementwise operators: unary math and activations, binary arithmetic and comparisons
// with numpy broadcasting, variadic Sum/Mean/Min/Max, Where, Clip, PRelu, Not.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../exec/thread_pool.h"
#include "../passes/blocked_layout.h"
#include "common.h"

namespace edgert {
namespace {

enum class U {
  relu,
  leaky_relu,
  sigmoid,
  hard_sigmoid,
  hard_swish,
  tanh_,
  elu,
  selu,
  celu,
  softplus,
  softsign,
  exp_,
  log_,
  sqrt_,
  neg,
  abs_,
  reciprocal,
  erf_,
  floor_,
  ceil_,
  round_,
  sign,
  sin_,
  cos_,
  identity,
  thresholded_relu,
  mish
};

struct UnaryInfo {
  const char* name;
  U kind;
  bool ints;  // defined for integer types too
};

constexpr UnaryInfo kUnary[] = {
    {"Relu", U::relu, true},
    {"LeakyRelu", U::leaky_relu, false},
    {"Sigmoid", U::sigmoid, false},
    {"HardSigmoid", U::hard_sigmoid, false},
    {"HardSwish", U::hard_swish, false},
    {"Tanh", U::tanh_, false},
    {"Elu", U::elu, false},
    {"Selu", U::selu, false},
    {"Celu", U::celu, false},
    {"Softplus", U::softplus, false},
    {"Softsign", U::softsign, false},
    {"Exp", U::exp_, false},
    {"Log", U::log_, false},
    {"Sqrt", U::sqrt_, false},
    {"Neg", U::neg, true},
    {"Abs", U::abs_, true},
    {"Reciprocal", U::reciprocal, false},
    {"Erf", U::erf_, false},
    {"Floor", U::floor_, false},
    {"Ceil", U::ceil_, false},
    {"Round", U::round_, false},
    {"Sign", U::sign, true},
    {"Sin", U::sin_, false},
    {"Cos", U::cos_, false},
    {"Identity", U::identity, true},
    {"Dropout", U::identity, true},
    {"ThresholdedRelu", U::thresholded_relu, false},
    {"Mish", U::mish, false},
};

// The vector kernel for a unary kind, if there is one.
bool simd_unary(U k, simd::Unary& f) {
  switch (k) {
    case U::relu:
      f = simd::Unary::relu;
      return true;
    case U::leaky_relu:
      f = simd::Unary::leaky_relu;
      return true;
    case U::hard_sigmoid:
      f = simd::Unary::hard_sigmoid;
      return true;
    case U::hard_swish:
      f = simd::Unary::hard_swish;
      return true;
    case U::sigmoid:
      f = simd::Unary::sigmoid;
      return true;
    case U::tanh_:
      f = simd::Unary::tanh;
      return true;
    case U::exp_:
      f = simd::Unary::exp;
      return true;
    case U::neg:
      f = simd::Unary::neg;
      return true;
    case U::abs_:
      f = simd::Unary::abs;
      return true;
    case U::sqrt_:
      f = simd::Unary::sqrt;
      return true;
    default:
      return false;
  }
}

// Applies a vector kernel to [0, n) in chunks across the pool.
template <class F>
void parallel_chunks(ThreadPool* pool, std::size_t n, F&& f) {
  pool->parallel_for(n, 1 << 14, [&](std::size_t b, std::size_t e) { f(b, e - b); });
}

class UnaryOp : public Op {
 public:
  explicit UnaryOp(const CreateContext& c) : node_(c.node), kernels_(c.kernels) {
    for (const UnaryInfo& u : kUnary)
      if (c.node.op_type == u.name) info_ = u;
    const Node& n = c.node;
    switch (info_.kind) {
      case U::leaky_relu:
        alpha_ = n.attr_float("alpha", 0.01f);
        break;
      case U::hard_sigmoid:
        alpha_ = n.attr_float("alpha", 0.2f), beta_ = n.attr_float("beta", 0.5f);
        break;
      case U::elu:
      case U::celu:
        alpha_ = n.attr_float("alpha", 1.0f);
        break;
      case U::thresholded_relu:
        alpha_ = n.attr_float("alpha", 1.0f);
        break;
      case U::selu:
        alpha_ = n.attr_float("alpha", 1.67326319217681884765625f);
        beta_ = n.attr_float("gamma", 1.05070102214813232421875f);
        break;
      default:
        break;
    }
    if (n.op_type == "Dropout") {
      if (n.has_input(2)) {
        if (const Tensor* t = c.constant(2); t && tensor_int_at(*t, 0))
          fail(ErrorCode::unsupported, n.label(), ": training mode Dropout is not supported");
        if (!c.constant(2)) training_input_ = true;
      }
    }
  }

  int inplace_input() const override { return 0; }

  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (!info_.ints && !dtype_is_float(x.dtype()))
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    if (training_input_ && tensor_int_at(ctx.value(2), 0))
      fail(ErrorCode::unsupported, node_.label(), ": training mode Dropout is not supported");
    ctx.set_output(0, x.dtype(), x.shape());
    if (node_.op_type == "Dropout" && node_.has_output(1)) ctx.set_output(1, DataType::boolean, x.shape());
  }

  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    const std::size_t n = static_cast<std::size_t>(x.numel());
    if (ctx.has_out(1)) std::memset(ctx.out(1).raw(), 1, ctx.out(1).nbytes());
    if (info_.kind == U::identity || x.dtype() == DataType::float16 || x.dtype() == DataType::bfloat16) {
      if (info_.kind != U::identity)
        fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
      if (y.raw() != x.raw() && n) std::memcpy(y.raw(), x.raw(), x.nbytes());
      return;
    }
    simd::Unary f;
    if (x.dtype() == DataType::float32 && simd_unary(info_.kind, f)) {
      const float* px = x.data<float>();
      float* py = y.data<float>();
      parallel_chunks(ctx.pool, n, [&](std::size_t b, std::size_t len) {
        kernels_.unary_f32(f, len, px + b, py + b, alpha_, beta_);
      });
      return;
    }
    if (dtype_is_float(x.dtype())) {
      dispatch_float(x.dtype(), node_, [&](auto tag) {
        using T = typename decltype(tag)::type;
        apply_float<T>(x.data<T>(), y.data<T>(), n, ctx.pool);
      });
    } else {
      dispatch_numeric(x.dtype(), node_, [&](auto tag) {
        using T = typename decltype(tag)::type;
        apply_int<T>(x.data<T>(), y.data<T>(), n);
      });
    }
  }

 private:
  template <class T, class F>
  static void loop(const T* x, T* y, std::size_t n, ThreadPool* pool, F f) {
    pool->parallel_for(n, 1 << 16, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) y[i] = f(x[i]);
    });
  }

  template <class T>
  void apply_float(const T* x, T* y, std::size_t n, ThreadPool* pool) const {
    const T a = static_cast<T>(alpha_), b = static_cast<T>(beta_);
    switch (info_.kind) {
      case U::relu:
        return loop(x, y, n, pool, [](T v) { return v > T(0) ? v : (v == v ? T(0) : v); });
      case U::leaky_relu:
        return loop(x, y, n, pool, [a](T v) { return v >= T(0) ? v : v * a; });
      case U::sigmoid:
        return loop(x, y, n, pool,
                    [](T v) { return v >= T(0) ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v)); });
      case U::hard_sigmoid:
        return loop(x, y, n, pool, [a, b](T v) { return std::max(T(0), std::min(T(1), a * v + b)); });
      case U::hard_swish:
        return loop(x, y, n, pool, [](T v) { return v * std::max(T(0), std::min(T(1), v / T(6) + T(0.5))); });
      case U::tanh_:
        return loop(x, y, n, pool, [](T v) { return std::tanh(v); });
      case U::elu:
        return loop(x, y, n, pool, [a](T v) { return v >= T(0) ? v : a * (std::exp(v) - T(1)); });
      case U::celu:
        return loop(x, y, n, pool,
                    [a](T v) { return std::max(T(0), v) + std::min(T(0), a * (std::exp(v / a) - T(1))); });
      case U::selu:
        return loop(x, y, n, pool, [a, b](T v) { return v > T(0) ? b * v : b * (a * std::exp(v) - a); });
      case U::softplus:
        return loop(x, y, n, pool,
                    [](T v) { return v > T(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); });
      case U::softsign:
        return loop(x, y, n, pool, [](T v) { return v / (T(1) + std::abs(v)); });
      case U::exp_:
        return loop(x, y, n, pool, [](T v) { return std::exp(v); });
      case U::log_:
        return loop(x, y, n, pool, [](T v) { return std::log(v); });
      case U::sqrt_:
        return loop(x, y, n, pool, [](T v) { return std::sqrt(v); });
      case U::neg:
        return loop(x, y, n, pool, [](T v) { return -v; });
      case U::abs_:
        return loop(x, y, n, pool, [](T v) { return std::abs(v); });
      case U::reciprocal:
        return loop(x, y, n, pool, [](T v) { return T(1) / v; });
      case U::erf_:
        return loop(x, y, n, pool, [](T v) { return std::erf(v); });
      case U::floor_:
        return loop(x, y, n, pool, [](T v) { return std::floor(v); });
      case U::ceil_:
        return loop(x, y, n, pool, [](T v) { return std::ceil(v); });
      case U::round_:
        return loop(x, y, n, pool, [](T v) { return std::nearbyint(v); });
      case U::sign:
        return loop(x, y, n, pool, [](T v) { return v > T(0) ? T(1) : (v < T(0) ? T(-1) : v); });
      case U::sin_:
        return loop(x, y, n, pool, [](T v) { return std::sin(v); });
      case U::cos_:
        return loop(x, y, n, pool, [](T v) { return std::cos(v); });
      case U::thresholded_relu:
        return loop(x, y, n, pool, [a](T v) { return v > a ? v : T(0); });
      case U::mish:
        return loop(x, y, n, pool, [](T v) {
          const T sp = v > T(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
          return v * std::tanh(sp);
        });
      case U::identity:
        return;
    }
  }

  template <class T>
  void apply_int(const T* x, T* y, std::size_t n) const {
    for (std::size_t i = 0; i < n; ++i) {
      const T v = x[i];
      switch (info_.kind) {
        case U::relu:
          y[i] = v > T(0) ? v : T(0);
          break;
        case U::neg:
          y[i] = wrap_neg(v);
          break;
        case U::abs_:
          y[i] = v < T(0) ? wrap_neg(v) : v;
          break;
        case U::sign:
          y[i] = v > T(0) ? T(1) : (v < T(0) ? static_cast<T>(-1) : T(0));
          break;
        default:
          y[i] = v;
          break;
      }
    }
  }

  const Node& node_;
  const simd::KernelTable& kernels_;
  UnaryInfo info_{"", U::identity, true};
  float alpha_ = 0.0f, beta_ = 0.0f;
  bool training_input_ = false;
};

enum class B {
  add,
  sub,
  mul,
  div,
  pow,
  min,
  max,
  sum,
  mean,
  prelu,
  equal,
  less,
  greater,
  less_eq,
  greater_eq,
  and_,
  or_,
  xor_,
  mod
};

struct BinaryInfo {
  const char* name;
  B kind;
};

constexpr BinaryInfo kBinary[] = {
    {"Add", B::add},
    {"Sub", B::sub},
    {"Mul", B::mul},
    {"Div", B::div},
    {"Pow", B::pow},
    {"Min", B::min},
    {"Max", B::max},
    {"Sum", B::sum},
    {"Mean", B::mean},
    {"PRelu", B::prelu},
    {"Equal", B::equal},
    {"Less", B::less},
    {"Greater", B::greater},
    {"LessOrEqual", B::less_eq},
    {"GreaterOrEqual", B::greater_eq},
    {"And", B::and_},
    {"Or", B::or_},
    {"Xor", B::xor_},
    {"Mod", B::mod},
};

bool is_compare(B k) {
  return k == B::equal || k == B::less || k == B::greater || k == B::less_eq || k == B::greater_eq;
}
bool is_logical(B k) { return k == B::and_ || k == B::or_ || k == B::xor_; }

template <class T>
T pow_of(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::pow(a, b);
  } else {
    return saturate_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }
}

template <class T>
T mod_of(T a, T b, bool fmod_mode) {
  if constexpr (std::is_floating_point_v<T>) {
    if (fmod_mode) return std::fmod(a, b);
    T r = std::fmod(a, b);
    if (r != T(0) && ((r < T(0)) != (b < T(0)))) r += b;
    return r;
  } else {
    if (fmod_mode || std::is_unsigned_v<T>) return int_rem(a, b);
    T r = int_rem(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r = wrap_add(r, b);
    return r;
  }
}

class BinaryOp : public Op {
 public:
  explicit BinaryOp(const CreateContext& c) : node_(c.node), kernels_(c.kernels) {
    for (const BinaryInfo& b : kBinary)
      if (c.node.op_type == b.name) kind_ = b.kind;
    fmod_ = c.node.attr_int("fmod", 0) != 0;
    if (c.node.opset < 7 && kind_ == B::prelu) legacy_prelu_ = true;
    if (c.node.opset < 7 && c.node.inputs.size() == 2 && kind_ != B::prelu) {
      legacy_ = true;
      legacy_broadcast_ = c.node.attr_int("broadcast", 0) != 0;
      legacy_axis_ = c.node.has_attr("axis") ? c.node.attr_int("axis", 0) : -1;
    }
    // Set by the layout pass on a Mul scaling a map's channels (squeeze-and-excitation): the
    // map input and the output in the channel-blocked layout, the gate in planes.
    if ((c.node.attr_int(kLayoutAttr, 0) & kLayoutOutput) != 0) {
      scale_input_ = static_cast<std::size_t>(c.node.attr_int(kScaleInputAttr, 0));
      if (kind_ != B::mul || c.node.inputs.size() != 2 || scale_input_ > 1 || legacy_)
        fail(ErrorCode::internal, c.node.label(), ": only a Mul of a map by a gate runs on blocks");
      blocked_ = true;
    }
    if (c.node.inputs.empty()) fail(ErrorCode::parse, c.node.label(), ": needs at least one input");
  }

  // Opsets 1-6: B broadcasts to A only with broadcast=1, aligned at `axis` when given
  // (else at the trailing dims); without it the shapes must be equal.
  Shape operand_shape(std::size_t i, const Shape& a, const Shape& b) const {
    if (legacy_prelu_ && i == 1 && b.size() == 1 && a.size() > 2 && b[0] == a[1]) {
      Shape out = {b[0]};  // PRelu-6 and older: a [C] slope is per channel
      out.resize(a.size() - 1, 1);
      return out;
    }
    if (!legacy_ || i == 0) return b;
    if (!legacy_broadcast_) {
      if (a != b)
        fail(ErrorCode::shape, node_.label(), ": shapes ", shape_str(a), " and ", shape_str(b),
             " differ and broadcast is not set");
      return b;
    }
    if (b.size() > a.size()) fail(ErrorCode::shape, node_.label(), ": B has a higher rank than A");
    if (legacy_axis_ < 0) return b;
    const std::int64_t axis = legacy_axis_;
    if (axis + static_cast<std::int64_t>(b.size()) > static_cast<std::int64_t>(a.size()))
      fail(ErrorCode::shape, node_.label(), ": B of shape ", shape_str(b), " does not fit A ", shape_str(a),
           " at axis ", axis);
    Shape out(static_cast<std::size_t>(axis), 1);
    out.insert(out.end(), b.begin(), b.end());
    out.resize(a.size(), 1);
    return out;
  }

  // Same-size output over input 0: each element is read before the same one is written
  // (a broadcast input 0 would differ in size, and the planner then keeps them apart).
  int inplace_input() const override { return is_compare(kind_) || is_logical(kind_) ? -1 : 0; }

  void infer(InferContext& ctx) const override {
    const bool variadic =
        node_.op_type == "Sum" || node_.op_type == "Mean" || node_.op_type == "Max" || node_.op_type == "Min";
    if (ctx.num_inputs() == 0 || (!variadic && ctx.num_inputs() != 2))
      ctx.error(cat("takes ", variadic ? "one or more" : "two", " inputs, got ", ctx.num_inputs()));
    std::vector<const Shape*> shapes;
    std::vector<Shape> legacy(ctx.num_inputs());
    const DataType t = ctx.in(0).dtype();
    for (std::size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& x = ctx.in(i);
      if (kind_ != B::pow && x.dtype() != t)
        ctx.error(cat("input ", i, " is ", dtype_name(x.dtype()), " but input 0 is ", dtype_name(t)));
      legacy[i] = operand_shape(i, ctx.in(0).shape(), x.shape());
      shapes.push_back(&legacy[i]);
    }
    if (kind_ == B::prelu && ctx.num_inputs() == 2) {
      // Slope broadcasts unidirectionally to X.
      const Shape out = broadcast_shapes(node_, shapes);
      if (out != ctx.in(0).shape()) ctx.error("slope does not broadcast to the input's shape");
    }
    if (is_logical(kind_) && t != DataType::boolean) ctx.error("inputs must be bool");
    if (!is_logical(kind_) && (t == DataType::boolean && !is_compare(kind_)))
      fail(ErrorCode::unsupported, node_.label(), ": element type bool is not supported");
    if (t == DataType::bfloat16 || t == DataType::string || (t == DataType::float16 && kind_ == B::pow))
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(t), " is not supported");
    if (t == DataType::float16 && !is_compare(kind_)) {
      // Computed in float32 and rounded back: working memory for the converted operands.
      std::size_t n = static_cast<std::size_t>(shape_numel(broadcast_shapes(node_, shapes)));
      for (std::size_t i = 0; i < ctx.num_inputs(); ++i) n += static_cast<std::size_t>(ctx.in(i).numel());
      ctx.scratch_bytes = n * sizeof(float) + 64 * (ctx.num_inputs() + 1);
    }
    Shape out = broadcast_shapes(node_, shapes);
    ctx.set_output(0, (is_compare(kind_) || is_logical(kind_)) ? DataType::boolean : t, out);
    if (blocked_) {
      // The pass saw a map and a gate of a 1x1 map with the map's channels or one; the
      // shapes at run time are those or none (the images broadcast either way).
      const Shape& x = ctx.in(scale_input_).shape();
      const Shape& g = ctx.in(1 - scale_input_).shape();
      if (t != DataType::float32 || x.size() != 4 || g.size() != 4 || g[2] != 1 || g[3] != 1 ||
          (g[1] != 1 && g[1] != x[1]) || out[1] != x[1] || out[2] != x[2] || out[3] != x[3])
        fail(ErrorCode::internal, node_.label(), ": a blocked channel scale got ", shape_str(x), " and ", shape_str(g));
      ctx.set_output_storage(0, blocked_bytes(out));
    }
  }

  void run(const RunContext& ctx) const override {
    const Tensor& a = ctx.in(0);
    Tensor& y = ctx.out(0);
    if (ctx.num_inputs == 1) {
      if (y.raw() != a.raw()) std::memcpy(y.raw(), a.raw(), a.nbytes());
      return;
    }
    if (blocked_) return run_channel_scale(ctx);
    if (kind_ == B::pow && ctx.in(1).dtype() != a.dtype()) return run_mixed_pow(ctx);
    if (a.dtype() == DataType::float16 && !is_compare(kind_)) return run_half(ctx);
    if (is_logical(kind_) || a.dtype() == DataType::boolean) {
      binary<std::uint8_t, std::uint8_t>(ctx.in(0), ctx.in(1), y, kind_, ctx.pool);
      return;
    }
    dispatch_numeric(a.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (is_compare(kind_)) {
        binary<T, std::uint8_t>(ctx.in(0), ctx.in(1), y, kind_, ctx.pool);
        return;
      }
      const B k = (kind_ == B::sum || kind_ == B::mean) ? B::add : kind_;
      binary<T, T>(ctx.in(0), ctx.in(1), y, k, ctx.pool);
      for (std::size_t i = 2; i < ctx.num_inputs; ++i) binary<T, T>(y, ctx.in(i), y, k, ctx.pool);
      if (kind_ == B::mean) {
        T* p = y.data<T>();
        const T n = static_cast<T>(ctx.num_inputs);
        for (std::int64_t i = 0; i < y.numel(); ++i) p[i] = static_cast<T>(p[i] / n);
      }
    });
  }

 private:
  static bool simd_binary(B k, simd::Binary& op) {
    switch (k) {
      case B::add:
        op = simd::Binary::add;
        return true;
      case B::sub:
        op = simd::Binary::sub;
        return true;
      case B::mul:
        op = simd::Binary::mul;
        return true;
      case B::div:
        op = simd::Binary::div;
        return true;
      case B::max:
        op = simd::Binary::max;
        return true;
      case B::min:
        op = simd::Binary::min;
        return true;
      default:
        return false;
    }
  }

  template <class T, class R>
  void binary(const Tensor& a, const Tensor& b, Tensor& y, B k, ThreadPool* pool) const {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    R* py = y.data<R>();
    Shape legacy_b;
    if (legacy_ || legacy_prelu_) legacy_b = operand_shape(1, a.shape(), b.shape());
    const Shape& bshape = (legacy_ || legacy_prelu_) ? legacy_b : b.shape();
    simd::Binary op;
    if constexpr (std::is_same_v<T, float> && std::is_same_v<R, float>) {
      if (simd_binary(k, op)) {
        if (a.shape() == y.shape() && bshape == y.shape()) {
          parallel_chunks(pool, static_cast<std::size_t>(y.numel()), [&](std::size_t s, std::size_t len) {
            kernels_.binary_f32(op, len, pa + s, 1, pb + s, 1, py + s);
          });
          return;
        }
        Broadcaster br(y.shape(), {&a.shape(), &bshape});
        br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
          kernels_.binary_f32(op, static_cast<std::size_t>(len), pa + offs[0], static_cast<std::size_t>(st[0]),
                              pb + offs[1], static_cast<std::size_t>(st[1]), py + o);
        });
        return;
      }
    }
    if (a.shape() == y.shape() && bshape == y.shape()) {
      const std::int64_t n = y.numel();
      dispatch_kind<T, R>(k, [&](auto f) {
        for (std::int64_t i = 0; i < n; ++i) py[i] = f(pa[i], pb[i]);
      });
      return;
    }
    Broadcaster br(y.shape(), {&a.shape(), &bshape});
    std::vector<T> tmp;
    if (static_cast<const void*>(pa) == static_cast<const void*>(py) && !std::is_same_v<T, R>) {
      tmp.assign(pa, pa + a.numel());
      pa = tmp.data();
    }
    dispatch_kind<T, R>(k, [&](auto f) {
      br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
        const T* xa = pa + offs[0];
        const T* xb = pb + offs[1];
        R* out = py + o;
        if (st[0] && st[1]) {
          for (std::int64_t i = 0; i < len; ++i) out[i] = f(xa[i], xb[i]);
        } else if (st[0]) {
          const T vb = xb[0];
          for (std::int64_t i = 0; i < len; ++i) out[i] = f(xa[i], vb);
        } else if (st[1]) {
          const T va = xa[0];
          for (std::int64_t i = 0; i < len; ++i) out[i] = f(va, xb[i]);
        } else {
          const R v = f(xa[0], xb[0]);
          for (std::int64_t i = 0; i < len; ++i) out[i] = v;
        }
      });
    });
  }

  template <class T, class R, class G>
  void dispatch_kind(B k, G&& g) const {
    const bool fm = fmod_;
    switch (k) {
      case B::add:
        if constexpr (std::is_same_v<T, R>) return g([](T x, T y) { return wrap_add(x, y); });
        break;
      case B::sub:
        if constexpr (std::is_same_v<T, R>) return g([](T x, T y) { return wrap_sub(x, y); });
        break;
      case B::mul:
        if constexpr (std::is_same_v<T, R>) return g([](T x, T y) { return wrap_mul(x, y); });
        break;
      case B::div:
        if constexpr (std::is_same_v<T, R>) {
          if constexpr (std::is_integral_v<T>)
            return g([](T x, T y) { return int_div(x, y); });
          else
            return g([](T x, T y) { return x / y; });
        }
        break;
      case B::pow:
        if constexpr (std::is_same_v<T, R>) return g([](T x, T y) { return pow_of(x, y); });
        break;
      case B::min:
        if constexpr (std::is_same_v<T, R>)
          return g([](T x, T y) { return (x != x || y != y) ? (x != x ? x : y) : std::min(x, y); });
        break;
      case B::max:
        if constexpr (std::is_same_v<T, R>)
          return g([](T x, T y) { return (x != x || y != y) ? (x != x ? x : y) : std::max(x, y); });
        break;
      case B::prelu:
        if constexpr (std::is_same_v<T, R>) return g([](T x, T s) { return x < T(0) ? wrap_mul(x, s) : x; });
        break;
      case B::mod:
        if constexpr (std::is_same_v<T, R>) return g([fm](T x, T y) { return mod_of(x, y, fm); });
        break;
      case B::equal:
        return g([](T x, T y) { return static_cast<R>(x == y); });
      case B::less:
        return g([](T x, T y) { return static_cast<R>(x < y); });
      case B::greater:
        return g([](T x, T y) { return static_cast<R>(x > y); });
      case B::less_eq:
        return g([](T x, T y) { return static_cast<R>(x <= y); });
      case B::greater_eq:
        return g([](T x, T y) { return static_cast<R>(x >= y); });
      case B::and_:
        return g([](T x, T y) { return static_cast<R>(x && y); });
      case B::or_:
        return g([](T x, T y) { return static_cast<R>(x || y); });
      case B::xor_:
        return g([](T x, T y) { return static_cast<R>((x != 0) != (y != 0)); });
      default:
        break;
    }
    fail(ErrorCode::internal, node_.label(), ": bad elementwise dispatch");
  }

  // float16: widen every operand to float32 in scratch, run the float path, round back.
  void run_half(const RunContext& ctx) const {
    float* p = static_cast<float*>(ctx.scratch);
    auto widen = [&](const Tensor& t) {
      Tensor w = Tensor::view(DataType::float32, t.shape(), p);
      for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = half_to_float(t.data<std::uint16_t>()[i]);
      p += (t.numel() + 15) / 16 * 16;
      return w;
    };
    std::vector<Tensor> in;
    for (std::size_t i = 0; i < ctx.num_inputs; ++i) in.push_back(widen(ctx.in(i)));
    Tensor& y = ctx.out(0);
    Tensor out = Tensor::view(DataType::float32, y.shape(), p);
    const B k = (kind_ == B::sum || kind_ == B::mean) ? B::add : kind_;
    binary<float, float>(in[0], in[1], out, k, ctx.pool);
    for (std::size_t i = 2; i < in.size(); ++i) binary<float, float>(out, in[i], out, k, ctx.pool);
    for (std::int64_t i = 0; i < y.numel(); ++i) {
      const float v = kind_ == B::mean ? out.data<float>()[i] / static_cast<float>(in.size()) : out.data<float>()[i];
      y.data<std::uint16_t>()[i] = float_to_half(v);
    }
  }

  void run_mixed_pow(const RunContext& ctx) const {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    Tensor& y = ctx.out(0);
    const std::vector<double> ex = tensor_to_doubles(b);
    const Shape bshape = operand_shape(1, a.shape(), b.shape());
    Broadcaster br(y.shape(), {&a.shape(), &bshape});
    dispatch_numeric(a.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pa = a.data<T>();
      T* py = y.data<T>();
      br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
        for (std::int64_t i = 0; i < len; ++i)
          py[o + i] = static_cast<T>(std::pow(static_cast<double>(pa[offs[0] + i * st[0]]), ex[offs[1] + i * st[1]]));
      });
    });
  }

  const Node& node_;
  const simd::KernelTable& kernels_;
  // y = x * gate per (image, channel), x and y channel-blocked ([n][block][pixel][16]), the
  // gate [n or 1, c or 1, 1, 1] planes; a block's lanes past the channels are written 0.
  void run_channel_scale(const RunContext& ctx) const {
    constexpr std::size_t C = kBlock;
    const Tensor& x = ctx.in(scale_input_);
    const Tensor& g = ctx.in(1 - scale_input_);
    Tensor& y = ctx.out(0);
    const std::size_t n = static_cast<std::size_t>(y.dim(0)), c = static_cast<std::size_t>(y.dim(1));
    const std::size_t xn = static_cast<std::size_t>(x.dim(0)), gn = static_cast<std::size_t>(g.dim(0));
    const std::size_t gc = static_cast<std::size_t>(g.dim(1)), pixels = pixels_of(y.shape());
    const std::size_t blocks = (c + C - 1) / C;
    const float* px = x.data<float>();
    const float* pg = g.data<float>();
    float* py = y.data<float>();
    ctx.pool->parallel_for(n * blocks, 1, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t t = lo; t < hi; ++t) {
        const std::size_t img = t / blocks, b = t % blocks;
        float s[C];
        for (std::size_t l = 0; l < C; ++l) {
          const std::size_t ch = b * C + l;
          s[l] = ch < c ? pg[img % gn * gc + (gc == 1 ? 0 : ch)] : 0.0f;
        }
        const float* src = px + ((img % xn) * blocks + b) * pixels * C;
        float* dst = py + (img * blocks + b) * pixels * C;
        if (b * C + C <= c) {
          for (std::size_t p = 0; p < pixels * C; p += C)
            for (std::size_t l = 0; l < C; ++l) dst[p + l] = src[p + l] * s[l];
        } else {
          for (std::size_t p = 0; p < pixels * C; p += C)
            for (std::size_t l = 0; l < C; ++l) dst[p + l] = b * C + l < c ? src[p + l] * s[l] : 0.0f;
        }
      }
    });
  }

  B kind_ = B::add;
  bool blocked_ = false;
  std::size_t scale_input_ = 0;
  bool fmod_ = false;
  bool legacy_ = false, legacy_broadcast_ = false, legacy_prelu_ = false;
  std::int64_t legacy_axis_ = -1;
};

class NotOp : public Op {
 public:
  explicit NotOp(const CreateContext&) {}
  void infer(InferContext& ctx) const override {
    if (ctx.in(0).dtype() != DataType::boolean) ctx.error("input must be bool");
    ctx.set_output(0, DataType::boolean, ctx.in(0).shape());
  }
  void run(const RunContext& ctx) const override {
    const std::uint8_t* x = ctx.in(0).data<std::uint8_t>();
    std::uint8_t* y = ctx.out(0).data<std::uint8_t>();
    for (std::int64_t i = 0; i < ctx.in(0).numel(); ++i) y[i] = !x[i];
  }
};

class WhereOp : public Op {
 public:
  explicit WhereOp(const CreateContext& c) : node_(c.node) {}
  void infer(InferContext& ctx) const override {
    if (ctx.in(0).dtype() != DataType::boolean) ctx.error("condition must be bool");
    if (ctx.in(1).dtype() != ctx.in(2).dtype()) ctx.error("X and Y must have the same type");
    ctx.set_output(0, ctx.in(1).dtype(),
                   broadcast_shapes(node_, {&ctx.in(0).shape(), &ctx.in(1).shape(), &ctx.in(2).shape()}));
  }
  void run(const RunContext& ctx) const override {
    Tensor& y = ctx.out(0);
    Broadcaster br(y.shape(), {&ctx.in(0).shape(), &ctx.in(1).shape(), &ctx.in(2).shape()});
    const std::uint8_t* c = ctx.in(0).data<std::uint8_t>();
    dispatch_bytes(y.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* a = ctx.in(1).data<T>();
      const T* b = ctx.in(2).data<T>();
      T* out = y.data<T>();
      br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
        for (std::int64_t i = 0; i < len; ++i)
          out[o + i] = c[offs[0] + i * st[0]] ? a[offs[1] + i * st[1]] : b[offs[2] + i * st[2]];
      });
    });
  }

 private:
  const Node& node_;
};

class ClipOp : public Op {
 public:
  int inplace_input() const override { return 0; }
  explicit ClipOp(const CreateContext& c) : node_(c.node) {
    lo_ = c.node.attr_float("min", -std::numeric_limits<float>::infinity());
    hi_ = c.node.attr_float("max", std::numeric_limits<float>::infinity());
  }
  void infer(InferContext& ctx) const override {
    for (std::size_t i = 1; i < 3; ++i)
      if (ctx.has(i) && ctx.in(i).numel() != 1) ctx.error(cat("input ", i, " must be a scalar"));
    ctx.set_output(0, ctx.in(0).dtype(), ctx.in(0).shape());
  }
  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (x.dtype() == DataType::float32) {
      const float lo = ctx.has(1) ? ctx.in(1).data<float>()[0] : lo_,
                  hi = ctx.has(2) ? ctx.in(2).data<float>()[0] : hi_;
      const float* px = x.data<float>();
      float* py = ctx.out(0).data<float>();
      parallel_chunks(ctx.pool, static_cast<std::size_t>(x.numel()), [&](std::size_t b, std::size_t len) {
        ctx.kernels.unary_f32(simd::Unary::clip, len, px + b, py + b, lo, hi);
      });
      return;
    }
    dispatch_numeric(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
      if constexpr (std::is_floating_point_v<T>) {
        lo = static_cast<T>(lo_);
        hi = static_cast<T>(hi_);
      }
      if (ctx.has(1)) lo = ctx.in(1).data<T>()[0];
      if (ctx.has(2)) hi = ctx.in(2).data<T>()[0];
      const T* px = x.data<T>();
      T* py = ctx.out(0).data<T>();
      ctx.pool->parallel_for(static_cast<std::size_t>(x.numel()), 1 << 16, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
          T v = px[i];
          v = v < lo ? lo : v;
          py[i] = v > hi ? hi : v;
        }
      });
    });
  }

 private:
  const Node& node_;
  float lo_, hi_;
};

}  // namespace

std::vector<OpEntry> elementwise_ops() {
  std::vector<OpEntry> out;
  for (const UnaryInfo& u : kUnary) out.push_back({u.name, make_op<UnaryOp>});
  for (const BinaryInfo& b : kBinary) out.push_back({b.name, make_op<BinaryOp>});
  out.push_back({"Not", make_op<NotOp>});
  out.push_back({"Where", make_op<WhereOp>});
  out.push_back({"Clip", make_op<ClipOp>});
  return out;
}

}  // namespace edgert
