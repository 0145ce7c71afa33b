// The neon tier: every kernel template instantiated for xsimd::neon64.
#include "table-inl.h"

EDGERT_DEFINE_KERNEL_TABLE(table_neon, Isa::neon, xsimd::neon64)
