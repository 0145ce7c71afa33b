// ModelProto -> runtime Graph.
#include "edgert/onnx/import.h"

#include <fcntl.h>
#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "edgert/error.h"
#include "tensor_proto.h"

namespace edgert::onnx {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kMinIr = 3, kMaxIr = 10, kMinOpset = 1, kMaxOpset = 21;

}  // namespace

void quiet_protobuf() {
  static const bool once = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)once;
}

namespace {

bool default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

Attribute convert_attribute(const ::onnx::AttributeProto& a, const std::string& where, const std::string& base_dir,
                            const LoadLimits& limits) {
  using AP = ::onnx::AttributeProto;
  Attribute out;
  if (!a.ref_attr_name().empty())
    fail(ErrorCode::unsupported, where, ": attribute '", a.name(), "' refers to a function attribute");
  AP::AttributeType type = a.type();
  if (type == AP::UNDEFINED) {  // Old files may omit the type: infer it from the field set.
    if (a.has_f())
      type = AP::FLOAT;
    else if (a.has_i())
      type = AP::INT;
    else if (a.has_s())
      type = AP::STRING;
    else if (a.has_t())
      type = AP::TENSOR;
    else if (a.has_g())
      type = AP::GRAPH;
    else if (a.floats_size())
      type = AP::FLOATS;
    else if (a.ints_size())
      type = AP::INTS;
    else if (a.strings_size())
      type = AP::STRINGS;
  }
  switch (type) {
    case AP::FLOAT:
      out.kind = Attribute::Kind::floating, out.f = a.f();
      break;
    case AP::INT:
      out.kind = Attribute::Kind::integer, out.i = a.i();
      break;
    case AP::STRING:
      out.kind = Attribute::Kind::string, out.s = a.s();
      break;
    case AP::TENSOR:
      out.kind = Attribute::Kind::tensor;
      out.t = tensor_from_proto(a.t(), where + ": attribute '" + a.name() + "'", base_dir, limits);
      break;
    case AP::FLOATS:
      out.kind = Attribute::Kind::floats, out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case AP::INTS:
      out.kind = Attribute::Kind::integers, out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case AP::STRINGS:
      out.kind = Attribute::Kind::strings, out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case AP::GRAPH:
    case AP::GRAPHS:
      out.kind = Attribute::Kind::graph;
      break;
    default:
      out.kind = Attribute::Kind::other;
      break;
  }
  return out;
}

// Turns a Constant node into a tensor.
Tensor constant_value(const ::onnx::NodeProto& n, const std::string& where, const std::string& base_dir,
                      const LoadLimits& limits) {
  if (n.attribute_size() != 1) fail(ErrorCode::parse, where, ": a Constant needs exactly one value attribute");
  const auto& a = n.attribute(0);
  const std::string& k = a.name();
  if (k == "value") return tensor_from_proto(a.t(), where + ": attribute 'value'", base_dir, limits);
  if (k == "value_float") return Tensor::from_vector<float>(DataType::float32, {}, {a.f()});
  if (k == "value_floats")
    return Tensor::from_vector<float>(DataType::float32, {a.floats_size()},
                                      std::vector<float>(a.floats().begin(), a.floats().end()));
  if (k == "value_int") return Tensor::from_vector<std::int64_t>(DataType::int64, {}, {a.i()});
  if (k == "value_ints")
    return Tensor::from_vector<std::int64_t>(DataType::int64, {a.ints_size()},
                                             std::vector<std::int64_t>(a.ints().begin(), a.ints().end()));
  fail(ErrorCode::unsupported, where, ": Constant attribute '", k, "' (strings or sparse tensors) is not supported");
}

void fill_value_info(ValueInfo& v, const ::onnx::ValueInfoProto& p, const std::string& what) {
  if (!p.has_type()) return;
  if (!p.type().has_tensor_type())
    fail(ErrorCode::unsupported, what, " '", p.name(),
         "' is not a tensor (sequences, maps and optionals are not supported)");
  const auto& tt = p.type().tensor_type();
  v.dtype = dtype_from_onnx(tt.elem_type());
  if (tt.elem_type() != 0 && v.dtype == DataType::undefined)
    fail(ErrorCode::unsupported, what, " '", p.name(), "' has element type ", tt.elem_type(),
         ", which is not supported");
  if (tt.has_shape()) {
    v.has_shape = true;
    v.dims.clear();
    for (const auto& d : tt.shape().dim()) {
      Dim dim;
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) fail(ErrorCode::parse, what, " '", p.name(), "' has a negative dimension");
        dim.value = d.dim_value();
      } else {
        dim.param = d.dim_param();
      }
      v.dims.push_back(dim);
    }
  }
}

}  // namespace

