#include "gemm_driver.h"

#include <algorithm>

#include "../exec/thread_pool.h"
#include "common.h"
#include "edgert/error.h"

namespace edgert {
namespace {
constexpr std::size_t kKc = 256;          // depth of a packed block
constexpr std::size_t kMc = 96;           // rows of A per packed block (a multiple of every mr)
constexpr std::size_t kNc = 512;          // columns of B per packed block (a multiple of every nr)
constexpr std::size_t kInPlaceRows = 64;  // B is read in place for products of at most this many rows

std::size_t per_thread_floats(const simd::KernelTable& kt) {
  const std::size_t mc = (kMc + kt.gemm_mr - 1) / kt.gemm_mr * kt.gemm_mr;
  const std::size_t nc = (kNc + kt.gemm_nr - 1) / kt.gemm_nr * kt.gemm_nr;
  return kKc * (mc + nc) + 16;
}

thread_local PackedArena* current_arena = nullptr;
constexpr std::size_t kArenaMin = std::size_t{16} << 10, kArenaMax = std::size_t{2} << 20;
constexpr std::size_t kArenaBlock = std::size_t{32} << 20;  // a multiple of 2 MiB: huge pages throughout
}  // namespace

PackedArena::Use::Use(PackedArena& arena) : previous_(current_arena) { current_arena = &arena; }
PackedArena::Use::~Use() { current_arena = previous_; }

std::shared_ptr<float> PackedArena::take(std::size_t n) {
  if (!kEnabled || n < kArenaMin / sizeof(float) || n >= kArenaMax / sizeof(float)) return nullptr;
  const std::size_t bytes = align64(n * sizeof(float));
  std::lock_guard<std::mutex> lock(mu_);
  if (!block_ || kArenaBlock - used_ < bytes) {
    block_ = aligned_alloc_shared(kArenaBlock, false);
    used_ = 0;
  }
  float* p = reinterpret_cast<float*>(static_cast<char*>(block_.get()) + used_);
  used_ += bytes;
  return std::shared_ptr<float>(block_, p);
}

std::shared_ptr<float> alloc_packed(std::size_t n) {
  if (current_arena)
    if (std::shared_ptr<float> p = current_arena->take(n)) return p;
  return std::static_pointer_cast<float>(aligned_alloc_shared(n * sizeof(float), false));
}

std::size_t gemm_scratch_bytes(const simd::KernelTable& kt, int threads) {
  return per_thread_floats(kt) * sizeof(float) * static_cast<std::size_t>(std::max(threads, 1));
}

// Depth of the packed blocks for a product of depth k: at most kKc, all about equal, so a
// 576-deep product runs 3 x 192 rather than 256 + 256 + 64. PackedA uses the same blocks.
std::size_t gemm_depth_block(std::size_t k) {
  const std::size_t blocks = (k + kKc - 1) / kKc;
  return blocks == 0 ? kKc : (k + blocks - 1) / blocks;
}

namespace {

void pack_b_block(const BSource& b, std::size_t nr, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t nc,
                  float* out) {
  if (b.pack) return b.pack(b.ctx, nr, p0, kc, j0, nc, out);
  const MatrixRef& m = b.matrix;
  simd::gemm_pack_b_f32(
      nr, kc, nc,
      m.data + static_cast<std::ptrdiff_t>(p0) * m.row_stride + static_cast<std::ptrdiff_t>(j0) * m.col_stride,
      m.row_stride, m.col_stride, out);
}

// A is either a strided matrix packed per block here (`packed` null) or packed at load.
void gemm_impl(const simd::KernelTable& kt, ThreadPool* pool, std::size_t m, std::size_t n, std::size_t k, MatrixRef a,
               const PackedA* packed, const BSource& b, float* c, std::size_t ldc, bool accumulate,
               const simd::GemmEpilogue* ep, void* scratch) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const float v = accumulate ? c[i * ldc + j] : 0.0f;
        c[i * ldc + j] = ep ? simd::reference::apply_epilogue(v, *ep, i, j) : v;
      }
    return;
  }
  const std::size_t mr = kt.gemm_mr, nr = kt.gemm_nr;
  const std::size_t mc_max = (kMc + mr - 1) / mr * mr;
  const std::size_t kc_max = gemm_depth_block(k);
  // Columns go to tasks in whole panels, as evenly as the panels allow; with more threads
  // than column blocks the rows are split as well.
  const std::size_t panels = (n + nr - 1) / nr, block_panels = std::max<std::size_t>(1, kNc / nr);
  const std::size_t threads = static_cast<std::size_t>(pool ? pool->size() : 1);
  std::size_t n_blocks = (panels + block_panels - 1) / block_panels;
  std::size_t m_parts = 1;
  if (n_blocks >= threads)
    n_blocks = std::min(panels, round_up(n_blocks, threads));
  else
    m_parts = std::min((m + mr - 1) / mr, threads);
  const std::size_t m_rows = ((m + m_parts - 1) / m_parts + mr - 1) / mr * mr;
  m_parts = (m + m_rows - 1) / m_rows;
  const std::size_t tasks = n_blocks * m_parts;
  const std::size_t stride = per_thread_floats(kt);

  auto task = [&](std::size_t t, std::size_t worker) {
    float* bpack = static_cast<float*>(scratch) + worker * stride;
    float* apack = bpack + kKc * ((kNc + nr - 1) / nr * nr);
    const std::size_t jb = t / m_parts, ip = t % m_parts;
    const std::size_t j0 = jb * panels / n_blocks * nr, nc = std::min(n, (jb + 1) * panels / n_blocks * nr) - j0;
    const std::size_t i_begin = ip * m_rows, i_end = std::min(m, i_begin + m_rows);
    // With few rows of A each panel of B serves few tiles, so packing it costs more than
    // the strided reads it saves: whole panels of a B with contiguous rows are read where
    // they are and only a last, partial panel is packed (the micro-kernel reads whole
    // vectors). bench_conv, 1 thread: 1x1 192->32 at 28x28 86 -> 67 us, 144->24 at 56x56
    // 223 -> 185, 64->64 216 -> 195; with 256 or more rows it was 3-9% slower.
    const bool in_place = m <= kInPlaceRows && !b.pack && b.matrix.col_stride == 1 && b.matrix.row_stride > 0;
    const std::size_t direct = in_place ? nc / nr * nr : 0;
    for (std::size_t p0 = 0; p0 < k; p0 += kc_max) {
      const std::size_t kc = std::min(kc_max, k - p0);
      if (direct < nc) pack_b_block(b, nr, p0, kc, j0 + direct, nc - direct, bpack);
      const int acc = accumulate || p0 > 0;
      const bool last = p0 + kc == k;
      for (std::size_t i0 = i_begin; i0 < i_end; i0 += mc_max) {
        const std::size_t mc = std::min(mc_max, i_end - i0);
        // A packed block p0 starts at p0 * round_up(m, mr); its panel i0 / mr at i0 * kc.
        const float* ap = packed ? packed->panels.get() + p0 * round_up(m, mr) + i0 * kc : apack;
        if (!packed)
          simd::gemm_pack_a_f32(
              mr, mc, kc,
              a.data + static_cast<std::ptrdiff_t>(i0) * a.row_stride + static_cast<std::ptrdiff_t>(p0) * a.col_stride,
              a.row_stride, a.col_stride, apack);
        for (std::size_t ir = 0; ir < mc; ir += mr) {
          for (std::size_t jr = 0; jr < nc; jr += nr) {
            const bool here = jr < direct;
            const float* bp = here ? b.matrix.data + static_cast<std::ptrdiff_t>(p0) * b.matrix.row_stride + j0 + jr
                                   : bpack + ((jr - direct) / nr) * kc * nr;
            const std::size_t ldb = here ? static_cast<std::size_t>(b.matrix.row_stride) : nr;
            const std::size_t nv = std::min(nr, nc - jr);
            const std::size_t row = i0 + ir, col = j0 + jr;
            simd::GemmEpilogue e;
            if (ep && last) {
              e = *ep;
              if (e.scale) e.scale += row;
              if (e.shift) e.shift += row;
              if (e.residual) e.residual += row * e.ldr + col;
            }
            kt.gemm_ukernel_f32(kc, ap + (ir / mr) * kc * mr, bp, ldb, c + row * ldc + col, ldc, std::min(mr, mc - ir),
                                nv, acc, ep && last ? &e : nullptr);
          }
        }
      }
    }
  };
  if (pool && tasks > 1) {
    pool->parallel_tasks(tasks, task);
  } else {
    for (std::size_t t = 0; t < tasks; ++t) task(t, 0);
  }
}

