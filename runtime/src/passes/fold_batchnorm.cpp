#include "fold_batchnorm.h"

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <tuple>

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

class Folder {
 public:
  Folder(Graph& g, std::vector<PassRecord>& records) : g_(g), records_(records) {}

  void run() {
    std::vector<char> removed(g_.nodes.size(), 0);
    std::map<std::size_t, PassRecord> verdict;
    for (bool changed = true; changed;) {
      changed = false;
      const std::vector<int> producers = g_.producers();
      const auto consumers = g_.consumers();
      for (std::size_t i = 0; i < g_.nodes.size(); ++i) {
        const Node& bn = g_.nodes[i];
        if (removed[i] || bn.op_type != "BatchNormalization" || !is_default_domain(bn) || verdict.count(i)) continue;
        PassRecord r{bn.name, "BatchNormalization", "", false, "", "", "", bn.source, -1};
        try {
          const std::size_t p = fold_one(i, producers, consumers);
          const Node& prod = g_.nodes[p];
          r.verdict = cat("folded into ", prod.op_type, " '", prod.name, "'");
          r.folded = true;
          r.into = prod.name;
          r.into_source = prod.source;
          r.weight = g_.values[prod.inputs[1]].name;
          r.bias = g_.values[prod.inputs[2]].name;
          verdict[i] = r;
          removed[i] = 1;
          changed = true;
          break;  // producers and consumers changed
        } catch (const Decline& d) {
          r.verdict = "kept: standalone inference BatchNormalization (not folded: " + d.reason + ")";
          verdict[i] = r;
        }
      }
      // A decline may turn into a fold once an earlier fold changed the graph (BN -> BN).
      if (changed)
        for (auto it = verdict.begin(); it != verdict.end();)
          it = it->second.folded ? std::next(it) : verdict.erase(it);
    }
    for (const auto& [i, r] : verdict) records_.push_back(r);
    std::vector<Node> kept;
    for (std::size_t i = 0; i < g_.nodes.size(); ++i)
      if (!removed[i]) kept.push_back(std::move(g_.nodes[i]));
    g_.nodes = std::move(kept);
    drop_unused_constants(g_);
  }

 private:
  const Tensor& constant_input(const Node& n, std::size_t i, const char* what) {
    if (!n.has_input(i)) throw Decline{cat(n.op_type, " '", n.name, "' has no ", what)};
    const ValueId v = n.inputs[i];
    if (g_.is_overridable(v))
      throw Decline{cat(what, " '", g_.values[v].name, "' of ", n.op_type, " '", n.name,
                        "' is a graph input the caller may override")};
    const Tensor* t = g_.constant(v);
    if (!t) throw Decline{cat(what, " '", g_.values[v].name, "' of ", n.op_type, " '", n.name, "' is not a constant")};
    if (!foldable_type(t->dtype()))
      throw Decline{cat(what, " '", g_.values[v].name, "' is ", dtype_name(t->dtype()), ", not a floating type")};
    return *t;
  }

