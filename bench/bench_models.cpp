// Whole zoo models, per thread count and with BatchNorm folding on and off.
//   build/bench/bench_models --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <map>

#include "edgert/onnx/import.h"
#include "zoo.h"

namespace {

const std::string& model_bytes(const std::string& name) {
  static std::map<std::string, std::string> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, edgert::zoo::build(name, 0).SerializeAsString()).first;
  return it->second;
}

void bm_model(benchmark::State& st, const std::string& name) {
  edgert::ModelOptions o;
  o.num_threads = static_cast<int>(st.range(0));
  o.fold_batchnorm = st.range(1) != 0;
  const std::string& bytes = model_bytes(name);
  auto model = edgert::Model::compile(edgert::onnx::import_memory(bytes.data(), bytes.size()).graph, o);
  edgert::Session s(model);
  edgert::Shape shape;
  for (const auto& d : model->input(0).dims) shape.push_back(d.value >= 0 ? d.value : 1);
  edgert::Tensor x = edgert::Tensor::allocate(edgert::DataType::float32, shape);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 255) / 255.0f;
  s.set_input(0, x);
  s.run();
  for (auto _ : st) s.run();
  st.SetLabel(edgert::simd::isa_name(model->isa()));
}

void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"threads", "fold"})->Unit(benchmark::kMillisecond)->UseRealTime();
  for (int t : {1, 2})
    for (int f : {0, 1}) b->Args({t, f});
}

BENCHMARK_CAPTURE(bm_model, resnet50, std::string("resnet50"))->Apply(args);
BENCHMARK_CAPTURE(bm_model, mobilenetv2, std::string("mobilenetv2"))->Apply(args);
BENCHMARK_CAPTURE(bm_model, densenet121, std::string("densenet121"))->Apply(args);

}  // namespace

BENCHMARK_MAIN();
