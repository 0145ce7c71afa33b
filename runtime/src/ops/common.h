// Helpers shared by the operator families: type dispatch and numpy broadcasting.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "op.h"

namespace edgert {

template <class T>
struct Tag {
  using type = T;
};

// Integer arithmetic on tensor data, defined for every input: it wraps like two's-complement
// hardware (numpy's behaviour) where C++ would leave overflow undefined, and a double that
// does not fit an integer type saturates (NaN gives 0) instead of being undefined.
template <class T>
using wrap_unsigned_t = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
template <class T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(static_cast<wrap_unsigned_t<T>>(a) + static_cast<wrap_unsigned_t<T>>(b));
  else
    return a + b;
}
template <class T>
T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(static_cast<wrap_unsigned_t<T>>(a) - static_cast<wrap_unsigned_t<T>>(b));
  else
    return a - b;
}
template <class T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(static_cast<wrap_unsigned_t<T>>(a) * static_cast<wrap_unsigned_t<T>>(b));
  else
    return a * b;
}
template <class T>
T wrap_neg(T a) {
  return wrap_sub(T(0), a);
}
/// a / b for integers: 0 when b is 0, and the wrapped -a when b is -1 (INT_MIN / -1 traps).
template <class T>
T int_div(T a, T b) {
  if (b == T(0)) return T(0);
  if constexpr (std::is_signed_v<T>)
    if (b == T(-1)) return wrap_neg(a);
  return static_cast<T>(a / b);
}
/// a % b for integers: 0 when b is 0 or -1.
template <class T>
T int_rem(T a, T b) {
  if (b == T(0)) return T(0);
  if constexpr (std::is_signed_v<T>)
    if (b == T(-1)) return T(0);
  return static_cast<T>(a % b);
}
template <class T>
T saturate_cast(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (!(v == v)) return T(0);
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

/// Calls f(Tag<T>{}) for float32/float64; error otherwise.
template <class F>
void dispatch_float(DataType t, const Node& n, F&& f) {
  switch (t) {
    case DataType::float32:
      return f(Tag<float>{});
    case DataType::float64:
      return f(Tag<double>{});
    default:
      fail(ErrorCode::unsupported, n.label(), ": element type ", dtype_name(t), " is not supported");
  }
}

/// Calls f(Tag<T>{}) for every arithmetic type.
template <class F>
void dispatch_numeric(DataType t, const Node& n, F&& f) {
  switch (t) {
    case DataType::float32:
      return f(Tag<float>{});
    case DataType::float64:
      return f(Tag<double>{});
    case DataType::int32:
      return f(Tag<std::int32_t>{});
    case DataType::int64:
      return f(Tag<std::int64_t>{});
    case DataType::int8:
      return f(Tag<std::int8_t>{});
    case DataType::uint8:
      return f(Tag<std::uint8_t>{});
    case DataType::int16:
      return f(Tag<std::int16_t>{});
    case DataType::uint16:
      return f(Tag<std::uint16_t>{});
    case DataType::uint32:
      return f(Tag<std::uint32_t>{});
    case DataType::uint64:
      return f(Tag<std::uint64_t>{});
    default:
      fail(ErrorCode::unsupported, n.label(), ": element type ", dtype_name(t), " is not supported");
  }
}

/// Calls f(Tag<U>{}) with an unsigned integer type of the element's size, for operators
/// that only move elements.
template <class F>
void dispatch_bytes(DataType t, const Node& n, F&& f) {
  switch (dtype_size(t)) {
    case 1:
      return f(Tag<std::uint8_t>{});
    case 2:
      return f(Tag<std::uint16_t>{});
    case 4:
      return f(Tag<std::uint32_t>{});
    case 8:
      return f(Tag<std::uint64_t>{});
    default:
      fail(ErrorCode::unsupported, n.label(), ": element type ", dtype_name(t), " is not supported");
  }
}

/// The numpy broadcast of `shapes`; error naming the node when they do not broadcast.
Shape broadcast_shapes(const Node& n, const std::vector<const Shape*>& shapes);

/// Most dims an operator walks with Broadcaster or strided copies (after merging).
inline constexpr std::size_t kMaxRank = 8;

/// Strides walk for broadcasting up to three inputs to one output shape. Dims of size 1 are
/// dropped and neighbouring dims merged where every input agrees, so the inner loop is as
/// long as possible. Holds no heap memory: safe on the run path.
class Broadcaster {
 public:
  Broadcaster(const Shape& out, std::initializer_list<const Shape*> ins);
  /// Calls f(out_offset, in_offsets, length, in_inner_strides) for every run of the
  /// innermost merged dimension. Strides are 0 (broadcast) or 1.
  template <class F>
  void for_each(F&& f) const;

 private:
  static constexpr std::size_t kMaxInputs = 3;
  std::size_t rank_ = 0, inputs_ = 0;
  std::int64_t dims_[kMaxRank] = {};
  std::int64_t strides_[kMaxInputs][kMaxRank] = {};
  std::int64_t total_ = 0;
};

template <class F>
void Broadcaster::for_each(F&& f) const {
  std::int64_t offs[kMaxInputs] = {0};
  std::int64_t inner[kMaxInputs] = {0};
  if (total_ == 0) return;
  if (rank_ == 0) {
    f(std::int64_t{0}, offs, std::int64_t{1}, inner);
    return;
  }
  const std::size_t r = rank_;
  const std::int64_t len = dims_[r - 1];
  for (std::size_t j = 0; j < inputs_; ++j) inner[j] = strides_[j][r - 1];
  std::int64_t idx[kMaxRank] = {0};
  for (std::int64_t out = 0; out < total_; out += len) {
    f(out, offs, len, inner);
    for (std::size_t d = r - 1; d-- > 0;) {
      if (++idx[d] < dims_[d]) {
        for (std::size_t j = 0; j < inputs_; ++j) offs[j] += strides_[j][d];
        break;
      }
      for (std::size_t j = 0; j < inputs_; ++j) offs[j] -= strides_[j][d] * (dims_[d] - 1);
      idx[d] = 0;
    }
  }
}

/// v rounded up to a multiple of `to`; a byte count rounded up to whole 64-byte lines.
inline std::size_t round_up(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }
inline std::size_t align64(std::size_t bytes) { return round_up(bytes, 64); }
/// `bias` (n floats; may be null) copied to dst and zero-filled to `to` floats, for kernels
/// that read whole blocks or panels; returns dst, or null without a bias.
inline const float* padded_bias(float* dst, const float* bias, std::size_t n, std::size_t to) {
  if (!bias) return nullptr;
  std::copy(bias, bias + n, dst);
  std::fill(dst + n, dst + to, 0.0f);
  return dst;
}

/// Row-major strides of a shape.
std::vector<std::int64_t> strides_of(const Shape& s);

/// Largest kernel size, stride, dilation, pad or output padding a convolution or pool
/// accepts: far beyond any real network, small enough that no geometry arithmetic overflows.
inline constexpr std::int64_t kMaxGeometry = std::int64_t{1} << 24;
/// Throws Error(shape) naming `what` unless every value is in [lo, kMaxGeometry].
void check_geometry(const Node& n, const char* what, const std::vector<std::int64_t>& values, std::int64_t lo);

/// Largest output extent computed from floating-point inputs (Range's count, Resize's sizes)
/// that is converted to an integer; larger tensors fail the allocation limit anyway.
inline constexpr double kMaxComputedExtent = 0x1p48;
/// `v` rounded by the caller, as an integer: Error(shape) naming `what` unless it is a
/// number in [0, kMaxComputedExtent] (NaN, infinities and huge values would make the
/// conversion undefined).
std::int64_t computed_extent(const Node& n, const char* what, double v);

/// Reads input i of an InferContext as a list of ints (from its data), for shape inputs.
std::vector<std::int64_t> ints_of(const Tensor& t);

/// Scalar value of a one-element numeric tensor, as double.
double scalar_of(const Node& n, const Tensor& t, const char* what);

}  // namespace edgert
