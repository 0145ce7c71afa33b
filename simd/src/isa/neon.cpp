// The neon tier: every kernel template instantiated for xsimd::neon64.
#include "../kernels/affine-inl.h"
#include "../kernels/elementwise-inl.h"
#include "../kernels/gemm-inl.h"
#include "../kernels/reduce-inl.h"
#include "edgert/simd/kernels.h"

namespace edgert::simd {

const KernelTable* table_neon() {
  using A = xsimd::neon64;
  static const KernelTable table = {Isa::neon,
                                    kern::Gemm<A>::MR,
                                    kern::Gemm<A>::NR,
                                    kern::affine_nchw_f32<A>,
                                    kern::Gemm<A>::ukernel,
                                    kern::affine_act_nchw_f32<A>,
                                    kern::unary_f32<A>,
                                    kern::binary_f32<A>,
                                    kern::softmax_row_f32<A>,
                                    kern::reduce_row_f32<A>,
                                    kern::accumulate_f32<A>};
  return &table;
}

}  // namespace edgert::simd
