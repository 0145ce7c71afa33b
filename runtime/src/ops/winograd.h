// Winograd F(2x2, 3x3) for 3x3 convolutions at stride 1, dilation 1, one group: each 2x2
// block of outputs from a 4x4 block of inputs with 16 multiplications per channel pair
// instead of 36. The weights are transformed once at load (U = G g G^T, 16 matrices of
// cout x cin, packed for the GEMM micro-kernel); a run transforms the input (V = B^T d B),
// multiplies the 16 pairs of matrices with the blocked GEMM and transforms back (Y = A^T M A).
// The transforms use only 0, +-1 and +-1/2, so results stay within a few ulp of the direct sum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "gemm_driver.h"

namespace edgert {

class ThreadPool;

struct WinogradShape {
  std::int64_t cin, cout, in_h, in_w, out_h, out_w, pad_t, pad_l;
};

class Winograd23 {
 public:
  /// Whether a convolution with these weights is run this way: 3x3 kernels, stride 1,
  /// dilation 1, one group, and channel counts where the saving outweighs the transforms
  /// (and the transformed weights, 16/9 of the original, stay small).
  static bool suits(std::int64_t cout, std::int64_t cin);
  /// Whether a Conv of `group` groups, weight shape `w`, strides and dilations (empty: all 1)
  /// runs here: one group, 3x3 at stride 1 without dilation, and suits(cout, cin).
  static bool suits_conv(const std::vector<std::int64_t>& w, std::int64_t group,
                         const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations);
  /// The shape part of suits_conv: one group, weights [cout, cin, 3, 3], stride 1, no dilation.
  static bool stride1_3x3(const std::vector<std::int64_t>& w, std::int64_t group,
                          const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations);

  /// Whether a convolution suits_conv() takes still runs shifted instead when its input is
  /// channel-blocked (ConvOp's direct kernel over the padded blocks): with fewer than 64
  /// output channels the input transform, spread over them, outweighs the saving. It needs
  /// whole input blocks. Where 512-bit FMAs run at half rate (`half_rate_fma`: the AVX-512
  /// tier on AMD Zen 4) the direct kernel's FMAs cost twice as much and Winograd keeps maps
  /// of at least 28 x 28 output pixels (`out_pixels`, -1 when not known at load). bench_conv
  /// densenet121/3x3_128_32_{56,28,14,7}/blocked, shifted vs Winograd, us: Sapphire Rapids
  /// 1 thread 1537 vs 1707, 389 vs 517, 102 vs 206, 31 vs 73; Zen 4 1 thread 2204 vs 1684,
  /// 565 vs 500, 154 vs 175, 44 vs 73; 2 threads 1121 vs 1004, 302 vs 309, 89 vs 125, 31 vs 54.
  static bool yields_to_shifted(std::int64_t cout, std::int64_t cin, bool half_rate_fma, std::int64_t out_pixels) {
    return cout < 64 && cin % 16 == 0 && !(half_rate_fma && out_pixels >= 28 * 28);
  }

  /// Transforms and packs weights w [cout, cin, 3, 3].
  Winograd23(const simd::KernelTable& kt, const float* w, std::int64_t cout, std::int64_t cin);

  std::size_t scratch_bytes(const WinogradShape& s, int threads) const;

  /// y [cout, out_h, out_w] (+ bias per channel, may be null) from x [cin, in_h, in_w] of one image.
  void run(ThreadPool* pool, const WinogradShape& s, const float* x, const float* bias, float* y, void* scratch) const;

