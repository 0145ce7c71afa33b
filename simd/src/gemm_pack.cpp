// Packing for the GEMM micro-kernels: A into column-major panels of mr rows, B into
// row-major panels of nr columns, zero-filled past the matrix edge.
#include "edgert/simd/kernels.h"

namespace edgert::simd {

void gemm_pack_a_f32(std::size_t mr, std::size_t m, std::size_t k, const float* a, std::ptrdiff_t row_stride,
                     std::ptrdiff_t col_stride, float* out) {
  for (std::size_t i0 = 0; i0 < m; i0 += mr) {
    const std::size_t rows = m - i0 < mr ? m - i0 : mr;
    if (col_stride == 1) {  // rows are contiguous: read each once, scatter into the panel
      for (std::size_t i = 0; i < rows; ++i) {
        const float* src = a + static_cast<std::ptrdiff_t>(i0 + i) * row_stride;
        for (std::size_t p = 0; p < k; ++p) out[p * mr + i] = src[p];
      }
      for (std::size_t i = rows; i < mr; ++i)
        for (std::size_t p = 0; p < k; ++p) out[p * mr + i] = 0.0f;
      out += k * mr;
      continue;
    }
    for (std::size_t p = 0; p < k; ++p) {
      const float* src = a + static_cast<std::ptrdiff_t>(i0) * row_stride + static_cast<std::ptrdiff_t>(p) * col_stride;
      std::size_t i = 0;
      for (; i < rows; ++i) out[i] = src[static_cast<std::ptrdiff_t>(i) * row_stride];
      for (; i < mr; ++i) out[i] = 0.0f;
      out += mr;
    }
  }
}

void gemm_pack_b_f32(std::size_t nr, std::size_t k, std::size_t n, const float* b, std::ptrdiff_t row_stride,
                     std::ptrdiff_t col_stride, float* out) {
  for (std::size_t j0 = 0; j0 < n; j0 += nr) {
    const std::size_t cols = n - j0 < nr ? n - j0 : nr;
    for (std::size_t p = 0; p < k; ++p) {
      const float* src = b + static_cast<std::ptrdiff_t>(p) * row_stride + static_cast<std::ptrdiff_t>(j0) * col_stride;
      std::size_t j = 0;
      if (col_stride == 1) {
        for (; j < cols; ++j) out[j] = src[j];
      } else {
        for (; j < cols; ++j) out[j] = src[static_cast<std::ptrdiff_t>(j) * col_stride];
      }
      for (; j < nr; ++j) out[j] = 0.0f;
      out += nr;
    }
  }
}

}  // namespace edgert::simd
