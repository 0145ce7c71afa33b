#include "edgert/session.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <thread>

#include "../ops/gemm_driver.h"
#include "../passes/blocked_layout.h"
#include "../passes/fold_batchnorm.h"
#include "../passes/fuse_epilogues.h"
#include "compiled.h"
#include "memory_plan.h"
#include "thread_pool.h"

namespace edgert {
namespace {

// Every output of a node is absent or empty: the node has nothing to compute.
bool nothing_to_compute(const std::vector<Tensor*>& outs) {
  return std::all_of(outs.begin(), outs.end(), [](const Tensor* t) { return !t || t->numel() == 0; });
}

}  // namespace

const char* version() { return EDGERT_VERSION_STRING; }

Model::~Model() = default;

std::shared_ptr<const Model> Model::compile(Graph graph, const ModelOptions& options) {
  std::shared_ptr<Model> m(new Model());
  m->options_ = options;
  if (m->options_.num_threads <= 0)
    m->options_.num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (graph.nodes.size() > options.max_nodes)
    fail(ErrorCode::out_of_memory, "the graph has ", graph.nodes.size(), " nodes, beyond the limit of ",
         options.max_nodes);
  m->graph_ = std::move(graph);
  m->graph_.validate_and_schedule();  // reject malformed graphs before rewriting them
  if (m->options_.fold_batchnorm) {
    m->records_ = fold_batchnorm(m->graph_);
  } else {
    record_batchnorm_unfolded(m->graph_, m->records_);
  }
  fuse_batchnorm_epilogues(m->graph_, m->records_);
  const simd::KernelTable& kernels = simd::kernels_up_to(options.max_isa ? *options.max_isa : simd::default_isa());
  if (m->options_.blocked_layout) choose_blocked_layout(m->graph_, kernels.isa);
  m->schedule_ = m->graph_.validate_and_schedule();
  m->compiled_.resize(m->graph_.nodes.size());
  // Constant data every consumer has copied into its own layout (packed weights) is dropped
  // as soon as the last of them is created, keeping dtype and shape, so the model never
  // holds its weights twice and the load's peak stays near one copy. The ops are created
  // on options.num_threads threads, each taking the next node in the order below: creation
  // reads only its node and the graph, and a constant is released only once every
  // consumer that copied it is done with it (one that reads it at run time keeps it).
  Graph& g = m->graph_;
  std::vector<std::atomic<std::size_t>> uses(g.values.size());
  for (ValueId v : g.outputs) uses[v].fetch_add(1, std::memory_order_relaxed);
  for (const Node& n : g.nodes)
    for (ValueId v : n.inputs)
      if (v != kNoValue) uses[v].fetch_add(1, std::memory_order_relaxed);
  // Packed weights of mid size share huge pages (see PackedArena), on whichever thread
  // creates the op.
  PackedArena arena;
  auto create = [&](std::size_t i) {
    const Node& n = g.nodes[i];
    CreateContext ctx{n, g, kernels};
    const PackedArena::Use use(arena);
    m->compiled_[i].op = create_op(ctx);
    for (std::size_t j = 0; j < n.inputs.size(); ++j) {
      const ValueId v = n.inputs[j];
      if (v == kNoValue || !m->compiled_[i].op->releases_constant(j) || uses[v].fetch_sub(1) != 1) continue;
      Tensor& t = g.constants.at(v);
      t = Tensor(t.dtype(), t.shape());
    }
  };
  const std::size_t nodes = m->schedule_.size();
  const int threads = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(m->options_.num_threads), nodes));
  // The nodes with the most constant data first. Creating an op holds its weights twice
  // (as given and packed) until it is done, and the model only grows as its ops are created
  // (packed weights take at least the room of those they replace): late in the schedule
  // that transient came on top of nearly the whole model (resnet50's last 3x3, 9.4 MiB
  // given and 16.7 transformed, lifted the load's peak RSS 9 MiB over what stays, two such
  // at once 13-16 MiB at two threads); first, it comes on top of little.
  std::vector<std::size_t> order(nodes), bytes(nodes, 0);
  for (std::size_t k = 0; k < nodes; ++k) {
    order[k] = k;
    for (ValueId v : g.nodes[m->schedule_[k]].inputs)
      if (const Tensor* t = v == kNoValue ? nullptr : g.constant(v)) bytes[k] += t->nbytes();
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return bytes[a] > bytes[b]; });
  // The first failure in schedule order is the one reported, whatever the order and the
  // threads' timing: after a failure only the nodes scheduled before it are still created.
  std::atomic<std::size_t> next{0}, failed_at{nodes};
  std::vector<std::exception_ptr> errors(nodes);
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < nodes;) {
      const std::size_t k = order[i];
      if (k > failed_at.load()) continue;
      try {
        create(m->schedule_[k]);
      } catch (...) {
        errors[k] = std::current_exception();
        for (std::size_t f = failed_at.load(); k < f && !failed_at.compare_exchange_weak(f, k);) {
        }
      }
    }
  };
  if (threads <= 1) {
    work();
  } else {
    ThreadPool pool(threads);
    pool.parallel_tasks(static_cast<std::size_t>(threads), [&](std::size_t, std::size_t) { work(); });
  }
  if (failed_at.load() < nodes) std::rethrow_exception(errors[failed_at.load()]);
  return m;
}

