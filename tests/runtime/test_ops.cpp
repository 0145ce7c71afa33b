// Operators against plain scalar references, across attribute variants and broadcasting.
#include <algorithm>
#include <array>
#include <limits>

#include "test_util.h"

namespace edgert::test {
namespace {

// ---------- Conv ----------

struct ConvCase {
  Shape x;  // N, C, spatial...
  std::int64_t cout, group;
  Shape k, s, d;
  std::vector<std::int64_t> pads;  // begins then ends
  bool bias;
};

void PrintTo(const ConvCase& c, std::ostream* os) {
  *os << "x" << shape_str(c.x) << " cout " << c.cout << " group " << c.group << " k" << shape_str(c.k) << " s"
      << shape_str(c.s);
}

// Direct N-d convolution in double (up to 3 spatial dims; fixed-size index arrays, as this
// inner loop runs once per multiply-add and dominated the suite's time under qemu).
std::vector<double> conv_ref(const Tensor& x, const Tensor& w, const float* bias, const ConvCase& c, Shape& out_shape) {
  const std::size_t sp = c.k.size();
  out_shape = {x.dim(0), c.cout};
  std::array<std::int64_t, 3> out{};
  for (std::size_t i = 0; i < sp; ++i) {
    out[i] = (x.dim(2 + i) + c.pads[i] + c.pads[sp + i] - ((c.k[i] - 1) * c.d[i] + 1)) / c.s[i] + 1;
    out_shape.push_back(out[i]);
  }
  const std::int64_t cin_g = x.dim(1) / c.group, cout_g = c.cout / c.group;
  std::vector<double> y(static_cast<std::size_t>(shape_numel(out_shape)));
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  std::int64_t ksz = 1, osz = 1;
  for (std::size_t i = 0; i < sp; ++i) ksz *= c.k[i], osz *= out[i];
  for (std::int64_t n = 0; n < x.dim(0); ++n)
    for (std::int64_t o = 0; o < c.cout; ++o)
      for (std::int64_t p = 0; p < osz; ++p) {
        std::array<std::int64_t, 3> op{};
        std::int64_t rem = p;
        for (std::size_t i = sp; i-- > 0;) op[i] = rem % out[i], rem /= out[i];
        double acc = bias ? bias[o] : 0.0;
        const std::int64_t g = o / cout_g;
        for (std::int64_t ci = 0; ci < cin_g; ++ci)
          for (std::int64_t kk = 0; kk < ksz; ++kk) {
            // Input offset of tap kk, or none when it falls in the padding.
            std::int64_t r2 = kk, off = 0, stride = 1;
            bool inside = true;
            for (std::size_t i = sp; i-- > 0;) {
              const std::int64_t kp = r2 % c.k[i], ip = op[i] * c.s[i] - c.pads[i] + kp * c.d[i];
              r2 /= c.k[i];
              inside = inside && ip >= 0 && ip < x.dim(2 + i);
              off += ip * stride;
              stride *= x.dim(2 + i);
            }
            if (inside)
              acc += static_cast<double>(px[(n * x.dim(1) + g * cin_g + ci) * stride + off]) *
                     pw[(o * cin_g + ci) * ksz + kk];
          }
        y[static_cast<std::size_t>((n * c.cout + o) * osz + p)] = acc;
      }
  return y;
}

class ConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvTest, MatchesDirectConvolution) {
  const ConvCase& c = GetParam();
  Shape wshape = {c.cout, c.x[1] / c.group};
  wshape.insert(wshape.end(), c.k.begin(), c.k.end());
  const Tensor x = random(c.x, 1), w = random(wshape, 2), b = random({c.cout}, 3);
  Shape want_shape;
  const auto want = conv_ref(x, w, c.bias ? b.data<float>() : nullptr, c, want_shape);
  Attributes a = {{"kernel_shape", Attribute::of(std::vector<std::int64_t>(c.k))},
                  {"strides", Attribute::of(std::vector<std::int64_t>(c.s))},
                  {"dilations", Attribute::of(std::vector<std::int64_t>(c.d))},
                  {"pads", Attribute::of(c.pads)},
                  {"group", Attribute::of(c.group)}};
  // Constant weights take the packed-at-load path; weights fed at run time are packed per run.
  for (int threads : {1, 2})
    for (bool w_const : {true, false}) {
      Net net;
      net.input("x", x);
      if (w_const) {
        net.constant("w", w);
      } else {
        net.input("w", w);
      }
      std::vector<std::string> ins = {"x", "w"};
      if (c.bias) net.constant("b", b), ins.push_back("b");
      net.node("Conv", ins, {"y"}, a);
      ModelOptions o;
      o.num_threads = threads;
      const Tensor y = net.run1("y", o);
      ASSERT_EQ(y.shape(), want_shape);
      expect_near(want, y);
    }
}

// Conv followed by a residual Add and an activation (either order) runs as one node whose
// GEMM applies bias, residual and activation to each tile; checked against the direct
// convolution and the formula in double, on shapes with several depth and column blocks.
TEST(Conv, FusedResidualAndActivationMatchTheFormula) {
  struct Act {
    const char* op;
    Attributes attrs;
    double (*f)(double);
  };
  const std::vector<Act> acts = {
      {"Relu", {}, [](double v) { return std::max(0.0, v); }},
      {"LeakyRelu", {{"alpha", Attribute::of(0.1f)}}, [](double v) { return v < 0 ? 0.1 * v : v; }},
      {"HardSigmoid", {}, [](double v) { return std::clamp(0.2 * v + 0.5, 0.0, 1.0); }},
      {"HardSwish", {}, [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
  };
  const std::vector<ConvCase> shapes = {
      ConvCase{{2, 36, 19, 35}, 21, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
      ConvCase{{1, 300, 5, 9}, 14, 1, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, false},
      ConvCase{{1, 8, 20, 20}, 12, 2, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true},
      // Depthwise, which applies the epilogue per plane or per block of channels: 3x3 at
      // stride 2 channel-blocked (batch 2) and on the row kernel, 5x5 channel-blocked with a
      // partial block, 3x3 stride 1 run flat.
      ConvCase{{2, 6, 11, 9}, 6, 6, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true},
      ConvCase{{1, 5, 9, 64}, 5, 5, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true},
      ConvCase{{1, 18, 6, 7}, 18, 18, {5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}, true},
      ConvCase{{2, 5, 12, 40}, 5, 5, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
      // 3x3 row by row (plane too big to run flat) and the general loop (multiplier 2).
      ConvCase{{1, 3, 40, 100}, 3, 3, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
      ConvCase{{1, 4, 6, 9}, 8, 4, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
  };
  int round = 0;
  for (const ConvCase& c : shapes) {
    Shape wshape = {c.cout, c.x[1] / c.group};
    wshape.insert(wshape.end(), c.k.begin(), c.k.end());
    const Tensor x = random(c.x, 11), w = random(wshape, 12), b = random({c.cout}, 13);
    Shape ys;
    const auto conv = conv_ref(x, w, c.bias ? b.data<float>() : nullptr, c, ys);
    const Tensor r = random(ys, 14, -2, 2);
    for (const Act& a : acts)
      for (bool add_first : {true, false}) {
        Net net;
        net.input("x", x).input("r", r).constant("w", w);
        std::vector<std::string> ins = {"x", "w"};
        if (c.bias) net.constant("b", b), ins.push_back("b");
        net.node("Conv", ins, {"c"},
                 {{"pads", Attribute::of(c.pads)},
                  {"strides", Attribute::of(std::vector<std::int64_t>(c.s))},
                  {"group", Attribute::of(c.group)}});
        if (add_first) {
          const bool swap = round++ % 2;  // the residual as either operand
          net.node("Add", {swap ? "r" : "c", swap ? "c" : "r"}, {"s"});
          net.node(a.op, {"s"}, {"y"}, a.attrs);
        } else {
          net.node(a.op, {"c"}, {"t"}, a.attrs);
          net.node("Add", {"t", "r"}, {"y"});
        }
        std::vector<double> want(conv.size());
        for (std::size_t i = 0; i < conv.size(); ++i) {
          const double rv = r.data<float>()[i];
          want[i] = add_first ? a.f(conv[i] + rv) : a.f(conv[i]) + rv;
        }
        SCOPED_TRACE(testing::Message() << a.op << (add_first ? " after" : " before") << " the residual, x"
                                        << shape_str(c.x) << " k" << shape_str(c.k));
        std::vector<Tensor> got;
        for (int threads : {1, 2}) {
          ModelOptions o;
          o.num_threads = threads;
          got.push_back(net.run1("y", o));
          expect_near(want, got.back());
        }
        EXPECT_EQ(values(got[0]), values(got[1])) << a.op << " threads 1 and 2 differ";
      }
  }
}

// Packed weights: the model drops a constant once every consumer packed it, and keeps it
// while anything else (another op, a graph output) still reads it.
TEST(Conv, PackedWeightsAreHeldOnce) {
  const Tensor x = random({1, 4, 6, 6}, 1), w = random({5, 4, 3, 3}, 2);
  Attributes a = {{"pads", Attribute::of(std::vector<std::int64_t>{1, 1, 1, 1})}};
  Graph g;
  g.add_input("x", DataType::float32, x.shape());
  g.add_constant("w", w);
  g.add_constant("w2", w);
  g.add_node("Conv", {"x", "w"}, {"y1"}, a, "", 17);
  g.add_node("Conv", {"x", "w"}, {"y2"}, a, "", 17);
  g.add_node("Conv", {"x", "w2"}, {"y3"}, a, "", 17);
  g.add_node("Identity", {"w2"}, {"w2_copy"}, {}, "", 17);
  g.add_output("y1");
  g.add_output("y2");
  g.add_output("y3");
  g.add_output("w2_copy");
  auto model = Model::compile(std::move(g));
  const Graph& cg = model->graph();
  EXPECT_FALSE(cg.constants.at(cg.find("w")).has_data());
  EXPECT_EQ(cg.constants.at(cg.find("w")).shape(), w.shape());
  EXPECT_TRUE(cg.constants.at(cg.find("w2")).has_data());
  Session s(model);
  s.set_input("x", x);
  s.run();
  EXPECT_EQ(values(s.output(0)), values(s.output(1)));
  EXPECT_EQ(values(s.output(0)), values(s.output(2)));
  EXPECT_EQ(values(s.output(3)), values(w));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvTest,
    ::testing::Values(ConvCase{{1, 3, 9, 9}, 8, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{2, 3, 10, 11}, 5, 1, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false},
                      ConvCase{{1, 16, 7, 7}, 24, 1, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, true},
                      ConvCase{{1, 16, 8, 8}, 24, 1, {1, 1}, {2, 2}, {1, 1}, {0, 0, 0, 0}, false},
                      ConvCase{{1, 4, 12, 12}, 4, 1, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, true},
                      ConvCase{{1, 8, 9, 9}, 12, 4, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{2, 6, 9, 9}, 6, 6, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{1, 3, 8, 8}, 6, 3, {5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}, false},
                      ConvCase{{1, 2, 7, 9}, 3, 1, {2, 4}, {1, 2}, {1, 1}, {0, 1, 2, 0}, true},
                      ConvCase{{1, 13, 15, 15}, 7, 1, {7, 7}, {2, 2}, {1, 1}, {3, 3, 3, 3}, false},
                      ConvCase{{2, 3, 17}, 4, 1, {3}, {2}, {1}, {1, 1}, true},
                      ConvCase{{1, 4, 1}, 4, 1, {5}, {1}, {1}, {2, 2}, true},
                      ConvCase{{1, 2, 1, 2}, 3, 1, {3, 5}, {1, 1}, {1, 1}, {1, 3, 1, 3}, false},
                      ConvCase{{1, 4, 20}, 4, 2, {5}, {1}, {3}, {0, 0}, false},
                      ConvCase{{1, 2, 5, 6, 7}, 3, 1, {3, 3, 3}, {1, 2, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
                      ConvCase{{1, 70, 6, 6}, 130, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      // GEMM blocking: several column blocks whose panels straddle output rows,
                      // several depth blocks (k = 360, 441), rows past a micro-tile, partial
                      // vectors; 7x7 at stride 2, dilation with stride, 3-D past one block.
                      ConvCase{{1, 40, 30, 37}, 26, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{2, 9, 41, 43}, 17, 1, {7, 7}, {2, 2}, {1, 1}, {3, 3, 3, 3}, false},
                      ConvCase{{1, 6, 33, 29}, 14, 2, {3, 3}, {2, 1}, {2, 3}, {2, 3, 1, 0}, true},
                      ConvCase{{1, 3, 4, 12, 13}, 5, 1, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, true},
                      ConvCase{{1, 49, 7, 7}, 40, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      // 1x1 with few output channels reads B in place: two depth blocks, two
                      // column blocks, a partial last panel; more rows than that packs B.
                      ConvCase{{1, 300, 23, 25}, 40, 1, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, true},
                      ConvCase{{2, 37, 5, 13}, 70, 1, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, false},
                      // Winograd F(2x2, 3x3) (3x3, stride 1, 16+ channels): odd and even maps,
                      // asymmetric and no padding, batch 2, a map smaller than one tile.
                      ConvCase{{2, 32, 21, 20}, 24, 1, {3, 3}, {1, 1}, {1, 1}, {1, 0, 2, 1}, true},
                      ConvCase{{1, 16, 9, 14}, 17, 1, {3, 3}, {1, 1}, {1, 1}, {0, 0, 0, 0}, false},
                      ConvCase{{1, 20, 2, 1}, 16, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      // Two unequal depth blocks (151 + 150 channels); several chunks of tile
                      // rows with a short last one, each row of tiles exactly one panel.
                      ConvCase{{1, 301, 10, 14}, 16, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{1, 16, 62, 64}, 16, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, false},
                      // Depthwise 3x3 row kernel: padding, row stride 2, rows narrower than a
                      // vector, wider than two, no interior at all; then paths it must not take
                      // (channel multiplier 2, dilation 2).
                      ConvCase{{1, 8, 9, 9}, 8, 8, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{2, 5, 6, 20}, 5, 5, {3, 3}, {2, 1}, {1, 1}, {0, 2, 1, 0}, false},
                      ConvCase{{1, 16, 7, 40}, 16, 16, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{1, 3, 2, 2}, 3, 3, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, false},
                      ConvCase{{1, 4, 5, 5}, 8, 4, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{1, 4, 9, 9}, 4, 4, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, true},
                      // Small maps run as one long row: 7x7, 32 wide, 1x1, batch 2.
                      ConvCase{{2, 6, 7, 7}, 6, 6, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{1, 5, 14, 32}, 5, 5, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, false},
                      ConvCase{{1, 4, 1, 1}, 4, 4, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{1, 3, 3, 12}, 3, 3, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      // A plane too big for that: row by row.
                      ConvCase{{1, 2, 40, 100}, 2, 2, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      // Its column-stride-2 form: odd and even widths, asymmetric and wide pads,
                      // rows with no interior, row stride 1, 2 or 3.
                      ConvCase{{1, 7, 11, 57}, 7, 7, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{1, 3, 5, 2}, 3, 3, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false},
                      ConvCase{{1, 4, 8, 9}, 4, 4, {3, 3}, {1, 2}, {1, 1}, {0, 2, 2, 0}, true},
                      ConvCase{{2, 5, 9, 1}, 5, 5, {3, 3}, {2, 2}, {1, 1}, {0, 1, 1, 1}, false},
                      ConvCase{{1, 9, 14, 34}, 9, 9, {3, 3}, {2, 2}, {1, 1}, {0, 0, 1, 1}, true},
                      ConvCase{{1, 4, 13, 12}, 4, 4, {3, 3}, {3, 2}, {1, 1}, {1, 1, 1, 1}, true},
                      // Maps taller than one chunk of output rows (row stride 2 and 1).
                      ConvCase{{1, 3, 80, 80}, 3, 3, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{1, 2, 45, 64}, 2, 2, {3, 3}, {1, 2}, {1, 1}, {1, 0, 0, 1}, false},
                      ConvCase{{1, 3, 1, 1}, 3, 3, {3, 3}, {2, 2}, {1, 1}, {0, 0, 2, 2}, false},
                      // Column stride 2 wide enough for the row kernel with asymmetric
                      // and wide pads at row stride 1.
                      ConvCase{{1, 4, 8, 61}, 4, 4, {3, 3}, {1, 2}, {1, 1}, {0, 2, 2, 0}, true},
                      // Channel-blocked (narrow maps and every other kernel): a partial block
                      // of channels, batch 2 with 33 channels at 5x5 stride 2, a map taller
                      // than one chunk of rows with asymmetric pads; 5x5 at stride 2, 1x9,
                      // dilated 7x7 at column stride 2, 9x9.
                      ConvCase{{1, 20, 9, 11}, 20, 20, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true},
                      ConvCase{{2, 33, 13, 37}, 33, 33, {5, 5}, {2, 2}, {1, 1}, {2, 2, 2, 2}, true},
                      ConvCase{{1, 17, 70, 66}, 17, 17, {5, 5}, {1, 1}, {1, 1}, {2, 1, 2, 3}, false},
                      ConvCase{{1, 6, 13, 37}, 6, 6, {5, 5}, {2, 2}, {1, 1}, {2, 2, 2, 2}, true},
                      ConvCase{{2, 3, 10, 40}, 3, 3, {3, 3}, {2, 2}, {1, 1}, {0, 1, 1, 0}, false},
                      ConvCase{{1, 5, 6, 50}, 5, 5, {1, 9}, {1, 2}, {1, 1}, {0, 4, 0, 4}, true},
                      ConvCase{{1, 2, 16, 35}, 2, 2, {7, 7}, {1, 2}, {1, 2}, {3, 6, 3, 6}, true},
                      ConvCase{{1, 2, 12, 12}, 2, 2, {9, 9}, {1, 1}, {1, 1}, {4, 4, 4, 4}, false}));

TEST(Conv, AutoPadSameUpperLowerAndValid) {
  const Tensor x = random({1, 2, 7, 8}, 4), w = random({3, 2, 3, 3}, 5);
  struct Mode {
    const char* name;
    std::vector<std::int64_t> pads;  // what the mode means for this shape with stride 2
  };
  // SAME: out = ceil(in/2) -> 4,4; total pad = (4-1)*2+3-in -> 2 (H=7), 1 (W=8).
  for (const Mode& m :
       {Mode{"SAME_UPPER", {1, 0, 1, 1}}, Mode{"SAME_LOWER", {1, 1, 1, 0}}, Mode{"VALID", {0, 0, 0, 0}}}) {
    Net net;
    net.input("x", x).constant("w", w).node(
        "Conv", {"x", "w"}, {"y"},
        {{"auto_pad", Attribute::of(m.name)}, {"strides", Attribute::of(std::vector<std::int64_t>{2, 2})}});
    ConvCase c{{1, 2, 7, 8}, 3, 1, {3, 3}, {2, 2}, {1, 1}, m.pads, false};
    Shape want_shape;
    const auto want = conv_ref(x, w, nullptr, c, want_shape);
    const Tensor y = net.run1("y");
    ASSERT_EQ(y.shape(), want_shape) << m.name;
    expect_near(want, y);
  }
}

TEST(Conv, RejectsMismatchedChannels) {
  Net net;
  net.input("x", random({1, 3, 5, 5}, 1)).constant("w", random({4, 2, 3, 3}, 2)).node("Conv", {"x", "w"}, {"y"});
  try {
    net.run1("y");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape);
    EXPECT_NE(std::string(e.what()).find("Conv"), std::string::npos);
  }
}

// ---------- ConvTranspose ----------

std::vector<double> convt_ref(const Tensor& x, const Tensor& w, const float* bias, std::int64_t group, Shape s, Shape d,
                              std::vector<std::int64_t> pads, Shape out_spatial) {
  const std::size_t sp = s.size();
  const std::int64_t n = x.dim(0), cin = x.dim(1), cin_g = cin / group, cout_g = w.dim(1), cout = cout_g * group;
  Shape k(w.shape().begin() + 2, w.shape().end());
  std::int64_t osz = 1, isz = 1, ksz = 1;
  for (std::size_t i = 0; i < sp; ++i) osz *= out_spatial[i], isz *= x.dim(2 + i), ksz *= k[i];
  std::vector<double> y(static_cast<std::size_t>(n * cout * osz), 0.0);
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t o = 0; o < cout; ++o)
      for (std::int64_t p = 0; p < osz; ++p) y[(b * cout + o) * osz + p] = bias ? bias[o] : 0.0;
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ci = 0; ci < cin; ++ci) {
      const std::int64_t g = ci / cin_g;
      for (std::int64_t ip = 0; ip < isz; ++ip) {
        std::vector<std::int64_t> ipos(sp);
        std::int64_t r = ip;
        for (std::size_t i = sp; i-- > 0;) ipos[i] = r % x.dim(2 + i), r /= x.dim(2 + i);
        const double xv = x.data<float>()[(b * cin + ci) * isz + ip];
        for (std::int64_t oc = 0; oc < cout_g; ++oc)
          for (std::int64_t kk = 0; kk < ksz; ++kk) {
            std::vector<std::int64_t> kp(sp);
            std::int64_t r2 = kk;
            for (std::size_t i = sp; i-- > 0;) kp[i] = r2 % k[i], r2 /= k[i];
            std::int64_t off = 0;
            bool inside = true;
            for (std::size_t i = 0; i < sp; ++i) {
              const std::int64_t q = ipos[i] * s[i] + kp[i] * d[i] - pads[i];
              if (q < 0 || q >= out_spatial[i]) inside = false;
              off = off * out_spatial[i] + q;
            }
            if (!inside) continue;
            y[(b * cout + g * cout_g + oc) * osz + off] += xv * w.data<float>()[(ci * cout_g + oc) * ksz + kk];
          }
      }
    }
  return y;
}

TEST(ConvTranspose, GroupsStridesOutputPaddingAndPads) {
  struct Case {
    Shape x, w;
    std::int64_t group;
    Shape s, d;
    std::vector<std::int64_t> pads, out_pad;
  };
  for (const Case& c : {Case{{1, 3, 4, 5}, {3, 2, 3, 3}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {0, 0}},
                        Case{{2, 4, 5, 5}, {4, 3, 3, 3}, 2, {2, 2}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
                        Case{{1, 6, 4, 4}, {6, 1, 4, 4}, 6, {2, 2}, {1, 1}, {1, 1, 1, 1}, {0, 0}},
                        Case{{1, 2, 5, 4}, {2, 3, 3, 2}, 1, {3, 2}, {2, 1}, {0, 1, 1, 0}, {2, 1}},
                        Case{{1, 2, 9}, {2, 4, 3}, 1, {2}, {1}, {1, 0}, {1}}}) {
    const std::size_t sp = c.s.size();
    const Tensor x = random(c.x, 11), w = random(c.w, 12), b = random({c.w[1] * c.group}, 13);
    Shape out;
    for (std::size_t i = 0; i < sp; ++i)
      out.push_back(c.s[i] * (c.x[2 + i] - 1) + c.out_pad[i] + (c.w[2 + i] - 1) * c.d[i] + 1 - c.pads[i] -
                    c.pads[sp + i]);
    Net net;
    net.input("x", x).constant("w", w).constant("b", b).node(
        "ConvTranspose", {"x", "w", "b"}, {"y"},
        {{"strides", Attribute::of(std::vector<std::int64_t>(c.s))},
         {"dilations", Attribute::of(std::vector<std::int64_t>(c.d))},
         {"pads", Attribute::of(c.pads)},
         {"output_padding", Attribute::of(c.out_pad)},
         {"group", Attribute::of(c.group)}});
    const Tensor y = net.run1("y");
    Shape want_shape = {c.x[0], c.w[1] * c.group};
    want_shape.insert(want_shape.end(), out.begin(), out.end());
    ASSERT_EQ(y.shape(), want_shape);
    expect_near(convt_ref(x, w, b.data<float>(), c.group, c.s, c.d, c.pads, out), y);
  }
}

TEST(ConvTranspose, OutputShapeAttributeSetsPadding) {
  const Tensor x = random({1, 1, 3, 3}, 1), w = random({1, 2, 3, 3}, 2);
  Net net;
  net.input("x", x).constant("w", w).node("ConvTranspose", {"x", "w"}, {"y"},
                                          {{"strides", Attribute::of(std::vector<std::int64_t>{2, 2})},
                                           {"output_shape", Attribute::of(std::vector<std::int64_t>{6, 6})}});
  const Tensor y = net.run1("y");
  ASSERT_EQ(y.shape(), (Shape{1, 2, 6, 6}));
  // Natural size 7: total padding 1, at the end (NOTSET puts the larger half first).
  expect_near(convt_ref(x, w, nullptr, 1, {2, 2}, {1, 1}, {1, 1, 0, 0}, {6, 6}), y);
}

// ---------- Pooling ----------

std::vector<double> pool_ref(const Tensor& x, bool max, Shape k, Shape s, std::vector<std::int64_t> pads,
                             bool ceil_mode, bool include_pad, Shape& out_shape) {
  const std::int64_t n = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  auto out_dim = [&](std::int64_t in, std::int64_t kk, std::int64_t st, std::int64_t pb, std::int64_t pe) {
    const double v = static_cast<double>(in + pb + pe - kk) / static_cast<double>(st);
    std::int64_t o = static_cast<std::int64_t>(ceil_mode ? std::ceil(v) : std::floor(v)) + 1;
    if (ceil_mode && (o - 1) * st >= in + pb) --o;
    return o;
  };
  const std::int64_t oh = out_dim(h, k[0], s[0], pads[0], pads[2]), ow = out_dim(w, k[1], s[1], pads[1], pads[3]);
  out_shape = {x.dim(0), x.dim(1), oh, ow};
  std::vector<double> y;
  for (std::int64_t p = 0; p < n; ++p)
    for (std::int64_t i = 0; i < oh; ++i)
      for (std::int64_t j = 0; j < ow; ++j) {
        double acc = max ? -1e300 : 0;
        int count = 0;
        for (std::int64_t a = 0; a < k[0]; ++a)
          for (std::int64_t b = 0; b < k[1]; ++b) {
            const std::int64_t yy = i * s[0] - pads[0] + a, xx = j * s[1] - pads[1] + b;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) {
              if (include_pad && yy < h + pads[2] && xx < w + pads[3]) ++count;
              continue;
            }
            const double v = x.data<float>()[(p * h + yy) * w + xx];
            acc = max ? std::max(acc, v) : acc + v;
            ++count;
          }
        y.push_back(max ? acc : acc / count);
      }
  return y;
}

TEST(Pool, MaxAndAverageWithPadsStridesCeilModeAndCountIncludePad) {
  const Tensor x = random({2, 3, 9, 10}, 21);
  for (bool max : {true, false})
    for (bool ceil_mode : {false, true})
      for (bool include : {false, true}) {
        if (max && include) continue;
        for (const auto& pads : {std::vector<std::int64_t>{0, 0, 0, 0}, std::vector<std::int64_t>{1, 1, 1, 1},
                                 std::vector<std::int64_t>{1, 0, 0, 1}}) {
          Net net;
          Attributes a = {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{3, 3})},
                          {"strides", Attribute::of(std::vector<std::int64_t>{2, 2})},
                          {"pads", Attribute::of(pads)},
                          {"ceil_mode", Attribute::of(ceil_mode ? 1 : 0)}};
          if (!max) a["count_include_pad"] = Attribute::of(include ? 1 : 0);
          net.input("x", x).node(max ? "MaxPool" : "AveragePool", {"x"}, {"y"}, a);
          Shape want_shape;
          const auto want = pool_ref(x, max, {3, 3}, {2, 2}, pads, ceil_mode, include, want_shape);
          const Tensor y = net.run1("y");
          ASSERT_EQ(y.shape(), want_shape) << "max " << max << " ceil " << ceil_mode;
          expect_near(want, y, 1e-5);
        }
      }
}

TEST(Pool, GlobalAverageAndMax) {
  const Tensor x = random({2, 3, 5, 7}, 22);
  Net net;
  net.input("x", x).node("GlobalAveragePool", {"x"}, {"a"}).node("GlobalMaxPool", {"x"}, {"m"});
  const auto r = net.run({"a", "m"});
  ASSERT_EQ(r[0].shape(), (Shape{2, 3, 1, 1}));
  std::vector<double> avg, mx;
  for (int p = 0; p < 6; ++p) {
    double s = 0, m = -1e300;
    for (int i = 0; i < 35; ++i) s += x.data<float>()[p * 35 + i], m = std::max<double>(m, x.data<float>()[p * 35 + i]);
    avg.push_back(s / 35), mx.push_back(m);
  }
  expect_near(avg, r[0], 1e-5);
  expect_near(mx, r[1], 0);
}

TEST(Pool, LpPoolAndGlobalLpPool) {
  const Tensor x = random({1, 2, 4, 4}, 23);
  Net net;
  net.input("x", x)
      .node("LpPool", {"x"}, {"l"},
            {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{2, 2})},
             {"strides", Attribute::of(std::vector<std::int64_t>{2, 2})},
             {"p", Attribute::of(2)}})
      .node("GlobalLpPool", {"x"}, {"g"}, {{"p", Attribute::of(3)}});
  const auto r = net.run({"l", "g"});
  std::vector<double> l, g;
  for (int c = 0; c < 2; ++c) {
    double all = 0;
    for (int i = 0; i < 16; ++i) all += std::pow(std::abs(x.data<float>()[c * 16 + i]), 3.0);
    g.push_back(std::cbrt(all));
    for (int by = 0; by < 2; ++by)
      for (int bx = 0; bx < 2; ++bx) {
        double acc = 0;
        for (int u = 0; u < 2; ++u)
          for (int v = 0; v < 2; ++v) {
            const double e = x.data<float>()[c * 16 + (by * 2 + u) * 4 + bx * 2 + v];
            acc += e * e;
          }
        l.push_back(std::sqrt(acc));
      }
  }
  expect_near(l, r[0], 1e-5);
  expect_near(g, r[1], 1e-5);
}

// ---------- Gemm and MatMul ----------

TEST(Gemm, TransposesAlphaBetaAndBroadcastC) {
  // m = 1 takes the matrix-vector path (both layouts of B), on two threads too.
  const std::int64_t n = 19;
  for (std::int64_t m : {5, 1})
    for (std::int64_t k : {7, 37})
      for (int ta : {0, 1})
        for (int tb : {0, 1})
          for (const Shape& cs : {Shape{}, Shape{1}, Shape{n}, Shape{1, n}, Shape{m, 1}, Shape{m, n}}) {
            const Tensor a = random(ta ? Shape{k, m} : Shape{m, k}, 31), b = random(tb ? Shape{n, k} : Shape{k, n}, 32);
            const Tensor c = random(cs, 33);
            const float alpha = 0.5f, beta = 2.0f;
            Net net;
            net.input("a", a).constant("b", b).constant("c", c).node("Gemm", {"a", "b", "c"}, {"y"},
                                                                     {{"transA", Attribute::of(ta)},
                                                                      {"transB", Attribute::of(tb)},
                                                                      {"alpha", Attribute::of(alpha)},
                                                                      {"beta", Attribute::of(beta)}});
            ModelOptions options;
            options.num_threads = static_cast<int>(k % 2 + 1);
            const Tensor y = net.run1("y", options);
            std::vector<double> want;
            for (std::int64_t i = 0; i < m; ++i)
              for (std::int64_t j = 0; j < n; ++j) {
                double acc = 0;
                for (std::int64_t p = 0; p < k; ++p)
                  acc += static_cast<double>(ta ? a.data<float>()[p * m + i] : a.data<float>()[i * k + p]) *
                         (tb ? b.data<float>()[j * k + p] : b.data<float>()[p * n + j]);
                std::int64_t ci = 0;
                if (cs.size() == 1) ci = cs[0] == 1 ? 0 : j;
                if (cs.size() == 2) ci = (cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j);
                want.push_back(alpha * acc + beta * c.data<float>()[ci]);
              }
            expect_near(want, y);
          }
}

TEST(MatMul, BroadcastBatchAndVectorOperands) {
  struct Case {
    Shape a, b, out;
  };
  for (const Case& c :
       {Case{{3, 4}, {4, 5}, {3, 5}}, Case{{2, 1, 3, 4}, {5, 4, 6}, {2, 5, 3, 6}}, Case{{4}, {4, 5}, {5}},
        Case{{2, 3, 4}, {4}, {2, 3}}, Case{{4}, {4}, {}}, Case{{1, 40, 70}, {70, 33}, {1, 40, 33}}}) {
    const Tensor a = random(c.a, 41), b = random(c.b, 42);
    Net net;
    net.input("a", a).input("b", b).node("MatMul", {"a", "b"}, {"y"});
    const Tensor y = net.run1("y");
    ASSERT_EQ(y.shape(), c.out);
    // Reference through numpy's rules: promote vectors, broadcast batch.
    Shape as = c.a, bs = c.b;
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const std::int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
    const std::size_t r = std::max(ab.size(), bb.size());
    while (ab.size() < r) ab.insert(ab.begin(), 1);
    while (bb.size() < r) bb.insert(bb.begin(), 1);
    Shape batch(r);
    for (std::size_t i = 0; i < r; ++i) batch[i] = std::max(ab[i], bb[i]);
    std::vector<double> want;
    for (std::int64_t bi = 0; bi < shape_numel(batch); ++bi) {
      std::int64_t ao = 0, bo = 0, rem = bi, astr = 1, bstr = 1;
      for (std::size_t i = r; i-- > 0;) {
        const std::int64_t idx = rem % batch[i];
        rem /= batch[i];
        ao += (ab[i] == 1 ? 0 : idx) * astr, bo += (bb[i] == 1 ? 0 : idx) * bstr;
        astr *= ab[i], bstr *= bb[i];
      }
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (std::int64_t p = 0; p < k; ++p)
            acc +=
                static_cast<double>(a.data<float>()[ao * m * k + i * k + p]) * b.data<float>()[bo * k * n + p * n + j];
          want.push_back(acc);
        }
    }
    expect_near(want, y);
  }
}

// ---------- BatchNormalization ----------

std::vector<double> bn_ref(const Tensor& x, const std::vector<Tensor>& p, double eps, std::int64_t per) {
  std::vector<double> y;
  const std::int64_t n = x.numel();
  const std::int64_t inner = x.rank() <= 1 ? 1 : n / (x.dim(0) * per);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t c = (i / inner) % per;
    const double s = p[0].data<float>()[c], b = p[1].data<float>()[c], m = p[2].data<float>()[c],
                 v = p[3].data<float>()[c];
    y.push_back((x.data<float>()[i] - m) / std::sqrt(v + eps) * s + b);
  }
  return y;
}

std::vector<Tensor> bn_params(std::int64_t c, Shape shape = {}) {
  if (shape.empty()) shape = {c};
  return {random(shape, 51, 0.5f, 1.5f), random(shape, 52), random(shape, 53), random(shape, 54, 0.5f, 2.0f)};
}

TEST(BatchNorm, InferenceOnRanksOneToFiveAndOpsets) {
  for (int opset : {7, 9, 14, 15})
    for (const Shape& xs : {Shape{5}, Shape{4, 3}, Shape{2, 3, 7}, Shape{2, 13, 5, 6}, Shape{3, 4, 2, 3, 5}}) {
      if (xs.size() == 1 && opset < 9) continue;
      const std::int64_t c = xs.size() == 1 ? 1 : xs[1];
      const auto p = bn_params(c);
      Net net(opset);
      net.input("x", random(xs, 50));
      for (int i = 0; i < 4; ++i) net.constant(cat("p", i), p[i]);
      net.node("BatchNormalization", {"x", "p0", "p1", "p2", "p3"}, {"y"}, {{"epsilon", Attribute::of(1e-3f)}});
      const Tensor x = random(xs, 50);
      expect_near(bn_ref(x, p, 1e-3, c), net.run1("y"), 1e-5);
    }
}

TEST(BatchNorm, NonConstantParametersAndDefaultEpsilon) {
  const auto p = bn_params(3);
  const Tensor x = random({2, 3, 4, 4}, 55);
  Net net(15);
  net.input("x", x);
  for (int i = 0; i < 4; ++i) net.input(cat("p", i), p[i]);
  net.node("BatchNormalization", {"x", "p0", "p1", "p2", "p3"}, {"y"});
  expect_near(bn_ref(x, p, 1e-5, 3), net.run1("y"), 1e-5);
}

TEST(BatchNorm, PerActivationSpatialZeroAtOpset7) {
  const Tensor x = random({2, 3, 2, 2}, 56);
  const auto p = bn_params(12, {3, 2, 2});
  Net net(7);
  net.input("x", x);
  for (int i = 0; i < 4; ++i) net.constant(cat("p", i), p[i]);
  net.node("BatchNormalization", {"x", "p0", "p1", "p2", "p3"}, {"y"}, {{"spatial", Attribute::of(0)}});
  expect_near(bn_ref(x, p, 1e-5, 12), net.run1("y"), 1e-5);
}

TEST(BatchNorm, TrainingModeIsAClearError) {
  const auto p = bn_params(3);
  for (bool attr : {true, false}) {
    Net net(attr ? 15 : 9);
    net.input("x", random({1, 3, 2, 2}, 1));
    for (int i = 0; i < 4; ++i) net.constant(cat("p", i), p[i]);
    if (attr)
      net.node("BatchNormalization", {"x", "p0", "p1", "p2", "p3"}, {"y", "rm", "rv"},
               {{"training_mode", Attribute::of(1)}});
    else
      net.node("BatchNormalization", {"x", "p0", "p1", "p2", "p3"}, {"y", "m", "v", "sm", "sv"});
    try {
      net.run1("y");
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::unsupported);
      EXPECT_NE(std::string(e.what()).find("training"), std::string::npos) << e.what();
    }
  }
}

TEST(BatchNorm, WrongParameterLengthIsAShapeError) {
  auto p = bn_params(4);
  Net net(15);
  net.input("x", random({1, 3, 2, 2}, 1));
  for (int i = 0; i < 4; ++i) net.constant(cat("p", i), p[i]);
  net.node("BatchNormalization", {"x", "p0", "p1", "p2", "p3"}, {"y"});
  EXPECT_THROW(net.run1("y"), Error);
}

// ---------- Elementwise ----------

TEST(Elementwise, BinaryBroadcasting) {
  struct Case {
    Shape a, b;
  };
  for (const Case& c :
       {Case{{2, 3, 4}, {3, 1}}, Case{{1}, {2, 3}}, Case{{}, {4}}, Case{{2, 1, 4}, {1, 3, 1}}, Case{{5, 6}, {5, 6}}}) {
    const Tensor a = random(c.a, 61), b = random(c.b, 62, 0.5f, 2.0f);
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"}) {
      const Tensor aa = std::string(op) == "Pow" ? random(c.a, 61, 0.1f, 2.0f) : a;
      Net net;
      net.input("a", aa).input("b", b).node(op, {"a", "b"}, {"y"});
      const Tensor y = net.run1("y");
      const std::size_t r = std::max(c.a.size(), c.b.size());
      Shape as = c.a, bs = c.b;
      while (as.size() < r) as.insert(as.begin(), 1);
      while (bs.size() < r) bs.insert(bs.begin(), 1);
      Shape os(r);
      for (std::size_t i = 0; i < r; ++i) os[i] = std::max(as[i], bs[i]);
      ASSERT_EQ(y.shape(), os) << op;
      std::vector<double> want;
      for (std::int64_t i = 0; i < shape_numel(os); ++i) {
        std::int64_t rem = i, ao = 0, bo = 0, astr = 1, bstr = 1;
        for (std::size_t d = r; d-- > 0;) {
          const std::int64_t idx = rem % os[d];
          rem /= os[d];
          ao += (as[d] == 1 ? 0 : idx) * astr, bo += (bs[d] == 1 ? 0 : idx) * bstr;
          astr *= as[d], bstr *= bs[d];
        }
        const double x = aa.data<float>()[ao], z = b.data<float>()[bo];
        const std::string o = op;
        want.push_back(o == "Add"   ? x + z
                       : o == "Sub" ? x - z
                       : o == "Mul" ? x * z
                       : o == "Div" ? x / z
                       : o == "Max" ? std::max(x, z)
                       : o == "Min" ? std::min(x, z)
                                    : std::pow(x, z));
      }
      expect_near(want, y, 1e-5);
    }
  }
}

TEST(Elementwise, IntegerArithmeticAndComparisons) {
  const Tensor a = make_i64({4}, {7, -7, 9, 0}), b = make_i64({4}, {2, 2, -4, 5});
  Net net;
  net.input("a", a).input("b", b);
  net.node("Div", {"a", "b"}, {"d"})
      .node("Mul", {"a", "b"}, {"m"})
      .node("Less", {"a", "b"}, {"l"})
      .node("Equal", {"a", "a"}, {"e"});
  const auto r = net.run({"d", "m", "l", "e"});
  EXPECT_EQ(tensor_to_ints(r[0]), (std::vector<std::int64_t>{3, -3, -2, 0}));
  EXPECT_EQ(tensor_to_ints(r[1]), (std::vector<std::int64_t>{14, -14, -36, 0}));
  EXPECT_EQ(r[2].dtype(), DataType::boolean);
  EXPECT_EQ(tensor_to_ints(r[2]), (std::vector<std::int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(tensor_to_ints(r[3]), (std::vector<std::int64_t>{1, 1, 1, 1}));
}

TEST(Elementwise, VariadicSumMeanMaxWithBroadcast) {
  const Tensor a = random({2, 3}, 1), b = random({3}, 2), c = random({2, 1}, 3);
  Net net;
  net.input("a", a).input("b", b).input("c", c);
  net.node("Sum", {"a", "b", "c"}, {"s"}).node("Mean", {"a", "b", "c"}, {"m"}).node("Max", {"a", "b", "c"}, {"x"});
  const auto r = net.run({"s", "m", "x"});
  std::vector<double> s, m, x;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      const double va = a.data<float>()[i * 3 + j], vb = b.data<float>()[j], vc = c.data<float>()[i];
      s.push_back(va + vb + vc), m.push_back((va + vb + vc) / 3), x.push_back(std::max({va, vb, vc}));
    }
  expect_near(s, r[0], 1e-6);
  expect_near(m, r[1], 1e-6);
  expect_near(x, r[2], 0);
}

TEST(Elementwise, ActivationsMatchTheirFormulas) {
  const Tensor x = random({3, 50}, 71, -6.0f, 6.0f);
  struct Act {
    const char* op;
    Attributes attrs;
    double (*f)(double);
  };
  const std::vector<Act> acts = {
      {"Relu", {}, [](double v) { return std::max(0.0, v); }},
      {"LeakyRelu", {{"alpha", Attribute::of(0.1f)}}, [](double v) { return v >= 0 ? v : 0.1 * v; }},
      {"Sigmoid", {}, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"HardSigmoid", {}, [](double v) { return std::clamp(0.2 * v + 0.5, 0.0, 1.0); }},
      {"HardSigmoid",
       {{"alpha", Attribute::of(1.0f / 6)}, {"beta", Attribute::of(0.5f)}},
       [](double v) { return std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
      {"HardSwish", {}, [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
      {"Tanh", {}, [](double v) { return std::tanh(v); }},
      {"Elu", {}, [](double v) { return v >= 0 ? v : std::exp(v) - 1; }},
      {"Selu", {}, [](double v) { return 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * (std::exp(v) - 1)); }},
      {"Softplus", {}, [](double v) { return std::log1p(std::exp(v)); }},
      {"Exp", {}, [](double v) { return std::exp(v); }},
      {"Abs", {}, [](double v) { return std::abs(v); }},
      {"Neg", {}, [](double v) { return -v; }},
      {"Erf", {}, [](double v) { return std::erf(v); }},
      {"Floor", {}, [](double v) { return std::floor(v); }},
      {"Mish", {}, [](double v) { return v * std::tanh(std::log1p(std::exp(v))); }},
      {"Softsign", {}, [](double v) { return v / (1 + std::abs(v)); }},
      {"Celu",
       {{"alpha", Attribute::of(2.0f)}},
       [](double v) { return std::max(0.0, v) + std::min(0.0, 2 * (std::exp(v / 2) - 1)); }},
  };
  for (const Act& a : acts) {
    Net net;
    net.input("x", x).node(a.op, {"x"}, {"y"}, a.attrs);
    std::vector<double> want;
    for (float v : values(x)) want.push_back(a.f(v));
    expect_near(want, net.run1("y"), 1e-5);
  }
  Net logs;
  const Tensor pos = random({40}, 72, 0.01f, 9.0f);
  logs.input("x", pos).node("Log", {"x"}, {"l"}).node("Sqrt", {"x"}, {"s"}).node("Reciprocal", {"x"}, {"r"});
  const auto r = logs.run({"l", "s", "r"});
  std::vector<double> l, s, rc;
  for (float v : values(pos)) l.push_back(std::log(v)), s.push_back(std::sqrt(v)), rc.push_back(1.0 / v);
  expect_near(l, r[0], 1e-5);
  expect_near(s, r[1], 1e-5);
  expect_near(rc, r[2], 1e-5);
}

TEST(Elementwise, ClipAttributesBeforeOpset11InputsAfter) {
  const Tensor x = random({20}, 73, -10.0f, 10.0f);
  std::vector<double> want;
  for (float v : values(x)) want.push_back(std::clamp<double>(v, 0.0, 6.0));
  Net old(7);
  old.input("x", x).node("Clip", {"x"}, {"y"}, {{"min", Attribute::of(0.0f)}, {"max", Attribute::of(6.0f)}});
  expect_near(want, old.run1("y"), 0);
  Net now(13);
  now.input("x", x)
      .constant("lo", make({}, {0.0f}))
      .constant("hi", make({}, {6.0f}))
      .node("Clip", {"x", "lo", "hi"}, {"y"});
  expect_near(want, now.run1("y"), 0);
  Net only_max(13);
  std::vector<double> want_max;
  for (float v : values(x)) want_max.push_back(std::min<double>(v, 6.0));
  only_max.input("x", x).constant("hi", make({}, {6.0f})).node("Clip", {"x", "", "hi"}, {"y"});
  expect_near(want_max, only_max.run1("y"), 0);
}

TEST(Elementwise, PReluSlopeBroadcastsPerChannel) {
  const Tensor x = random({2, 3, 4}, 74), slope = make({3, 1}, {0.1f, 0.2f, 0.3f});
  Net net;
  net.input("x", x).constant("s", slope).node("PRelu", {"x", "s"}, {"y"});
  std::vector<double> want;
  for (int i = 0; i < 24; ++i) {
    const double v = x.data<float>()[i];
    want.push_back(v < 0 ? v * slope.data<float>()[(i / 4) % 3] : v);
  }
  expect_near(want, net.run1("y"), 1e-6);
}

TEST(Elementwise, WhereAndNot) {
  Tensor cond = Tensor::allocate(DataType::boolean, {2, 1});
  cond.data<std::uint8_t>()[0] = 1;
  Net net;
  net.input("c", cond).input("a", make({3}, {1, 2, 3})).input("b", make({2, 3}, {4, 5, 6, 7, 8, 9}));
  net.node("Where", {"c", "a", "b"}, {"y"}).node("Not", {"c"}, {"n"});
  const auto r = net.run({"y", "n"});
  expect_near({1, 2, 3, 7, 8, 9}, r[0], 0);
  EXPECT_EQ(tensor_to_ints(r[1]), (std::vector<std::int64_t>{0, 1}));
}

// ---------- Shape and data movement ----------

TEST(Shape, ReshapeCopiesZeroInfersMinusOneAndAllowzero) {
  const Tensor x = random({2, 3, 4}, 81);
  Net net(14);
  net.input("x", x).constant("s", make_i64({3}, {0, -1, 2})).node("Reshape", {"x", "s"}, {"y"});
  EXPECT_EQ(net.run1("y").shape(), (Shape{2, 6, 2}));
  Net z(14);
  z.input("x", make({0, 3}, {}))
      .constant("s", make_i64({2}, {3, 0}))
      .node("Reshape", {"x", "s"}, {"y"}, {{"allowzero", Attribute::of(1)}});
  EXPECT_EQ(z.run1("y").shape(), (Shape{3, 0}));
  Net bad;
  bad.input("x", x).constant("s", make_i64({2}, {5, -1})).node("Reshape", {"x", "s"}, {"y"});
  EXPECT_THROW(bad.run1("y"), Error);
}

TEST(Shape, TransposeMatchesIndexPermutation) {
  const Tensor x = random({2, 3, 4, 5}, 82);
  Net net;
  net.input("x", x).node("Transpose", {"x"}, {"y"}, {{"perm", Attribute::of(std::vector<std::int64_t>{2, 0, 3, 1})}});
  const Tensor y = net.run1("y");
  ASSERT_EQ(y.shape(), (Shape{4, 2, 5, 3}));
  std::vector<double> want;
  for (int c = 0; c < 4; ++c)
    for (int a = 0; a < 2; ++a)
      for (int d = 0; d < 5; ++d)
        for (int b = 0; b < 3; ++b) want.push_back(x.data<float>()[((a * 3 + b) * 4 + c) * 5 + d]);
  expect_near(want, y, 0);
}

TEST(Shape, ConcatSplitRoundTrip) {
  const Tensor a = random({2, 3, 4}, 83), b = random({2, 5, 4}, 84);
  for (int opset : {11, 13, 18}) {
    Net net(opset);
    net.input("a", a).input("b", b).node("Concat", {"a", "b"}, {"c"}, {{"axis", Attribute::of(-2)}});
    if (opset >= 13) {
      net.constant("sp", make_i64({2}, {3, 5})).node("Split", {"c", "sp"}, {"p", "q"}, {{"axis", Attribute::of(1)}});
    } else {
      net.node("Split", {"c"}, {"p", "q"},
               {{"axis", Attribute::of(1)}, {"split", Attribute::of(std::vector<std::int64_t>{3, 5})}});
    }
    const auto r = net.run({"c", "p", "q"});
    EXPECT_EQ(r[0].shape(), (Shape{2, 8, 4}));
    expect_near(tensor_to_doubles(a), r[1], 0);
    expect_near(tensor_to_doubles(b), r[2], 0);
  }
  Net even(18);
  even.input("a", random({7}, 1)).node("Split", {"a"}, {"x", "y", "z"}, {{"num_outputs", Attribute::of(3)}});
  const auto r = even.run({"x", "y", "z"});
  EXPECT_EQ(r[0].numel(), 3);
  EXPECT_EQ(r[2].numel(), 1);
}

TEST(Shape, SliceStepsClampingAndAttributeForm) {
  std::vector<float> v(30);
  for (int i = 0; i < 30; ++i) v[i] = static_cast<float>(i);
  const Tensor x = make({5, 6}, v);
  Net net(13);
  net.input("x", x)
      .constant("st", make_i64({2}, {-1, 100}))
      .constant("en", make_i64({2}, {-100, 0}))
      .constant("ax", make_i64({2}, {0, 1}))
      .constant("sp", make_i64({2}, {-2, -3}))
      .node("Slice", {"x", "st", "en", "ax", "sp"}, {"y"});
  const Tensor y = net.run1("y");
  ASSERT_EQ(y.shape(), (Shape{3, 2}));
  expect_near({29, 26, 17, 14, 5, 2}, y, 0);
  Net old(9);
  old.input("x", x).node("Slice", {"x"}, {"y"},
                         {{"starts", Attribute::of(std::vector<std::int64_t>{1})},
                          {"ends", Attribute::of(std::vector<std::int64_t>{3})},
                          {"axes", Attribute::of(std::vector<std::int64_t>{1})}});
  expect_near({1, 2, 7, 8, 13, 14, 19, 20, 25, 26}, old.run1("y"), 0);
}

TEST(Shape, SqueezeUnsqueezeAttributeAndInputForms) {
  const Tensor x = random({1, 3, 1, 2}, 85);
  Net old(11);
  old.input("x", x)
      .node("Squeeze", {"x"}, {"s"}, {{"axes", Attribute::of(std::vector<std::int64_t>{0, -2})}})
      .node("Unsqueeze", {"s"}, {"u"}, {{"axes", Attribute::of(std::vector<std::int64_t>{0, 3})}});
  auto r = old.run({"s", "u"});
  EXPECT_EQ(r[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(r[1].shape(), (Shape{1, 3, 2, 1}));
  Net now(13);
  now.input("x", x)
      .constant("a", make_i64({1}, {2}))
      .node("Squeeze", {"x", "a"}, {"s"})
      .node("Squeeze", {"x"}, {"all"});
  r = now.run({"s", "all"});
  EXPECT_EQ(r[0].shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(r[1].shape(), (Shape{3, 2}));
}

TEST(Shape, GatherNegativeIndicesAndAxis) {
  const Tensor x = make({2, 3}, {0, 1, 2, 3, 4, 5});
  Net net;
  net.input("x", x)
      .constant("i", make_i64({2}, {-1, 0}))
      .node("Gather", {"x", "i"}, {"y"}, {{"axis", Attribute::of(1)}});
  expect_near({2, 0, 5, 3}, net.run1("y"), 0);
  Net bad;
  bad.input("x", x).constant("i", make_i64({1}, {3})).node("Gather", {"x", "i"}, {"y"});
  EXPECT_THROW(bad.run1("y"), Error);
}

TEST(Shape, ShapeGatherConcatFeedReshapeAtPlanTime) {
  // The exporter idiom: the target shape is computed from the input's shape.
  Net net(13);
  net.input("x", random({2, 3, 4}, 86))
      .node("Shape", {"x"}, {"s"})
      .constant("i0", make_i64({1}, {0}))
      .constant("m1", make_i64({1}, {-1}))
      .node("Gather", {"s", "i0"}, {"n"})
      .node("Concat", {"n", "m1"}, {"t"}, {{"axis", Attribute::of(0)}})
      .node("Reshape", {"x", "t"}, {"y"});
  EXPECT_EQ(net.run1("y").shape(), (Shape{2, 12}));
}

TEST(Shape, PadModesAndOpsetForms) {
  const Tensor x = make({2, 3}, {1, 2, 3, 4, 5, 6});
  const std::vector<std::int64_t> pads = {0, 2, 1, 1};
  struct Case {
    const char* mode;
    std::vector<double> want;
  };
  for (const Case& c : {Case{"constant", {9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9, 9, 9, 9, 9, 9, 9}},
                        Case{"reflect", {3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2}},
                        Case{"edge", {1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6, 4, 4, 4, 5, 6, 6}}}) {
    Net old(7);
    old.input("x", x).node(
        "Pad", {"x"}, {"y"},
        {{"mode", Attribute::of(c.mode)}, {"pads", Attribute::of(pads)}, {"value", Attribute::of(9.0f)}});
    Net now(13);
    now.input("x", x)
        .constant("p", make_i64({4}, pads))
        .constant("v", make({}, {9.0f}))
        .node("Pad", {"x", "p", "v"}, {"y"}, {{"mode", Attribute::of(c.mode)}});
    for (Net* n : {&old, &now}) {
      const Tensor y = n->run1("y");
      ASSERT_EQ(y.shape(), (Shape{3, 6})) << c.mode;
      expect_near(c.want, y, 0);
    }
  }
}

TEST(Shape, ConstantNodeInABuiltGraph) {
  Net net;
  net.input("x", make({2}, {1, 2}))
      .node("Constant", {}, {"c"}, {{"value", Attribute::of(make({2}, {10, 20}))}})
      .node("Constant", {}, {"f"}, {{"value_float", Attribute::of(0.5f)}})
      .node("Add", {"x", "c"}, {"s"})
      .node("Mul", {"s", "f"}, {"y"});
  expect_near({5.5, 11}, net.run1("y"), 0);
}

TEST(Shape, ExpandTileRangeConstantOfShapeCast) {
  Net net(13);
  net.input("x", make({3, 1}, {1, 2, 3}))
      .constant("s", make_i64({3}, {2, 1, 2}))
      .node("Expand", {"x", "s"}, {"e"})
      .constant("r", make_i64({2}, {1, 2}))
      .node("Tile", {"x", "r"}, {"t"})
      .constant("a", make_i64({}, {10}))
      .constant("b", make_i64({}, {1}))
      .constant("d", make_i64({}, {-3}))
      .node("Range", {"a", "b", "d"}, {"rg"})
      .node("ConstantOfShape", {"s"}, {"z"}, {{"value", Attribute::of(make({1}, {7.0f}))}})
      .node("Cast", {"rg"}, {"rf"}, {{"to", Attribute::of(1)}});
  const auto r = net.run({"e", "t", "rg", "z", "rf"});
  EXPECT_EQ(r[0].shape(), (Shape{2, 3, 2}));
  expect_near({1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}, r[0], 0);
  expect_near({1, 1, 2, 2, 3, 3}, r[1], 0);
  EXPECT_EQ(tensor_to_ints(r[2]), (std::vector<std::int64_t>{10, 7, 4}));
  EXPECT_EQ(r[3].shape(), (Shape{2, 1, 2}));
  expect_near({7, 7, 7, 7}, r[3], 0);
  EXPECT_EQ(r[4].dtype(), DataType::float32);
}

TEST(Shape, DepthToSpaceAndBackInBothModes) {
  const Tensor x = random({2, 8, 3, 4}, 87);
  for (const char* mode : {"DCR", "CRD"}) {
    Net net;
    net.input("x", x)
        .node("DepthToSpace", {"x"}, {"d"}, {{"blocksize", Attribute::of(2)}, {"mode", Attribute::of(mode)}})
        .node("SpaceToDepth", {"d"}, {"s"}, {{"blocksize", Attribute::of(2)}});
    const auto r = net.run({"d", "s"});
    EXPECT_EQ(r[0].shape(), (Shape{2, 2, 6, 8}));
    // DCR: out[n, c, h*b+i, w*b+j] = in[n, (i*b + j)*C' + c, h, w]
    const float* in = x.data<float>();
    const float* out = r[0].data<float>();
    for (int c = 0; c < 2; ++c)
      for (int h = 0; h < 3; ++h)
        for (int i = 0; i < 2; ++i)
          for (int w = 0; w < 4; ++w)
            for (int j = 0; j < 2; ++j) {
              const int ch = std::string(mode) == "DCR" ? (i * 2 + j) * 2 + c : c * 4 + i * 2 + j;
              ASSERT_EQ(out[((0 * 2 + c) * 6 + h * 2 + i) * 8 + w * 2 + j], in[((0 * 8 + ch) * 3 + h) * 4 + w]) << mode;
            }
    if (std::string(mode) == "DCR") expect_near(tensor_to_doubles(x), r[1], 0);
  }
}

// ---------- Softmax and reductions ----------

TEST(Reduce, SoftmaxAxisSemanticsBeforeAndAfterOpset13) {
  const Tensor x = random({2, 3, 4}, 91, -3, 3);
  auto softmax = [&](bool coerced) {
    std::vector<double> y(24);
    if (coerced) {  // opset < 13, axis 1: rows of 12
      for (int n = 0; n < 2; ++n) {
        double s = 0;
        for (int i = 0; i < 12; ++i) s += std::exp(x.data<float>()[n * 12 + i]);
        for (int i = 0; i < 12; ++i) y[n * 12 + i] = std::exp(x.data<float>()[n * 12 + i]) / s;
      }
    } else {  // opset 13, axis 1: over the 3
      for (int n = 0; n < 2; ++n)
        for (int k = 0; k < 4; ++k) {
          double s = 0;
          for (int c = 0; c < 3; ++c) s += std::exp(x.data<float>()[(n * 3 + c) * 4 + k]);
          for (int c = 0; c < 3; ++c) y[(n * 3 + c) * 4 + k] = std::exp(x.data<float>()[(n * 3 + c) * 4 + k]) / s;
        }
    }
    return y;
  };
  Net old(11), now(13);
  old.input("x", x).node("Softmax", {"x"}, {"y"});
  now.input("x", x).node("Softmax", {"x"}, {"y"}, {{"axis", Attribute::of(1)}});
  expect_near(softmax(true), old.run1("y"), 1e-6);
  expect_near(softmax(false), now.run1("y"), 1e-6);
  Net ls(13);
  ls.input("x", x).node("LogSoftmax", {"x"}, {"y"}, {{"axis", Attribute::of(1)}});
  std::vector<double> l;
  for (double v : softmax(false)) l.push_back(std::log(v));
  expect_near(l, ls.run1("y"), 1e-5);
}

TEST(Reduce, AxesAsAttributeAndAsInput) {
  const Tensor x = random({2, 3, 4}, 92);
  std::vector<double> mean_keep, sum_drop, max_all;
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 4; ++k) {
      double s = 0;
      for (int c = 0; c < 3; ++c) s += x.data<float>()[(n * 3 + c) * 4 + k];
      mean_keep.push_back(s / 3), sum_drop.push_back(s);
    }
  max_all.push_back(*std::max_element(x.data<float>(), x.data<float>() + 24));
  Net a(13), b(18);
  a.input("x", x)
      .node("ReduceMean", {"x"}, {"m"}, {{"axes", Attribute::of(std::vector<std::int64_t>{1})}})
      .constant("ax", make_i64({1}, {-2}))
      .node("ReduceSum", {"x", "ax"}, {"s"}, {{"keepdims", Attribute::of(0)}})
      .node("ReduceMax", {"x"}, {"x_max"}, {{"keepdims", Attribute::of(0)}});
  auto r = a.run({"m", "s", "x_max"});
  EXPECT_EQ(r[0].shape(), (Shape{2, 1, 4}));
  expect_near(mean_keep, r[0], 1e-6);
  EXPECT_EQ(r[1].shape(), (Shape{2, 4}));
  expect_near(sum_drop, r[1], 1e-6);
  EXPECT_EQ(r[2].shape(), (Shape{}));
  expect_near(max_all, r[2], 0);
  b.input("x", x).constant("ax", make_i64({1}, {1})).node("ReduceMean", {"x", "ax"}, {"m"});
  expect_near(mean_keep, b.run1("m"), 1e-6);
  Net noop(18);
  noop.input("x", x).node("ReduceSum", {"x"}, {"y"}, {{"noop_with_empty_axes", Attribute::of(1)}});
  expect_near(tensor_to_doubles(x), noop.run1("y"), 0);
}

TEST(Reduce, ArgMaxFirstAndLastIndex) {
  const Tensor x = make({2, 3}, {1, 5, 5, 7, 2, 7});
  Net net;
  net.input("x", x)
      .node("ArgMax", {"x"}, {"f"}, {{"axis", Attribute::of(1)}, {"keepdims", Attribute::of(0)}})
      .node("ArgMax", {"x"}, {"l"}, {{"axis", Attribute::of(1)}, {"select_last_index", Attribute::of(1)}});
  const auto r = net.run({"f", "l"});
  EXPECT_EQ(tensor_to_ints(r[0]), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(r[1].shape(), (Shape{2, 1}));
  EXPECT_EQ(tensor_to_ints(r[1]), (std::vector<std::int64_t>{2, 2}));
}

// ---------- Resize ----------

TEST(Resize, NearestAndLinearCoordinateModes) {
  const Tensor x = make({1, 1, 2, 2}, {1, 2, 3, 4});
  // asymmetric + floor (Upsample semantics, Resize-10): each pixel repeated.
  Net up(9);
  up.input("x", x).constant("s", make({4}, {1, 1, 2, 2})).node("Upsample", {"x", "s"}, {"y"});
  expect_near({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, up.run1("y"), 0);
  // half_pixel linear, scale 2: the classic bilinear with edge clamping.
  Net lin(13);
  lin.input("x", x)
      .constant("s", make({4}, {1, 1, 2, 2}))
      .node("Resize", {"x", "", "s"}, {"y"}, {{"mode", Attribute::of("linear")}});
  expect_near({1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}, lin.run1("y"), 1e-6);
  // align_corners with sizes 3x3.
  Net ac(13);
  ac.input("x", x)
      .constant("sz", make_i64({4}, {1, 1, 3, 3}))
      .node("Resize", {"x", "", "", "sz"}, {"y"},
            {{"mode", Attribute::of("linear")}, {"coordinate_transformation_mode", Attribute::of("align_corners")}});
  expect_near({1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}, ac.run1("y"), 1e-6);
}

TEST(Ops, UnsupportedOperatorNamesTypeDomainOpsetAndNode) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1});
  g.add_node("FancyOp", {"x"}, {"y"}, {}, "my_node", 13, "com.example");
  g.add_output("y");
  try {
    Model::compile(g);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    for (const char* part : {"FancyOp", "com.example", "13", "my_node"})
      EXPECT_NE(m.find(part), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace edgert::test

// ---------- defined results for every input (cases the fuzzers found) ----------

namespace edgert::test {
namespace {

TEST(Hardening, IntegerArithmeticWrapsAndNeverTraps) {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min(),
                         kMax = std::numeric_limits<std::int64_t>::max();
  const Tensor a = make_i64({4}, {kMax, kMin, kMin, 7}), b = make_i64({4}, {2, -1, 0, 0});
  auto run = [&](const char* op) {
    Net net;
    net.input("a", a).input("b", b).node(op, {"a", "b"}, {"y"});
    return tensor_to_ints(net.run1("y"));
  };
  EXPECT_EQ(run("Mul"), (std::vector<std::int64_t>{-2, kMin, 0, 0}));  // two's-complement wrap
  EXPECT_EQ(run("Add"), (std::vector<std::int64_t>{kMin + 1, kMax, kMin, 7}));
  EXPECT_EQ(run("Div"), (std::vector<std::int64_t>{kMax / 2, kMin, 0, 0}));  // INT_MIN / -1, x / 0
  EXPECT_EQ(run("Mod"), (std::vector<std::int64_t>{1, 0, 0, 0}));
  Net neg;
  neg.input("a", a).node("Neg", {"a"}, {"y"});
  EXPECT_EQ(tensor_to_ints(neg.run1("y")), (std::vector<std::int64_t>{-kMax, kMin, kMin, -7}));
}

TEST(Hardening, CastsSaturateFloatsAndWrapIntegers) {
  Net f;
  f.input("x", make({4}, {1e20f, -1e20f, std::nanf(""), 3.7f}))
      .node("Cast", {"x"}, {"y"}, {{"to", Attribute::of(static_cast<std::int64_t>(DataType::int32))}});
  EXPECT_EQ(tensor_to_ints(f.run1("y")), (std::vector<std::int64_t>{2147483647, -2147483648LL, 0, 3}));
  Net i;
  i.input("x", Tensor::from_vector<std::int32_t>(DataType::int32, {3}, {300, -129, 5}))
      .node("Cast", {"x"}, {"y"}, {{"to", Attribute::of(static_cast<std::int64_t>(DataType::int8))}});
  EXPECT_EQ(tensor_to_ints(i.run1("y")), (std::vector<std::int64_t>{44, 127, 5}));
  // Floats read as integers (shapes, indices) saturate, NaN reads as 0 (was undefined).
  EXPECT_EQ(tensor_to_ints(make({5}, {1e20f, -1e20f, std::nanf(""), -3.7f, 1e10f})),
            (std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::max(),
                                       std::numeric_limits<std::int64_t>::min(), 0, -3, 10000000000LL}));
}

TEST(Hardening, MaxPoolWindowWhollyInPaddingGivesTheLowestValue) {
  Net net;
  net.input("x", Tensor::from_vector<std::uint8_t>(DataType::uint8, {1, 1, 1, 1}, {9}))
      .node("MaxPool", {"x"}, {"y"},
            {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{1, 1})},
             {"pads", Attribute::of(std::vector<std::int64_t>{1, 0, 0, 0})}});
  EXPECT_EQ(tensor_to_ints(net.run1("y")), (std::vector<std::int64_t>{0, 9}));
}

TEST(Hardening, AbsurdShapesAreErrorsNotOverflows) {
  const Tensor x = random({2, 3}, 1);
  Net tile;
  tile.input("x", x)
      .constant("r", make_i64({2}, {std::int64_t{1} << 40, std::int64_t{1} << 40}))
      .node("Tile", {"x", "r"}, {"y"});
  expect_error(ErrorCode::out_of_memory, "tensor size limit", [&] { tile.run1("y"); });
  Net pad;
  pad.input("x", x)
      .constant("p", make_i64({4}, {std::numeric_limits<std::int64_t>::max(), 0, 5, 0}))
      .node("Pad", {"x", "p"}, {"y"});
  expect_error(ErrorCode::shape, "overflow", [&] { pad.run1("y"); });
  Net reshape;
  reshape.input("x", x)
      .constant("s", make_i64({3}, {std::int64_t{1} << 40, std::int64_t{1} << 40, -1}))
      .node("Reshape", {"x", "s"}, {"y"});
  expect_error(ErrorCode::shape, "cannot reshape", [&] { reshape.run1("y"); });
  Net conv;
  conv.input("x", random({1, 1, 4, 4}, 2))
      .constant("w", random({1, 1, 1, 1}, 3))
      .node("Conv", {"x", "w"}, {"y"},
            {{"dilations", Attribute::of(std::vector<std::int64_t>{1, std::int64_t{1} << 62})}});
  expect_error(ErrorCode::shape, "dilations", [&] { conv.run1("y"); });
  Net gather;
  gather.input("x", x)
      .constant("i", make_i64({3, 1}, {0, 1, 0}))
      .node("GatherElements", {"x", "i"}, {"y"}, {{"axis", Attribute::of(1)}});
  expect_error(ErrorCode::shape, "exceed the data's", [&] { gather.run1("y"); });
  Net layernorm;
  layernorm.input("x", x)
      .constant("s", Tensor::from_vector<std::uint8_t>(DataType::uint8, {3}, {1, 2, 3}))
      .node("LayerNormalization", {"x", "s"}, {"y"});
  expect_error(ErrorCode::shape, "Scale and B must be float32 or float64", [&] { layernorm.run1("y"); });
  // Counts and sizes computed in floating point: NaN, infinite and huge values are errors, not
  // undefined conversions (the fuzzer found Range's).
  Net range;
  range.constant("a", make({}, {0.0f}))
      .constant("b", make({}, {1.0f}))
      .constant("d", make({}, {1e-30f}))
      .node("Range", {"a", "b", "d"}, {"y"});
  expect_error(ErrorCode::shape, "element count", [&] { range.run1("y"); });
  Net range_nan;
  range_nan.constant("a", make({}, {0.0f}))
      .constant("b", make({}, {std::numeric_limits<float>::quiet_NaN()}))
      .constant("d", make({}, {1.0f}))
      .node("Range", {"a", "b", "d"}, {"y"});
  expect_error(ErrorCode::shape, "element count", [&] { range_nan.run1("y"); });
  for (float scale : {1e30f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    Net resize;
    resize.input("x", random({1, 1, 2, 2}, 4))
        .constant("s", make({4}, {1, 1, scale, 1}))
        .node("Resize", {"x", "", "s"}, {"y"});
    expect_error(ErrorCode::shape, "output size", [&] { resize.run1("y"); });
  }
  Net one;
  one.input("x", x).node("Equal", {"x"}, {"y"});
  expect_error(ErrorCode::shape, "takes two inputs, got 1", [&] { one.run1("y"); });
}

TEST(Hardening, EveryOperatorReportsMissingInputsAsErrors) {
  // Every registered operator, with no inputs, with only omitted ("") inputs, and with a
  // float input "x" among omitted ones: each either runs or throws edgert::Error; reading an
  // input that is not there is a crash here and a sanitizer report in CI.
  const std::vector<std::vector<std::string>> input_lists = {
      {}, {""}, {"", ""}, {"", "", ""}, {"", "x"}, {"x", ""}, {"x", "", ""}, {"x", "x", "", ""}, {"x", "", "", "", ""}};
  for (const std::string& op : supported_ops())
    for (const auto& ins : input_lists) {
      SCOPED_TRACE(op + " with " + std::to_string(ins.size()) + " inputs");
      Net net;
      if (std::find(ins.begin(), ins.end(), "x") != ins.end()) net.input("x", random({1, 2, 3, 3}, 1));
      net.node(op, ins, {"y"});
      try {
        net.run1("y");
      } catch (const Error&) {
      }
    }
}

TEST(Hardening, EmptyTensorsFlowThroughWithoutTouchingMemory) {
  Net net;
  net.input("x", Tensor::allocate(DataType::float32, {3, 0, 5}))
      .node("Softmax", {"x"}, {"s"}, {{"axis", Attribute::of(1)}})
      .node("Relu", {"s"}, {"y"});
  const Tensor y = net.run1("y");
  EXPECT_EQ(y.shape(), (Shape{3, 0, 5}));
}

}  // namespace
}  // namespace edgert::test