  // Folds BatchNormalization node `i` into its producer and returns the producer's index,
  // or throws Decline with the reason.
  std::size_t fold_one(std::size_t i, const std::vector<int>& producers,
                       const std::vector<std::vector<std::size_t>>& consumers) {
    Node& bn = g_.nodes[i];
    if (bn.opset >= 14 && bn.attr_int("training_mode", 0) != 0) throw Decline{"training mode"};
    for (std::size_t o = 1; o < bn.outputs.size(); ++o)
      if (bn.outputs[o] != kNoValue) throw Decline{"training mode (its running or saved statistics are outputs)"};
    if (bn.opset < 9 && bn.attr_int("spatial", 1) == 0) throw Decline{"spatial=0 (per-activation statistics)"};
    if (bn.inputs.size() < 5 || !bn.has_input(0)) throw Decline{"it does not have five inputs"};
    const char* names[4] = {"scale", "B", "mean", "var"};
    std::vector<double> p[4];
    const Tensor* pt[4];
    for (int k = 0; k < 4; ++k) {
      pt[k] = &constant_input(bn, static_cast<std::size_t>(k + 1), names[k]);
      if (pt[k]->rank() != 1)
        throw Decline{cat(names[k], " is not a rank-1 tensor (shape ", shape_str(pt[k]->shape()), ")")};
      p[k] = tensor_to_doubles(*pt[k]);
    }
    const std::size_t c = p[0].size();
    for (int k = 1; k < 4; ++k)
      if (p[k].size() != c) throw Decline{"scale, B, mean and var differ in length"};
    const fold::Affine f = fold::bn_affine(p[0], p[1], p[2], p[3], bn.attr_float("epsilon", 1e-5f));
    if (!fold::affine_finite(f)) throw Decline{"var + epsilon is not positive in some channel"};

    const ValueId x = bn.inputs[0];
    const int pi = producers[x];
    if (pi < 0) throw Decline{g_.is_graph_input(x) ? "its input is a graph input" : "its input is a constant"};
    Node& prod = g_.nodes[static_cast<std::size_t>(pi)];
    const std::string plabel = cat(prod.op_type, " '", prod.name, "'");
    if (!is_default_domain(prod) ||
        (prod.op_type != "Conv" && prod.op_type != "ConvTranspose" && prod.op_type != "Gemm"))
      throw Decline{cat("its input comes from ", plabel, ", not from a Conv, ConvTranspose or Gemm")};
    if (prod.outputs.empty() || prod.outputs[0] != x)
      throw Decline{cat("its input is not the first output of ", plabel)};
    if (consumers[x].size() != 1) throw Decline{cat("the output of ", plabel, " has other consumers")};
    if (g_.is_graph_output(x)) throw Decline{cat("the output of ", plabel, " is a graph output")};
    for (std::size_t o = 1; o < prod.outputs.size(); ++o)
      if (prod.outputs[o] != kNoValue) throw Decline{cat(plabel, " has more than one output")};

    const Tensor& w = constant_input(prod, 1, "weight");
    if (w.dtype() == DataType::float16 || w.dtype() == DataType::bfloat16)
      for (int k = 0; k < 4; ++k)
        if (pt[k]->dtype() != w.dtype() && !foldable_type(pt[k]->dtype())) throw Decline{"mixed parameter types"};
    fold::WeightLayout layout = fold::WeightLayout::conv;
    std::int64_t group = prod.attr_int("group", 1);
    if (prod.op_type == "ConvTranspose") layout = fold::WeightLayout::conv_transpose;
    if (prod.op_type == "Gemm") {
      layout = prod.attr_int("transB", 0) ? fold::WeightLayout::matrix_nk : fold::WeightLayout::matrix_kn;
      group = 1;
    }
    const std::string error = fold::check_weight(layout, w.shape(), group, static_cast<std::int64_t>(c));
    if (!error.empty()) throw Decline{cat(plabel, ": ", error)};

    // The producer's bias as a per-output-channel (Conv) or [M?, N] (Gemm) vector.
    std::vector<double> bias;
    Shape bias_shape = {static_cast<std::int64_t>(c)};
    const Tensor* bias_t = nullptr;
    if (prod.has_input(2)) {
      bias_t = &constant_input(prod, 2, prod.op_type == "Gemm" ? "C" : "bias");
      bias = tensor_to_doubles(*bias_t);
    }
    std::vector<double> new_bias;
    if (prod.op_type == "Gemm") {
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

    // Identical folds (same weight, bias, statistics and layout) share their results.
    const auto key =
        std::make_tuple(prod.inputs[1], prod.has_input(2) ? prod.inputs[2] : kNoValue, bn.inputs[1], bn.inputs[2],
                        bn.inputs[3], bn.inputs[4], bn.attr_float("epsilon", 1e-5f), static_cast<int>(layout),
                        prod.op_type == "Gemm" ? prod.attr_float("beta", 1.0f) : 1.0f);
    ValueId wv, bv;
    auto hit = cache_.find(key);
    if (hit != cache_.end()) {
      std::tie(wv, bv) = hit->second;
    } else {
      bool overflow = false;
      Tensor new_w = fold::scale_weight(w, layout, group, f, overflow);
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
    release_if_unused(old_w);
    release_if_unused(old_b);
    if (prod.op_type == "Gemm") prod.attrs["beta"] = Attribute::of(1.0f);
    prod.outputs[0] = bn.outputs[0];
    bn.inputs.clear();  // the node is about to be dropped: it no longer reads or writes anything
    bn.outputs.clear();
    return static_cast<std::size_t>(pi);
  }

  // Frees a replaced weight at once (not at the end of the pass), so that a model's
  // weights are never held twice while folding.
  void release_if_unused(ValueId v) {
    if (v == kNoValue || g_.is_graph_input(v) || g_.is_graph_output(v)) return;
    for (const Node& n : g_.nodes)
      for (ValueId in : n.inputs)
        if (in == v) return;
    g_.constants.erase(v);
    for (auto it = cache_.begin(); it != cache_.end();)
      it = (std::get<0>(it->first) == v || std::get<1>(it->first) == v) ? cache_.erase(it) : std::next(it);
  }

  Graph& g_;
  std::vector<PassRecord>& records_;
  std::map<std::tuple<ValueId, ValueId, ValueId, ValueId, ValueId, ValueId, float, int, float>,
           std::pair<ValueId, ValueId>>
      cache_;
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