simd::Isa Model::isa() const {
  return simd::kernels_up_to(options_.max_isa ? *options_.max_isa : simd::default_isa()).isa;
}

struct Session::Impl {
  const Model& model;
  const simd::KernelTable& kernels;
  std::unique_ptr<ThreadPool> pool;
  std::vector<Tensor> inputs;  // per graph input
  std::vector<char> given;

  bool planned = false;
  std::vector<Shape> plan_key;
  std::vector<Tensor> vals;
  std::vector<char> is_static;
  std::size_t dynamic_from = std::numeric_limits<std::size_t>::max();  // schedule position
  struct Step {
    std::size_t node;
    std::vector<const Tensor*> in;
    std::vector<Tensor*> out;
    std::size_t scratch_offset = 0, scratch_bytes = 0;
    bool empty = false;  // every output has zero elements: nothing to compute
  };
  std::vector<Step> steps;  // nodes run at run time, in order
  std::shared_ptr<void> arena;
  std::size_t arena_size = 0;
  bool profiling = false;
  std::vector<NodeProfile> prof;

  Impl(const Model& m)
      : model(m),
        kernels(simd::kernels_up_to(m.options().max_isa ? *m.options().max_isa : simd::default_isa())),
        pool(std::make_unique<ThreadPool>(m.options().num_threads)),
        inputs(m.graph().inputs.size()),
        given(m.graph().inputs.size(), 0) {}

  const Graph& g() const { return model.graph(); }

  Tensor& input_tensor(std::size_t i) {
    if (!given[i]) {
      const ValueId v = g().inputs[i];
      auto it = g().constants.find(v);
      if (it == g().constants.end()) fail(ErrorCode::invalid_argument, "input '", g().values[v].name, "' was not set");
      inputs[i] = it->second;
    }
    return inputs[i];
  }

  std::vector<const Tensor*> gather_inputs(const Node& n) {
    std::vector<const Tensor*> in;
    for (ValueId v : n.inputs) in.push_back(v == kNoValue ? nullptr : &vals[v]);
    return in;
  }

  // `all_fixed`: every input's data is final (static evaluation, or the dynamic tail
  // at run time); otherwise only static values count as known.
  InferContext infer(std::size_t node_index, bool all_fixed) {
    const Node& n = g().nodes[node_index];
    InferContext ctx{n, gather_inputs(n), {}, 0, model.options().max_tensor_bytes, pool->size(), {}, {}};
    for (ValueId v : n.inputs) ctx.fixed.push_back(all_fixed || (v != kNoValue && is_static[v]));
    for (std::size_t i = 0; i < ctx.inputs.size(); ++i)
      if (ctx.inputs[i] && ctx.inputs[i]->dtype() == DataType::undefined)
        fail(ErrorCode::internal, n.label(), ": input ", i, " has no type");
    model.compiled()[node_index].op->infer(ctx);
    if (ctx.outputs.size() < n.outputs.size()) {
      for (std::size_t i = ctx.outputs.size(); i < n.outputs.size(); ++i)
        if (n.outputs[i] != kNoValue)
          fail(ErrorCode::unsupported, n.label(), ": output ", i, " is not produced by edgert");
    }
    return ctx;
  }

