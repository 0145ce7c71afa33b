// The ONNX importer: every initializer storage form, Constant nodes, external data,
// initializer-as-input semantics by IR version, opset forms, dynamic dims and bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "edgert/error.h"
#include "edgert/onnx/import.h"
#include "model_maker.h"
#include "onnx.pb.h"
#include "test_util.h"

namespace edgert::test {
namespace {

namespace fs = std::filesystem;

onnx::Imported import(const ModelMaker& mm, const std::string& base = "") {
  const std::string b = mm.bytes();
  return onnx::import_memory(b.data(), b.size(), {}, base);
}

std::vector<Tensor> run_all(onnx::Imported im, const std::vector<std::pair<std::string, Tensor>>& feeds = {}) {
  auto model = Model::compile(std::move(im.graph));
  Session s(model);
  for (const auto& [n, t] : feeds) s.set_input(n, t);
  s.run();
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < model->output_count(); ++i) out.push_back(s.output(i).clone());
  return out;
}

TEST(Import, EveryInitializerStorageForm) {
  ModelMaker mm;
  const float f[3] = {1.5f, -2.0f, 3.25f};
  auto* raw = mm.init("raw_f32", ::onnx::TensorProto::FLOAT, {3});
  raw->set_raw_data(std::string(reinterpret_cast<const char*>(f), sizeof f));
  auto* typed = mm.init("typed_f32", ::onnx::TensorProto::FLOAT, {3});
  for (float v : f) typed->add_float_data(v);
  auto* i64 = mm.init("i64", ::onnx::TensorProto::INT64, {2});
  i64->add_int64_data(-5), i64->add_int64_data(1LL << 40);
  auto* i32 = mm.init("i32", ::onnx::TensorProto::INT32, {2});
  i32->add_int32_data(-7), i32->add_int32_data(9);
  auto* i8 = mm.init("i8", ::onnx::TensorProto::INT8, {2});
  i8->add_int32_data(-128), i8->add_int32_data(127);
  auto* u8 = mm.init("u8", ::onnx::TensorProto::UINT8, {2});
  u8->add_int32_data(0), u8->add_int32_data(255);
  auto* b = mm.init("b", ::onnx::TensorProto::BOOL, {2});
  b->add_int32_data(1), b->add_int32_data(0);
  auto* h = mm.init("h", ::onnx::TensorProto::FLOAT16, {2});
  h->add_int32_data(0x3c00), h->add_int32_data(0xc000);  // 1.0, -2.0
  auto* d = mm.init("d", ::onnx::TensorProto::DOUBLE, {1});
  d->add_double_data(0.125);
  auto* u32 = mm.init("u32", ::onnx::TensorProto::UINT32, {1});
  u32->add_uint64_data(4000000000ull);
  auto* scalar = mm.init("scalar", ::onnx::TensorProto::FLOAT, {});
  scalar->add_float_data(7.0f);
  auto* empty = mm.init("empty", ::onnx::TensorProto::FLOAT, {0, 3});
  (void)empty;
  for (const char* n : {"raw_f32", "typed_f32", "i64", "i32", "i8", "u8", "b", "h", "d", "u32", "scalar", "empty"}) {
    mm.node("Identity", {n}, {std::string(n) + "_out"});
    mm.output(std::string(n) + "_out");
  }
  const auto out = run_all(import(mm));
  EXPECT_EQ(tensor_to_doubles(out[0]), (std::vector<double>{1.5, -2.0, 3.25}));
  EXPECT_EQ(tensor_to_doubles(out[1]), (std::vector<double>{1.5, -2.0, 3.25}));
  EXPECT_EQ(tensor_to_ints(out[2]), (std::vector<std::int64_t>{-5, 1LL << 40}));
  EXPECT_EQ(tensor_to_ints(out[3]), (std::vector<std::int64_t>{-7, 9}));
  EXPECT_EQ(tensor_to_ints(out[4]), (std::vector<std::int64_t>{-128, 127}));
  EXPECT_EQ(tensor_to_ints(out[5]), (std::vector<std::int64_t>{0, 255}));
  EXPECT_EQ(out[6].dtype(), DataType::boolean);
  EXPECT_EQ(tensor_to_ints(out[6]), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(tensor_to_doubles(out[7]), (std::vector<double>{1.0, -2.0}));
  EXPECT_EQ(tensor_to_doubles(out[8]), (std::vector<double>{0.125}));
  EXPECT_EQ(tensor_to_ints(out[9]), (std::vector<std::int64_t>{4000000000LL}));
  EXPECT_EQ(out[10].shape(), Shape{});
  EXPECT_EQ(out[11].shape(), (Shape{0, 3}));
}

TEST(Import, ConstantNodesInAllTheirForms) {
  ModelMaker mm;
  auto* c1 = mm.node("Constant", {}, {"t"});
  auto* a = ModelMaker::attr(c1, "value");
  a->set_type(::onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(::onnx::TensorProto::FLOAT);
  a->mutable_t()->add_dims(2);
  a->mutable_t()->add_float_data(1), a->mutable_t()->add_float_data(2);
  auto* c2 = ModelMaker::attr(mm.node("Constant", {}, {"f"}), "value_float");
  c2->set_type(::onnx::AttributeProto::FLOAT), c2->set_f(0.5f);
  auto* c3 = ModelMaker::attr(mm.node("Constant", {}, {"fs"}), "value_floats");
  c3->set_type(::onnx::AttributeProto::FLOATS), c3->add_floats(3), c3->add_floats(4);
  auto* c4 = ModelMaker::attr(mm.node("Constant", {}, {"i"}), "value_int");
  c4->set_type(::onnx::AttributeProto::INT), c4->set_i(-3);
  auto* c5 = ModelMaker::attr(mm.node("Constant", {}, {"is"}), "value_ints");
  c5->set_type(::onnx::AttributeProto::INTS), c5->add_ints(5), c5->add_ints(6);
  mm.node("Add", {"t", "fs"}, {"sum"});
  mm.node("Mul", {"sum", "f"}, {"y"});
  mm.node("Add", {"is", "i"}, {"z"});
  mm.output("y");
  mm.output("z");
  auto im = import(mm);
  EXPECT_EQ(im.info.constant_nodes, 5u);
  EXPECT_EQ(im.graph.nodes.size(), 3u);
  const auto out = run_all(std::move(im));
  EXPECT_EQ(tensor_to_doubles(out[0]), (std::vector<double>{2, 3}));
  EXPECT_EQ(tensor_to_ints(out[1]), (std::vector<std::int64_t>{2, 3}));

  ModelMaker strings;
  auto* s = ModelMaker::attr(strings.node("Constant", {}, {"s"}), "value_strings");
  s->set_type(::onnx::AttributeProto::STRINGS), s->add_strings("a");
  strings.output("s");
  expect_error(ErrorCode::unsupported, "value_strings", [&] { import(strings); });
}

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgert_ext_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "sub");
    const float v[4] = {1, 2, 3, 4};
    std::ofstream(dir_ / "sub" / "w.bin", std::ios::binary)
        .write("HEADER__", 8)
        .write(reinterpret_cast<const char*>(v), sizeof v);
    std::ofstream(dir_.parent_path() / "outside.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(v), sizeof v);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove(dir_.parent_path() / "outside.bin");
  }
  std::string write_model(const std::string& location, std::int64_t offset, std::int64_t length) {
    ModelMaker mm;
    auto* t = mm.init("w", ::onnx::TensorProto::FLOAT, {4});
    t->set_data_location(::onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const std::string& v) {
      auto* e = t->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    if (offset >= 0) add("offset", std::to_string(offset));
    if (length >= 0) add("length", std::to_string(length));
    mm.node("Identity", {"w"}, {"y"});
    mm.output("y");
    const fs::path p = dir_ / "model.onnx";
    std::ofstream(p, std::ios::binary) << mm.bytes();
    return p.string();
  }
  fs::path dir_;
};

TEST_F(ExternalData, RelativeLocationWithOffsetAndLength) {
  const auto out = run_all(onnx::import_file(write_model("sub/w.bin", 8, 16)));
  EXPECT_EQ(tensor_to_doubles(out[0]), (std::vector<double>{1, 2, 3, 4}));
}

TEST_F(ExternalData, LocationsOutsideTheModelFolderAreRefused) {
  expect_error(ErrorCode::parse, "escapes the model's folder",
               [&] { onnx::import_file(write_model("../outside.bin", -1, -1)); });
  expect_error(ErrorCode::parse, "must be relative",
               [&] { onnx::import_file(write_model((dir_.parent_path() / "outside.bin").string(), -1, -1)); });
}

TEST_F(ExternalData, WrongLengthsAndMissingFilesAreErrors) {
  expect_error(ErrorCode::parse, "runs past the end", [&] { onnx::import_file(write_model("sub/w.bin", 16, 16)); });
  expect_error(ErrorCode::parse, "its dims need 16", [&] { onnx::import_file(write_model("sub/w.bin", 0, 24)); });
  expect_error(ErrorCode::io, "cannot open external data",
               [&] { onnx::import_file(write_model("sub/missing.bin", -1, -1)); });
  std::ifstream in(write_model("sub/w.bin", 8, 16), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  expect_error(ErrorCode::invalid_argument, "loaded from memory",
               [&] { onnx::import_memory(bytes.data(), bytes.size()); });
}

ModelMaker bias_model(std::int64_t ir) {
  ModelMaker mm(13, ir);
  mm.input("x", ::onnx::TensorProto::FLOAT, {"2"});
  auto* b = mm.init("b", ::onnx::TensorProto::FLOAT, {2});
  b->add_float_data(10), b->add_float_data(20);
  mm.input("b", ::onnx::TensorProto::FLOAT, {"2"});
  mm.node("Add", {"x", "b"}, {"y"});
  mm.output("y");
  return mm;
}

TEST(Import, InitializerListedAsInputIsConstantBeforeIr4AndOverridableAfter) {
  const Tensor x = Tensor::from_vector<float>(DataType::float32, {2}, {1, 2});
  auto old = import(bias_model(3));
  EXPECT_EQ(old.graph.inputs.size(), 1u);
  EXPECT_TRUE(old.graph.is_constant(old.graph.find("b")));
  auto now = import(bias_model(8));
  EXPECT_EQ(now.graph.inputs.size(), 2u);
  EXPECT_FALSE(now.graph.is_constant(now.graph.find("b")));
  EXPECT_EQ(tensor_to_doubles(run_all(std::move(now), {{"x", x}})[0]), (std::vector<double>{11, 22}));
  const Tensor b2 = Tensor::from_vector<float>(DataType::float32, {2}, {0, 0});
  EXPECT_EQ(tensor_to_doubles(run_all(import(bias_model(8)), {{"x", x}, {"b", b2}})[0]), (std::vector<double>{1, 2}));
}

TEST(Import, AttributeFormsOfOldOpsetsAndInputFormsOfNewOnes) {
  // Upsample-7 (scales attribute) and Resize-13 (sizes input) give the same picture.
  ModelMaker up(7);
  up.input("x", ::onnx::TensorProto::FLOAT, {"1", "1", "2", "2"});
  auto* n = up.node("Upsample", {"x"}, {"y"});
  auto* s = ModelMaker::attr(n, "scales");
  s->set_type(::onnx::AttributeProto::FLOATS);
  for (float v : {1.0f, 1.0f, 2.0f, 3.0f}) s->add_floats(v);
  up.output("y");
  ModelMaker rs(13);
  rs.input("x", ::onnx::TensorProto::FLOAT, {"1", "1", "2", "2"});
  auto* sz = rs.init("sizes", ::onnx::TensorProto::INT64, {4});
  for (std::int64_t v : {1, 1, 4, 6}) sz->add_int64_data(v);
  auto* r = rs.node("Resize", {"x", "", "", "sizes"}, {"y"});
  auto* m = ModelMaker::attr(r, "coordinate_transformation_mode");
  m->set_type(::onnx::AttributeProto::STRING), m->set_s("asymmetric");
  auto* nm = ModelMaker::attr(r, "nearest_mode");
  nm->set_type(::onnx::AttributeProto::STRING), nm->set_s("floor");
  rs.output("y");
  const Tensor x = Tensor::from_vector<float>(DataType::float32, {1, 1, 2, 2}, {1, 2, 3, 4});
  const auto a = run_all(import(up), {{"x", x}}), b = run_all(import(rs), {{"x", x}});
  EXPECT_EQ(a[0].shape(), (Shape{1, 1, 4, 6}));
  EXPECT_EQ(tensor_to_doubles(a[0]), tensor_to_doubles(b[0]));
}

TEST(Import, SymbolicDimsResolveFromTheInputsGiven) {
  ModelMaker mm(13);
  mm.input("x", ::onnx::TensorProto::FLOAT, {"batch", "3", "height"});
  mm.node("Shape", {"x"}, {"s"});
  mm.node("ConstantOfShape", {"s"}, {"z"});
  mm.node("Add", {"x", "z"}, {"y"});
  mm.output("y");
  auto model = Model::compile(import(mm).graph);
  Session s(model);
  for (std::int64_t b : {1, 4}) {
    const Tensor x = Tensor::allocate(DataType::float32, {b, 3, 5 + b});
    s.set_input("x", x);
    s.run();
    EXPECT_EQ(s.output(0).shape(), (Shape{b, 3, 5 + b}));
  }
  EXPECT_THROW(s.set_input("x", Tensor::allocate(DataType::float32, {1, 2, 5})), Error);
}

// ---------- bad files ----------

std::string small_model_bytes() {
  ModelMaker mm;
  mm.input("x", ::onnx::TensorProto::FLOAT, {"1", "4"});
  auto* w = mm.init("w", ::onnx::TensorProto::FLOAT, {4, 4});
  for (int i = 0; i < 16; ++i) w->add_float_data(static_cast<float>(i));
  mm.node("MatMul", {"x", "w"}, {"y"});
  mm.output("y");
  return mm.bytes();
}

TEST(BadInput, TruncatedGarbageAndEmptyFiles) {
  const std::string good = small_model_bytes();
  for (std::size_t cut : {good.size() / 2, good.size() - 3, std::size_t{5}}) {
    const std::string part = good.substr(0, cut);
    EXPECT_THROW(onnx::import_memory(part.data(), part.size()), Error) << "cut at " << cut;
  }
  const std::string garbage = "this is not an onnx model at all\x01\x02\xff";
  expect_error(ErrorCode::parse, "not a valid ONNX model",
               [&] { onnx::import_memory(garbage.data(), garbage.size()); });
  expect_error(ErrorCode::parse, "no graph", [&] { onnx::import_memory("", 0); });
  expect_error(ErrorCode::io, "no such file", [&] { onnx::import_file("/nonexistent/model.onnx"); });
  expect_error(ErrorCode::io, "directory", [&] { onnx::import_file("/tmp"); });
}

TEST(BadInput, DimsThatDisagreeWithDataOrAreNegativeOrAbsurd) {
  ModelMaker short_raw;
  short_raw.init("w", ::onnx::TensorProto::FLOAT, {2, 3})->set_raw_data(std::string(20, '\0'));
  short_raw.output("w");
  expect_error(ErrorCode::parse, "raw_data has 20 bytes", [&] { import(short_raw); });
  ModelMaker short_typed;
  short_typed.init("w", ::onnx::TensorProto::FLOAT, {3})->add_float_data(1);
  short_typed.output("w");
  expect_error(ErrorCode::parse, "float_data holds 1 values", [&] { import(short_typed); });
  ModelMaker negative;
  negative.init("w", ::onnx::TensorProto::FLOAT, {-2});
  negative.output("w");
  expect_error(ErrorCode::parse, "negative dimension", [&] { import(negative); });
  ModelMaker absurd;
  absurd.init("w", ::onnx::TensorProto::FLOAT, {1000000, 1000000, 1000000});
  absurd.output("w");
  expect_error(ErrorCode::out_of_memory, "tensor size limit", [&] { import(absurd); });
  ModelMaker neg_input;
  auto* vi = neg_input.input("x", ::onnx::TensorProto::FLOAT, {"1"});
  vi->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(-4);
  neg_input.output("x");
  expect_error(ErrorCode::parse, "negative dimension", [&] { import(neg_input); });
}

TEST(BadInput, DanglingInputsCyclesAndUnsupportedOperators) {
  ModelMaker missing;
  missing.input("x", ::onnx::TensorProto::FLOAT, {"1"});
  missing.node("Add", {"x", "weights_never_defined"}, {"y"});
  missing.output("y");
  expect_error(ErrorCode::parse, "'weights_never_defined' is not produced",
               [&] { Model::compile(import(missing).graph); });
  ModelMaker cycle;
  cycle.input("x", ::onnx::TensorProto::FLOAT, {"1"});
  cycle.node("Add", {"x", "b"}, {"a"});
  cycle.node("Relu", {"a"}, {"b"});
  cycle.output("b");
  expect_error(ErrorCode::parse, "cycle", [&] { Model::compile(import(cycle).graph); });
  ModelMaker odd;
  odd.input("x", ::onnx::TensorProto::FLOAT, {"1"});
  auto* n = odd.node("Gelu", {"x"}, {"y"});
  n->set_name("act");
  n->set_domain("com.microsoft");
  auto* op = odd.proto().add_opset_import();
  op->set_domain("com.microsoft");
  op->set_version(1);
  odd.output("y");
  expect_error(ErrorCode::unsupported, "'Gelu' (domain 'com.microsoft', opset 1) at node 'act'",
               [&] { Model::compile(import(odd).graph); });
}

TEST(BadInput, OpsetsAndIrVersionsOutOfRange) {
  ModelMaker new_opset(30);
  new_opset.output("x");
  expect_error(ErrorCode::unsupported, "opset 30", [&] { import(new_opset); });
  ModelMaker old_ir(13, 2);
  old_ir.output("x");
  expect_error(ErrorCode::unsupported, "IR version 2", [&] { import(old_ir); });
}

TEST(Import, TensorProtoFiles) {
  ::onnx::TensorProto t;
  t.set_name("input_0");
  t.set_data_type(::onnx::TensorProto::INT64);
  t.add_dims(3);
  for (std::int64_t v : {4, 5, 6}) t.add_int64_data(v);
  const fs::path p = fs::temp_directory_path() / ("edgert_tensor_" + std::to_string(::getpid()) + ".pb");
  std::ofstream(p, std::ios::binary) << t.SerializeAsString();
  std::string name;
  const Tensor x = onnx::read_tensor_file(p.string(), &name);
  EXPECT_EQ(name, "input_0");
  EXPECT_EQ(tensor_to_ints(x), (std::vector<std::int64_t>{4, 5, 6}));
  std::ofstream(p, std::ios::binary) << "\xff\xff\xff garbage";
  EXPECT_THROW(onnx::read_tensor_file(p.string()), Error);
  fs::remove(p);
}

}  // namespace
}  // namespace edgert::test
