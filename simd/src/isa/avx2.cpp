// The avx2 tier: every kernel template instantiated for xsimd::fma3<xsimd::avx2>.
#include "table-inl.h"

EDGERT_DEFINE_KERNEL_TABLE(table_avx2, Isa::avx2, xsimd::fma3<xsimd::avx2>)
