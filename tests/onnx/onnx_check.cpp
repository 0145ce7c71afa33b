// Runs onnx::checker::check_model (with shape inference) on each file given.
// Linked against libonnx only, never with edgert's own generated ONNX classes.
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  int bad = 0;
  for (int i = 1; i < argc; ++i) {
    try {
      onnx::checker::check_model(std::string(argv[i]));
      std::printf("%s: ok\n", argv[i]);
    } catch (const std::exception& e) {
      std::printf("%s: %s\n", argv[i], e.what());
      bad = 1;
    }
  }
  return bad;
}
