// gemm_ukernel_f32: C[mr x nr] (+)= A[mr x k] * B[k x nr] on packed panels, then the
// epilogue (scale, shift, residual, activation) while the tile is still in registers.
// Register block: MR rows by NR = 2 vectors (MR = 12 where there are 32 vector registers of
// 16 floats, 6 otherwise); the A panel is k x MR (one float broadcast per row), the B panel
// k x NR. A tile at most one vector wide runs the one-vector loop. Edge tiles touch only the
// valid part of C: rows past mr_valid are skipped, a partial vector is loaded and stored
// under a mask (through a small buffer on ISAs without masks).
// Included only by the per-ISA translation units.
#pragma once

#include <cstddef>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "affine-inl.h"
#include "lanes-inl.h"

namespace edgert::simd::kern {

// The activation of kind p.kind, chosen per vector. The GEMM's epilogue and Winograd's output
// transform keep it: a loop per activation there (with_act below) multiplied the largest
// instantiations of the kernel units (avx512.cpp at -O3 took 50 s instead of 29, and more
// than twice as long under clang's sanitizers) for no measured gain, their sums being long.
template <class Arch>
__attribute__((always_inline)) inline xsimd::batch<float, Arch> act_any_v(xsimd::batch<float, Arch> v,
                                                                          const ActParams& p) {
  switch (p.kind) {
    case Act::none:
      return v;
    case Act::relu:
      return act_v<Arch, Act::relu>(v, p);
    case Act::clip:
      return act_v<Arch, Act::clip>(v, p);
    case Act::leaky_relu:
      return act_v<Arch, Act::leaky_relu>(v, p);
    case Act::hard_sigmoid:
      return act_v<Arch, Act::hard_sigmoid>(v, p);
    case Act::hard_swish:
      return act_v<Arch, Act::hard_swish>(v, p);
    case Act::sigmoid:
      return act_v<Arch, Act::sigmoid>(v, p);
    case Act::silu:
      return act_v<Arch, Act::silu>(v, p);
  }
  return v;
}

// Calls f(std::integral_constant<Act, K>{}) for the activation kind k, so a kernel chooses
// the activation once per call and runs a loop compiled for it instead of switching per
// vector (the switch also kept GCC from holding the accumulators in registers across the
// stores: depthwise rows ran 20-40% faster without it). The kinds CNNs use most (none, ReLU,
// Clip) get loops of their own; the others share one (K = kAnyAct, act_k switches per
// vector), which keeps the kernel units' size and build time in bounds. Always inlined:
// each ISA's translation unit is large enough that GCC's unit-growth limit otherwise turns
// helpers into calls inside the tiles (a new kernel in the unit once made the Winograd GEMM
// 60% slower that way).
inline constexpr Act kAnyAct = static_cast<Act>(-1);

template <class F>
__attribute__((always_inline)) inline void with_act(Act k, F&& f) {
  switch (k) {
    case Act::none:
      return f(std::integral_constant<Act, Act::none>{});
    case Act::relu:
      return f(std::integral_constant<Act, Act::relu>{});
    case Act::clip:
      return f(std::integral_constant<Act, Act::clip>{});
    default:
      return f(std::integral_constant<Act, kAnyAct>{});
  }
}

template <class Arch, Act K>
__attribute__((always_inline)) inline xsimd::batch<float, Arch> act_k(xsimd::batch<float, Arch> v, const ActParams& p) {
  if constexpr (K == kAnyAct)
    return act_any_v<Arch>(v, p);
  else
    return act_v<Arch, K>(v, p);
}

template <class Arch>
struct Gemm {
  using B = xsimd::batch<float, Arch>;
  static constexpr std::size_t L = B::size;
  static constexpr std::size_t MR = L >= 16 ? 12 : 6;
  static constexpr std::size_t NR = 2 * L;

  // A tile with few valid rows (the last of M = 64 holds 4 of 12) computes only a third or
  // two thirds of the rows instead of all MR.
  static void ukernel(std::size_t k, const float* apack, const float* bpack, std::size_t ldb, float* c, std::size_t ldc,
                      std::size_t mr_valid, std::size_t nr_valid, int accumulate, const GemmEpilogue* ep) {
    if (mr_valid <= MR / 3)
      columns<MR / 3>(k, apack, bpack, ldb, c, ldc, mr_valid, nr_valid, accumulate, ep);
    else if (mr_valid <= 2 * MR / 3)
      columns<2 * MR / 3>(k, apack, bpack, ldb, c, ldc, mr_valid, nr_valid, accumulate, ep);
    else
      columns<MR>(k, apack, bpack, ldb, c, ldc, mr_valid, nr_valid, accumulate, ep);
  }

