// The channel-blocked activation layout between convolutions: which
// tensors the pass blocks, and that a graph runs to the same result with the layout on and
// off (the planes path is the reference), for every thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "../../runtime/src/ops/winograd.h"
#include "../../runtime/src/passes/blocked_layout.h"
#include "edgert/simd/isa.h"
#include "edgert/simd/kernels.h"
#include "test_util.h"

namespace edgert::test {
namespace {

Attributes conv_attrs(std::int64_t k, std::int64_t s, std::int64_t dil, std::int64_t group) {
  const std::int64_t pad = (k - 1) * dil / 2;
  return {{"strides", Attribute::of(std::vector<std::int64_t>{s, s})},
          {"dilations", Attribute::of(std::vector<std::int64_t>{dil, dil})},
          {"pads", Attribute::of(std::vector<std::int64_t>{pad, pad, pad, pad})},
          {"group", Attribute::of(group)}};
}

// MobileNetV2-like: A = relu(conv(x)) (1x1, or an ak x ak stride-2 stem that writes blocks
// through im2col), B = clip(pw(A)), D = hardswish(dw(B)), P = pw(D) (+ A at
// stride 1), Q = leakyrelu(dw3x3(P)), the output. With `spill`, A is also read by a MaxPool
// (a second output), which cannot read blocks. With `swish` (EfficientNet's activations),
// B = silu(pw(A)) and D = silu(dw(B)) as x * Sigmoid(x), Q = sigmoid(dw3x3(P)).
struct Chain {
  std::int64_t n, c0, c, e, h, w, k, s, dil;
  bool spill;
  std::int64_t ak = 1;
  bool swish = false;
};

Net build(const Chain& p, unsigned seed) {
  Net net;
  net.input("x", random({p.n, p.c0, p.h, p.w}, seed));
  auto conv = [&](const std::string& name, const std::string& in, std::int64_t cin, std::int64_t cout, std::int64_t k,
                  std::int64_t s, std::int64_t dil, bool depthwise, const std::string& out) {
    net.constant(name + "_w", random({cout, depthwise ? 1 : cin, k, k}, ++seed, -0.5f, 0.5f));
    net.constant(name + "_b", random({cout}, ++seed));
    net.node("Conv", {in, name + "_w", name + "_b"}, {out}, conv_attrs(k, s, dil, depthwise ? cout : 1));
  };
  conv("A", "x", p.c0, p.c, p.ak, p.ak == 1 ? 1 : 2, 1, false, "a0");
  net.node("Relu", {"a0"}, {"A"});
  conv("B", "A", p.c, p.e, 1, 1, 1, false, "b0");
  auto silu = [&](const std::string& in, const std::string& out) {
    net.node("Sigmoid", {in}, {out + "_gate"});
    net.node("Mul", {in, out + "_gate"}, {out});
  };
  if (p.swish) {
    silu("b0", "B");
  } else {
    net.constant("lo", make({}, {0.0f})).constant("hi", make({}, {6.0f}));
    net.node("Clip", {"b0", "lo", "hi"}, {"B"});
  }
  conv("D", "B", p.e, p.e, p.k, p.s, p.dil, true, "d0");
  if (p.swish)
    silu("d0", "D");
  else
    net.node("HardSwish", {"d0"}, {"D"}, {});
  if (p.s == 1) {
    conv("P", "D", p.e, p.c, 1, 1, 1, false, "p0");
    net.node("Add", {"A", "p0"}, {"P"});
  } else {
    conv("P", "D", p.e, p.c, 1, 1, 1, false, "P");
  }
  conv("Q", "P", p.c, p.c, 3, 1, 1, true, "q0");
  if (p.swish)
    net.node("Sigmoid", {"q0"}, {"Q"});
  else
    net.node("LeakyRelu", {"q0"}, {"Q"}, {{"alpha", Attribute::of(0.1f)}});
  if (p.spill) net.node("MaxPool", {"A"}, {"M"}, {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{2, 2})}});
  return net;
}

// What the pass should decide, per Conv (named by its weight): kLayoutInput / kLayoutOutput.
std::map<std::string, std::int64_t> expected_layout(const Chain& p) {
  const bool a_blocked = !p.spill;
  // P writes blocks when its residual A does, or when it has none.
  const bool p_blocked = p.s != 1 || a_blocked;
  return {{"A_w", a_blocked ? kLayoutOutput : 0},
          {"B_w", (a_blocked ? kLayoutInput : 0) | kLayoutOutput},
          {"D_w", kLayoutInput | (p_blocked ? kLayoutOutput : 0)},
          {"P_w", p_blocked ? kLayoutInput | kLayoutOutput : 0},
          {"Q_w", p_blocked ? kLayoutInput : 0}};
}

// The compiled tiers below this CPU's best (scalar, sse2, avx2 on an AVX-512 machine).
std::vector<simd::Isa> narrower_tiers() {
  std::vector<simd::Isa> out;
  for (simd::Isa isa : {simd::Isa::scalar, simd::Isa::sse2, simd::Isa::avx2})
    if (isa < simd::kernels().isa && simd::kernels_for(isa)) out.push_back(isa);
  return out;
}

// Output `out` with the blocked layout against the planes path (within 1e-4), and bit for bit
// the same on 1, 2 and 3 threads; `planes` gets the planes path's result.
void expect_blocked_matches_planes(Net& net, const std::string& out, Tensor& planes) {
  ModelOptions off, two, three;
  off.blocked_layout = false;
  two.num_threads = 2;
  three.num_threads = 3;
  planes = net.run1(out, off);
  const Tensor one = net.run1(out);
  expect_near(tensor_to_doubles(planes), one, 1e-4);
  ASSERT_EQ(values(one), values(net.run1(out, two)));
  ASSERT_EQ(values(one), values(net.run1(out, three)));
}

std::vector<Tensor> run(Net& net, const Chain& p, bool blocked, int threads) {
  ModelOptions o;
  o.blocked_layout = blocked;
  o.num_threads = threads;
  std::vector<std::string> outs = {"Q"};
  if (p.spill) outs.push_back("M");
  return net.run(outs, o);
}

TEST(BlockedLayout, PassBlocksTheChainsConvolutionsCanShare) {
  for (std::int64_t ak : {1, 3})
    for (bool spill : {false, true})
      for (std::int64_t s : {1, 2}) {
        const Chain p{1, 5, 24, 40, 9, 9, 3, s, 1, spill, ak};
        Net net = build(p, 1);
        Graph g = net.graph();
        g.add_output("Q");
        if (spill) g.add_output("M");
        ModelOptions o;
        auto model = Model::compile(g, o);
        const auto want = expected_layout(p);
        std::size_t seen = 0;
        for (const Node& n : model->graph().nodes) {
          if (n.op_type != "Conv") continue;
          const std::string& w = model->graph().values[n.inputs[1]].name;
          ASSERT_TRUE(want.count(w)) << w;
          EXPECT_EQ(n.attr_int(kLayoutAttr, 0), want.at(w))
              << w << " spill " << spill << " stride " << s << " ak " << ak;
          // A depthwise convolution in a blocked chain keeps only its weights packed for the
          // blocked kernel; on planes it reads the weight as given.
          if (w == "D_w" || w == "Q_w") {
            EXPECT_EQ(model->graph().constants.at(n.inputs[1]).has_data(), want.at(w) == 0)
                << w << " spill " << spill << " stride " << s << " ak " << ak;
          }
          ++seen;
        }
        EXPECT_EQ(seen, 5u);
        o.blocked_layout = false;
        const auto planes = Model::compile(g, o);  // held: the loop reads its graph
        for (const Node& n : planes->graph().nodes) EXPECT_FALSE(n.has_attr(kLayoutAttr));
      }
}

