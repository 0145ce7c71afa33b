// The avx512 tier: every kernel template instantiated for xsimd::avx512f.
#include "table-inl.h"

EDGERT_DEFINE_KERNEL_TABLE(table_avx512, Isa::avx512, xsimd::avx512f)
