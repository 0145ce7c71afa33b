// BatchNormalization folding (../shared/reference/bn-folding.md section 10): every case runs
// folded and unfolded on the same input; the outputs must agree and the structure (which
// BatchNormalization disappeared, names kept, folds shared) is asserted.
#include <algorithm>
#include <cmath>
#include <map>

#include "passes/fold_batchnorm.h"
#include "test_util.h"

namespace edgert::test {
namespace {

struct Outcome {
  std::shared_ptr<const Model> folded, unfolded;
  std::vector<Tensor> out_folded, out_unfolded;
  std::size_t bn_left = 0;
  std::vector<PassRecord> records;
};

// Compiles `g` with folding on and off, runs both on `feeds`, compares every output.
Outcome fold_and_compare(const Graph& g, const std::vector<std::pair<std::string, Tensor>>& feeds, double tol = 1e-4) {
  Outcome o;
  for (bool fold : {true, false}) {
    ModelOptions opts;
    opts.fold_batchnorm = fold;
    auto m = Model::compile(g, opts);
    Session s(m);
    for (const auto& [n, t] : feeds) s.set_input(n, t);
    s.run();
    std::vector<Tensor> outs;
    for (std::size_t i = 0; i < m->output_count(); ++i) outs.push_back(s.output(i).clone());
    (fold ? o.folded : o.unfolded) = m;
    (fold ? o.out_folded : o.out_unfolded) = outs;
  }
  for (const Node& n : o.folded->graph().nodes) o.bn_left += n.op_type == "BatchNormalization";
  o.records = o.folded->pass_records();
  for (std::size_t i = 0; i < o.out_folded.size(); ++i) {
    EXPECT_EQ(o.out_folded[i].shape(), o.out_unfolded[i].shape());
    const auto a = tensor_to_doubles(o.out_unfolded[i]), b = tensor_to_doubles(o.out_folded[i]);
    double scale = 0;
    for (double v : a) scale = std::max(scale, std::abs(v));
    for (std::size_t k = 0; k < a.size(); ++k) {
      if (std::isnan(a[k])) continue;
      EXPECT_NEAR(a[k], b[k], tol * (1 + scale)) << "output " << i << " element " << k;
    }
  }
  return o;
}

// Adds BN parameters named PREFIX.{s,b,m,v} with c channels.
void add_bn_params(Graph& g, const std::string& prefix, std::int64_t c, unsigned seed, float scale_lo = 0.5f) {
  g.add_constant(prefix + ".s", random({c}, seed, scale_lo, 1.5f));
  g.add_constant(prefix + ".b", random({c}, seed + 1));
  g.add_constant(prefix + ".m", random({c}, seed + 2));
  g.add_constant(prefix + ".v", random({c}, seed + 3, 0.5f, 2.0f));
}

void add_bn(Graph& g, const std::string& in, const std::string& out, const std::string& prefix, Attributes a = {},
            int opset = 15) {
  g.add_node("BatchNormalization", {in, prefix + ".s", prefix + ".b", prefix + ".m", prefix + ".v"}, {out},
             std::move(a), prefix, opset);
}

const PassRecord& record(const Outcome& o, const std::string& bn) {
  for (const auto& r : o.records)
    if (r.node == bn) return r;
  static PassRecord none = [] {
    PassRecord r;
    r.verdict = "<no record>";
    return r;
  }();
  return none;
}

struct ConvFoldCase {
  const char* name;
  const char* op;
  Shape x, w;
  std::int64_t group;
  bool bias;
  Attributes attrs;
};

class ConvFold : public ::testing::TestWithParam<ConvFoldCase> {};

TEST_P(ConvFold, FoldsExactly) {
  const ConvFoldCase& c = GetParam();
  const bool transpose = std::string(c.op) == "ConvTranspose";
  const std::int64_t cout = transpose ? c.w[1] * c.group : c.w[0];
  Graph g;
  g.add_input("x", DataType::float32, c.x);
  g.add_constant("w", random(c.w, 7));
  std::vector<std::string> ins = {"x", "w"};
  if (c.bias) g.add_constant("b", random({cout}, 8)), ins.push_back("b");
  Attributes a = c.attrs;
  a["group"] = Attribute::of(c.group);
  g.add_node(c.op, ins, {"y"}, a, "producer");
  add_bn_params(g, "bn", cout, 20);
  add_bn(g, "y", "out", "bn");
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random(c.x, 9)}});
  EXPECT_EQ(o.bn_left, 0u) << record(o, "bn").verdict;
  EXPECT_EQ(record(o, "bn").verdict, cat("folded into ", c.op, " 'producer'"));
  EXPECT_EQ(o.folded->output(0).name, "out");
}