TEST(BlockedLayout, ChainsMatchPlanesForEveryShapeAndThreadCount) {
  const Chain chains[] = {
      {1, 3, 16, 32, 7, 7, 3, 1, 1, false},            // whole blocks
      {2, 5, 24, 40, 9, 11, 3, 1, 1, false},           // partial blocks, batch 2, residual
      {1, 7, 7, 33, 13, 10, 3, 2, 1, false},           // fewer channels than a block, stride 2
      {2, 4, 33, 17, 6, 5, 5, 1, 2, true},             // 5x5 dilated, A also read by a MaxPool
      {1, 16, 20, 48, 15, 15, 3, 2, 1, true},          // stride 2 with the spill
      {1, 3, 12, 24, 1, 1, 3, 1, 1, false},            // a 1x1 map: fewer pixels than a tile
      {1, 2, 18, 96, 17, 23, 3, 1, 1, false},          // several pixel chunks and column panels
      {1, 3, 32, 48, 31, 29, 3, 1, 1, false, 3},       // a 3x3 stride-2 stem writing blocks
      {2, 5, 20, 24, 12, 9, 3, 2, 1, true, 5},         // a 5x5 stem, batch 2, spilled
      {1, 3, 40, 160, 7, 7, 3, 1, 1, false},           // 49 pixels (tiles of 7 on AVX-512, of 5 on AVX2), 5 panels
      {1, 3, 24, 40, 10, 9, 3, 1, 1, false, 1, true},  // SiLU and Sigmoid, residual
      {2, 3, 16, 48, 13, 11, 5, 2, 1, true, 3, true},  // the same after a stem, 5x5 s2, spilled
  };
  unsigned seed = 100;
  for (const Chain& p : chains) {
    Net net = build(p, seed += 10);
    if (p.swish) {  // every Sigmoid and Mul runs in a convolution's epilogue
      Graph g = net.graph();
      g.add_output("Q");
      const auto model = Model::compile(g, {});  // held: the loop reads its graph
      for (const Node& n : model->graph().nodes)
        EXPECT_TRUE(n.op_type == "Conv" || n.op_type == "Add" || n.op_type == "MaxPool") << n.op_type;
    }
    const std::vector<Tensor> planes = run(net, p, false, 1);
    const std::vector<Tensor> one = run(net, p, true, 1), two = run(net, p, true, 2), three = run(net, p, true, 3);
    for (std::size_t o = 0; o < planes.size(); ++o) {
      expect_near(tensor_to_doubles(planes[o]), one[o], 1e-4);
      // Each output element is computed by one kernel call whatever the thread count.
      ASSERT_EQ(values(one[o]), values(two[o])) << "output " << o << " c " << p.c << " e " << p.e;
      ASSERT_EQ(values(one[o]), values(three[o])) << "output " << o << " c " << p.c << " e " << p.e;
    }
    // The narrower tiers' panels (gemm_nr 8 and 16 against AVX-512's 32) hold the same weights.
    for (const simd::Isa isa : narrower_tiers()) {
      ModelOptions o;
      o.max_isa = isa;
      std::vector<std::string> outs = {"Q"};
      if (p.spill) outs.push_back("M");
      SCOPED_TRACE(simd::isa_name(isa));
      const std::vector<Tensor> tier = net.run(outs, o);
      for (std::size_t i = 0; i < planes.size(); ++i) expect_near(tensor_to_doubles(planes[i]), tier[i], 1e-4);
    }
  }
}

// ResNet-like: R0 = relu(pw(x)); a bottleneck a = relu(pw(R0)), b = relu(3x3(a)),
// R1 = relu(pw(b) + R0); a downsampling block d = relu(3x3 s2(R1)), R2 = relu(pw(d) + 1x1 s2(R1));
// Q = dw3x3(R2), the output. The 3x3 at stride 1 runs Winograd (converting its input and
// output) with m >= 64, or m >= 16 not filling whole blocks; otherwise it runs shifted on the
// blocks (ConvOp's Shifted), while the stride-2 convolutions gather im2col from blocks.
Net resnet_like(std::int64_t n, std::int64_t c0, std::int64_t c, std::int64_t m, std::int64_t c2, std::int64_t h,
                std::int64_t w, unsigned seed) {
  Net net;
  net.input("x", random({n, c0, h, w}, seed));
  auto conv = [&](const std::string& name, const std::string& in, std::int64_t cin, std::int64_t cout, std::int64_t k,
                  std::int64_t s, std::int64_t group, const std::string& out) {
    net.constant(name + "_w", random({cout, cin / group, k, k}, ++seed, -0.3f, 0.3f));
    net.constant(name + "_b", random({cout}, ++seed));
    net.node("Conv", {in, name + "_w", name + "_b"}, {out}, conv_attrs(k, s, 1, group));
  };
  conv("R0", "x", c0, c, 1, 1, 1, "r0");
  net.node("Relu", {"r0"}, {"R0"});
  conv("A", "R0", c, m, 1, 1, 1, "a0");
  net.node("Relu", {"a0"}, {"A"});
  conv("B", "A", m, m, 3, 1, 1, "b0");
  net.node("Relu", {"b0"}, {"B"});
  conv("E", "B", m, c, 1, 1, 1, "e0");
  net.node("Add", {"e0", "R0"}, {"e1"});
  net.node("Relu", {"e1"}, {"R1"});
  conv("D", "R1", c, m, 3, 2, 1, "d0");
  net.node("Relu", {"d0"}, {"D"});
  conv("S", "R1", c, c2, 1, 2, 1, "S");
  conv("F", "D", m, c2, 1, 1, 1, "f0");
  net.node("Add", {"f0", "S"}, {"f1"});
  net.node("Relu", {"f1"}, {"R2"});
  conv("Q", "R2", c2, c2, 3, 1, c2, "Q");
  return net;
}

TEST(BlockedLayout, ResNetChainsStayBlockedThroughWinogradAndStridedConvolutions) {
  struct Case {
    std::int64_t n, c0, c, m, c2, h, w;
    bool whole;  // c and m (unless Winograd) fill whole blocks
  };
  const Case cases[] = {
      {1, 3, 32, 64, 48, 14, 14, true},  // Winograd bottleneck
      {1, 3, 32, 24, 48, 14, 14, true},  // Winograd converting partial blocks
      {1, 3, 32, 32, 48, 14, 13, true},  // a shifted 3x3 (too narrow for Winograd)
      {2, 5, 32, 272, 36, 5, 7, true},   // a shifted 3x3 too wide for Winograd, batch 2
      {1, 16, 64, 64, 64, 7, 7, true},   // Winograd at the smallest width, odd map
      {1, 3, 48, 80, 96, 30, 26, true},  // several pixel chunks, k in several parts
      {1, 4, 160, 130, 20, 6, 5, true},  // 9 x 160 rows of k from blocks, in parts
      {2, 5, 20, 8, 36, 9, 11, false},   // partial blocks: the 3x3s read planes
      {1, 8, 64, 48, 96, 3, 3, true},    // more channels than pixels: one chunk, panels split
      // 7x7 after the stride 2 (tiles of 7 on AVX-512, of 5 on AVX2): D, S and F split 5 panels' tiles
      {1, 3, 32, 160, 160, 14, 14, true},
  };
  unsigned seed = 500;
  for (const Case& p : cases) {
    Net net = resnet_like(p.n, p.c0, p.c, p.m, p.c2, p.h, p.w, seed += 20);
    Graph g = net.graph();
    g.add_output("Q");
    const auto model = Model::compile(g, {});  // held: the loop reads its graph
    constexpr std::int64_t io = kLayoutInput | kLayoutOutput;
    // Without whole blocks B cannot read A, so the first block stays planes (E's residual R0
    // with it) and D and S read planes R1, writing blocks for F.
    std::map<std::string, std::int64_t> want = {
        {"R0_w", kLayoutOutput}, {"A_w", io}, {"B_w", io}, {"E_w", io}, {"D_w", io}, {"S_w", io}, {"F_w", io},
        {"Q_w", kLayoutInput}};
    if (!p.whole) want["R0_w"] = want["A_w"] = want["B_w"] = want["E_w"] = 0, want["D_w"] = want["S_w"] = kLayoutOutput;
    for (const Node& n : model->graph().nodes) {
      if (n.op_type != "Conv") continue;
      const std::string& w = model->graph().values[n.inputs[1]].name;
      EXPECT_EQ(n.attr_int(kLayoutAttr, 0), want.at(w)) << w << " m " << p.m;
    }
    SCOPED_TRACE("m " + std::to_string(p.m));
    Tensor planes;
    ASSERT_NO_FATAL_FAILURE(expect_blocked_matches_planes(net, "Q", planes));
    for (const simd::Isa isa : narrower_tiers()) {
      ModelOptions o;
      o.max_isa = isa;
      SCOPED_TRACE(simd::isa_name(isa));
      expect_near(tensor_to_doubles(planes), net.run1("Q", o), 1e-4);
    }
  }
}

