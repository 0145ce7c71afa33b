#include "common.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "edgert/error.h"
#include "npy.h"

namespace edgert::tools {

int exit_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return kUsage;
    case ErrorCode::io:
      return kIo;
    case ErrorCode::parse:
      return kBadModel;
    case ErrorCode::unsupported:
      return kUnsupported;
    case ErrorCode::shape:
      return kShape;
    case ErrorCode::out_of_memory:
      return kMemory;
    default:
      return kFailure;
  }
}

void ModelFlags::add(CLI::App& app) {
  app.add_option("-t,--threads", threads, "Threads to run on (0: one per core)")
      ->default_val(1)
      ->check(CLI::Range(0, 256));
  app.add_flag("--no-fold", no_fold, "Keep every BatchNormalization standalone");
  app.add_option("--isa", isa, "Highest kernel tier: scalar, sse2, avx2, avx512, neon (default: best supported)");
  app.add_option("--max-tensor-mb", max_tensor_mb, "Refuse any tensor larger than this many MiB")->default_val(4096);
}

ModelOptions ModelFlags::options() const {
  ModelOptions o;
  o.num_threads = threads;
  o.fold_batchnorm = !no_fold;
  o.max_tensor_bytes = max_tensor_mb << 20;
  if (!isa.empty()) {
    auto parsed = simd::parse_isa(isa);
    if (!parsed) fail(ErrorCode::invalid_argument, "unknown ISA '", isa, "' (scalar, sse2, avx2, avx512, neon)");
    o.max_isa = parsed;
  }
  return o;
}

void InputFlags::add(CLI::App& app) {
  app.add_option("-i,--input", inputs, "NAME=FILE: an input from .npy or TensorProto .pb (repeatable)");
  app.add_option("-s,--shape", shapes, "NAME=D0,D1,...: shape for an input's free dims (repeatable)");
  app.add_option("--seed", seed, "Seed for random inputs")->default_val(1);
}

void InputFlags::feed(Session& s) const {
  std::map<std::string, std::string> files;
  std::map<std::string, Shape> dims;
  for (const auto& arg : inputs) files.insert(parse_input_arg(arg));
  for (const auto& arg : shapes) dims.insert(parse_shape_arg(arg));
  feed_inputs(s, files, dims, seed);
}

Loaded load(const std::string& path, const ModelFlags& flags) {
  Loaded l;
  const ModelOptions opts = flags.options();
  const onnx::LoadLimits limits = onnx::LoadLimits::from(opts);
  auto t0 = std::chrono::steady_clock::now();
  onnx::Imported im = onnx::import_file(path, limits);
  auto t1 = std::chrono::steady_clock::now();
  l.info = im.info;
  l.model = Model::compile(std::move(im.graph), opts);
  auto t2 = std::chrono::steady_clock::now();
  l.import_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  l.compile_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  return l;
}

std::pair<std::string, Shape> parse_shape_arg(const std::string& arg) {
  const std::size_t eq = arg.rfind('=');
  if (eq == std::string::npos || eq == 0)
    fail(ErrorCode::invalid_argument, "--shape expects NAME=D0,D1,..., got '", arg, "'");
  Shape s;
  std::string dims = arg.substr(eq + 1);
  std::replace(dims.begin(), dims.end(), 'x', ',');
  std::size_t p = 0;
  while (p <= dims.size() && !dims.empty()) {
    const std::size_t c = dims.find(',', p);
    const std::string tok = dims.substr(p, c == std::string::npos ? std::string::npos : c - p);
    char* end = nullptr;
    const long long v = std::strtoll(tok.c_str(), &end, 10);
    if (tok.empty() || *end != '\0' || v < 0)
      fail(ErrorCode::invalid_argument, "--shape '", arg, "': '", tok, "' is not a dimension");
    s.push_back(v);
    if (c == std::string::npos) break;
    p = c + 1;
  }
  return {arg.substr(0, eq), s};
}

