#include "edgert/tensor.h"

#include <sys/mman.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "edgert/error.h"

namespace edgert {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid argument";
    case ErrorCode::io:
      return "I/O error";
    case ErrorCode::parse:
      return "malformed model";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::shape:
      return "shape error";
    case ErrorCode::out_of_memory:
      return "out of memory";
    case ErrorCode::internal:
      return "internal error";
  }
  return "error";
}

std::size_t dtype_size(DataType t) {
  switch (t) {
    case DataType::float32:
    case DataType::int32:
    case DataType::uint32:
      return 4;
    case DataType::uint8:
    case DataType::int8:
    case DataType::boolean:
      return 1;
    case DataType::uint16:
    case DataType::int16:
    case DataType::float16:
    case DataType::bfloat16:
      return 2;
    case DataType::int64:
    case DataType::float64:
    case DataType::uint64:
      return 8;
    default:
      return 0;
  }
}

const char* dtype_name(DataType t) {
  switch (t) {
    case DataType::float32:
      return "float32";
    case DataType::uint8:
      return "uint8";
    case DataType::int8:
      return "int8";
    case DataType::uint16:
      return "uint16";
    case DataType::int16:
      return "int16";
    case DataType::int32:
      return "int32";
    case DataType::int64:
      return "int64";
    case DataType::string:
      return "string";
    case DataType::boolean:
      return "bool";
    case DataType::float16:
      return "float16";
    case DataType::float64:
      return "float64";
    case DataType::uint32:
      return "uint32";
    case DataType::uint64:
      return "uint64";
    case DataType::bfloat16:
      return "bfloat16";
    default:
      return "undefined";
  }
}

bool dtype_is_float(DataType t) {
  return t == DataType::float32 || t == DataType::float64 || t == DataType::float16 || t == DataType::bfloat16;
}

std::int64_t mul_saturate(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<std::int64_t>::max() : r;
}