// A backbone ending in global pooling: the pool reads the last block's output in place, so
// the chain (a residual block included) stays blocked, and the result equals planes (a
// maximum bit for bit, an average within rounding: the planes sum vectors side by side), NaN
// included, and is the same bit for bit for 1 and 2 threads.
TEST(BlockedLayout, GlobalPoolingReadsBlocksAsPlanesDo) {
  for (const char* pool : {"GlobalAveragePool", "GlobalMaxPool"})
    for (std::int64_t c : {7, 16, 40})
      for (bool nan : {false, true}) {
        Net net;
        Tensor x = random({2, 5, 6, 7}, static_cast<unsigned>(c));
        if (nan) x.data<float>()[3 * 42 + 11] = std::numeric_limits<float>::quiet_NaN();
        net.input("x", x);
        net.constant("a_w", random({c, 5, 1, 1}, 2)).constant("b_w", random({c, c, 1, 1}, 3));
        net.node("Conv", {"x", "a_w"}, {"a0"});
        net.node("Relu", {"a0"}, {"A"});
        net.node("Conv", {"A", "b_w"}, {"b0"});
        net.node("Add", {"b0", "A"}, {"b1"});
        net.node("Relu", {"b1"}, {"B"});
        net.node(pool, {"B"}, {"G"});
        Graph g = net.graph();
        g.add_output("G");
        const auto model = Model::compile(g, {});  // held: the loop reads its graph
        std::size_t convs = 0;
        for (const Node& n : model->graph().nodes) {
          if (n.op_type == "Conv") {
            EXPECT_EQ(n.attr_int(kLayoutAttr, 0), convs++ == 0 ? kLayoutOutput : kLayoutInput | kLayoutOutput);
          } else if (n.op_type == pool) {
            EXPECT_EQ(n.attr_int(kLayoutAttr, 0), kLayoutInput) << pool;
          }
        }
        EXPECT_EQ(convs, 2u);
        ModelOptions off, two;
        off.blocked_layout = false;
        two.num_threads = 2;
        const Tensor planes = net.run1("G", off), one = net.run1("G"), both = net.run1("G", two);
        ASSERT_EQ(planes.shape(), one.shape());
        ASSERT_EQ(planes.nbytes(), one.nbytes());
        for (std::int64_t i = 0; i < one.numel(); ++i) {
          const float want = planes.data<float>()[i], got = one.data<float>()[i];
          if (std::isnan(want) || std::string(pool) == "GlobalMaxPool")
            EXPECT_TRUE(want == got || (std::isnan(want) && std::isnan(got))) << pool << " c " << c << " at " << i;
          else
            EXPECT_NEAR(want, got, 1e-6f * (1 + std::abs(want))) << pool << " c " << c << " at " << i;
        }
        EXPECT_EQ(std::memcmp(both.data<float>(), one.data<float>(), one.nbytes()), 0) << pool << " c " << c;
        // A NaN pixel of image 0 reaches every channel of image 0 and none of image 1.
        for (std::int64_t i = 0; i < 2 * c; ++i)
          EXPECT_EQ(std::isnan(one.data<float>()[i]), nan && i < c) << pool << " c " << c << " at " << i;
      }
}

// Small maps under large weights (more output channels than pixels, weights past the L2)
// sum part by part over every panel instead of panel by panel: a 1x1 of 608 -> 250
// channels with a residual and a partial last block, and an im2col 3x3 at stride 2 of
// 5472 rows, batch 2, against planes (the GEMM path), the same bit for bit on 1-3 threads.
TEST(BlockedLayout, LargeWeightsOnSmallMapsSumPartByPartAsPlanesDo) {
  for (std::int64_t hw : {7, 5}) {
    Net net;
    net.input("x", random({2, 40, hw, hw}, 1));
    net.constant("a_w", random({608, 40, 1, 1}, 2)).constant("a_b", random({608}, 3));
    net.constant("b_w", random({250, 608, 1, 1}, 4, -0.1f, 0.1f)).constant("b_b", random({250}, 5));
    net.constant("r_w", random({250, 40, 1, 1}, 6)).constant("q_w", random({250, 1, 3, 3}, 7));
    net.constant("s_w", random({64, 608, 3, 3}, 8, -0.05f, 0.05f)).constant("t_w", random({64, 1, 3, 3}, 9));
    net.node("Conv", {"x", "a_w", "a_b"}, {"a0"});
    net.node("Relu", {"a0"}, {"A"});
    net.node("Conv", {"x", "r_w"}, {"R"});
    net.node("Conv", {"A", "b_w", "b_b"}, {"b0"});
    net.node("Add", {"b0", "R"}, {"b1"});
    net.node("Relu", {"b1"}, {"B"});
    // Depthwise readers at the ends keep B and S blocked (a graph output is planes).
    const auto pad1 = Attribute::of(std::vector<std::int64_t>{1, 1, 1, 1});
    net.node("Conv", {"B", "q_w"}, {"Q"}, {{"pads", pad1}, {"group", Attribute::of(std::int64_t{250})}});
    net.node("Conv", {"A", "s_w"}, {"S"},
             {{"pads", pad1}, {"strides", Attribute::of(std::vector<std::int64_t>{2, 2})}});
    net.node("Conv", {"S", "t_w"}, {"T"}, {{"pads", pad1}, {"group", Attribute::of(std::int64_t{64})}});
    SCOPED_TRACE(hw);
    Tensor planes;
    ASSERT_NO_FATAL_FAILURE(expect_blocked_matches_planes(net, "Q", planes));
    ASSERT_NO_FATAL_FAILURE(expect_blocked_matches_planes(net, "T", planes));
  }
}