std::pair<std::string, std::string> parse_input_arg(const std::string& arg) {
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
    fail(ErrorCode::invalid_argument, "--input expects NAME=FILE, got '", arg, "'");
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

namespace {
struct SplitMix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
};

Tensor random_tensor(DataType dt, const Shape& shape, SplitMix& rng) {
  Tensor t = Tensor::allocate(dt, shape);
  const std::size_t n = static_cast<std::size_t>(t.numel());
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform();
    switch (dt) {
      case DataType::float32:
        t.data<float>()[i] = static_cast<float>(2 * u - 1);
        break;
      case DataType::float64:
        t.data<double>()[i] = 2 * u - 1;
        break;
      case DataType::float16:
        t.data<std::uint16_t>()[i] = float_to_half(static_cast<float>(2 * u - 1));
        break;
      case DataType::int64:
        t.data<std::int64_t>()[i] = static_cast<std::int64_t>(u * 10);
        break;
      case DataType::int32:
        t.data<std::int32_t>()[i] = static_cast<std::int32_t>(u * 10);
        break;
      case DataType::uint8:
        t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(u * 256);
        break;
      case DataType::int8:
        t.data<std::int8_t>()[i] = static_cast<std::int8_t>(u * 256 - 128);
        break;
      case DataType::boolean:
        t.data<std::uint8_t>()[i] = u < 0.5;
        break;
      default:
        fail(ErrorCode::unsupported, "cannot make random data of type ", dtype_name(dt));
    }
  }
  return t;
}
}  // namespace

void feed_inputs(Session& s, const std::map<std::string, std::string>& files,
                 const std::map<std::string, Shape>& shapes, std::uint64_t seed) {
  const Model& m = s.model();
  for (const auto& [name, file] : files) {
    bool found = false;
    for (std::size_t i = 0; i < m.input_count(); ++i) found |= m.input(i).name == name;
    if (!found) fail(ErrorCode::invalid_argument, "--input names '", name, "', which is not an input of the model");
  }
  for (const auto& [name, shape] : shapes) {
    bool found = false;
    for (std::size_t i = 0; i < m.input_count(); ++i) found |= m.input(i).name == name;
    if (!found) fail(ErrorCode::invalid_argument, "--shape names '", name, "', which is not an input of the model");
  }
  SplitMix rng{seed};
  for (std::size_t i = 0; i < m.input_count(); ++i) {
    const ValueInfo& in = m.input(i);
    auto f = files.find(in.name);
    if (f != files.end()) {
      const std::string& path = f->second;
      const bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
      Tensor t = npy ? read_npy(path) : onnx::read_tensor_file(path);
      try {
        s.set_input(i, t);
      } catch (const Error& e) {
        fail(e.code(), "'", path, "': ", e.what());
      }
      continue;
    }
    if (m.graph().constants.count(m.graph().inputs[i])) continue;  // keeps its default
    Shape shape;
    auto sh = shapes.find(in.name);
    if (sh != shapes.end()) {
      shape = sh->second;
    } else {
      if (!in.has_shape)
        fail(ErrorCode::invalid_argument, "input '", in.name, "' declares no shape: give one with --shape ", in.name,
             "=...");
      for (const Dim& d : in.dims) shape.push_back(d.value >= 0 ? d.value : 1);
    }
    const DataType dt = in.dtype == DataType::undefined ? DataType::float32 : in.dtype;
    s.set_input(i, random_tensor(dt, shape, rng));
  }
}

std::string summarize(const Tensor& t) {
  std::string out = cat(dtype_name(t.dtype()), " ", shape_str(t.shape()));
  if (t.numel() == 0 || t.dtype() == DataType::string) return out;
  const std::vector<double> v = tensor_to_doubles(t);
  double lo = v[0], hi = v[0], sum = 0;
  std::size_t nan = 0;
  for (double x : v) {
    if (std::isnan(x)) {
      ++nan;
      continue;
    }
    lo = std::min(lo, x), hi = std::max(hi, x), sum += x;
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, "  min %.6g  max %.6g  mean %.6g", lo, hi, sum / static_cast<double>(v.size() - nan));
  out += buf;
  if (nan) out += cat("  (", nan, " NaN)");
  return out;
}

std::string batchnorm_summary(const Model& m, bool no_fold) {
  std::size_t folded = 0, kept = 0;
  for (const PassRecord& r : m.pass_records()) (r.verdict.rfind("folded", 0) == 0 ? folded : kept) += 1;
  std::string s = cat(folded, " folded, ", kept, " standalone");
  if (no_fold) s += " (--no-fold)";
  return s;
}

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

}  // namespace edgert::tools
