#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

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

bool fma512_half_rate() {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4), std::memcpy(vendor + 4, &d, 4), std::memcpy(vendor + 8, &c, 4);
  if (std::strcmp(vendor, "AuthenticAMD") != 0 || !__get_cpuid(1, &a, &b, &c, &d)) return false;
  const unsigned family = (a >> 8 & 0xf) == 0xf ? 0xf + (a >> 20 & 0xff) : a >> 8 & 0xf;
  return family == 0x19 && isa_supported(Isa::avx512);  // Zen 3 has no AVX-512; Zen 5 is 0x1a
#else
  return false;
#endif
}

namespace {
// The L2's size from Linux's cache directory of cpu0 (0: not found). Sizes read "512K".
std::size_t l2_from_sysfs() {
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream level(dir + "level"), type(dir + "type"), size(dir + "size");
    int l = 0;
    std::string t, s;
    if (!(level >> l) || !(type >> t) || !(size >> s)) continue;
    if (l != 2 || t == "Instruction" || s.empty()) continue;
    std::size_t v = static_cast<std::size_t>(std::strtoull(s.c_str(), nullptr, 10));
    if (s.back() == 'K') v <<= 10;
    if (s.back() == 'M') v <<= 20;
    return v;
  }
  return 0;
}
}  // namespace

std::size_t l2_cache_bytes() {
  static const std::size_t bytes = [] {
    std::size_t v = 0;
#ifdef _SC_LEVEL2_CACHE_SIZE
    const long s = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (s > 0) v = static_cast<std::size_t>(s);
#endif
    if (v == 0) v = l2_from_sysfs();
    if (v == 0) v = std::size_t{512} << 10;
    return std::clamp<std::size_t>(v, std::size_t{256} << 10, std::size_t{2} << 20);
  }();
  return bytes;
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
