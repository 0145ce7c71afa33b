// Blocked single-precision GEMM over the simd micro-kernels: C = A * B (+ C).
// A and B are addressed with row and column strides, so transposed operands need no copy.
#pragma once

#include <cstddef>
#include <memory>

#include "edgert/simd/kernels.h"

namespace edgert {

class ThreadPool;

struct MatrixRef {
  const float* data;
  std::ptrdiff_t row_stride;
  std::ptrdiff_t col_stride;
};

/// Scratch bytes gemm_f32 needs for `threads` workers.
std::size_t gemm_scratch_bytes(const simd::KernelTable& k, int threads);

/// C[m x n] (row stride ldc) = A[m x k] * B[k x n], plus C's old value when `accumulate`.
void gemm_f32(const simd::KernelTable& kt, ThreadPool* pool, std::size_t m, std::size_t n, std::size_t k, MatrixRef a,
              MatrixRef b, float* c, std::size_t ldc, bool accumulate, void* scratch);

/// A[m x k] packed once (at load, for constant weights) into the micro-kernel's panels:
/// for every depth block of the driver, ceil(m / mr) panels of mr rows, zero-padded.
struct PackedA {
  std::unique_ptr<float[]> panels;  // not value-initialised: packing writes every element
  std::size_t m = 0, k = 0, mr = 0;
};

PackedA gemm_pack_a(const simd::KernelTable& kt, std::size_t m, std::size_t k, MatrixRef a);

/// As gemm_f32 with A packed by gemm_pack_a for the same kernel table.
void gemm_f32_packed(const simd::KernelTable& kt, ThreadPool* pool, std::size_t n, const PackedA& a, MatrixRef b,
                     float* c, std::size_t ldc, bool accumulate, void* scratch);

}  // namespace edgert
