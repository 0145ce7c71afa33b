// The machine's measured FMA peak for one core: independent fused multiply-add chains on
// registers only, with the widest vectors the CPU runs (compiled for AVX-512F, and for
// AVX2+FMA; chosen at run time like the kernels). bench_conv reports each layer's fraction of it.
#include "peak_fma.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>

namespace {

// 12 accumulators hide the 4-cycle FMA latency on two FMA ports.
__attribute__((target("avx512f"))) float fma_loop_avx512(long iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 m = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-6f);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0] + out[15];
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(long iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-6f);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

}  // namespace
#endif

double fma_peak_slice_gflops(long iters) {
#if defined(__x86_64__)
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !__builtin_cpu_supports("fma")) return 0.0;
  static volatile float sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
  sink = sink + (avx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 2.0 * (avx512 ? 16 : 8) * 12.0 * static_cast<double>(iters) / s / 1e9;
#else
  (void)iters;
  return 0.0;
#endif
}

double measured_peak_gflops() {
  static const double peak = [] {
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) best = std::max(best, fma_peak_slice_gflops(20'000'000));
    return best;
  }();
  return peak;
}
