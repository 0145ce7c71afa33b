// Tensors: element type, shape and a data pointer, owned or borrowed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edgert {

/// Element types, numbered as ONNX's TensorProto.DataType.
enum class DataType : int {
  undefined = 0,
  float32 = 1,
  uint8 = 2,
  int8 = 3,
  uint16 = 4,
  int16 = 5,
  int32 = 6,
  int64 = 7,
  string = 8,
  boolean = 9,
  float16 = 10,
  float64 = 11,
  uint32 = 12,
  uint64 = 13,
  bfloat16 = 16,
};

/// Bytes per element; 0 for undefined and string.
std::size_t dtype_size(DataType t);
/// Name as numpy and ONNX users know it ("float32", "int64", "bool", ...).
const char* dtype_name(DataType t);
bool dtype_is_float(DataType t);

using Shape = std::vector<std::int64_t>;

/// Number of elements; 1 for rank 0. Dims must be non-negative. Saturates at INT64_MAX
/// (a shape that large is refused later by the tensor size limit).
std::int64_t shape_numel(const Shape& s);
/// a * b for non-negative a and b, saturating at INT64_MAX instead of overflowing.
std::int64_t mul_saturate(std::int64_t a, std::int64_t b);
/// "[1,3,224,224]".
std::string shape_str(const Shape& s);

/// Memory aligned to 64 bytes, zero-initialised unless `zero` is false.
/// Throws Error(out_of_memory) on failure.
std::shared_ptr<void> aligned_alloc_shared(std::size_t bytes, bool zero = true);

/// A tensor: type, shape, and data that is either owned (shared between copies of the
/// Tensor object) or borrowed from elsewhere. A Tensor with no data describes a shape only.
class Tensor {
 public:
  Tensor() = default;
  /// Describes a tensor without data.
  Tensor(DataType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {}

  /// A new zero-filled tensor with 64-byte aligned storage of its own, at least
  /// `min_bytes` long (more than the shape needs when a layout pads it).
  static Tensor allocate(DataType dtype, Shape shape, std::size_t min_bytes = 0);
  /// A tensor viewing `data`, which must outlive every use of the view.
  static Tensor view(DataType dtype, Shape shape, void* data);
  /// A tensor over `data`, which it and its copies keep alive (a buffer handed over rather
  /// than copied): at least nbytes long and aligned to the element size.
  static Tensor adopt(DataType dtype, Shape shape, std::shared_ptr<void> data);
  /// A new tensor holding a copy of `values`.
  template <class T>
  static Tensor from_vector(DataType dtype, Shape shape, const std::vector<T>& values);

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  std::int64_t dim(std::size_t i) const { return shape_[i]; }
  std::int64_t numel() const { return shape_numel(shape_); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool has_data() const { return data_ != nullptr; }
  /// Whether this tensor alone holds its storage: it owns it and no copy shares it (a pass
  /// may then rewrite the data in place).
  bool sole_owner() const { return owner_ && owner_.use_count() == 1; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <class T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }

  /// Points this tensor at `data` (borrowed), keeping type and shape.
  void set_data(void* data) {
    data_ = data;
    owner_.reset();
  }
  void set_shape(Shape s) { shape_ = std::move(s); }
  void set_dtype(DataType t) { dtype_ = t; }

  /// A deep copy with storage of its own.
  Tensor clone() const;

 private:
  DataType dtype_ = DataType::undefined;
  Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<void> owner_;
};

template <class T>
Tensor Tensor::from_vector(DataType dtype, Shape shape, const std::vector<T>& values) {
  Tensor t = allocate(dtype, std::move(shape));
  T* p = t.data<T>();
  for (std::size_t i = 0; i < values.size() && i < static_cast<std::size_t>(t.numel()); ++i) p[i] = values[i];
  return t;
}

/// Reads element i of an integer tensor (int32, int64, uint8, int8, bool...) as int64.
std::int64_t tensor_int_at(const Tensor& t, std::size_t i);
/// All elements of an integer tensor as int64.
std::vector<std::int64_t> tensor_to_ints(const Tensor& t);
/// All elements of a numeric tensor as double.
std::vector<double> tensor_to_doubles(const Tensor& t);

/// A new tensor of `dtype` (float32, float64, float16 or bfloat16) holding `values`,
/// each rounded once to the element type.
Tensor tensor_from_doubles(DataType dtype, Shape shape, const std::vector<double>& values);

/// IEEE half <-> float conversions.
float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);
float bfloat16_to_float(std::uint16_t h);
std::uint16_t float_to_bfloat16(float f);

}  // namespace edgert