Imported convert_model(::onnx::ModelProto& m, const LoadLimits& limits, const std::string& base_dir,
                       const std::string& label, bool release) {
  Imported out;
  ModelInfo& info = out.info;
  if (!m.has_graph()) fail(ErrorCode::parse, label, ": not an ONNX model (no graph)");
  info.ir_version = m.ir_version();
  if (info.ir_version < kMinIr || info.ir_version > kMaxIr)
    fail(ErrorCode::unsupported, label, ": IR version ", info.ir_version, " is not supported (", kMinIr, " to ", kMaxIr,
         ")");
  info.producer_name = m.producer_name();
  info.producer_version = m.producer_version();
  info.domain = m.domain();
  info.model_version = m.model_version();
  info.doc_string = m.doc_string();
  std::map<std::string, std::int64_t> opsets;
  for (const auto& o : m.opset_import()) {
    info.opset_imports.emplace_back(o.domain(), o.version());
    opsets[default_domain(o.domain()) ? "" : o.domain()] = o.version();
  }
  info.opset = opsets.count("") ? opsets[""] : 0;
  if (opsets.count("") && (info.opset < kMinOpset || info.opset > kMaxOpset))
    fail(ErrorCode::unsupported, label, ": opset ", info.opset, " of the default domain is not supported (", kMinOpset,
         " to ", kMaxOpset, ")");

  auto& g = *m.mutable_graph();
  if (static_cast<std::size_t>(g.node_size()) > limits.max_nodes)
    fail(ErrorCode::out_of_memory, label, ": ", g.node_size(), " nodes exceed the limit of ", limits.max_nodes);
  Graph& graph = out.graph;
  graph.name = g.name();
  if (g.sparse_initializer_size()) fail(ErrorCode::unsupported, label, ": sparse initializers are not supported");

  std::set<std::string> init_names;
  for (auto& t : *g.mutable_initializer()) {
    if (t.name().empty()) fail(ErrorCode::parse, label, ": an initializer has no name");
    if (!init_names.insert(t.name()).second)
      fail(ErrorCode::parse, label, ": initializer '", t.name(), "' is defined twice");
    const std::string what = label + ": initializer '" + t.name() + "'";
    graph.add_constant(t.name(), release ? take_tensor_from_proto(t, what, base_dir, limits)
                                         : tensor_from_proto(t, what, base_dir, limits));
    if (release) {
      std::string().swap(*t.mutable_raw_data());
      t.clear_float_data();
    }
  }
  std::set<std::string> input_names;
  for (const auto& in : g.input()) {
    if (!input_names.insert(in.name()).second)
      fail(ErrorCode::parse, label, ": graph input '", in.name(), "' is listed twice");
    if (init_names.count(in.name())) {
      // IR < 4: an initializer listed as an input is a constant. IR >= 4: a default the caller may override.
      if (info.ir_version >= 4) {
        const ValueId v = graph.find(in.name());
        graph.inputs.push_back(v);
        graph.overridable.push_back(v);
      }
      continue;
    }
    ValueInfo vi;
    fill_value_info(vi, in, "graph input");
    graph.add_input(in.name(), vi.dtype, vi.dims);
    graph.values[graph.find(in.name())].has_shape = vi.has_shape;
  }
  for (std::int64_t i = 0; i < g.node_size(); ++i) {
    const auto& np = g.node(static_cast<int>(i));
    const std::string name = np.name().empty() ? cat(np.op_type(), "_", i) : np.name();
    const std::string where = cat("node '", name, "' (", np.op_type(), ")");
    if (np.op_type().empty()) fail(ErrorCode::parse, label, ": node ", i, " has no op_type");
    if (np.op_type() == "Constant" && default_domain(np.domain()) && np.output_size() == 1) {
      if (graph.find(np.output(0)) != kNoValue && graph.constants.count(graph.find(np.output(0))))
        fail(ErrorCode::parse, where, ": output '", np.output(0), "' is already defined");
      graph.add_constant(np.output(0), constant_value(np, where, base_dir, limits));
      ++info.constant_nodes;
      continue;
    }
    Node n;
    n.source = static_cast<int>(i);
    n.name = name;
    n.op_type = np.op_type();
    n.domain = default_domain(np.domain()) ? "" : np.domain();
    auto it = opsets.find(n.domain);
    n.opset = it == opsets.end() ? 0 : static_cast<int>(it->second);
    if (n.domain.empty() && n.opset == 0)
      fail(ErrorCode::parse, label, ": ", where, " is in the default domain, but the model imports no opset for it");
    for (const auto& s : np.input()) n.inputs.push_back(s.empty() ? kNoValue : graph.value(s));
    for (const auto& s : np.output()) n.outputs.push_back(s.empty() ? kNoValue : graph.value(s));
    for (const auto& a : np.attribute()) n.attrs[a.name()] = convert_attribute(a, where, base_dir, limits);
    graph.nodes.push_back(std::move(n));
  }
  for (const auto& o : g.output()) {
    if (o.name().empty()) fail(ErrorCode::parse, label, ": a graph output has no name");
    const ValueId v = graph.value(o.name());
    fill_value_info(graph.values[v], o, "graph output");
    graph.outputs.push_back(v);
  }
  for (const auto& vi : g.value_info()) {
    const ValueId v = graph.find(vi.name());
    if (v != kNoValue && graph.values[v].dtype == DataType::undefined && vi.type().has_tensor_type())
      fill_value_info(graph.values[v], vi, "value");
  }
  if (graph.outputs.empty()) fail(ErrorCode::parse, label, ": the graph has no outputs");
  return out;
}