INSTANTIATE_TEST_SUITE_P(
    Section10, ConvFold,
    ::testing::Values(ConvFoldCase{"conv_no_bias", "Conv", {2, 3, 8, 8}, {5, 3, 3, 3}, 1, false, {}},
                      ConvFoldCase{"conv_with_bias", "Conv", {1, 3, 8, 8}, {5, 3, 3, 3}, 1, true, {}},
                      ConvFoldCase{"depthwise_with_bias", "Conv", {1, 6, 7, 7}, {6, 1, 3, 3}, 6, true, {}},
                      ConvFoldCase{"grouped_4", "Conv", {1, 8, 6, 6}, {12, 2, 3, 3}, 4, true, {}},
                      ConvFoldCase{"conv1d", "Conv", {2, 3, 11}, {4, 3, 3}, 1, true, {}},
                      ConvFoldCase{"conv3d", "Conv", {1, 2, 4, 5, 6}, {3, 2, 2, 2, 2}, 1, false, {}},
                      ConvFoldCase{
                          "convtranspose_cin_ne_cout", "ConvTranspose", {1, 3, 5, 5}, {3, 5, 3, 3}, 1, true, {}},
                      ConvFoldCase{"convtranspose_group2",
                                   "ConvTranspose",
                                   {1, 4, 5, 5},
                                   {4, 3, 3, 3},
                                   2,
                                   true,
                                   {{"strides", Attribute::of(std::vector<std::int64_t>{2, 2})},
                                    {"output_padding", Attribute::of(std::vector<std::int64_t>{1, 1})}}},
                      ConvFoldCase{"convtranspose_depthwise",
                                   "ConvTranspose",
                                   {1, 6, 4, 4},
                                   {6, 1, 3, 3},
                                   6,
                                   false,
                                   {{"strides", Attribute::of(std::vector<std::int64_t>{2, 2})}}}),
    [](const ::testing::TestParamInfo<ConvFoldCase>& p) { return std::string(p.param.name); });

TEST(Fold, ProducerWithOtherConsumersOrAsGraphOutputIsNotFolded) {
  for (bool as_output : {false, true}) {
    Graph g;
    g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 6, 6});
    g.add_constant("w", random({4, 3, 3, 3}, 1));
    g.add_node("Conv", {"x", "w"}, {"y"}, {}, "conv");
    add_bn_params(g, "bn", 4, 2);
    add_bn(g, "y", "z", "bn");
    g.add_output("z");
    if (as_output) {
      g.add_output("y");
    } else {
      g.add_node("Relu", {"y"}, {"tap"});
      g.add_output("tap");
    }
    const Outcome o = fold_and_compare(g, {{"x", random({1, 3, 6, 6}, 3)}});
    EXPECT_EQ(o.bn_left, 1u);
    EXPECT_NE(record(o, "bn").verdict.find(as_output ? "is a graph output" : "has other consumers"), std::string::npos)
        << record(o, "bn").verdict;
  }
}

TEST(Fold, SharedWeightIsCopiedPerFoldNeverRescaledForAll) {
  // One W, two Convs, each followed by its own BN; a third Conv uses W unfolded.
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 6, 6});
  g.add_constant("w", random({4, 3, 3, 3}, 1));
  g.add_node("Conv", {"x", "w"}, {"y1"}, {}, "c1");
  g.add_node("Conv", {"x", "w"}, {"y2"}, {}, "c2");
  g.add_node("Conv", {"x", "w"}, {"plain"}, {}, "c3");
  add_bn_params(g, "bn1", 4, 10);
  add_bn_params(g, "bn2", 4, 30);
  add_bn(g, "y1", "o1", "bn1");
  add_bn(g, "y2", "o2", "bn2");
  for (const char* o : {"o1", "o2", "plain"}) g.add_output(o);
  const Outcome o = fold_and_compare(g, {{"x", random({1, 3, 6, 6}, 4)}});
  EXPECT_EQ(o.bn_left, 0u);
  const Graph& fg = o.folded->graph();
  EXPECT_TRUE(fg.constant(fg.find("w")));  // still used by c3, unchanged
  for (const Node& n : fg.nodes)
    if (n.name == "c3") {
      EXPECT_EQ(fg.values[n.inputs[1]].name, "w");
    }
}

