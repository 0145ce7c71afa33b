// Scalar oracles: the plainest correct form of every kernel, also the scalar tier.
#include "edgert/simd/kernels.h"

namespace edgert::simd::reference {

void affine_nchw_f32(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, float* y,
                     const float* scale, const float* shift) {
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (n * channels + c) * plane;
      for (std::size_t i = 0; i < plane; ++i) y[base + i] = x[base + i] * scale[c] + shift[c];
    }
}

void gemm_ukernel_f32(std::size_t k, const float* apack, const float* bpack, float* c, std::size_t ldc,
                      std::size_t mr_valid, std::size_t nr_valid, int accumulate) {
  float acc[kGemmMr][kGemmNr] = {};
  for (std::size_t p = 0; p < k; ++p)
    for (std::size_t i = 0; i < kGemmMr; ++i)
      for (std::size_t j = 0; j < kGemmNr; ++j) acc[i][j] += apack[p * kGemmMr + i] * bpack[p * kGemmNr + j];
  for (std::size_t i = 0; i < mr_valid; ++i)
    for (std::size_t j = 0; j < nr_valid; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

}  // namespace edgert::simd::reference
