// The sse2 tier: every kernel template instantiated for xsimd::sse2.
#include "table-inl.h"

EDGERT_DEFINE_KERNEL_TABLE(table_sse2, Isa::sse2, xsimd::sse2)