// A weight only its fold reads, in storage no one else holds (as the ONNX loader hands
// over), is scaled in place; one another node reads, or whose storage the caller's graph
// shares, is copied. Either way the folded constants are the same bits, and a forward fold
// computes its bias from the weight before scaling.
TEST(Fold, SoleOwnedWeightsAreScaledInPlaceOthersCopied) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 6, 6});
  g.add_constant("w1", random({4, 3, 3, 3}, 1));
  g.add_constant("w2", random({5, 3, 1, 1}, 2));
  g.add_constant("w3", random({6, 3, 1, 1}, 3));
  g.add_constant("b3", random({6}, 4));
  g.add_node("Conv", {"x", "w1"}, {"y1"}, {}, "c1");  // backward fold, w1 read by c1 alone
  add_bn_params(g, "bn1", 4, 10);
  add_bn(g, "y1", "o1", "bn1");
  g.add_node("Conv", {"x", "w2"}, {"y2"}, {}, "c2");  // backward fold, w2 also read by c4
  add_bn_params(g, "bn2", 5, 20);
  add_bn(g, "y2", "o2", "bn2");
  g.add_node("Conv", {"x", "w2"}, {"o4"}, {}, "c4");
  add_bn_params(g, "bn3", 3, 30);  // x -> BN -> c3: forward fold, w3 read by c3 alone
  add_bn(g, "x", "n3", "bn3");
  g.add_node("Conv", {"n3", "w3", "b3"}, {"o3"}, {}, "c3");
  for (const char* o : {"o1", "o2", "o3", "o4"}) g.add_output(o);

  auto snapshot = [](const Graph& gr) {
    std::map<std::string, std::vector<double>> out;
    for (const auto& [v, t] : gr.constants) out[gr.values[v].name] = tensor_to_doubles(t);
    return out;
  };
  const auto before = snapshot(g);
  Graph shared = g;  // constants share storage with g: nothing may be rewritten
  const auto shared_records = fold_batchnorm(shared);
  EXPECT_EQ(snapshot(g), before);

  Graph own = g;
  for (auto& [v, t] : own.constants) t = t.clone();
  const void* w1 = own.constant(own.find("w1"))->raw();
  const void* w2 = own.constant(own.find("w2"))->raw();
  const void* w3 = own.constant(own.find("w3"))->raw();
  const auto own_records = fold_batchnorm(own);
  ASSERT_EQ(own_records.size(), 3u);
  for (const PassRecord& r : own_records) EXPECT_TRUE(r.folded) << r.node << ": " << r.verdict;
  EXPECT_EQ(snapshot(own), snapshot(shared));
  EXPECT_EQ(own.constant(own.find("w2"))->raw(), w2);  // still read by c4, unchanged
  EXPECT_EQ(tensor_to_doubles(*own.constant(own.find("w2"))), before.at("w2"));
  std::map<std::string, const void*> folded;
  for (const PassRecord& r : own_records) folded[r.node] = own.constant(own.find(r.weight))->raw();
  EXPECT_EQ(folded.at("bn1"), w1);
  EXPECT_NE(folded.at("bn2"), w2);
  EXPECT_EQ(folded.at("bn3"), w3);
  EXPECT_FALSE(own.constant(own.find("w1")));
  // And the graph runs as unfolded.
  fold_and_compare(g, {{"x", random({1, 3, 6, 6}, 5)}});
}

TEST(Fold, IdenticalFoldsAreShared) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 6, 6});
  g.add_constant("w", random({4, 3, 3, 3}, 1));
  add_bn_params(g, "bn", 4, 5);
  g.add_node("Conv", {"x", "w"}, {"y1"}, {}, "c1");
  g.add_node("Conv", {"x", "w"}, {"y2"}, {}, "c2");
  g.add_node("BatchNormalization", {"y1", "bn.s", "bn.b", "bn.m", "bn.v"}, {"o1"}, {}, "bn_a", 15);
  g.add_node("BatchNormalization", {"y2", "bn.s", "bn.b", "bn.m", "bn.v"}, {"o2"}, {}, "bn_b", 15);
  g.add_output("o1");
  g.add_output("o2");
  const Outcome o = fold_and_compare(g, {{"x", random({1, 3, 6, 6}, 4)}});
  EXPECT_EQ(o.bn_left, 0u);
  const Graph& fg = o.folded->graph();
  EXPECT_EQ(fg.nodes[0].inputs[1], fg.nodes[1].inputs[1]);
  EXPECT_EQ(fg.constants.size(), 2u);  // the folded W and bias, once; the originals are gone
}

TEST(Fold, BatchNormsSharingScaleButNotStatisticsStayDistinct) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 6, 6});
  g.add_constant("w1", random({4, 3, 1, 1}, 1));
  g.add_constant("w2", random({4, 3, 1, 1}, 2));
  g.add_constant("s", random({4}, 3, 0.5f, 1.5f));
  g.add_constant("b", random({4}, 4));
  g.add_constant("m1", random({4}, 5));
  g.add_constant("v1", random({4}, 6, 0.5f, 2.0f));
  g.add_constant("m2", random({4}, 7));
  g.add_constant("v2", random({4}, 8, 0.5f, 2.0f));
  g.add_node("Conv", {"x", "w1"}, {"y1"});
  g.add_node("Conv", {"x", "w2"}, {"y2"});
  g.add_node("BatchNormalization", {"y1", "s", "b", "m1", "v1"}, {"o1"}, {}, "bn1", 15);
  g.add_node("BatchNormalization", {"y2", "s", "b", "m2", "v2"}, {"o2"}, {}, "bn2", 15);
  g.add_output("o1");
  g.add_output("o2");
  EXPECT_EQ(fold_and_compare(g, {{"x", random({1, 3, 6, 6}, 9)}}).bn_left, 0u);
}