// Squeeze-and-excitation (EfficientNet's MBConv): D = dw3x3(relu(pw(x))) at stride 1 or 2,
// S = sigmoid(pw(GlobalAveragePool(D))) with D's channels or one, M = D * S (either operand
// first), Y = pw(M), Q = dw3x3(Y) the output. The Mul scales D's blocks in place of planes (D, the pool's
// input and M stay blocked, the gate is planes), matching the planes path, bit for bit
// across thread counts, for partial blocks and batch 2; a gate that is not 1x1 (a map times
// a map) keeps the Mul on planes.
TEST(BlockedLayout, SqueezeExcitationScalesBlocksInPlaceOfPlanes) {
  struct Case {
    std::int64_t n, c0, c, h, w, s, gate_c;
    bool gate_first, gate_is_map;
  };
  const Case cases[] = {
      {1, 8, 32, 14, 14, 1, 32, false, false}, {2, 5, 24, 11, 9, 2, 24, true, false},
      {1, 3, 40, 9, 10, 1, 1, false, false},   {2, 4, 16, 7, 8, 2, 1, true, false},
      {1, 6, 32, 8, 8, 1, 32, false, true},
  };
  unsigned seed = 1300;
  for (const Case& p : cases) {
    SCOPED_TRACE("c " + std::to_string(p.c) + " gate " + std::to_string(p.gate_c) + (p.gate_is_map ? " map" : ""));
    Net net;
    net.input("x", random({p.n, p.c0, p.h, p.w}, ++seed));
    net.constant("a_w", random({p.c, p.c0, 1, 1}, ++seed, -0.5f, 0.5f));
    net.constant("d_w", random({p.c, 1, 3, 3}, ++seed, -0.5f, 0.5f));
    net.constant("g_w", random({p.gate_c, p.c, 1, 1}, ++seed, -0.5f, 0.5f));
    net.constant("g_b", random({p.gate_c}, ++seed));
    net.constant("y_w", random({12, p.c, 1, 1}, ++seed, -0.5f, 0.5f));
    net.constant("q_w", random({12, 1, 3, 3}, ++seed, -0.5f, 0.5f));
    net.node("Conv", {"x", "a_w"}, {"a0"});
    net.node("Relu", {"a0"}, {"A"});
    net.node("Conv", {"A", "d_w"}, {"D"}, conv_attrs(3, p.s, 1, p.c));
    if (p.gate_is_map) {
      net.node("Conv", {"D", "g_w", "g_b"}, {"s0"});  // a gate as large as D
    } else {
      net.node("GlobalAveragePool", {"D"}, {"G"});
      net.node("Conv", {"G", "g_w", "g_b"}, {"s0"});
    }
    net.node("Sigmoid", {"s0"}, {"S"});
    net.node("Mul", p.gate_first ? std::vector<std::string>{"S", "D"} : std::vector<std::string>{"D", "S"}, {"M"});
    net.node("Conv", {"M", "y_w"}, {"Y"});
    net.node("Conv", {"Y", "q_w"}, {"Q"}, conv_attrs(3, 1, 1, 12));
    Graph g = net.graph();
    g.add_output("Q");
    const auto model = Model::compile(g, {});
    bool saw_mul = false;
    for (const Node& n : model->graph().nodes) {
      if (n.op_type == "Mul") {
        saw_mul = true;
        EXPECT_EQ(n.attr_int(kLayoutAttr, 0), p.gate_is_map ? 0 : kLayoutInput | kLayoutOutput);
        if (!p.gate_is_map) {
          EXPECT_EQ(n.attr_int(kScaleInputAttr, -1), p.gate_first ? 1 : 0);
        }
      }
      if (n.op_type == "GlobalAveragePool") {
        EXPECT_EQ(n.attr_int(kLayoutAttr, 0), kLayoutInput);
      }
      if (n.op_type == "Conv" && model->graph().values[n.inputs[1]].name == "d_w") {
        EXPECT_EQ(n.attr_int(kLayoutAttr, 0), kLayoutInput | (p.gate_is_map ? 0 : kLayoutOutput));
      }
    }
    EXPECT_TRUE(saw_mul);
    Tensor planes;
    ASSERT_NO_FATAL_FAILURE(expect_blocked_matches_planes(net, "Q", planes));
  }
}

// DenseNet-like: P = relu(pw(x)) writes blocks; Y = conv(P), one group at stride 1, reads them
// in place, shifted (no im2col), whatever its kernel, padding and dilation; Y is the output
// (written as planes) or, with `after`, read by a pointwise Conv followed by a depthwise one
// (Y then blocked). At a stride Y (then written as blocks) gathers im2col from the blocks.
// Compared with the planes path, and 1 thread with 2 bit for bit.
TEST(BlockedLayout, ShiftedConvolutionsReadBlocksAndWriteEitherLayout) {
  struct Case {
    std::int64_t n, c, m, h, w, kh, kw, dil;
    std::vector<std::int64_t> pads;  // top, left, bottom, right
    bool after;
    std::int64_t cout_after = 24;
    std::vector<std::int64_t> strides = {1, 1};
  };
  const Case cases[] = {
      {1, 32, 32, 14, 14, 3, 3, 1, {1, 1, 1, 1}, false},     // DenseNet's 3x3 growth layer, to planes
      {1, 32, 32, 7, 7, 3, 3, 1, {1, 1, 1, 1}, true},        // the same writing blocks
      {2, 16, 20, 9, 11, 5, 5, 1, {2, 1, 0, 3}, false},      // 5x5, uneven pads, partial output block
      {1, 48, 40, 12, 30, 3, 3, 2, {2, 2, 2, 2}, true, 40},  // dilations 2 and 3, partial blocks written
      {1, 16, 24, 6, 17, 1, 3, 1, {0, 1, 0, 1}, false},      // 1x3
      {1, 32, 16, 5, 6, 3, 3, 1, {0, 0, 0, 0}, false},       // no padding
      {1, 16, 48, 13, 9, 3, 3, 1, {1, 1, 1, 1}, true, 160},  // two panels; Winograd would take it on planes
      {1, 160, 48, 40, 37, 3, 3, 1, {1, 1, 1, 1}, false},    // k in parts per tap, several chunks
      // Strided: ResNet's 3x3 stride 2 on an odd map, rows and columns apart, three by three
      // with uneven pads, dilated, k in parts per tap.
      {1, 32, 40, 15, 13, 3, 3, 1, {1, 1, 1, 1}, true, 24, {2, 2}},
      {2, 16, 20, 12, 17, 3, 5, 1, {1, 2, 0, 1}, true, 16, {2, 1}},
      {1, 16, 32, 20, 19, 5, 5, 1, {2, 0, 1, 2}, true, 24, {3, 3}},
      {1, 32, 24, 17, 18, 3, 3, 2, {2, 2, 2, 2}, true, 24, {2, 2}},
      {1, 160, 48, 21, 20, 3, 3, 1, {1, 1, 1, 1}, true, 24, {2, 2}},
  };
  unsigned seed = 900;
  for (const Case& p : cases) {
    Net net;
    seed += 10;
    net.input("x", random({p.n, 8, p.h, p.w}, seed));
    // A symbolic height keeps the map size unknown at load, so the 3x3s run shifted on every
    // CPU (see NarrowWinogradConvolutionsYieldToShifted...).
    net.graph().values[net.graph().find("x")].dims[2] = Dim{-1, "h"};
    net.constant("p_w", random({p.c, 8, 1, 1}, seed + 1)).constant("p_b", random({p.c}, seed + 2));
    net.constant("y_w", random({p.m, p.c, p.kh, p.kw}, seed + 3, -0.3f, 0.3f)).constant("y_b", random({p.m}, seed + 4));
    net.node("Conv", {"x", "p_w", "p_b"}, {"p0"});
    net.node("Relu", {"p0"}, {"P"});
    net.node("Conv", {"P", "y_w", "y_b"}, {"Y"},
             {{"pads", Attribute::of(p.pads)},
              // A dilation of 2 is 2 down and 3 across.
              {"dilations", Attribute::of(std::vector<std::int64_t>{p.dil, p.dil > 1 ? p.dil + 1 : 1})},
              {"strides", Attribute::of(p.strides)},
              {"kernel_shape", Attribute::of(std::vector<std::int64_t>{p.kh, p.kw})}});
    std::string out = "Y";
    if (p.after) {
      net.constant("z_w", random({p.cout_after, p.m, 1, 1}, seed + 5));
      net.constant("q_w", random({p.cout_after, 1, 3, 3}, seed + 6));
      net.node("Conv", {"Y", "z_w"}, {"Z"});
      net.node("Conv", {"Z", "q_w"}, {"Q"}, conv_attrs(3, 1, 1, p.cout_after));
      out = "Q";
    }
    Graph g = net.graph();
    g.add_output(out);
    const auto model = Model::compile(g, {});  // held: the loop reads its graph
    std::map<std::string, std::int64_t> layout;
    for (const Node& n : model->graph().nodes)
      layout[model->graph().values[n.inputs[1]].name] = n.attr_int(kLayoutAttr, 0);
    EXPECT_EQ(layout.at("p_w"), kLayoutOutput) << p.m;
    EXPECT_EQ(layout.at("y_w"), p.after ? kLayoutInput | kLayoutOutput : kLayoutInput) << p.m;
    ModelOptions off, two;
    off.blocked_layout = false;
    two.num_threads = 2;
    const Tensor planes = net.run1(out, off), one = net.run1(out), both = net.run1(out, two);
    expect_near(tensor_to_doubles(planes), one, 1e-4);
    ASSERT_EQ(values(one), values(both)) << "m " << p.m << " kh " << p.kh;
  }
}

