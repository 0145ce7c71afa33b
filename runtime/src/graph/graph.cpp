#include "edgert/graph.h"

#include <algorithm>
#include <set>

#include "edgert/error.h"

namespace edgert {

Attribute Attribute::of(float v) {
  Attribute a;
  a.kind = Kind::floating;
  a.f = v;
  return a;
}
Attribute Attribute::of(std::int64_t v) {
  Attribute a;
  a.kind = Kind::integer;
  a.i = v;
  return a;
}
Attribute Attribute::of(std::string v) {
  Attribute a;
  a.kind = Kind::string;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::of(std::vector<float> v) {
  Attribute a;
  a.kind = Kind::floats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::of(std::vector<std::int64_t> v) {
  Attribute a;
  a.kind = Kind::integers;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::of(Tensor v) {
  Attribute a;
  a.kind = Kind::tensor;
  a.t = std::move(v);
  return a;
}

std::string Node::label() const { return cat("node '", name, "' (", op_type, ")"); }

const Attribute* Node::attr(const std::string& key) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? nullptr : &it->second;
}

namespace {
[[noreturn]] void wrong_kind(const Node& n, const std::string& key, const char* want) {
  fail(ErrorCode::parse, n.label(), ": attribute '", key, "' must be ", want);
}
}  // namespace

float Node::attr_float(const std::string& key, float def) const {
  const Attribute* a = attr(key);
  if (!a) return def;
  if (a->kind == Attribute::Kind::floating) return a->f;
  if (a->kind == Attribute::Kind::integer) return static_cast<float>(a->i);
  wrong_kind(*this, key, "a float");
}

std::int64_t Node::attr_int(const std::string& key, std::int64_t def) const {
  const Attribute* a = attr(key);
  if (!a) return def;
  if (a->kind != Attribute::Kind::integer) wrong_kind(*this, key, "an integer");
  return a->i;
}

std::string Node::attr_string(const std::string& key, const std::string& def) const {
  const Attribute* a = attr(key);
  if (!a) return def;
  if (a->kind != Attribute::Kind::string) wrong_kind(*this, key, "a string");
  return a->s;
}

std::vector<std::int64_t> Node::attr_ints(const std::string& key, const std::vector<std::int64_t>& def) const {
  const Attribute* a = attr(key);
  if (!a) return def;
  if (a->kind == Attribute::Kind::integers) return a->ints;
  if (a->kind == Attribute::Kind::integer) return {a->i};
  wrong_kind(*this, key, "a list of integers");
}

std::vector<float> Node::attr_floats(const std::string& key, const std::vector<float>& def) const {
  const Attribute* a = attr(key);
  if (!a) return def;
  if (a->kind == Attribute::Kind::floats) return a->floats;
  if (a->kind == Attribute::Kind::floating) return {a->f};
  wrong_kind(*this, key, "a list of floats");
}

ValueId Graph::find(const std::string& n) const {
  auto it = by_name_.find(n);
  return it == by_name_.end() ? kNoValue : it->second;
}

ValueId Graph::value(const std::string& n) {
  auto it = by_name_.find(n);
  if (it != by_name_.end()) return it->second;
  const ValueId id = static_cast<ValueId>(values.size());
  values.push_back(ValueInfo{n, DataType::undefined, false, {}});
  by_name_.emplace(n, id);
  return id;
}

ValueId Graph::add_input(const std::string& n, DataType dtype, const std::vector<std::int64_t>& dims) {
  std::vector<Dim> d;
  for (std::int64_t v : dims) d.push_back(Dim{v, v < 0 ? "?" : ""});
  return add_input(n, dtype, std::move(d));
}

ValueId Graph::add_input(const std::string& n, DataType dtype, std::vector<Dim> dims) {
  const ValueId v = value(n);
  values[v].dtype = dtype;
  values[v].has_shape = true;
  values[v].dims = std::move(dims);
  inputs.push_back(v);
  return v;
}

ValueId Graph::add_constant(const std::string& n, Tensor t) {
  const ValueId v = value(n);
  values[v].dtype = t.dtype();
  values[v].has_shape = true;
  values[v].dims.clear();
  for (std::int64_t d : t.shape()) values[v].dims.push_back(Dim{d, ""});
  constants[v] = std::move(t);
  return v;
}

std::size_t Graph::add_node(const std::string& op_type, const std::vector<std::string>& ins,
                            const std::vector<std::string>& outs, Attributes attrs, const std::string& node_name,
                            int opset, const std::string& domain) {
  Node n;
  n.name = node_name.empty() ? cat(op_type, "_", nodes.size()) : node_name;
  n.op_type = op_type;
  n.domain = domain;
  n.opset = opset;
  n.attrs = std::move(attrs);
  for (const auto& s : ins) n.inputs.push_back(s.empty() ? kNoValue : value(s));
  for (const auto& s : outs) n.outputs.push_back(s.empty() ? kNoValue : value(s));
  nodes.push_back(std::move(n));
  return nodes.size() - 1;
}

void Graph::add_output(const std::string& n) { outputs.push_back(value(n)); }

bool Graph::is_overridable(ValueId v) const {
  return std::find(overridable.begin(), overridable.end(), v) != overridable.end();
}

bool Graph::is_constant(ValueId v) const { return constants.count(v) && !is_overridable(v); }

const Tensor* Graph::constant(ValueId v) const {
  if (!is_constant(v)) return nullptr;
  return &constants.at(v);
}

bool Graph::is_graph_output(ValueId v) const { return std::find(outputs.begin(), outputs.end(), v) != outputs.end(); }

bool Graph::is_graph_input(ValueId v) const { return std::find(inputs.begin(), inputs.end(), v) != inputs.end(); }

std::vector<int> Graph::producers() const {
  std::vector<int> p(values.size(), -1);
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (ValueId o : nodes[i].outputs)
      if (o != kNoValue) p[o] = static_cast<int>(i);
  return p;
}

std::vector<std::vector<std::size_t>> Graph::consumers() const {
  std::vector<std::vector<std::size_t>> c(values.size());
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (ValueId in : nodes[i].inputs)
      if (in != kNoValue && (c[in].empty() || c[in].back() != i)) c[in].push_back(i);
  return c;
}

std::vector<std::size_t> Graph::validate_and_schedule() const {
  std::vector<int> producer(values.size(), -1);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    for (ValueId o : nodes[i].outputs) {
      if (o == kNoValue) continue;
      if (producer[o] >= 0)
        fail(ErrorCode::parse, "value '", values[o].name, "' is produced twice: by ", nodes[producer[o]].label(),
             " and by ", nodes[i].label());
      if (constants.count(o) || is_graph_input(o))
        fail(ErrorCode::parse, nodes[i].label(), " writes '", values[o].name,
             "', which is already a graph input or initializer");
      producer[o] = static_cast<int>(i);
    }
  }
  auto available = [&](ValueId v) { return constants.count(v) || is_graph_input(v); };
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (ValueId in : nodes[i].inputs)
      if (in != kNoValue && producer[in] < 0 && !available(in))
        fail(ErrorCode::parse, nodes[i].label(), ": input '", values[in].name,
             "' is not produced by any node, initializer or graph input");
  for (ValueId o : outputs)
    if (producer[o] < 0 && !available(o))
      fail(ErrorCode::parse, "graph output '", values[o].name, "' is not produced by any node");

  // Kahn's algorithm, keeping the file's order among ready nodes.
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<std::size_t>> users(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (ValueId in : nodes[i].inputs)
      if (in != kNoValue && producer[in] >= 0) {
        ++pending[i];
        users[producer[in]].push_back(i);
      }
  std::vector<std::size_t> order;
  std::set<std::size_t> ready;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.insert(i);
  order.reserve(nodes.size());
  while (!ready.empty()) {
    const std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (std::size_t u : users[i])
      if (--pending[u] == 0) ready.insert(u);
  }
  if (order.size() != nodes.size()) {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (pending[i] > 0) fail(ErrorCode::parse, "the graph has a cycle through ", nodes[i].label());
  }
  return order;
}

}  // namespace edgert
