// Shared by the C API's two halves: runtime/src/capi/capi.cpp and the ONNX entry points in
// onnx/src/capi_load.cpp (so the dependency arrow never points from runtime to onnx).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "edgert/edgert.h"
#include "edgert/error.h"
#include "edgert/session.h"

struct edgert_model {
  std::shared_ptr<const edgert::Model> model;
  // Declared dims of inputs and outputs (-1 free), for edgert_model_*_info.
  std::vector<std::vector<std::int64_t>> input_dims, output_dims;
};

namespace edgert::capi {

/// Records `message` as the calling thread's last error and returns `status`.
edgert_status set_error(edgert_status status, const std::string& message);
/// Clears the calling thread's last error.
void clear_error();

/// Runs `body` (which returns nothing and reports failure by throwing) and turns what it
/// throws into a status and the thread's message; EDGERT_OK when it returns.
template <class F>
edgert_status guarded(const char* where, F&& body) noexcept {
  try {
    clear_error();
    body();
    return EDGERT_OK;
  } catch (const Error& e) {
    return set_error(static_cast<edgert_status>(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(EDGERT_OUT_OF_MEMORY, std::string(where) + ": out of memory");
  } catch (const std::exception& e) {
    return set_error(EDGERT_INTERNAL, std::string(where) + ": " + e.what());
  } catch (...) {
    return set_error(EDGERT_INTERNAL, std::string(where) + ": unknown exception");
  }
}

/// The options a C caller passed (NULL: defaults), checked. Throws Error.
ModelOptions to_options(const edgert_model_options* options);
/// A new handle owning `model`.
edgert_model* wrap_model(std::shared_ptr<const Model> model);

}  // namespace edgert::capi
