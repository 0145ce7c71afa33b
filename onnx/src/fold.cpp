// Offline BatchNormalization folding on a ModelProto: the runtime's pass decides on the
// imported graph; its final state is then written back onto the original proto.
#include "edgert/onnx/fold.h"

#include <set>

#include "edgert/error.h"
#include "tensor_proto.h"

namespace edgert::onnx {

std::size_t FoldReport::folded() const {
  std::size_t n = 0;
  for (const auto& r : batchnorm) n += r.folded;
  return n;
}

namespace {

std::map<std::string, int> histogram(const ::onnx::GraphProto& g) {
  std::map<std::string, int> h;
  for (const auto& n : g.node())
    ++h[n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type() : n.domain() + "." + n.op_type()];
  return h;
}

// Names read anywhere in `g`, subgraphs (If, Loop, Scan bodies) included.
void collect_uses(const ::onnx::GraphProto& g, std::set<std::string>& used) {
  for (const auto& n : g.node()) {
    for (const auto& in : n.input()) used.insert(in);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect_uses(a.g(), used);
      for (const auto& sg : a.graphs()) collect_uses(sg, used);
    }
  }
  for (const auto& o : g.output()) used.insert(o.name());
}

}  // namespace

std::string fold_model(const std::string& model_bytes, const std::string& base_dir, FoldReport& report,
                       const LoadLimits& limits) {
  quiet_protobuf();
  ::onnx::ModelProto m;
  if (!m.ParseFromString(model_bytes))
    fail(ErrorCode::parse, "not a valid ONNX model (protobuf parsing failed: the file is truncated or not protobuf)");
  report = FoldReport{};
  report.bytes_before = model_bytes.size();
  auto& gp = *m.mutable_graph();
  report.ops_before = histogram(gp);
  report.initializers_before = static_cast<std::size_t>(gp.initializer_size());
  for (const auto& t : gp.initializer()) report.external_data |= t.data_location() == ::onnx::TensorProto::EXTERNAL;

  Imported im = convert_model(m, limits, base_dir, "model", false);
  Graph& g = im.graph;
  g.validate_and_schedule();
  std::set<int> imported;
  for (const Node& n : g.nodes) imported.insert(n.source);
  report.batchnorm = fold_batchnorm(g);

  // Write the pass's final state back: nodes it removed go; the others take their final
  // inputs and outputs (and beta, for a Gemm that received a fold); new constants become
  // initializers.
  std::set<int> drop = imported;
  for (const Node& n : g.nodes) drop.erase(n.source);
  // Names the rewritten file defines already: initializers and outputs of the nodes that
  // stay (Constant nodes included); any other constant the nodes read becomes an initializer.
  std::set<std::string> existing;
  for (const auto& t : gp.initializer()) existing.insert(t.name());
  for (int i = 0; i < gp.node_size(); ++i)
    if (!drop.count(i))
      for (const auto& o : gp.node(i).output()) existing.insert(o);
  auto name_of = [&](ValueId v) { return v == kNoValue ? std::string() : g.values[v].name; };
  for (const Node& n : g.nodes) {
    auto* np = gp.mutable_node(n.source);
    np->set_op_type(n.op_type);  // a folded MatMul becomes a Gemm
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      const std::string name = name_of(n.inputs[i]);
      if (static_cast<int>(i) < np->input_size())
        np->set_input(static_cast<int>(i), name);
      else
        np->add_input(name);
      if (!name.empty() && !existing.count(name) && g.constants.count(n.inputs[i])) {
        tensor_to_proto(g.constants.at(n.inputs[i]), name, gp.add_initializer());
        existing.insert(name);
      }
    }
    for (std::size_t i = 0; i < n.outputs.size() && static_cast<int>(i) < np->output_size(); ++i)
      np->set_output(static_cast<int>(i), name_of(n.outputs[i]));
    if (n.op_type == "Gemm" && n.has_attr("beta")) {
      bool found = false;
      for (auto& a : *np->mutable_attribute())
        if (a.name() == "beta") a.set_f(n.attr_float("beta", 1.0f)), found = true;
      if (!found) {
        auto* a = np->add_attribute();
        a->set_name("beta");
        a->set_type(::onnx::AttributeProto::FLOAT);
        a->set_f(n.attr_float("beta", 1.0f));
      }
    }
  }
  if (!drop.empty()) {
    ::google::protobuf::RepeatedPtrField<::onnx::NodeProto> kept;
    for (int i = 0; i < gp.node_size(); ++i)
      if (!drop.count(i)) kept.Add()->Swap(gp.mutable_node(i));
    gp.mutable_node()->Swap(&kept);
  }
  // Constant nodes and initializers nothing reads any more go, with their graph-input
  // entries (IR < 4) and the value_info of values that no longer exist.
  std::set<std::string> used;
  collect_uses(gp, used);
  {
    ::google::protobuf::RepeatedPtrField<::onnx::NodeProto> kept;
    for (auto& n : *gp.mutable_node()) {
      const bool dead_constant = n.op_type() == "Constant" && (n.domain().empty() || n.domain() == "ai.onnx") &&
                                 n.output_size() == 1 && !used.count(n.output(0));
      if (!dead_constant) kept.Add()->Swap(&n);
    }
    gp.mutable_node()->Swap(&kept);
  }
  std::set<std::string> inputs;
  for (const auto& in : gp.input()) inputs.insert(in.name());
  std::set<std::string> removed;
  {
    ::google::protobuf::RepeatedPtrField<::onnx::TensorProto> kept;
    for (auto& t : *gp.mutable_initializer()) {
      const bool overridable = inputs.count(t.name()) && im.info.ir_version >= 4;
      if (used.count(t.name()) || overridable)
        kept.Add()->Swap(&t);
      else
        removed.insert(t.name());
    }
    gp.mutable_initializer()->Swap(&kept);
  }
  if (!removed.empty()) {
    ::google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto> kept;
    for (auto& vi : *gp.mutable_input())
      if (!removed.count(vi.name())) kept.Add()->Swap(&vi);
    gp.mutable_input()->Swap(&kept);
  }
  std::set<std::string> live = used;
  for (const auto& n : gp.node())
    for (const auto& o : n.output()) live.insert(o);
  {
    ::google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto> kept;
    for (auto& vi : *gp.mutable_value_info())
      if (live.count(vi.name())) kept.Add()->Swap(&vi);
    gp.mutable_value_info()->Swap(&kept);
  }
  report.ops_after = histogram(gp);
  report.initializers_after = static_cast<std::size_t>(gp.initializer_size());
  std::string out;
  if (!m.SerializeToString(&out)) fail(ErrorCode::internal, "cannot serialize the folded model");
  report.bytes_after = out.size();
  return out;
}

}  // namespace edgert::onnx
