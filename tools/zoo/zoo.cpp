#include "zoo.h"

#include <cmath>
#include <functional>

#include "edgert/error.h"

namespace edgert::zoo {

namespace {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull) {}
  double uniform() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {  // Box-Muller, portable across standard libraries.
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t s_;
};

class Builder {
 public:
  Builder(const std::string& name, std::uint64_t seed) : rng_(seed) {
    m_.set_ir_version(7);
    m_.set_producer_name("edgert-zoo");
    m_.set_producer_version("1");
    m_.set_model_version(1);
    auto* op = m_.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    g_ = m_.mutable_graph();
    g_->set_name(name);
  }

  ::onnx::ModelProto take() { return std::move(m_); }

  std::string fresh(const std::string& prefix) { return prefix + "_" + std::to_string(++counter_); }

  void input(const std::string& name, const std::vector<std::string>& dims) {
    auto* vi = g_->add_input();
    vi->set_name(name);
    set_type(vi, dims);
  }

  static void set_type(::onnx::ValueInfoProto* vi, const std::vector<std::string>& dims) {
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(::onnx::TensorProto::FLOAT);
    for (const auto& d : dims) {
      auto* dim = tt->mutable_shape()->add_dim();
      if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0])))
        dim->set_dim_value(std::stoll(d));
      else
        dim->set_dim_param(d);
    }
  }

  void output(const std::string& name, const std::vector<std::string>& dims) {
    auto* vi = g_->add_output();
    vi->set_name(name);
    set_type(vi, dims);
  }

  std::string init(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& v) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
    return name;
  }

  std::string init_i64(const std::string& name, const std::vector<std::int64_t>& v) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(v.size()));
    for (auto x : v) t->add_int64_data(x);
    return name;
  }

  ::onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& ins,
                          const std::vector<std::string>& outs, const std::string& name = "") {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? fresh(op) : name);
    for (const auto& s : ins) n->add_input(s);
    for (const auto& s : outs) n->add_output(s);
    return n;
  }

  static void attr(::onnx::NodeProto* n, const std::string& k, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& k, float v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& k, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr(::onnx::NodeProto* n, const std::string& k, const std::vector<std::int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(k);
    a->set_type(::onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }

  // Conv with He-normal weights (fan-in), optional bias.
  std::string conv(const std::string& x, std::int64_t cin, std::int64_t cout, std::int64_t k, std::int64_t stride,
                   std::int64_t pad, std::int64_t group = 1, bool bias = false) {
    const std::string name = fresh("conv");
    const std::int64_t fan_in = cin / group * k * k;
    std::vector<float> w(static_cast<std::size_t>(cout * fan_in));
    const double sd = std::sqrt(2.0 / static_cast<double>(fan_in));
    for (auto& v : w) v = static_cast<float>(rng_.normal() * sd);
    std::vector<std::string> ins = {x, init(name + ".weight", {cout, cin / group, k, k}, w)};
    if (bias) {
      std::vector<float> b(static_cast<std::size_t>(cout));
      for (auto& v : b) v = static_cast<float>(rng_.normal() * 0.05);
      ins.push_back(init(name + ".bias", {cout}, b));
    }
    auto* n = node("Conv", ins, {name + ".out"}, name);
    attr(n, "kernel_shape", std::vector<std::int64_t>{k, k});
    attr(n, "strides", std::vector<std::int64_t>{stride, stride});
    attr(n, "pads", std::vector<std::int64_t>{pad, pad, pad, pad});
    if (group != 1) attr(n, "group", group);
    return name + ".out";
  }

  std::string bn(const std::string& x, std::int64_t c) {
    const std::string name = fresh("bn");
    std::vector<float> s(c), b(c), m(c), v(c);
    for (std::int64_t i = 0; i < c; ++i) {
      s[i] = static_cast<float>(rng_.uniform(0.8, 1.2));
      b[i] = static_cast<float>(rng_.normal() * 0.1);
      m[i] = static_cast<float>(rng_.normal() * 0.1);
      v[i] = static_cast<float>(rng_.uniform(0.5, 2.0));
    }
    auto* n = node("BatchNormalization",
                   {x, init(name + ".weight", {c}, s), init(name + ".bias", {c}, b),
                    init(name + ".running_mean", {c}, m), init(name + ".running_var", {c}, v)},
                   {name + ".out"}, name);
    attr(n, "epsilon", 1e-5f);
    return name + ".out";
  }

  std::string unary(const std::string& op, const std::string& x) {
    const std::string out = fresh(op);
    node(op, {x}, {out});
    return out;
  }
  std::string relu(const std::string& x) { return unary("Relu", x); }
  std::string clip6(const std::string& x) {
    if (!clip_lo_) {
      init("clip.min", {}, {0.0f});
      init("clip.max", {}, {6.0f});
      clip_lo_ = true;
    }
    const std::string out = fresh("relu6");
    node("Clip", {x, "clip.min", "clip.max"}, {out});
    return out;
  }
  // SiLU (Swish) as PyTorch exports it: x * Sigmoid(x).
  std::string silu(const std::string& x) { return mul(x, unary("Sigmoid", x)); }
  std::string mul(const std::string& a, const std::string& b) {
    const std::string out = fresh("mul");
    node("Mul", {a, b}, {out});
    return out;
  }
  std::string add(const std::string& a, const std::string& b) {
    const std::string out = fresh("add");
    node("Add", {a, b}, {out});
    return out;
  }
  std::string pool(const std::string& op, const std::string& x, std::int64_t k, std::int64_t s, std::int64_t p) {
    const std::string out = fresh(op);
    auto* n = node(op, {x}, {out});
    attr(n, "kernel_shape", std::vector<std::int64_t>{k, k});
    attr(n, "strides", std::vector<std::int64_t>{s, s});
    attr(n, "pads", std::vector<std::int64_t>{p, p, p, p});
    return out;
  }
  std::string concat(const std::vector<std::string>& xs) {
    const std::string out = fresh("concat");
    attr(node("Concat", xs, {out}), "axis", std::int64_t{1});
    return out;
  }
  // GlobalAveragePool -> Flatten -> Gemm (classifier).
  std::string head(const std::string& x, std::int64_t c, std::int64_t classes, const std::string& out) {
    const std::string gap = unary("GlobalAveragePool", x);
    const std::string flat = fresh("flatten");
    attr(node("Flatten", {gap}, {flat}), "axis", std::int64_t{1});
    std::vector<float> w(static_cast<std::size_t>(classes * c)), b(static_cast<std::size_t>(classes));
    const double sd = std::sqrt(1.0 / static_cast<double>(c));
    for (auto& v : w) v = static_cast<float>(rng_.normal() * sd);
    for (auto& v : b) v = static_cast<float>(rng_.normal() * 0.01);
    auto* n = node("Gemm", {flat, init("fc.weight", {classes, c}, w), init("fc.bias", {classes}, b)}, {out}, "fc");
    attr(n, "transB", std::int64_t{1});
    return out;
  }
  Rng& rng() { return rng_; }

 private:
  ::onnx::ModelProto m_;
  ::onnx::GraphProto* g_;
  Rng rng_;
  int counter_ = 0;
  bool clip_lo_ = false;
};

// ResNet-50 v1.5: the stride sits on the 3x3 convolution of each bottleneck.
::onnx::ModelProto resnet50(std::uint64_t seed) {
  Builder b("resnet50", seed);
  b.input("input", {"N", "3", "224", "224"});
  std::string x = b.relu(b.bn(b.conv("input", 3, 64, 7, 2, 3), 64));
  x = b.pool("MaxPool", x, 3, 2, 1);
  std::int64_t cin = 64;
  const std::int64_t widths[4] = {64, 128, 256, 512}, blocks[4] = {3, 4, 6, 3};
  for (int stage = 0; stage < 4; ++stage) {
    for (std::int64_t i = 0; i < blocks[stage]; ++i) {
      const std::int64_t w = widths[stage], cout = 4 * w, stride = (i == 0 && stage > 0) ? 2 : 1;
      std::string y = b.relu(b.bn(b.conv(x, cin, w, 1, 1, 0), w));
      y = b.relu(b.bn(b.conv(y, w, w, 3, stride, 1), w));
      y = b.bn(b.conv(y, w, cout, 1, 1, 0), cout);
      std::string shortcut = x;
      if (i == 0) shortcut = b.bn(b.conv(x, cin, cout, 1, stride, 0), cout);
      x = b.relu(b.add(y, shortcut));
      cin = cout;
    }
  }
  b.head(x, cin, 1000, "logits");
  b.output("logits", {"N", "1000"});
  return b.take();
}

// An inverted-residual (MBConv) classifier, MobileNetV2's and EfficientNet-B0's: a 3x3
// stride-2 stem of 32 channels, then per block of the stages an expanding 1x1 (when the
// ratio is not 1), a depthwise k x k, with `se` a squeeze-and-excitation gate (global pool,
// 1x1 to a quarter of the block's input channels, act, 1x1 back, Sigmoid, broadcasting
// Mul), a projecting 1x1 without activation and the residual Add where the shape stays; a
// 1x1 to 1280 channels and the classifier head. Each convolution is followed by
// BatchNormalization but the gate's, which have biases; `act` is the Builder's activation.
struct MbStage {
  std::int64_t expand, cout, repeats, stride, kernel;
};
::onnx::ModelProto mbconv_classifier(const std::string& name, std::uint64_t seed, const std::vector<MbStage>& stages,
                                     std::string (Builder::*act_of)(const std::string&), bool se) {
  Builder b(name, seed);
  auto act = [&](const std::string& v) { return (b.*act_of)(v); };
  b.input("input", {"N", "3", "224", "224"});
  std::string x = act(b.bn(b.conv("input", 3, 32, 3, 2, 1), 32));
  std::int64_t cin = 32;
  for (const MbStage& c : stages)
    for (std::int64_t i = 0; i < c.repeats; ++i) {
      const std::int64_t stride = i == 0 ? c.stride : 1, hidden = cin * c.expand, cout = c.cout, k = c.kernel;
      std::string y = x;
      if (c.expand != 1) y = act(b.bn(b.conv(y, cin, hidden, 1, 1, 0), hidden));
      y = act(b.bn(b.conv(y, hidden, hidden, k, stride, k / 2, hidden), hidden));
      if (se) {
        const std::int64_t squeezed = std::max<std::int64_t>(1, cin / 4);
        std::string s = b.unary("GlobalAveragePool", y);
        s = act(b.conv(s, hidden, squeezed, 1, 1, 0, 1, true));
        s = b.unary("Sigmoid", b.conv(s, squeezed, hidden, 1, 1, 0, 1, true));
        y = b.mul(y, s);
      }
      y = b.bn(b.conv(y, hidden, cout, 1, 1, 0), cout);
      x = (stride == 1 && cin == cout) ? b.add(x, y) : y;
      cin = cout;
    }
  x = act(b.bn(b.conv(x, cin, 1280, 1, 1, 0), 1280));
  b.head(x, 1280, 1000, "logits");
  b.output("logits", {"N", "1000"});
  return b.take();
}

// MobileNetV2 1.0: 3x3 depthwise convolutions, Clip 0..6.
::onnx::ModelProto mobilenetv2(std::uint64_t seed) {
  return mbconv_classifier("mobilenetv2", seed,
                           {{1, 16, 1, 1, 3},
                            {6, 24, 2, 2, 3},
                            {6, 32, 3, 2, 3},
                            {6, 64, 4, 2, 3},
                            {6, 96, 3, 1, 3},
                            {6, 160, 3, 2, 3},
                            {6, 320, 1, 1, 3}},
                           &Builder::clip6, false);
}

// EfficientNet-B0: 3x3 and 5x5 depthwise convolutions, squeeze-and-excitation, SiLU written
// as x * Sigmoid(x) (as PyTorch exports it).
::onnx::ModelProto efficientnet_b0(std::uint64_t seed) {
  return mbconv_classifier("efficientnet_b0", seed,
                           {{1, 16, 1, 1, 3},
                            {6, 24, 2, 2, 3},
                            {6, 40, 2, 2, 5},
                            {6, 80, 3, 2, 3},
                            {6, 112, 3, 1, 5},
                            {6, 192, 4, 2, 5},
                            {6, 320, 1, 1, 3}},
                           &Builder::silu, true);
}

// DenseNet-121: pre-activation BN -> Relu -> Conv inside dense layers, BN after Concat.
::onnx::ModelProto densenet(const std::string& name, std::uint64_t seed, std::int64_t growth,
                            const std::vector<std::int64_t>& blocks, std::int64_t init_c, std::int64_t size,
                            std::int64_t classes) {
  Builder b(name, seed);
  b.input("input", {"N", "3", std::to_string(size), std::to_string(size)});
  std::string x = b.relu(b.bn(b.conv("input", 3, init_c, 7, 2, 3), init_c));
  x = b.pool("MaxPool", x, 3, 2, 1);
  std::int64_t c = init_c;
  for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
    std::vector<std::string> feats = {x};
    for (std::int64_t l = 0; l < blocks[bi]; ++l) {
      const std::string in = feats.size() == 1 ? feats[0] : b.concat(feats);
      std::string y = b.conv(b.relu(b.bn(in, c)), c, 4 * growth, 1, 1, 0);
      y = b.conv(b.relu(b.bn(y, 4 * growth)), 4 * growth, growth, 3, 1, 1);
      feats.push_back(y);
      c += growth;
    }
    x = b.concat(feats);
    if (bi + 1 < blocks.size()) {
      x = b.conv(b.relu(b.bn(x, c)), c, c / 2, 1, 1, 0);
      x = b.pool("AveragePool", x, 2, 2, 0);
      c /= 2;
    }
  }
  x = b.relu(b.bn(x, c));
  b.head(x, c, classes, "logits");
  b.output("logits", {"N", std::to_string(classes)});
  return b.take();
}

