// The kernel table: one set of function pointers per compiled ISA tier.
//
// Every kernel is a pure function on pointers, sizes and strides: no allocation, no
// threads. Activations may be unaligned; in-place use (x == y) is allowed where noted.
#pragma once

#include <cstddef>

#include "edgert/simd/isa.h"

namespace edgert::simd {

/// y[n,c,i] = x[n,c,i] * scale[c] + shift[c] for n < batch, c < channels, i < plane.
/// x and y are NCHW-contiguous; x == y allowed.
using AffineNchwF32 = void (*)(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, float* y,
                               const float* scale, const float* shift);

/// GEMM micro-kernel: C[mr x nr] (+)= Apack * Bpack over depth k.
/// Apack holds k columns of `gemm_mr` floats (row index fastest), Bpack k rows of `gemm_nr`
/// floats; both are produced by gemm_pack_a_f32 / gemm_pack_b_f32 with this table's mr/nr.
/// Only the top-left mr_valid x nr_valid part of C (row stride ldc) is written; when
/// `accumulate` is non-zero the product is added to what C holds.
using GemmUkernelF32 = void (*)(std::size_t k, const float* apack, const float* bpack, float* c, std::size_t ldc,
                                std::size_t mr_valid, std::size_t nr_valid, int accumulate);

struct KernelTable {
  Isa isa;
  std::size_t gemm_mr;
  std::size_t gemm_nr;
  AffineNchwF32 affine_nchw_f32;
  GemmUkernelF32 gemm_ukernel_f32;
};

/// The table for `isa`, or nullptr when that tier is not compiled in or the CPU lacks it.
const KernelTable* kernels_for(Isa isa);

/// The best table at or below `cap` that is compiled and supported (scalar at least).
const KernelTable& kernels_up_to(Isa cap);

/// kernels_up_to(default_isa()), chosen once.
const KernelTable& kernels();

/// Packs rows [0, m) x columns [0, k) of A, element (i, p) at a[i*row_stride + p*col_stride],
/// into ceil(m/mr) panels of k*mr floats; rows past m are zero.
void gemm_pack_a_f32(std::size_t mr, std::size_t m, std::size_t k, const float* a, std::ptrdiff_t row_stride,
                     std::ptrdiff_t col_stride, float* out);

/// Packs rows [0, k) x columns [0, n) of B, element (p, j) at b[p*row_stride + j*col_stride],
/// into ceil(n/nr) panels of k*nr floats; columns past n are zero.
void gemm_pack_b_f32(std::size_t nr, std::size_t k, std::size_t n, const float* b, std::ptrdiff_t row_stride,
                     std::ptrdiff_t col_stride, float* out);

namespace reference {
/// Plain scalar oracles (and the scalar tier's kernels).
void affine_nchw_f32(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, float* y,
                     const float* scale, const float* shift);
void gemm_ukernel_f32(std::size_t k, const float* apack, const float* bpack, float* c, std::size_t ldc,
                      std::size_t mr_valid, std::size_t nr_valid, int accumulate);
inline constexpr std::size_t kGemmMr = 4;
inline constexpr std::size_t kGemmNr = 8;
}  // namespace reference

}  // namespace edgert::simd
