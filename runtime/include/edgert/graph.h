// The graph IR: values, nodes with attributes, constants, inputs and outputs.
// It has no dependency on protobuf: apps may build graphs with the methods below.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "edgert/tensor.h"

namespace edgert {

struct Attribute {
  enum class Kind { floating, integer, string, tensor, floats, integers, strings, graph, other };
  Kind kind = Kind::other;
  float f = 0.0f;
  std::int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  std::vector<std::string> strings;

  static Attribute of(float v);
  static Attribute of(std::int64_t v);
  static Attribute of(int v) { return of(static_cast<std::int64_t>(v)); }
  static Attribute of(std::string v);
  static Attribute of(const char* v) { return of(std::string(v)); }
  static Attribute of(std::vector<float> v);
  static Attribute of(std::vector<std::int64_t> v);
  static Attribute of(Tensor v);
};

using Attributes = std::map<std::string, Attribute>;

/// Index of a value in Graph::values; kNoValue marks an omitted optional input or output.
using ValueId = int;
inline constexpr ValueId kNoValue = -1;

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  ///< "" for the default ONNX domain
  int opset = 0;       ///< version of `domain` the model imports
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  Attributes attrs;
  /// Index of the node in the file it came from (-1 if built in code); lets tools map
  /// what passes did back onto the original model.
  int source = -1;

  /// "node 'name' (OpType)" for messages.
  std::string label() const;
  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  const Attribute* attr(const std::string& key) const;
  /// Attribute values with defaults; a present attribute of the wrong kind is an error.
  float attr_float(const std::string& key, float def) const;
  std::int64_t attr_int(const std::string& key, std::int64_t def) const;
  std::string attr_string(const std::string& key, const std::string& def) const;
  std::vector<std::int64_t> attr_ints(const std::string& key, const std::vector<std::int64_t>& def = {}) const;
  std::vector<float> attr_floats(const std::string& key, const std::vector<float>& def = {}) const;
  /// Whether input i is present (not omitted).
  bool has_input(std::size_t i) const { return i < inputs.size() && inputs[i] != kNoValue; }
  bool has_output(std::size_t i) const { return i < outputs.size() && outputs[i] != kNoValue; }
};

/// A dimension as declared: a value (>= 0), or symbolic/unknown (value -1, maybe a name).
struct Dim {
  std::int64_t value = -1;
  std::string param;
};

struct ValueInfo {
  std::string name;
  DataType dtype = DataType::undefined;
  bool has_shape = false;
  std::vector<Dim> dims;
};

class Graph {
 public:
  std::string name;
  std::vector<ValueInfo> values;
  std::vector<Node> nodes;
  std::vector<ValueId> inputs;   ///< what callers feed, including overridable initializers
  std::vector<ValueId> outputs;  ///< what a run produces
  /// Constant tensors by value: initializers and Constant nodes' outputs.
  std::map<ValueId, Tensor> constants;
  /// Initializers that are also graph inputs (IR >= 4): their constant is a default that a
  /// caller may replace, so they are never treated as constants by passes.
  std::vector<ValueId> overridable;

  /// The value named `name`, or kNoValue.
  ValueId find(const std::string& name) const;
  /// The value named `name`, created if new.
  ValueId value(const std::string& name);

  // Builder methods: the protobuf-free way to make a graph.
  ValueId add_input(const std::string& name, DataType dtype, const std::vector<std::int64_t>& dims);
  ValueId add_input(const std::string& name, DataType dtype, std::vector<Dim> dims);
  ValueId add_constant(const std::string& name, Tensor value);
  /// A node; empty names in `ins`/`outs` are omitted optionals. Returns its index.
  std::size_t add_node(const std::string& op_type, const std::vector<std::string>& ins,
                       const std::vector<std::string>& outs, Attributes attrs = {}, const std::string& name = "",
                       int opset = 17, const std::string& domain = "");
  void add_output(const std::string& name);

  bool is_constant(ValueId v) const;        ///< a constant that cannot be overridden
  const Tensor* constant(ValueId v) const;  ///< the constant tensor, or nullptr
  bool is_overridable(ValueId v) const;
  bool is_graph_output(ValueId v) const;
  bool is_graph_input(ValueId v) const;

  /// Checks that every node input names a value that is produced by exactly one node, is an
  /// input or a constant; that no value is produced twice; that there is no cycle; and that
  /// every output is produced. Returns node indices in an order where producers come first.
  /// Throws Error(parse) naming the first problem.
  std::vector<std::size_t> validate_and_schedule() const;

  /// For every value, the index of its producing node or -1.
  std::vector<int> producers() const;
  /// For every value, the indices of nodes consuming it.
  std::vector<std::vector<std::size_t>> consumers() const;

 private:
  std::unordered_map<std::string, ValueId> by_name_;
};

}  // namespace edgert