// One row of A times B: the product is bound by reading B once, which the blocked GEMM would
// first pack whole for a single row of output. Each output element is summed by one thread
// in a fixed order, so the result does not depend on the thread count. False when B has
// neither contiguous rows nor contiguous columns.
bool gemv_row(const simd::KernelTable& kt, ThreadPool* pool, std::size_t n, std::size_t k, MatrixRef a, MatrixRef b,
              float* c, bool accumulate) {
  auto split = [&](std::size_t grain, auto&& fn) {
    if (pool)
      pool->parallel_for(n, grain, fn);
    else
      fn(std::size_t{0}, n);
  };
  const float* pa = a.data;
  const std::ptrdiff_t as = a.col_stride;
  if (b.col_stride == 1) {
    // Rows of B contiguous: c[j] += a[p] * B[p, j], p in order, over each thread's columns.
    split(256, [&](std::size_t j0, std::size_t j1) {
      if (!accumulate) std::fill(c + j0, c + j1, 0.0f);
      for (std::size_t p = 0; p < k; ++p) {
        const float av = pa[static_cast<std::ptrdiff_t>(p) * as];
        const float* br = b.data + static_cast<std::ptrdiff_t>(p) * b.row_stride;
        for (std::size_t j = j0; j < j1; ++j) c[j] += av * br[j];
      }
    });
    return true;
  }
  if (b.row_stride == 1) {
    // Columns of B contiguous: c[j] = dot(a, B[:, j]), each column summed in a fixed order.
    if (as == 1 && b.col_stride > 0) {
      split(16, [&](std::size_t j0, std::size_t j1) {
        kt.gemv_cols_f32(j1 - j0, k, pa, b.data + static_cast<std::ptrdiff_t>(j0) * b.col_stride,
                         static_cast<std::size_t>(b.col_stride), c + j0, accumulate);
      });
      return true;
    }
    split(8, [&](std::size_t j0, std::size_t j1) {
      for (std::size_t j = j0; j < j1; ++j) {
        const float* bc = b.data + static_cast<std::ptrdiff_t>(j) * b.col_stride;
        float sum = 0.0f;
        for (std::size_t p = 0; p < k; ++p) sum += pa[static_cast<std::ptrdiff_t>(p) * as] * bc[p];
        c[j] = accumulate ? c[j] + sum : sum;
      }
    });
    return true;
  }
  return false;
}

}  // namespace