Imported import_memory(const void* data, std::size_t size, const LoadLimits& limits, const std::string& base_dir,
                       const std::string& label) {
  quiet_protobuf();
  if (size > limits.max_model_bytes)
    fail(ErrorCode::out_of_memory, label, ": ", size, " bytes exceed the model size limit of ", limits.max_model_bytes);
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    fail(ErrorCode::unsupported, label, ": models over 2 GiB must keep their weights as external data");
  ::onnx::ModelProto m;
  if (!m.ParseFromArray(data, static_cast<int>(size)))
    fail(ErrorCode::parse, label,
         ": not a valid ONNX model (protobuf parsing failed: the file is truncated or not protobuf)");
  return convert_model(m, limits, base_dir, label, true);
}

Imported import_file(const std::string& path, const LoadLimits& limits) {
  quiet_protobuf();
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorCode::io, "cannot open '", path, "': no such file");
  if (fs::is_directory(path, ec)) fail(ErrorCode::io, "cannot open '", path, "': it is a directory");
  const auto size = fs::file_size(path, ec);
  if (ec) fail(ErrorCode::io, "cannot read '", path, "': ", ec.message());
  if (size > limits.max_model_bytes)
    fail(ErrorCode::out_of_memory, "'", path, "': ", size, " bytes exceed the model size limit of ",
         limits.max_model_bytes);
  if (size > static_cast<std::uintmax_t>(std::numeric_limits<int>::max()))
    fail(ErrorCode::unsupported, "'", path, "': models over 2 GiB must keep their weights as external data");
  // Parse straight from the file: no second copy of the bytes in memory.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorCode::io, "cannot open '", path, "': ", std::strerror(errno));
  ::onnx::ModelProto m;
  const bool parsed = m.ParseFromFileDescriptor(fd);
  ::close(fd);
  if (!parsed)
    fail(ErrorCode::parse, "'", path,
         "': not a valid ONNX model (protobuf parsing failed: the file is truncated or not protobuf)");
  const fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  return convert_model(m, limits, dir.string(), "'" + path + "'", true);
}

Tensor read_tensor_file(const std::string& path, std::string* name, const LoadLimits& limits) {
  quiet_protobuf();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::io, "cannot open '", path, "'");
  std::string buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ::onnx::TensorProto t;
  if (!t.ParseFromString(buf)) fail(ErrorCode::parse, "'", path, "' is not a serialized ONNX TensorProto");
  if (name) *name = t.name();
  std::error_code ec;
  const fs::path dir = fs::absolute(fs::path(path), ec).parent_path();
  return tensor_from_proto(t, "'" + path + "'", dir.string(), limits);
}

}  // namespace edgert::onnx
