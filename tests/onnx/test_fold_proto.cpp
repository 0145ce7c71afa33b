// edgert fold on ModelProtos: BatchNormalization folded where the runtime folds it, and
// everything it does not touch left exactly as it was.
#include <gtest/gtest.h>

#include <cmath>

#include "edgert/onnx/fold.h"
#include "onnx.pb.h"
#include "test_util.h"
#include "zoo.h"

namespace edgert::test {
namespace {

std::vector<float> run_bytes(const std::string& bytes, const Tensor& x) {
  ModelOptions o;
  o.fold_batchnorm = false;
  auto m = Model::compile(onnx::import_memory(bytes.data(), bytes.size()).graph, o);
  Session s(m);
  s.set_input(0, x);
  s.run();
  return values(s.output(0));
}

::onnx::TensorProto* add_init(::onnx::GraphProto* g, const std::string& name, const std::vector<std::int64_t>& dims,
                              float start) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  std::int64_t n = 1;
  for (auto d : dims) t->add_dims(d), n *= d;
  for (std::int64_t i = 0; i < n; ++i) t->add_float_data(start + 0.01f * static_cast<float>(i % 17));
  return t;
}

// x -> Conv(w) -> BN -> Relu -> y, plus metadata everywhere.
::onnx::ModelProto conv_bn_model(std::int64_t ir) {
  ::onnx::ModelProto m;
  m.set_ir_version(ir);
  m.set_producer_name("test-producer");
  m.set_doc_string("model doc");
  auto* meta = m.add_metadata_props();
  meta->set_key("author"), meta->set_value("someone");
  auto* op = m.add_opset_import();
  op->set_domain(""), op->set_version(13);
  auto* op2 = m.add_opset_import();
  op2->set_domain("com.example"), op2->set_version(2);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(1);
  for (int d : {1, 3, 6, 6}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  add_init(g, "w", {4, 3, 3, 3}, -0.1f);
  add_init(g, "s", {4}, 0.9f);
  add_init(g, "b", {4}, 0.1f);
  add_init(g, "m", {4}, -0.05f);
  add_init(g, "v", {4}, 0.8f);
  if (ir < 4)
    for (const char* n : {"w", "s", "b", "m", "v"}) g->add_input()->set_name(n);
  auto* conv = g->add_node();
  conv->set_op_type("Conv"), conv->set_name("conv"), conv->set_doc_string("conv doc");
  conv->add_input("x"), conv->add_input("w"), conv->add_output("c");
  auto* pads = conv->add_attribute();
  pads->set_name("pads"), pads->set_type(::onnx::AttributeProto::INTS);
  for (int p : {1, 1, 1, 1}) pads->add_ints(p);
  auto* bn = g->add_node();
  bn->set_op_type("BatchNormalization"), bn->set_name("bn");
  for (const char* n : {"c", "s", "b", "m", "v"}) bn->add_input(n);
  bn->add_output("n");
  auto* relu = g->add_node();
  relu->set_op_type("Relu"), relu->set_name("relu"), relu->add_input("n"), relu->add_output("y");
  g->add_value_info()->set_name("c");
  g->add_value_info()->set_name("n");
  g->add_output()->set_name("y");
  return m;
}

TEST(FoldProto, FoldsAndKeepsEverythingElse) {
  for (std::int64_t ir : {3, 8}) {
    const ::onnx::ModelProto m = conv_bn_model(ir);
    const std::string bytes = m.SerializeAsString();
    onnx::FoldReport rep;
    const std::string out = onnx::fold_model(bytes, "", rep);
    ASSERT_EQ(rep.folded(), 1u) << rep.batchnorm[0].verdict;
    ::onnx::ModelProto f;
    ASSERT_TRUE(f.ParseFromString(out));
    EXPECT_EQ(f.producer_name(), "test-producer");
    EXPECT_EQ(f.doc_string(), "model doc");
    ASSERT_EQ(f.metadata_props_size(), 1);
    EXPECT_EQ(f.metadata_props(0).value(), "someone");
    ASSERT_EQ(f.opset_import_size(), 2);
    EXPECT_EQ(f.opset_import(1).domain(), "com.example");
    const auto& g = f.graph();
    ASSERT_EQ(g.node_size(), 2);
    EXPECT_EQ(g.node(0).op_type(), "Conv");
    EXPECT_EQ(g.node(0).doc_string(), "conv doc");
    EXPECT_EQ(g.node(0).output(0), "n");  // the BN's output name is kept
    EXPECT_EQ(g.node(0).input_size(), 3);
    EXPECT_EQ(g.node(0).attribute_size(), 1);
    EXPECT_EQ(g.node(1).op_type(), "Relu");
    EXPECT_EQ(g.output(0).name(), "y");
    ASSERT_EQ(g.value_info_size(), 1);  // 'c' is gone, 'n' stays
    EXPECT_EQ(g.value_info(0).name(), "n");
    EXPECT_EQ(g.initializer_size(), 2);  // folded weight and bias only
    EXPECT_EQ(g.input_size(), 1);        // IR 3: the old initializers left the input list too
    const Tensor x = random({1, 3, 6, 6}, 1);
    const auto a = run_bytes(bytes, x), b = run_bytes(out, x);
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * (1 + std::abs(a[i])));
  }
}

TEST(FoldProto, ConstantNodeParametersAreFoldedAndTheirNodesRemoved) {
  ::onnx::ModelProto m = conv_bn_model(8);
  auto* g = m.mutable_graph();
  // Turn the initializers into Constant nodes, as some exporters write them.
  ::google::protobuf::RepeatedPtrField<::onnx::NodeProto> nodes;
  for (const auto& t : g->initializer()) {
    auto* c = nodes.Add();
    c->set_op_type("Constant"), c->add_output(t.name());
    auto* a = c->add_attribute();
    a->set_name("value"), a->set_type(::onnx::AttributeProto::TENSOR);
    *a->mutable_t() = t;
  }
  for (const auto& n : g->node()) *nodes.Add() = n;
  g->mutable_node()->Swap(&nodes);
  g->clear_initializer();
  // A Constant that stays: relu's output plus k, where k comes from a Constant node.
  auto* k = g->add_node();
  k->set_op_type("Constant"), k->add_output("k");
  auto* ka = k->add_attribute();
  ka->set_name("value_float"), ka->set_type(::onnx::AttributeProto::FLOAT), ka->set_f(0.25f);
  auto* add = g->add_node();
  add->set_op_type("Add"), add->add_input("y"), add->add_input("k"), add->add_output("z");
  g->mutable_output(0)->set_name("z");
  onnx::FoldReport rep;
  const std::string out = onnx::fold_model(m.SerializeAsString(), "", rep);
  EXPECT_EQ(rep.folded(), 1u);
  ::onnx::ModelProto f;
  ASSERT_TRUE(f.ParseFromString(out));
  int constants = 0;
  for (const auto& n : f.graph().node()) constants += n.op_type() == "Constant";
  EXPECT_EQ(constants, 1);  // only the one still read
  EXPECT_EQ(f.graph().node_size(), 4);
  for (const auto& t : f.graph().initializer()) EXPECT_NE(t.name(), "k");  // not defined twice
  const Tensor x = random({1, 3, 6, 6}, 2);
  const auto a = run_bytes(m.SerializeAsString(), x), b = run_bytes(out, x);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * (1 + std::abs(a[i])));
}