::onnx::ModelProto tiny_cnn(std::uint64_t seed) {
  Builder b("tiny_cnn", seed);
  b.input("input", {"N", "3", "32", "32"});
  std::string x = b.relu(b.bn(b.conv("input", 3, 16, 3, 1, 1, 1, true), 16));
  x = b.pool("MaxPool", x, 2, 2, 0);
  std::string y = b.relu(b.bn(b.conv(x, 16, 16, 3, 1, 1), 16));
  y = b.bn(b.conv(y, 16, 16, 3, 1, 1, 16), 16);
  x = b.relu(b.add(x, y));
  b.head(x, 16, 10, "logits");
  b.output("logits", {"N", "10"});
  return b.take();
}

// Dynamic spatial size; exercises Shape/Gather/Concat shape arithmetic, Resize, HardSigmoid,
// MatMul and Softmax, the way exporters write them.
::onnx::ModelProto tiny_dynamic(std::uint64_t seed) {
  Builder b("tiny_dynamic", seed);
  b.input("input", {"N", "3", "H", "W"});
  std::string x = b.bn(b.conv("input", 3, 8, 3, 2, 1), 8);
  x = b.unary("HardSigmoid", x);
  // Upsample back by 2 with sizes computed from the input's shape.
  const std::string shape = b.fresh("shape"), hw = b.fresh("hw"), sizes = b.fresh("sizes"), nc = b.fresh("nc");
  b.node("Shape", {x}, {shape});
  b.init_i64("idx.nc", {0, 1});
  b.init_i64("idx.hw", {2, 3});
  b.init_i64("two", {2, 2});
  b.node("Gather", {shape, "idx.nc"}, {nc});
  const std::string hw0 = b.fresh("hw0");
  b.node("Gather", {shape, "idx.hw"}, {hw0});
  b.node("Mul", {hw0, "two"}, {hw});
  Builder::attr(b.node("Concat", {nc, hw}, {sizes}), "axis", std::int64_t{0});
  const std::string up = b.fresh("resize");
  auto* r = b.node("Resize", {x, "", "", sizes}, {up});
  Builder::attr(r, "mode", std::string("nearest"));
  // Global pooling, then a MatMul classifier and Softmax.
  const std::string gap = b.unary("GlobalAveragePool", up);
  const std::string flat = b.fresh("flatten");
  b.node("Flatten", {gap}, {flat});
  std::vector<float> w(8 * 5);
  for (auto& v : w) v = static_cast<float>(b.rng().normal() * 0.5);
  const std::string mm = b.fresh("matmul");
  b.node("MatMul", {flat, b.init("head.weight", {8, 5}, w)}, {mm});
  Builder::attr(b.node("Softmax", {mm}, {"probs"}), "axis", std::int64_t{-1});
  b.output("probs", {"N", "5"});
  return b.take();
}