// An image's first layer: Y = conv(x) on planes of fewer channels than a block, read by a
// depthwise Conv (so Y is blocked), runs direct (the kernel gathers the padded planes
// through offsets, no im2col) at column stride 1 or 2, and through im2col otherwise.
// Compared with the planes path, and 1 thread with 2 bit for bit.
TEST(BlockedLayout, DirectConvolutionsGatherPlanesIntoBlocks) {
  struct Case {
    std::int64_t n, c, m, h, w, kh, kw, sy, sx, dy, dx;
    std::vector<std::int64_t> pads;  // top, left, bottom, right
  };
  const Case cases[] = {
      {1, 3, 64, 37, 35, 7, 7, 2, 2, 1, 1, {3, 3, 3, 3}},  // ResNet's stem (a partial last tile per row)
      {2, 3, 32, 20, 21, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}},  // MobileNetV2's, batch 2
      {1, 1, 20, 9, 30, 5, 5, 1, 1, 2, 1, {2, 0, 1, 3}},   // one channel, dilated rows, uneven pads
      {1, 15, 40, 11, 8, 3, 3, 3, 2, 1, 2, {0, 1, 2, 0}},  // 15 channels, row stride 3, narrow map
      {1, 4, 24, 10, 16, 3, 3, 1, 3, 1, 1, {1, 1, 1, 1}},  // column stride 3: im2col
      {1, 2, 16, 40, 3, 11, 3, 1, 1, 1, 1, {5, 1, 5, 1}},  // fewer output columns than a tile
  };
  unsigned seed = 1300;
  for (const Case& p : cases) {
    Net net;
    seed += 10;
    net.input("x", random({p.n, p.c, p.h, p.w}, seed));
    net.constant("y_w", random({p.m, p.c, p.kh, p.kw}, seed + 1, -0.3f, 0.3f)).constant("y_b", random({p.m}, seed + 2));
    net.node("Conv", {"x", "y_w", "y_b"}, {"y0"},
             {{"pads", Attribute::of(p.pads)},
              {"strides", Attribute::of(std::vector<std::int64_t>{p.sy, p.sx})},
              {"dilations", Attribute::of(std::vector<std::int64_t>{p.dy, p.dx})},
              {"kernel_shape", Attribute::of(std::vector<std::int64_t>{p.kh, p.kw})}});
    net.node("Relu", {"y0"}, {"Y"});
    net.constant("q_w", random({p.m, 1, 3, 3}, seed + 3));
    net.node("Conv", {"Y", "q_w"}, {"Q"}, conv_attrs(3, 1, 1, p.m));
    Graph g = net.graph();
    g.add_output("Q");
    const auto model = Model::compile(g, {});
    for (const Node& n : model->graph().nodes)
      if (model->graph().values[n.inputs[1]].name == "y_w") {
        EXPECT_EQ(n.attr_int(kLayoutAttr, 0), kLayoutOutput);
      }
    ModelOptions off, two;
    off.blocked_layout = false;
    two.num_threads = 2;
    const Tensor planes = net.run1("Q", off), one = net.run1("Q"), both = net.run1("Q", two);
    expect_near(tensor_to_doubles(planes), one, 1e-4);
    ASSERT_EQ(values(one), values(both)) << "c " << p.c << " kh " << p.kh;
  }
}

// ResNet's and DenseNet's glue in the blocked layout: a stem writes blocks, a pool reads and
// writes them, a BatchNormalization (with its Relu) and a channel Concat pass them on, and a
// second pool feeds a pointwise Conv; each of them runs on blocks (layout bits both set) and
// the result equals the planes path's. Pools of every kind the kernel handles: max with
// padding, ceil_mode and dilation, average with and without counting the padding.
TEST(BlockedLayout, PoolsBatchNormalizationAndConcatCarryBlocks) {
  struct Pool {
    std::string op;
    std::int64_t k, s, pad, dil, ceil, include_pad;
  };
  const Pool pools[] = {{"MaxPool", 3, 2, 1, 1, 0, 0},     {"AveragePool", 2, 2, 0, 1, 0, 0},
                        {"AveragePool", 3, 1, 1, 1, 0, 1}, {"MaxPool", 2, 2, 0, 1, 1, 0},
                        {"AveragePool", 3, 2, 1, 1, 1, 0}, {"MaxPool", 3, 1, 2, 2, 0, 0}};
  unsigned seed = 1400;
  for (const Pool& q : pools)
    for (std::int64_t extra : {32, 24}) {  // the Concat's last input: whole blocks or not
      Net net;
      seed += 10;
      auto pool_attrs = [&](const Pool& pp) {
        Attributes a = {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{pp.k, pp.k})},
                        {"strides", Attribute::of(std::vector<std::int64_t>{pp.s, pp.s})},
                        {"pads", Attribute::of(std::vector<std::int64_t>{pp.pad, pp.pad, pp.pad, pp.pad})},
                        {"ceil_mode", Attribute::of(pp.ceil)}};
        if (pp.op == "MaxPool") a["dilations"] = Attribute::of(std::vector<std::int64_t>{pp.dil, pp.dil});
        if (pp.op == "AveragePool") a["count_include_pad"] = Attribute::of(pp.include_pad);
        return a;
      };
      auto bn = [&](const std::string& in, std::int64_t c, const std::string& out) {
        for (const char* p : {"s", "b", "m"}) net.constant(out + p, random({c}, ++seed));
        net.constant(out + "v", random({c}, ++seed, 0.5f, 1.5f));
        net.node("BatchNormalization", {in, out + "s", out + "b", out + "m", out + "v"}, {out + "0"});
        net.node("Relu", {out + "0"}, {out});
      };
      net.input("x", random({2, 3, 23, 26}, seed));
      net.constant("s_w", random({32, 3, 3, 3}, ++seed, -0.3f, 0.3f));
      net.node("Conv", {"x", "s_w"}, {"S"}, conv_attrs(3, 2, 1, 1));
      net.node(q.op, {"S"}, {"M"}, pool_attrs(q));
      bn("M", 32, "B1");
      net.constant("a_w", random({extra, 32, 1, 1}, ++seed, -0.3f, 0.3f));
      net.node("Conv", {"B1", "a_w"}, {"A"});
      net.node("Concat", {"M", "A"}, {"C"}, {{"axis", Attribute::of(std::int64_t{1})}});
      bn("C", 32 + extra, "B2");
      net.node("AveragePool", {"B2"}, {"V"}, pool_attrs({"AveragePool", 2, 2, 0, 1, 0, 0}));
      net.constant("z_w", random({16, 32 + extra, 1, 1}, ++seed, -0.3f, 0.3f));
      net.node("Conv", {"V", "z_w"}, {"Z"});
      net.constant("d_w", random({16, 1, 3, 3}, ++seed));
      net.node("Conv", {"Z", "d_w"}, {"D"}, conv_attrs(3, 1, 1, 16));  // so Z is blocked
      Graph g = net.graph();
      g.add_output("D");
      const auto model = Model::compile(g, {});
      for (const Node& n : model->graph().nodes)
        if (n.op_type != "Conv") {
          EXPECT_EQ(n.attr_int(kLayoutAttr, 0), kLayoutInput | kLayoutOutput) << n.label() << " " << q.op;
        }
      ModelOptions off, two;
      off.blocked_layout = false;
      two.num_threads = 2;
      const Tensor planes = net.run1("D", off), one = net.run1("D"), both = net.run1("D", two);
      expect_near(tensor_to_doubles(planes), one, 1e-4);
      ASSERT_EQ(values(one), values(both)) << q.op << " " << q.k;
    }
}