 private:
  // How a run splits a map into chunks of tile rows and lays out its scratch; scratch_bytes
  // and run both take it from here.
  struct Layout {
    std::int64_t tw, th;      // tiles per row, tile rows
    std::int64_t chunk_rows;  // tile rows per chunk
    std::int64_t tc, tcp;     // tiles per chunk; rounded up to whole GEMM panels
    std::size_t v_bytes;      // V: 16 x cin x tcp, in the GEMM's B panels
    std::size_t m_bytes;      // M: 16 x cout x tc
    std::size_t row_bytes;    // one worker's row buffers
  };
  Layout layout(const WinogradShape& s) const;
  const simd::KernelTable& kt_;
  std::vector<PackedA> u_;  // 16 matrices, cout x cin
};

// Winograd F(m x m, 3x3) on the channel-blocked layout ([block][pixel][16]), m = 4 or 2:
// each m x m block of outputs from an (m + 2) x (m + 2) block of inputs, (m + 2)^2
// multiplications per channel pair instead of 9 m^2 (36 for 144, or 16 for 36). The weights
// are transformed once at load (U = G g G^T, (m + 2)^2 matrices of
// cin x cout, packed as the pointwise kernel's B panels); a run transforms the input 16
// channels at a time (V = B^T d B, written blocked with the tiles as pixels), runs the
// products as 1x1 convolutions of the tiles (simd::pointwise_nc16_f32) and transforms back
// (Y = A^T M A) with the bias and activation, straight into the blocked output. F(4x4, 3x3)'s
// transforms use 2, 4, 5 and 8, so its error is larger than F(2x2, 3x3)'s but stays well
// within 1e-4 of the direct result relative to the output's scale (tests: WinogradNc16).
class WinogradNc16 {
 public:
  /// The tile m for a convolution Winograd23::stride1_3x3 takes, reading and writing blocks
  /// without a fused residual, with cin x cout channels and an output map of `out_pixels`
  /// (-1 when not known at load); 0: none. The map must have at least 7 x 7 pixels: on
  /// smaller ones the weights, read again for too few tiles, cost more than the saving.
  /// F(4x4, 3x3) up to 256 x 256 channels (Winograd23::suits); F(2x2, 3x3) past that up to
  /// 512 x 512, where F(4x4)'s weights (4x the original: 38 MiB for a 512-channel 3x3, read
  /// for 4 tiles of a 7x7 map) would stream from memory, and F(2x2)'s are 16/9 of the
  /// original (+7.4 MiB for each 512-channel 3x3) read for 16 tiles. bench_conv
  /// .../blocked, 1 thread, Zen 4, us, shifted or F(2x2, 3x3) converting before -> F(4x4):
  /// resnet50 res2_3x3_64 1491 -> 703, res3_3x3_128 1288 -> 665, res4_3x3_256 1436 -> 826;
  /// densenet121 3x3_128_32 at 56, 28, 14, 7: 1684 -> 847, 500 -> 215, 150 -> 68, 43 -> 18.
  static int tile_for(std::int64_t cout, std::int64_t cin, std::int64_t out_pixels);

  /// Transforms and packs weights w [cout, cin, 3, 3] for tile m (4 or 2).
  WinogradNc16(const simd::KernelTable& kt, const float* w, std::int64_t cout, std::int64_t cin, int m);

  std::size_t scratch_bytes(const WinogradShape& s, int threads) const;

  /// y (blocked, cout channels) = act(conv(x) + bias) for x (blocked, cin channels) of one
  /// image; bias may be null. Padding lanes of y's last block get act(0).
  void run(ThreadPool* pool, const WinogradShape& s, const float* x, const float* bias, const simd::ActParams& act,
           float* y, void* scratch) const;

 private:
  struct Layout {
    std::int64_t tw, th;      // tiles per row, tile rows
    std::int64_t chunk_rows;  // tile rows per chunk
    std::int64_t tcp;         // tiles per chunk rounded up to whole GEMM tiles (gemm_mr)
    std::int64_t wp;          // pixels of a padded input row: m * tw + 2
    std::size_t v_bytes;      // V: e x cin16 x tcp, blocked
    std::size_t m_bytes;      // M: e x cout16 x tcp, blocked
    std::size_t row_bytes;    // one worker's buffer: m + 2 padded input rows or m output rows
  };
  Layout layout(const WinogradShape& s) const;
  const simd::KernelTable& kt_;
  std::int64_t m_, e_;  // output tile, elements of a transformed tile ((m + 2)^2)
  std::int64_t cin16_, cout16_, panels_;
  simd::Wino43InputNc16F32 input_;  // the tile transforms for m_, chosen once
  simd::Wino43OutputNc16F32 output_;
  std::shared_ptr<float> u_;  // [e][panel][cin16][gemm_nr]
};

}  // namespace edgert
