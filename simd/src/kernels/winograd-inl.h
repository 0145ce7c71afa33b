// wino23_input_f32 / wino23_output_f32: the Winograd F(2x2, 3x3) transforms of one row of
// tiles, a vector of tiles at a time (the tile's columns are the even and odd lanes of the
// input rows). The same operations in the same order as the scalar reference, so the results
// are identical. wino43_input_nc16_f32 / wino43_output_nc16_f32: the F(4x4, 3x3) transforms
// on the channel-blocked layout, a vector of channels at a time (no lane shuffles); their
// multiplications by 2, 4, 5 and 8 may fuse with the adds, so they match the reference to
// rounding. wino23_input_nc16_f32 / wino23_output_nc16_f32: F(2x2, 3x3) on the blocked
// layout likewise (adds only: identical to the reference). Included only by the per-ISA
// translation units.
#pragma once

#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "gemm-inl.h"
#include "lanes-inl.h"

namespace edgert::simd::kern {

template <class Arch>
void wino23_input_f32(std::size_t n, const float* const* p, float* const* v) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  for (std::size_t t = 0; t < n; t += L) {
    const std::size_t q = std::min(L, n - t);
    // Column 2t + k of each input row for k < 4; rows hold 2n + 2 values, so 2L values from
    // any of these starts are readable while tiles remain after this block.
    const bool more = t + L < n;
    B r[4][4];
    for (std::size_t k = 0; k < 4; ++k) {
      B x[4];
      for (std::size_t i = 0; i < 4; ++i) x[i] = load_run<Arch>(p[i] + 2 * t + k, 2, q, more);
      r[0][k] = x[0] - x[2];
      r[1][k] = x[1] + x[2];
      r[2][k] = x[2] - x[1];
      r[3][k] = x[1] - x[3];
    }
    for (std::size_t i = 0; i < 4; ++i) {
      const B out[4] = {r[i][0] - r[i][2], r[i][1] + r[i][2], r[i][2] - r[i][1], r[i][1] - r[i][3]};
      for (std::size_t j = 0; j < 4; ++j) {
        if (q == L)
          out[j].store_unaligned(v[4 * i + j] + t);
        else
          Part<Arch>::store(v[4 * i + j] + t, out[j], q);
      }
    }
  }
}

template <class Arch>
void wino23_output_f32(std::size_t n, const float* const* m, float bias, float* y0, float* y1) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  const B b(bias);
  float* y[2] = {y0, y1};
  for (std::size_t t = 0; t < n; t += L) {
    const std::size_t q = std::min(L, n - t);
    auto load = [&](std::size_t e) { return q == L ? B::load_unaligned(m[e] + t) : Part<Arch>::load(m[e] + t, q); };
    B s[2][4];
    for (std::size_t j = 0; j < 4; ++j) {
      const B m0 = load(j), m1 = load(4 + j), m2 = load(8 + j), m3 = load(12 + j);
      s[0][j] = m0 + m1 + m2;
      s[1][j] = m1 - m2 - m3;
    }
    for (std::size_t i = 0; i < 2; ++i) {
      const B even = s[i][0] + s[i][1] + s[i][2] + b;
      const B odd = s[i][1] - s[i][2] - s[i][3] + b;
      // Outputs 2t .. 2t + 2q: even and odd interleaved.
      const B lo = Interleave<Arch>::lo(even, odd), hi = Interleave<Arch>::hi(even, odd);
      float* dst = y[i] + 2 * t;
      if (2 * q < L) {
        Part<Arch>::store(dst, lo, 2 * q);
        continue;
      }
      lo.store_unaligned(dst);
      const std::size_t rest = 2 * q - L;
      if (rest == L)
        hi.store_unaligned(dst + L);
      else if (rest > 0)
        Part<Arch>::store(dst + L, hi, rest);
    }
  }
}

