// ModelMaker: ONNX models written with the protobuf classes, for tests of the loader and the
// C API (no binary fixtures).
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "onnx.pb.h"

namespace edgert::test {

class ModelMaker {
 public:
  explicit ModelMaker(std::int64_t opset = 13, std::int64_t ir = 7) {
    m_.set_ir_version(ir);
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    g_ = m_.mutable_graph();
    g_->set_name("test");
  }
  ::onnx::ValueInfoProto* input(const std::string& name, int type, const std::vector<std::string>& dims) {
    auto* vi = g_->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    for (const auto& d : dims) {
      auto* dim = tt->mutable_shape()->add_dim();
      if (std::isdigit(static_cast<unsigned char>(d[0])))
        dim->set_dim_value(std::stoll(d));
      else
        dim->set_dim_param(d);
    }
    return vi;
  }
  void output(const std::string& name) { g_->add_output()->set_name(name); }
  ::onnx::TensorProto* init(const std::string& name, int type, const std::vector<std::int64_t>& dims) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (auto d : dims) t->add_dims(d);
    return t;
  }
  ::onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& ins,
                          const std::vector<std::string>& outs) {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(op + std::to_string(g_->node_size()));
    for (const auto& s : ins) n->add_input(s);
    for (const auto& s : outs) n->add_output(s);
    return n;
  }
  static ::onnx::AttributeProto* attr(::onnx::NodeProto* n, const std::string& name) {
    auto* a = n->add_attribute();
    a->set_name(name);
    return a;
  }
  std::string bytes() const { return m_.SerializeAsString(); }
  ::onnx::ModelProto& proto() { return m_; }
  ::onnx::GraphProto& graph() { return *g_; }

 private:
  ::onnx::ModelProto m_;
  ::onnx::GraphProto* g_;
};

}  // namespace edgert::test
