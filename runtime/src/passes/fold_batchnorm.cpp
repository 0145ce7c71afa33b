#include "fold_batchnorm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "../exec/thread_pool.h"
#include "../ops/op.h"
#include "edgert/bn_fold.h"
#include "edgert/error.h"

namespace edgert {
namespace {

bool is_default_domain(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

bool foldable_type(DataType t) {
  return t == DataType::float32 || t == DataType::float64 || t == DataType::float16 || t == DataType::bfloat16;
}

struct Decline {
  std::string reason;
};

// A fresh value name based on `base` that no value in `g` has.
std::string unique_name(const Graph& g, const std::string& base) {
  if (g.find(base) == kNoValue) return base;
  for (int i = 1;; ++i) {
    const std::string candidate = cat(base, "_", i);
    if (g.find(candidate) == kNoValue) return candidate;
  }
}

// A node that maps its data input through a per-channel affine map.
struct Link {
  std::size_t node;
  fold::Affine f;
  std::vector<std::int64_t> key;  // what the map depends on, for sharing identical folds
};

class Folder {
 public:
  Folder(Graph& g, std::vector<PassRecord>& records) : g_(g), records_(records) {}

  void run() {
    std::vector<char> removed(g_.nodes.size(), 0);
    std::map<std::size_t, PassRecord> verdict;  // per BatchNormalization node
    for (bool changed = true; changed;) {
      changed = false;
      const std::vector<int> producers = g_.producers();
      const auto consumers = g_.consumers();
      for (std::size_t i = 0; i < g_.nodes.size() && !changed; ++i) {
        const Node& n = g_.nodes[i];
        const bool bn = is_bn(n);
        if (removed[i] || (!bn && !is_arith(n)) || (bn && verdict.count(i) && verdict[i].folded)) continue;
        try {
          pending_.clear();
          const auto [p, chain] = fold_chain(i, producers, consumers);
          const Node& prod = g_.nodes[p];
          for (std::size_t k : chain) {
            removed[k] = 1;
            if (!is_bn(g_.nodes[k])) continue;
            PassRecord r{g_.nodes[k].name,   "BatchNormalization", "", true, prod.name, "", "",
                         g_.nodes[k].source, prod.source};
            r.verdict = cat("folded into ", prod.op_type, " '", prod.name, "'");
            r.weight = g_.values[prod.inputs[1]].name;
            r.bias = g_.values[prod.inputs[2]].name;
            verdict[k] = r;
          }
          for (std::size_t k : chain) g_.nodes[k].inputs.clear(), g_.nodes[k].outputs.clear();
          changed = true;  // producers and consumers changed: start over
        } catch (const Decline& d) {
          pending_.clear();
          if (!bn) continue;
          try {
            const auto [c, leaving] = fold_forward(i, consumers);
            const Node& conv = g_.nodes[c];
            verdict[i] = PassRecord{n.name,
                                    "BatchNormalization",
                                    cat("folded forward into Conv '", conv.name, "'"),
                                    true,
                                    conv.name,
                                    g_.values[conv.inputs[1]].name,
                                    g_.values[conv.inputs[2]].name,
                                    n.source,
                                    conv.source};
            for (std::size_t k : leaving) {
              removed[k] = 1;
              g_.nodes[k].inputs.clear(), g_.nodes[k].outputs.clear();
            }
            changed = true;
          } catch (const Decline& fwd) {
            pending_.clear();
            verdict[i] = PassRecord{n.name,
                                    "BatchNormalization",
                                    "kept: standalone inference BatchNormalization (not folded: " + d.reason +
                                        "; nor forward: " + fwd.reason + ")",
                                    false,
                                    "",
                                    "",
                                    "",
                                    n.source,
                                    -1};
          }
        }
      }
    }
    for (const auto& [i, r] : verdict) records_.push_back(r);
    std::vector<Node> kept;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i)
      if (!removed[i]) kept.push_back(std::move(g_.nodes[i]));
    g_.nodes = std::move(kept);
    drop_unused_constants(g_);
  }

 private:
  static bool is_bn(const Node& n) { return n.op_type == "BatchNormalization" && is_default_domain(n); }
  static bool is_arith(const Node& n) {
    return is_default_domain(n) && n.opset >= 7 &&
           (n.op_type == "Mul" || n.op_type == "Add" || n.op_type == "Sub" || n.op_type == "Div");
  }

  const Tensor& constant_input(const Node& n, std::size_t i, const char* what) {
    if (!n.has_input(i)) throw Decline{cat(n.op_type, " '", n.name, "' has no ", what)};
    const ValueId v = n.inputs[i];
    if (g_.is_overridable(v))
      throw Decline{cat(what, " '", g_.values[v].name, "' of ", n.op_type, " '", n.name,
                        "' is a graph input the caller may override")};
    const Tensor* t = g_.constant(v);
    if (!t) t = evaluate(v, 0);
    if (!t) throw Decline{cat(what, " '", g_.values[v].name, "' of ", n.op_type, " '", n.name, "' is not a constant")};
    if (!foldable_type(t->dtype()))
      throw Decline{cat(what, " '", g_.values[v].name, "' is ", dtype_name(t->dtype()), ", not a floating type")};
    return *t;
  }

  // Evaluates `v` when it is computed from constants only, by a few side-effect-free
  // operators (an Identity or Cast of an initializer, as exporters write); the result is
  // kept pending and becomes a constant only if the fold it serves goes ahead.
  const Tensor* evaluate(ValueId v, int depth) {
    if (auto it = pending_.find(v); it != pending_.end()) return &it->second.value;
    if (depth > 8 || g_.is_overridable(v) || g_.is_graph_input(v)) return nullptr;
    static const std::set<std::string> pure = {
        "Identity", "Cast",       "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Neg", "Abs",
        "Sqrt",     "Reciprocal", "Add",     "Sub",     "Mul",     "Div",       "Pow",       "Exp", "Log",
        "Concat",   "Slice",      "Gather",  "Expand",  "Clip",    "Max",       "Min",       "Relu"};
    std::size_t p = g_.nodes.size();
    for (std::size_t i = 0; i < g_.nodes.size(); ++i)
      if (g_.nodes[i].outputs.size() == 1 && g_.nodes[i].outputs[0] == v) p = i;
    if (p == g_.nodes.size()) return nullptr;
    const Node& n = g_.nodes[p];
    if (!is_default_domain(n) || !pure.count(n.op_type)) return nullptr;
    std::vector<const Tensor*> ins;
    for (ValueId in : n.inputs) {
      if (in == kNoValue) {
        ins.push_back(nullptr);
        continue;
      }
      const Tensor* t = g_.is_overridable(in) ? nullptr : g_.constant(in);
      if (!t) t = evaluate(in, depth + 1);
      if (!t) return nullptr;
      ins.push_back(t);
    }
    try {
      static ThreadPool pool(1);
      const CreateContext cc{n, g_, simd::kernels_up_to(simd::Isa::scalar)};
      const std::unique_ptr<Op> op = create_op(cc);
      InferContext ic{n, ins, {}, 0, std::size_t{64} << 20, 1, std::vector<char>(ins.size(), 1), {}};
      op->infer(ic);
      Tensor out = Tensor::allocate(ic.outputs.at(0).dtype(), ic.outputs.at(0).shape());
      std::shared_ptr<void> scratch;
      if (ic.scratch_bytes) scratch = aligned_alloc_shared(ic.scratch_bytes);
      Tensor* outs[1] = {&out};
      op->run(RunContext{n, ins.data(), ins.size(), outs, 1, scratch.get(), &pool, cc.kernels});
      auto [it, inserted] = pending_.emplace(v, Pending{std::move(out), p});
      return &it->second.value;
    } catch (const Error&) {
      return nullptr;
    }
  }

  // Makes the evaluations a successful fold used permanent: their values become
  // constants and the nodes that computed them leave the graph.
  void commit_pending(std::vector<std::size_t>& removed_nodes) {
    for (auto& [v, pend] : pending_) {
      g_.constants[v] = std::move(pend.value);
      g_.nodes[pend.node].inputs.clear();
      g_.nodes[pend.node].outputs.clear();
      removed_nodes.push_back(pend.node);
    }
    pending_.clear();
  }

  // The data input of an affine node.
  ValueId data_input(const Node& n) const {
    if (is_bn(n) || n.inputs.size() != 2) return n.has_input(0) ? n.inputs[0] : kNoValue;
    return g_.constant(n.inputs[1]) ? n.inputs[0] : n.inputs[1];
  }

  // The per-channel map node `i` applies to a tensor of `rank` with `channels` on axis 1.
  Link link_of(std::size_t i, std::int64_t rank, std::int64_t channels) {
    const Node& n = g_.nodes[i];
    Link l{i, {}, {}};
    if (is_bn(n)) {
      if (n.opset >= 14 && n.attr_int("training_mode", 0) != 0) throw Decline{"training mode"};
      for (std::size_t o = 1; o < n.outputs.size(); ++o)
        if (n.has_output(o)) throw Decline{"training mode (its running or saved statistics are outputs)"};
      if (n.opset < 9 && n.attr_int("spatial", 1) == 0) throw Decline{"spatial=0 (per-activation statistics)"};
      if (n.inputs.size() < 5 || !n.has_input(0)) throw Decline{"it does not have five inputs"};
      const char* names[4] = {"scale", "B", "mean", "var"};
      std::vector<double> p[4];
      for (int k = 0; k < 4; ++k) {
        const Tensor& t = constant_input(n, static_cast<std::size_t>(k + 1), names[k]);
        if (t.rank() != 1) throw Decline{cat(names[k], " is not a rank-1 tensor (shape ", shape_str(t.shape()), ")")};
        p[k] = tensor_to_doubles(t);
        l.key.push_back(n.inputs[static_cast<std::size_t>(k + 1)]);
      }
      for (int k = 1; k < 4; ++k)
        if (p[k].size() != p[0].size()) throw Decline{"scale, B, mean and var differ in length"};
      const float eps = n.attr_float("epsilon", 1e-5f);
      std::int64_t bits = 0;
      std::memcpy(&bits, &eps, sizeof eps);
      l.key.push_back(bits);
      l.f = fold::bn_affine(p[0], p[1], p[2], p[3], eps);
      if (!fold::affine_finite(l.f)) throw Decline{"var + epsilon is not positive in some channel"};
      return l;
    }
    // Mul, Add, Sub or Div by a constant that varies at most along the channel axis.
    const bool const_second = g_.constant(n.inputs[1]) != nullptr;
    const std::size_t ci = const_second ? 1 : 0;
    const Tensor& c = constant_input(n, ci, "operand");
    if (c.rank() > static_cast<std::size_t>(rank)) throw Decline{"the operand has a higher rank than the data"};
    const std::size_t off = static_cast<std::size_t>(rank) - c.rank();
    for (std::size_t d = 0; d < c.rank(); ++d) {
      const bool channel_axis = d + off == 1;
      if (c.dim(d) != 1 && !(channel_axis && c.dim(d) == channels)) throw Decline{"the operand is not per-channel"};
    }
    const std::vector<double> v = tensor_to_doubles(c);
    std::vector<double> per(static_cast<std::size_t>(channels));
    for (std::size_t k = 0; k < per.size(); ++k) per[k] = v.size() == 1 ? v[0] : v[k];
    l.f.a.assign(per.size(), 1.0);
    l.f.s.assign(per.size(), 0.0);
    const std::string& op = n.op_type;
    for (std::size_t k = 0; k < per.size(); ++k) {
      if (op == "Mul") l.f.a[k] = per[k];
      if (op == "Add") l.f.s[k] = per[k];
      if (op == "Sub") const_second ? (l.f.s[k] = -per[k]) : (l.f.a[k] = -1.0, l.f.s[k] = per[k]);
      if (op == "Div") {
        if (!const_second) throw Decline{"dividing a constant by the data is not affine"};
        if (per[k] == 0.0) throw Decline{"division by zero"};
        l.f.a[k] = 1.0 / per[k];
      }
    }
    l.key = {n.inputs[ci], static_cast<std::int64_t>(op[0]), static_cast<std::int64_t>(ci)};
    return l;
  }

  // Folds the chain of affine nodes starting at node `i` into the producer of its data
  // input; returns the producer's index and the chain. Throws Decline with the reason.
  std::pair<std::size_t, std::vector<std::size_t>> fold_chain(std::size_t i, const std::vector<int>& producers,
                                                              const std::vector<std::vector<std::size_t>>& consumers) {
    const Node& first = g_.nodes[i];
    if (is_bn(first)) link_of_checks_only(i);  // BN-specific declines come before producer ones
    const ValueId x = data_input(first);
    if (x == kNoValue) throw Decline{"it has no data input"};
    const int pi = producers[x];
    if (pi < 0) throw Decline{g_.is_graph_input(x) ? "its input is a graph input" : "its input is a constant"};
    Node& prod = g_.nodes[static_cast<std::size_t>(pi)];
    const std::string plabel = cat(prod.op_type, " '", prod.name, "'");
    if (!is_default_domain(prod) || (prod.op_type != "Conv" && prod.op_type != "ConvTranspose" &&
                                     prod.op_type != "Gemm" && prod.op_type != "MatMul"))
      throw Decline{cat("its input comes from ", plabel, ", not from a Conv, ConvTranspose, Gemm or MatMul")};
    if (prod.op_type == "MatMul") {
      // BN normalizes axis 1, MatMul's features are on the last axis: they coincide for
      // rank-2 outputs only, so A's rank must be known to be 2.
      const ValueInfo& a = g_.values[prod.inputs[0]];
      if (!a.has_shape || a.dims.size() != 2)
        throw Decline{cat("the input of ", plabel, a.has_shape ? " is not a matrix" : " has no declared rank",
                          " (MatMul folds only with a rank-2 input)")};
    }
    if (prod.outputs.empty() || prod.outputs[0] != x)
      throw Decline{cat("its input is not the first output of ", plabel)};
    if (consumers[x].size() != 1) throw Decline{cat("the output of ", plabel, " has other consumers")};
    if (g_.is_graph_output(x)) throw Decline{cat("the output of ", plabel, " is a graph output")};
    for (std::size_t o = 1; o < prod.outputs.size(); ++o)
      if (prod.has_output(o)) throw Decline{cat(plabel, " has more than one output")};

    const Tensor& w = constant_input(prod, 1, "weight");
    fold::WeightLayout layout = fold::WeightLayout::conv;
    std::int64_t group = prod.attr_int("group", 1), channels = 0, rank = static_cast<std::int64_t>(w.rank());
    if (prod.op_type == "Conv") channels = w.rank() ? w.dim(0) : 0;
    if (prod.op_type == "ConvTranspose") {
      layout = fold::WeightLayout::conv_transpose;
      channels = w.rank() > 1 ? w.dim(1) * group : 0;
    }
    if (prod.op_type == "Gemm" || prod.op_type == "MatMul") {
      layout = prod.attr_int("transB", 0) ? fold::WeightLayout::matrix_nk : fold::WeightLayout::matrix_kn;
      group = 1;
      rank = 2;
      channels = w.rank() == 2 ? w.dim(prod.attr_int("transB", 0) ? 0 : 1) : 0;
    }
    // The chain: this node and every single-consumer affine node after it.
    std::vector<Link> chain = {link_of(i, rank, channels)};
    const std::string error =
        fold::check_weight(layout, w.shape(), group, static_cast<std::int64_t>(chain[0].f.channels()));
    if (!error.empty()) throw Decline{cat(plabel, ": ", error)};
    for (;;) {
      const Node& last = g_.nodes[chain.back().node];
      const ValueId out = last.outputs.empty() ? kNoValue : last.outputs[0];
      if (out == kNoValue || g_.is_graph_output(out) || consumers[out].size() != 1) break;
      const std::size_t next = consumers[out][0];
      const Node& nn = g_.nodes[next];
      if ((!is_bn(nn) && !is_arith(nn)) || data_input(nn) != out) break;
      try {
        Link l = link_of(next, rank, channels);
        if (l.f.channels() != chain[0].f.channels()) break;
        chain.push_back(std::move(l));
      } catch (const Decline&) {
        break;
      }
    }
    fold::Affine f = chain[0].f;
    for (std::size_t k = 1; k < chain.size(); ++k) f = fold::compose(f, chain[k].f);
    const std::size_t c = f.channels();

    // The producer's bias as a per-output-channel (Conv) or [M?, N] (Gemm) vector.
    std::vector<double> bias;
    Shape bias_shape = {static_cast<std::int64_t>(c)};
    const Tensor* bias_t = nullptr;
    if (prod.has_input(2)) {
      bias_t = &constant_input(prod, 2, prod.op_type == "Gemm" ? "C" : "bias");
      bias = tensor_to_doubles(*bias_t);
    }
    std::vector<double> new_bias;
    if (prod.op_type == "Gemm" || prod.op_type == "MatMul") {
      const double beta = prod.has_input(2) ? prod.attr_float("beta", 1.0f) : 0.0;
      std::int64_t rows = 1;
      if (bias_t) {
        const Shape& cs = bias_t->shape();
        if (cs.size() > 2) throw Decline{cat("C of ", plabel, " has rank ", cs.size())};
        const std::int64_t cols = cs.empty() ? 1 : cs.back();
        rows = cs.size() == 2 ? cs[0] : 1;
        if (cols != 1 && cols != static_cast<std::int64_t>(c))
          throw Decline{cat("C of ", plabel, " does not have N columns")};
        if (rows > 1)
          bias_shape = {rows, static_cast<std::int64_t>(c)};
        else if (cs.size() == 2)
          bias_shape = {1, static_cast<std::int64_t>(c)};
      }
      // C' = a * (beta * C) + s, broadcast to [rows, N]; beta becomes 1.
      new_bias.resize(static_cast<std::size_t>(rows) * c);
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::size_t n = 0; n < c; ++n) {
          double cv = 0.0;
          if (bias_t) {
            const Shape& cs = bias_t->shape();
            const std::int64_t cols = cs.empty() ? 1 : cs.back();
            cv = bias[static_cast<std::size_t>((cs.size() == 2 && cs[0] > 1 ? r : 0) * cols +
                                               (cols == 1 ? 0 : static_cast<std::int64_t>(n)))];
          }
          new_bias[static_cast<std::size_t>(r) * c + n] = f.a[n] * beta * cv + f.s[n];
        }
    } else {
      if (bias_t && (bias_t->rank() != 1 || bias.size() != c))
        throw Decline{cat("the bias of ", plabel, " does not have ", c, " values")};
      new_bias = fold::fold_bias(bias, f);
    }
    if (w.dtype() == DataType::float16)
      for (double v : new_bias)
        if (std::abs(v) > 65504.0) throw Decline{"the folded bias would overflow float16"};

    // Identical folds (same weight, bias, maps and layout) share their results.
    float beta = prod.op_type == "Gemm" ? prod.attr_float("beta", 1.0f) : 1.0f;
    std::int64_t beta_bits = 0;
    std::memcpy(&beta_bits, &beta, sizeof beta);
    std::vector<std::int64_t> key = {prod.inputs[1], prod.has_input(2) ? prod.inputs[2] : kNoValue,
                                     static_cast<std::int64_t>(layout), group, beta_bits};
    for (const Link& l : chain) key.insert(key.end(), l.key.begin(), l.key.end()), key.push_back(-2);
    std::vector<std::size_t> nodes = chain_nodes(chain);  // commit_pending adds the evaluated nodes
    ValueId wv, bv;
    auto hit = cache_.find(key);
    if (hit != cache_.end()) {
      std::tie(wv, bv) = hit->second;
    } else {
      bool overflow = false;
      Tensor new_w = fold::scale_weight(w, layout, group, f, overflow,
                                        rewritable(prod.inputs[1], static_cast<std::size_t>(pi), nodes));
      if (overflow) throw Decline{"the folded weight would overflow float16"};
      const std::string wname = unique_name(g_, g_.values[prod.inputs[1]].name + "_bnfold");
      wv = g_.add_constant(wname, std::move(new_w));
      const DataType bt = bias_t ? bias_t->dtype() : w.dtype();
      const std::string bname =
          unique_name(g_, (bias_t ? g_.values[prod.inputs[2]].name : g_.values[prod.inputs[1]].name) + "_bnfold_bias");
      bv = g_.add_constant(bname, tensor_from_doubles(bt, bias_shape, new_bias));
      cache_[key] = {wv, bv};
    }
    const ValueId old_w = prod.inputs[1], old_b = prod.has_input(2) ? prod.inputs[2] : kNoValue;
    prod.inputs[1] = wv;
    if (prod.inputs.size() < 3) prod.inputs.resize(3, kNoValue);
    prod.inputs[2] = bv;
    if (prod.op_type == "MatMul") prod.op_type = "Gemm";  // A rank 2: MatMul(A, B) == Gemm(A, B)
    if (prod.op_type == "Gemm") prod.attrs["beta"] = Attribute::of(1.0f);
    prod.outputs[0] = g_.nodes[chain.back().node].outputs[0];
    commit_pending(nodes);
    release_if_unused(old_w, nodes);
    release_if_unused(old_b, nodes);
    return {static_cast<std::size_t>(pi), nodes};
  }

