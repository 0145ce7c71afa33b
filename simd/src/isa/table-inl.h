// Defines `const KernelTable* FN()` holding every kernel instantiated for ARCH. Each ISA
// translation unit expands it once, compiled with that ISA's flags; the function itself is
// an ordinary (non-inline) symbol named per ISA, so nothing wide is shared at link time.
#pragma once

#include "../kernels/affine-inl.h"
#include "../kernels/conv-inl.h"
#include "../kernels/dwc-inl.h"
#include "../kernels/elementwise-inl.h"
#include "../kernels/gemm-inl.h"
#include "../kernels/pointwise-inl.h"
#include "../kernels/reduce-inl.h"
#include "../kernels/winograd-inl.h"
#include "edgert/simd/kernels.h"

#define EDGERT_DEFINE_KERNEL_TABLE(FN, ISA, ARCH)                      \
  namespace edgert::simd {                                             \
  const KernelTable* FN() {                                            \
    using A = ARCH;                                                    \
    static const KernelTable table = {ISA,                             \
                                      kern::Gemm<A>::MR,               \
                                      kern::Gemm<A>::NR,               \
                                      kern::Pointwise<A>::SHORT,       \
                                      kern::affine_nchw_f32<A>,        \
                                      kern::Gemm<A>::ukernel,          \
                                      kern::affine_act_nchw_f32<A>,    \
                                      kern::unary_f32<A>,              \
                                      kern::binary_f32<A>,             \
                                      kern::softmax_row_f32<A>,        \
                                      kern::reduce_row_f32<A>,         \
                                      kern::pool_row_f32<A>,           \
                                      kern::dw3x3_row_f32<A>,          \
                                      kern::dw3x3s2_row_f32<A>,        \
                                      kern::gemv_cols_f32<A>,          \
                                      kern::nc16_pack_f32<A>,          \
                                      kern::nc16_unpack_f32<A>,        \
                                      kern::dwc_f32<A>,                \
                                      kern::strided_copy_f32<A>,       \
                                      kern::wino23_input_f32<A>,       \
                                      kern::wino23_output_f32<A>,      \
                                      kern::wino43_input_nc16_f32<A>,  \
                                      kern::wino43_output_nc16_f32<A>, \
                                      kern::wino23_input_nc16_f32<A>,  \
                                      kern::wino23_output_nc16_f32<A>, \
                                      kern::wino_weights_f32<A>,       \
                                      kern::Pointwise<A>::run,         \
                                      kern::pool_nc16_f32<A>};         \
    return &table;                                                     \
  }                                                                    \
  }