// DenseNet's dense block: layer i reads Concat(A, y1 .. y(i-1)) through BatchNormalization,
// Relu and a 3x3 convolution that writes y(i); one more Concat [A y2] cannot share. With one image every Concat is its
// inputs' bytes one after another, so the planner has the convolutions write into the last Concat's buffer and the
// Concats copy nothing; with two the Concats copy. Both give the same images, on blocks and on planes, for every thread
// count.
TEST(BlockedLayout, DenseBlockConcatsCopyNothingAndMatchCopyingConcats) {
  for (std::int64_t growth : {16, 8})
    for (bool blocked : {true, false}) {
      unsigned seed = 1700 + static_cast<unsigned>(growth);
      const Tensor x1 = random({1, 24, 9, 11}, seed);
      Tensor x2 = Tensor::allocate(DataType::float32, {2, 24, 9, 11});
      std::memcpy(x2.raw(), x1.raw(), x1.nbytes());
      std::memcpy(x2.data<float>() + x1.numel(), x1.raw(), x1.nbytes());
      auto build = [&](const Tensor& x) {
        Net net;
        unsigned s = seed;
        net.input("x", x);
        net.constant("a_w", random({32, 24, 1, 1}, ++s, -0.3f, 0.3f));
        net.node("Conv", {"x", "a_w"}, {"a0"});
        net.node("Relu", {"a0"}, {"A"});
        std::vector<std::string> pieces = {"A"};
        std::int64_t c = 32;
        for (int i = 1; i <= 4; ++i) {
          const std::string in = pieces.size() == 1 ? "A" : cat("C", i);
          if (pieces.size() > 1) net.node("Concat", pieces, {in}, {{"axis", Attribute::of(std::int64_t{1})}});
          for (const char* q : {"s", "b", "m"}) net.constant(cat(in, q, i), random({c}, ++s));
          net.constant(cat(in, "v", i), random({c}, ++s, 0.5f, 1.5f));
          net.node("BatchNormalization", {in, cat(in, "s", i), cat(in, "b", i), cat(in, "m", i), cat(in, "v", i)},
                   {cat("n", i)});
          net.node("Relu", {cat("n", i)}, {cat("r", i)});
          net.constant(cat("w", i), random({growth, c, 3, 3}, ++s, -0.2f, 0.2f));
          net.node("Conv", {cat("r", i), cat("w", i)}, {cat("y", i)}, conv_attrs(3, 1, 1, 1));
          pieces.push_back(cat("y", i));
          c += growth;
          if (i == 2) {  // E = [A y2]: y2's slot would be y1's bytes, so E keeps its own buffer
            net.node("Concat", {"A", "y2"}, {"E"}, {{"axis", Attribute::of(std::int64_t{1})}});
            net.constant("e_w", random({16, 32 + growth, 1, 1}, ++s, -0.2f, 0.2f));
            net.node("Conv", {"E", "e_w"}, {"F"});
          }
        }
        net.node("Concat", pieces, {"C"}, {{"axis", Attribute::of(std::int64_t{1})}});
        net.constant("z_w", random({16, c, 1, 1}, ++s, -0.2f, 0.2f));
        net.node("Conv", {"C", "z_w"}, {"Z0"});
        net.node("Add", {"Z0", "F"}, {"Z"});
        return net;
      };
      ModelOptions o;
      o.blocked_layout = blocked;
      Net one = build(x1), two = build(x2);
      const Tensor z1 = one.run1("Z", o), z2 = two.run1("Z", o);
      o.num_threads = 2;
      EXPECT_EQ(values(z1), values(one.run1("Z", o))) << growth << " " << blocked;
      std::vector<double> both = tensor_to_doubles(z1), second = tensor_to_doubles(z2);
      both.insert(both.end(), both.begin(), both.end());
      expect_near(both, z2, 1e-5);
      // On planes the last Concat shares its buffer with A, and with y4 when y4's place
      // is 64-byte aligned (growth 16; with growth 8 the Concats copy the pieces that are not).
      if (!blocked) {
        Graph g = one.graph();
        g.add_output("C");
        g.add_output("y4");
        g.add_output("A");
        Session session(Model::compile(g, o));
        session.set_input("x", x1);
        session.run();
        const char* cat_bytes = static_cast<const char*>(session.output("C").raw());
        EXPECT_EQ(session.output("A").raw(), cat_bytes);
        if (growth == 16) {
          EXPECT_EQ(static_cast<const char*>(session.output("y4").raw()), cat_bytes + (32 + 3 * growth) * 99 * 4);
        }
      }
    }
}

// A Concat whose inputs but the last do not fill whole blocks, a pool whose output is the
// graph's, and a BatchNormalization with a non-constant parameter keep planes; so does what
// only they would read.
TEST(BlockedLayout, NodesThatCannotCarryBlocksKeepPlanes) {
  Net net;
  net.input("x", random({1, 8, 12, 12}, 1)).input("mean", random({24}, 9));
  net.constant("a_w", random({24, 8, 1, 1}, 2)).constant("b_w", random({32, 8, 1, 1}, 3));
  net.constant("d_w", random({24, 1, 3, 3}, 4)).constant("e_w", random({32, 1, 3, 3}, 5));
  for (const char* p : {"s", "b", "v"}) net.constant(std::string("n") + p, random({24}, 6, 0.5f, 1.5f));
  net.node("Conv", {"x", "a_w"}, {"A"});  // 24 channels: not whole blocks
  net.node("Conv", {"x", "b_w"}, {"B"});
  net.node("Concat", {"A", "B"}, {"C"}, {{"axis", Attribute::of(std::int64_t{1})}});
  net.constant("f_w", random({56, 1, 3, 3}, 7));
  net.node("Conv", {"C", "f_w"}, {"F"}, conv_attrs(3, 1, 1, 56));
  net.node("Conv", {"B", "e_w"}, {"E"}, conv_attrs(3, 1, 1, 32));
  net.node("MaxPool", {"E"}, {"M"}, {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{2, 2})}});
  net.node("Conv", {"x", "a_w"}, {"A2"});
  net.node("BatchNormalization", {"A2", "ns", "nb", "mean", "nv"}, {"N"});
  net.node("Conv", {"N", "d_w"}, {"D"}, conv_attrs(3, 1, 1, 24));
  Graph g = net.graph();
  for (const char* o : {"F", "M", "D"}) g.add_output(o);
  const auto model = Model::compile(g, {});
  for (const Node& n : model->graph().nodes)
    if (n.op_type == "Concat" || n.op_type == "MaxPool" || n.op_type == "BatchNormalization") {
      EXPECT_FALSE(n.has_attr(kLayoutAttr)) << n.label();
    }
  ModelOptions off;
  off.blocked_layout = false;
  for (const char* o : {"F", "M", "D"}) expect_near(tensor_to_doubles(net.run1(o, off)), net.run1(o), 1e-5);
}

// Converting costs a pack and an unpack: a tensor whose only blocked neighbours would be
// Winograd convolutions (or a pointwise one reading planes) stays planes. (On maps below
// 7 x 7: larger ones run Winograd on blocks, see WinogradNc16.)
TEST(BlockedLayout, TensorsOnlyConvertingConvolutionsTouchStayPlanes) {
  Net net;
  net.input("x", random({1, 16, 6, 6}, 1));
  net.constant("p_w", random({64, 16, 1, 1}, 2)).constant("w1_w", random({64, 64, 3, 3}, 3));
  net.constant("w2_w", random({72, 64, 3, 3}, 4));
  net.node("Conv", {"x", "p_w"}, {"P"});
  net.node("Conv", {"P", "w1_w"}, {"W1"}, conv_attrs(3, 1, 1, 1));
  net.node("Conv", {"W1", "w2_w"}, {"W2"}, conv_attrs(3, 1, 1, 1));
  Graph g = net.graph();
  g.add_output("W2");
  const auto model = Model::compile(g, {});
  for (const Node& n : model->graph().nodes) EXPECT_FALSE(n.has_attr(kLayoutAttr)) << n.label();
}

