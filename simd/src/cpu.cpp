#include <cstdlib>

#include "edgert/simd/isa.h"

namespace edgert::simd {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::sse2:
      return "sse2";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
    case Isa::neon:
      return "neon";
  }
  return "unknown";
}

std::optional<Isa> parse_isa(std::string_view name) {
  for (Isa isa : {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon})
    if (name == isa_name(isa)) return isa;
  return std::nullopt;
}

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return true;
#if defined(__x86_64__)
    case Isa::sse2:
      return true;
    // libgcc's __builtin_cpu_supports checks the OS's XCR0 state for AVX and AVX-512.
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::neon:
      return false;
#elif defined(__aarch64__)
    case Isa::neon:
      return true;
    default:
      return false;
#else
    default:
      return false;
#endif
  }
  return false;
}

Isa detect_isa() {
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::sse2, Isa::neon})
    if (isa_supported(isa)) return isa;
  return Isa::scalar;
}

Isa default_isa() {
  Isa best = detect_isa();
  if (const char* env = std::getenv("EDGERT_MAX_ISA")) {
    if (auto cap = parse_isa(env)) {
      if (*cap == Isa::scalar) return Isa::scalar;
      if (*cap != Isa::neon && best != Isa::neon && static_cast<int>(*cap) < static_cast<int>(best)) return *cap;
    }
  }
  return best;
}

}  // namespace edgert::simd