// A single BatchNormalization on [N, 256, 56, 56]: the standalone kernel against memory.
::onnx::ModelProto bn_only(std::uint64_t seed) {
  Builder b("bn_only", seed);
  b.input("input", {"N", "256", "56", "56"});
  const std::string y = b.bn("input", 256);
  b.output(y, {"N", "256", "56", "56"});
  return b.take();
}

}  // namespace

const std::vector<Entry>& list() {
  static const std::vector<Entry> entries = {
      {"resnet50", "ResNet-50 v1.5, 1x3x224x224 (batch N), Conv->BN->Relu unfused, 25.6 M parameters"},
      {"mobilenetv2", "MobileNetV2 1.0, 1x3x224x224 (batch N), depthwise convolutions, Clip 0..6"},
      {"efficientnet_b0",
       "EfficientNet-B0, 1x3x224x224 (batch N), SiLU as x * Sigmoid(x), squeeze-and-excitation, 5x5 depthwise"},
      {"densenet121", "DenseNet-121, 1x3x224x224 (batch N), pre-activation BN->Relu->Conv, BN after Concat"},
      {"tiny_cnn", "small CNN for tests, 1x3x32x32: conv+bias, BN, depthwise, residual Add, Gemm"},
      {"tiny_densenet", "small DenseNet for tests, 1x3x64x64: pre-activation BN, BN after Concat"},
      {"tiny_dynamic", "small model with free H and W: Shape arithmetic, Resize, HardSigmoid, MatMul, Softmax"},
      {"bn_only", "one BatchNormalization on Nx256x56x56 (batch N), for the standalone kernel"},
  };
  return entries;
}

::onnx::ModelProto build(const std::string& name, std::uint64_t seed) {
  if (name == "resnet50") return resnet50(seed);
  if (name == "mobilenetv2") return mobilenetv2(seed);
  if (name == "efficientnet_b0") return efficientnet_b0(seed);
  if (name == "densenet121") return densenet("densenet121", seed, 32, {6, 12, 24, 16}, 64, 224, 1000);
  if (name == "tiny_cnn") return tiny_cnn(seed);
  if (name == "tiny_densenet") return densenet("tiny_densenet", seed, 8, {2, 3}, 16, 64, 10);
  if (name == "tiny_dynamic") return tiny_dynamic(seed);
  if (name == "bn_only") return bn_only(seed);
  std::string names;
  for (const Entry& e : list()) names += (names.empty() ? "" : ", ") + e.name;
  fail(ErrorCode::invalid_argument, "unknown zoo model '", name, "' (", names, ")");
}

}  // namespace edgert::zoo