// A fused residual that broadcasts in the blocked layout runs on planes, converted on the way
// in and out: the Add fuses into the Conv listed first, so either the residual ([n, c, 1, 1])
// broadcasts onto the convolution's map, or the convolution's [n, c, 1, 1] onto the residual.
TEST(BlockedLayout, BroadcastingResidualRunsThroughPlanes) {
  for (bool small_conv_first : {false, true}) {
    Net net;
    net.input("x", random({2, 6, 5, 7}, 1));
    net.constant("g_w", random({24, 6, 1, 1}, 2)).constant("r_w", random({24, 6, 1, 1}, 3));
    net.constant("q_w", random({24, 1, 3, 3}, 4)).constant("e_w", random({24, 24, 1, 1}, 5));
    net.constant("e_b", random({24}, 6));
    net.node("GlobalAveragePool", {"x"}, {"gx"});
    net.node("Conv", {"x", "g_w"}, {"G"});
    if (small_conv_first) net.node("Conv", {"gx", "r_w"}, {"R"});  // [2, 24, 1, 1]
    net.node("Conv", {"G", "e_w", "e_b"}, {"e0"});
    if (!small_conv_first) net.node("Conv", {"gx", "r_w"}, {"R"});
    net.node("Add", {"e0", "R"}, {"E"});
    net.node("Relu", {"E"}, {"Er"});
    net.node("Conv", {"Er", "q_w"}, {"Q"}, conv_attrs(3, 1, 1, 24));
    ModelOptions off;
    off.blocked_layout = false;
    const Tensor want = net.run1("Q", off), got = net.run1("Q");
    expect_near(tensor_to_doubles(want), got, 1e-4);
    Graph g = net.graph();
    g.add_output("Q");
    std::size_t blocked = 0;
    const auto model = Model::compile(g, {});  // held: the loop reads its graph
    for (const Node& n : model->graph().nodes) blocked += n.attr_int(kLayoutAttr, 0) != 0;
    EXPECT_EQ(blocked, 4u) << small_conv_first;  // G, R, e0 with the Add and Relu, and Q
  }
}

// Map sizes known at load: from a static input through Convs (explicit pads, auto_pad),
// pools (ceil_mode, dilation; a global one makes 1x1), activations, Concat and Add; unknown
// past a node that is none of those (a Transpose), and everywhere from a symbolic input.
TEST(BlockedLayout, MapSizesFollowFromStaticInputShapes) {
  for (bool symbolic : {false, true}) {
    Graph g;
    if (symbolic)
      g.add_input("x", DataType::float32, std::vector<Dim>{{1, ""}, {8, ""}, {-1, "h"}, {28, ""}});
    else
      g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 8, 30, 28});
    g.add_constant("w", random({16, 8, 3, 3}, 1));
    g.add_constant("v", random({4, 16, 5, 5}, 2));
    g.add_constant("u", random({4, 4, 1, 1}, 3));
    g.add_node("Conv", {"x", "w"}, {"a"}, conv_attrs(3, 2, 1, 1), "", 17);  // 15 x 14
    g.add_node("MaxPool", {"a"}, {"b"},
               {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{3, 3})},
                {"strides", Attribute::of(std::vector<std::int64_t>{2, 2})},
                {"ceil_mode", Attribute::of(std::int64_t{1})}},
               "", 17);  // ceil(12 / 2) + 1 = 7, ceil(11 / 2) + 1 = 7
    g.add_node("Relu", {"b"}, {"c"}, {}, "", 17);
    g.add_node("Concat", {"c", "b"}, {"d"}, {{"axis", Attribute::of(std::int64_t{1})}}, "", 17);
    g.add_node("Conv", {"d", "v"}, {"e"},
               {{"auto_pad", Attribute::of(std::string("SAME_UPPER"))},
                {"strides", Attribute::of(std::vector<std::int64_t>{2, 3})}},
               "", 17);  // 4 x 3
    g.add_node("AveragePool", {"e"}, {"f"},
               {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{2, 1})},
                {"dilations", Attribute::of(std::vector<std::int64_t>{2, 1})},
                {"pads", Attribute::of(std::vector<std::int64_t>{1, 0, 0, 0})}},
               "", 19);  // 4 + 1 - 3 + 1 = 3, 3
    g.add_node("Conv", {"f", "u"}, {"h"}, {}, "", 17);
    g.add_node("Add", {"h", "f"}, {"i"}, {}, "", 17);
    g.add_node("GlobalAveragePool", {"i"}, {"j"}, {}, "", 17);
    g.add_node("Relu", {"j"}, {"k"}, {}, "", 17);
    g.add_node("Transpose", {"i"}, {"l"}, {}, "", 17);
    const auto maps = known_shapes(g).maps;
    const std::map<std::string, std::array<std::int64_t, 2>> want = {
        {"a", {15, 14}}, {"b", {7, 7}}, {"c", {7, 7}}, {"d", {7, 7}}, {"e", {4, 3}},  {"f", {3, 3}},
        {"h", {3, 3}},   {"i", {3, 3}}, {"j", {1, 1}}, {"k", {1, 1}}, {"l", {-1, -1}}};
    for (const auto& [name, hw] : want) {
      const auto expect = symbolic ? std::array<std::int64_t, 2>{-1, -1} : hw;
      EXPECT_EQ(maps[g.find(name)], expect) << name << (symbolic ? " symbolic" : "");
    }
  }
}

// Winograd yields to the shifted direct kernel on blocks for fewer than 64 output channels,
// except on half-rate 512-bit FMA (Zen 4) for maps of 28 x 28 and more.
TEST(BlockedLayout, NarrowWinogradConvolutionsYieldToShiftedUnlessTheMapIsLargeOnHalfRateFma) {
  EXPECT_TRUE(Winograd23::yields_to_shifted(32, 128, false, 56 * 56));
  EXPECT_TRUE(Winograd23::yields_to_shifted(32, 128, false, -1));
  EXPECT_FALSE(Winograd23::yields_to_shifted(32, 128, true, 56 * 56));
  EXPECT_FALSE(Winograd23::yields_to_shifted(32, 128, true, 28 * 28));
  EXPECT_TRUE(Winograd23::yields_to_shifted(32, 128, true, 27 * 28));
  EXPECT_TRUE(Winograd23::yields_to_shifted(32, 128, true, -1));
  EXPECT_FALSE(Winograd23::yields_to_shifted(64, 128, false, 56 * 56));
  EXPECT_FALSE(Winograd23::yields_to_shifted(32, 120, false, 56 * 56));
  // The pass applies it with the map sizes it knows and the model's tier: DenseNet's
  // P = relu(pw(x)), Y = 3x3(P) 128 -> 32, the same result either way.
  for (std::int64_t hw : {14, 28})
    for (bool symbolic : {false, true})
      for (bool avx2 : {false, true}) {
        Net net;
        net.input("x", random({1, 16, hw, hw}, 7));
        if (symbolic) {
          Graph& g = net.graph();
          g.values[g.find("x")].dims[2] = Dim{-1, "h"};
        }
        net.constant("p_w", random({128, 16, 1, 1}, 8, -0.3f, 0.3f));
        net.constant("y_w", random({32, 128, 3, 3}, 9, -0.1f, 0.1f));
        net.node("Conv", {"x", "p_w"}, {"p0"});
        net.node("Relu", {"p0"}, {"P"});
        net.node("Conv", {"P", "y_w"}, {"Y"}, conv_attrs(3, 1, 1, 1));
        ModelOptions o;
        if (avx2) o.max_isa = simd::Isa::avx2;
        Graph g = net.graph();
        g.add_output("Y");
        const auto model = Model::compile(g, o);
        const bool half = model->isa() == simd::Isa::avx512 && simd::fma512_half_rate();
        const bool yields = !(half && !symbolic && hw * hw >= 28 * 28);
        for (const Node& n : model->graph().nodes)
          if (n.op_type == "Conv" && model->graph().values[n.inputs[1]].name == "y_w") {
            EXPECT_EQ(n.attr_int(kShiftedAttr, 0), yields ? 1 : 0) << hw << " " << symbolic << " " << avx2;
            // Y is a graph output (planes); shifted reads P's blocks, Winograd would convert
            // them, so P is blocked only for the shifted kernel.
            EXPECT_EQ(n.attr_int(kLayoutAttr, 0), yields ? kLayoutInput : 0) << hw;
          }
        ModelOptions off = o;
        off.blocked_layout = false;
        expect_near(tensor_to_doubles(net.run1("Y", off)), net.run1("Y", o), 1e-4);
      }
}