  // Folds BatchNormalization node `i` forward into the Conv that alone reads its output,
  // when that Conv does not pad (where it pads, the shift would be wrong at the borders).
  // Returns the Conv's index and the nodes that leave the graph, or throws Decline.
  std::pair<std::size_t, std::vector<std::size_t>> fold_forward(
      std::size_t i, const std::vector<std::vector<std::size_t>>& consumers) {
    const Node& bn = g_.nodes[i];
    const ValueId y = bn.outputs.empty() ? kNoValue : bn.outputs[0];
    if (y == kNoValue || g_.is_graph_output(y)) throw Decline{"its output is a graph output"};
    if (consumers[y].size() != 1) throw Decline{"its output has several consumers"};
    Node& conv = g_.nodes[consumers[y][0]];
    const std::string clabel = cat(conv.op_type, " '", conv.name, "'");
    if (!is_default_domain(conv) || conv.op_type != "Conv")
      throw Decline{cat("its output feeds ", clabel, ", not a Conv")};
    if (conv.inputs[0] != y) throw Decline{cat("its output is not the data input of ", clabel)};
    const Tensor& w = constant_input(conv, 1, "weight");
    const std::int64_t group = conv.attr_int("group", 1);
    const std::string auto_pad = conv.attr_string("auto_pad", "NOTSET");
    bool pads = false;
    for (std::int64_t p : conv.attr_ints("pads")) pads |= p != 0;
    bool unit_kernel = true;
    for (std::size_t d = 2; d < w.rank(); ++d) unit_kernel &= w.dim(d) == 1;
    if ((auto_pad == "NOTSET" && pads) || ((auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") && !unit_kernel))
      throw Decline{cat(clabel, " pads its input, so the shift cannot move into its bias exactly")};
    const Link l = link_of(i, static_cast<std::int64_t>(w.rank()), w.rank() > 1 ? w.dim(1) * group : 0);
    const std::string error =
        fold::check_weight(fold::WeightLayout::conv_input, w.shape(), group, static_cast<std::int64_t>(l.f.channels()));
    if (!error.empty()) throw Decline{error};
    std::vector<double> bias;
    const Tensor* bias_t = nullptr;
    if (conv.has_input(2)) {
      bias_t = &constant_input(conv, 2, "bias");
      bias = tensor_to_doubles(*bias_t);
      if (bias.size() != static_cast<std::size_t>(w.dim(0)))
        throw Decline{cat("the bias of ", clabel, " is malformed")};
    }
    const std::vector<double> new_b = fold::forward_bias(w, group, bias, l.f);  // before w may change
    bool overflow = false;
    Tensor new_w = fold::scale_weight(w, fold::WeightLayout::conv_input, group, l.f, overflow,
                                      rewritable(conv.inputs[1], consumers[y][0], {i}));
    if (overflow) throw Decline{"the folded weight would overflow float16"};
    const ValueId wv = g_.add_constant(unique_name(g_, g_.values[conv.inputs[1]].name + "_bnfold"), std::move(new_w));
    const ValueId bv = g_.add_constant(
        unique_name(g_, (bias_t ? g_.values[conv.inputs[2]].name : g_.values[conv.inputs[1]].name) + "_bnfold_bias"),
        tensor_from_doubles(bias_t ? bias_t->dtype() : w.dtype(), {w.dim(0)}, new_b));
    const ValueId old_w = conv.inputs[1], old_b = conv.has_input(2) ? conv.inputs[2] : kNoValue;
    conv.inputs[0] = bn.inputs[0];
    conv.inputs[1] = wv;
    if (conv.inputs.size() < 3) conv.inputs.resize(3, kNoValue);
    conv.inputs[2] = bv;
    std::vector<std::size_t> leaving = {i};
    commit_pending(leaving);
    release_if_unused(old_w, leaving);
    release_if_unused(old_b, leaving);
    return {consumers[y][0], leaving};
  }

  // Runs the BatchNormalization checks that do not need the producer, so that their
  // reasons are the ones reported.
  void link_of_checks_only(std::size_t i) {
    const Node& n = g_.nodes[i];
    if (n.opset >= 14 && n.attr_int("training_mode", 0) != 0) throw Decline{"training mode"};
    for (std::size_t o = 1; o < n.outputs.size(); ++o)
      if (n.has_output(o)) throw Decline{"training mode (its running or saved statistics are outputs)"};
    if (n.opset < 9 && n.attr_int("spatial", 1) == 0) throw Decline{"spatial=0 (per-activation statistics)"};
    const char* names[4] = {"scale", "B", "mean", "var"};
    for (std::size_t k = 1; k < 5; ++k) {
      const Tensor& t = constant_input(n, k, names[k - 1]);
      if (t.rank() != 1) throw Decline{cat(names[k - 1], " is not a rank-1 tensor (shape ", shape_str(t.shape()), ")")};
    }
  }

  // The nodes of a chain.
  static std::vector<std::size_t> chain_nodes(const std::vector<Link>& chain) {
    std::vector<std::size_t> nodes;
    for (const Link& l : chain) nodes.push_back(l.node);
    return nodes;
  }

  // Whether nodes other than `leaving` (and `reader`, about to read a new value instead)
  // read constant `v`, or the graph shows it.
  bool still_used(ValueId v, std::size_t reader, const std::vector<std::size_t>& leaving) const {
    if (g_.is_graph_input(v) || g_.is_graph_output(v)) return true;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i) {
      if (i == reader || std::find(leaving.begin(), leaving.end(), i) != leaving.end()) continue;
      for (ValueId in : g_.nodes[i].inputs)
        if (in == v) return true;
    }
    return false;
  }

  // Whether the folded weight may overwrite constant `v` (read by `reader` alone, which is
  // about to read the fold instead): nothing else reads or shows it, its storage is its own
  // (not the caller's graph, not a view) and the scaling cannot fail (float16 may overflow).
  bool rewritable(ValueId v, std::size_t reader, const std::vector<std::size_t>& leaving) const {
    const Tensor* t = pending_.count(v) ? nullptr : g_.constant(v);
    return t && (t->dtype() == DataType::float32 || t->dtype() == DataType::float64) && t->sole_owner() &&
           !still_used(v, reader, leaving);
  }

  // Frees a replaced weight at once (not at the end of the pass), so that a model's
  // weights are never held twice while folding. Nodes in `leaving` no longer count.
  void release_if_unused(ValueId v, const std::vector<std::size_t>& leaving) {
    if (v == kNoValue || still_used(v, g_.nodes.size(), leaving)) return;
    g_.constants.erase(v);
    for (auto it = cache_.begin(); it != cache_.end();)
      it = (it->first[0] == v || it->first[1] == v) ? cache_.erase(it) : std::next(it);
  }

  struct Pending {
    Tensor value;
    std::size_t node;
  };

  Graph& g_;
  std::vector<PassRecord>& records_;
  std::map<std::vector<std::int64_t>, std::pair<ValueId, ValueId>> cache_;
  std::map<ValueId, Pending> pending_;
};

}  // namespace

std::vector<PassRecord> fold_batchnorm(Graph& g) {
  std::vector<PassRecord> records;
  Folder(g, records).run();
  return records;
}

void record_batchnorm_unfolded(const Graph& g, std::vector<PassRecord>& records) {
  for (const Node& n : g.nodes)
    if (n.op_type == "BatchNormalization")
      records.push_back({n.name, n.op_type, "kept: standalone inference BatchNormalization (folding is off)", false, "",
                         "", "", n.source, -1});
}

void drop_unused_constants(Graph& g) {
  std::set<ValueId> used(g.inputs.begin(), g.inputs.end());
  used.insert(g.outputs.begin(), g.outputs.end());
  for (const Node& n : g.nodes) used.insert(n.inputs.begin(), n.inputs.end());
  for (auto it = g.constants.begin(); it != g.constants.end();)
    it = used.count(it->first) ? std::next(it) : g.constants.erase(it);
}

}  // namespace edgert