TEST(Fold, NonConstantOrOverridableParametersAreNotFolded) {
  for (bool overridable : {false, true}) {
    Graph g;
    g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 5, 5});
    g.add_constant("w", random({4, 3, 3, 3}, 1));
    g.add_node("Conv", {"x", "w"}, {"y"});
    add_bn_params(g, "bn", 4, 2);
    const ValueId mean = g.find("bn.m");
    if (overridable) {
      g.inputs.push_back(mean);
      g.overridable.push_back(mean);
    } else {
      g.constants.erase(mean);
      g.add_input("bn.m", DataType::float32, std::vector<std::int64_t>{4});
    }
    add_bn(g, "y", "out", "bn");
    g.add_output("out");
    std::vector<std::pair<std::string, Tensor>> feeds = {{"x", random({1, 3, 5, 5}, 3)}};
    if (!overridable) feeds.push_back({"bn.m", random({4}, 4)});
    const Outcome o = fold_and_compare(g, feeds);
    EXPECT_EQ(o.bn_left, 1u);
    EXPECT_NE(record(o, "bn").verdict.find(overridable ? "may override" : "is not a constant"), std::string::npos)
        << record(o, "bn").verdict;
  }
}

TEST(Fold, EpsilonDefaultsAndExtremeStatistics) {
  struct Stats {
    const char* name;
    std::vector<float> s, m, v;
    Attributes attrs;
  };
  const std::vector<Stats> cases = {
      {"default_eps", {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {}},
      {"eps_1e-3", {1, 2, 3}, {0.1f, 0.2f, 0.3f}, {0.5f, 1, 2}, {{"epsilon", Attribute::of(1e-3f)}}},
      {"gamma_zero_and_negative", {0, -1.5f, 2}, {0.1f, -0.2f, 0.3f}, {1, 1, 1}, {}},
      {"var_zero_with_eps", {1, 1, 1}, {0, 0, 0}, {0, 1, 0}, {}},
      {"checkpoint_sized", {1, 1, 1}, {1e5f, -1e5f, 3e4f}, {1e5f, 2e5f, 4e4f}, {}},
  };
  for (const Stats& st : cases) {
    Graph g;
    g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 2, 5, 5});
    g.add_constant("w", random({3, 2, 3, 3}, 1));
    g.add_constant("bn.s", make({3}, st.s));
    g.add_constant("bn.b", make({3}, {0.5f, -0.5f, 0}));
    g.add_constant("bn.m", make({3}, st.m));
    g.add_constant("bn.v", make({3}, st.v));
    g.add_node("Conv", {"x", "w"}, {"y"});
    add_bn(g, "y", "out", "bn", st.attrs);
    g.add_output("out");
    const Outcome o = fold_and_compare(g, {{"x", random({1, 2, 5, 5}, 2)}});
    EXPECT_EQ(o.bn_left, 0u) << st.name << ": " << record(o, "bn").verdict;
  }
}

TEST(Fold, ZeroVarianceWithZeroEpsilonIsDeclined) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 2, 4, 4});
  g.add_constant("w", random({3, 2, 1, 1}, 1));
  g.add_constant("bn.s", make({3}, {1, 1, 1}));
  g.add_constant("bn.b", make({3}, {0, 0, 0}));
  g.add_constant("bn.m", make({3}, {0, 0, 0}));
  g.add_constant("bn.v", make({3}, {1, 0, 1}));
  g.add_node("Conv", {"x", "w"}, {"y"});
  add_bn(g, "y", "out", "bn", {{"epsilon", Attribute::of(0.0f)}});
  g.add_output("out");
  auto m = Model::compile(g);
  EXPECT_NE(m->pass_records()[0].verdict.find("var + epsilon is not positive"), std::string::npos);
}

TEST(Fold, TrainingModeIsAnErrorAndEmptyOptionalOutputsFold) {
  for (int opset : {9, 15}) {
    Graph g;
    g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 2, 4, 4});
    g.add_constant("w", random({3, 2, 1, 1}, 1));
    add_bn_params(g, "bn", 3, 2);
    g.add_node("Conv", {"x", "w"}, {"y"});
    if (opset == 15)
      add_bn(g, "y", "out", "bn", {{"training_mode", Attribute::of(1)}}, 15);
    else
      g.add_node("BatchNormalization", {"y", "bn.s", "bn.b", "bn.m", "bn.v"}, {"out", "rm", "rv", "sm", "sv"}, {}, "bn",
                 9);
    g.add_output("out");
    expect_error(ErrorCode::unsupported, "training", [&] { Model::compile(g); });
  }
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 2, 4, 4});
  g.add_constant("w", random({3, 2, 1, 1}, 1));
  add_bn_params(g, "bn", 3, 2);
  g.add_node("Conv", {"x", "w"}, {"y"});
  g.add_node("BatchNormalization", {"y", "bn.s", "bn.b", "bn.m", "bn.v"}, {"out", "", "", "", ""}, {}, "bn", 9);
  g.add_output("out");
  EXPECT_EQ(fold_and_compare(g, {{"x", random({1, 2, 4, 4}, 3)}}).bn_left, 0u);
}

