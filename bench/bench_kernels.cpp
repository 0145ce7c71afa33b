// Kernel throughput per ISA tier: the inference-BN kernel beside memcpy of the same bytes,
// BN+ReLU fused against two passes, and the GEMM micro-kernel in GFLOP/s. Bytes count one
// read and one write of the tensor.
//   build/bench/bench_kernels --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "edgert/simd/kernels.h"

namespace {

using edgert::simd::Isa;

// The table for `isa`, or nullptr after marking the benchmark skipped.
const edgert::simd::KernelTable* table_or_skip(benchmark::State& st, Isa isa) {
  const edgert::simd::KernelTable* t = edgert::simd::kernels_for(isa);
  if (!t) st.SkipWithError("ISA not available");
  return t;
}

// A 64-byte aligned input and output of n floats; counts one read and one write per run.
struct InOut {
  explicit InOut(std::size_t count) : n(count), x(alloc(count)), y(alloc(count)) {}
  ~InOut() {
    std::free(x);
    std::free(y);
  }
  InOut(const InOut&) = delete;
  InOut& operator=(const InOut&) = delete;
  void count_bytes(benchmark::State& st) const {
    st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * n * 8));
  }
  static float* alloc(std::size_t n) {
    return static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
  }
  std::size_t n;
  float* x;
  float* y;
};

void bm_affine(benchmark::State& st, Isa isa) {
  const edgert::simd::KernelTable* t = table_or_skip(st, isa);
  if (!t) return;
  const std::size_t c = static_cast<std::size_t>(st.range(0)), plane = static_cast<std::size_t>(st.range(1));
  InOut io(c * plane);
  float *x = io.x, *y = io.y;
  std::vector<float> s(c, 1.1f), b(c, 0.1f);
  for (std::size_t i = 0; i < c * plane; ++i) x[i] = static_cast<float>(i % 97);
  for (auto _ : st) {
    t->affine_nchw_f32(1, c, plane, x, y, s.data(), b.data());
    benchmark::DoNotOptimize(y);
  }
  io.count_bytes(st);
}

void bm_memcpy(benchmark::State& st) {
  InOut io(static_cast<std::size_t>(st.range(0) * st.range(1)));
  std::memset(io.x, 1, io.n * 4);
  for (auto _ : st) {
    std::memcpy(io.y, io.x, io.n * 4);
    benchmark::DoNotOptimize(io.y);
  }
  io.count_bytes(st);
}

// BN then ReLU as two passes over memory, against the fused one-pass kernel.
void bm_bn_relu(benchmark::State& st, Isa isa, bool fused) {
  const edgert::simd::KernelTable* t = table_or_skip(st, isa);
  if (!t) return;
  const std::size_t c = static_cast<std::size_t>(st.range(0)), plane = static_cast<std::size_t>(st.range(1));
  InOut io(c * plane);
  float *x = io.x, *y = io.y;
  std::vector<float> s(c, 1.1f), b(c, -0.1f);
  for (std::size_t i = 0; i < c * plane; ++i) x[i] = static_cast<float>(i % 97) - 48.0f;
  const edgert::simd::ActParams relu{edgert::simd::Act::relu, 0, 0};
  const edgert::simd::ActParams none{};
  std::vector<float> ones(c, 1.0f), zeros(c, 0.0f);
  for (auto _ : st) {
    if (fused) {
      t->affine_act_nchw_f32(1, c, plane, x, nullptr, y, s.data(), b.data(), relu, 1);
    } else {
      t->affine_act_nchw_f32(1, c, plane, x, nullptr, y, s.data(), b.data(), none, 1);
      t->affine_act_nchw_f32(1, c, plane, y, nullptr, y, ones.data(), zeros.data(), relu, 1);
    }
    benchmark::DoNotOptimize(y);
  }
  io.count_bytes(st);
}

void bm_gemm_ukernel(benchmark::State& st, Isa isa) {
  const edgert::simd::KernelTable* t = table_or_skip(st, isa);
  if (!t) return;
  const std::size_t k = 256;
  std::vector<float> a(t->gemm_mr * k, 0.5f), b(t->gemm_nr * k, 0.25f), c(t->gemm_mr * t->gemm_nr);
  for (auto _ : st) {
    t->gemm_ukernel_f32(k, a.data(), b.data(), t->gemm_nr, c.data(), t->gemm_nr, t->gemm_mr, t->gemm_nr, 0, nullptr);
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(st.iterations() * 2 * k * t->gemm_mr * t->gemm_nr),
                                              benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// Shapes: (channels, H*W) from L1-resident to far beyond L2.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "HW"});
  for (auto [c, hw] : {std::pair{4, 1024}, {16, 1024}, {64, 56 * 56}, {256, 56 * 56}, {2048, 56 * 56}})
    b->Args({c, hw});
}

BENCHMARK(bm_memcpy)->Apply(shapes);
BENCHMARK_CAPTURE(bm_affine, scalar, Isa::scalar)->Apply(shapes);
BENCHMARK_CAPTURE(bm_affine, sse2, Isa::sse2)->Apply(shapes);
BENCHMARK_CAPTURE(bm_affine, avx2, Isa::avx2)->Apply(shapes);
BENCHMARK_CAPTURE(bm_affine, avx512, Isa::avx512)->Apply(shapes);
BENCHMARK_CAPTURE(bm_affine, neon, Isa::neon)->Apply(shapes);
BENCHMARK_CAPTURE(bm_bn_relu, avx512_fused, Isa::avx512, true)->Apply(shapes);
BENCHMARK_CAPTURE(bm_bn_relu, avx512_two_passes, Isa::avx512, false)->Apply(shapes);
BENCHMARK_CAPTURE(bm_bn_relu, avx2_fused, Isa::avx2, true)->Apply(shapes);
BENCHMARK_CAPTURE(bm_bn_relu, avx2_two_passes, Isa::avx2, false)->Apply(shapes);
BENCHMARK_CAPTURE(bm_gemm_ukernel, scalar, Isa::scalar);
BENCHMARK_CAPTURE(bm_gemm_ukernel, sse2, Isa::sse2);
BENCHMARK_CAPTURE(bm_gemm_ukernel, avx2, Isa::avx2);
BENCHMARK_CAPTURE(bm_gemm_ukernel, avx512, Isa::avx512);
BENCHMARK_CAPTURE(bm_gemm_ukernel, neon, Isa::neon);

}  // namespace

BENCHMARK_MAIN();