  // Runs one node with freshly allocated outputs (static evaluation and dynamic mode).
  void eval_now(std::size_t node_index) {
    const Node& n = g().nodes[node_index];
    InferContext ctx = infer(node_index, true);
    std::vector<Tensor*> outs(n.outputs.size(), nullptr);
    for (std::size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i] == kNoValue) continue;
      vals[n.outputs[i]] = Tensor::allocate(ctx.outputs[i].dtype(), ctx.outputs[i].shape(), ctx.output_bytes(i));
      outs[i] = &vals[n.outputs[i]];
    }
    if (nothing_to_compute(outs)) return;
    std::shared_ptr<void> scratch;
    if (ctx.scratch_bytes) scratch = aligned_alloc_shared(ctx.scratch_bytes);
    RunContext rc{n,           ctx.inputs.data(), ctx.inputs.size(), outs.data(),
                  outs.size(), scratch.get(),     pool.get(),        kernels};
    model.compiled()[node_index].op->run(rc);
  }

  void prepare() {
    const Graph& gr = g();
    planned = false;
    steps.clear();
    arena.reset();
    arena_size = 0;
    dynamic_from = std::numeric_limits<std::size_t>::max();
    vals.assign(gr.values.size(), Tensor());
    is_static.assign(gr.values.size(), 0);
    for (const auto& [v, t] : gr.constants) {
      vals[v] = t;
      is_static[v] = !gr.is_overridable(v);
    }
    plan_key.clear();
    for (std::size_t i = 0; i < gr.inputs.size(); ++i) {
      vals[gr.inputs[i]] = input_tensor(i);
      is_static[gr.inputs[i]] = 0;
      plan_key.push_back(vals[gr.inputs[i]].shape());
    }
    const auto& schedule = model.schedule();
    std::vector<PlannedBuffer> buffers;
    std::vector<std::size_t> buffer_of(gr.values.size(), SIZE_MAX);
    std::vector<std::size_t> step_scratch_buffer;
    std::vector<Join> joins;  // Concats whose inputs' producers may write into the output
    for (std::size_t pos = 0; pos < schedule.size(); ++pos) {
      const std::size_t k = schedule[pos];
      const Node& n = gr.nodes[k];
      bool all_static = true;
      for (ValueId v : n.inputs)
        if (v != kNoValue && !is_static[v]) all_static = false;
      if (all_static || model.compiled()[k].op->shape_only()) {
        eval_now(k);
        for (ValueId o : n.outputs)
          if (o != kNoValue) is_static[o] = 1;
        continue;
      }
      std::optional<InferContext> inferred;
      try {
        inferred.emplace(infer(k, false));
      } catch (const NeedsValue&) {
        dynamic_from = pos;
        break;
      }
      InferContext& ctx = *inferred;
      Step step{k, ctx.inputs, {}, 0, ctx.scratch_bytes};
      for (std::size_t i = 0; i < n.outputs.size(); ++i) {
        const ValueId o = n.outputs[i];
        if (o == kNoValue) {
          step.out.push_back(nullptr);
          continue;
        }
        vals[o] = ctx.outputs[i];
        buffer_of[o] = buffers.size();
        buffers.push_back({ctx.output_bytes(i), steps.size(), steps.size(), 0});
        step.out.push_back(&vals[o]);
      }
      step.empty = nothing_to_compute(step.out);
      if (std::vector<std::size_t> at = model.compiled()[k].op->joined_inputs(ctx);
          !at.empty() && !n.outputs.empty() && n.outputs[0] != kNoValue) {
        Join j{buffer_of[n.outputs[0]], {}, std::move(at)};
        for (ValueId v : n.inputs) j.in.push_back(v == kNoValue ? SIZE_MAX : buffer_of[v]);
        joins.push_back(std::move(j));
      }
      step_scratch_buffer.push_back(SIZE_MAX);
      if (ctx.scratch_bytes) {
        step_scratch_buffer.back() = buffers.size();
        buffers.push_back({ctx.scratch_bytes, steps.size(), steps.size(), 0});
      }
      steps.push_back(std::move(step));
    }
    // Lifetimes: a buffer lives until its last reader among the planned steps; graph
    // outputs, and anything read by the dynamic tail, live to the end.
    const std::size_t end = std::numeric_limits<std::size_t>::max();
    for (std::size_t s = 0; s < steps.size(); ++s)
      for (ValueId v : gr.nodes[steps[s].node].inputs)
        if (v != kNoValue && buffer_of[v] != SIZE_MAX)
          buffers[buffer_of[v]].last = std::max(buffers[buffer_of[v]].last, s);
    for (ValueId v : gr.outputs)
      if (buffer_of[v] != SIZE_MAX) buffers[buffer_of[v]].last = end;
    if (dynamic_from != end)
      for (std::size_t pos = dynamic_from; pos < schedule.size(); ++pos)
        for (ValueId v : gr.nodes[schedule[pos]].inputs)
          if (v != kNoValue && buffer_of[v] != SIZE_MAX) buffers[buffer_of[v]].last = end;
    // Joins (Concat): the inputs' producers write straight into the output where they can.
    const JoinPlan joined = plan_joins(buffers, joins);
    // In place: an operator that may write over one of its inputs gets that input's buffer
    // when the input dies at this step and has the output's size. Not in a join group, whose
    // bytes other values share.
    std::vector<std::size_t> parent(buffers.size());
    for (std::size_t b = 0; b < parent.size(); ++b) parent[b] = b;
    auto root = [&](std::size_t b) {
      while (parent[b] != b) b = parent[b] = parent[parent[b]];
      return b;
    };
    for (std::size_t s = 0; s < steps.size(); ++s) {
      const Node& n = gr.nodes[steps[s].node];
      const int k = model.compiled()[steps[s].node].op->inplace_input();
      if (k < 0 || !n.has_input(static_cast<std::size_t>(k)) || n.outputs.empty() || n.outputs[0] == kNoValue) continue;
      const ValueId in = n.inputs[static_cast<std::size_t>(k)], out = n.outputs[0];
      if (buffer_of[in] == SIZE_MAX || buffer_of[out] == SIZE_MAX) continue;
      if (joined.group[buffer_of[in]] != SIZE_MAX || joined.group[buffer_of[out]] != SIZE_MAX) continue;
      const std::size_t bi = root(buffer_of[in]), bo = root(buffer_of[out]);
      if (bi == bo || buffers[bi].last != s || buffers[bi].size != buffers[bo].size) continue;
      parent[bo] = bi;
      buffers[bi].last = std::max(buffers[bi].last, buffers[bo].last);
    }
    std::vector<PlannedBuffer> merged;
    std::vector<std::size_t> slot(buffers.size(), SIZE_MAX);
    for (std::size_t b = 0; b < buffers.size(); ++b)
      if (root(b) == b && joined.group[b] == SIZE_MAX) slot[b] = merged.size(), merged.push_back(buffers[b]);
    const std::size_t first_group = merged.size();
    merged.insert(merged.end(), joined.spans.begin(), joined.spans.end());
    arena_size = plan_memory(merged);
    if (arena_size > model.options().max_tensor_bytes) {
      const std::size_t need = arena_size;
      arena_size = 0;
      fail(ErrorCode::out_of_memory, "the activations need an arena of ", need, " bytes, beyond the limit of ",
           model.options().max_tensor_bytes, " bytes");
    }
    auto offset_of = [&](std::size_t b) {
      const std::size_t gi = joined.group[b];
      return gi == SIZE_MAX ? merged[slot[root(b)]].offset : merged[first_group + gi].offset + joined.at[b];
    };
    if (arena_size) arena = aligned_alloc_shared(arena_size, false);
    char* base = static_cast<char*>(arena.get());
    for (std::size_t v = 0; v < gr.values.size(); ++v)
      if (buffer_of[v] != SIZE_MAX) vals[v].set_data(base + offset_of(buffer_of[v]));
    for (std::size_t s = 0; s < steps.size(); ++s)
      if (step_scratch_buffer[s] != SIZE_MAX) steps[s].scratch_offset = offset_of(step_scratch_buffer[s]);
    planned = true;
  }

  void run() {
    const Graph& gr = g();
    bool replan = !planned || plan_key.size() != gr.inputs.size();
    for (std::size_t i = 0; i < gr.inputs.size() && !replan; ++i)
      if (input_tensor(i).shape() != plan_key[i]) replan = true;
    if (replan) {
      prepare();
    } else {
      for (std::size_t i = 0; i < gr.inputs.size(); ++i) vals[gr.inputs[i]] = input_tensor(i);
    }
    char* base = static_cast<char*>(arena.get());
    if (profiling) prof.clear();
    for (const Step& s : steps) {
      if (s.empty) continue;
      const Node& n = gr.nodes[s.node];
      RunContext rc{n,          s.in.data(), s.in.size(), s.out.data(), s.out.size(), base + s.scratch_offset,
                    pool.get(), kernels};
      if (profiling) {
        auto t0 = std::chrono::steady_clock::now();
        model.compiled()[s.node].op->run(rc);
        auto t1 = std::chrono::steady_clock::now();
        prof.push_back({n.name, n.op_type, std::chrono::duration<double, std::milli>(t1 - t0).count()});
      } else {
        model.compiled()[s.node].op->run(rc);
      }
    }
    const auto& schedule = model.schedule();
    for (std::size_t pos = dynamic_from; pos < schedule.size(); ++pos) {
      const Node& n = gr.nodes[schedule[pos]];
      auto t0 = std::chrono::steady_clock::now();
      eval_now(schedule[pos]);
      if (profiling)
        prof.push_back({n.name, n.op_type,
                        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()});
    }
  }
};