TEST(Fold, Opset6WithIsTestZeroAndOneOutputIsInference) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 2, 4, 4});
  g.add_constant("w", random({3, 2, 1, 1}, 1));
  add_bn_params(g, "bn", 3, 2);
  g.add_node("Conv", {"x", "w"}, {"y"}, {}, "conv", 6);
  g.add_node("BatchNormalization", {"y", "bn.s", "bn.b", "bn.m", "bn.v"}, {"out"}, {{"is_test", Attribute::of(0)}},
             "bn", 6);
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random({1, 2, 4, 4}, 3)}});
  EXPECT_EQ(o.bn_left, 0u);
  // And the kernel gives inference semantics too: compare with the formula.
  const auto p = [&](const char* n) { return tensor_to_doubles(*g.constant(g.find(n))); };
  const auto s = p("bn.s"), b = p("bn.b"), m = p("bn.m"), v = p("bn.v");
  ModelOptions off;
  off.fold_batchnorm = false;
  Graph only_bn;
  only_bn.add_input("y", DataType::float32, std::vector<std::int64_t>{1, 3, 2, 2});
  for (const char* n : {"bn.s", "bn.b", "bn.m", "bn.v"}) only_bn.add_constant(n, *g.constant(g.find(n)));
  only_bn.add_node("BatchNormalization", {"y", "bn.s", "bn.b", "bn.m", "bn.v"}, {"out"},
                   {{"is_test", Attribute::of(0)}}, "bn", 6);
  only_bn.add_output("out");
  Session sess(Model::compile(only_bn, off));
  const Tensor y = random({1, 3, 2, 2}, 4);
  sess.set_input("y", y);
  sess.run();
  std::vector<double> want;
  for (int i = 0; i < 12; ++i)
    want.push_back((y.data<float>()[i] - m[i / 4]) / std::sqrt(v[i / 4] + 1e-5) * s[i / 4] + b[i / 4]);
  expect_near(want, sess.output(0), 1e-5);
}

TEST(Fold, SpatialZeroIsLeftToTheKernel) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{2, 3});
  g.add_constant("w", random({3, 3}, 1));
  g.add_node("Gemm", {"x", "w"}, {"y"});
  add_bn_params(g, "bn", 3, 2);
  add_bn(g, "y", "out", "bn", {{"spatial", Attribute::of(0)}}, 7);
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random({2, 3}, 3)}});
  EXPECT_NE(record(o, "bn").verdict.find("spatial=0"), std::string::npos);
}

TEST(Fold, GemmEveryTransposeAlphaBetaAndCShape) {
  const std::int64_t m = 3, k = 4, n = 5;
  for (int tb : {0, 1})
    for (float alpha : {1.0f, 0.7f})
      for (float beta : {0.0f, 0.5f, 2.0f})
        for (const Shape& cs : {Shape{0}, Shape{}, Shape{n}, Shape{1, n}, Shape{m, n}, Shape{m, 1}}) {
          Graph g;
          g.add_input("a", DataType::float32, std::vector<std::int64_t>{m, k});
          g.add_constant("b", random(tb ? Shape{n, k} : Shape{k, n}, 1));
          std::vector<std::string> ins = {"a", "b"};
          if (!(cs.size() == 1 && cs[0] == 0)) g.add_constant("c", random(cs, 2)), ins.push_back("c");
          g.add_node("Gemm", ins, {"y"},
                     {{"transB", Attribute::of(tb)}, {"alpha", Attribute::of(alpha)}, {"beta", Attribute::of(beta)}},
                     "gemm");
          add_bn_params(g, "bn", n, 3, -1.0f);
          add_bn(g, "y", "out", "bn");
          g.add_output("out");
          const Outcome o = fold_and_compare(g, {{"a", random({m, k}, 4)}});
          EXPECT_EQ(o.bn_left, 0u) << "transB " << tb << " beta " << beta << " C " << shape_str(cs) << ": "
                                   << record(o, "bn").verdict;
        }
}

TEST(Fold, ConsecutiveBatchNormsBothFold) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 5, 5});
  g.add_constant("w", random({4, 3, 3, 3}, 1));
  g.add_node("Conv", {"x", "w"}, {"y"}, {}, "conv");
  add_bn_params(g, "bn1", 4, 2);
  add_bn_params(g, "bn2", 4, 6);
  add_bn(g, "y", "z", "bn1");
  add_bn(g, "z", "out", "bn2");
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random({1, 3, 5, 5}, 3)}});
  EXPECT_EQ(o.bn_left, 0u);
  EXPECT_EQ(record(o, "bn2").verdict, "folded into Conv 'conv'");
}

