// softmax_row_f32, reduce_row_f32, pool_row_f32, gemv_cols_f32: row-wise kernels for
// Softmax, the reductions, pooling and one-row products. Rows are contiguous; vector bodies with scalar tails; sums use
// several vector accumulators. Included only by the per-ISA translation units; every
// helper is a template on the arch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "edgert/simd/kernels.h"
#include "lanes-inl.h"

namespace edgert::simd::kern {

template <class Arch>
inline float hmax(xsimd::batch<float, Arch> v) {
  alignas(64) float t[xsimd::batch<float, Arch>::size];
  v.store_aligned(t);
  float m = t[0];
  for (std::size_t i = 1; i < xsimd::batch<float, Arch>::size; ++i) m = t[i] > m ? t[i] : m;
  return m;
}

// xsimd 8.1's hadd on avx512f needs AVX-512DQ: sum through memory instead.
template <class Arch>
inline float hsum(xsimd::batch<float, Arch> v) {
  alignas(64) float t[xsimd::batch<float, Arch>::size];
  v.store_aligned(t);
  float s = 0.0f;
  for (std::size_t i = 0; i < xsimd::batch<float, Arch>::size; ++i) s += t[i];
  return s;
}

template <class Arch>
inline float hmin(xsimd::batch<float, Arch> v) {
  alignas(64) float t[xsimd::batch<float, Arch>::size];
  v.store_aligned(t);
  float m = t[0];
  for (std::size_t i = 1; i < xsimd::batch<float, Arch>::size; ++i) m = t[i] < m ? t[i] : m;
  return m;
}

template <class Arch>
float reduce_row_f32(Reduce op, std::size_t n, const float* x) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  std::size_t i = 0;
  if (op == Reduce::sum) {
    B a0(0.0f), a1(0.0f);
    for (; i + 2 * L <= n; i += 2 * L) a0 += B::load_unaligned(x + i), a1 += B::load_unaligned(x + i + L);
    for (; i + L <= n; i += L) a0 += B::load_unaligned(x + i);
    float s = hsum<Arch>(a0 + a1);
    for (; i < n; ++i) s += x[i];
    return s;
  }
  const bool mx = op == Reduce::max;
  float r = x[0];
  bool nan = false;
  if (n >= L) {
    B acc = B::load_unaligned(x);
    auto seen_nan = !(acc == acc);  // xsimd compares ordered: NaN != NaN is false on AVX
    for (i = L; i + L <= n; i += L) {
      const B v = B::load_unaligned(x + i);
      seen_nan = seen_nan | !(v == v);
      acc = mx ? xsimd::max(acc, v) : xsimd::min(acc, v);
    }
    nan = xsimd::any(seen_nan);
    r = mx ? hmax<Arch>(acc) : hmin<Arch>(acc);
  }
  for (; i < n; ++i) {
    nan |= x[i] != x[i];
    r = mx ? (x[i] > r ? x[i] : r) : (x[i] < r ? x[i] : r);
  }
  return nan ? NAN : r;
}

template <class Arch>
void softmax_row_f32(std::size_t n, const float* x, float* y, int log) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  const float m = reduce_row_f32<Arch>(Reduce::max, n, x);
  const B vm(m);
  B acc(0.0f);
  float tail = 0.0f;
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    const B e = xsimd::exp(B::load_unaligned(x + i) - vm);
    if (!log) e.store_unaligned(y + i);
    acc += e;
  }
  for (; i < n; ++i) {
    const float e = std::exp(x[i] - m);
    if (!log) y[i] = e;
    tail += e;
  }
  const float sum = hsum<Arch>(acc) + tail;
  i = 0;
  if (log) {
    const float shift = m + std::log(sum);
    const B vs(shift);
    for (; i + L <= n; i += L) (B::load_unaligned(x + i) - vs).store_unaligned(y + i);
    for (; i < n; ++i) y[i] = x[i] - shift;
  } else {
    const B inv(1.0f / sum);
    for (; i + L <= n; i += L) (B::load_unaligned(y + i) * inv).store_unaligned(y + i);
    for (; i < n; ++i) y[i] *= 1.0f / sum;
  }
}

