// Channel-blocked depthwise convolution: 16 channels per pixel ([pixel][16]), so the vector
// runs across channels and every map size, stride, dilation and kernel size vectorises
// without tails; nc16_pack/nc16_unpack move planes into and out of that layout with L x L
// transposes in registers. Included only by the per-ISA translation units.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "gemm-inl.h"

namespace edgert::simd::kern {

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

// Transposes the L x L block r[0..L) in place: log2(L) perfect shuffles of the rows.
template <class Arch>
inline void transpose_block(xsimd::batch<float, Arch>* r) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, H = L / 2;
  for (std::size_t s = 1; s < L; s *= 2) {
    B t[L];
    for (std::size_t i = 0; i < H; ++i) {
      t[2 * i] = Interleave<Arch>::lo(r[i], r[i + H]);
      t[2 * i + 1] = Interleave<Arch>::hi(r[i], r[i + H]);
    }
    for (std::size_t i = 0; i < L; ++i) r[i] = t[i];
  }
}

template <class Arch>
void nc16_pack_f32(std::size_t n, const float* src, std::size_t ld, std::size_t nc, float* dst) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock;
  for (std::size_t p = 0; p < n; p += L) {
    const std::size_t q = std::min(L, n - p);  // pixels in this block
    for (std::size_t c0 = 0; c0 < C; c0 += L) {
      B r[L];
      for (std::size_t i = 0; i < L; ++i) {
        const float* row = src + (c0 + i) * ld + p;  // channel c0 + i
        r[i] = c0 + i >= nc ? B(0.0f) : q == L ? B::load_unaligned(row) : Part<Arch>::load(row, q);
      }
      transpose_block<Arch>(r);
      for (std::size_t i = 0; i < q; ++i) r[i].store_unaligned(dst + (p + i) * C + c0);
    }
  }
}

template <class Arch>
void nc16_unpack_f32(std::size_t n, const float* src, std::size_t nc, float* dst, std::size_t ld) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock;
  for (std::size_t p = 0; p < n; p += L) {
    const std::size_t q = std::min(L, n - p);
    for (std::size_t c0 = 0; c0 < C; c0 += L) {
      B r[L];
      for (std::size_t i = 0; i < L; ++i) r[i] = i < q ? B::load_unaligned(src + (p + i) * C + c0) : B(0.0f);
      transpose_block<Arch>(r);
      for (std::size_t i = 0; i < L && c0 + i < nc; ++i) {
        if (q == L)
          r[i].store_unaligned(dst + (c0 + i) * ld + p);
        else
          Part<Arch>::store(dst + (c0 + i) * ld + p, r[i], q);
      }
    }
  }
}

// P output pixels of one row at a time, V = 16 / L vectors each: P * V accumulators.
template <class Arch, std::size_t P>
inline void dwc_pixels(const DwcArgs& a, const float* xrow, float* y) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock, V = C / L;
  B acc[P][V];
  for (std::size_t v = 0; v < V; ++v) {
    const B b = B::load_unaligned(a.bias + v * L);
    for (std::size_t p = 0; p < P; ++p) acc[p][v] = b;
  }
  const std::size_t step = a.sx * C, row = a.wp * C;
  for (std::size_t ky = 0; ky < a.kh; ++ky) {
    const float* xr = xrow + ky * a.dy * row;
    const float* wr = a.w + ky * a.kw * C;
    for (std::size_t kx = 0; kx < a.kw; ++kx) {
      const float* xp = xr + kx * a.dx * C;
      for (std::size_t v = 0; v < V; ++v) {
        const B wv = B::load_unaligned(wr + kx * C + v * L);
        for (std::size_t p = 0; p < P; ++p)
          acc[p][v] = xsimd::fma(wv, B::load_unaligned(xp + p * step + v * L), acc[p][v]);
      }
    }
  }
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t v = 0; v < V; ++v) act_any_v<Arch>(acc[p][v], a.act).store_unaligned(y + p * C + v * L);
}

template <class Arch>
void dwc_f32(const DwcArgs& a) {
  constexpr std::size_t L = xsimd::batch<float, Arch>::size, C = kChannelBlock, V = C / L;
  constexpr std::size_t P = V == 1 ? 8 : V == 2 ? 4 : 2;
  for (std::size_t r = 0; r < a.rows; ++r) {
    const float* xrow = a.x + r * a.sy * a.wp * C;
    float* y = a.y + r * a.ow * C;
    std::size_t o = 0;
    for (; o + P <= a.ow; o += P) dwc_pixels<Arch, P>(a, xrow + o * a.sx * C, y + o * C);
    // The rest in halving blocks, so no more than a few pixels run one accumulator chain each.
    if constexpr (P >= 4)
      if (o + P / 2 <= a.ow) dwc_pixels<Arch, P / 2>(a, xrow + o * a.sx * C, y + o * C), o += P / 2;
    if constexpr (P >= 2)
      if (o + 2 <= a.ow) dwc_pixels<Arch, 2>(a, xrow + o * a.sx * C, y + o * C), o += 2;
    if (o < a.ow) dwc_pixels<Arch, 1>(a, xrow + o * a.sx * C, y + o * C);
  }
}

// Stride 2 keeps the even lanes of two consecutive vectors. The last, partial block loads
// under a mask only the values it copies, so nothing past src[(n - 1) * stride] is read.
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

template <class Arch>
void strided_copy_f32(std::size_t n, const float* src, std::size_t stride, float* dst) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  std::size_t t = 0;
  if (stride == 1) {
    for (; t + L <= n; t += L) B::load_unaligned(src + t).store_unaligned(dst + t);
    if (t < n) Part<Arch>::store(dst + t, Part<Arch>::load(src + t, n - t), n - t);
    return;
  }
  if (stride == 2) {
    for (; t + L < n; t += L)
      even_lanes<Arch>(B::load_unaligned(src + 2 * t), B::load_unaligned(src + 2 * t + L)).store_unaligned(dst + t);
    if (t < n) {
      const std::size_t q = n - t, span = 2 * q - 1;  // values to copy, values they span
      const B a = span >= L ? B::load_unaligned(src + 2 * t) : Part<Arch>::load(src + 2 * t, span);
      const B b = span > L ? Part<Arch>::load(src + 2 * t + L, span - L) : B(0.0f);
      const B v = even_lanes<Arch>(a, b);
      if (q == L)
        v.store_unaligned(dst + t);
      else
        Part<Arch>::store(dst + t, v, q);
    }
    return;
  }
  for (; t < n; ++t) dst[t] = src[t * stride];
}

}  // namespace edgert::simd::kern
