// libFuzzer harness for the model loader, through the C API an app would use: load the bytes
// as a model; when that succeeds, run it once on zero inputs (free dims set to 1; inputs
// over 2^18 elements are not run: a 1000x1000 int8 MaxPool with a 60x80 dilated window
// took over the 12 s timeout under the sanitizers without being wrong). Any status
// is fine except EDGERT_INTERNAL (an exception that is not edgert::Error: a bug); a crash,
// leak, hang or sanitizer report is a finding too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "edgert/edgert.h"

namespace {

void check(edgert_status s, const char* what) {
  if (s == EDGERT_INTERNAL) {
    std::fprintf(stderr, "%s: internal error: %s\n", what, edgert_last_error());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgert_model_options o = edgert_model_default_options();
  o.max_model_bytes = 1 << 20;
  o.max_tensor_bytes = 16 << 20;  // weights, inputs, activations and the arena
  o.max_nodes = 256;
  o.num_threads = 1;
  edgert_model* m = nullptr;
  const edgert_status s = edgert_model_load_memory(data, size, &o, &m);
  check(s, "load");
  if (s != EDGERT_OK) return 0;
  edgert_session* session = nullptr;
  check(edgert_session_create(m, &session), "session");
  bool runnable = session != nullptr;
  std::vector<std::vector<unsigned char>> buffers;
  for (std::size_t i = 0; runnable && i < edgert_model_input_count(m); ++i) {
    edgert_tensor info;
    check(edgert_model_input_info(m, i, &info), "input_info");
    std::vector<std::int64_t> dims(info.dims, info.dims + info.rank);
    std::size_t elems = 1;
    for (auto& d : dims) {
      if (d < 0) d = 1;
      elems *= static_cast<std::size_t>(d);
      if (elems > (1u << 18)) runnable = false;
    }
    const std::size_t esize =
        info.dtype == EDGERT_DTYPE_FLOAT64 || info.dtype == EDGERT_DTYPE_INT64 || info.dtype == EDGERT_DTYPE_UINT64 ? 8
        : info.dtype == EDGERT_DTYPE_FLOAT32 || info.dtype == EDGERT_DTYPE_INT32 || info.dtype == EDGERT_DTYPE_UINT32
            ? 4
        : info.dtype == EDGERT_DTYPE_FLOAT16 || info.dtype == EDGERT_DTYPE_BFLOAT16 ||
                info.dtype == EDGERT_DTYPE_INT16 || info.dtype == EDGERT_DTYPE_UINT16
            ? 2
            : 1;
    if (!runnable) break;
    buffers.emplace_back(elems * esize + 1, 0);
    const edgert_tensor t{info.dtype == EDGERT_DTYPE_UNDEFINED ? EDGERT_DTYPE_FLOAT32 : info.dtype, dims.size(),
                          dims.data(), buffers.back().data(), elems * esize};
    const edgert_status st = edgert_session_set_input(session, edgert_model_input_name(m, i), &t);
    check(st, "set_input");
    if (st != EDGERT_OK) runnable = false;
  }
  if (runnable) {
    check(edgert_session_run(session), "run");
    for (std::size_t i = 0; i < edgert_model_output_count(m); ++i) {
      edgert_tensor y;
      check(edgert_session_get_output(session, edgert_model_output_name(m, i), &y), "get_output");
    }
  }
  edgert_session_free(session);
  edgert_model_free(m);
  return 0;
}
