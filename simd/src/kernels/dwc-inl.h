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

// P output pixels from o on whose taps all fall inside the input row (interior pixels), or
// with Edge any P pixels from o, of which the first `valid` are stored, whose taps outside
// the row (its padding) are skipped: a row's ends and a short row's pixels run in one
// register block instead of a tap at a time. With KW > 0 (the kernel width) and S > 0 (the
// column stride) at dilation 1, every input vector of a row is loaded once and feeds each
// pixel that reads it ((P - 1) * S + KW loads for P * KW FMAs); otherwise one load per tap.
// Where P * V accumulators fit in 8 (P <= 4 on AVX2), the block's V vectors are summed
// together, so that many independent FMA chains keep both pipes busy; otherwise one vector
// at a time (P chains).
template <class Arch, Act A, std::size_t P, std::size_t KW, std::size_t S, bool Edge = false>
__attribute__((always_inline)) inline void dwc_inner(const DwcArgs& a, std::size_t o, std::size_t valid = P) {
  static_assert(KW > 0 || !Edge, "edge blocks need the kernel width");
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock, V = C / L, VT = P * V <= 8 ? V : 1;
  const std::size_t x0 = (o * a.sx - a.pl) * C;
  // Edge: input column of tap 0 of pixel 0 (may lie left of the row).
  const std::ptrdiff_t col0 = static_cast<std::ptrdiff_t>(o * S) - static_cast<std::ptrdiff_t>(a.pl);
  const std::ptrdiff_t iw = static_cast<std::ptrdiff_t>(a.iw);
  for (std::size_t v0 = 0; v0 < V; v0 += VT) {
    B acc[P][VT];
    for (std::size_t v = 0; v < VT; ++v) {
      const B b = B::load_unaligned(a.bias + (v0 + v) * L);
      for (std::size_t p = 0; p < P; ++p) acc[p][v] = b;
    }
    for (std::size_t ky = 0; ky < a.kh; ++ky) {
      if (!a.rows[ky]) continue;
      const float* w = a.w + ky * a.kw * C + v0 * L;
      if constexpr (KW > 0) {
        B wk[KW][VT];
        for (std::size_t k = 0; k < KW; ++k)
          for (std::size_t v = 0; v < VT; ++v) wk[k][v] = B::load_unaligned(w + k * C + v * L);
#pragma GCC unroll 64
        for (std::size_t j = 0; j < (P - 1) * S + KW; ++j) {
          const std::ptrdiff_t col = col0 + static_cast<std::ptrdiff_t>(j);
          if (Edge && (col < 0 || col >= iw)) continue;
          const float* x = Edge ? a.rows[ky] + col * C + v0 * L : a.rows[ky] + x0 + v0 * L + j * C;
#pragma GCC unroll 4
          for (std::size_t v = 0; v < VT; ++v) {
            const B xj = B::load_unaligned(x + v * L);
#pragma GCC unroll 16
            for (std::size_t p = 0; p < P; ++p)
              if (j >= p * S && j - p * S < KW) acc[p][v] = xsimd::fma(wk[j - p * S][v], xj, acc[p][v]);
          }
        }
      } else {
        const float* x = a.rows[ky] + x0 + v0 * L;
        for (std::size_t kx = 0; kx < a.kw; ++kx)
          for (std::size_t v = 0; v < VT; ++v) {
            const B wv = B::load_unaligned(w + kx * C + v * L);
            const float* xk = x + kx * a.dx * C + v * L;
            for (std::size_t p = 0; p < P; ++p)
              acc[p][v] = xsimd::fma(wv, B::load_unaligned(xk + p * a.sx * C), acc[p][v]);
          }
      }
    }
    for (std::size_t p = 0; p < P; ++p) {
      if (Edge && p == valid) break;
      for (std::size_t v = 0; v < VT; ++v)
        act_k<Arch, A>(acc[p][v], a.act).store_unaligned(a.y + (o + p) * C + (v0 + v) * L);
    }
  }
}

