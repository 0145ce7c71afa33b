// affine_nchw_f32: y[n,c,i] = x[n,c,i] * scale[c] + shift[c]   (inference BatchNormalization)
// Layout: NCHW, one plane of `plane` floats per (n, c); x == y allowed; loads unaligned.
// Tail: a scalar loop for the last plane % lanes elements; nothing is read past the plane.
// Included only by the per-ISA translation units; every helper is a template on the arch.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "edgert/simd/kernels.h"

namespace edgert::simd::kern {

template <class Arch>
void affine_nchw_f32(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, float* y,
                     const float* scale, const float* shift) {
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  for (std::size_t n = 0; n < batch; ++n) {
    for (std::size_t c = 0; c < channels; ++c) {
      const float* src = x + (n * channels + c) * plane;
      float* dst = y + (n * channels + c) * plane;
      const float sc = scale[c], sh = shift[c];
      const B vs(sc), vt(sh);
      std::size_t i = 0;
      for (; i + 4 * L <= plane; i += 4 * L) {
        B a0 = B::load_unaligned(src + i), a1 = B::load_unaligned(src + i + L);
        B a2 = B::load_unaligned(src + i + 2 * L), a3 = B::load_unaligned(src + i + 3 * L);
        xsimd::fma(a0, vs, vt).store_unaligned(dst + i);
        xsimd::fma(a1, vs, vt).store_unaligned(dst + i + L);
        xsimd::fma(a2, vs, vt).store_unaligned(dst + i + 2 * L);
        xsimd::fma(a3, vs, vt).store_unaligned(dst + i + 3 * L);
      }
      for (; i + L <= plane; i += L) xsimd::fma(B::load_unaligned(src + i), vs, vt).store_unaligned(dst + i);
      for (; i < plane; ++i) dst[i] = src[i] * sc + sh;
    }
  }
}

// exp(v) for the fused sigmoid: v = n ln 2 + r with |r| <= ln 2 / 2 (ln 2 in two parts,
// Cody and Waite), exp(r) by Cephes expf's degree-7 polynomial (about 1 ulp), times 2^n
// written into the exponent bits; v is first clamped to [-88, 89], where n reaches -127 and
// 128, the exponent fields of zero and infinity, so the result is 0 below about -87.7 and
// +inf above about 88.4 (the sigmoid is then exactly 1 or 0, and SiLU of a large negative
// value -0); NaN passes through. About a dozen vector operations against xsimd::exp's
// thirty-odd with its special cases.
template <class Arch>
__attribute__((always_inline)) inline xsimd::batch<float, Arch> exp_v(xsimd::batch<float, Arch> v) {
  using B = xsimd::batch<float, Arch>;
  using I = xsimd::batch<std::int32_t, Arch>;
  // max and min return their second operand when either is NaN (x86) or return NaN (NEON).
  v = xsimd::min(B(89.0f), xsimd::max(B(-88.0f), v));
  const B n = xsimd::nearbyint(v * B(1.44269504088896341f));
  B r = xsimd::fnma(n, B(0.693359375f), v);
  r = xsimd::fnma(n, B(-2.12194440e-4f), r);
  B p = B(1.9875691500e-4f);
  p = xsimd::fma(p, r, B(1.3981999507e-3f));
  p = xsimd::fma(p, r, B(8.3334519073e-3f));
  p = xsimd::fma(p, r, B(4.1665795894e-2f));
  p = xsimd::fma(p, r, B(1.6666665459e-1f));
  p = xsimd::fma(p, r, B(5.0000001201e-1f));
  p = xsimd::fma(p, r * r, r + B(1.0f));
  const I e = (xsimd::batch_cast<std::int32_t>(n) + I(127)) << 23;
  return p * xsimd::bitwise_cast<B>(e);
}

// v < lo ? lo : v and v > hi ? hi : v, NaN passed through. On x86, maxps/minps return their
// second operand unless the first compares greater (less), which is exactly that, in one
// instruction instead of a compare and a blend (a 6x16 AVX2 pointwise tile's Clip epilogue
// was 24 of its 60-odd vector operations); NEON's fmax/fmin would turn a -0 into +0 and
// quiet a NaN's payload, so other ISAs keep the select.
template <class Arch>
inline constexpr bool kX86MaxMin = std::is_base_of_v<xsimd::sse2, Arch> || std::is_base_of_v<xsimd::avx, Arch> ||
                                   std::is_base_of_v<xsimd::avx512f, Arch>;

template <class Arch>
__attribute__((always_inline)) inline xsimd::batch<float, Arch> at_least(xsimd::batch<float, Arch> v,
                                                                         xsimd::batch<float, Arch> lo) {
  if constexpr (kX86MaxMin<Arch>)
    return xsimd::max(lo, v);
  else
    return xsimd::select(v < lo, lo, v);
}
template <class Arch>
__attribute__((always_inline)) inline xsimd::batch<float, Arch> at_most(xsimd::batch<float, Arch> v,
                                                                        xsimd::batch<float, Arch> hi) {
  if constexpr (kX86MaxMin<Arch>)
    return xsimd::min(hi, v);
  else
    return xsimd::select(v > hi, hi, v);
}

// affine_act_nchw_f32: y = act(x * scale[c] + shift[c] (+ r)), r before or after act.
// One pass over memory; activation and residual choices are compile-time in the loops.
template <class Arch, Act A>
__attribute__((always_inline)) inline xsimd::batch<float, Arch> act_v(xsimd::batch<float, Arch> v, const ActParams& p) {
  using B = xsimd::batch<float, Arch>;
  const B zero(0.0f);
  if constexpr (A == Act::relu) {
    return at_least<Arch>(v, zero);
  } else if constexpr (A == Act::clip) {
    return at_most<Arch>(at_least<Arch>(v, B(p.alpha)), B(p.beta));
  } else if constexpr (A == Act::leaky_relu) {
    return xsimd::select(v < zero, v * B(p.alpha), v);
  } else if constexpr (A == Act::hard_sigmoid) {
    const B one(1.0f);
    return at_most<Arch>(at_least<Arch>(xsimd::fma(v, B(p.alpha), B(p.beta)), zero), one);
  } else if constexpr (A == Act::hard_swish) {
    const B one(1.0f);
    return v * at_most<Arch>(at_least<Arch>(xsimd::fma(v, B(1.0f / 6.0f), B(0.5f)), zero), one);
  } else if constexpr (A == Act::sigmoid) {
    // The standalone Sigmoid's formula too (unary_f32), so a fused one gives the same values.
    return B(1.0f) / (B(1.0f) + exp_v<Arch>(-v));
  } else if constexpr (A == Act::silu) {
    return v * (B(1.0f) / (B(1.0f) + exp_v<Arch>(-v)));
  } else {
    return v;
  }
}

template <class Arch, Act A>
inline float act_s(float v, const ActParams& p) {
  if constexpr (A == Act::relu) {
    return v < 0.0f ? 0.0f : v;
  } else if constexpr (A == Act::clip) {
    v = v < p.alpha ? p.alpha : v;
    return v > p.beta ? p.beta : v;
  } else if constexpr (A == Act::leaky_relu) {
    return v < 0.0f ? v * p.alpha : v;
  } else if constexpr (A == Act::hard_sigmoid) {
    float t = p.alpha * v + p.beta;
    t = t < 0.0f ? 0.0f : t;
    return t > 1.0f ? 1.0f : t;
  } else if constexpr (A == Act::hard_swish) {
    float t = v * (1.0f / 6.0f) + 0.5f;
    t = t < 0.0f ? 0.0f : t;
    return v * (t > 1.0f ? 1.0f : t);
  } else if constexpr (A == Act::sigmoid) {
    return 1.0f / (1.0f + std::exp(-v));
  } else if constexpr (A == Act::silu) {
    return v * (1.0f / (1.0f + std::exp(-v)));
  } else {
    return v;
  }
}

// R: 0 no residual, 1 residual before the activation, 2 after.
template <class Arch, Act A, int R>
void affine_act_plane(std::size_t plane, const float* src, const float* res, float* dst, float sc, float sh,
                      const ActParams& params) {
  const ActParams p = params;  // a local: not reloaded after each (may_alias) store
  using B = xsimd::batch<float, Arch>;
  constexpr std::size_t L = B::size;
  const B vs(sc), vt(sh);
  std::size_t i = 0;
  for (; i + L <= plane; i += L) {
    B v = xsimd::fma(B::load_unaligned(src + i), vs, vt);
    if constexpr (R == 1) v += B::load_unaligned(res + i);
    v = act_v<Arch, A>(v, p);
    if constexpr (R == 2) v += B::load_unaligned(res + i);
    v.store_unaligned(dst + i);
  }
  for (; i < plane; ++i) {
    float v = src[i] * sc + sh;
    if constexpr (R == 1) v += res[i];
    v = act_s<Arch, A>(v, p);
    if constexpr (R == 2) v += res[i];
    dst[i] = v;
  }
}

template <class Arch, Act A, int R>
void affine_act_all(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, const float* r,
                    float* y, const float* scale, const float* shift, const ActParams& p) {
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (n * channels + c) * plane;
      affine_act_plane<Arch, A, R>(plane, x + base, R ? r + base : nullptr, y + base, scale[c], shift[c], p);
    }
}

