// Fused BatchNormalization epilogues: activation and residual Add in one pass, checked
// against the formula; the cases that must not fuse keep their nodes and stay correct.
#include <cmath>

#include "test_util.h"

namespace edgert::test {
namespace {

struct Bn {
  std::vector<double> a, s;
};

// A graph input x [2,3,4,5] -> BN (input, so nothing folds) -> ...; returns the BN's map.
Bn add_bn(Graph& g) {
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{2, 3, 4, 5});
  const std::vector<float> s = {0.5f, -1.5f, 2.0f}, b = {0.1f, 0.2f, -0.3f}, m = {0.0f, 0.5f, -0.5f},
                           v = {1.0f, 0.25f, 4.0f};
  g.add_constant("s", make({3}, s));
  g.add_constant("b", make({3}, b));
  g.add_constant("m", make({3}, m));
  g.add_constant("v", make({3}, v));
  g.add_node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"n"}, {}, "bn", 15);
  Bn r;
  for (int c = 0; c < 3; ++c) {
    r.a.push_back(s[c] / std::sqrt(static_cast<double>(v[c]) + 1e-5));
    r.s.push_back(b[c] - m[c] * r.a.back());
  }
  return r;
}

double bn_at(const Bn& bn, const Tensor& x, std::int64_t i) {
  return x.data<float>()[i] * bn.a[(i / 20) % 3] + bn.s[(i / 20) % 3];
}

std::size_t nodes_of(const Model& m) { return m.graph().nodes.size(); }

std::vector<Tensor> run_graph(const Graph& g, const std::vector<std::pair<std::string, Tensor>>& feeds,
                              std::shared_ptr<const Model>* out_model = nullptr) {
  auto m = Model::compile(g);
  Session s(m);
  for (const auto& [n, t] : feeds) s.set_input(n, t);
  s.run();
  std::vector<Tensor> r;
  for (std::size_t i = 0; i < m->output_count(); ++i) r.push_back(s.output(i).clone());
  if (out_model) *out_model = m;
  return r;
}

TEST(Fuse, ActivationsAfterBatchNorm) {
  struct Case {
    const char* op;
    Attributes attrs;
    double (*f)(double);
  };
  const std::vector<Case> cases = {
      {"Relu", {}, [](double v) { return std::max(0.0, v); }},
      {"LeakyRelu", {{"alpha", Attribute::of(0.1f)}}, [](double v) { return v < 0 ? 0.1 * v : v; }},
      {"HardSigmoid", {}, [](double v) { return std::clamp(0.2 * v + 0.5, 0.0, 1.0); }},
      {"HardSwish", {}, [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
      {"Sigmoid", {}, [](double v) { return 1 / (1 + std::exp(-v)); }},
  };
  const Tensor x = random({2, 3, 4, 5}, 1, -3, 3);
  for (const Case& c : cases) {
    Graph g;
    const Bn bn = add_bn(g);
    g.add_node(c.op, {"n"}, {"y"}, c.attrs);
    g.add_output("y");
    std::shared_ptr<const Model> m;
    const auto out = run_graph(g, {{"x", x}}, &m);
    EXPECT_EQ(nodes_of(*m), 1u) << c.op;
    std::vector<double> want;
    for (std::int64_t i = 0; i < x.numel(); ++i) want.push_back(c.f(bn_at(bn, x, i)));
    expect_near(want, out[0], 1e-5);
  }
}

// x * Sigmoid(x) (SiLU, as PyTorch exports it) fuses as one activation whichever Mul operand
// comes first, and so does x * HardSigmoid(x) with HardSwish's constants (1/6, 1/2); any
// other gate, a gate or input read elsewhere, or a graph output in between keeps the nodes,
// and every case computes the formula. A residual Add after the SiLU (YOLO's bottleneck)
// fuses with it.
TEST(Fuse, GatedActivationsFuseAsSiluAndHardSwish) {
  auto silu = [](double v) { return v / (1 + std::exp(-v)); };
  struct Case {
    const char* name;
    const char* gate;
    float alpha;  // HardSigmoid's
    bool gate_first, extra_reader, gate_output, residual;
    std::size_t nodes;  // after compiling
  };
  const Case cases[] = {
      {"silu", "Sigmoid", 0, false, false, false, false, 1},
      {"silu, gate first", "Sigmoid", 0, true, false, false, false, 1},
      {"hard swish", "HardSigmoid", 1.0f / 6.0f, false, false, false, false, 1},
      {"other hard gate", "HardSigmoid", 0.2f, false, false, false, false, 3},
      {"input read by a third node", "Sigmoid", 0, false, true, false, false, 4},
      {"gate is a graph output", "Sigmoid", 0, false, false, true, false, 3},
      {"silu then residual", "Sigmoid", 0, true, false, false, true, 1},
  };
  const Tensor x = random({2, 3, 4, 5}, 8, -6, 6), r = random({2, 3, 4, 5}, 9, -3, 3);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Graph g;
    const Bn bn = add_bn(g);
    Attributes ga;
    if (std::string(c.gate) == "HardSigmoid") ga = {{"alpha", Attribute::of(c.alpha)}};
    g.add_node(c.gate, {"n"}, {"gate"}, ga);
    g.add_node("Mul", c.gate_first ? std::vector<std::string>{"gate", "n"} : std::vector<std::string>{"n", "gate"},
               {"prod"});
    std::vector<std::pair<std::string, Tensor>> feeds;
    feeds.emplace_back("x", x);
    if (c.residual) {
      g.add_input("r", DataType::float32, std::vector<std::int64_t>{2, 3, 4, 5});
      g.add_node("Add", {"prod", "r"}, {"y"});
      feeds.emplace_back("r", r);
    } else {
      g.add_node("Identity", {"prod"}, {"y"});
    }
    g.add_output("y");
    if (c.extra_reader) {
      g.add_node("Neg", {"n"}, {"neg"});
      g.add_output("neg");
    }
    if (c.gate_output) g.add_output("gate");
    std::shared_ptr<const Model> m;
    const auto out = run_graph(g, feeds, &m);
    // Identity is dropped or kept by other passes; count the nodes that compute.
    std::size_t computing = 0;
    for (const Node& n : m->graph().nodes) computing += n.op_type != "Identity";
    EXPECT_EQ(computing, c.nodes);
    std::vector<double> want;
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double v = bn_at(bn, x, i);
      double y = std::string(c.gate) == "Sigmoid" ? silu(v) : v * std::clamp(c.alpha * v + 0.5, 0.0, 1.0);
      if (c.residual) y += r.data<float>()[i];
      want.push_back(y);
    }
    expect_near(want, out[0], 1e-5);
  }
}