// F(4x4, 3x3) and F(2x2, 3x3) on blocks (WinogradNc16) between two identity depthwise 1x1s
// (so the 3x3 reads and writes blocks and its result is the graph's): within 1e-4 of a direct
// double-precision convolution relative to the output's largest magnitude, on every tier, the
// same for 1 and 2 threads. Maps with partial tiles, asymmetric and no padding, partial
// channel blocks, two and more parts of the sum (256+ input channels), batch 2, the smallest
// map it takes (7 x 7), fused activations, no bias; F(2x2, 3x3) past 256 x 256 channels.
TEST(BlockedLayout, WinogradNc16MatchesDirectConvolution) {
  struct Case {
    std::int64_t n, cin, cout, h, w;
    std::vector<std::int64_t> pads;
    const char* act;
    bool bias;
    int tile;
  };
  const Case cases[] = {
      {1, 64, 64, 56, 56, {1, 1, 1, 1}, "Relu", true, 4},      {2, 20, 36, 23, 30, {1, 0, 2, 1}, "", true, 4},
      {1, 16, 16, 7, 7, {1, 1, 1, 1}, "Relu", false, 4},       {1, 128, 32, 14, 14, {1, 1, 1, 1}, "Clip", true, 4},
      {1, 256, 48, 9, 11, {0, 0, 0, 0}, "LeakyRelu", true, 4}, {1, 33, 17, 26, 9, {2, 1, 0, 2}, "SiLU", true, 4},
      {1, 272, 256, 7, 7, {1, 1, 1, 1}, "Relu", true, 2},      {2, 264, 250, 8, 9, {0, 1, 1, 0}, "Sigmoid", false, 2},
      {1, 512, 130, 9, 7, {1, 1, 1, 1}, "Clip", true, 2},
  };
  unsigned seed = 900;
  for (const Case& p : cases) {
    Net net;
    const Tensor x = random({p.n, p.cin, p.h, p.w}, ++seed), w = random({p.cout, p.cin, 3, 3}, ++seed, -0.3f, 0.3f);
    const Tensor b = random({p.cout}, ++seed);
    net.input("x", x).constant("w", w).constant("b", b);
    auto identity = [&](const std::string& name, std::int64_t c, const std::string& in, const std::string& out) {
      net.constant(name, make({c, 1, 1, 1}, std::vector<float>(static_cast<std::size_t>(c), 1.0f)));
      net.node("Conv", {in, name}, {out}, {{"group", Attribute::of(c)}});
    };
    identity("in_w", p.cin, "x", "xb");
    Attributes a = {{"pads", Attribute::of(p.pads)}};
    net.node("Conv", p.bias ? std::vector<std::string>{"xb", "w", "b"} : std::vector<std::string>{"xb", "w"}, {"c"}, a);
    std::string last = "c";
    if (std::string(p.act) == "Clip") {
      net.constant("lo", make({}, {0.0f})).constant("hi", make({}, {1.5f}));
      net.node("Clip", {"c", "lo", "hi"}, {"a"});
      last = "a";
    } else if (std::string(p.act) == "SiLU") {
      net.node("Sigmoid", {"c"}, {"gate"});
      net.node("Mul", {"gate", "c"}, {"a"});
      last = "a";
    } else if (*p.act) {
      net.node(p.act, {"c"}, {"a"},
               std::string(p.act) == "LeakyRelu" ? Attributes{{"alpha", Attribute::of(0.1f)}} : Attributes{});
      last = "a";
    }
    identity("out_w", p.cout, last, "y");
    // Direct, in double.
    const std::int64_t oh = p.h + p.pads[0] + p.pads[2] - 2, ow = p.w + p.pads[1] + p.pads[3] - 2;
    std::vector<double> want(static_cast<std::size_t>(p.n * p.cout * oh * ow));
    double scale = 0;
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
    for (std::int64_t i = 0; i < p.n; ++i)
      for (std::int64_t o = 0; o < p.cout; ++o)
        for (std::int64_t oy = 0; oy < oh; ++oy)
          for (std::int64_t ox = 0; ox < ow; ++ox) {
            double sum = p.bias ? b.data<float>()[o] : 0.0;
            for (std::int64_t c = 0; c < p.cin; ++c)
              for (std::int64_t ky = 0; ky < 3; ++ky)
                for (std::int64_t kx = 0; kx < 3; ++kx) {
                  const std::int64_t iy = oy + ky - p.pads[0], ix = ox + kx - p.pads[1];
                  if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                  sum += double{px[((i * p.cin + c) * p.h + iy) * p.w + ix]} * pw[((o * p.cin + c) * 3 + ky) * 3 + kx];
                }
            const std::string act = p.act;
            if (act == "Relu") sum = std::max(sum, 0.0);
            if (act == "Clip") sum = std::clamp(sum, 0.0, 1.5);
            if (act == "LeakyRelu" && sum < 0) sum *= 0.1;
            if (act == "Sigmoid") sum = 1 / (1 + std::exp(-sum));
            if (act == "SiLU") sum /= 1 + std::exp(-sum);
            want[static_cast<std::size_t>(((i * p.cout + o) * oh + oy) * ow + ox)] = sum;
            scale = std::max(scale, std::abs(sum));
          }
    Graph g = net.graph();
    g.add_output("y");
    const auto model = Model::compile(g, {});
    for (const Node& n : model->graph().nodes)
      if (n.op_type == "Conv" && model->graph().values[n.inputs[1]].name == "w") {
        EXPECT_EQ(n.attr_int(kWinogradNc16Attr, 0), p.tile) << p.cin << " -> " << p.cout << " at " << p.h << "x" << p.w;
        EXPECT_EQ(n.attr_int(kLayoutAttr, 0), kLayoutInput | kLayoutOutput) << p.h << "x" << p.w;
      }
    auto check = [&](const Tensor& got) {
      ASSERT_EQ(got.numel(), static_cast<std::int64_t>(want.size()));
      const std::vector<double> g = tensor_to_doubles(got);
      double worst = 0;
      for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(g[i] - want[i]));
      EXPECT_LE(worst, 1e-4 * scale) << p.cin << " -> " << p.cout << " at " << p.h << "x" << p.w;
    };
    ModelOptions two;
    two.num_threads = 2;
    const Tensor one = net.run1("y");
    check(one);
    ASSERT_EQ(values(one), values(net.run1("y", two)));
    for (const simd::Isa isa : narrower_tiers()) {
      ModelOptions o;
      o.max_isa = isa;
      SCOPED_TRACE(simd::isa_name(isa));
      check(net.run1("y", o));
    }
  }
}

}  // namespace
}  // namespace edgert::test