template <class Arch, Act A>
void affine_act_res(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, const float* r,
                    float* y, const float* scale, const float* shift, const ActParams& p, int residual_first) {
  if (!r) return affine_act_all<Arch, A, 0>(batch, channels, plane, x, r, y, scale, shift, p);
  if (residual_first) return affine_act_all<Arch, A, 1>(batch, channels, plane, x, r, y, scale, shift, p);
  affine_act_all<Arch, A, 2>(batch, channels, plane, x, r, y, scale, shift, p);
}

template <class Arch>
void affine_act_nchw_f32(std::size_t batch, std::size_t channels, std::size_t plane, const float* x,
                         const float* residual, float* y, const float* scale, const float* shift, const ActParams& act,
                         int residual_first) {
  switch (act.kind) {
    case Act::none:
      return affine_act_res<Arch, Act::none>(batch, channels, plane, x, residual, y, scale, shift, act, residual_first);
    case Act::relu:
      return affine_act_res<Arch, Act::relu>(batch, channels, plane, x, residual, y, scale, shift, act, residual_first);
    case Act::clip:
      return affine_act_res<Arch, Act::clip>(batch, channels, plane, x, residual, y, scale, shift, act, residual_first);
    case Act::leaky_relu:
      return affine_act_res<Arch, Act::leaky_relu>(batch, channels, plane, x, residual, y, scale, shift, act,
                                                   residual_first);
    case Act::hard_sigmoid:
      return affine_act_res<Arch, Act::hard_sigmoid>(batch, channels, plane, x, residual, y, scale, shift, act,
                                                     residual_first);
    case Act::hard_swish:
      return affine_act_res<Arch, Act::hard_swish>(batch, channels, plane, x, residual, y, scale, shift, act,
                                                   residual_first);
    case Act::sigmoid:
      return affine_act_res<Arch, Act::sigmoid>(batch, channels, plane, x, residual, y, scale, shift, act,
                                                residual_first);
    case Act::silu:
      return affine_act_res<Arch, Act::silu>(batch, channels, plane, x, residual, y, scale, shift, act, residual_first);
  }
}

}  // namespace edgert::simd::kern
