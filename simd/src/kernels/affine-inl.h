// affine_nchw_f32: y[n,c,i] = x[n,c,i] * scale[c] + shift[c]   (inference BatchNormalization)
// Layout: NCHW, one plane of `plane` floats per (n, c); x == y allowed; loads unaligned.
// Tail: a scalar loop for the last plane % lanes elements; nothing is read past the plane.
// Included only by the per-ISA translation units.
#pragma once

#include <cstddef>
#include <xsimd/xsimd.hpp>

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

}  // namespace edgert::simd::kern