std::size_t count_ops(const Model& m, const std::string& op) {
  std::size_t n = 0;
  for (const Node& node : m.graph().nodes) n += node.op_type == op;
  return n;
}

TEST(Fold, AffineChainsComposeIntoOneFold) {
  // Conv -> BN -> Mul -> Add -> Sub -> Div, all per-channel: one fold, in double.
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 6, 6});
  g.add_constant("w", random({4, 3, 3, 3}, 1));
  g.add_node("Conv", {"x", "w"}, {"y"}, {}, "conv");
  add_bn_params(g, "bn", 4, 2);
  add_bn(g, "y", "z", "bn");
  g.add_constant("k_mul", random({4, 1, 1}, 3, 0.5f, 2.0f));
  g.add_constant("k_add", random({1, 4, 1, 1}, 4));
  g.add_constant("k_sub", random({4, 1, 1}, 5));
  g.add_constant("k_div", make({}, {2.5f}));
  g.add_node("Mul", {"z", "k_mul"}, {"a"});
  g.add_node("Add", {"k_add", "a"}, {"b"});
  g.add_node("Sub", {"k_sub", "b"}, {"c"});
  g.add_node("Div", {"c", "k_div"}, {"out"});
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random({1, 3, 6, 6}, 6)}});
  EXPECT_EQ(o.folded->graph().nodes.size(), 1u);
  EXPECT_EQ(record(o, "bn").verdict, "folded into Conv 'conv'");
  EXPECT_EQ(o.folded->output(0).name, "out");
}

TEST(Fold, ExporterStyleConvMulAddAndGemmAddFold) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{2, 3, 5, 5});
  g.add_constant("w", random({4, 3, 1, 1}, 1));
  g.add_constant("scale", random({1, 4, 1, 1}, 2));
  g.add_constant("shift", random({1, 4, 1, 1}, 3));
  g.add_node("Conv", {"x", "w"}, {"c"});
  g.add_node("Mul", {"c", "scale"}, {"m"});
  g.add_node("Add", {"m", "shift"}, {"y"});
  g.add_node("Flatten", {"y"}, {"f"});
  g.add_constant("fc", random({100, 7}, 4));
  g.add_constant("fc_bias", random({7}, 5));
  g.add_node("Gemm", {"f", "fc"}, {"gm"});
  g.add_node("Add", {"gm", "fc_bias"}, {"out"});
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random({2, 3, 5, 5}, 6)}});
  EXPECT_EQ(count_ops(*o.folded, "Mul"), 0u);
  EXPECT_EQ(count_ops(*o.folded, "Add"), 0u);
}

TEST(Fold, OperandsThatAreNotPerChannelStay) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 5, 5});
  g.add_constant("w", random({4, 3, 3, 3}, 1));
  g.add_constant("row", random({3}, 2));  // broadcasts along the last axis, not the channels
  g.add_node("Conv", {"x", "w"}, {"c"});
  g.add_node("Mul", {"c", "row"}, {"out"});
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random({1, 3, 5, 5}, 3)}});
  EXPECT_EQ(count_ops(*o.folded, "Mul"), 1u);
}

TEST(Fold, ParametersComputedFromConstantsAreEvaluated) {
  // BN parameters behind Identity and Cast nodes (section 10, item 14), weight behind a Reshape.
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 5, 5});
  g.add_constant("w_flat", random({4 * 3 * 9}, 1));
  g.add_constant("w_shape", make_i64({4}, {4, 3, 3, 3}));
  g.add_node("Reshape", {"w_flat", "w_shape"}, {"w"});
  g.add_node("Conv", {"x", "w"}, {"y"}, {}, "conv");
  add_bn_params(g, "p", 4, 2);
  g.add_constant("v64", Tensor::from_vector<double>(DataType::float64, {4}, {0.5, 1.0, 1.5, 2.0}));
  g.add_node("Identity", {"p.s"}, {"s_id"});
  g.add_node("Cast", {"v64"}, {"v_cast"}, {{"to", Attribute::of(1)}});
  g.add_node("BatchNormalization", {"y", "s_id", "p.b", "p.m", "v_cast"}, {"out"}, {}, "bn", 15);
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random({1, 3, 5, 5}, 3)}});
  EXPECT_EQ(record(o, "bn").verdict, "folded into Conv 'conv'");
  EXPECT_EQ(o.folded->graph().nodes.size(), 1u);
}

