// Channel-blocked depthwise convolution: 16 channels per pixel ([pixel][16]), so the vector
// runs across channels and every map size, stride, dilation and kernel size vectorises
// without tails; nc16_pack/nc16_unpack move planes into and out of that layout with L x L
// transposes in registers. Included only by the per-ISA translation units.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
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

// A 1x1 kernel is a per-lane affine map (an inference BatchNormalization on blocks): the
// weights and bias stay in registers and the activation is chosen once, not per vector.
template <class Arch, Act A>
void dwc_1x1(const DwcArgs& a) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock, V = C / L;
  B w[V], b[V];
  for (std::size_t v = 0; v < V; ++v) w[v] = B::load_unaligned(a.w + v * L), b[v] = B::load_unaligned(a.bias + v * L);
  for (std::size_t r = 0; r < a.rows; ++r) {
    const float* x = a.x + r * a.sy * a.wp * C;
    float* y = a.y + r * a.ow * C;
    for (std::size_t o = 0; o < a.ow; ++o, x += a.sx * C, y += C)
      for (std::size_t v = 0; v < V; ++v)
        act_v<Arch, A>(xsimd::fma(w[v], B::load_unaligned(x + v * L), b[v]), a.act).store_unaligned(y + v * L);
  }
}

template <class Arch>
void dwc_f32(const DwcArgs& a) {
  constexpr std::size_t L = xsimd::batch<float, Arch>::size, C = kChannelBlock, V = C / L;
  constexpr std::size_t P = V == 1 ? 8 : V == 2 ? 4 : 2;
  if (a.kh == 1 && a.kw == 1) {
    switch (a.act.kind) {
      case Act::none:
        return dwc_1x1<Arch, Act::none>(a);
      case Act::relu:
        return dwc_1x1<Arch, Act::relu>(a);
      case Act::clip:
        return dwc_1x1<Arch, Act::clip>(a);
      case Act::leaky_relu:
        return dwc_1x1<Arch, Act::leaky_relu>(a);
      case Act::hard_sigmoid:
        return dwc_1x1<Arch, Act::hard_sigmoid>(a);
      case Act::hard_swish:
        return dwc_1x1<Arch, Act::hard_swish>(a);
    }
  }
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

// P output pixels of pool_nc16_f32 sharing one tap range [t0, t1): P * V independent
// chains, so the max's compare-and-select latency overlaps.
template <class Arch, bool Max, std::size_t P>
__attribute__((always_inline)) inline void pool_pixels(const PoolNc16Args& a, std::size_t o, std::size_t t0,
                                                       std::size_t t1) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock, V = C / L;
  B acc[P][V];
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t v = 0; v < V; ++v) acc[p][v] = B(Max ? -std::numeric_limits<float>::infinity() : 0.0f);
  for (std::size_t r = 0; r < a.nrows; ++r) {
    const float* x = a.rows[r] + (o * a.sx + t0 * a.dx - a.pl) * C;
    for (std::size_t t = t0; t < t1; ++t, x += a.dx * C)
      for (std::size_t p = 0; p < P; ++p)
        for (std::size_t v = 0; v < V; ++v) {
          const B e = B::load_unaligned(x + p * a.sx * C + v * L);
          if constexpr (Max)
            acc[p][v] = xsimd::select(e > acc[p][v], e, acc[p][v]);
          else
            acc[p][v] += e;
        }
  }
  for (std::size_t p = 0; p < P; ++p) {
    if constexpr (!Max) {
      const B d(std::max(1.0f, a.rdiv * a.cdiv[o + p]));
      for (std::size_t v = 0; v < V; ++v) acc[p][v] = divide<Arch>(acc[p][v], d);  // IEEE on NEON too
    }
    for (std::size_t v = 0; v < V; ++v) acc[p][v].store_unaligned(a.y + (o + p) * C + v * L);
  }
}

template <class Arch, bool Max>
void pool_nc16_row(const PoolNc16Args& a) {
  constexpr std::size_t P = 4;
  for (std::size_t o = 0; o < a.n;) {
    const std::size_t t0 = a.lo[o], t1 = a.hi[o];
    std::size_t same = 1;
    while (same < P && o + same < a.n && a.lo[o + same] == t0 && a.hi[o + same] == t1) ++same;
    if (same == P) {
      pool_pixels<Arch, Max, P>(a, o, t0, t1);
      o += P;
    } else {
      pool_pixels<Arch, Max, 1>(a, o, t0, t1);
      ++o;
    }
  }
}

template <class Arch>
void pool_nc16_f32(const PoolNc16Args& a) {
  if (a.max)
    pool_nc16_row<Arch, true>(a);
  else
    pool_nc16_row<Arch, false>(a);
}

}  // namespace edgert::simd::kern
