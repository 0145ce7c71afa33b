// Lane helpers shared by the kernels: partial vectors, cross-lane interleaves and strided
// runs. Included only by the per-ISA translation units; every helper is a template on the arch.
#pragma once

#include <cstddef>
#include <type_traits>
#include <xsimd/xsimd.hpp>

namespace edgert::simd::kern {

// Loads and stores of the first `lanes` floats of a vector (lanes < L); masked where the ISA
// has masks, through a small buffer otherwise.
template <class Arch>
struct Part {
  using B = xsimd::batch<float, Arch>;
  static B load(const float* p, std::size_t lanes) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<Arch, xsimd::avx512f>)
      return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << lanes) - 1), p);
#endif
#if defined(__AVX2__)
    if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>> || std::is_same_v<Arch, xsimd::avx2>)
      return _mm256_maskload_ps(p, mask256(lanes));
#endif
    alignas(64) float t[B::size] = {};
    for (std::size_t l = 0; l < lanes; ++l) t[l] = p[l];
    return B::load_aligned(t);
  }
  static void store(float* p, B v, std::size_t lanes) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<Arch, xsimd::avx512f>)
      return _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << lanes) - 1), v);
#endif
#if defined(__AVX2__)
    if constexpr (std::is_same_v<Arch, xsimd::fma3<xsimd::avx2>> || std::is_same_v<Arch, xsimd::avx2>)
      return _mm256_maskstore_ps(p, mask256(lanes), v);
#endif
    alignas(64) float t[B::size];
    v.store_aligned(t);
    for (std::size_t l = 0; l < lanes; ++l) p[l] = t[l];
  }
#if defined(__AVX2__)
  static __m256i mask256(std::size_t lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(lanes)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
#endif
};

// Interleave of the low (high) halves of two vectors across the whole register. xsimd 8's
// zip_lo/zip_hi interleave within each 128-bit lane on AVX and AVX-512, so those tiers use
// their own cross-lane shuffles.
template <class Arch>
struct Interleave {
  using B = xsimd::batch<float, Arch>;
  static B lo(B a, B b) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<Arch, xsimd::avx512f>)
      return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
#endif
#if defined(__AVX__)
    if constexpr (B::size == 8) return _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x20);
#endif
    if constexpr (B::size == 4) return xsimd::zip_lo(a, b);
    static_assert(B::size == 4 || B::size == 8 || B::size == 16, "no interleave for this width");
    return a;
  }
  static B hi(B a, B b) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<Arch, xsimd::avx512f>)
      return _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31),
                                    b);
#endif
#if defined(__AVX__)
    if constexpr (B::size == 8) return _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x31);
#endif
    if constexpr (B::size == 4) return xsimd::zip_hi(a, b);
    return b;
  }
};

// The even lanes of a followed by those of b (a run at stride 2).
template <class Arch>
inline xsimd::batch<float, Arch> even_lanes(xsimd::batch<float, Arch> a, xsimd::batch<float, Arch> b) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Arch, xsimd::avx512f>)
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
#endif
#if defined(__AVX2__)
  if constexpr (L == 8)
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
#endif
#if defined(__SSE2__)
  if constexpr (L == 4) return _mm_shuffle_ps(a, b, 0x88);
#endif
#if defined(__ARM_NEON)
  if constexpr (L == 4) return vuzp1q_f32(a, b);
#endif
  static_assert(L == 4 || L == 8 || L == 16, "no even-lane shuffle for this width");
  return a;
}

// a / b rounded as IEEE division, as the scalar reference divides: xsimd 8.1 divides float
// vectors on neon64 with a reciprocal estimate and Newton steps, off by an ulp at times.
template <class Arch>
inline xsimd::batch<float, Arch> divide(xsimd::batch<float, Arch> a, xsimd::batch<float, Arch> b) {
#if defined(__aarch64__)
  if constexpr (std::is_same_v<Arch, xsimd::neon64>) return vdivq_f32(a, b);
#endif
  return a / b;
}

// q <= L values at stride 1 or 2 starting at s: s[0], s[stride], ... When `more` is false
// nothing past the last of them is read (partial vectors load under a mask); when true the
// caller guarantees 2L values from s are readable.
template <class Arch>
inline xsimd::batch<float, Arch> load_run(const float* s, std::size_t stride, std::size_t q, bool more) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  if (stride == 1) return q == L ? B::load_unaligned(s) : Part<Arch>::load(s, q);
  if (more) return even_lanes<Arch>(B::load_unaligned(s), B::load_unaligned(s + L));
  const std::size_t span = 2 * q - 1;  // values the run covers
  const B a = span >= L ? B::load_unaligned(s) : Part<Arch>::load(s, span);
  const B b = span > L ? Part<Arch>::load(s + L, span - L) : B(0.0f);
  return even_lanes<Arch>(a, b);
}

}  // namespace edgert::simd::kern
