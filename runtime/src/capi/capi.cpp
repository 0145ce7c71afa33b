// The C API (edgert.h) over the C++ runtime. Exceptions never cross it: each entry point
// turns them into a status and the calling thread's message.
#include <algorithm>
#include <cstring>
#include <limits>

#include "capi_internal.h"
#include "edgert/simd/isa.h"

struct edgert_session {
  explicit edgert_session(std::shared_ptr<const edgert::Model> m) : session(std::move(m)) {}
  edgert::Session session;
  bool has_outputs = false;
};

namespace edgert::capi {
namespace {

thread_local std::string t_error;

constexpr std::size_t kMaxRank = 64;

std::vector<std::int64_t> declared_dims(const ValueInfo& v) {
  std::vector<std::int64_t> d;
  if (!v.has_shape) return d;
  for (const Dim& dim : v.dims) d.push_back(dim.value >= 0 ? dim.value : -1);
  return d;
}

void describe(const ValueInfo& v, const std::vector<std::int64_t>& dims, edgert_tensor* out) {
  out->dtype = static_cast<std::int32_t>(v.dtype);
  out->rank = dims.size();
  out->dims = dims.empty() ? nullptr : dims.data();
  out->data = nullptr;
  out->byte_size = 0;
  bool known = v.has_shape && dtype_size(v.dtype) != 0;
  std::size_t bytes = dtype_size(v.dtype);
  for (std::int64_t d : dims) {
    if (d < 0)
      known = false;
    else
      bytes *= static_cast<std::size_t>(d);
  }
  if (known) out->byte_size = bytes;
}

// A borrowed Tensor over what a C caller passed, every field checked.
Tensor to_tensor(const edgert_tensor* t, const char* name) {
  if (!t) fail(ErrorCode::invalid_argument, "input '", name, "': tensor is NULL");
  const auto dtype = static_cast<DataType>(t->dtype);
  const std::size_t esize = dtype_size(dtype);
  if (esize == 0)
    fail(ErrorCode::invalid_argument, "input '", name, "': unknown or unsupported element type ", t->dtype);
  if (t->rank > kMaxRank)
    fail(ErrorCode::invalid_argument, "input '", name, "': rank ", t->rank, " is beyond ", kMaxRank);
  if (t->rank && !t->dims) fail(ErrorCode::invalid_argument, "input '", name, "': rank ", t->rank, " but dims is NULL");
  Shape shape(t->dims, t->dims + t->rank);
  std::size_t bytes = esize;
  for (std::int64_t d : shape) {
    if (d < 0) fail(ErrorCode::shape, "input '", name, "': negative dimension in ", shape_str(shape));
    if (d != 0 && bytes > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d))
      fail(ErrorCode::out_of_memory, "input '", name, "': shape ", shape_str(shape), " overflows");
    bytes *= static_cast<std::size_t>(d);
  }
  if (t->byte_size != bytes)
    fail(ErrorCode::shape, "input '", name, "': byte_size is ", t->byte_size, " but ", dtype_name(dtype), " ",
         shape_str(shape), " holds ", bytes, " bytes");
  if (bytes && !t->data) fail(ErrorCode::invalid_argument, "input '", name, "': data is NULL");
  return Tensor::view(dtype, std::move(shape), t->data);
}

// Input or output `index` of `model`; throws Error naming the problem.
const ValueInfo& io_value(const edgert_model* model, std::size_t index, bool output) {
  if (!model) fail(ErrorCode::invalid_argument, "model is NULL");
  const std::size_t count = output ? model->model->output_count() : model->model->input_count();
  const char* what = output ? "output" : "input";
  if (index >= count)
    fail(ErrorCode::invalid_argument, what, " index ", index, " is out of range (", count, " ", what, "s)");
  return output ? model->model->output(index) : model->model->input(index);
}

const char* io_name(const edgert_model* model, std::size_t index, bool output) {
  const char* name = nullptr;
  guarded("edgert_model_io_name", [&] { name = io_value(model, index, output).name.c_str(); });
  return name;
}

void io_info(const edgert_model* model, std::size_t index, bool output, edgert_tensor* out) {
  const ValueInfo& v = io_value(model, index, output);
  if (!out) fail(ErrorCode::invalid_argument, "out is NULL");
  describe(v, output ? model->output_dims[index] : model->input_dims[index], out);
}

}  // namespace

edgert_status set_error(edgert_status status, const std::string& message) {
  try {
    t_error = message;
  } catch (...) {
    t_error.clear();
  }
  return status;
}

void clear_error() { t_error.clear(); }

