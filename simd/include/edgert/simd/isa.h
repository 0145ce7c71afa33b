// Instruction-set tiers and their detection.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace edgert::simd {

/// Kernel tiers, ordered from the most portable to the widest.
enum class Isa { scalar = 0, sse2 = 1, avx2 = 2, avx512 = 3, neon = 4 };

/// Lower-case name of a tier ("scalar", "sse2", "avx2", "avx512", "neon").
const char* isa_name(Isa isa);

/// Parses a tier name as printed by isa_name; nullopt for anything else.
std::optional<Isa> parse_isa(std::string_view name);

/// The widest tier this CPU and operating system support (CPUID and the OS's saved
/// register state on x86-64; NEON is the aarch64 baseline), ignoring EDGERT_MAX_ISA.
Isa detect_isa();

/// Whether the CPU and OS can run kernels of `isa` (the ones compiled in or not).
bool isa_supported(Isa isa);

/// Whether this CPU runs a 512-bit FMA as two 256-bit halves (AMD Zen 4): its AVX-512 tier
/// then has half the FMA throughput per instruction of cores with full-width units (Intel's
/// server cores), which moves the point where Winograd beats direct convolution.
bool fma512_half_rate();

/// Bytes of the L2 cache of the core running the caller (one core's share where the OS says
/// so): glibc's sysconf, else Linux's /sys/devices/system/cpu/cpu0/cache, else 512 KiB;
/// clamped to [256 KiB, 2 MiB] (a cluster's shared L2 of many MiB is not one core's).
/// Read once. Blocking decisions use it; results never depend on it.
std::size_t l2_cache_bytes();

/// The tier kernels are chosen at by default: detect_isa(), capped by the environment
/// variable EDGERT_MAX_ISA (scalar|sse2|avx2|avx512|neon) when it is set and valid.
Isa default_isa();

}  // namespace edgert::simd
