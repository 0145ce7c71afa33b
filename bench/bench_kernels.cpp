// Kernel throughput per ISA tier: the inference-BN kernel beside memcpy of the same bytes,
// BN+ReLU fused against two passes, the GEMM micro-kernels in GFLOP/s (the blocked 1x1 one
// also as a fraction of the measured FMA peak), and the batch-1
// classifier's matrix-vector kernel. Bytes count one read and one write of the tensor (the
// classifier: its weights).
//   build/bench/bench_kernels --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "edgert/simd/kernels.h"
#include "peak_fma.h"

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

// The blocked 1x1 micro-kernel (pointwise_nc16_f32) as a convolution's run calls it: one
// panel (gemm_nr output channels) of one part of the sum (K rows of weights, 16 KiB at most:
// K <= 4096 / gemm_nr) over a chunk of 8 tiles of gemm_mr pixels read in the blocked layout
// (one call for the 8), bias and ReLU applied, each tile stored. K = 64, 128, 256:
// ResNet-50's 1x1 input channels up to one part (larger sums run in parts of that size; its
// 3x3s at stride 2 and its Winograd products call the same kernel). Everything stays in L1 and L2, so this is the
// kernel's own rate; bench_conv measures whole layers, which also reach their input and
// output in memory. GFLOP/s: the fastest chunk's rate; of_peak: its fraction of one core's
// FMA peak (peak_fma.h: the widest vectors the CPU has, so a narrower tier's fraction is of
// that).
void bm_pointwise_tile(benchmark::State& st, Isa isa) {
  const edgert::simd::KernelTable* t = table_or_skip(st, isa);
  if (!t) return;
  const std::size_t k = static_cast<std::size_t>(st.range(0)), mr = t->gemm_mr, nr = t->gemm_nr, tiles = 8;
  if (k > 4096 / nr) {
    st.SkipWithError("K past one part of the sum for this tier");
    return;
  }
  const std::size_t pixels = tiles * mr, blocks_out = (nr + 15) / 16;
  std::vector<float> a(k * pixels), b(k * nr), bias(nr), y(blocks_out * pixels * 16);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 17) * 0.01f;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 11) * 0.01f - 0.05f;
  for (std::size_t i = 0; i < nr; ++i) bias[i] = 0.1f;
  edgert::simd::PointwiseArgs args;
  args.k = k;
  args.a_stride = pixels * 16;  // floats between blocks of 16 input channels
  args.a_blocked = 1;
  args.b = b.data();
  args.ldb = nr;
  args.y_stride = pixels * 16;
  args.mr_valid = mr;
  args.nr_valid = nr;
  args.bias = bias.data();
  args.act.kind = edgert::simd::Act::relu;
  args.a = a.data();
  args.y = y.data();
  args.tiles = tiles;  // one call for the chunk, as a convolution makes it
  args.a_tile_step = args.y_tile_step = mr * 16;
  // On a shared machine a neighbour's burst slows kernel and peak alike, so the fraction
  // compares the fastest chunk with the fastest slice of the FMA peak loop run between them
  // (about 0.3 ms each, every 64 chunks).
  double best_chunk = 1e30, best_peak = 0;
  std::size_t n = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    t->pointwise_nc16_f32(args);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    best_chunk = std::min(best_chunk, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (n++ % 64 == 0) {
      st.PauseTiming();
      best_peak = std::max(best_peak, fma_peak_slice_gflops(100'000));
      st.ResumeTiming();
    }
  }
  const double gflops = 2.0 * static_cast<double>(k * pixels * nr) / best_chunk / 1e9;
  st.counters["GFLOP/s"] = gflops;
  if (best_peak > 0) st.counters["of_peak"] = gflops / best_peak;
}

// A batch-1 classifier: y[n] = W[n x k] x, W's rows contiguous (Gemm transB=1), as
// gemv_cols_f32 runs it. Copies of W filling 96 MiB are used in turn, so each call reads its
// weights from memory as it does inside a whole model. Bytes: the weights read.
void bm_gemv_cols(benchmark::State& st, Isa isa) {
  const edgert::simd::KernelTable* t = table_or_skip(st, isa);
  if (!t) return;
  const std::size_t n = static_cast<std::size_t>(st.range(0)), k = static_cast<std::size_t>(st.range(1));
  const std::size_t copies = std::max<std::size_t>(2, (std::size_t{96} << 20) / (n * k * sizeof(float)));
  std::vector<float> w(copies * n * k), x(k), y(n);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 13) * 0.01f;
  for (std::size_t i = 0; i < k; ++i) x[i] = static_cast<float>(i % 7) * 0.1f;
  std::size_t at = 0;
  for (auto _ : st) {
    t->gemv_cols_f32(n, k, x.data(), w.data() + at * n * k, k, y.data(), 0);
    benchmark::DoNotOptimize(y.data());
    at = (at + 1) % copies;
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * n * k * sizeof(float)));
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
// MobileNetV2's, DenseNet-121's and ResNet-50's classifiers.
BENCHMARK_CAPTURE(bm_gemv_cols, avx2, Isa::avx2)->Args({1000, 1280})->Args({1000, 1024})->Args({1000, 2048});
BENCHMARK_CAPTURE(bm_gemv_cols, avx512, Isa::avx512)->Args({1000, 1280})->Args({1000, 1024})->Args({1000, 2048});
BENCHMARK_CAPTURE(bm_pointwise_tile, sse2, Isa::sse2)->ArgName("K")->Arg(64)->Arg(128)->Arg(256);
BENCHMARK_CAPTURE(bm_pointwise_tile, avx2, Isa::avx2)->ArgName("K")->Arg(64)->Arg(128)->Arg(256);
BENCHMARK_CAPTURE(bm_pointwise_tile, avx512, Isa::avx512)->ArgName("K")->Arg(64)->Arg(128);
BENCHMARK_CAPTURE(bm_pointwise_tile, neon, Isa::neon)->ArgName("K")->Arg(64)->Arg(128)->Arg(256);
BENCHMARK_CAPTURE(bm_gemm_ukernel, scalar, Isa::scalar);
BENCHMARK_CAPTURE(bm_gemm_ukernel, sse2, Isa::sse2);
BENCHMARK_CAPTURE(bm_gemm_ukernel, avx2, Isa::avx2);
BENCHMARK_CAPTURE(bm_gemm_ukernel, avx512, Isa::avx512);
BENCHMARK_CAPTURE(bm_gemm_ukernel, neon, Isa::neon);

}  // namespace

BENCHMARK_MAIN();
