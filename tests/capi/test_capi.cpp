// The C API (edgert.h): every bad input of the loader and of a session gets its status and a
// message naming what is wrong; results equal the C++ API's; one model runs in many sessions
// on several threads at once with the same outputs as alone (this test also runs under
// ThreadSanitizer in CI).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "edgert/edgert.h"
#include "edgert/edgert.hpp"
#include "model_maker.h"
#include "zoo.h"

namespace edgert::test {
namespace {

namespace fs = std::filesystem;

void expect_status(edgert_status got, edgert_status want, const std::string& fragment) {
  EXPECT_EQ(got, want) << edgert_status_string(got) << ": " << edgert_last_error();
  EXPECT_NE(std::string(edgert_last_error()).find(fragment), std::string::npos)
      << "message '" << edgert_last_error() << "' lacks '" << fragment << "'";
}

struct ModelHandle {
  edgert_model* p = nullptr;
  ~ModelHandle() { edgert_model_free(p); }
};
struct SessionHandle {
  edgert_session* p = nullptr;
  ~SessionHandle() { edgert_session_free(p); }
};

std::string zoo_bytes(const std::string& name) { return zoo::build(name, 7).SerializeAsString(); }

edgert_model* load(const std::string& bytes, const edgert_model_options* o = nullptr) {
  edgert_model* m = nullptr;
  const edgert_status s = edgert_model_load_memory(bytes.data(), bytes.size(), o, &m);
  EXPECT_EQ(s, EDGERT_OK) << edgert_last_error();
  return m;
}

// A scratch folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/edgert_capi_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name, const std::string& bytes) const {
    const std::string p = (fs::path(path_) / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Random float inputs for every input of `m` (free dims set to `free_dim`).
struct Inputs {
  std::vector<std::vector<float>> data;
  std::vector<std::vector<std::int64_t>> dims;
  std::vector<std::string> names;
};
Inputs random_inputs(const edgert_model* m, unsigned seed, std::int64_t free_dim = 8) {
  Inputs in;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::size_t i = 0; i < edgert_model_input_count(m); ++i) {
    edgert_tensor info;
    EXPECT_EQ(edgert_model_input_info(m, i, &info), EDGERT_OK);
    EXPECT_EQ(info.dtype, EDGERT_DTYPE_FLOAT32);
    std::vector<std::int64_t> d(info.dims, info.dims + info.rank);
    std::size_t n = 1;
    for (auto& x : d) {
      if (x < 0) x = free_dim;
      n *= static_cast<std::size_t>(x);
    }
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    in.data.push_back(std::move(v));
    in.dims.push_back(std::move(d));
    in.names.emplace_back(edgert_model_input_name(m, i));
  }
  return in;
}

edgert_tensor as_tensor(std::vector<float>& data, const std::vector<std::int64_t>& dims) {
  return edgert_tensor{EDGERT_DTYPE_FLOAT32, dims.size(), dims.data(), data.data(), data.size() * sizeof(float)};
}

// Sets `in` and runs.
void run(edgert_session* s, Inputs& in) {
  for (std::size_t i = 0; i < in.data.size(); ++i) {
    const edgert_tensor t = as_tensor(in.data[i], in.dims[i]);
    EXPECT_EQ(edgert_session_set_input(s, in.names[i].c_str(), &t), EDGERT_OK) << edgert_last_error();
  }
  EXPECT_EQ(edgert_session_run(s), EDGERT_OK) << edgert_last_error();
}

// Sets `in`, runs, returns every output's bytes.
std::vector<std::string> run_all(const edgert_model* m, edgert_session* s, Inputs& in) {
  run(s, in);
  std::vector<std::string> outs;
  for (std::size_t i = 0; i < edgert_model_output_count(m); ++i) {
    edgert_tensor t;
    EXPECT_EQ(edgert_session_get_output(s, edgert_model_output_name(m, i), &t), EDGERT_OK) << edgert_last_error();
    outs.emplace_back(static_cast<const char*>(t.data), t.byte_size);
  }
  return outs;
}

TEST(CApi, VersionStatusStringsAndDefaults) {
  EXPECT_STREQ(edgert_version(), edgert::version());
  EXPECT_STREQ(edgert_status_string(EDGERT_OK), "ok");
  EXPECT_STREQ(edgert_status_string(EDGERT_PARSE), "malformed model");
  EXPECT_STREQ(edgert_status_string(EDGERT_OUT_OF_MEMORY), "out of memory");
  EXPECT_STREQ(edgert_status_string(static_cast<edgert_status>(42)), "unknown status");
  EXPECT_STREQ(edgert_last_error(), "");
  const edgert_model_options o = edgert_model_default_options();
  EXPECT_EQ(o.struct_size, sizeof o);
  EXPECT_EQ(o.num_threads, 1);
  EXPECT_EQ(o.fold_batchnorm, 1);
  EXPECT_EQ(o.max_isa, EDGERT_ISA_AUTO);
  EXPECT_EQ(o.max_tensor_bytes, std::uint64_t{4} << 30);
  // NULL is accepted by every free function and count function.
  edgert_model_free(nullptr);
  edgert_session_free(nullptr);
  EXPECT_EQ(edgert_model_input_count(nullptr), 0u);
  EXPECT_EQ(edgert_model_output_name(nullptr, 0), nullptr);
  expect_status(EDGERT_INVALID_ARGUMENT, EDGERT_INVALID_ARGUMENT, "model is NULL");
}

TEST(CApi, OptionsAreChecked) {
  const std::string bytes = zoo_bytes("tiny_cnn");
  edgert_model* m = reinterpret_cast<edgert_model*>(&m);  // must be reset to NULL on failure
  edgert_model_options o = edgert_model_default_options();
  o.struct_size = 0;
  expect_status(edgert_model_load_memory(bytes.data(), bytes.size(), &o, &m), EDGERT_INVALID_ARGUMENT,
                "struct_size is 0");
  EXPECT_EQ(m, nullptr);
  o = edgert_model_default_options();
  o.num_threads = -3;
  expect_status(edgert_model_load_memory(bytes.data(), bytes.size(), &o, &m), EDGERT_INVALID_ARGUMENT,
                "num_threads is -3");
  o = edgert_model_default_options();
  o.max_isa = 17;
  expect_status(edgert_model_load_memory(bytes.data(), bytes.size(), &o, &m), EDGERT_INVALID_ARGUMENT, "max_isa is 17");
  // A caller built against an older, shorter struct keeps the defaults of the fields it lacks.
  o = edgert_model_default_options();
  o.struct_size = offsetof(edgert_model_options, max_model_bytes);
  o.max_tensor_bytes = 1;  // beyond struct_size: ignored
  ModelHandle ok;
  ASSERT_EQ(edgert_model_load_memory(bytes.data(), bytes.size(), &o, &ok.p), EDGERT_OK) << edgert_last_error();
  EXPECT_STREQ(edgert_last_error(), "");
}

TEST(CApi, BadFilesGetTheirStatusAndMessage) {
  TempDir dir;
  edgert_model* m = nullptr;
  expect_status(edgert_model_load_file("/nonexistent/m.onnx", nullptr, &m), EDGERT_IO, "'/nonexistent/m.onnx'");
  expect_status(edgert_model_load_file(dir.path().c_str(), nullptr, &m), EDGERT_IO, "directory");
  expect_status(edgert_model_load_file(nullptr, nullptr, &m), EDGERT_INVALID_ARGUMENT, "path or out is NULL");
  expect_status(edgert_model_load_file("x.onnx", nullptr, nullptr), EDGERT_INVALID_ARGUMENT, "NULL");
  const std::string good = zoo_bytes("tiny_cnn");
  const std::string truncated = dir.file("truncated.onnx", good.substr(0, good.size() / 2));
  expect_status(edgert_model_load_file(truncated.c_str(), nullptr, &m), EDGERT_PARSE, "truncated.onnx");
  const std::string garbage = dir.file("garbage.onnx", "\x08\x07 this is not protobuf \xff\xfe");
  expect_status(edgert_model_load_file(garbage.c_str(), nullptr, &m), EDGERT_PARSE, "not a valid ONNX model");
  const std::string empty = dir.file("empty.onnx", "");
  expect_status(edgert_model_load_file(empty.c_str(), nullptr, &m), EDGERT_PARSE, "empty.onnx");
  expect_status(edgert_model_load_memory("\xff\xff\xff", 3, nullptr, &m), EDGERT_PARSE, "<memory>");
  expect_status(edgert_model_load_memory(nullptr, 10, nullptr, &m), EDGERT_INVALID_ARGUMENT, "NULL");
  EXPECT_EQ(m, nullptr);
  // The limits: model bytes, tensor bytes, nodes.
  edgert_model_options o = edgert_model_default_options();
  o.max_model_bytes = 100;
  expect_status(edgert_model_load_memory(good.data(), good.size(), &o, &m), EDGERT_OUT_OF_MEMORY,
                "model size limit of 100");
  const std::string file = dir.file("good.onnx", good);
  expect_status(edgert_model_load_file(file.c_str(), &o, &m), EDGERT_OUT_OF_MEMORY, "model size limit of 100");
  o = edgert_model_default_options();
  o.max_tensor_bytes = 1000;
  expect_status(edgert_model_load_memory(good.data(), good.size(), &o, &m), EDGERT_OUT_OF_MEMORY, "tensor size limit");
  o = edgert_model_default_options();
  o.max_nodes = 2;
  expect_status(edgert_model_load_memory(good.data(), good.size(), &o, &m), EDGERT_OUT_OF_MEMORY, "the limit of 2");
  EXPECT_EQ(m, nullptr);
}

// A model whose one initializer lives in the external file `location`.
ModelMaker external_data_model(const std::string& location) {
  ModelMaker mm;
  auto* w = mm.init("w", ::onnx::TensorProto::FLOAT, {4});
  w->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto* loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value(location);
  mm.output("w");
  return mm;
}

TEST(CApi, BadGraphsGetTheirStatusAndMessage) {
  edgert_model* m = nullptr;
  auto load_maker = [&](const ModelMaker& mm) {
    const std::string b = mm.bytes();
    return edgert_model_load_memory(b.data(), b.size(), nullptr, &m);
  };
  ModelMaker missing;
  missing.input("x", ::onnx::TensorProto::FLOAT, {"1"});
  missing.node("Add", {"x", "weights_never_defined"}, {"y"});
  missing.output("y");
  expect_status(load_maker(missing), EDGERT_PARSE, "'weights_never_defined' is not produced");
  ModelMaker cycle;
  cycle.input("x", ::onnx::TensorProto::FLOAT, {"1"});
  cycle.node("Add", {"x", "b"}, {"a"});
  cycle.node("Relu", {"a"}, {"b"});
  cycle.output("b");
  expect_status(load_maker(cycle), EDGERT_PARSE, "cycle");
  ModelMaker odd;
  odd.input("x", ::onnx::TensorProto::FLOAT, {"1"});
  odd.node("NoSuchOp", {"x"}, {"y"})->set_name("mystery");
  odd.output("y");
  expect_status(load_maker(odd), EDGERT_UNSUPPORTED, "'NoSuchOp'");
  EXPECT_NE(std::string(edgert_last_error()).find("'mystery'"), std::string::npos) << edgert_last_error();
  ModelMaker short_raw;
  short_raw.init("w", ::onnx::TensorProto::FLOAT, {2, 3})->set_raw_data(std::string(20, '\0'));
  short_raw.output("w");
  expect_status(load_maker(short_raw), EDGERT_PARSE, "raw_data has 20 bytes");
  ModelMaker negative;
  negative.init("w", ::onnx::TensorProto::FLOAT, {-2});
  negative.output("w");
  expect_status(load_maker(negative), EDGERT_PARSE, "negative dimension");
  ModelMaker absurd;
  absurd.init("w", ::onnx::TensorProto::FLOAT, {1000000, 1000000, 1000000});
  absurd.output("w");
  expect_status(load_maker(absurd), EDGERT_OUT_OF_MEMORY, "tensor size limit");
  // External data: refused from memory; confined to the model's folder from a file.
  const ModelMaker ext = external_data_model("../../etc/passwd");
  expect_status(load_maker(ext), EDGERT_INVALID_ARGUMENT, "model loaded from memory");
  TempDir dir;
  const std::string missing_path = dir.file("missing.onnx", external_data_model("weights.bin").bytes());
  expect_status(edgert_model_load_file(missing_path.c_str(), nullptr, &m), EDGERT_IO, "weights.bin");
  const std::string path = dir.file("ext.onnx", ext.bytes());
  const edgert_status st = edgert_model_load_file(path.c_str(), nullptr, &m);
  EXPECT_NE(st, EDGERT_OK);
  EXPECT_NE(std::string(edgert_last_error()).find("'../../etc/passwd' escapes the model's folder"), std::string::npos)
      << edgert_last_error();
  EXPECT_EQ(m, nullptr);
}

TEST(CApi, SessionInputsAndOutputsAreChecked) {
  ModelHandle m;
  m.p = load(zoo_bytes("tiny_cnn"));
  ASSERT_NE(m.p, nullptr);
  SessionHandle s;
  expect_status(edgert_session_create(nullptr, &s.p), EDGERT_INVALID_ARGUMENT, "NULL");
  ASSERT_EQ(edgert_session_create(m.p, &s.p), EDGERT_OK);
  const char* in = edgert_model_input_name(m.p, 0);
  const char* out = edgert_model_output_name(m.p, 0);
  ASSERT_NE(in, nullptr);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(edgert_model_input_name(m.p, 5), nullptr);
  expect_status(EDGERT_INVALID_ARGUMENT, EDGERT_INVALID_ARGUMENT, "input index 5 is out of range (1 inputs)");

  edgert_tensor info;
  ASSERT_EQ(edgert_model_input_info(m.p, 0, &info), EDGERT_OK);
  std::vector<std::int64_t> dims(info.dims, info.dims + info.rank);
  ASSERT_EQ(dims.size(), 4u);
  EXPECT_EQ(dims[0], -1);  // a free batch dim
  dims[0] = 1;
  std::vector<float> data(static_cast<std::size_t>(dims[1] * dims[2] * dims[3]), 0.5f);
  expect_status(edgert_model_input_info(m.p, 3, &info), EDGERT_INVALID_ARGUMENT, "out of range");

  edgert_tensor out_t;
  expect_status(edgert_session_get_output(s.p, out, &out_t), EDGERT_INVALID_ARGUMENT, "no run");
  expect_status(edgert_session_run(s.p), EDGERT_INVALID_ARGUMENT, in);

  edgert_tensor t = as_tensor(data, dims);
  expect_status(edgert_session_set_input(s.p, "nope", &t), EDGERT_INVALID_ARGUMENT, "no input named 'nope'");
  expect_status(edgert_session_set_input(s.p, in, nullptr), EDGERT_INVALID_ARGUMENT, "tensor is NULL");
  edgert_tensor bad = t;
  bad.dtype = EDGERT_DTYPE_INT32;
  expect_status(edgert_session_set_input(s.p, in, &bad), EDGERT_SHAPE, "expected float32, got int32");
  bad = t;
  bad.dtype = 99;
  expect_status(edgert_session_set_input(s.p, in, &bad), EDGERT_INVALID_ARGUMENT, "element type 99");
  bad = t;
  bad.byte_size -= 4;
  expect_status(edgert_session_set_input(s.p, in, &bad), EDGERT_SHAPE, "byte_size");
  bad = t;
  bad.data = nullptr;
  expect_status(edgert_session_set_input(s.p, in, &bad), EDGERT_INVALID_ARGUMENT, "data is NULL");
  bad = t;
  bad.dims = nullptr;
  expect_status(edgert_session_set_input(s.p, in, &bad), EDGERT_INVALID_ARGUMENT, "dims is NULL");
  std::vector<std::int64_t> wrong = dims;
  wrong[1] += 1;
  std::vector<float> wrong_data(data.size() / static_cast<std::size_t>(dims[1]) * static_cast<std::size_t>(wrong[1]));
  bad = as_tensor(wrong_data, wrong);
  expect_status(edgert_session_set_input(s.p, in, &bad), EDGERT_SHAPE, "expected shape");
  std::vector<std::int64_t> negative = dims;
  negative[0] = -1;
  bad = t;
  bad.dims = negative.data();
  expect_status(edgert_session_set_input(s.p, in, &bad), EDGERT_SHAPE, "negative dimension");

  ASSERT_EQ(edgert_session_set_input(s.p, in, &t), EDGERT_OK) << edgert_last_error();
  data.assign(data.size(), 9.0f);  // the input was copied
  ASSERT_EQ(edgert_session_run(s.p), EDGERT_OK) << edgert_last_error();
  EXPECT_STREQ(edgert_last_error(), "");
  expect_status(edgert_session_get_output(s.p, "nope", &out_t), EDGERT_INVALID_ARGUMENT, "no output named 'nope'");
  ASSERT_EQ(edgert_session_get_output(s.p, out, &out_t), EDGERT_OK);
  EXPECT_EQ(out_t.dtype, EDGERT_DTYPE_FLOAT32);

  // Same result as the C++ API on the same input.
  auto cpp = edgert::load_model(zoo_bytes("tiny_cnn").data(), zoo_bytes("tiny_cnn").size());
  Session cs(cpp);
  std::vector<float> half(data.size(), 0.5f);
  cs.set_input(0, Tensor::view(DataType::float32, dims, half.data()));
  cs.run();
  const Tensor& y = cs.output(0);
  ASSERT_EQ(y.nbytes(), out_t.byte_size);
  ASSERT_EQ(y.rank(), out_t.rank);
  for (std::size_t d = 0; d < y.rank(); ++d) EXPECT_EQ(y.dim(d), out_t.dims[d]);
  EXPECT_EQ(std::memcmp(y.raw(), out_t.data, y.nbytes()), 0);
}

TEST(CApi, FreeDimsAndSessionsOutlivingTheirModel) {
  edgert_model* m = load(zoo_bytes("tiny_dynamic"));
  ASSERT_NE(m, nullptr);
  edgert_tensor info;
  ASSERT_EQ(edgert_model_input_info(m, 0, &info), EDGERT_OK);
  bool has_free = false;
  for (std::size_t d = 0; d < info.rank; ++d) has_free |= info.dims[d] < 0;
  EXPECT_TRUE(has_free);
  EXPECT_EQ(info.byte_size, 0u);
  SessionHandle s;
  ASSERT_EQ(edgert_session_create(m, &s.p), EDGERT_OK);
  Inputs small = random_inputs(m, 1, 8), large = random_inputs(m, 2, 24);
  const std::string out_name = edgert_model_output_name(m, 0);
  edgert_model_free(m);  // the session keeps the model alive
  for (Inputs* in : {&small, &large, &small}) {
    run(s.p, *in);
    edgert_tensor y;
    ASSERT_EQ(edgert_session_get_output(s.p, out_name.c_str(), &y), EDGERT_OK) << edgert_last_error();
    std::size_t n = 1;
    for (std::size_t d = 0; d < y.rank; ++d) n *= static_cast<std::size_t>(y.dims[d]);
    EXPECT_EQ(y.byte_size, n * sizeof(float));
    EXPECT_GT(n, 0u);
  }
}

// One model, many sessions on several threads at once (each session with its own pool of
// two threads), every output identical to the same input run alone.
TEST(CApiThreads, OneModelManySessionsGiveTheSameOutputsAsAlone) {
  edgert_model_options o = edgert_model_default_options();
  o.num_threads = 2;
  ModelHandle m;
  m.p = load(zoo_bytes("tiny_densenet"), &o);
  ASSERT_NE(m.p, nullptr);
  constexpr int kThreads = 4, kInputs = 3, kRounds = 2;
  std::vector<Inputs> inputs;
  std::vector<std::vector<std::string>> expected;
  {
    SessionHandle s;
    ASSERT_EQ(edgert_session_create(m.p, &s.p), EDGERT_OK);
    for (int i = 0; i < kInputs; ++i) {
      inputs.push_back(random_inputs(m.p, 100 + i));
      expected.push_back(run_all(m.p, s.p, inputs.back()));
    }
  }
  std::vector<int> mismatches(kThreads, 0), failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      edgert_session* s = nullptr;
      if (edgert_session_create(m.p, &s) != EDGERT_OK) {
        ++failures[t];
        return;
      }
      std::vector<Inputs> mine = inputs;  // each thread feeds its own copies
      for (int r = 0; r < kRounds; ++r)
        for (int k = 0; k < kInputs; ++k) {
          const int i = (k + t) % kInputs;
          if (run_all(m.p, s, mine[i]) != expected[i]) ++mismatches[t];
        }
      edgert_session_free(s);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  }
}

// The C++ API's error path: what the C API reports, as an exception.
TEST(CppApi, LoadErrorsThrowWithTheMessage) {
  try {
    edgert::load_model("/nonexistent/m.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/m.onnx"), std::string::npos);
  }
  EXPECT_THROW(edgert::load_model("garbage", 7), Error);
  // A C-string path with braced options converts to (bytes, size 0): the message says so.
  try {
    edgert::load_model("/tmp/m.onnx", {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("load_model(std::string(path))"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace edgert::test
