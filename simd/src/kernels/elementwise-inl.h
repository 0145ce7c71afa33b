// unary_f32 / binary_f32: elementwise functions, one vector at a time, scalar tails.
// y may alias an input. Sigmoid, tanh and exp use xsimd's vector forms (a few ulp from
// libm). Max/min propagate NaN like the scalar reference. Included only by the per-ISA
// translation units; every helper is a template on the arch.
#pragma once

#include <cmath>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "affine-inl.h"
#include "edgert/simd/kernels.h"
#include "lanes-inl.h"

namespace edgert::simd::kern {

template <class Arch, Unary F>
__attribute__((always_inline)) inline xsimd::batch<float, Arch> unary_v(xsimd::batch<float, Arch> v, float alpha,
                                                                        float beta) {
  if constexpr (F == Unary::relu)
    return act_v<Arch, Act::relu>(v, ActParams{Act::relu, alpha, beta});
  else if constexpr (F == Unary::leaky_relu)
    return act_v<Arch, Act::leaky_relu>(v, ActParams{Act::leaky_relu, alpha, beta});
  else if constexpr (F == Unary::clip)
    return act_v<Arch, Act::clip>(v, ActParams{Act::clip, alpha, beta});
  else if constexpr (F == Unary::hard_sigmoid)
    return act_v<Arch, Act::hard_sigmoid>(v, ActParams{Act::hard_sigmoid, alpha, beta});
  else if constexpr (F == Unary::hard_swish)
    return act_v<Arch, Act::hard_swish>(v, ActParams{Act::hard_swish, alpha, beta});
  else if constexpr (F == Unary::sigmoid)
    return act_v<Arch, Act::sigmoid>(v, ActParams{Act::sigmoid, alpha, beta});
  else if constexpr (F == Unary::tanh)
    return xsimd::tanh(v);
  else if constexpr (F == Unary::exp)
    return xsimd::exp(v);
  else if constexpr (F == Unary::neg)
    return -v;
  else if constexpr (F == Unary::abs)
    return xsimd::abs(v);
  else
    return xsimd::sqrt(v);
}

template <class Arch, Unary F>
inline float unary_s(float v, float alpha, float beta) {
  if constexpr (F == Unary::sigmoid)
    return 1.0f / (1.0f + std::exp(-v));
  else if constexpr (F == Unary::tanh)
    return std::tanh(v);
  else if constexpr (F == Unary::exp)
    return std::exp(v);
  else if constexpr (F == Unary::neg)
    return -v;
  else if constexpr (F == Unary::abs)
    return std::fabs(v);
  else if constexpr (F == Unary::sqrt)
    return std::sqrt(v);
  else if constexpr (F == Unary::relu)
    return act_s<Arch, Act::relu>(v, ActParams{Act::relu, alpha, beta});
  else if constexpr (F == Unary::leaky_relu)
    return act_s<Arch, Act::leaky_relu>(v, ActParams{Act::leaky_relu, alpha, beta});
  else if constexpr (F == Unary::clip)
    return act_s<Arch, Act::clip>(v, ActParams{Act::clip, alpha, beta});
  else if constexpr (F == Unary::hard_sigmoid)
    return act_s<Arch, Act::hard_sigmoid>(v, ActParams{Act::hard_sigmoid, alpha, beta});
  else
    return act_s<Arch, Act::hard_swish>(v, ActParams{Act::hard_swish, alpha, beta});
}

template <class Arch, Unary F>
void unary_loop(std::size_t n, const float* x, float* y, float alpha, float beta) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  std::size_t i = 0;
  for (; i + L <= n; i += L) unary_v<Arch, F>(B::load_unaligned(x + i), alpha, beta).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = unary_s<Arch, F>(x[i], alpha, beta);
}

