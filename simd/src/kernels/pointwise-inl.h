// pointwise_nc16_f32: one tile of a 1x1 convolution written in the channel-blocked layout,
// computed as the transposed product (rows = pixels, columns = output channels): every row
// of the tile is one pixel, so each vector of the result is 16 / L of one pixel's block and
// is stored whole, aligned, with the bias and activation applied in registers. A (the input)
// is read in place, one broadcast per pixel and channel, from either layout.
// Included only by the per-ISA translation units.
#pragma once

#include <cstddef>
#include <cstdint>
#include <xsimd/xsimd.hpp>

#include "gemm-inl.h"

namespace edgert::simd::kern {

template <class Arch>
struct Pointwise {
  using B = xsimd::batch<float, Arch>;
  static constexpr std::size_t L = B::size, C = kChannelBlock;
  static constexpr std::size_t MR = Gemm<Arch>::MR;
  // A shorter full-width register block where there are registers for it (0: none),
  // KernelTable::pointwise_short_mr. With 32 registers, 7 rows (14 accumulators) tile the
  // 7x7, 14x14, ... maps of 224-pixel CNNs exactly, where MR = 12 leaves one tile of 1 or 4
  // pixels. With 16 registers of 8 floats (AVX2), 5 rows (10 accumulators, 13 registers in
  // all): a 7x7 map in tiles of 6 ends in a tile of 1 pixel that runs in the 2-row block,
  // whose 4 accumulators wait on the FMA latency; in tiles of 5 it ends in one of 4, whose
  // 8 keep both FMA pipes busy.
  static constexpr std::size_t SHORT = MR >= 12 ? 7 : L == 8 ? 5 : 0;
  // The short block takes the tiles above the next smaller block: MR / 3 < rows <= 7 (MR =
  // 12), 2 * MR / 3 < rows <= 5 (MR = 6).
  static constexpr std::size_t BELOW_SHORT = SHORT > 2 * MR / 3 ? 2 * MR / 3 : MR / 3;

  // a_offsets: the pixels 1 or 2 floats apart (the callers' only steps).
  static void run(const PointwiseArgs& a) {
    if (a.a_offsets)
      a.a_step == 1 ? rows<false, 1>(a) : rows<false, 2>(a);
    else if (a.a_blocked)
      rows<true, 0>(a);
    else
      rows<false, 0>(a);
  }

 private:
  template <bool Blocked, std::size_t S>
  static void rows(const PointwiseArgs& a) {
    if constexpr (SHORT != 0) {
      if (a.mr_valid > BELOW_SHORT && a.mr_valid <= SHORT) return columns<Blocked, S, SHORT>(a);
    }
    if (a.mr_valid <= MR / 3)
      columns<Blocked, S, MR / 3>(a);
    else if (a.mr_valid <= 2 * MR / 3)
      columns<Blocked, S, 2 * MR / 3>(a);
    else
      columns<Blocked, S, MR>(a);
  }
  template <bool Blocked, std::size_t S, std::size_t R>
  static void columns(const PointwiseArgs& a) {
    if (a.nr_valid <= L)
      tile<Blocked, S, R, 1>(a);
    else
      tile<Blocked, S, R, 2>(a);
  }

  // Where a tile's stores go and what they add, as locals.
  struct Out {
    float* y;
    const float* residual;
    std::size_t y_stride, lane0, rows, valid, zero;
    ActParams act;
    int residual_first;
    // Offset of the tile's vector v from y.
    std::size_t at(std::size_t v) const {
      const std::size_t lane = lane0 + v * L;
      return lane / C * y_stride + lane % C;
    }
  };
  static Out out(const PointwiseArgs& a) {
    return Out{a.y, a.residual, a.y_stride, a.lane0, a.mr_valid, a.nr_valid, a.nr_zero, a.act, a.residual_first};
  }

