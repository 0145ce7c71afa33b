#include "fuse_epilogues.h"

#include <limits>
#include <set>

#include "edgert/error.h"
#include "edgert/simd/kernels.h"

namespace edgert {
namespace {

bool default_domain(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

// The activation node `n` applies, if the fused kernel can apply it.
bool activation_of(const Graph& g, const Node& n, simd::ActParams& act) {
  if (!default_domain(n) || n.outputs.size() != 1 || !n.has_input(0)) return false;
  const std::string& t = n.op_type;
  if (t == "Relu") {
    act = {simd::Act::relu, 0, 0};
  } else if (t == "LeakyRelu") {
    act = {simd::Act::leaky_relu, n.attr_float("alpha", 0.01f), 0};
  } else if (t == "HardSigmoid") {
    act = {simd::Act::hard_sigmoid, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
  } else if (t == "HardSwish") {
    act = {simd::Act::hard_swish, 0, 0};
  } else if (t == "Sigmoid") {
    act = {simd::Act::sigmoid, 0, 0};
  } else if (t == "Clip") {
    float lo = n.attr_float("min", -std::numeric_limits<float>::infinity());
    float hi = n.attr_float("max", std::numeric_limits<float>::infinity());
    for (std::size_t i = 1; i < 3; ++i) {
      if (!n.has_input(i)) continue;
      const Tensor* c = g.constant(n.inputs[i]);
      if (!c || c->numel() != 1 || c->dtype() != DataType::float32) return false;
      (i == 1 ? lo : hi) = c->data<float>()[0];
    }
    act = {simd::Act::clip, lo, hi};
  } else {
    return false;
  }
  return true;
}

// Whether value `v` depends on node `target`'s outputs (so `target` cannot read it).
bool depends_on(const Graph& g, const std::vector<int>& producers, ValueId v, std::size_t target) {
  std::vector<ValueId> stack = {v};
  std::set<ValueId> seen;
  while (!stack.empty()) {
    const ValueId x = stack.back();
    stack.pop_back();
    if (x == kNoValue || !seen.insert(x).second) continue;
    const int p = producers[x];
    if (p < 0) continue;
    if (static_cast<std::size_t>(p) == target) return true;
    for (ValueId in : g.nodes[static_cast<std::size_t>(p)].inputs) stack.push_back(in);
  }
  return false;
}

}  // namespace

void fuse_batchnorm_epilogues(Graph& g, std::vector<PassRecord>& records) {
  const std::vector<int> producers = g.producers();
  const auto consumers = g.consumers();
  std::vector<char> removed(g.nodes.size(), 0);
  // The single node reading `v`, if `v` is not a graph output and has exactly one reader.
  auto sole_reader = [&](ValueId v) -> int {
    if (v == kNoValue || g.is_graph_output(v) || consumers[v].size() != 1) return -1;
    return removed[consumers[v][0]] ? -1 : static_cast<int>(consumers[v][0]);
  };
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    Node& bn = g.nodes[i];  // a BatchNormalization or a Conv
    if (!default_domain(bn) || removed[i] || bn.has_attr("_edgert_act")) continue;
    const bool is_bn = bn.op_type == "BatchNormalization";
    if (is_bn) {
      if (bn.inputs.size() != 5 || (bn.opset < 9 && bn.attr_int("spatial", 1) == 0)) continue;
    } else if (bn.op_type != "Conv" || bn.inputs.size() < 2 || bn.inputs.size() > 3) {
      continue;
    }
    bool extra_outputs = false;
    for (std::size_t o = 1; o < bn.outputs.size(); ++o) extra_outputs |= bn.has_output(o);
    if (extra_outputs || bn.outputs.empty()) continue;
    simd::ActParams act;
    ValueId residual = kNoValue, out = bn.outputs[0];
    bool residual_first = true;
    std::vector<std::size_t> fused;
    // A residual Add whose other operand is an activation computed without this node.
    auto try_add = [&](ValueId x) -> bool {
      const int a = sole_reader(x);
      if (a < 0) return false;
      const Node& add = g.nodes[static_cast<std::size_t>(a)];
      if (add.op_type != "Add" || !default_domain(add) || add.inputs.size() != 2 || add.opset < 7) return false;
      const ValueId other = add.inputs[0] == x ? add.inputs[1] : add.inputs[0];
      if (other == x || other == kNoValue || g.constants.count(other) || depends_on(g, producers, other, i))
        return false;
      residual = other;
      fused.push_back(static_cast<std::size_t>(a));
      out = add.outputs[0];
      return true;
    };
    auto try_act = [&](ValueId x) -> bool {
      const int a = sole_reader(x);
      if (a >= 0) {
        if (!activation_of(g, g.nodes[static_cast<std::size_t>(a)], act)) return false;
        fused.push_back(static_cast<std::size_t>(a));
        out = g.nodes[static_cast<std::size_t>(a)].outputs[0];
        return true;
      }
      // x * Sigmoid(x) (SiLU, as PyTorch exports it) and x * HardSigmoid(x) with
      // HardSwish's constants (its export before opset 14): x read by exactly those two
      // nodes, the gate by the Mul alone.
      if (x == kNoValue || g.is_graph_output(x) || consumers[x].size() != 2) return false;
      for (int first = 0; first < 2; ++first) {
        const std::size_t gi = consumers[x][static_cast<std::size_t>(first)], mi = consumers[x][1 - first];
        if (removed[gi] || removed[mi]) return false;
        const Node& gate = g.nodes[gi];
        const Node& mul = g.nodes[mi];
        simd::ActParams ga;
        if (!activation_of(g, gate, ga) || sole_reader(gate.outputs[0]) != static_cast<int>(mi)) continue;
        if (mul.op_type != "Mul" || !default_domain(mul) || mul.inputs.size() != 2 || mul.outputs.size() != 1 ||
            !((mul.inputs[0] == x && mul.inputs[1] == gate.outputs[0]) ||
              (mul.inputs[1] == x && mul.inputs[0] == gate.outputs[0])))
          continue;
        if (ga.kind == simd::Act::sigmoid)
          act = {simd::Act::silu, 0, 0};
        else if (ga.kind == simd::Act::hard_sigmoid && ga.alpha == 1.0f / 6.0f && ga.beta == 0.5f)
          act = {simd::Act::hard_swish, 0, 0};
        else
          return false;
        fused.push_back(gi);
        fused.push_back(mi);
        out = mul.outputs[0];
        return true;
      }
      return false;
    };
    if (try_add(out)) {
      residual_first = true;
      try_act(out);
    } else if (try_act(out)) {
      residual_first = false;
      try_add(out);
    }
    if (fused.empty()) continue;
    std::string what;
    for (std::size_t k : fused) {
      what += (what.empty() ? "" : " and ") +
              (g.nodes[k].op_type == "Add" ? std::string("residual Add") : g.nodes[k].op_type);
      removed[k] = 1;
    }
    bn.attrs["_edgert_act"] = Attribute::of(static_cast<std::int64_t>(act.kind));
    bn.attrs["_edgert_alpha"] = Attribute::of(act.alpha);
    bn.attrs["_edgert_beta"] = Attribute::of(act.beta);
    bn.attrs["_edgert_residual_first"] = Attribute::of(residual_first ? 1 : 0);
    if (residual != kNoValue) {
      if (!is_bn) bn.inputs.resize(3, kNoValue);  // Conv: the residual is input 3, after the bias
      bn.inputs.push_back(residual);
    }
    bn.outputs[0] = out;
    for (PassRecord& r : records)
      if (r.node == bn.name && !r.folded) r.verdict += "; runs in one pass with the following " + what;
  }
  std::vector<Node> kept;
  for (std::size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

}  // namespace edgert