std::int64_t shape_numel(const Shape& s) {
  std::int64_t n = 1;
  for (std::int64_t d : s) n = mul_saturate(n, d);
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

std::shared_ptr<void> aligned_alloc_shared(std::size_t bytes, bool zero) {
  // Large blocks get pages of their own, so freeing them (a weight replaced by its folded
  // copy, an arena after a re-plan) gives the memory back to the system at once; glibc
  // would otherwise keep them on its heap once its mmap threshold has grown.
  constexpr std::size_t kOwnPages = std::size_t{1} << 20;
  if (bytes >= kOwnPages) {
    // Blocks of 2 MiB or more start on a 2 MiB boundary (the mapping is that much longer,
    // its unused head and tail never touched) and ask for transparent huge pages where the
    // kernel gives them on request: one fault instead of 512 for each whole 2 MiB of packed
    // weights or arena, and one TLB entry where the 4 KiB pages of a layer's weights took
    // 512. The block's last partial 2 MiB stays in small pages, so no memory is added.
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const std::size_t used = (bytes + 4095) / 4096 * 4096 + 64, len = used + (bytes >= kHuge ? kHuge : 0);
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail(ErrorCode::out_of_memory, "cannot allocate ", bytes, " bytes");
    char* start = static_cast<char*>(p);
#ifdef MADV_HUGEPAGE
    if (bytes >= kHuge) {
      start = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) / kHuge * kHuge);
      madvise(start, bytes / kHuge * kHuge, MADV_HUGEPAGE);  // a hint: failure changes nothing
    }
#endif
    return std::shared_ptr<void>(start, [p, len](void*) { munmap(p, len); });  // fresh pages are zero
  }
  const std::size_t rounded = (bytes + 63) / 64 * 64 + 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) fail(ErrorCode::out_of_memory, "cannot allocate ", bytes, " bytes");
  if (zero) std::memset(p, 0, rounded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

Tensor Tensor::allocate(DataType dtype, Shape shape, std::size_t min_bytes) {
  Tensor t(dtype, std::move(shape));
  for (std::int64_t d : t.shape_)
    if (d < 0) fail(ErrorCode::shape, "negative dimension in shape ", shape_str(t.shape_));
  t.owner_ = aligned_alloc_shared(std::max(t.nbytes(), min_bytes));
  t.data_ = t.owner_.get();
  return t;
}

Tensor Tensor::view(DataType dtype, Shape shape, void* data) {
  Tensor t(dtype, std::move(shape));
  t.data_ = data;
  return t;
}

Tensor Tensor::adopt(DataType dtype, Shape shape, std::shared_ptr<void> data) {
  Tensor t(dtype, std::move(shape));
  t.data_ = data.get();
  t.owner_ = std::move(data);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = allocate(dtype_, shape_);
  if (data_ && nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

namespace {
// A float read as an integer (a shape, index or axis given as floats) saturates and NaN reads
// as 0: converting a value outside int64's range is undefined behaviour (found by fuzz_load).
std::int64_t saturate_int64(double v) {
  if (!(v == v)) return 0;
  if (v <= -9223372036854775808.0) return std::numeric_limits<std::int64_t>::min();
  if (v >= 9223372036854775808.0) return std::numeric_limits<std::int64_t>::max();
  return static_cast<std::int64_t>(v);
}
}  // namespace

std::int64_t tensor_int_at(const Tensor& t, std::size_t i) {
  switch (t.dtype()) {
    case DataType::int64:
      return t.data<std::int64_t>()[i];
    case DataType::int32:
      return t.data<std::int32_t>()[i];
    case DataType::int16:
      return t.data<std::int16_t>()[i];
    case DataType::int8:
      return t.data<std::int8_t>()[i];
    case DataType::uint8:
    case DataType::boolean:
      return t.data<std::uint8_t>()[i];
    case DataType::uint16:
      return t.data<std::uint16_t>()[i];
    case DataType::uint32:
      return t.data<std::uint32_t>()[i];
    case DataType::uint64:
      return static_cast<std::int64_t>(t.data<std::uint64_t>()[i]);
    case DataType::float32:
      return saturate_int64(t.data<float>()[i]);
    case DataType::float64:
      return saturate_int64(t.data<double>()[i]);
    default:
      fail(ErrorCode::unsupported, "expected an integer tensor, got ", dtype_name(t.dtype()));
  }
}

std::vector<std::int64_t> tensor_to_ints(const Tensor& t) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = tensor_int_at(t, i);
  return out;
}

std::vector<double> tensor_to_doubles(const Tensor& t) {
  std::vector<double> out(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype()) {
      case DataType::float32:
        out[i] = t.data<float>()[i];
        break;
      case DataType::float64:
        out[i] = t.data<double>()[i];
        break;
      case DataType::float16:
        out[i] = half_to_float(t.data<std::uint16_t>()[i]);
        break;
      case DataType::bfloat16:
        out[i] = bfloat16_to_float(t.data<std::uint16_t>()[i]);
        break;
      default:
        out[i] = static_cast<double>(tensor_int_at(t, i));
    }
  }
  return out;
}

Tensor tensor_from_doubles(DataType dtype, Shape shape, const std::vector<double>& values) {
  Tensor t = Tensor::allocate(dtype, std::move(shape));
  if (static_cast<std::size_t>(t.numel()) != values.size())
    fail(ErrorCode::internal, "tensor_from_doubles: ", values.size(), " values for shape ", shape_str(t.shape()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case DataType::float32:
        t.data<float>()[i] = static_cast<float>(values[i]);
        break;
      case DataType::float64:
        t.data<double>()[i] = values[i];
        break;
      case DataType::float16:
        t.data<std::uint16_t>()[i] = float_to_half(static_cast<float>(values[i]));
        break;
      case DataType::bfloat16:
        t.data<std::uint16_t>()[i] = float_to_bfloat16(static_cast<float>(values[i]));
        break;
      default:
        fail(ErrorCode::internal, "tensor_from_doubles: ", dtype_name(dtype), " is not a floating type");
    }
  }
  return t;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0));
  if (absx >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // overflow
  if (absx < 0x38800000u) {                                                    // subnormal or zero in half
    if (absx < 0x33000000u) return static_cast<std::uint16_t>(sign);
    const std::uint32_t e = absx >> 23, m = (absx & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - e;
    const std::uint32_t full = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    const std::uint32_t hm = full + ((rem > half || (rem == half && (full & 1))) ? 1 : 0);
    return static_cast<std::uint16_t>(sign | hm);
  }
  std::uint32_t h = ((absx - 0x38000000u) >> 13);
  const std::uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

float bfloat16_to_float(std::uint16_t h) {
  const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t float_to_bfloat16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40);
  const std::uint32_t rounding = 0x7fffu + ((x >> 16) & 1);
  return static_cast<std::uint16_t>((x + rounding) >> 16);
}

}  // namespace edgert
