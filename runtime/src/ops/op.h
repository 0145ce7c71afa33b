// The operator interface. Each ONNX operator is an Op created once per node at load
// (attributes parsed and checked, constant inputs prepared) and then asked, per plan,
// for its output types and shapes (infer) and, per run, to compute (run).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "edgert/error.h"
#include "edgert/graph.h"
#include "edgert/simd/kernels.h"
#include "edgert/tensor.h"

namespace edgert {

class ThreadPool;

/// Thrown by InferContext::value when a shape depends on data only known at run time.
struct NeedsValue {
  std::size_t input;
};

struct CreateContext {
  const Node& node;
  const Graph& graph;
  const simd::KernelTable& kernels;
  /// Input i as a constant the caller cannot override, or nullptr.
  const Tensor* constant(std::size_t i) const { return node.has_input(i) ? graph.constant(node.inputs[i]) : nullptr; }
};

struct InferContext {
  const Node& node;
  std::vector<const Tensor*> inputs;  ///< nullptr for omitted optionals; data may be absent
  std::vector<Tensor> outputs;        ///< to fill: dtype and shape (no data)
  std::size_t scratch_bytes = 0;      ///< to fill: working memory run() needs
  std::size_t max_tensor_bytes = 0;
  int threads = 1;  ///< workers run() will have
  /// Per input: is its data fixed for every run with these input shapes (constants and
  /// values computed from them)? Data of other inputs may change between runs.
  std::vector<char> fixed;
  /// To fill when output i needs more bytes than its shape holds (the blocked layout pads
  /// channels to whole blocks): storage[i] bytes; see output_bytes.
  std::vector<std::size_t> storage;

  std::size_t num_inputs() const { return inputs.size(); }
  bool has(std::size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  /// Input i's type and shape; an error if omitted.
  const Tensor& in(std::size_t i) const;
  /// Input i with its data; throws NeedsValue when the data is not known before the run.
  const Tensor& value(std::size_t i) const;
  /// Declares output i.
  void set_output(std::size_t i, DataType dtype, Shape shape);
  /// Sets output i's storage to `bytes` (checked against the tensor size limit).
  void set_output_storage(std::size_t i, std::size_t bytes);
  /// The bytes output i's buffer needs: its shape's, or more when set_output_storage said so.
  std::size_t output_bytes(std::size_t i) const {
    const std::size_t shape_bytes = outputs[i].nbytes();
    return i < storage.size() && storage[i] > shape_bytes ? storage[i] : shape_bytes;
  }
  [[noreturn]] void error(const std::string& what) const;
};

struct RunContext {
  const Node& node;
  const Tensor* const* inputs;  ///< nullptr for omitted optionals
  std::size_t num_inputs;
  Tensor* const* outputs;  ///< nullptr for omitted optional outputs
  std::size_t num_outputs;
  void* scratch;
  ThreadPool* pool;
  const simd::KernelTable& kernels;

  bool has(std::size_t i) const { return i < num_inputs && inputs[i] != nullptr; }
  const Tensor& in(std::size_t i) const { return *inputs[i]; }
  bool has_out(std::size_t i) const { return i < num_outputs && outputs[i] != nullptr; }
  Tensor& out(std::size_t i) const { return *outputs[i]; }
};

class Op {
 public:
  virtual ~Op() = default;
  virtual void infer(InferContext& ctx) const = 0;
  virtual void run(const RunContext& ctx) const = 0;
  /// True when the outputs depend on the inputs' shapes only (Shape, Size).
  virtual bool shape_only() const { return false; }
  /// The input whose buffer output 0 may share (the op reads each element of it before
  /// writing the same element of the output), or -1. The planner aliases them only when
  /// that input dies here and the sizes match.
  virtual int inplace_input() const { return -1; }
  /// When output 0 is the inputs' bytes one after another (a Concat with nothing outside its
  /// axis): the byte offset of each input in it, so that the planner may have the inputs'
  /// producers write straight into the output; run() then copies only the inputs found
  /// elsewhere. Empty otherwise. `ctx` is this op's inferred context.
  virtual std::vector<std::size_t> joined_inputs(const InferContext& /*ctx*/) const { return {}; }
  /// True when the op copied constant input `input` into its own form at creation and
  /// never reads the original; the model then drops that data if no other consumer needs it.
  virtual bool releases_constant(std::size_t /*input*/) const { return false; }
};

using OpFactory = std::unique_ptr<Op> (*)(const CreateContext&);

/// Creates the operator for ctx.node, or throws Error(unsupported) naming its type,
/// domain, opset and node.
std::unique_ptr<Op> create_op(const CreateContext& ctx);

struct OpEntry {
  const char* type;
  OpFactory factory;
};

// Each op family lists its operators; the registry gathers them.
std::vector<OpEntry> elementwise_ops();
std::vector<OpEntry> conv_ops();
std::vector<OpEntry> pool_ops();
std::vector<OpEntry> gemm_ops();
std::vector<OpEntry> shape_ops();
std::vector<OpEntry> norm_ops();
std::vector<OpEntry> reduce_ops();
std::vector<OpEntry> resize_ops();

/// Normalises a possibly negative axis against `rank`; error naming the node otherwise.
std::int64_t normalize_axis(const Node& node, std::int64_t axis, std::int64_t rank);

/// A factory for an Op type constructible from (const CreateContext&).
template <class T>
std::unique_ptr<Op> make_op(const CreateContext& ctx) {
  return std::make_unique<T>(ctx);
}

}  // namespace edgert
