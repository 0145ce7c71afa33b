// gemm_ukernel_f32: C[mr x nr] (+)= A[mr x k] * B[k x nr] on packed panels.
// Register block: MR = 6 rows by NR = 2 vectors; A panel is k x MR (broadcast one float per
// row), B panel is k x NR. Edge tiles (mr_valid < MR or nr_valid < NR) go through a stack
// tile so only the valid part of C is read or written.
// Included only by the per-ISA translation units.
#pragma once

#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace edgert::simd::kern {

template <class Arch>
struct Gemm {
  using B = xsimd::batch<float, Arch>;
  static constexpr std::size_t L = B::size;
  static constexpr std::size_t MR = 6;
  static constexpr std::size_t NR = 2 * L;

  static void ukernel(std::size_t k, const float* apack, const float* bpack, float* c, std::size_t ldc,
                      std::size_t mr_valid, std::size_t nr_valid, int accumulate) {
    B c00(0.f), c01(0.f), c10(0.f), c11(0.f), c20(0.f), c21(0.f);
    B c30(0.f), c31(0.f), c40(0.f), c41(0.f), c50(0.f), c51(0.f);
    for (std::size_t p = 0; p < k; ++p) {
      const B b0 = B::load_unaligned(bpack), b1 = B::load_unaligned(bpack + L);
      B a(apack[0]);
      c00 = xsimd::fma(a, b0, c00), c01 = xsimd::fma(a, b1, c01);
      a = B(apack[1]);
      c10 = xsimd::fma(a, b0, c10), c11 = xsimd::fma(a, b1, c11);
      a = B(apack[2]);
      c20 = xsimd::fma(a, b0, c20), c21 = xsimd::fma(a, b1, c21);
      a = B(apack[3]);
      c30 = xsimd::fma(a, b0, c30), c31 = xsimd::fma(a, b1, c31);
      a = B(apack[4]);
      c40 = xsimd::fma(a, b0, c40), c41 = xsimd::fma(a, b1, c41);
      a = B(apack[5]);
      c50 = xsimd::fma(a, b0, c50), c51 = xsimd::fma(a, b1, c51);
      apack += MR;
      bpack += NR;
    }
    const B rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (mr_valid == MR && nr_valid == NR) {
      for (std::size_t i = 0; i < MR; ++i) {
        float* ci = c + i * ldc;
        B r0 = rows[i][0], r1 = rows[i][1];
        if (accumulate) {
          r0 += B::load_unaligned(ci);
          r1 += B::load_unaligned(ci + L);
        }
        r0.store_unaligned(ci);
        r1.store_unaligned(ci + L);
      }
      return;
    }
    alignas(64) float tile[MR * NR];
    for (std::size_t i = 0; i < MR; ++i) {
      rows[i][0].store_aligned(tile + i * NR);
      rows[i][1].store_aligned(tile + i * NR + L);
    }
    for (std::size_t i = 0; i < mr_valid; ++i)
      for (std::size_t j = 0; j < nr_valid; ++j)
        c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
  }
};

}  // namespace edgert::simd::kern
