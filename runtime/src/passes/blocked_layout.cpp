#include "blocked_layout.h"

#include <algorithm>

#include "../ops/winograd.h"

namespace edgert {
namespace {

// pointwise and depthwise Convs read and write blocks; `writer`: any other 2-D Conv of one
// group writes them (im2col into the pointwise tile kernel) from planes.
enum class Kind { other, pointwise, depthwise, writer };

bool all_equal(const std::vector<std::int64_t>& v, std::int64_t want) {
  return std::all_of(v.begin(), v.end(), [&](std::int64_t e) { return e == want; });
}

// What the Conv kernels can run in the blocked layout: 2-D, constant float weights, either
// 1x1 at stride 1 without padding and one group, or one filter per input channel, or (as a
// writer) one group with any kernel except the 3x3s Winograd runs faster on planes.
Kind kind_of(const Graph& g, const Node& n) {
  if ((!n.domain.empty() && n.domain != "ai.onnx") || n.op_type != "Conv" || n.inputs.size() < 2 ||
      n.inputs.size() > 4 || n.outputs.empty() || n.outputs[0] == kNoValue || !g.is_constant(n.inputs[1]))
    return Kind::other;
  for (std::size_t o = 1; o < n.outputs.size(); ++o)
    if (n.outputs[o] != kNoValue) return Kind::other;
  const Tensor* w = g.constant(n.inputs[1]);
  if (!w || w->dtype() != DataType::float32 || w->rank() != 4 || w->numel() == 0) return Kind::other;
  const std::int64_t group = n.attr_int("group", 1);
  if (group > 1 && w->dim(0) == group && w->dim(1) == 1) return Kind::depthwise;
  const std::string pad = n.attr_string("auto_pad", "NOTSET");
  if (group == 1 && w->dim(2) == 1 && w->dim(3) == 1 && all_equal(n.attr_ints("strides"), 1) &&
      (pad != "NOTSET" || all_equal(n.attr_ints("pads"), 0)))
    return Kind::pointwise;
  if (group != 1) return Kind::other;
  const bool winograd = w->dim(2) == 3 && w->dim(3) == 3 && all_equal(n.attr_ints("strides"), 1) &&
                        all_equal(n.attr_ints("dilations"), 1) && Winograd23::suits(w->dim(0), w->dim(1));
  return winograd ? Kind::other : Kind::writer;
}

}  // namespace

void choose_blocked_layout(Graph& g) {
  std::vector<Kind> kind(g.nodes.size());
  for (std::size_t i = 0; i < g.nodes.size(); ++i) kind[i] = kind_of(g, g.nodes[i]);
  const std::vector<int> producers = g.producers();
  const auto consumers = g.consumers();
  // Start from every tensor a capable Conv writes, then drop tensors a reader cannot take
  // until nothing changes (a drop can make a pointwise Conv's input or a residual fail).
  std::vector<char> blocked(g.values.size(), 0);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const ValueId out = g.nodes[i].outputs.empty() ? kNoValue : g.nodes[i].outputs[0];
    if (kind[i] != Kind::other && !g.is_graph_output(out) && !consumers[out].empty()) blocked[out] = 1;
  }
  auto reads_blocked = [&](std::size_t c, std::size_t slot) {
    const Node& n = g.nodes[c];
    const bool out_blocked = blocked[n.outputs[0]] != 0;
    if (kind[c] == Kind::depthwise) return slot == 0 || (slot == 3 && out_blocked);
    if (kind[c] == Kind::pointwise) return (slot == 0 || slot == 3) && out_blocked;
    if (kind[c] == Kind::writer) return slot == 3 && out_blocked;
    return false;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t v = 0; v < g.values.size(); ++v) {
      if (!blocked[v]) continue;
      bool ok = true;
      for (std::size_t c : consumers[v])
        for (std::size_t s = 0; s < g.nodes[c].inputs.size(); ++s)
          if (g.nodes[c].inputs[s] == static_cast<ValueId>(v) && !reads_blocked(c, s)) ok = false;
      // The writer's fused residual shares the output's layout.
      const Node& p = g.nodes[static_cast<std::size_t>(producers[v])];
      if (p.has_input(3) && !blocked[p.inputs[3]]) ok = false;
      if (!ok) blocked[v] = 0, changed = true;
    }
  }
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (kind[i] == Kind::other) continue;
    const int layout =
        (n.has_input(0) && blocked[n.inputs[0]] ? kLayoutInput : 0) | (blocked[n.outputs[0]] ? kLayoutOutput : 0);
    if (layout) n.attrs[kLayoutAttr] = Attribute::of(static_cast<std::int64_t>(layout));
  }
}

}  // namespace edgert
