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

}  // namespace edgert::simd::kern
