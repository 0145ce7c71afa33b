// The kernel table: one set of function pointers per compiled ISA tier.
//
// Every kernel is a pure function on pointers, sizes and strides: no allocation, no
// threads. Activations may be unaligned; in-place use (x == y) is allowed where noted.
#pragma once

#include <cstddef>
#include <cstdint>

#include "edgert/simd/isa.h"

namespace edgert::simd {

/// y[n,c,i] = x[n,c,i] * scale[c] + shift[c] for n < batch, c < channels, i < plane.
/// x and y are NCHW-contiguous; x == y allowed.
using AffineNchwF32 = void (*)(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, float* y,
                               const float* scale, const float* shift);

/// Activations that can follow an affine map in the same memory pass.
enum class Act : int { none = 0, relu, clip, leaky_relu, hard_sigmoid, hard_swish, sigmoid, silu };

/// An activation and its parameters: clip [alpha, beta]; leaky_relu slope alpha;
/// hard_sigmoid max(0, min(1, alpha * v + beta)); hard_swish v * hard_sigmoid(1/6, 1/2);
/// sigmoid 1 / (1 + exp(-v)) (the vector kernels use xsimd's exp, a few ulp from libm);
/// silu (Swish-1) v * sigmoid(v).
struct ActParams {
  Act kind = Act::none;
  float alpha = 0.0f, beta = 0.0f;
};

/// y = act(x * scale[c] + shift[c] (+ r)), with the residual r added before the activation
/// when `residual_first` is non-zero and after it otherwise; `residual` may be null.
/// Same layout and aliasing rules as AffineNchwF32 (y may alias x or residual).
using AffineActNchwF32 = void (*)(std::size_t batch, std::size_t channels, std::size_t plane, const float* x,
                                  const float* residual, float* y, const float* scale, const float* shift,
                                  const ActParams& act, int residual_first);

/// Elementwise unary functions with a vector form; alpha/beta as for Act.
enum class Unary : int { relu, leaky_relu, clip, hard_sigmoid, hard_swish, sigmoid, tanh, exp, neg, abs, sqrt };

/// y[i] = f(x[i]) for i < n; x == y allowed. NaN passes through as in the scalar form.
using UnaryF32 = void (*)(Unary f, std::size_t n, const float* x, float* y, float alpha, float beta);

/// Binary arithmetic; max/min return NaN when either operand is NaN.
enum class Binary : int { add, sub, mul, div, max, min };

/// y[i] = a[i * sa] op b[i * sb] for i < n, strides 0 (broadcast one value) or 1.
using BinaryF32 = void (*)(Binary op, std::size_t n, const float* a, std::size_t sa, const float* b, std::size_t sb,
                           float* y);

/// Softmax (or log-softmax when `log` is non-zero) of one contiguous row of n floats;
/// x == y allowed.
using SoftmaxRowF32 = void (*)(std::size_t n, const float* x, float* y, int log);

/// Reductions of one contiguous row.
enum class Reduce : int { sum, max, min };
using ReduceRowF32 = float (*)(Reduce op, std::size_t n, const float* x);

/// One output row of pooling over windows wholly inside their input rows: for i < n,
/// y[i] = the max (max non-zero) or the sum of rows[r][i * sx + t * dx], r < nrows, t < kw,
/// taken row by row and tap by tap from -inf or 0 (a max takes a value only when it is
/// greater, so NaN inputs are passed over), a sum then divided by `div` unless div is 0.
/// Nothing past rows[r][(n - 1) * sx + (kw - 1) * dx] is read.
using PoolRowF32 = void (*)(int max, std::size_t n, const float* const* rows, std::size_t nrows, std::size_t kw,
                            std::size_t sx, std::size_t dx, float div, float* y);

/// What the GEMM micro-kernel applies to its tile once the product is complete, row i and
/// column j of the tile: v = act(c * scale[i] + shift[i] (+ residual[i * ldr + j])), the
/// residual added before the activation when `residual_first` is non-zero, after it
/// otherwise. A null scale means 1, a null shift 0, a null residual none. The pointers
/// address the tile's first row (and column).
struct GemmEpilogue {
  const float* scale = nullptr;
  const float* shift = nullptr;
  const float* residual = nullptr;
  std::size_t ldr = 0;
  ActParams act;
  int residual_first = 1;
};

/// GEMM micro-kernel: C[mr x nr] (+)= Apack * Bpack over depth k, then the epilogue `ep`
/// when it is not null.
/// Apack holds k columns of `gemm_mr` floats (row index fastest), produced by
/// gemm_pack_a_f32 with this table's mr; B is k rows of `gemm_nr` floats, row p at
/// bpack + p * ldb: a panel of gemm_pack_b_f32 (ldb = gemm_nr) or, read in place, a matrix
/// with contiguous rows (every row holds gemm_nr readable floats even when nr_valid is less).
/// Only the top-left mr_valid x nr_valid part of C (row stride ldc) is read or written; when
/// `accumulate` is non-zero the product is added to what C holds (before the epilogue).
using GemmUkernelF32 = void (*)(std::size_t k, const float* apack, const float* bpack, std::size_t ldb, float* c,
                                std::size_t ldc, std::size_t mr_valid, std::size_t nr_valid, int accumulate,
                                const GemmEpilogue* ep);

/// One output row of a 3x3 depthwise convolution at stride 1, dilation 1:
/// y[i] = sum over r, c < 3 of w[3 * r + c] * rows[r][i + c], i < n, the taps summed in
/// that order. The caller hands over the columns whose nine taps are all inside the rows.
using Dw3x3RowF32 = void (*)(std::size_t n, const float* r0, const float* r1, const float* r2, const float* w,
                             float* y);

/// One output row of a 3x3 depthwise convolution at column stride 2, dilation 1, from its
/// three input rows split into even and odd columns (a[r][j] = row r column 2j + s,
/// b[r][j] = column 2j + s + 1, for the caller's start s):
/// y[i] = sum over r < 3 of w[3r] * a[r][i] + w[3r + 1] * b[r][i] + w[3r + 2] * a[r][i + 1],
/// i < n, the taps summed in that order. a[r] holds n + 1 values, b[r] n.
using Dw3x3S2RowF32 = void (*)(std::size_t n, const float* const* a, const float* const* b, const float* w, float* y);

/// Columns of a matrix-vector product: c[j] = sum over p < k of a[p] * b[j * ldb + p]
/// (plus c[j]'s old value when `accumulate`), j < n. Every column is summed in the same
/// order whichever columns it is computed with, so splitting n between threads does not
/// change the result.
using GemvColsF32 = void (*)(std::size_t n, std::size_t k, const float* a, const float* b, std::size_t ldb, float* c,
                             int accumulate);

/// A strided copy: dst[t] = src[t * stride] for t < n; nothing past src[(n - 1) * stride] is
/// read. Vector forms for strides 1 and 2 (im2col's rows at column stride 1 or 2).
using StridedCopyF32 = void (*)(std::size_t n, const float* src, std::size_t stride, float* dst);

/// Winograd F(2x2, 3x3) input transform of one row of n tiles: p[0..3] are four consecutive
/// zero-padded input rows of 2n + 2 values; tile t covers columns 2t .. 2t + 3. Writes
/// v[4i + j][t] = (B^T d_t B)[i][j] with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], the
/// rows combined first (t_i = p0 - p2, p1 + p2, p2 - p1, p1 - p3), then the columns.
using Wino23InputF32 = void (*)(std::size_t n, const float* const* p, float* const* v);
/// Output transform of one row of n tiles from m[4i + j][t], i, j < 4: y0 and y1 (2n values
/// each) get the tile's two output rows of A^T M A + bias, A^T = [1 1 1 0; 0 1 -1 -1], the
/// rows combined first: s0_j = m0j + m1j + m2j, s1_j = m1j - m2j - m3j; then
/// y[2t] = s_0 + s_1 + s_2 + bias, y[2t + 1] = s_1 - s_2 - s_3 + bias.
using Wino23OutputF32 = void (*)(std::size_t n, const float* const* m, float bias, float* y0, float* y1);
/// Winograd F(4x4, 3x3) on the channel-blocked layout ([pixel][16]), 16 channels at a time.
/// Input transform of one row of n tiles: p is the first of six consecutive zero-padded input
/// rows of one block, `row` floats apart; tile t covers pixels 4t .. 4t + 5 of each. Writes
/// v[e * ev + t * 16 + c] = (B^T d_t B)[i][j], e = 6i + j, with
///   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
/// the rows (one column of six pixels at a time) combined first, then the columns.
using Wino43InputNc16F32 = void (*)(std::size_t n, const float* p, std::size_t row, float* v, std::size_t ev);
/// Output transform of one row of n tiles from m[e * em + t * 16 + c], e = 6i + j < 36:
/// y[i * row + (4t + j) * 16 + c] = act((A^T M_t A)[i][j] + bias[c]) for i, j < 4, with
///   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1],
/// the columns of M combined first, then the rows; bias may be null (zero).
using Wino43OutputNc16F32 = void (*)(std::size_t n, const float* m, std::size_t em, const float* bias,
                                     const ActParams& act, float* y, std::size_t row);
/// Winograd F(2x2, 3x3) on the channel-blocked layout, with the F(4x4, 3x3) kernels'
/// arguments: p is the first of four zero-padded input rows, tile t covers pixels 2t .. 2t + 3
/// of each; v[e * ev + t * 16 + c] = (B^T d_t B)[i][j], e = 4i + j < 16, with
///   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
/// the rows combined first, then the columns.
using Wino23InputNc16F32 = Wino43InputNc16F32;
/// y[i * row + (2t + j) * 16 + c] = act((A^T M_t A)[i][j] + bias[c]) for i, j < 2 from
/// m[e * em + t * 16 + c], e = 4i + j < 16, A^T = [1 1 1 0; 0 1 -1 -1], the columns of M
/// combined first, then the rows; bias may be null (zero).
using Wino23OutputNc16F32 = Wino43OutputNc16F32;
/// The weight transform of Winograd F(m x m, 3x3), m = 4 or 2, U = G g G^T of each channel
/// pair's 3x3 kernel g, for k input channels by n output channels (n a multiple of 16): for
/// c < k, l < n and e = (m + 2) i + j < (m + 2)^2,
///   u[e * u_matrix + c * n + l] = U[i][j] + 0 of g[(c * 9 + ky * 3 + kx) * n + l],
/// the kernels tap by tap, a line of n output channels each. G's products by zero are left
/// out and its rows of equal magnitude share their sums; with (a, b, c) a column of g, then
/// a row of G g:
///   F(4x4, 3x3): a / 4, (a + c + b) (-1/6), (a + c - b) (-1/6), (a / 24 + c / 6) + b / 12,
///                (a / 24 + c / 6) - b / 12, c;
///   F(2x2, 3x3): a, (a + c + b) / 2, (a + c - b) / 2, c
/// (the multiplications may fuse with the adds); the + 0 turns -0 into +0.
using WinoWeightsF32 = void (*)(int m, std::size_t k, std::size_t n, const float* g, float* u, std::size_t u_matrix);

/// Channels per pixel in the channel-blocked layout ([pixel][16]) of dwc_f32 and the
/// nc16 pack/unpack kernels.
inline constexpr std::size_t kChannelBlock = 16;

/// Planes to the blocked layout: dst[p * 16 + c] = src[c * ld + p] for p < n and c < nc
/// (nc <= 16); lanes c >= nc are zero.
using Nc16PackF32 = void (*)(std::size_t n, const float* src, std::size_t ld, std::size_t nc, float* dst);
/// Back to planes: dst[c * ld + p] = src[p * 16 + c] for p < n and c < nc.
using Nc16UnpackF32 = void (*)(std::size_t n, const float* src, std::size_t nc, float* dst, std::size_t ld);

/// Output rows of a depthwise convolution of one block of 16 channels in the blocked
/// layout, read in place from the input rows (no padded copy). `nrows` (at least 1) rows in
/// one call: row r reads its taps' rows from rows + r * kh and writes y + r * y_row, each as
/// follows. One output row: for o < ow and c < 16,
/// y[o * 16 + c] = act(bias[c] + sum over ky < kh with rows[ky] != null and kx < kw with
///     0 <= ix = o * sx + kx * dx - pl < iw of w[(ky * kw + kx) * 16 + c] * rows[ky][ix * 16 + c]),
/// the taps summed in that order. rows[ky] is the input row tap row ky reads (iw pixels), null
/// where it falls in the padding; taps outside the row are padding too (they add nothing).
/// bias is required (zeros for none).
struct DwcArgs {
  const float* const* rows = nullptr;
  std::size_t iw = 0, pl = 0;
  const float* w = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
  std::size_t ow = 0, kh = 0, kw = 0, sx = 1, dx = 1;
  ActParams act;
  std::size_t nrows = 1, y_row = 0;
};
using DwcF32 = void (*)(const DwcArgs& a);

/// One tile of a pointwise (1x1) convolution whose output is in the channel-blocked layout:
/// pixels i < mr_valid (at most gemm_mr) by output channels j < nr_valid (at most gemm_nr):
///   Y(i, j) = act(sum over p < k of A(i, p) * b[p * ldb + j] + bias[j] (+ R(i, j))),
/// p summed in order, the residual R added before the activation when `residual_first`.
/// The input A(i, p) is a[(p / 16) * a_stride + i * 16 + p % 16] when `a_blocked` (the
/// blocked layout; a_stride = 16 * pixels of the plane) and a[p * a_stride + i] otherwise
/// (planes of a_stride pixels). Rows i < gemm_mr of A are read whatever mr_valid is (they do
/// not change the valid rows). b is a gemm_pack_b_f32 panel (ldb = gemm_nr) or any rows of
/// nr_valid readable floats. Y(i, j) is y[((lane0 + j) / 16) * y_stride + i * 16 +
/// (lane0 + j) % 16], R(i, j) the same place in `residual` (null: none); bias may be null.
/// lane0 (< 16) and nr_valid are multiples of min(gemm_nr / 2, 16). Only rows i < mr_valid of
/// Y are written. A long sum runs in parts: with `accumulate` the sum starts from Y(i, j)
/// instead of zero, and without `finish` Y(i, j) is the plain sum (no bias, residual or
/// activation). With `finish`, the nr_zero columns after them, j in [nr_valid, nr_valid +
/// nr_zero) (a multiple of the same unit, within the last block), are set to 0 in rows i <
/// mr_valid: a layer whose channels end inside a vector skips the padding's products.
/// `prefetch` (may be null) names k rows of ldb floats the caller will want
/// next: the kernel asks the cache for them while it reads b, a share of ceil(k / tiles)
/// rows per tile of the run, row p of the share at step p of that tile's sum (a hint only).
/// With `a_offsets` (not null) the input is gathered instead, A(i, p) = a[a_offsets[p] +
/// i * a_step] (a direct convolution over zero-padded planes: offset p is that of
/// channel and tap p, the pixels a_step apart: 1 or 2), and a_stride and a_blocked are
/// ignored.
/// `tiles` (at least 1) runs that many tiles in one call, tile n (every one mr_valid rows)
/// reading its input at a + n * a_tile_step and its output and residual at y and residual +
/// n * y_tile_step, each tile as described (the prefetch hint spread over them as above): short
/// sums (a 16-channel input's) pay the call and its dispatch once for the run of tiles.
struct PointwiseArgs {
  std::size_t k = 0;
  const float* a = nullptr;
  std::size_t a_stride = 0;
  int a_blocked = 1;
  const std::uint32_t* a_offsets = nullptr;
  std::size_t a_step = 1;
  const float* b = nullptr;
  std::size_t ldb = 0;
  float* y = nullptr;
  std::size_t y_stride = 0, lane0 = 0;
  std::size_t mr_valid = 0, nr_valid = 0, nr_zero = 0;
  const float* bias = nullptr;
  const float* residual = nullptr;
  ActParams act;
  int residual_first = 1;
  int accumulate = 0, finish = 1;
  const float* prefetch = nullptr;
  std::size_t tiles = 1, a_tile_step = 0, y_tile_step = 0;
};
using PointwiseNc16F32 = void (*)(const PointwiseArgs& a);

/// One output row of a 2-D max or average pooling of one block of 16 channels in the
/// blocked layout: for o < n and c < 16,
///   y[o * 16 + c] = the max or the sum over r < nrows, t in [lo[o], hi[o]) of
///                   rows[r][(o * sx + t * dx - pl) * 16 + c],
/// taken row by row and tap by tap from -inf or 0 (a max takes a value only when it is
/// greater, so NaN inputs are passed over), a sum then divided by max(1, rdiv * cdiv[o]).
/// The caller hands over the window's rows inside the input and, per output column, the
/// taps inside the row (o * sx + t * dx >= pl for every t in [lo[o], hi[o])).
struct PoolNc16Args {
  int max = 1;
  std::size_t n = 0;
  const float* const* rows = nullptr;
  std::size_t nrows = 0, sx = 1, dx = 1, pl = 0;
  const std::uint32_t* lo = nullptr;
  const std::uint32_t* hi = nullptr;
  float rdiv = 1.0f;
  const float* cdiv = nullptr;  ///< average only
  float* y = nullptr;
};
using PoolNc16F32 = void (*)(const PoolNc16Args& a);

struct KernelTable {
  Isa isa;
  std::size_t gemm_mr;
  std::size_t gemm_nr;
  /// A tile height below gemm_mr that pointwise_nc16_f32 runs with its own register block
  /// at full width (0: none); callers tile a map by it where gemm_mr's tiles would end in
  /// a mostly empty one. pointwise_nc16_f32 runs a tile of r rows in the smallest of its
  /// register blocks (gemm_mr / 3, 2 * gemm_mr / 3, this one, gemm_mr) that holds r.
  std::size_t pointwise_short_mr;
  AffineNchwF32 affine_nchw_f32;
  GemmUkernelF32 gemm_ukernel_f32;
  AffineActNchwF32 affine_act_nchw_f32;
  UnaryF32 unary_f32;
  BinaryF32 binary_f32;
  SoftmaxRowF32 softmax_row_f32;
  ReduceRowF32 reduce_row_f32;
  PoolRowF32 pool_row_f32;
  Dw3x3RowF32 dw3x3_row_f32;
  Dw3x3S2RowF32 dw3x3s2_row_f32;
  GemvColsF32 gemv_cols_f32;
  Nc16PackF32 nc16_pack_f32;
  Nc16UnpackF32 nc16_unpack_f32;
  DwcF32 dwc_f32;
  StridedCopyF32 strided_copy_f32;
  Wino23InputF32 wino23_input_f32;
  Wino23OutputF32 wino23_output_f32;
  Wino43InputNc16F32 wino43_input_nc16_f32;
  Wino43OutputNc16F32 wino43_output_nc16_f32;
  Wino23InputNc16F32 wino23_input_nc16_f32;
  Wino23OutputNc16F32 wino23_output_nc16_f32;
  WinoWeightsF32 wino_weights_f32;
  PointwiseNc16F32 pointwise_nc16_f32;
  PoolNc16F32 pool_nc16_f32;
};

/// The table for `isa`, or nullptr when that tier is not compiled in or the CPU lacks it.
const KernelTable* kernels_for(Isa isa);

/// The best table at or below `cap` that is compiled and supported (scalar at least).
const KernelTable& kernels_up_to(Isa cap);

/// kernels_up_to(default_isa()), chosen once.
const KernelTable& kernels();

/// Packs rows [0, m) x columns [0, k) of A, element (i, p) at a[i*row_stride + p*col_stride],
/// into ceil(m/mr) panels of k*mr floats; rows past m are zero.
void gemm_pack_a_f32(std::size_t mr, std::size_t m, std::size_t k, const float* a, std::ptrdiff_t row_stride,
                     std::ptrdiff_t col_stride, float* out);

/// Packs rows [0, k) x columns [0, n) of B, element (p, j) at b[p*row_stride + j*col_stride],
/// into ceil(n/nr) panels of k*nr floats; columns past n are zero.
void gemm_pack_b_f32(std::size_t nr, std::size_t k, std::size_t n, const float* b, std::ptrdiff_t row_stride,
                     std::ptrdiff_t col_stride, float* out);

namespace reference {
/// Plain scalar oracles (and the scalar tier's kernels).
void affine_nchw_f32(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, float* y,
                     const float* scale, const float* shift);
void gemm_ukernel_f32(std::size_t k, const float* apack, const float* bpack, std::size_t ldb, float* c, std::size_t ldc,
                      std::size_t mr_valid, std::size_t nr_valid, int accumulate, const GemmEpilogue* ep);
/// The epilogue on one value of row i, column j of a tile.
float apply_epilogue(float v, const GemmEpilogue& ep, std::size_t i, std::size_t j);
void affine_act_nchw_f32(std::size_t batch, std::size_t channels, std::size_t plane, const float* x,
                         const float* residual, float* y, const float* scale, const float* shift, const ActParams& act,
                         int residual_first);
/// The activation on one value, as every kernel must compute it (NaN passes through).
float apply_act(float v, const ActParams& act);
void unary_f32(Unary f, std::size_t n, const float* x, float* y, float alpha, float beta);
void binary_f32(Binary op, std::size_t n, const float* a, std::size_t sa, const float* b, std::size_t sb, float* y);
float apply_unary(Unary f, float v, float alpha, float beta);
float apply_binary(Binary op, float a, float b);
void softmax_row_f32(std::size_t n, const float* x, float* y, int log);
float reduce_row_f32(Reduce op, std::size_t n, const float* x);
void pool_row_f32(int max, std::size_t n, const float* const* rows, std::size_t nrows, std::size_t kw, std::size_t sx,
                  std::size_t dx, float div, float* y);
void dw3x3_row_f32(std::size_t n, const float* r0, const float* r1, const float* r2, const float* w, float* y);
void dw3x3s2_row_f32(std::size_t n, const float* const* a, const float* const* b, const float* w, float* y);
void gemv_cols_f32(std::size_t n, std::size_t k, const float* a, const float* b, std::size_t ldb, float* c,
                   int accumulate);
void nc16_pack_f32(std::size_t n, const float* src, std::size_t ld, std::size_t nc, float* dst);
void nc16_unpack_f32(std::size_t n, const float* src, std::size_t nc, float* dst, std::size_t ld);
void dwc_f32(const DwcArgs& a);
void strided_copy_f32(std::size_t n, const float* src, std::size_t stride, float* dst);
void wino23_input_f32(std::size_t n, const float* const* p, float* const* v);
void wino23_output_f32(std::size_t n, const float* const* m, float bias, float* y0, float* y1);
void wino43_input_nc16_f32(std::size_t n, const float* p, std::size_t row, float* v, std::size_t ev);
void wino43_output_nc16_f32(std::size_t n, const float* m, std::size_t em, const float* bias, const ActParams& act,
                            float* y, std::size_t row);
void wino23_input_nc16_f32(std::size_t n, const float* p, std::size_t row, float* v, std::size_t ev);
void wino23_output_nc16_f32(std::size_t n, const float* m, std::size_t em, const float* bias, const ActParams& act,
                            float* y, std::size_t row);
void wino_weights_f32(int m, std::size_t k, std::size_t n, const float* g, float* u, std::size_t u_matrix);
void pointwise_nc16_f32(const PointwiseArgs& a);
void pool_nc16_f32(const PoolNc16Args& a);
inline constexpr std::size_t kGemmMr = 4;
inline constexpr std::size_t kGemmNr = 8;
}  // namespace reference

}  // namespace edgert::simd
