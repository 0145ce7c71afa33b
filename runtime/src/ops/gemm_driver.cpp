#include "gemm_driver.h"

#include <algorithm>

#include "../exec/thread_pool.h"
#include "edgert/error.h"

namespace edgert {
namespace {
constexpr std::size_t kKc = 256;  // depth of a packed block
constexpr std::size_t kMc = 96;   // rows of A per packed block (a multiple of every mr)
constexpr std::size_t kNc = 512;  // columns of B per packed block (a multiple of every nr)

std::size_t per_thread_floats(const simd::KernelTable& kt) {
  const std::size_t mc = (kMc + kt.gemm_mr - 1) / kt.gemm_mr * kt.gemm_mr;
  const std::size_t nc = (kNc + kt.gemm_nr - 1) / kt.gemm_nr * kt.gemm_nr;
  return kKc * (mc + nc) + 16;
}
}  // namespace

std::size_t gemm_scratch_bytes(const simd::KernelTable& kt, int threads) {
  return per_thread_floats(kt) * sizeof(float) * static_cast<std::size_t>(std::max(threads, 1));
}

namespace {
std::size_t round_up(std::size_t v, std::size_t to) { return (v + to - 1) / to * to; }

// A is either a strided matrix packed per block here (`packed` null) or packed at load.
void gemm_impl(const simd::KernelTable& kt, ThreadPool* pool, std::size_t m, std::size_t n, std::size_t k, MatrixRef a,
               const PackedA* packed, MatrixRef b, float* c, std::size_t ldc, bool accumulate, void* scratch) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (std::size_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  const std::size_t mr = kt.gemm_mr, nr = kt.gemm_nr;
  const std::size_t mc_max = (kMc + mr - 1) / mr * mr;
  const std::size_t n_blocks = (n + kNc - 1) / kNc;
  const std::size_t threads = static_cast<std::size_t>(pool ? pool->size() : 1);
  // Split M as well when there are fewer column blocks than threads.
  std::size_t m_parts = 1;
  if (n_blocks < threads) m_parts = std::min((m + mr - 1) / mr, threads);
  const std::size_t m_rows = ((m + m_parts - 1) / m_parts + mr - 1) / mr * mr;
  m_parts = (m + m_rows - 1) / m_rows;
  const std::size_t tasks = n_blocks * m_parts;
  const std::size_t stride = per_thread_floats(kt);

  auto task = [&](std::size_t t, std::size_t worker) {
    float* bpack = static_cast<float*>(scratch) + worker * stride;
    float* apack = bpack + kKc * ((kNc + nr - 1) / nr * nr);
    const std::size_t jb = t / m_parts, ip = t % m_parts;
    const std::size_t j0 = jb * kNc, nc = std::min(kNc, n - j0);
    const std::size_t i_begin = ip * m_rows, i_end = std::min(m, i_begin + m_rows);
    for (std::size_t p0 = 0; p0 < k; p0 += kKc) {
      const std::size_t kc = std::min(kKc, k - p0);
      simd::gemm_pack_b_f32(
          nr, kc, nc,
          b.data + static_cast<std::ptrdiff_t>(p0) * b.row_stride + static_cast<std::ptrdiff_t>(j0) * b.col_stride,
          b.row_stride, b.col_stride, bpack);
      const int acc = accumulate || p0 > 0;
      for (std::size_t i0 = i_begin; i0 < i_end; i0 += mc_max) {
        const std::size_t mc = std::min(mc_max, i_end - i0);
        // A packed block p0 starts at p0 * round_up(m, mr); its panel i0 / mr at i0 * kc.
        const float* ap = packed ? packed->panels.get() + p0 * round_up(m, mr) + i0 * kc : apack;
        if (!packed)
          simd::gemm_pack_a_f32(
              mr, mc, kc,
              a.data + static_cast<std::ptrdiff_t>(i0) * a.row_stride + static_cast<std::ptrdiff_t>(p0) * a.col_stride,
              a.row_stride, a.col_stride, apack);
        for (std::size_t jr = 0; jr < nc; jr += nr) {
          const float* bp = bpack + (jr / nr) * kc * nr;
          const std::size_t nv = std::min(nr, nc - jr);
          for (std::size_t ir = 0; ir < mc; ir += mr) {
            kt.gemm_ukernel_f32(kc, ap + (ir / mr) * kc * mr, bp, c + (i0 + ir) * ldc + j0 + jr, ldc,
                                std::min(mr, mc - ir), nv, acc);
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
bool gemv_row(ThreadPool* pool, std::size_t n, std::size_t k, MatrixRef a, MatrixRef b, float* c, bool accumulate) {
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
    // Columns of B contiguous: c[j] = dot(a, B[:, j]) with eight partial sums, added in a
    // fixed order.
    split(8, [&](std::size_t j0, std::size_t j1) {
      for (std::size_t j = j0; j < j1; ++j) {
        const float* bc = b.data + static_cast<std::ptrdiff_t>(j) * b.col_stride;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        std::size_t p = 0;
        if (as == 1) {
          for (; p + 8 <= k; p += 8)
            for (std::size_t l = 0; l < 8; ++l) acc[l] += pa[p + l] * bc[p + l];
        }
        for (; p < k; ++p) acc[p % 8] += pa[static_cast<std::ptrdiff_t>(p) * as] * bc[p];
        const float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        c[j] = accumulate ? c[j] + sum : sum;
      }
    });
    return true;
  }
  return false;
}

}  // namespace

void gemm_f32(const simd::KernelTable& kt, ThreadPool* pool, std::size_t m, std::size_t n, std::size_t k, MatrixRef a,
              MatrixRef b, float* c, std::size_t ldc, bool accumulate, void* scratch) {
  if (m == 1 && gemv_row(pool, n, k, a, b, c, accumulate)) return;
  gemm_impl(kt, pool, m, n, k, a, nullptr, b, c, ldc, accumulate, scratch);
}

PackedA gemm_pack_a(const simd::KernelTable& kt, std::size_t m, std::size_t k, MatrixRef a) {
  PackedA p;
  p.m = m, p.k = k, p.mr = kt.gemm_mr;
  const std::size_t m_pad = round_up(m, p.mr);
  p.panels.reset(new float[m_pad * k]);
  for (std::size_t p0 = 0; p0 < k; p0 += kKc)
    simd::gemm_pack_a_f32(p.mr, m, std::min(kKc, k - p0), a.data + static_cast<std::ptrdiff_t>(p0) * a.col_stride,
                          a.row_stride, a.col_stride, p.panels.get() + p0 * m_pad);
  return p;
}

void gemm_f32_packed(const simd::KernelTable& kt, ThreadPool* pool, std::size_t n, const PackedA& a, MatrixRef b,
                     float* c, std::size_t ldc, bool accumulate, void* scratch) {
  if (a.mr != kt.gemm_mr) fail(ErrorCode::internal, "weights packed for ", a.mr, " rows, kernel wants ", kt.gemm_mr);
  gemm_impl(kt, pool, a.m, n, a.k, MatrixRef{nullptr, 0, 0}, &a, b, c, ldc, accumulate, scratch);
}

}  // namespace edgert