// One column (or row) of six values of an F(4x4, 3x3) input tile times B^T.
template <class B>
__attribute__((always_inline)) inline void wino43_bt(const B (&d)[6], B (&t)[6]) {
  const B two(2.0f), four(4.0f), five(5.0f);
  t[0] = four * d[0] - five * d[2] + d[4];
  t[1] = (d[3] + d[4]) - four * (d[1] + d[2]);
  t[2] = (d[4] - d[3]) + four * (d[1] - d[2]);
  t[3] = (d[4] - d[2]) + two * (d[3] - d[1]);
  t[4] = (d[4] - d[2]) - two * (d[3] - d[1]);
  t[5] = four * d[1] - five * d[3] + d[5];
}

// Six values of a product column (or row) times A^T.
template <class B>
__attribute__((always_inline)) inline void wino43_at(const B (&m)[6], B (&y)[4]) {
  const B a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
  y[0] = m[0] + a + c;
  y[1] = b + B(2.0f) * d;
  y[2] = a + B(4.0f) * c;
  y[3] = b + B(8.0f) * d + m[5];
}

// One column (or row) of four values of an F(2x2, 3x3) input tile times B^T, and four
// product values times A^T.
template <class B>
__attribute__((always_inline)) inline void wino23_bt(const B (&d)[4], B (&t)[4]) {
  t[0] = d[0] - d[2];
  t[1] = d[1] + d[2];
  t[2] = d[2] - d[1];
  t[3] = d[1] - d[3];
}
template <class B>
__attribute__((always_inline)) inline void wino23_at(const B (&m)[4], B (&y)[2]) {
  y[0] = m[0] + m[1] + m[2];
  y[1] = m[1] - m[2] - m[3];
}

// F(M x M, 3x3) on blocks, tiles of R = M + 2: the input transform (Bt: R values times B^T)
// and the output transform (At: R values times A^T, M results) of one row of n tiles.
template <class Arch, std::size_t M, class Bt>
__attribute__((always_inline)) inline void wino_input_nc16(std::size_t n, const float* p, std::size_t row, float* v,
                                                           std::size_t ev, Bt bt) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock, R = M + 2;
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t l = 0; l < C; l += L) {
      const float* at = p + M * t * C + l;
      B r[R][R];  // rows combined: r[k][j] = (B^T d)[k][j]
      for (std::size_t j = 0; j < R; ++j) {
        B d[R], o[R];
        for (std::size_t i = 0; i < R; ++i) d[i] = B::load_unaligned(at + i * row + j * C);
        bt(d, o);
        for (std::size_t k = 0; k < R; ++k) r[k][j] = o[k];
      }
      float* out = v + t * C + l;
      for (std::size_t k = 0; k < R; ++k) {
        B o[R];
        bt(r[k], o);
        for (std::size_t j = 0; j < R; ++j) o[j].store_unaligned(out + (R * k + j) * ev);
      }
    }
}

template <class Arch, std::size_t M, class At>
__attribute__((always_inline)) inline void wino_output_nc16(std::size_t n, const float* m, std::size_t em,
                                                            const float* bias, const ActParams& act_in, float* y,
                                                            std::size_t row, At at) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, C = kChannelBlock, R = M + 2;
  const ActParams act = act_in;  // a local: not reloaded after each (may_alias) store
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t l = 0; l < C; l += L) {
      const float* src = m + t * C + l;
      const B b = bias ? B::load_unaligned(bias + l) : B(0.0f);
      B s[M][R];  // columns combined: s[i][j] = (A^T M)[i][j]
      for (std::size_t j = 0; j < R; ++j) {
        B col[R], o[M];
        for (std::size_t i = 0; i < R; ++i) col[i] = B::load_unaligned(src + (R * i + j) * em);
        at(col, o);
        for (std::size_t i = 0; i < M; ++i) s[i][j] = o[i];
      }
      float* out = y + M * t * C + l;
      for (std::size_t i = 0; i < M; ++i) {
        B o[M];
        at(s[i], o);
        for (std::size_t j = 0; j < M; ++j) act_any_v<Arch>(o[j] + b, act).store_unaligned(out + i * row + j * C);
      }
    }
}

