// edgert C++ API: everything an app needs to load an ONNX model and run it.
//
//   #include <edgert/edgert.hpp>
//
//   edgert::ModelOptions opt;                        // threads, folding, ISA cap, limits
//   opt.num_threads = 2;
//   auto model = edgert::load_model("m.onnx", opt);  // std::shared_ptr<const edgert::Model>
//   edgert::Session s(model);                        // one per thread; the model is shared
//   std::vector<float> x(1 * 3 * 224 * 224);
//   s.set_input(0, edgert::Tensor::view(edgert::DataType::float32, {1, 3, 224, 224}, x.data()));
//   s.run();
//   const edgert::Tensor& y = s.output(0);           // valid until the next run
//
// Threads: a Model is immutable once loaded and may be used by any number of Sessions on any
// number of threads at once; a Session belongs to one thread at a time.
// Errors: every failure throws edgert::Error, whose code() says what kind and whose what() is
// one line naming what is wrong and where. Nothing aborts on bad input.
// Lifetimes: set_input copies the tensor (a view may be released right after); output()
// references stay valid until the session's next run() or its destruction; a Session keeps
// its Model alive.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "edgert/error.h"
#include "edgert/graph.h"
#include "edgert/session.h"
#include "edgert/tensor.h"

namespace edgert {

/// Loads, checks and prepares the ONNX model file at `path` (external data is read from the
/// file's folder and may not leave it). Throws Error (io, parse, unsupported, shape,
/// out_of_memory) naming the file and the offending part.
std::shared_ptr<const Model> load_model(const std::string& path, const ModelOptions& options = {});

/// The same from `size` bytes at `data`, read during the call only. Models with external
/// data are refused. `label` names the model in error messages. Beware load_model("m.onnx",
/// {}): a C string with braced options picks this overload (size 0, refused with a hint);
/// pass paths as std::string or give the options by name.
std::shared_ptr<const Model> load_model(const void* data, std::size_t size, const ModelOptions& options = {},
                                        const std::string& label = "<memory>");

}  // namespace edgert
