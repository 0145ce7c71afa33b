// wino23_input_f32 / wino23_output_f32: the Winograd F(2x2, 3x3) transforms of one row of
// tiles, a vector of tiles at a time (the tile's columns are the even and odd lanes of the
// input rows). The same operations in the same order as the scalar reference, so the results
// are identical. Included only by the per-ISA translation units.
#pragma once

#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

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

}  // namespace edgert::simd::kern