  // a.tiles tiles of R pixels by NV vectors of output channels, one after another: the
  // call, its dispatch and the reading of its arguments are paid once for the run.
  template <bool Blocked, std::size_t S, std::size_t R, std::size_t NV>
  static void tile(const PointwiseArgs& a) {
    // Everything is read into locals first: xsimd's stores go through may_alias vector
    // types, so GCC otherwise reloads each field of `a` after every store.
    const In in = input(a);
    Out o = out(a);
    const float* x = a.a;
    const float* pf = a.prefetch;
    const std::size_t tiles = a.tiles, a_step = a.a_tile_step, y_step = a.y_tile_step;
    // The prefetch is spread over the run: each tile takes the next share of its rows (a
    // cache line per 16 floats at the first `share` steps of the sum), instead of the first
    // tile all of them, so a part read by few tiles asks memory for the next one at the pace
    // the tiles go, not in a burst more lines long than the core can have in flight. One
    // thread, Zen 3, 30-200 pairs of runs in one process, against the first tile alone:
    // resnet50 0.5-2% faster (two threads 0.4%), mobilenetv2 0.8%, densenet121 -0.4..1.6%.
    const std::size_t share = (in.k + tiles - 1) / tiles;
    std::size_t pf_done = 0;
    // One call site of the tile's body (two copies left GCC keeping the accumulators in
    // memory: the activation's lambda was no longer inlined).
    for (std::size_t n = 1;; ++n) {
      one<Blocked, S, R, NV>(in, x, o, pf, pf ? std::min(share, in.k - pf_done) : 0);
      if (n >= tiles) break;
      x += a_step;
      o.y += y_step;
      if (o.residual) o.residual += y_step;
      pf_done += share;
      pf = pf && pf_done < in.k ? pf + share * in.ldb : nullptr;
    }
  }

  // What a tile reads, as locals.
  struct In {
    const float* b;
    const std::uint32_t* a_offsets;
    const float* bias;
    std::size_t k, a_stride, ldb;
    int accumulate, finish;
  };
  static In input(const PointwiseArgs& a) {
    return In{a.b, a.a_offsets, a.bias, a.k, a.a_stride, a.ldb, a.accumulate, a.finish};
  }