TEST(Fuse, ClipWithConstantBoundsFusesAndWithComputedBoundsDoesNot) {
  const Tensor x = random({2, 3, 4, 5}, 2, -3, 3);
  for (bool constant_bounds : {true, false}) {
    Graph g;
    const Bn bn = add_bn(g);
    if (constant_bounds) {
      g.add_constant("lo", make({}, {0.0f}));
    } else {
      g.add_input("lo", DataType::float32, std::vector<std::int64_t>{});
    }
    g.add_constant("hi", make({}, {1.0f}));
    g.add_node("Clip", {"n", "lo", "hi"}, {"y"});
    g.add_output("y");
    std::vector<std::pair<std::string, Tensor>> feeds;
    feeds.emplace_back("x", x);
    if (!constant_bounds) feeds.emplace_back("lo", make({}, {0.0f}));
    std::shared_ptr<const Model> m;
    const auto out = run_graph(g, feeds, &m);
    EXPECT_EQ(nodes_of(*m), constant_bounds ? 1u : 2u);
    std::vector<double> want;
    for (std::int64_t i = 0; i < x.numel(); ++i) want.push_back(std::clamp(bn_at(bn, x, i), 0.0, 1.0));
    expect_near(want, out[0], 1e-5);
  }
}

TEST(Fuse, ResidualAddBeforeOrAfterTheActivation) {
  const Tensor x = random({2, 3, 4, 5}, 3, -3, 3), r = random({2, 3, 4, 5}, 4, -3, 3);
  for (bool add_first : {true, false}) {
    Graph g;
    const Bn bn = add_bn(g);
    g.add_input("r", DataType::float32, std::vector<std::int64_t>{2, 3, 4, 5});
    if (add_first) {
      g.add_node("Add", {"r", "n"}, {"sum"});
      g.add_node("Relu", {"sum"}, {"y"});
    } else {
      g.add_node("Relu", {"n"}, {"act"});
      g.add_node("Add", {"act", "r"}, {"y"});
    }
    g.add_output("y");
    std::shared_ptr<const Model> m;
    const auto out = run_graph(g, {{"x", x}, {"r", r}}, &m);
    EXPECT_EQ(nodes_of(*m), 1u);
    std::vector<double> want;
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double v = bn_at(bn, x, i), rv = r.data<float>()[i];
      want.push_back(add_first ? std::max(0.0, v + rv) : std::max(0.0, v) + rv);
    }
    expect_near(want, out[0], 1e-5);
  }
}

TEST(Fuse, ResidualThatDependsOnTheBatchNormIsNotFused) {
  Graph g;
  const Bn bn = add_bn(g);
  g.add_node("Neg", {"n"}, {"neg"});
  g.add_node("Add", {"n", "neg"}, {"y"});  // n's two readers: nothing fuses
  g.add_node("Relu", {"y"}, {"z"});
  g.add_output("z");
  Graph g2;
  const Bn bn2 = add_bn(g2);
  g2.add_node("Relu", {"n"}, {"act"});
  g2.add_node("Sigmoid", {"act"}, {"sig"});
  g2.add_node("Add", {"act", "sig"}, {"y"});  // act has two readers: the Relu fuses, the Add cannot
  g2.add_output("y");
  const Tensor x = random({2, 3, 4, 5}, 5, -3, 3);
  std::shared_ptr<const Model> m;
  expect_near(std::vector<double>(static_cast<std::size_t>(x.numel()), 0.0), run_graph(g, {{"x", x}}, &m)[0], 1e-6);
  EXPECT_EQ(nodes_of(*m), 4u);
  const auto out = run_graph(g2, {{"x", x}}, &m);
  std::vector<double> want;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double a = std::max(0.0, bn_at(bn2, x, i));
    want.push_back(a + 1 / (1 + std::exp(-a)));
  }
  expect_near(want, out[0], 1e-5);
  (void)bn;
}

TEST(Fuse, BroadcastingResidualTakesTheGeneralPath) {
  const Tensor x = random({2, 3, 4, 5}, 6, -3, 3), r = random({1, 3, 1, 5}, 7);
  Graph g;
  const Bn bn = add_bn(g);
  g.add_input("r", DataType::float32, std::vector<std::int64_t>{1, 3, 1, 5});
  g.add_node("Add", {"n", "r"}, {"y"});
  g.add_output("y");
  std::shared_ptr<const Model> m;
  const auto out = run_graph(g, {{"x", x}, {"r", r}}, &m);
  EXPECT_EQ(nodes_of(*m), 1u);
  std::vector<double> want;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const std::int64_t c = (i / 20) % 3, w = i % 5;
    want.push_back(bn_at(bn, x, i) + r.data<float>()[c * 5 + w]);
  }
  expect_near(want, out[0], 1e-5);
}

}  // namespace
}  // namespace edgert::test
