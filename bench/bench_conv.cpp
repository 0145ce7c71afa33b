// Convolution layers at ResNet-50, MobileNetV2 and EfficientNet-B0 shapes (batch 1, 224x224
// input), each a one-node model run through a Session as edgert runs it (weights packed at
// load, bias and ReLU or SiLU (x * Sigmoid(x)) fused), reporting GFLOP/s and the fraction of this core's measured FMA
// peak. The
// `.../blocked` variants put the convolution between two 1x1 depthwise
// convolutions, so it reads and writes the channel-blocked layout as inside a network; they
// time the layer's node alone (the session's profile) and add best_of_peak: the fastest run
// against the fastest slice of the peak loop measured between runs, a steadier figure on a
// shared machine than of_peak, which divides the mean by a peak measured once at start.
//   build/bench/bench_conv --benchmark_min_time=0.5 [--benchmark_filter=resnet]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>

#include "edgert/graph.h"
#include "edgert/session.h"
#include "peak_fma.h"

namespace {

using edgert::Attribute;
using edgert::DataType;
using edgert::Tensor;

struct Layer {
  const char* name;
  std::int64_t cin, cout, hw, k, stride, group;
  bool silu = false;  // the activation: ReLU, or SiLU as exporters write it
};

// Each distinct convolution shape of the two networks (ResNet-50 v1.5: the stride sits on the 3x3).
const Layer kLayers[] = {
    {"resnet50/conv1_7x7s2", 3, 64, 224, 7, 2, 1},
    {"resnet50/res2_1x1_64_64", 64, 64, 56, 1, 1, 1},
    {"resnet50/res2_3x3_64", 64, 64, 56, 3, 1, 1},
    {"resnet50/res2_1x1_64_256", 64, 256, 56, 1, 1, 1},
    {"resnet50/res2_1x1_256_64", 256, 64, 56, 1, 1, 1},
    {"resnet50/res3_3x3_128", 128, 128, 28, 3, 1, 1},
    {"resnet50/res3_1x1_128_512", 128, 512, 28, 1, 1, 1},
    {"resnet50/res3_1x1_512_128", 512, 128, 28, 1, 1, 1},
    {"resnet50/res3_3x3s2_128", 128, 128, 56, 3, 2, 1},
    {"resnet50/res4_3x3s2_256", 256, 256, 28, 3, 2, 1},
    {"resnet50/res5_3x3s2_512", 512, 512, 14, 3, 2, 1},
    {"resnet50/res4_3x3_256", 256, 256, 14, 3, 1, 1},
    {"resnet50/res4_1x1_256_1024", 256, 1024, 14, 1, 1, 1},
    {"resnet50/res4_1x1_1024_256", 1024, 256, 14, 1, 1, 1},
    {"resnet50/res5_3x3_512", 512, 512, 7, 3, 1, 1},
    {"resnet50/res5_1x1_512_2048", 512, 2048, 7, 1, 1, 1},
    {"resnet50/res5_1x1_2048_512", 2048, 512, 7, 1, 1, 1},
    {"densenet121/3x3_128_32_56", 128, 32, 56, 3, 1, 1},
    {"densenet121/3x3_128_32_28", 128, 32, 28, 3, 1, 1},
    {"densenet121/3x3_128_32_14", 128, 32, 14, 3, 1, 1},
    {"densenet121/3x3_128_32_7", 128, 32, 7, 3, 1, 1},
    {"mobilenetv2/conv1_3x3s2", 3, 32, 224, 3, 2, 1},
    {"mobilenetv2/dw3x3_32_112", 32, 32, 112, 3, 1, 32},
    {"mobilenetv2/dw3x3s2_96_112", 96, 96, 112, 3, 2, 96},
    {"mobilenetv2/dw3x3_144_56", 144, 144, 56, 3, 1, 144},
    {"mobilenetv2/dw3x3s2_144_56", 144, 144, 56, 3, 2, 144},
    {"mobilenetv2/dw3x3_192_28", 192, 192, 28, 3, 1, 192},
    {"mobilenetv2/dw3x3s2_192_28", 192, 192, 28, 3, 2, 192},
    {"mobilenetv2/dw3x3_576_14", 576, 576, 14, 3, 1, 576},
    {"mobilenetv2/dw3x3s2_576_14", 576, 576, 14, 3, 2, 576},
    {"mobilenetv2/dw3x3_960_7", 960, 960, 7, 3, 1, 960},
    {"mnasnet/dw5x5_480_14", 480, 480, 14, 5, 1, 480},
    {"mobilenetv2/pw_32_16_112", 32, 16, 112, 1, 1, 1},
    {"mobilenetv2/pw_16_96_112", 16, 96, 112, 1, 1, 1},
    {"mobilenetv2/pw_24_144_56", 24, 144, 56, 1, 1, 1},
    {"mobilenetv2/pw_144_24_56", 144, 24, 56, 1, 1, 1},
    {"mobilenetv2/pw_192_32_28", 192, 32, 28, 1, 1, 1},
    {"mobilenetv2/pw_576_96_14", 576, 96, 14, 1, 1, 1},
    {"mobilenetv2/pw_960_320_7", 960, 320, 7, 1, 1, 1},
    {"mobilenetv2/pw_320_1280_7", 320, 1280, 7, 1, 1, 1},
    {"efficientnet_b0/pw_16_96_112_silu", 16, 96, 112, 1, 1, 1, true},
    {"efficientnet_b0/dw3x3s2_96_112_silu", 96, 96, 112, 3, 2, 96, true},
    {"efficientnet_b0/dw5x5_240_28_silu", 240, 240, 28, 5, 1, 240, true},
    {"efficientnet_b0/pw_320_1280_7_silu", 320, 1280, 7, 1, 1, 1, true},
};

Tensor random_tensor(const edgert::Shape& s, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  Tensor t = Tensor::allocate(DataType::float32, s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

void bm_conv(benchmark::State& st, const Layer& l, bool blocked) {
  const std::int64_t pad = l.k / 2;
  edgert::Graph g;
  g.add_input("x", DataType::float32, {1, l.cin, l.hw, l.hw});
  g.add_constant("w", random_tensor({l.cout, l.cin / l.group, l.k, l.k}, 1));
  g.add_constant("b", random_tensor({l.cout}, 2));
  auto scale = [&](const char* in, std::int64_t c, const char* w, const char* out) {
    g.add_constant(w, random_tensor({c, 1, 1, 1}, 4));
    g.add_node("Conv", {in, w}, {out}, {{"group", Attribute::of(c)}}, "", 13);
  };
  if (blocked) scale("x", l.cin, "pre_w", "xb");
  g.add_node("Conv", {blocked ? "xb" : "x", "w", "b"}, {"c"},
             {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{l.k, l.k})},
              {"strides", Attribute::of(std::vector<std::int64_t>{l.stride, l.stride})},
              {"pads", Attribute::of(std::vector<std::int64_t>{pad, pad, pad, pad})},
              {"group", Attribute::of(l.group)}},
             "", 13);
  if (l.silu) {
    g.add_node("Sigmoid", {"c"}, {"gate"}, {}, "", 13);
    g.add_node("Mul", {"c", "gate"}, {blocked ? "r" : "y"}, {}, "", 13);
  } else {
    g.add_node("Relu", {"c"}, {blocked ? "r" : "y"}, {}, "", 13);
  }
  if (blocked) scale("r", l.cout, "post_w", "y");
  g.add_output("y");
  edgert::ModelOptions o;
  o.num_threads = static_cast<int>(st.range(0));
  auto model = edgert::Model::compile(std::move(g), o);
  edgert::Session s(model);
  s.set_input(0, random_tensor({1, l.cin, l.hw, l.hw}, 3));
  s.run();
  const std::int64_t out = (l.hw + 2 * pad - l.k) / l.stride + 1;
  const double flops = 2.0 * static_cast<double>(l.cout * (l.cin / l.group) * l.k * l.k * out * out);
  double secs = 0, best_secs = 1e30, best_peak = 0;
  std::size_t n = 0;
  if (blocked) {
    s.set_profiling(true);
    for (auto _ : st) {
      s.run();
      const double ms = s.profile().at(1).ms;  // pre, the layer, (the activation fused), post
      st.SetIterationTime(ms / 1e3);
      secs += ms / 1e3;
      best_secs = std::min(best_secs, ms / 1e3);
      // A slice of the FMA peak loop (about 0.3 ms) every 16 runs, for best_of_peak.
      if (n++ % 16 == 0) best_peak = std::max(best_peak, fma_peak_slice_gflops(100'000));
    }
  } else {
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : st) s.run();
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double gflops = flops * static_cast<double>(st.iterations()) / secs / 1e9;
  st.counters["GFLOP/s"] = gflops;
  // Fraction of the peak of the cores used: the layer's rate over threads x one core's peak.
  const double peak = measured_peak_gflops() * static_cast<double>(st.range(0));
  if (peak > 0) st.counters["of_peak"] = gflops / peak;
  // The fastest run against the fastest peak slice measured between the runs (a shared
  // machine's bursts slow both): the layer's best case, steadier than the mean's of_peak.
  if (blocked && best_peak > 0)
    st.counters["best_of_peak"] = flops / best_secs / 1e9 / (best_peak * static_cast<double>(st.range(0)));
  st.SetLabel(edgert::simd::isa_name(model->isa()));
}

const int kRegistered = [] {
  for (const Layer& l : kLayers)
    for (bool blocked : {false, true}) {
      const std::string name = std::string(l.name) + (blocked ? "/blocked" : "");
      auto* b =
          benchmark::RegisterBenchmark(name.c_str(), [&l, blocked](benchmark::State& st) { bm_conv(st, l, blocked); })
              ->ArgName("threads")
              ->Arg(1)
              ->Arg(2)
              ->Unit(benchmark::kMicrosecond);
      if (blocked)
        b->UseManualTime();
      else
        b->UseRealTime();
    }
  return 0;
}();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("fma_peak_gflops_per_core", std::to_string(measured_peak_gflops()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