// A whole row at kernel width KW and stride S = 1 (dilation 1): blocks of 8 pixels, those
// inside [o0, o1) (every tap inside the row) as they are, the others (the row's ends) as
// edge blocks, a last one of at most 4 pixels in a block of 4. At 3x3 an interior block of 4
// goes before the last edge block where it fits (a 14-pixel row: edge 8, interior 4, edge 4
// with 2 pixels stored; at 5x5 edge 8, edge 8 with 6 was faster: 3x3 at 14x14 -3% against
// -2% / +5%, 5x5 -18% against -10%). A 7x7 map's row is one edge block of 8 instead of two
// border pixels a tap at a time and blocks of 4 and 1.
// The arguments are copied to a local first (also in dwc_border and dwc_1x1): xsimd's
// stores go through may_alias vector types, after which GCC would reload every field of a
// caller's DwcArgs (rows, weights, y, the activation's bounds) for the next pixels.
template <class Arch, Act A, std::size_t KW, std::size_t S>
void dwc_row_fixed(const DwcArgs& args, std::size_t o0, std::size_t o1) {
  const DwcArgs a = args;
  for (std::size_t o = 0; o < a.ow;) {
    const std::size_t rem = a.ow - o;
    if (o >= o0 && o + 8 <= o1) {
      dwc_inner<Arch, A, 8, KW, S>(a, o);
      o += 8;
    } else if (KW == 3 && o >= o0 && o + 4 <= o1) {
      dwc_inner<Arch, A, 4, KW, S>(a, o);
      o += 4;
    } else if (rem > 4) {
      dwc_inner<Arch, A, 8, KW, S, true>(a, o, std::min<std::size_t>(8, rem));
      o += std::min<std::size_t>(8, rem);
    } else {
      dwc_inner<Arch, A, 4, KW, S, true>(a, o, rem);
      o += rem;
    }
  }
}

// Interior pixels [o0, o1) in blocks of 8, then halving blocks for the rest.
template <class Arch, Act A, std::size_t KW, std::size_t S>
void dwc_interior(const DwcArgs& args, std::size_t o0, std::size_t o1) {
  const DwcArgs a = args;
  std::size_t o = o0;
  for (; o + 8 <= o1; o += 8) dwc_inner<Arch, A, 8, KW, S>(a, o);
  if (o + 4 <= o1) dwc_inner<Arch, A, 4, KW, S>(a, o), o += 4;
  if (o + 2 <= o1) dwc_inner<Arch, A, 2, KW, S>(a, o), o += 2;
  if (o < o1) dwc_inner<Arch, A, 1, KW, S>(a, o);
}

// Output pixel o with some taps in the left or right padding, one tap at a time: only the
// taps [k0, k1) inside.
template <class Arch, Act A>
inline void dwc_border(const DwcArgs& args, std::size_t o) {
  const DwcArgs a = args;
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock, V = C / L;
  std::size_t k0 = 0, k1 = 0;       // first tap at or right of pixel 0, first at or right of pixel iw
  const std::size_t at = o * a.sx;  // padded column of tap 0
  while (k0 < a.kw && at + k0 * a.dx < a.pl) ++k0;
  for (k1 = k0; k1 < a.kw && at + k1 * a.dx - a.pl < a.iw;) ++k1;
  for (std::size_t v = 0; v < V; ++v) {
    B acc = B::load_unaligned(a.bias + v * L);
    for (std::size_t ky = 0; ky < a.kh; ++ky) {
      if (!a.rows[ky]) continue;
      for (std::size_t kx = k0; kx < k1; ++kx)
        acc = xsimd::fma(B::load_unaligned(a.w + (ky * a.kw + kx) * C + v * L),
                         B::load_unaligned(a.rows[ky] + (at + kx * a.dx - a.pl) * C + v * L), acc);
    }
    act_k<Arch, A>(acc, a.act).store_unaligned(a.y + o * C + v * L);
  }
}

