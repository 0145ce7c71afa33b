#include <algorithm>
#include <unordered_map>

#include "edgert/session.h"
#include "op.h"

namespace edgert {

namespace {
const std::unordered_map<std::string, OpFactory>& registry() {
  static const auto table = [] {
    std::unordered_map<std::string, OpFactory> t;
    for (auto family : {elementwise_ops, conv_ops, pool_ops, gemm_ops, shape_ops, norm_ops, reduce_ops, resize_ops})
      for (const OpEntry& e : family()) t.emplace(e.type, e.factory);
    return t;
  }();
  return table;
}

bool default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }
}  // namespace

const Tensor& InferContext::in(std::size_t i) const {
  if (!has(i)) error(cat("input ", i, " is required but missing"));
  return *inputs[i];
}

const Tensor& InferContext::value(std::size_t i) const {
  const Tensor& t = in(i);
  if (!t.has_data() || (i < fixed.size() && !fixed[i])) throw NeedsValue{i};
  return t;
}

void InferContext::set_output(std::size_t i, DataType dtype, Shape shape) {
  for (std::int64_t d : shape)
    if (d < 0) error(cat("computed a negative output dimension ", shape_str(shape)));
  // The product of the nonzero dims is bounded too, so that an empty tensor with absurd
  // other dims cannot overflow the arithmetic of the operators that walk its axes.
  std::size_t span = 1;
  for (std::int64_t d : shape) {
    if (d != 0 && span > max_tensor_bytes / static_cast<std::size_t>(d))
      fail(ErrorCode::out_of_memory, node.label(), ": output ", i, " of shape ", shape_str(shape),
           " exceeds the tensor size limit of ", max_tensor_bytes, " bytes");
    if (d != 0) span *= static_cast<std::size_t>(d);
  }
  const std::size_t elems = static_cast<std::size_t>(shape_numel(shape));
  if (elems * dtype_size(dtype) > max_tensor_bytes)
    fail(ErrorCode::out_of_memory, node.label(), ": output ", i, " of shape ", shape_str(shape),
         " exceeds the tensor size limit of ", max_tensor_bytes, " bytes");
  if (outputs.size() <= i) outputs.resize(i + 1);
  outputs[i] = Tensor(dtype, std::move(shape));
}

void InferContext::set_output_storage(std::size_t i, std::size_t bytes) {
  if (bytes > max_tensor_bytes)
    fail(ErrorCode::out_of_memory, node.label(), ": output ", i, " needs ", bytes,
         " bytes, beyond the tensor size limit of ", max_tensor_bytes, " bytes");
  if (storage.size() <= i) storage.resize(i + 1, 0);
  storage[i] = bytes;
}

void InferContext::error(const std::string& what) const { fail(ErrorCode::shape, node.label(), ": ", what); }

std::int64_t normalize_axis(const Node& node, std::int64_t axis, std::int64_t rank) {
  if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
    fail(ErrorCode::shape, node.label(), ": axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

std::unique_ptr<Op> create_op(const CreateContext& ctx) {
  const Node& n = ctx.node;
  if (!default_domain(n.domain))
    fail(ErrorCode::unsupported, "unsupported operator '", n.op_type, "' (domain '", n.domain, "', opset ", n.opset,
         ") at node '", n.name, "'");
  auto it = registry().find(n.op_type);
  if (it == registry().end())
    fail(ErrorCode::unsupported, "unsupported operator '", n.op_type, "' (domain 'ai.onnx', opset ", n.opset,
         ") at node '", n.name, "'");
  return it->second(ctx);
}

bool op_supported(const std::string& domain, const std::string& op_type) {
  return default_domain(domain) && registry().count(op_type);
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> out;
  for (const auto& [k, v] : registry()) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace edgert