Session::Session(std::shared_ptr<const Model> model)
    : model_(std::move(model)), impl_(std::make_unique<Impl>(*model_)) {}

Session::~Session() = default;

void Session::set_input(const std::string& name, const Tensor& t) {
  const Graph& g = model_->graph();
  for (std::size_t i = 0; i < g.inputs.size(); ++i)
    if (g.values[g.inputs[i]].name == name) return set_input(i, t);
  std::string names;
  for (ValueId v : g.inputs) names += (names.empty() ? "" : ", ") + g.values[v].name;
  fail(ErrorCode::invalid_argument, "the model has no input named '", name, "' (inputs: ", names, ")");
}

void Session::set_input(std::size_t index, const Tensor& t) {
  const Graph& g = model_->graph();
  if (index >= g.inputs.size())
    fail(ErrorCode::invalid_argument, "input index ", index, " is out of range (", g.inputs.size(), " inputs)");
  const ValueInfo& info = g.values[g.inputs[index]];
  if (info.dtype != DataType::undefined && t.dtype() != info.dtype)
    fail(ErrorCode::shape, "input '", info.name, "': expected ", dtype_name(info.dtype), ", got ",
         dtype_name(t.dtype()));
  if (info.has_shape) {
    bool ok = info.dims.size() == t.rank();
    for (std::size_t d = 0; ok && d < info.dims.size(); ++d)
      if (info.dims[d].value >= 0 && info.dims[d].value != t.dim(d)) ok = false;
    if (!ok) {
      std::string want = "[";
      for (std::size_t d = 0; d < info.dims.size(); ++d)
        want += (d ? "," : "") + (info.dims[d].value >= 0 ? std::to_string(info.dims[d].value)
                                                          : (info.dims[d].param.empty() ? "?" : info.dims[d].param));
      fail(ErrorCode::shape, "input '", info.name, "': expected shape ", want, "], got ", shape_str(t.shape()));
    }
  }
  for (std::int64_t d : t.shape())
    if (d < 0) fail(ErrorCode::shape, "input '", info.name, "': negative dimension in ", shape_str(t.shape()));
  if (t.nbytes() > model_->options().max_tensor_bytes)
    fail(ErrorCode::out_of_memory, "input '", info.name, "' of shape ", shape_str(t.shape()),
         " exceeds the tensor size limit");
  if (!t.has_data() && t.numel() != 0) fail(ErrorCode::invalid_argument, "input '", info.name, "' has no data");
  Tensor& dst = impl_->inputs[index];
  if (!impl_->given[index] || dst.shape() != t.shape() || dst.dtype() != t.dtype())
    dst = Tensor::allocate(t.dtype(), t.shape());
  if (t.nbytes()) std::memcpy(dst.raw(), t.raw(), t.nbytes());
  impl_->given[index] = 1;
}

void Session::run() { impl_->run(); }

const Tensor& Session::input(std::size_t index) const {
  if (index >= impl_->inputs.size())
    fail(ErrorCode::invalid_argument, "input index ", index, " is out of range (", impl_->inputs.size(), " inputs)");
  return impl_->input_tensor(index);
}

const Tensor& Session::output(std::size_t index) const {
  const Graph& g = model_->graph();
  if (index >= g.outputs.size())
    fail(ErrorCode::invalid_argument, "output index ", index, " is out of range (", g.outputs.size(), " outputs)");
  if (!impl_->planned) fail(ErrorCode::invalid_argument, "no run has produced outputs yet");
  return impl_->vals[g.outputs[index]];
}

const Tensor& Session::output(const std::string& name) const {
  const Graph& g = model_->graph();
  for (std::size_t i = 0; i < g.outputs.size(); ++i)
    if (g.values[g.outputs[i]].name == name) return output(i);
  fail(ErrorCode::invalid_argument, "the model has no output named '", name, "'");
}

void Session::set_profiling(bool on) { impl_->profiling = on; }
const std::vector<NodeProfile>& Session::profile() const { return impl_->prof; }
std::size_t Session::arena_bytes() const { return impl_->arena_size; }

}  // namespace edgert
