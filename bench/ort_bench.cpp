// ONNX Runtime through its C API, for side-by-side figures without a language binding's
// copies: loads libonnxruntime.so.1 (shipped in the npm package onnxruntime-node) with
// dlopen, runs MODEL on the .npy inputs edgert saved (edgert run --save-inputs), times
// OrtApi::Run, compares every output with edgert's .npy outputs, and prints one line.
//   ort_bench LIB MODEL IN_DIR OUT_DIR [--threads N] [--runs N] [--warmup N] [--paired N]
// --paired N then loads the model in edgert too (same inputs, same threads) and times N pairs,
// each a warm-up run and three timed runs of each runtime, the two in random order: on a
// shared machine whose speed drifts by tens of percent within seconds, the two halves of a
// pair see the same machine, so the median of the per-pair ratios holds where separate
// medians swing.
// The OrtApi table is used by position (its layout is append-only across releases); only
// the handful of entries below are declared, from the public C API's documented order.
#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "edgert/edgert.hpp"
#include "edgert/onnx/import.h"
#include "npy.h"

namespace {

using Status = void*;  // OrtStatus*, nullptr on success
using Fn = void (*)();
struct ApiBase {
  const Fn* (*get_api)(std::uint32_t version);
  const char* (*version)();
};
// Positions in the OrtApi table.
enum Slot : int {
  kGetErrorMessage = 2,
  kCreateEnv = 3,
  kCreateSession = 7,
  kRun = 9,
  kCreateSessionOptions = 10,
  kSetGraphOptimizationLevel = 23,
  kSetIntraOpNumThreads = 24,
  kCreateTensorWithData = 49,
  kCreateCpuMemoryInfo = 69,
};

const Fn* api = nullptr;
template <class F>
F slot(Slot s) {
  return reinterpret_cast<F>(api[s]);
}

void check(Status st, const char* what) {
  if (!st) return;
  const char* msg = slot<const char* (*)(Status)>(kGetErrorMessage)(st);
  std::fprintf(stderr, "ort_bench: %s: %s\n", what, msg);
  std::exit(1);
}

std::string npy_name(const std::string& name) {
  std::string s = name.empty() ? "output" : name;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (s[0] == '.') s[0] = '_';
  return s + ".npy";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s LIB MODEL IN_DIR OUT_DIR [--threads N] [--runs N] [--warmup N] [--paired N]\n",
                 argv[0]);
    return 2;
  }
  const std::string lib = argv[1], model = argv[2], in_dir = argv[3], out_dir = argv[4];
  int threads = 1, runs = 20, warmup = 3, paired = 0;
  for (int i = 5; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--threads")
      threads = v;
    else if (k == "--runs")
      runs = v;
    else if (k == "--warmup")
      warmup = v;
    else if (k == "--paired")
      paired = v;
  }
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::fprintf(stderr, "ort_bench: cannot load %s: %s\n", lib.c_str(), dlerror());
    return 1;
  }
  auto get_base = reinterpret_cast<const ApiBase* (*)()>(dlsym(handle, "OrtGetApiBase"));
  if (!get_base || !(api = get_base()->get_api(17))) {
    std::fprintf(stderr, "ort_bench: %s has no usable OrtGetApiBase\n", lib.c_str());
    return 1;
  }
  // Input and output names come from edgert's importer, which is then freed and the
  // process's peak RSS reset, so the figure printed is ORT's own.
  std::vector<std::string> in_names, out_names;
  {
    const edgert::onnx::Imported im = edgert::onnx::import_file(model);
    for (edgert::ValueId v : im.graph.inputs)
      if (!im.graph.constants.count(v)) in_names.push_back(im.graph.values[v].name);
    for (edgert::ValueId v : im.graph.outputs) out_names.push_back(im.graph.values[v].name);
  }
  if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }

  void* env = nullptr;
  check(slot<Status (*)(int, const char*, void**)>(kCreateEnv)(3, "edgert", &env), "CreateEnv");
  void* opts = nullptr;
  check(slot<Status (*)(void**)>(kCreateSessionOptions)(&opts), "CreateSessionOptions");
  check(slot<Status (*)(void*, int)>(kSetGraphOptimizationLevel)(opts, 99), "SetSessionGraphOptimizationLevel");
  check(slot<Status (*)(void*, int)>(kSetIntraOpNumThreads)(opts, threads), "SetIntraOpNumThreads");
  void* session = nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  check(slot<Status (*)(void*, const char*, void*, void**)>(kCreateSession)(env, model.c_str(), opts, &session),
        "CreateSession");
  const double create_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  void* mem = nullptr;
  check(slot<Status (*)(int, int, void**)>(kCreateCpuMemoryInfo)(1, 0, &mem), "CreateCpuMemoryInfo");

  std::vector<edgert::Tensor> inputs;
  std::vector<void*> in_values;
  for (const std::string& name : in_names) {
    inputs.push_back(edgert::tools::read_npy((std::filesystem::path(in_dir) / npy_name(name)).string()));
    edgert::Tensor& t = inputs.back();
    void* value = nullptr;
    check(slot<Status (*)(void*, void*, std::size_t, const std::int64_t*, std::size_t, int, void**)>(
              kCreateTensorWithData)(mem, t.raw(), t.nbytes(), t.shape().data(), t.rank(), static_cast<int>(t.dtype()),
                                     &value),
          "CreateTensorWithDataAsOrtValue");
    in_values.push_back(value);
  }
  std::vector<const char*> in_c, out_c;
  for (const auto& s : in_names) in_c.push_back(s.c_str());
  for (const auto& s : out_names) out_c.push_back(s.c_str());
  // Outputs go into buffers allocated once, shaped like edgert's results (no per-run
  // allocation on either side, and nothing to release between runs).
  std::vector<edgert::Tensor> want, got;
  std::vector<void*> outs;
  for (const auto& name : out_names) {
    want.push_back(edgert::tools::read_npy((std::filesystem::path(out_dir) / npy_name(name)).string()));
    got.push_back(edgert::Tensor::allocate(want.back().dtype(), want.back().shape()));
    edgert::Tensor& t = got.back();
    void* value = nullptr;
    check(slot<Status (*)(void*, void*, std::size_t, const std::int64_t*, std::size_t, int, void**)>(
              kCreateTensorWithData)(mem, t.raw(), t.nbytes(), t.shape().data(), t.rank(), static_cast<int>(t.dtype()),
                                     &value),
          "CreateTensorWithDataAsOrtValue");
    outs.push_back(value);
  }
  auto run = [&] {
    check(slot<Status (*)(void*, void*, const char* const*, void* const*, std::size_t, const char* const*, std::size_t,
                          void**)>(kRun)(session, nullptr, in_c.data(), in_values.data(), in_values.size(),
                                         out_c.data(), out_c.size(), outs.data()),
          "Run");
  };
  for (int i = 0; i < warmup; ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto a = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(ms.begin(), ms.end());
  // Compare with edgert's outputs: max |difference| / max |edgert output|.
  double worst = 0;
  for (std::size_t i = 0; i < out_names.size(); ++i) {
    const auto a = edgert::tensor_to_doubles(want[i]), b = edgert::tensor_to_doubles(got[i]);
    double max_ref = 0, max_abs = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
      max_ref = std::max(max_ref, std::abs(a[k]));
      max_abs = std::max(max_abs, std::abs(a[k] - b[k]));
    }
    worst = std::max(worst, max_ref > 0 ? max_abs / max_ref : max_abs);
  }
  // Peak RSS since the reset (VmHWM), in MiB; getrusage's maximum as a fallback.
  double peak_mb = 0;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "VmHWM:", 6) == 0) peak_mb = std::atof(line + 6) / 1024.0;
    std::fclose(f);
  }
  if (peak_mb == 0) {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    peak_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  }
  std::printf(
      "ort %s: session %.1f ms, median %.3f ms, min %.3f ms over %d runs, %d threads, peak RSS %.1f MiB, "
      "max relative difference from edgert %.3e\n",
      get_base()->version(), create_ms, ms[ms.size() / 2], ms[0], runs, threads, peak_mb, worst);
  if (paired > 0) {
    edgert::ModelOptions options;
    options.num_threads = threads;
    edgert::Session es(edgert::load_model(model, options));
    for (std::size_t i = 0; i < in_names.size(); ++i) es.set_input(in_names[i], inputs[i]);
    for (int i = 0; i < warmup; ++i) es.run();
    std::mt19937 rng(1);
    std::vector<double> e_ms, o_ms, ratio;
    for (int p = 0; p < paired; ++p) {
      double t[2];
      const int first = static_cast<int>(rng() & 1);
      for (int k = 0; k < 2; ++k) {
        const int who = k ^ first;  // 0: edgert, 1: ORT
        // ORT's pool threads spin for milliseconds after a run (with a 2 ms pause edgert's
        // two-thread runs took twice as long: 50 ms lets them sleep), edgert's for 0.2; the
        // first run after the other runtime's finds its weights and buffers evicted (a
        // different, cold-cache figure), so it is not timed, and of the next three the
        // median counts.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        who ? run() : es.run();
        double b[3];
        for (double& x : b) {
          const auto a = std::chrono::steady_clock::now();
          who ? run() : es.run();
          x = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count();
        }
        std::sort(b, b + 3);
        t[who] = b[1];
      }
      e_ms.push_back(t[0]);
      o_ms.push_back(t[1]);
      ratio.push_back(t[0] / t[1]);
    }
    auto at = [](std::vector<double> v, double q) {
      std::sort(v.begin(), v.end());
      return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
    };
    std::printf(
        "paired: %d pairs in random order, edgert / ORT per pair: median %.3f (quartiles %.3f-%.3f); medians "
        "edgert %.3f ms, ORT %.3f ms; minimums edgert %.3f ms, ORT %.3f ms\n",
        paired, at(ratio, 0.5), at(ratio, 0.25), at(ratio, 0.75), at(e_ms, 0.5), at(o_ms, 0.5), at(e_ms, 0.0),
        at(o_ms, 0.0));
  }
  return worst <= 1e-4 ? 0 : 3;
}