TEST(Fold, RankTwoMatMulAndAddBecomeOneGemm) {
  for (bool with_add : {false, true}) {
    Graph g;
    g.add_input("a", DataType::float32, std::vector<std::int64_t>{3, 4});
    g.add_constant("b", random({4, 5}, 1));
    g.add_node("MatMul", {"a", "b"}, {"m"}, {}, "mm");
    std::string x = "m";
    if (with_add) {
      g.add_constant("d", random({5}, 2));
      g.add_node("Add", {"m", "d"}, {"md"});
      x = "md";
    }
    add_bn_params(g, "bn", 5, 3);
    add_bn(g, x, "out", "bn");
    g.add_output("out");
    const Outcome o = fold_and_compare(g, {{"a", random({3, 4}, 4)}});
    ASSERT_EQ(o.folded->graph().nodes.size(), 1u) << record(o, "bn").verdict;
    EXPECT_EQ(o.folded->graph().nodes[0].op_type, "Gemm");
  }
  // A rank-3 input: BN would normalize a different axis; never folded (ORT #22512).
  Graph g;
  g.add_input("a", DataType::float32, std::vector<std::int64_t>{2, 5, 4});
  g.add_constant("b", random({4, 5}, 1));
  g.add_node("MatMul", {"a", "b"}, {"m"});
  add_bn_params(g, "bn", 5, 3);
  add_bn(g, "m", "out", "bn");
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"a", random({2, 5, 4}, 4)}});
  EXPECT_EQ(o.bn_left, 1u);
  EXPECT_NE(record(o, "bn").verdict.find("rank-2"), std::string::npos) << record(o, "bn").verdict;
}

TEST(Fold, ForwardIntoAnUnpaddedConvOnly) {
  // x -> BN -> [Relu] -> Conv: the BN's input is a graph input, so only forward is possible.
  struct Case {
    const char* name;
    std::int64_t group;
    Attributes conv;
    bool relu, folds;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"no_pads", 1, {}, false, true, ""},
      {"grouped_no_pads", 2, {}, false, true, ""},
      {"same_1x1", 1, {{"auto_pad", Attribute::of("SAME_UPPER")}}, false, true, ""},
      {"pads_1", 1, {{"pads", Attribute::of(std::vector<std::int64_t>{1, 1, 1, 1})}}, false, false, "pads its input"},
      {"same_3x3", 1, {{"auto_pad", Attribute::of("SAME_LOWER")}}, false, false, "pads its input"},
      {"relu_between", 1, {}, true, false, "feeds Relu"},
  };
  for (const Case& c : cases) {
    const bool k3 = std::string(c.name) == "same_3x3";
    Graph g;
    g.add_input("x", DataType::float32, std::vector<std::int64_t>{2, 4, 6, 6});
    add_bn_params(g, "bn", 4, 2, -1.0f);
    add_bn(g, "x", "n", "bn");
    std::string in = "n";
    if (c.relu) g.add_node("Relu", {"n"}, {"r"}), in = "r";
    g.add_constant("w", random({6, 4 / c.group, k3 ? 3 : 1, k3 ? 3 : 1}, 3));
    g.add_constant("b", random({6}, 4));
    Attributes a = c.conv;
    a["group"] = Attribute::of(c.group);
    g.add_node("Conv", {in, "w", "b"}, {"out"}, a, "conv");
    g.add_output("out");
    const Outcome o = fold_and_compare(g, {{"x", random({2, 4, 6, 6}, 5)}});
    EXPECT_EQ(o.bn_left, c.folds ? 0u : 1u) << c.name << ": " << record(o, "bn").verdict;
    if (c.folds) {
      EXPECT_EQ(record(o, "bn").verdict, "folded forward into Conv 'conv'") << c.name;
    } else {
      EXPECT_NE(record(o, "bn").verdict.find(c.reason), std::string::npos) << c.name << ": " << record(o, "bn").verdict;
    }
  }
}

TEST(Fold, MixedParameterTypesFoldInDouble) {
  // BN-15: X float32, scale/B float64, mean/var float16 (section 10, item 24).
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 5, 5});
  g.add_constant("w", random({4, 3, 3, 3}, 1));
  g.add_node("Conv", {"x", "w"}, {"y"}, {}, "conv");
  g.add_constant("s", Tensor::from_vector<double>(DataType::float64, {4}, {0.9, 1.1, -0.7, 1.3}));
  g.add_constant("b", Tensor::from_vector<double>(DataType::float64, {4}, {0.1, -0.2, 0.3, 0}));
  g.add_constant("m", tensor_from_doubles(DataType::float16, {4}, {0.05, -0.1, 0.2, 0}));
  g.add_constant("v", tensor_from_doubles(DataType::float16, {4}, {0.5, 1.5, 2.0, 1.0}));
  g.add_node("BatchNormalization", {"y", "s", "b", "m", "v"}, {"out"}, {}, "bn", 15);
  g.add_output("out");
  EXPECT_EQ(fold_and_compare(g, {{"x", random({1, 3, 5, 5}, 2)}}).bn_left, 0u);
}

