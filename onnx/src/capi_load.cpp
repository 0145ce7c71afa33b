// The C API's entry points that read ONNX (edgert.h); the rest is runtime/src/capi/capi.cpp.
#include "capi_internal.h"
#include "edgert/edgert.hpp"

extern "C" {

edgert_status edgert_model_load_file(const char* path, const edgert_model_options* options, edgert_model** out) {
  if (out) *out = nullptr;
  return edgert::capi::guarded("edgert_model_load_file", [&] {
    if (!path || !out) edgert::fail(edgert::ErrorCode::invalid_argument, "edgert_model_load_file: path or out is NULL");
    const edgert::ModelOptions o = edgert::capi::to_options(options);
    *out = edgert::capi::wrap_model(edgert::load_model(std::string(path), o));
  });
}

edgert_status edgert_model_load_memory(const void* data, size_t size, const edgert_model_options* options,
                                       edgert_model** out) {
  if (out) *out = nullptr;
  return edgert::capi::guarded("edgert_model_load_memory", [&] {
    if (!out) edgert::fail(edgert::ErrorCode::invalid_argument, "edgert_model_load_memory: out is NULL");
    const edgert::ModelOptions o = edgert::capi::to_options(options);
    *out = edgert::capi::wrap_model(edgert::load_model(data, size, o));
  });
}

}  // extern "C"