 private:
  template <std::size_t R>
  static void columns(std::size_t k, const float* apack, const float* bpack, std::size_t ldb, float* c, std::size_t ldc,
                      std::size_t mr_valid, std::size_t nr_valid, int accumulate, const GemmEpilogue* ep) {
    if (nr_valid <= L)
      tile<1, R>(k, apack, bpack, ldb, c, ldc, mr_valid, nr_valid, accumulate, ep);
    else
      tile<2, R>(k, apack, bpack, ldb, c, ldc, mr_valid, nr_valid, accumulate, ep);
  }

  // R of the panel's MR rows, NV vectors of columns.
  template <std::size_t NV, std::size_t R>
  static void tile(std::size_t k, const float* apack, const float* bpack, std::size_t ldb, float* c, std::size_t ldc,
                   std::size_t mr_valid, std::size_t nr_valid, int accumulate, const GemmEpilogue* ep) {
    B acc[R][NV];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < R; ++i)
#pragma GCC unroll 2
      for (std::size_t j = 0; j < NV; ++j) acc[i][j] = B(0.0f);
    // The drivers pack A's panels one after another, so the next tile's panel starts k * MR
    // floats on: fetching it into L2 during this tile hides its latency when the weights
    // stream from memory (a prefetch past the buffer's end is harmless).
    const float* a_next = apack + k * MR;
    for (std::size_t p = 0; p < k; ++p) {
      __builtin_prefetch(a_next + p * MR, 0, 2);
      B b[NV];
#pragma GCC unroll 2
      for (std::size_t j = 0; j < NV; ++j) b[j] = B::load_unaligned(bpack + j * L);
#pragma GCC unroll 16
      for (std::size_t i = 0; i < R; ++i) {
        const B a(apack[i]);
#pragma GCC unroll 2
        for (std::size_t j = 0; j < NV; ++j) acc[i][j] = xsimd::fma(a, b[j], acc[i][j]);
      }
      apack += MR;
      bpack += ldb;
    }
    // Row by row; the last vector of a row may be partial (the dispatch above makes every
    // vector hold at least one valid column). The epilogue's fields are read once, into a
    // local: after each store (through xsimd's may_alias vector types) GCC would reload them.
    const GemmEpilogue e = ep ? *ep : GemmEpilogue{};
#pragma GCC unroll 16
    for (std::size_t i = 0; i < R; ++i) {
      if (i == mr_valid) break;
#pragma GCC unroll 2
      for (std::size_t j = 0; j < NV; ++j) {
        float* cij = c + i * ldc + j * L;
        const std::size_t lanes = nr_valid - j * L;
        B v = acc[i][j];
        if (lanes >= L) {
          if (accumulate) v += B::load_unaligned(cij);
          if (ep) v = epilogue(v, e, i, j * L, L);
          v.store_unaligned(cij);
        } else {
          if (accumulate) v += Part<Arch>::load(cij, lanes);
          if (ep) v = epilogue(v, e, i, j * L, lanes);
          Part<Arch>::store(cij, v, lanes);
        }
      }
    }
  }

  // The epilogue on columns [j, j + lanes) of row i.
  __attribute__((always_inline)) static B epilogue(B v, const GemmEpilogue& ep, std::size_t i, std::size_t j,
                                                   std::size_t lanes) {
    v = xsimd::fma(v, B(ep.scale ? ep.scale[i] : 1.0f), B(ep.shift ? ep.shift[i] : 0.0f));
    if (!ep.residual) return act_any_v<Arch>(v, ep.act);
    const float* r = ep.residual + i * ep.ldr + j;
    const B rv = lanes >= L ? B::load_unaligned(r) : Part<Arch>::load(r, lanes);
    if (ep.residual_first) return act_any_v<Arch>(v + rv, ep.act);
    return act_any_v<Arch>(v, ep.act) + rv;
  }
};

}  // namespace edgert::simd::kern