template <class Arch>
void unary_f32(Unary f, std::size_t n, const float* x, float* y, float alpha, float beta) {
  switch (f) {
    case Unary::relu:
      return unary_loop<Arch, Unary::relu>(n, x, y, alpha, beta);
    case Unary::leaky_relu:
      return unary_loop<Arch, Unary::leaky_relu>(n, x, y, alpha, beta);
    case Unary::clip:
      return unary_loop<Arch, Unary::clip>(n, x, y, alpha, beta);
    case Unary::hard_sigmoid:
      return unary_loop<Arch, Unary::hard_sigmoid>(n, x, y, alpha, beta);
    case Unary::hard_swish:
      return unary_loop<Arch, Unary::hard_swish>(n, x, y, alpha, beta);
    case Unary::sigmoid:
      return unary_loop<Arch, Unary::sigmoid>(n, x, y, alpha, beta);
    case Unary::tanh:
      return unary_loop<Arch, Unary::tanh>(n, x, y, alpha, beta);
    case Unary::exp:
      return unary_loop<Arch, Unary::exp>(n, x, y, alpha, beta);
    case Unary::neg:
      return unary_loop<Arch, Unary::neg>(n, x, y, alpha, beta);
    case Unary::abs:
      return unary_loop<Arch, Unary::abs>(n, x, y, alpha, beta);
    case Unary::sqrt:
      return unary_loop<Arch, Unary::sqrt>(n, x, y, alpha, beta);
  }
}

// NaN tests are written !(x == x): xsimd's != is an ordered comparison on AVX, where
// NaN != NaN is false. (The scalar forms below may use x != x.)
template <class Arch, Binary Op>
inline xsimd::batch<float, Arch> binary_v(xsimd::batch<float, Arch> a, xsimd::batch<float, Arch> b) {
  if constexpr (Op == Binary::add)
    return a + b;
  else if constexpr (Op == Binary::sub)
    return a - b;
  else if constexpr (Op == Binary::mul)
    return a * b;
  else if constexpr (Op == Binary::div)
    return divide<Arch>(a, b);
  else if constexpr (Op == Binary::max)
    return xsimd::select(!(a == a), a, xsimd::select(!(b == b), b, xsimd::select(a < b, b, a)));
  else
    return xsimd::select(!(a == a), a, xsimd::select(!(b == b), b, xsimd::select(b < a, b, a)));
}

template <class Arch, Binary Op>
inline float binary_s(float a, float b) {
  if constexpr (Op == Binary::add)
    return a + b;
  else if constexpr (Op == Binary::sub)
    return a - b;
  else if constexpr (Op == Binary::mul)
    return a * b;
  else if constexpr (Op == Binary::div)
    return a / b;
  else if constexpr (Op == Binary::max)
    return (a != a || b != b) ? (a != a ? a : b) : (a < b ? b : a);
  else
    return (a != a || b != b) ? (a != a ? a : b) : (b < a ? b : a);
}

template <class Arch, Binary Op>
void binary_loop(std::size_t n, const float* a, std::size_t sa, const float* b, std::size_t sb, float* y) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  std::size_t i = 0;
  if (sa && sb) {
    for (; i + L <= n; i += L)
      binary_v<Arch, Op>(B::load_unaligned(a + i), B::load_unaligned(b + i)).store_unaligned(y + i);
  } else if (sa) {
    const B vb(b[0]);
    for (; i + L <= n; i += L) binary_v<Arch, Op>(B::load_unaligned(a + i), vb).store_unaligned(y + i);
  } else if (sb) {
    const B va(a[0]);
    for (; i + L <= n; i += L) binary_v<Arch, Op>(va, B::load_unaligned(b + i)).store_unaligned(y + i);
  }
  for (; i < n; ++i) y[i] = binary_s<Arch, Op>(a[i * sa], b[i * sb]);
}

template <class Arch>
void binary_f32(Binary op, std::size_t n, const float* a, std::size_t sa, const float* b, std::size_t sb, float* y) {
  switch (op) {
    case Binary::add:
      return binary_loop<Arch, Binary::add>(n, a, sa, b, sb, y);
    case Binary::sub:
      return binary_loop<Arch, Binary::sub>(n, a, sa, b, sb, y);
    case Binary::mul:
      return binary_loop<Arch, Binary::mul>(n, a, sa, b, sb, y);
    case Binary::div:
      return binary_loop<Arch, Binary::div>(n, a, sa, b, sb, y);
    case Binary::max:
      return binary_loop<Arch, Binary::max>(n, a, sa, b, sb, y);
    case Binary::min:
      return binary_loop<Arch, Binary::min>(n, a, sa, b, sb, y);
  }
}

}  // namespace edgert::simd::kern
