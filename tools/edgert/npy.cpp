#include "npy.h"

#include <cstring>
#include <fstream>

#include "edgert/error.h"

namespace edgert::tools {

namespace {

struct Descr {
  const char* code;
  DataType dtype;
};
constexpr Descr kDescr[] = {{"f4", DataType::float32}, {"f8", DataType::float64}, {"f2", DataType::float16},
                            {"i1", DataType::int8},    {"i2", DataType::int16},   {"i4", DataType::int32},
                            {"i8", DataType::int64},   {"u1", DataType::uint8},   {"u2", DataType::uint16},
                            {"u4", DataType::uint32},  {"u8", DataType::uint64},  {"b1", DataType::boolean}};

std::string field(const std::string& header, const std::string& key, const std::string& path) {
  const std::size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) fail(ErrorCode::parse, "'", path, "': .npy header has no '", key, "'");
  std::size_t v = header.find(':', k);
  if (v == std::string::npos) fail(ErrorCode::parse, "'", path, "': malformed .npy header");
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  if (header[v] == '\'') {
    const std::size_t e = header.find('\'', v + 1);
    return header.substr(v + 1, e - v - 1);
  }
  if (header[v] == '(') {
    const std::size_t e = header.find(')', v);
    if (e == std::string::npos) fail(ErrorCode::parse, "'", path, "': malformed .npy shape");
    return header.substr(v + 1, e - v - 1);
  }
  std::size_t e = v;
  while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
  return header.substr(v, e - v);
}

}  // namespace

Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::io, "cannot open '", path, "'");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    fail(ErrorCode::parse, "'", path, "' is not a .npy file");
  std::size_t hlen = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) fail(ErrorCode::parse, "'", path, "': truncated .npy header");
    hlen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) fail(ErrorCode::parse, "'", path, "': truncated .npy header");
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::size_t>(b[3]) << 24);
  }
  if (hlen > 1 << 20) fail(ErrorCode::parse, "'", path, "': .npy header too long");
  std::string header(hlen, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(hlen)))
    fail(ErrorCode::parse, "'", path, "': truncated .npy header");
  const std::string descr = field(header, "descr", path);
  if (field(header, "fortran_order", path).find("True") != std::string::npos)
    fail(ErrorCode::unsupported, "'", path, "': Fortran-order arrays are not supported");
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '='))
    fail(ErrorCode::unsupported, "'", path, "': .npy type '", descr, "' is not supported (little-endian numbers only)");
  DataType dt = DataType::undefined;
  for (const Descr& d : kDescr)
    if (descr.substr(1) == d.code) dt = d.dtype;
  if (dt == DataType::undefined) fail(ErrorCode::unsupported, "'", path, "': .npy type '", descr, "' is not supported");
  Shape shape;
  const std::string dims = field(header, "shape", path);
  std::size_t p = 0;
  while (p < dims.size()) {
    while (p < dims.size() && (dims[p] == ' ' || dims[p] == ',')) ++p;
    if (p >= dims.size()) break;
    char* end = nullptr;
    const long long v = std::strtoll(dims.c_str() + p, &end, 10);
    if (end == dims.c_str() + p || v < 0) fail(ErrorCode::parse, "'", path, "': bad .npy shape (", dims, ")");
    shape.push_back(v);
    p = static_cast<std::size_t>(end - dims.c_str());
  }
  const std::streampos data_at = in.tellg();
  in.seekg(0, std::ios::end);
  const std::size_t avail = static_cast<std::size_t>(in.tellg() - data_at);
  std::size_t want = dtype_size(dt);
  for (std::int64_t d : shape) {
    if (d && want > avail / static_cast<std::size_t>(d) + 1)
      fail(ErrorCode::parse, "'", path, "': shape ", shape_str(shape), " needs more data than the file holds");
    want *= static_cast<std::size_t>(d);
  }
  if (avail != want)
    fail(ErrorCode::parse, "'", path, "': shape ", shape_str(shape), " of ", dtype_name(dt), " needs ", want,
         " bytes, the file holds ", avail);
  Tensor t = Tensor::allocate(dt, shape);
  in.seekg(data_at);
  if (want && !in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(want)))
    fail(ErrorCode::io, "cannot read '", path, "'");
  return t;
}

void write_npy(const std::string& path, const Tensor& t) {
  const char* code = nullptr;
  for (const Descr& d : kDescr)
    if (d.dtype == t.dtype()) code = d.code;
  if (!code) fail(ErrorCode::unsupported, "cannot write ", dtype_name(t.dtype()), " to .npy");
  std::string dims;
  for (std::size_t i = 0; i < t.rank(); ++i) dims += (i ? ", " : "") + std::to_string(t.dim(i));
  if (t.rank() == 1) dims += ",";
  std::string header = cat("{'descr': '", (t.dtype() == DataType::boolean || dtype_size(t.dtype()) == 1) ? "|" : "<",
                           code, "', 'fortran_order': False, 'shape': (", dims, "), }");
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorCode::io, "cannot write '", path, "'");
  out.write("\x93NUMPY\x01\x00", 8);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(len), 2);
  out << header;
  if (t.nbytes()) out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) fail(ErrorCode::io, "cannot write '", path, "'");
}

}  // namespace edgert::tools