// Pixels [o0, o1) have every tap inside the row; the others are at its ends.
template <class Arch, Act A, std::size_t KW, std::size_t S>
void dwc_row_ends(const DwcArgs& a, std::size_t o0, std::size_t o1) {
  for (std::size_t o = 0; o < o0; ++o) dwc_border<Arch, A>(a, o);
  dwc_interior<Arch, A, KW, S>(a, o0, o1);
  for (std::size_t o = o1; o < a.ow; ++o) dwc_border<Arch, A>(a, o);
}

// One row: 3x3 and 5x5 at stride 1 whole in blocks (dwc_row_fixed); at stride 2 the edge
// blocks were slower than pixel by pixel at the ends (their 8 pixels read 17 or 19 columns,
// each checked: mobilenetv2's 28 -> 14 layer +20%, 14 -> 7 +4%). Stride 1 against the ends
// pixel by pixel (one thread, paired in process): mobilenetv2's 3x3s at 7x7 -24%, 14x14 -5%,
// 28x28 -7%, 56x56 -4%; efficientnet_b0's 5x5s at 7x7 -39%, 14x14 -18%, 28x28 -4%.
template <class Arch, Act A>
void dwc_row(const DwcArgs& a, std::size_t o0, std::size_t o1) {
  if (a.dx == 1 && a.kw == 3 && a.sx == 1) return dwc_row_fixed<Arch, A, 3, 1>(a, o0, o1);
  if (a.dx == 1 && a.kw == 5 && a.sx == 1) return dwc_row_fixed<Arch, A, 5, 1>(a, o0, o1);
  if (a.dx == 1 && a.kw == 3 && a.sx == 2) return dwc_row_ends<Arch, A, 3, 2>(a, o0, o1);
  if (a.dx == 1 && a.kw == 5 && a.sx == 2) return dwc_row_ends<Arch, A, 5, 2>(a, o0, o1);
  dwc_row_ends<Arch, A, 0, 0>(a, o0, o1);
}

// A 1x1 kernel is a per-lane affine map (an inference BatchNormalization on blocks): the
// weights and bias stay in registers.
template <class Arch, Act A>
void dwc_1x1(const DwcArgs& args) {
  const DwcArgs a = args;
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock, V = C / L;
  B w[V], b[V];
  for (std::size_t v = 0; v < V; ++v) w[v] = B::load_unaligned(a.w + v * L), b[v] = B::load_unaligned(a.bias + v * L);
  const float* x = a.rows[0];
  float* y = a.y;
  for (std::size_t o = 0; o < a.ow; ++o, x += a.sx * C, y += C)
    for (std::size_t v = 0; v < V; ++v)
      act_k<Arch, A>(xsimd::fma(w[v], B::load_unaligned(x + v * L), b[v]), a.act).store_unaligned(y + v * L);
}

// a.nrows output rows with activation A (chosen once per call, not per row or vector).
template <class Arch, Act A>
void dwc_rows(const DwcArgs& args) {
  DwcArgs a = args;
  // Pixels [o0, o1) have every tap inside the row: tap 0 at or right of pixel 0, the last tap
  // left of pixel iw.
  const std::size_t span = (a.kw - 1) * a.dx;
  const std::size_t o0 = std::min(a.ow, (a.pl + a.sx - 1) / a.sx);
  const std::size_t o1 = a.pl + a.iw < span + 1 ? o0 : std::clamp((a.pl + a.iw - span - 1) / a.sx + 1, o0, a.ow);
  const bool pointwise = a.kh == 1 && a.kw == 1 && o0 == 0 && o1 == a.ow;
  for (std::size_t r = 0; r < args.nrows; ++r) {
    a.rows = args.rows + r * a.kh;
    a.y = args.y + r * a.y_row;
    if (pointwise && a.rows[0]) {
      dwc_1x1<Arch, A>(a);
      continue;
    }
    dwc_row<Arch, A>(a, o0, o1);
  }
}

template <class Arch>
void dwc_f32(const DwcArgs& a) {
  with_act(a.act.kind, [&](auto k) { dwc_rows<Arch, decltype(k)::value>(a); });
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
  // An empty tap range forms no address (its first tap may lie left of the row).
  for (std::size_t r = 0; r < (t0 < t1 ? a.nrows : 0); ++r) {
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