ModelOptions to_options(const edgert_model_options* options) {
  edgert_model_options o = edgert_model_default_options();
  if (options) {
    constexpr std::size_t kFirst = offsetof(edgert_model_options, num_threads) + sizeof(std::int32_t);
    if (options->struct_size < kFirst || options->struct_size > (std::size_t{1} << 16))
      fail(ErrorCode::invalid_argument, "options->struct_size is ", options->struct_size,
           ": start from edgert_model_default_options()");
    // An older caller's smaller struct keeps our defaults for the fields it lacks; a newer
    // caller's larger one has fields this library does not know, which it ignores.
    std::memcpy(&o, options, std::min(options->struct_size, sizeof o));
  }
  if (o.num_threads < 0 || o.num_threads > 1024)
    fail(ErrorCode::invalid_argument, "options->num_threads is ", o.num_threads, " (0 to 1024; 0: one per core)");
  if (o.max_isa < EDGERT_ISA_AUTO || o.max_isa > EDGERT_ISA_NEON)
    fail(ErrorCode::invalid_argument, "options->max_isa is ", o.max_isa, " (EDGERT_ISA_AUTO or a tier)");
  const edgert_model_options d = edgert_model_default_options();
  ModelOptions m;
  m.num_threads = o.num_threads;
  m.fold_batchnorm = o.fold_batchnorm != 0;
  if (o.max_isa != EDGERT_ISA_AUTO) m.max_isa = static_cast<simd::Isa>(o.max_isa);
  auto limit = [](std::uint64_t v, std::uint64_t dflt) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(v ? v : dflt, std::numeric_limits<std::size_t>::max()));
  };
  m.max_model_bytes = limit(o.max_model_bytes, d.max_model_bytes);
  m.max_tensor_bytes = limit(o.max_tensor_bytes, d.max_tensor_bytes);
  m.max_nodes = limit(o.max_nodes, d.max_nodes);
  return m;
}

edgert_model* wrap_model(std::shared_ptr<const Model> model) {
  auto h = std::make_unique<edgert_model>();
  for (std::size_t i = 0; i < model->input_count(); ++i) h->input_dims.push_back(declared_dims(model->input(i)));
  for (std::size_t i = 0; i < model->output_count(); ++i) h->output_dims.push_back(declared_dims(model->output(i)));
  h->model = std::move(model);
  return h.release();
}

}  // namespace edgert::capi

using namespace edgert;
using capi::guarded;

extern "C" {

const char* edgert_version(void) { return edgert::version(); }

const char* edgert_status_string(edgert_status status) {
  switch (status) {
    case EDGERT_OK:
      return "ok";
    case EDGERT_INVALID_ARGUMENT:
    case EDGERT_IO:
    case EDGERT_PARSE:
    case EDGERT_UNSUPPORTED:
    case EDGERT_SHAPE:
    case EDGERT_OUT_OF_MEMORY:
    case EDGERT_INTERNAL:
      return error_code_name(static_cast<ErrorCode>(status));
  }
  return "unknown status";
}

const char* edgert_last_error(void) { return capi::t_error.c_str(); }

edgert_model_options edgert_model_default_options(void) {
  const ModelOptions d;
  edgert_model_options o{};
  o.struct_size = sizeof o;
  o.num_threads = d.num_threads;
  o.fold_batchnorm = d.fold_batchnorm ? 1 : 0;
  o.max_isa = EDGERT_ISA_AUTO;
  o.max_model_bytes = d.max_model_bytes;
  o.max_tensor_bytes = d.max_tensor_bytes;
  o.max_nodes = d.max_nodes;
  return o;
}

void edgert_model_free(edgert_model* model) { delete model; }

size_t edgert_model_input_count(const edgert_model* model) {
  capi::clear_error();
  return model ? model->model->input_count() : 0;
}

size_t edgert_model_output_count(const edgert_model* model) {
  capi::clear_error();
  return model ? model->model->output_count() : 0;
}

const char* edgert_model_input_name(const edgert_model* model, size_t index) {
  return capi::io_name(model, index, false);
}

const char* edgert_model_output_name(const edgert_model* model, size_t index) {
  return capi::io_name(model, index, true);
}

edgert_status edgert_model_input_info(const edgert_model* model, size_t index, edgert_tensor* out) {
  return guarded("edgert_model_input_info", [&] { capi::io_info(model, index, false, out); });
}

edgert_status edgert_model_output_info(const edgert_model* model, size_t index, edgert_tensor* out) {
  return guarded("edgert_model_output_info", [&] { capi::io_info(model, index, true, out); });
}

edgert_status edgert_session_create(const edgert_model* model, edgert_session** out) {
  if (out) *out = nullptr;
  return guarded("edgert_session_create", [&] {
    if (!model || !out) fail(ErrorCode::invalid_argument, "edgert_session_create: model or out is NULL");
    *out = new edgert_session(model->model);
  });
}

void edgert_session_free(edgert_session* session) { delete session; }

edgert_status edgert_session_set_input(edgert_session* session, const char* name, const edgert_tensor* tensor) {
  return guarded("edgert_session_set_input", [&] {
    if (!session || !name) fail(ErrorCode::invalid_argument, "edgert_session_set_input: session or name is NULL");
    session->session.set_input(std::string(name), capi::to_tensor(tensor, name));
  });
}

edgert_status edgert_session_run(edgert_session* session) {
  return guarded("edgert_session_run", [&] {
    if (!session) fail(ErrorCode::invalid_argument, "edgert_session_run: session is NULL");
    session->has_outputs = false;
    session->session.run();
    session->has_outputs = true;
  });
}

edgert_status edgert_session_get_output(edgert_session* session, const char* name, edgert_tensor* out) {
  return guarded("edgert_session_get_output", [&] {
    if (!session || !name || !out)
      fail(ErrorCode::invalid_argument, "edgert_session_get_output: session, name or out is NULL");
    const Tensor& t = session->session.output(std::string(name));
    if (!session->has_outputs) fail(ErrorCode::invalid_argument, "output '", name, "': no successful run yet");
    out->dtype = static_cast<std::int32_t>(t.dtype());
    out->rank = t.rank();
    out->dims = t.rank() ? t.shape().data() : nullptr;
    out->data = const_cast<void*>(t.raw());
    out->byte_size = t.nbytes();
  });
}

}  // extern "C"
