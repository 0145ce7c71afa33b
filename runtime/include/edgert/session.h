// Model (compiled, immutable, shareable between threads) and Session (one per thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgert/graph.h"
#include "edgert/simd/isa.h"
#include "edgert/tensor.h"

namespace edgert {

struct ModelOptions {
  /// Threads a session runs on (the calling thread included); 0 means one per core.
  int num_threads = 1;
  /// Fold BatchNormalization into neighbouring weights where exact.
  bool fold_batchnorm = true;
  /// Keep the activations between pointwise and depthwise convolutions in the
  /// channel-blocked layout (16 channels per pixel) instead of planes. Results agree to
  /// rounding either way; off is for comparison.
  bool blocked_layout = true;
  /// Highest kernel tier to use; nullopt: the best the CPU supports (see EDGERT_MAX_ISA).
  std::optional<simd::Isa> max_isa;
  /// Largest single tensor (weights, inputs, activations), and largest activation arena, a
  /// model may ask for; beyond it load or run fails with ErrorCode::out_of_memory.
  std::size_t max_tensor_bytes = std::size_t{4} << 30;
  /// Largest model file (or buffer) a loader accepts; protobuf's own ceiling is 2 GiB.
  std::size_t max_model_bytes = std::size_t{2} << 30;
  /// Most nodes a graph may have.
  std::size_t max_nodes = std::size_t{1} << 20;
};

/// What a load-time pass did to one node (for BatchNormalization: folded or why not).
struct PassRecord {
  std::string node;
  std::string op_type;
  std::string verdict;
  // For a fold: the node it went into and the constants that now hold its weight and bias
  // (names in the rewritten graph); Node::source of both nodes.
  bool folded = false;
  std::string into, weight, bias;
  int node_source = -1, into_source = -1;
};

/// The BatchNormalization folding pass that Model::compile runs (unless
/// ModelOptions::fold_batchnorm is false): rewrites `g` and returns one record per
/// BatchNormalization node. Exposed for tools that fold offline.
std::vector<PassRecord> fold_batchnorm(Graph& g);

namespace detail {
struct CompiledNode;
}

class Model {
 public:
  /// Validates `graph`, runs the load-time passes and prepares every operator.
  /// Throws Error naming the first problem.
  static std::shared_ptr<const Model> compile(Graph graph, const ModelOptions& options = {});
  ~Model();

  /// The graph after the load-time passes. Constants an operator copied into its own layout
  /// (convolution weights packed for the GEMM) keep their dtype and shape but no data.
  const Graph& graph() const { return graph_; }
  const ModelOptions& options() const { return options_; }
  const std::vector<std::size_t>& schedule() const { return schedule_; }
  const std::vector<PassRecord>& pass_records() const { return records_; }
  simd::Isa isa() const;

  std::size_t input_count() const { return graph_.inputs.size(); }
  std::size_t output_count() const { return graph_.outputs.size(); }
  const ValueInfo& input(std::size_t i) const { return graph_.values[graph_.inputs[i]]; }
  const ValueInfo& output(std::size_t i) const { return graph_.values[graph_.outputs[i]]; }

  // Internal: the prepared operators, indexed like graph().nodes.
  const std::vector<detail::CompiledNode>& compiled() const { return compiled_; }

 private:
  Model() = default;
  Graph graph_;
  ModelOptions options_;
  std::vector<std::size_t> schedule_;
  std::vector<detail::CompiledNode> compiled_;
  std::vector<PassRecord> records_;
};

/// Timing of one node in the last profiled run.
struct NodeProfile {
  std::string name;
  std::string op_type;
  double ms = 0.0;
};

class Session {
 public:
  explicit Session(std::shared_ptr<const Model> model);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Model& model() const { return *model_; }

  /// Copies `t` in as input `name`. Its type must match the model's, its rank and fixed
  /// dims too; free dims take the given sizes.
  void set_input(const std::string& name, const Tensor& t);
  void set_input(std::size_t index, const Tensor& t);

  /// Input `index` as set (or its default); an error if neither exists.
  const Tensor& input(std::size_t index) const;

  /// Runs the graph on the inputs set. Every input without a default must have been set.
  void run();

  /// Output `index` of the last run; the data stays valid until the next run.
  const Tensor& output(std::size_t index) const;
  const Tensor& output(const std::string& name) const;

  /// Record per-node times in the runs that follow.
  void set_profiling(bool on);
  const std::vector<NodeProfile>& profile() const;

  /// Bytes of the activation arena of the current plan.
  std::size_t arena_bytes() const;

 private:
  struct Impl;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Impl> impl_;
};

/// Whether edgert implements operator `op_type` of `domain` ("" or "ai.onnx" for ONNX's).
bool op_supported(const std::string& domain, const std::string& op_type);
/// Every implemented ONNX operator type, sorted.
std::vector<std::string> supported_ops();

/// edgert's version string, e.g. "0.1.0".
const char* version();

}  // namespace edgert
