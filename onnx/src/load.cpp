// edgert::load_model (edgert.hpp): the ONNX loader followed by Model::compile.
#include "edgert/edgert.hpp"
#include "edgert/onnx/import.h"

namespace edgert {

std::shared_ptr<const Model> load_model(const std::string& path, const ModelOptions& options) {
  return Model::compile(onnx::import_file(path, onnx::LoadLimits::from(options)).graph, options);
}

std::shared_ptr<const Model> load_model(const void* data, std::size_t size, const ModelOptions& options,
                                        const std::string& label) {
  if (!data && size) fail(ErrorCode::invalid_argument, label, ": no data (NULL pointer with ", size, " bytes)");
  // load_model(path, {}) with a C string lands here (its {} is the size): say so.
  if (size == 0)
    fail(ErrorCode::invalid_argument, label,
         ": no model bytes (size 0); a file is loaded by its path: load_model(std::string(path)), "
         "edgert_model_load_file");
  return Model::compile(onnx::import_memory(data, size, onnx::LoadLimits::from(options), "", label).graph, options);
}

}  // namespace edgert
