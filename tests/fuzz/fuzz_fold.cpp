// libFuzzer harness for `edgert fold`'s engine (edgert::onnx::fold_model): any bytes either
// fold or throw edgert::Error (anything else escapes and is a finding), and whenever the input
// imports, the folded model must import too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "edgert/error.h"
#include "edgert/onnx/fold.h"
#include "edgert/onnx/import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  edgert::onnx::LoadLimits limits;
  limits.max_model_bytes = 1 << 20;
  limits.max_tensor_bytes = 16 << 20;
  limits.max_nodes = 256;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  bool imports = true;
  try {
    edgert::onnx::import_memory(bytes.data(), bytes.size(), limits);
  } catch (const edgert::Error&) {
    imports = false;
  }
  std::string folded;
  try {
    edgert::onnx::FoldReport report;
    folded = edgert::onnx::fold_model(bytes, "", report, limits);
  } catch (const edgert::Error&) {
    return 0;
  }
  if (imports) {
    try {
      edgert::onnx::import_memory(folded.data(), folded.size(), limits);
    } catch (const edgert::Error& e) {
      std::fprintf(stderr, "the input imports but its folded form does not: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
