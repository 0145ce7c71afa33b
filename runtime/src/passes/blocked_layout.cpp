#include "blocked_layout.h"

#include <algorithm>
#include <iterator>

#include "../ops/winograd.h"

namespace edgert {
namespace {

// pointwise and depthwise Convs read and write blocks; a `writer` (any other 2-D Conv of one
// group) gathers im2col rows from either layout into the pointwise tile kernel and writes
// blocks, or at stride 1 from whole blocks runs shifted (ConvOp's Shifted), writing either
// layout; a `converter` (a 3x3 that runs Winograd, faster on planes, unless it yields to
// shifted) unpacks a blocked input and packs its result, so the convolutions around it can
// stay blocked. A `global_pool`
// (GlobalAveragePool, GlobalMaxPool) reduces a blocked input to planes, so the chain that
// ends a classifier's backbone need not be unpacked. A `same` node reads and writes one
// layout: a 2-D MaxPool or AveragePool, an inference BatchNormalization with constant
// parameters (its fused activation included), or a Concat of channels whose inputs but the
// last fill whole blocks; blocked, its data inputs and its output all are. A
// `channel_scale` is a Mul of a map by a [n, c or 1, 1, 1] gate (squeeze-and-excitation):
// blocked, its map input (kScaleInputAttr) and its output are, the gate stays planes.
enum class Kind { other, pointwise, depthwise, writer, converter, global_pool, same, channel_scale };

bool all_equal(const std::vector<std::int64_t>& v, std::int64_t want) {
  return std::all_of(v.begin(), v.end(), [&](std::int64_t e) { return e == want; });
}

bool one_output(const Node& n) {
  if (n.outputs.empty() || n.outputs[0] == kNoValue) return false;
  for (std::size_t o = 1; o < n.outputs.size(); ++o)
    if (n.outputs[o] != kNoValue) return false;
  return true;
}

// The data inputs of a node the layout passes through (Kind::same): a Concat's every input,
// otherwise input 0 (a BatchNormalization's others are its parameters).
std::size_t data_inputs(const Node& n) { return n.op_type == "Concat" ? n.inputs.size() : 1; }

// A node the blocked layout can pass through unchanged (Kind::same). `channels` holds
// the channel count of each value a Conv or such a node writes (-1: unknown).
bool same_layout(const Graph& g, const Node& n, const std::vector<std::int64_t>& channels) {
  if (n.inputs.empty() || !one_output(n)) return false;
  for (ValueId v : n.inputs)
    if (v == kNoValue) return false;
  if (n.op_type == "MaxPool" || n.op_type == "AveragePool")
    return n.inputs.size() == 1 && n.attr_ints("kernel_shape").size() == 2;
  if (n.op_type == "BatchNormalization") {
    if (n.inputs.size() != 5 || (n.opset < 9 && n.attr_int("spatial", 1) == 0) || n.attr_int("training_mode", 0))
      return false;
    for (std::size_t i = 1; i < 5; ++i)
      if (!g.is_constant(n.inputs[i])) return false;
    return true;
  }
  if (n.op_type == "Concat") {
    const std::int64_t axis = n.attr_int("axis", 1);
    if (axis != 1 && axis != -3) return false;
    for (std::size_t i = 0; i + 1 < n.inputs.size(); ++i)
      if (channels[n.inputs[i]] < 0 || channels[n.inputs[i]] % static_cast<std::int64_t>(kBlock) != 0) return false;
    return true;
  }
  return false;
}

// The map input (0 or 1) of a Mul that scales a known map's channels by a gate of a 1x1
// map with its channel count or one channel, or -1.
int channel_scale_input(const Node& n, const KnownShapes& known) {
  if (n.op_type != "Mul" || n.opset < 7 || n.inputs.size() != 2 || !one_output(n)) return -1;
  for (int d = 0; d < 2; ++d) {
    const ValueId x = n.inputs[static_cast<std::size_t>(d)], s = n.inputs[static_cast<std::size_t>(1 - d)];
    if (x == kNoValue || s == kNoValue || x == s) return -1;
    const auto& xm = known.maps[x];
    const std::int64_t c = known.channels[x], sc = known.channels[s];
    if (xm[0] > 0 && xm[0] * xm[1] > 1 && known.maps[s] == std::array<std::int64_t, 2>{1, 1} && c > 0 &&
        (sc == c || sc == 1))
      return d;
  }
  return -1;
}

// What the Conv kernels can run in the blocked layout: 2-D, constant float weights, either
// 1x1 at stride 1 without padding and one group, or one filter per input channel, or one
// group with any kernel; and the nodes that pass the layout through. A 3x3 that suits
// Winograd is a converter unless it yields to the shifted kernel on blocks
// (Winograd23::yields_to_shifted, with the output map size when known and `half_rate`), which
// sets `yields`. `tile` gets the F(m x m, 3x3) tile of a stride-1 3x3 without a fused residual
// that suits Winograd on blocks (WinogradNc16::tile_for; 0: none), whatever its kind.
// A channel scale's map input goes to `scale_input`.
Kind kind_of(const Graph& g, const Node& n, const KnownShapes& known, bool half_rate, bool& yields, int& tile,
             std::size_t& scale_input) {
  yields = false;
  tile = 0;
  if (!n.domain.empty() && n.domain != "ai.onnx") return Kind::other;
  if (n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool")
    return n.inputs.size() == 1 && n.outputs.size() == 1 && n.outputs[0] != kNoValue ? Kind::global_pool : Kind::other;
  if (const int d = channel_scale_input(n, known); d >= 0) {
    scale_input = static_cast<std::size_t>(d);
    return Kind::channel_scale;
  }
  if (n.op_type != "Conv") return same_layout(g, n, known.channels) ? Kind::same : Kind::other;
  if (n.inputs.size() < 2 || n.inputs.size() > 4 || !one_output(n) || !g.is_constant(n.inputs[1])) return Kind::other;
  const Tensor* w = g.constant(n.inputs[1]);
  if (!w || w->dtype() != DataType::float32 || w->rank() != 4 || w->numel() == 0) return Kind::other;
  const std::int64_t group = n.attr_int("group", 1);
  if (group > 1 && w->dim(0) == group && w->dim(1) == 1) return Kind::depthwise;
  const std::string pad = n.attr_string("auto_pad", "NOTSET");
  if (group == 1 && w->dim(2) == 1 && w->dim(3) == 1 && all_equal(n.attr_ints("strides"), 1) &&
      (pad != "NOTSET" || all_equal(n.attr_ints("pads"), 0)))
    return Kind::pointwise;
  if (group != 1) return Kind::other;
  const auto& out = known.maps[n.outputs[0]];
  const std::int64_t pixels = out[0] > 0 ? out[0] * out[1] : -1;
  const bool s1_3x3 = Winograd23::stride1_3x3(w->shape(), group, n.attr_ints("strides"), n.attr_ints("dilations"));
  if (s1_3x3 && !n.has_input(3)) tile = WinogradNc16::tile_for(w->dim(0), w->dim(1), pixels);
  if (!s1_3x3 || !Winograd23::suits(w->dim(0), w->dim(1))) return Kind::writer;
  yields = Winograd23::yields_to_shifted(w->dim(0), w->dim(1), half_rate, pixels);
  return yields ? Kind::writer : Kind::converter;
}

// Output size along one axis of a Conv or pool window (ONNX's rules); -1 if it is empty.
std::int64_t window_out(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t pb,
                        std::int64_t pe, const std::string& auto_pad, bool ceil) {
  if (in < 0 || k < 1 || s < 1 || d < 1) return -1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return (in + s - 1) / s;
  if (auto_pad == "VALID") pb = pe = 0;
  const std::int64_t span = in + pb + pe - (d * (k - 1) + 1);
  if (span < 0) return -1;
  return (ceil ? (span + s - 1) / s : span / s) + 1;
}

}  // namespace

KnownShapes known_shapes(const Graph& g) {
  constexpr std::array<std::int64_t, 2> kUnknown = {-1, -1};
  KnownShapes k{std::vector<std::int64_t>(g.values.size(), -1),
                std::vector<std::array<std::int64_t, 2>>(g.values.size(), kUnknown)};
  auto& c = k.channels;
  auto& m = k.maps;
  for (ValueId v : g.inputs) {
    const ValueInfo& info = g.values[v];
    if (info.has_shape && info.dims.size() == 4 && info.dims[2].value > 0 && info.dims[3].value > 0)
      m[v] = {info.dims[2].value, info.dims[3].value};
  }
  // Nodes whose output has the spatial size of their data inputs.
  static const char* const kSame[] = {
      "Relu",     "Clip",    "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "BatchNormalization",
      "Identity", "Dropout", "Concat",    "Add",     "Mul",         "Sub",       "Div",
      "Sum",      "Max",     "Min",       "PRelu",   "Tanh"};
  // Of those, the ones with one data input that keep the channels.
  static const char* const kUnary[] = {"Relu",      "Clip",     "LeakyRelu", "Sigmoid", "HardSigmoid",
                                       "HardSwish", "Identity", "Dropout",   "Tanh"};
  auto known = [&](ValueId v) { return v != kNoValue && m[v][0] > 0; };
  // Channels: of what Convs write (the weight's first dimension), and of the pools (global
  // ones included), BatchNormalizations, channel Concats, activations and channel scales
  // made from them.
  auto channels = [&](const Node& n) -> std::int64_t {
    if (n.op_type == "Conv" && n.inputs.size() >= 2 && g.is_constant(n.inputs[1])) {
      const Tensor* w = g.constant(n.inputs[1]);
      return w && w->rank() >= 1 ? w->dim(0) : -1;
    }
    if ((n.op_type == "MaxPool" || n.op_type == "AveragePool" || n.op_type == "BatchNormalization" ||
         n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool" ||
         (n.inputs.size() == 1 && std::find(std::begin(kUnary), std::end(kUnary), n.op_type) != std::end(kUnary))) &&
        n.inputs[0] != kNoValue)
      return c[n.inputs[0]];
    if (const int d = channel_scale_input(n, k); d >= 0) return c[n.inputs[static_cast<std::size_t>(d)]];
    if (n.op_type != "Concat") return -1;
    std::int64_t v = 0;
    for (ValueId in : n.inputs) v = in == kNoValue || c[in] < 0 || v < 0 ? -1 : v + c[in];
    return v;
  };
  // Height and width: through Convs and pools (ONNX's output size rules), and the nodes
  // of kSame whose other data inputs have the same size or are constants (broadcast
  // parameters).
  auto map = [&](const Node& n) {
    std::array<std::int64_t, 2> out = kUnknown;
    if (!known(n.inputs[0])) return out;
    const auto& in = m[n.inputs[0]];
    if (n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool") return std::array<std::int64_t, 2>{1, 1};
    const bool conv = n.op_type == "Conv", pool = n.op_type == "MaxPool" || n.op_type == "AveragePool";
    if (conv || pool) {
      std::vector<std::int64_t> ks = n.attr_ints("kernel_shape");
      if (conv && ks.empty() && n.inputs.size() >= 2 && g.is_constant(n.inputs[1])) {
        const Tensor* w = g.constant(n.inputs[1]);
        if (w && w->rank() == 4) ks = {w->dim(2), w->dim(3)};
      }
      std::vector<std::int64_t> s = n.attr_ints("strides"), d = n.attr_ints("dilations"), p = n.attr_ints("pads");
      if (s.empty()) s = {1, 1};
      if (d.empty()) d = {1, 1};
      if (p.empty()) p = {0, 0, 0, 0};
      if (ks.size() != 2 || s.size() != 2 || d.size() != 2 || p.size() != 4) return out;
      const std::string pad = n.attr_string("auto_pad", "NOTSET");
      const bool ceil = pool && n.attr_int("ceil_mode", 0) != 0;
      for (int a = 0; a < 2; ++a) out[a] = window_out(in[a], ks[a], s[a], d[a], p[a], p[a + 2], pad, ceil);
      return out[0] < 1 || out[1] < 1 ? kUnknown : out;
    }
    if (const int d = channel_scale_input(n, k); d >= 0) return m[n.inputs[static_cast<std::size_t>(d)]];
    if (std::find(std::begin(kSame), std::end(kSame), n.op_type) == std::end(kSame)) return out;
    for (std::size_t i = 1; i < n.inputs.size(); ++i)
      if (n.inputs[i] != kNoValue && !g.is_constant(n.inputs[i]) && m[n.inputs[i]] != in) return out;
    return in;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (const Node& n : g.nodes) {
      if (!one_output(n) || (!n.domain.empty() && n.domain != "ai.onnx") || n.inputs.empty()) continue;
      const ValueId o = n.outputs[0];
      if (c[o] < 0 && (c[o] = channels(n)) >= 0) changed = true;
      if (!known(o) && (m[o] = map(n))[0] > 0) changed = true;
    }
  }
  return k;
}

void choose_blocked_layout(Graph& g, simd::Isa isa) {
  std::vector<Kind> kind(g.nodes.size());
  const KnownShapes known = known_shapes(g);
  const bool half_rate = isa == simd::Isa::avx512 && simd::fma512_half_rate();
  // A writer gathers whole blocks: it reads blocks only when the input channels fill them
  // (a padded block would multiply the work by up to 16). One at stride 1 without a fused
  // residual (it runs shifted: ConvOp's Shifted) reads blocks whatever layout it writes.
  std::vector<char> whole_blocks(g.nodes.size(), 0), shifts(g.nodes.size(), 0), wino_nc16(g.nodes.size(), 0);
  // A channel scale's map input (its data input; the gate stays planes).
  std::vector<std::size_t> data_slot(g.nodes.size(), 0);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    bool yields = false;
    int tile = 0;
    kind[i] = kind_of(g, n, known, half_rate, yields, tile, data_slot[i]);
    // For ConvOp:
    if (yields) n.attrs[kShiftedAttr] = Attribute::of(std::int64_t{1});
    if (tile) n.attrs[kWinogradNc16Attr] = Attribute::of(std::int64_t{tile}), wino_nc16[i] = 1;
    if (kind[i] != Kind::writer) continue;
    whole_blocks[i] = g.constant(n.inputs[1])->dim(1) % static_cast<std::int64_t>(simd::kChannelBlock) == 0;
    shifts[i] = whole_blocks[i] && all_equal(n.attr_ints("strides"), 1) && !n.has_input(3);
  }
  const std::vector<int> producers = g.producers();
  const auto consumers = g.consumers();
  // Start from every tensor a capable Conv writes, then drop tensors a reader cannot take
  // until nothing changes (a drop can make a pointwise Conv's input or a residual fail).
  std::vector<char> blocked(g.values.size(), 0);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const ValueId out = g.nodes[i].outputs.empty() ? kNoValue : g.nodes[i].outputs[0];
    if (kind[i] != Kind::other && kind[i] != Kind::global_pool && !g.is_graph_output(out) && !consumers[out].empty())
      blocked[out] = 1;
  }
  // Input 0 of any capable Conv but a pointwise or writer one whose output is planes (their
  // kernel writes blocks only; a shifting writer's copy-out writes planes too), a writer
  // with partial input blocks only when it runs Winograd on blocks; a fused residual when the
  // output is blocked.
  auto reads_blocked = [&](std::size_t c, std::size_t slot) {
    const bool out_blocked = blocked[g.nodes[c].outputs[0]] != 0;
    if (kind[c] == Kind::same) return out_blocked && slot < data_inputs(g.nodes[c]);
    if (kind[c] == Kind::channel_scale) return out_blocked && slot == data_slot[c];
    if (slot == 3) return kind[c] != Kind::other && out_blocked;
    if (slot != 0) return false;
    return kind[c] == Kind::depthwise || kind[c] == Kind::global_pool || kind[c] == Kind::converter ||
           (out_blocked && (kind[c] == Kind::pointwise || whole_blocks[c] || wino_nc16[c])) || shifts[c];
  };
  // Whether the blocked layout pays for v: a kernel at one end reads or writes it in place
  // where planes would cost a transpose or a slower kernel. A depthwise Conv always does (its
  // kernel is channel-blocked); a pointwise or writer Conv as a reader (it then writes
  // blocks too), or as the producer when its own input is blocked. A converter never does
  // (its input and output are converted either way). Either counts when it runs Winograd
  // on blocks (kWinogradNc16Attr and both its ends blocked). A `same` node does: it carries
  // the layout from one end to the other (and pools vectorise across the channels of a block).
  auto native = [&](std::size_t c, bool as_producer) {
    const Node& n = g.nodes[c];
    if (wino_nc16[c] && blocked[n.inputs[0]] && blocked[n.outputs[0]]) return true;  // Winograd on blocks
    if (kind[c] == Kind::other || kind[c] == Kind::converter || kind[c] == Kind::global_pool) return false;
    return kind[c] == Kind::depthwise || kind[c] == Kind::same || kind[c] == Kind::channel_scale || !as_producer ||
           (n.has_input(0) && blocked[n.inputs[0]] != 0);
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t v = 0; v < g.values.size(); ++v) {
      if (!blocked[v]) continue;
      const std::size_t p = static_cast<std::size_t>(producers[v]);
      bool ok = true, pays = native(p, true);
      for (std::size_t c : consumers[v])
        for (std::size_t s = 0; s < g.nodes[c].inputs.size(); ++s)
          if (g.nodes[c].inputs[s] == static_cast<ValueId>(v)) {
            if (!reads_blocked(c, s)) ok = false;
            pays = pays || native(c, false);
          }
      // The producer's fused residual shares the output's layout; so do a `same` node's
      // data inputs (a BatchNormalization's parameters are constants).
      if (kind[p] != Kind::same && kind[p] != Kind::channel_scale && g.nodes[p].has_input(3) &&
          !blocked[g.nodes[p].inputs[3]])
        ok = false;
      if (kind[p] == Kind::channel_scale && !blocked[g.nodes[p].inputs[data_slot[p]]]) ok = false;
      if (kind[p] == Kind::same)
        for (std::size_t s = 0; s < data_inputs(g.nodes[p]); ++s)
          if (!blocked[g.nodes[p].inputs[s]]) ok = false;
      if (!ok || !pays) blocked[v] = 0, changed = true;
    }
  }
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (kind[i] == Kind::other) continue;
    const std::size_t in = data_slot[i];
    const int layout =
        (n.has_input(in) && blocked[n.inputs[in]] ? kLayoutInput : 0) | (blocked[n.outputs[0]] ? kLayoutOutput : 0);
    if (layout) n.attrs[kLayoutAttr] = Attribute::of(static_cast<std::int64_t>(layout));
    if (layout && kind[i] == Kind::channel_scale) n.attrs[kScaleInputAttr] = Attribute::of(std::int64_t(in));
  }
}

}  // namespace edgert