  // One tile whose input starts at x, stored as o says; pf: the weights to prefetch, pf_left
  // rows of them (0: none). In the blocked layout the R pixels of a channel are 16 floats apart and the
  // address steps by one per channel; in planes they are adjacent and the address steps by
  // the plane size; gathered (S > 0), row p starts at x + a_offsets[p] and the pixels are S
  // floats apart.
  template <bool Blocked, std::size_t S, std::size_t R, std::size_t NV>
  __attribute__((always_inline)) static void one(const In& in, const float* x, const Out& o, const float* pf,
                                                 std::size_t pf_left) {
    B acc[R][NV];
    if (in.accumulate) {
#pragma GCC unroll 16
      for (std::size_t i = 0; i < R; ++i)
#pragma GCC unroll 2
        for (std::size_t v = 0; v < NV; ++v)
          // Rows past mr_valid start from zero: they are never stored.
          acc[i][v] = i < o.rows ? B::load_unaligned(o.y + o.at(v) + i * C) : B(0.0f);
    } else {
#pragma GCC unroll 16
      for (std::size_t i = 0; i < R; ++i)
#pragma GCC unroll 2
        for (std::size_t v = 0; v < NV; ++v) acc[i][v] = B(0.0f);
    }
    constexpr std::size_t row = S ? S : Blocked ? C : 1;
    const std::size_t step = Blocked ? 1 : in.a_stride;
    const float* bp = in.b;
    for (std::size_t p0 = 0; p0 < in.k; p0 += C) {
      const float* ab = x + (Blocked ? p0 / C : p0) * in.a_stride;
      const std::size_t kk = in.k - p0 < C ? in.k - p0 : C;
      for (std::size_t q = 0; q < kk; ++q) {
        const float* ap = S ? x + in.a_offsets[p0 + q] : ab + q * step;
        B bv[NV];
#pragma GCC unroll 2
        for (std::size_t v = 0; v < NV; ++v) bv[v] = B::load_unaligned(bp + v * L);
#pragma GCC unroll 16
        for (std::size_t i = 0; i < R; ++i) {
          const B xv(ap[i * row]);
#pragma GCC unroll 2
          for (std::size_t v = 0; v < NV; ++v) acc[i][v] = xsimd::fma(xv, bv[v], acc[i][v]);
        }
        bp += in.ldb;
        if (pf_left) {
          // Row p of the next weights, a cache line per 16 floats, while row p is summed.
          for (std::size_t j = 0; j < in.ldb; j += 16) __builtin_prefetch(pf + j, 0, 2);
          pf += in.ldb;
          --pf_left;
        }
      }
    }
    // The activation is chosen once per tile, not per vector: short sums pay for the switch
    // (bench_conv on AVX2, MobileNetV2's 1x1 16 -> 96 at 112x112: 807 -> 760 us).
    if (!in.finish) {
#pragma GCC unroll 2
      for (std::size_t v = 0; v < NV; ++v) {
        float* y = o.y + o.at(v);
#pragma GCC unroll 16
        for (std::size_t i = 0; i < R; ++i) {
          if (i == o.rows) break;
          acc[i][v].store_unaligned(y + i * C);
        }
      }
    } else {
      // Only the blocked input's tiles (the layers inside a network) get a loop per kind:
      // the planes and gathered modes (a chain's first layer, a stem) keep the per-vector
      // switch, which holds the kernel units' build time down.
      if constexpr (Blocked)
        with_act(o.act.kind, [&](auto k) { finish<decltype(k)::value>(acc, o, in.bias); });
      else
        finish<kAnyAct>(acc, o, in.bias);
      // The padding after the last valid vector: zeros.
      for (std::size_t z = 0; z < o.zero; z += L) {
        const std::size_t lane = o.lane0 + o.valid + z;
        float* y = o.y + lane / C * o.y_stride + lane % C;
#pragma GCC unroll 16
        for (std::size_t i = 0; i < R; ++i) {
          if (i == o.rows) break;
          B(0.0f).store_unaligned(y + i * C);
        }
      }
    }
  }

  // The finished tile: bias, residual and activation K, stored. The residual test is made
  // once per tile and each column's bias loaded where its rows are stored: with the test per
  // row and both biases loaded first, GCC kept 7 of the 12 AVX2 accumulators on the stack
  // around the sum (2 now). Short sums gain most (one thread, Zen 3, minimum per node over
  // three alternating runs of each build): mobilenetv2's 1x1s with K = 16-32 3-4.5% faster,
  // the model's nodes 1.6%, densenet121's 0.7%; resnet50's within +-1% (its nodes +0.5%).
  template <Act K, std::size_t R, std::size_t NV>
  __attribute__((always_inline)) static void finish(const B (&acc)[R][NV], const Out& o, const float* bias_at) {
    if (o.residual) {
#pragma GCC unroll 2
      for (std::size_t v = 0; v < NV; ++v) {
        const std::size_t off = o.at(v);
        const B bias = bias_at ? B::load_unaligned(bias_at + v * L) : B(0.0f);
#pragma GCC unroll 16
        for (std::size_t i = 0; i < R; ++i) {
          if (i == o.rows) break;
          const B y = acc[i][v] + bias, r = B::load_unaligned(o.residual + off + i * C);
          (o.residual_first ? act_k<Arch, K>(y + r, o.act) : act_k<Arch, K>(y, o.act) + r)
              .store_unaligned(o.y + off + i * C);
        }
      }
      return;
    }
#pragma GCC unroll 2
    for (std::size_t v = 0; v < NV; ++v) {
      const std::size_t off = o.at(v);
      const B bias = bias_at ? B::load_unaligned(bias_at + v * L) : B(0.0f);
#pragma GCC unroll 16
      for (std::size_t i = 0; i < R; ++i) {
        if (i == o.rows) break;
        act_k<Arch, K>(acc[i][v] + bias, o.act).store_unaligned(o.y + off + i * C);
      }
    }
  }
};

}  // namespace edgert::simd::kern