TEST(FoldProto, ArithmeticChainNodesAreRemovedToo) {
  ::onnx::ModelProto m = conv_bn_model(8);
  auto* g = m.mutable_graph();
  add_init(g, "k", {4, 1, 1}, 1.5f);
  // conv -> bn -> Mul(k) -> relu: move the Relu's input to the Mul's output.
  auto* mul = g->add_node();
  mul->set_op_type("Mul"), mul->set_name("mul"), mul->add_input("n"), mul->add_input("k"), mul->add_output("scaled");
  g->mutable_node(2)->set_input(0, "scaled");
  // Keep the node list in topological order: conv, bn, mul, relu.
  g->mutable_node()->SwapElements(2, 3);
  onnx::FoldReport rep;
  const std::string out = onnx::fold_model(m.SerializeAsString(), "", rep);
  ::onnx::ModelProto f;
  ASSERT_TRUE(f.ParseFromString(out));
  ASSERT_EQ(f.graph().node_size(), 2);
  EXPECT_EQ(f.graph().node(0).output(0), "scaled");
  EXPECT_EQ(f.graph().node(1).input(0), "scaled");
  const Tensor x = random({1, 3, 6, 6}, 1);
  const auto a = run_bytes(m.SerializeAsString(), x), b = run_bytes(out, x);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * (1 + std::abs(a[i])));
}

TEST(FoldProto, ZooModelsFoldAndAgree) {
  for (const char* name : {"tiny_cnn", "tiny_densenet", "mobilenetv2"}) {
    const std::string bytes = zoo::build(name, 2).SerializeAsString();
    onnx::FoldReport rep;
    const std::string out = onnx::fold_model(bytes, "", rep);
    EXPECT_GT(rep.folded(), 0u) << name;
    EXPECT_EQ(rep.ops_after.count("BatchNormalization") ? rep.ops_after.at("BatchNormalization") : 0,
              static_cast<int>(rep.batchnorm.size() - rep.folded()));
    // Folding again finds nothing more to fold.
    onnx::FoldReport again;
    onnx::fold_model(out, "", again);
    EXPECT_EQ(again.folded(), 0u) << name;
    ModelOptions o;
    auto probe = Model::compile(onnx::import_memory(bytes.data(), bytes.size()).graph, o);
    Shape s;
    for (const Dim& d : probe->input(0).dims) s.push_back(d.value >= 0 ? d.value : 1);
    const Tensor x = random(s, 3);
    const auto a = run_bytes(bytes, x), b = run_bytes(out, x);
    double scale = 0;
    for (float v : a) scale = std::max(scale, static_cast<double>(std::abs(v)));
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4 * (1 + scale)) << name;
  }
}

TEST(FoldProto, MalformedModelsAreErrorsNotCrashes) {
  onnx::FoldReport rep;
  EXPECT_THROW(onnx::fold_model("garbage\x01\x02", "", rep), Error);
  const std::string good = conv_bn_model(8).SerializeAsString();
  EXPECT_THROW(onnx::fold_model(good.substr(0, good.size() / 2), "", rep), Error);
}

}  // namespace
}  // namespace edgert::test
