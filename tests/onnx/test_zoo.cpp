// The zoo models end to end: they load, run at several batch sizes, give identical outputs
// on every thread count and agree across kernel tiers; the tiny ones are also checked
// against a plain interpreter written here (double precision, no shared kernels).
#include <gtest/gtest.h>

#include <cmath>

#include "edgert/error.h"
#include "edgert/onnx/import.h"
#include "zoo.h"

namespace edgert::test {
namespace {

std::shared_ptr<const Model> load_zoo(const std::string& name, ModelOptions o = {}) {
  const std::string bytes = zoo::build(name, 1).SerializeAsString();
  return Model::compile(onnx::import_memory(bytes.data(), bytes.size()).graph, o);
}

Tensor input_for(const Model& m, std::int64_t batch, unsigned seed, std::int64_t hw = -1) {
  Shape s;
  for (const Dim& d : m.input(0).dims) s.push_back(d.value >= 0 ? d.value : (s.empty() ? batch : hw));
  Tensor t = Tensor::allocate(DataType::float32, s);
  std::uint32_t x = seed;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(x >> 8) / 16777216.0f * 2.0f - 1.0f;
  }
  return t;
}

std::vector<float> run(const std::shared_ptr<const Model>& m, const Tensor& x) {
  Session s(m);
  s.set_input(0, x);
  s.run();
  const Tensor& y = s.output(0);
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

class Zoo : public ::testing::TestWithParam<std::string> {};

TEST_P(Zoo, RunsAndAgreesAcrossThreadsAndIsas) {
  const std::string name = GetParam();
  const bool big = name.rfind("tiny", 0) != 0;
  const std::int64_t hw = name == "tiny_dynamic" ? 29 : -1;
  auto m1 = load_zoo(name);
  const Tensor x = input_for(*m1, big ? 1 : 3, 9, hw);
  const auto ref = run(m1, x);
  for (float v : ref) ASSERT_TRUE(std::isfinite(v));
  ModelOptions two;
  two.num_threads = 2;
  EXPECT_EQ(ref, run(load_zoo(name, two), x)) << "two threads";
  if (big) return;
  for (simd::Isa isa : {simd::Isa::scalar, simd::Isa::sse2, simd::Isa::avx2}) {
    ModelOptions o;
    o.max_isa = isa;
    const auto got = run(load_zoo(name, o), x);
    double max_ref = 0;
    for (float v : ref) max_ref = std::max(max_ref, static_cast<double>(std::abs(v)));
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(ref[i], got[i], 1e-4 * (1 + max_ref)) << simd::isa_name(isa);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Zoo,
                         ::testing::Values("tiny_cnn", "tiny_densenet", "tiny_dynamic", "resnet50", "mobilenetv2",
                                           "densenet121", "efficientnet_b0"));

TEST(Zoo, UnknownNameIsAnError) { EXPECT_THROW(zoo::build("resnet51"), Error); }

TEST(Zoo, TinyCnnMatchesAPlainInterpreter) {
  // Independent reference: evaluate the graph node by node in double with naive loops.
  const ::onnx::ModelProto mp = zoo::build("tiny_cnn", 1);
  const std::string bytes = mp.SerializeAsString();
  onnx::Imported im = onnx::import_memory(bytes.data(), bytes.size());
  const Graph& g = im.graph;
  auto model = Model::compile(g);
  const Tensor x = input_for(*model, 2, 5);
  struct V {
    Shape s;
    std::vector<double> d;
  };
  std::map<ValueId, V> env;
  for (const auto& [id, t] : g.constants) env[id] = {t.shape(), tensor_to_doubles(t)};
  env[g.inputs[0]] = {x.shape(), tensor_to_doubles(x)};
  for (std::size_t ni : g.validate_and_schedule()) {
    const Node& n = g.nodes[ni];
    const V& a = env.at(n.inputs[0]);
    V out;
    if (n.op_type == "Conv") {
      const V& w = env.at(n.inputs[1]);
      const std::int64_t group = n.attr_int("group", 1), pad = n.attr_ints("pads")[0], st = n.attr_ints("strides")[0];
      const std::int64_t N = a.s[0], C = a.s[1], H = a.s[2], W = a.s[3], O = w.s[0], K = w.s[2], cg = C / group;
      const std::int64_t OH = (H + 2 * pad - K) / st + 1, OW = (W + 2 * pad - K) / st + 1;
      out.s = {N, O, OH, OW};
      out.d.assign(static_cast<std::size_t>(N * O * OH * OW), 0.0);
      for (std::int64_t b = 0; b < N; ++b)
        for (std::int64_t o = 0; o < O; ++o)
          for (std::int64_t i = 0; i < OH; ++i)
            for (std::int64_t j = 0; j < OW; ++j) {
              double acc = n.has_input(2) ? env.at(n.inputs[2]).d[o] : 0.0;
              for (std::int64_t c = 0; c < cg; ++c)
                for (std::int64_t p = 0; p < K; ++p)
                  for (std::int64_t q = 0; q < K; ++q) {
                    const std::int64_t y = i * st - pad + p, xx = j * st - pad + q;
                    if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
                    acc += a.d[((b * C + (o / (O / group)) * cg + c) * H + y) * W + xx] *
                           w.d[((o * cg + c) * K + p) * K + q];
                  }
              out.d[((b * O + o) * OH + i) * OW + j] = acc;
            }
    } else if (n.op_type == "BatchNormalization") {
      out = a;
      const auto &s = env.at(n.inputs[1]).d, &bb = env.at(n.inputs[2]).d, &m = env.at(n.inputs[3]).d,
                 &v = env.at(n.inputs[4]).d;
      const std::int64_t C = a.s[1], plane = a.s[2] * a.s[3];
      for (std::size_t i = 0; i < out.d.size(); ++i) {
        const std::int64_t c = (static_cast<std::int64_t>(i) / plane) % C;
        out.d[i] = (a.d[i] - m[c]) / std::sqrt(v[c] + n.attr_float("epsilon", 1e-5f)) * s[c] + bb[c];
      }
    } else if (n.op_type == "Relu") {
      out = a;
      for (double& v : out.d) v = std::max(0.0, v);
    } else if (n.op_type == "Add") {
      out = a;
      for (std::size_t i = 0; i < out.d.size(); ++i) out.d[i] += env.at(n.inputs[1]).d[i];
    } else if (n.op_type == "MaxPool") {
      const std::int64_t N = a.s[0], C = a.s[1], H = a.s[2], W = a.s[3];
      out.s = {N, C, H / 2, W / 2};
      for (std::int64_t p = 0; p < N * C; ++p)
        for (std::int64_t i = 0; i < H / 2; ++i)
          for (std::int64_t j = 0; j < W / 2; ++j) {
            double m = -1e300;
            for (int u = 0; u < 2; ++u)
              for (int v = 0; v < 2; ++v) m = std::max(m, a.d[(p * H + 2 * i + u) * W + 2 * j + v]);
            out.d.push_back(m);
          }
    } else if (n.op_type == "GlobalAveragePool") {
      const std::int64_t plane = a.s[2] * a.s[3];
      out.s = {a.s[0], a.s[1], 1, 1};
      for (std::int64_t p = 0; p < a.s[0] * a.s[1]; ++p) {
        double acc = 0;
        for (std::int64_t i = 0; i < plane; ++i) acc += a.d[p * plane + i];
        out.d.push_back(acc / static_cast<double>(plane));
      }
    } else if (n.op_type == "Flatten") {
      out = {{a.s[0], static_cast<std::int64_t>(a.d.size()) / a.s[0]}, a.d};
    } else if (n.op_type == "Gemm") {
      const V &w = env.at(n.inputs[1]), &b = env.at(n.inputs[2]);
      out.s = {a.s[0], w.s[0]};
      for (std::int64_t i = 0; i < a.s[0]; ++i)
        for (std::int64_t j = 0; j < w.s[0]; ++j) {
          double acc = b.d[j];
          for (std::int64_t k = 0; k < a.s[1]; ++k) acc += a.d[i * a.s[1] + k] * w.d[j * w.s[1] + k];
          out.d.push_back(acc);
        }
    } else {
      FAIL() << "interpreter lacks " << n.op_type;
    }
    env[n.outputs[0]] = out;
  }
  const auto got = run(model, x);
  const V& want = env.at(g.outputs[0]);
  ASSERT_EQ(got.size(), want.d.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(want.d[i], got[i], 1e-4 * (1 + std::abs(want.d[i])));
}

}  // namespace
}  // namespace edgert::test
