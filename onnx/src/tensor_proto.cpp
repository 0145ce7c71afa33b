#include "tensor_proto.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>

#include "edgert/error.h"

namespace edgert::onnx {

namespace fs = std::filesystem;

DataType dtype_from_onnx(int code) {
  switch (code) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 9:
    case 10:
    case 11:
    case 12:
    case 13:
    case 16:
      return static_cast<DataType>(code);
    default:
      return DataType::undefined;
  }
}

namespace {

std::string read_external(const ::onnx::TensorProto& t, const std::string& what, const std::string& base_dir,
                          std::size_t want) {
  std::string location;
  std::int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = std::strtoll(kv.value().c_str(), nullptr, 10);
    else if (kv.key() == "length")
      length = std::strtoll(kv.value().c_str(), nullptr, 10);
  }
  if (location.empty()) fail(ErrorCode::parse, what, ": external data without a location");
  if (base_dir.empty())
    fail(ErrorCode::invalid_argument, what, ": external data '", location,
         "' cannot be read for a model loaded from memory");
  const fs::path rel(location);
  if (rel.is_absolute()) fail(ErrorCode::parse, what, ": external data location '", location, "' must be relative");
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(fs::path(base_dir), ec);
  const fs::path file = fs::weakly_canonical(fs::path(base_dir) / rel, ec);
  const auto [r_end, f_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (ec || r_end != root.end() || file == root)
    fail(ErrorCode::parse, what, ": external data location '", location, "' escapes the model's folder");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(ErrorCode::io, what, ": cannot open external data file '", file.string(), "'");
  in.seekg(0, std::ios::end);
  const std::int64_t size = static_cast<std::int64_t>(in.tellg());
  if (offset < 0 || offset > size)
    fail(ErrorCode::parse, what, ": external data offset ", offset, " is outside '", location, "'");
  if (length < 0) length = size - offset;
  if (offset + length > size)
    fail(ErrorCode::parse, what, ": external data [", offset, ", +", length, ") runs past the end of '", location,
         "' (", size, " bytes)");
  if (static_cast<std::size_t>(length) != want)
    fail(ErrorCode::parse, what, ": external data has ", length, " bytes, its dims need ", want);
  std::string buf(static_cast<std::size_t>(length), '\0');
  in.seekg(offset);
  in.read(buf.data(), length);
  if (!in) fail(ErrorCode::io, what, ": cannot read external data from '", location, "'");
  return buf;
}

template <class Field, class Out, class Conv>
void copy_field(const Field& f, Out* dst, std::size_t n, const std::string& what, const char* field, Conv conv) {
  if (static_cast<std::size_t>(f.size()) != n)
    fail(ErrorCode::parse, what, ": ", field, " holds ", f.size(), " values, its dims need ", n);
  for (std::size_t i = 0; i < n; ++i) dst[i] = conv(f[static_cast<int>(i)]);
}

// The tensor over `bytes` (exactly its data): the buffer handed over when it is large and
// aligned for every element type, else copied into aligned storage of its own.
Tensor tensor_of_bytes(DataType dt, Shape shape, std::string&& bytes) {
  if (bytes.size() >= 64 && reinterpret_cast<std::uintptr_t>(bytes.data()) % 16 == 0) {
    auto owner = std::make_shared<std::string>(std::move(bytes));
    return Tensor::adopt(dt, std::move(shape), std::shared_ptr<void>(owner, owner->data()));
  }
  Tensor out = Tensor::allocate(dt, std::move(shape));
  if (!bytes.empty()) std::memcpy(out.raw(), bytes.data(), bytes.size());
  return out;
}

// tensor_from_proto; `take`, when given, is t's raw_data, which may be handed over.
Tensor convert_tensor(const ::onnx::TensorProto& t, const std::string& what, const std::string& base_dir,
                      const LoadLimits& limits, std::string* take) {
  const DataType dt = dtype_from_onnx(t.data_type());
  if (dt == DataType::undefined)
    fail(ErrorCode::unsupported, what, ": element type ", t.data_type(), " is not supported");
  if (t.has_segment()) fail(ErrorCode::unsupported, what, ": segmented tensors are not supported");
  Shape shape;
  std::size_t n = 1;
  const std::size_t es = dtype_size(dt);
  for (std::int64_t d : t.dims()) {
    if (d < 0) fail(ErrorCode::parse, what, ": negative dimension ", d);
    if (d > 0 && n > limits.max_tensor_bytes / es / static_cast<std::size_t>(d))
      fail(ErrorCode::out_of_memory, what, ": dims exceed the tensor size limit of ", limits.max_tensor_bytes,
           " bytes");
    n *= static_cast<std::size_t>(d);
    shape.push_back(d);
  }
  const std::size_t bytes = n * es;
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
    return tensor_of_bytes(dt, std::move(shape), read_external(t, what, base_dir, bytes));
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (raw.size() != bytes)
      fail(ErrorCode::parse, what, ": raw_data has ", raw.size(), " bytes, dims ", shape_str(shape), " of ",
           dtype_name(dt), " need ", bytes);
    return tensor_of_bytes(dt, std::move(shape), take ? std::move(*take) : std::string(raw));
  }
  Tensor out = Tensor::allocate(dt, shape);
  switch (dt) {
    case DataType::float32:
      copy_field(t.float_data(), out.data<float>(), n, what, "float_data", [](float v) { return v; });
      break;
    case DataType::float64:
      copy_field(t.double_data(), out.data<double>(), n, what, "double_data", [](double v) { return v; });
      break;
    case DataType::int64:
      copy_field(t.int64_data(), out.data<std::int64_t>(), n, what, "int64_data", [](std::int64_t v) { return v; });
      break;
    case DataType::uint32:
      copy_field(t.uint64_data(), out.data<std::uint32_t>(), n, what, "uint64_data",
                 [](std::uint64_t v) { return static_cast<std::uint32_t>(v); });
      break;
    case DataType::uint64:
      copy_field(t.uint64_data(), out.data<std::uint64_t>(), n, what, "uint64_data", [](std::uint64_t v) { return v; });
      break;
    case DataType::int32:
      copy_field(t.int32_data(), out.data<std::int32_t>(), n, what, "int32_data", [](std::int32_t v) { return v; });
      break;
    case DataType::int16:
      copy_field(t.int32_data(), out.data<std::int16_t>(), n, what, "int32_data",
                 [](std::int32_t v) { return static_cast<std::int16_t>(v); });
      break;
    case DataType::int8:
      copy_field(t.int32_data(), out.data<std::int8_t>(), n, what, "int32_data",
                 [](std::int32_t v) { return static_cast<std::int8_t>(v); });
      break;
    case DataType::uint8:
    case DataType::boolean:
      copy_field(t.int32_data(), out.data<std::uint8_t>(), n, what, "int32_data",
                 [](std::int32_t v) { return static_cast<std::uint8_t>(v); });
      break;
    case DataType::uint16:
    case DataType::float16:
    case DataType::bfloat16:
      copy_field(t.int32_data(), out.data<std::uint16_t>(), n, what, "int32_data",
                 [](std::int32_t v) { return static_cast<std::uint16_t>(v); });
      break;
    default:
      fail(ErrorCode::unsupported, what, ": element type ", dtype_name(dt), " is not supported");
  }
  return out;
}

}  // namespace

Tensor tensor_from_proto(const ::onnx::TensorProto& t, const std::string& what, const std::string& base_dir,
                         const LoadLimits& limits) {
  return convert_tensor(t, what, base_dir, limits, nullptr);
}

Tensor take_tensor_from_proto(::onnx::TensorProto& t, const std::string& what, const std::string& base_dir,
                              const LoadLimits& limits) {
  return convert_tensor(t, what, base_dir, limits, t.has_raw_data() ? t.mutable_raw_data() : nullptr);
}

void tensor_to_proto(const Tensor& t, const std::string& name, ::onnx::TensorProto* out) {
  out->Clear();
  out->set_name(name);
  out->set_data_type(static_cast<int>(t.dtype()));
  for (std::int64_t d : t.shape()) out->add_dims(d);
  out->set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
}

}  // namespace edgert::onnx
