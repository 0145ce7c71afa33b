#include <array>

#include "edgert/simd/kernels.h"

namespace edgert::simd {

#if defined(EDGERT_HAVE_SSE2)
const KernelTable* table_sse2();
#endif
#if defined(EDGERT_HAVE_AVX2)
const KernelTable* table_avx2();
#endif
#if defined(EDGERT_HAVE_AVX512)
const KernelTable* table_avx512();
#endif
#if defined(EDGERT_HAVE_NEON)
const KernelTable* table_neon();
#endif

namespace {
const KernelTable kScalar = {Isa::scalar,
                             reference::kGemmMr,
                             reference::kGemmNr,
                             0,
                             reference::affine_nchw_f32,
                             reference::gemm_ukernel_f32,
                             reference::affine_act_nchw_f32,
                             reference::unary_f32,
                             reference::binary_f32,
                             reference::softmax_row_f32,
                             reference::reduce_row_f32,
                             reference::pool_row_f32,
                             reference::dw3x3_row_f32,
                             reference::dw3x3s2_row_f32,
                             reference::gemv_cols_f32,
                             reference::nc16_pack_f32,
                             reference::nc16_unpack_f32,
                             reference::dwc_f32,
                             reference::strided_copy_f32,
                             reference::wino23_input_f32,
                             reference::wino23_output_f32,
                             reference::wino43_input_nc16_f32,
                             reference::wino43_output_nc16_f32,
                             reference::wino23_input_nc16_f32,
                             reference::wino23_output_nc16_f32,
                             reference::wino_weights_f32,
                             reference::pointwise_nc16_f32,
                             reference::pool_nc16_f32};

const KernelTable* compiled(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return &kScalar;
#if defined(EDGERT_HAVE_SSE2)
    case Isa::sse2:
      return table_sse2();
#endif
#if defined(EDGERT_HAVE_AVX2)
    case Isa::avx2:
      return table_avx2();
#endif
#if defined(EDGERT_HAVE_AVX512)
    case Isa::avx512:
      return table_avx512();
#endif
#if defined(EDGERT_HAVE_NEON)
    case Isa::neon:
      return table_neon();
#endif
    default:
      return nullptr;
  }
}
}  // namespace

const KernelTable* kernels_for(Isa isa) { return isa_supported(isa) ? compiled(isa) : nullptr; }

const KernelTable& kernels_up_to(Isa cap) {
  if (cap == Isa::neon) {
    if (const KernelTable* t = kernels_for(Isa::neon)) return *t;
    return kScalar;
  }
  for (int i = static_cast<int>(cap); i > 0; --i)
    if (const KernelTable* t = kernels_for(static_cast<Isa>(i))) return *t;
  if (cap != Isa::scalar)
    if (const KernelTable* t = kernels_for(Isa::neon)) return *t;
  return kScalar;
}

const KernelTable& kernels() {
  static const KernelTable& table = kernels_up_to(default_isa());
  return table;
}

}  // namespace edgert::simd