template <class Arch, bool Max, std::size_t S>
void pool_row_vectors(std::size_t n, const float* const* rows, std::size_t nrows, std::size_t kw, std::size_t dx,
                      float div, float* y) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  const B init(Max ? -std::numeric_limits<float>::infinity() : 0.0f), d(div);
  const std::size_t span = (n - 1) * S + (kw - 1) * dx + 1;  // values each row holds
  for (std::size_t i = 0; i < n; i += L) {
    const std::size_t q = std::min(L, n - i);
    B acc = init;
    for (std::size_t r = 0; r < nrows; ++r)
      for (std::size_t t = 0; t < kw; ++t) {
        const std::size_t at = i * S + t * dx;
        const B v = load_run<Arch>(rows[r] + at, S, q, at + 2 * L <= span);
        acc = Max ? xsimd::select(v > acc, v, acc) : acc + v;
      }
    if (!Max && div != 0.0f) acc = divide<Arch>(acc, d);
    if (q == L)
      acc.store_unaligned(y + i);
    else
      Part<Arch>::store(y + i, acc, q);
  }
}

// Column strides 1 and 2 (pooling at stride 1 or 2) run whole vectors, the last one under a
// mask; each vector of outputs takes all its window's taps in one accumulator.
template <class Arch>
void pool_row_f32(int max, std::size_t n, const float* const* rows, std::size_t nrows, std::size_t kw, std::size_t sx,
                  std::size_t dx, float div, float* y) {
  if (n == 0) return;
  if (sx == 1)
    return max ? pool_row_vectors<Arch, true, 1>(n, rows, nrows, kw, dx, div, y)
               : pool_row_vectors<Arch, false, 1>(n, rows, nrows, kw, dx, div, y);
  if (sx == 2)
    return max ? pool_row_vectors<Arch, true, 2>(n, rows, nrows, kw, dx, div, y)
               : pool_row_vectors<Arch, false, 2>(n, rows, nrows, kw, dx, div, y);
  const float init = max ? -std::numeric_limits<float>::infinity() : 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    float acc = init;
    for (std::size_t r = 0; r < nrows; ++r)
      for (std::size_t t = 0; t < kw; ++t) {
        const float v = rows[r][i * sx + t * dx];
        acc = max ? (v > acc ? v : acc) : acc + v;
      }
    y[i] = !max && div != 0.0f ? acc / div : acc;
  }
}

// Four columns at a time share the loads of `a` and give four independent FMA chains; each
// column's sum is one vector accumulator over whole vectors, then its lanes, then the scalar
// tail in order - the same whether the column runs in a group of four or alone.
template <class Arch>
void gemv_cols_f32(std::size_t n, std::size_t k, const float* a, const float* b, std::size_t ldb, float* c,
                   int accumulate) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  const std::size_t kv = k / L * L;
  auto finish = [&](std::size_t j, B acc) {
    float s = hsum<Arch>(acc);
    const float* col = b + j * ldb;
    for (std::size_t p = kv; p < k; ++p) s += a[p] * col[p];
    c[j] = accumulate ? c[j] + s : s;
  };
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* b0 = b + j * ldb;
    const float* b1 = b0 + ldb;
    const float* b2 = b1 + ldb;
    const float* b3 = b2 + ldb;
    B s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
    for (std::size_t p = 0; p < kv; p += L) {
      const B av = B::load_unaligned(a + p);
      s0 = xsimd::fma(av, B::load_unaligned(b0 + p), s0);
      s1 = xsimd::fma(av, B::load_unaligned(b1 + p), s1);
      s2 = xsimd::fma(av, B::load_unaligned(b2 + p), s2);
      s3 = xsimd::fma(av, B::load_unaligned(b3 + p), s3);
    }
    finish(j, s0);
    finish(j + 1, s1);
    finish(j + 2, s2);
    finish(j + 3, s3);
  }
  for (; j < n; ++j) {
    const float* bj = b + j * ldb;
    B s(0.0f);
    for (std::size_t p = 0; p < kv; p += L) s = xsimd::fma(B::load_unaligned(a + p), B::load_unaligned(bj + p), s);
    finish(j, s);
  }
}

}  // namespace edgert::simd::kern