template <class Arch>
void wino43_input_nc16_f32(std::size_t n, const float* p, std::size_t row, float* v, std::size_t ev) {
  using B = xsimd::batch<float, Arch>;
  wino_input_nc16<Arch, 4>(n, p, row, v, ev, [](const B(&d)[6], B(&t)[6]) { wino43_bt(d, t); });
}

template <class Arch>
void wino43_output_nc16_f32(std::size_t n, const float* m, std::size_t em, const float* bias, const ActParams& act,
                            float* y, std::size_t row) {
  using B = xsimd::batch<float, Arch>;
  wino_output_nc16<Arch, 4>(n, m, em, bias, act, y, row, [](const B(&c)[6], B(&o)[4]) { wino43_at(c, o); });
}

template <class Arch>
void wino23_input_nc16_f32(std::size_t n, const float* p, std::size_t row, float* v, std::size_t ev) {
  using B = xsimd::batch<float, Arch>;
  wino_input_nc16<Arch, 2>(n, p, row, v, ev, [](const B(&d)[4], B(&t)[4]) { wino23_bt(d, t); });
}

template <class Arch>
void wino23_output_nc16_f32(std::size_t n, const float* m, std::size_t em, const float* bias, const ActParams& act,
                            float* y, std::size_t row) {
  using B = xsimd::batch<float, Arch>;
  wino_output_nc16<Arch, 2>(n, m, em, bias, act, y, row, [](const B(&c)[4], B(&o)[2]) { wino23_at(c, o); });
}

// G applied to (a, b, c), vectors (see WinoWeightsF32).
template <class Arch, int M>
__attribute__((always_inline)) inline void wino_g(const xsimd::batch<float, Arch>& a,
                                                  const xsimd::batch<float, Arch>& b,
                                                  const xsimd::batch<float, Arch>& c, xsimd::batch<float, Arch>* t) {
  using B = xsimd::batch<float, Arch>;
  const B s = a + c;
  if constexpr (M == 4) {
    const B p = a * B(1.0f / 24) + c * B(1.0f / 6), q = b * B(1.0f / 12);
    t[0] = a * B(0.25f);
    t[1] = (s + b) * B(-1.0f / 6);
    t[2] = (s - b) * B(-1.0f / 6);
    t[3] = p + q;
    t[4] = p - q;
    t[5] = c;
  } else {
    t[0] = a;
    t[1] = (s + b) * B(0.5f);
    t[2] = (s - b) * B(0.5f);
    t[3] = c;
  }
}

// The weight transform (WinoWeightsF32), a vector of output channels at a time: the
// columns of G g first (in registers), then each of its rows times G^T.
template <class Arch, int M>
void wino_weights_m(std::size_t k, std::size_t n, const float* g, float* u, std::size_t u_matrix) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size, R = M + 2;
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t l = 0; l < n; l += L) {
      const float* gc = g + c * 9 * n + l;
      float* uc = u + c * n + l;
      B h[3][R];
#pragma GCC unroll 3
      for (std::size_t x = 0; x < 3; ++x)
        wino_g<Arch, M>(B::load_unaligned(gc + x * n), B::load_unaligned(gc + (3 + x) * n),
                        B::load_unaligned(gc + (6 + x) * n), h[x]);
#pragma GCC unroll 6
      for (std::size_t i = 0; i < R; ++i) {
        B t[R];
        wino_g<Arch, M>(h[0][i], h[1][i], h[2][i], t);
#pragma GCC unroll 6
        for (std::size_t j = 0; j < R; ++j) (t[j] + B(0.0f)).store_unaligned(uc + (i * R + j) * u_matrix);
      }
    }
}

template <class Arch>
void wino_weights_f32(int m, std::size_t k, std::size_t n, const float* g, float* u, std::size_t u_matrix) {
  if (m == 4)
    wino_weights_m<Arch, 4>(k, n, g, u, u_matrix);
  else
    wino_weights_m<Arch, 2>(k, n, g, u, u_matrix);
}

}  // namespace edgert::simd::kern