TEST(Fold, Float16WeightsRoundOnceAndOverflowIsDeclined) {
  // A float16 Conv (section 10, item 23): checked on the folded weights themselves.
  for (bool tiny_var : {false, true}) {
    Graph g;
    g.add_input("x", DataType::float16, std::vector<std::int64_t>{1, 2, 4, 4});
    const std::vector<double> w = {0.5, -1.25, 2.0, 0.1, 3.0, -0.3, 0.7, 1.0};
    g.add_constant("w", tensor_from_doubles(DataType::float16, {2, 2, 1, 2}, w));
    g.add_node("Conv", {"x", "w"}, {"y"}, {}, "conv");
    const double var1 = tiny_var ? 1e-9 : 0.5;
    g.add_constant("s", tensor_from_doubles(DataType::float16, {2}, {1.5, 2000.0}));
    g.add_constant("b", tensor_from_doubles(DataType::float16, {2}, {0.25, -0.5}));
    g.add_constant("m", tensor_from_doubles(DataType::float16, {2}, {0.1, 0.2}));
    g.add_constant("v", tensor_from_doubles(DataType::float16, {2}, {2.0, var1}));
    g.add_node("BatchNormalization", {"y", "s", "b", "m", "v"}, {"out"}, {{"epsilon", Attribute::of(1e-6f)}}, "bn", 15);
    g.add_output("out");
    const auto records = fold_batchnorm(g);
    ASSERT_EQ(records.size(), 1u);
    if (tiny_var) {
      EXPECT_FALSE(records[0].folded);
      EXPECT_NE(records[0].verdict.find("overflow float16"), std::string::npos) << records[0].verdict;
      continue;
    }
    ASSERT_TRUE(records[0].folded) << records[0].verdict;
    const Tensor& nw = *g.constant(g.find(records[0].weight));
    ASSERT_EQ(nw.dtype(), DataType::float16);
    const std::vector<double> got = tensor_to_doubles(nw);
    // Reference: parameters as stored in float16, arithmetic in double, one rounding.
    const std::vector<double> s = {half_to_float(float_to_half(1.5f)), half_to_float(float_to_half(2000.0f))};
    const std::vector<double> v = {half_to_float(float_to_half(2.0f)), half_to_float(float_to_half(0.5f))};
    for (std::size_t e = 0; e < w.size(); ++e) {
      const std::size_t c = e / 4;
      const double a = s[c] / std::sqrt(v[c] + static_cast<double>(1e-6f));
      const double wh = half_to_float(float_to_half(static_cast<float>(w[e])));
      EXPECT_EQ(got[e], half_to_float(float_to_half(static_cast<float>(a * wh)))) << e;
    }
  }
}

TEST(Fold, MalformedParametersAreDeclinedWithAMessage) {
  // BN with 5 channels after a Conv with 4: declined (the model then fails at run time).
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 5, 5});
  g.add_constant("w", random({4, 3, 3, 3}, 1));
  g.add_node("Conv", {"x", "w"}, {"y"}, {}, "conv");
  add_bn_params(g, "bn", 5, 2);
  add_bn(g, "y", "out", "bn");
  g.add_output("out");
  auto m = Model::compile(g);
  EXPECT_NE(m->pass_records()[0].verdict.find("differ from the BatchNormalization's (5)"), std::string::npos)
      << m->pass_records()[0].verdict;
  Session s(m);
  s.set_input("x", random({1, 3, 5, 5}, 2));
  EXPECT_THROW(s.run(), Error);
  // Parameters of rank 2: the pass declines with a message; compiling then reports the shape error.
  Graph g2 = g;
  g2.constants[g2.find("bn.s")] = random({1, 5}, 3);
  Graph copy = g2;
  const std::vector<PassRecord> records = fold_batchnorm(copy);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_NE(records[0].verdict.find("not a rank-1"), std::string::npos) << records[0].verdict;
  expect_error(ErrorCode::shape, "different shapes", [&] { Model::compile(g2); });
}

TEST(Fold, NewNamesNeverCollide) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 3, 5, 5});
  g.add_constant("w", random({4, 3, 3, 3}, 1));
  g.add_constant("w_bnfold", random({4, 1, 1}, 2));  // a name the pass would like to use
  g.add_node("Conv", {"x", "w"}, {"y"});
  g.add_node("Add", {"y", "w_bnfold"}, {"y2"});
  g.add_node("Conv", {"x", "w"}, {"z"});
  add_bn_params(g, "bn", 4, 3);
  add_bn(g, "z", "out", "bn");
  g.add_output("y2");
  g.add_output("out");
  const Outcome o = fold_and_compare(g, {{"x", random({1, 3, 5, 5}, 4)}});
  EXPECT_EQ(o.bn_left, 0u);
}

}  // namespace
}  // namespace edgert::test
