// dw3x3_row_f32 / dw3x3s2_row_f32: one output row of a 3x3 depthwise convolution (column
// stride 1 / 2), all nine taps accumulated in registers, so each output element is stored once.
// strided_copy_f32: one row at stride 1 or 2 (im2col rows, the stride-2 even/odd split).
// Included only by the per-ISA translation units.
#pragma once

#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "lanes-inl.h"

namespace edgert::simd::kern {

template <class Arch>
void dw3x3_row_f32(std::size_t n, const float* r0, const float* r1, const float* r2, const float* w, float* y) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  const float* rows[3] = {r0, r1, r2};
  B wv[9];
  for (int t = 0; t < 9; ++t) wv[t] = B(w[t]);
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    B acc(0.0f);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) acc = xsimd::fma(wv[3 * r + c], B::load_unaligned(rows[r] + i + c), acc);
    acc.store_unaligned(y + i);
  }
  for (; i < n; ++i) {
    float acc = 0.0f;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) acc += w[3 * r + c] * rows[r][i + static_cast<std::size_t>(c)];
    y[i] = acc;
  }
}

// Column stride 2 from rows split into even (a) and odd (b) columns, so every tap is a
// contiguous load: a[r][i], b[r][i], a[r][i + 1].
template <class Arch>
void dw3x3s2_row_f32(std::size_t n, const float* const* a, const float* const* b, const float* w, float* y) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  B wv[9];
  for (int t = 0; t < 9; ++t) wv[t] = B(w[t]);
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    B acc(0.0f);
    for (int r = 0; r < 3; ++r) {
      acc = xsimd::fma(wv[3 * r], B::load_unaligned(a[r] + i), acc);
      acc = xsimd::fma(wv[3 * r + 1], B::load_unaligned(b[r] + i), acc);
      acc = xsimd::fma(wv[3 * r + 2], B::load_unaligned(a[r] + i + 1), acc);
    }
    acc.store_unaligned(y + i);
  }
  for (; i < n; ++i) {
    float acc = 0.0f;
    for (int r = 0; r < 3; ++r) {
      acc += w[3 * r] * a[r][i];
      acc += w[3 * r + 1] * b[r][i];
      acc += w[3 * r + 2] * a[r][i + 1];
    }
    y[i] = acc;
  }
}

// Whole vectors, the last one under a mask (lanes-inl.h's load_run), so nothing past
// src[(n - 1) * stride] is read.
template <class Arch>
void strided_copy_f32(std::size_t n, const float* src, std::size_t stride, float* dst) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  if (stride > 2) {
    for (std::size_t t = 0; t < n; ++t) dst[t] = src[t * stride];
    return;
  }
  for (std::size_t t = 0; t < n; t += L) {
    const std::size_t q = std::min(L, n - t);
    const B v = load_run<Arch>(src + t * stride, stride, q, t + L < n);
    if (q == L)
      v.store_unaligned(dst + t);
    else
      Part<Arch>::store(dst + t, v, q);
  }
}

}  // namespace edgert::simd::kern