void gemm_f32(const simd::KernelTable& kt, ThreadPool* pool, std::size_t m, std::size_t n, std::size_t k, MatrixRef a,
              const BSource& b, float* c, std::size_t ldc, bool accumulate, void* scratch,
              const simd::GemmEpilogue* ep) {
  if (m == 1 && !b.pack && !ep && gemv_row(kt, pool, n, k, a, b.matrix, c, accumulate)) return;
  gemm_impl(kt, pool, m, n, k, a, nullptr, b, c, ldc, accumulate, ep, scratch);
}

PackedA gemm_pack_a(const simd::KernelTable& kt, std::size_t m, std::size_t k, MatrixRef a) {
  PackedA p;
  p.m = m, p.k = k, p.mr = kt.gemm_mr;
  const std::size_t m_pad = round_up(m, p.mr);
  p.panels = alloc_packed(m_pad * k);
  const std::size_t kc = gemm_depth_block(k);
  for (std::size_t p0 = 0; p0 < k; p0 += kc)
    simd::gemm_pack_a_f32(p.mr, m, std::min(kc, k - p0), a.data + static_cast<std::ptrdiff_t>(p0) * a.col_stride,
                          a.row_stride, a.col_stride, p.panels.get() + p0 * m_pad);
  return p;
}

void gemm_f32_prepacked(const simd::KernelTable& kt, std::size_t n, std::size_t n_pad, const PackedA& a,
                        const float* bpanels, float* c, std::size_t ldc) {
  if (a.mr != kt.gemm_mr) fail(ErrorCode::internal, "weights packed for ", a.mr, " rows, kernel wants ", kt.gemm_mr);
  const std::size_t mr = a.mr, nr = kt.gemm_nr, m = a.m, k = a.k, kc_max = gemm_depth_block(k);
  const std::size_t m_pad = round_up(m, mr);
  for (std::size_t p0 = 0; p0 < k; p0 += kc_max) {
    const std::size_t kc = std::min(kc_max, k - p0);
    // Row tile outer, panels inner: the A micro-panel stays in L1 across the panels.
    for (std::size_t i0 = 0; i0 < m; i0 += mr) {
      const float* ap = a.panels.get() + p0 * m_pad + i0 * kc;
      for (std::size_t j0 = 0; j0 < n; j0 += nr)
        kt.gemm_ukernel_f32(kc, ap, bpanels + p0 * n_pad + j0 * kc, nr, c + i0 * ldc + j0, ldc, std::min(mr, m - i0),
                            std::min(nr, n - j0), p0 > 0, nullptr);
    }
  }
}

void gemm_f32_packed(const simd::KernelTable& kt, ThreadPool* pool, std::size_t n, const PackedA& a, const BSource& b,
                     float* c, std::size_t ldc, bool accumulate, void* scratch, const simd::GemmEpilogue* ep) {
  if (a.mr != kt.gemm_mr) fail(ErrorCode::internal, "weights packed for ", a.mr, " rows, kernel wants ", kt.gemm_mr);
  gemm_impl(kt, pool, a.m, n, a.k, MatrixRef{nullptr, 0, 0}, &a, b, c, ldc, accumulate, ep, scratch);
}

}  // namespace edgert
