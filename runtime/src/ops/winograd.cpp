#include "winograd.h"

#include <algorithm>

#include "../exec/thread_pool.h"

namespace edgert {
namespace {
constexpr std::int64_t kE = 16;  // elements of a transformed 4x4 tile

std::size_t align64(std::size_t bytes) { return (bytes + 63) / 64 * 64; }

}  // namespace

bool Winograd23::suits(std::int64_t cout, std::int64_t cin) {
  return cin >= 16 && cout >= 16 && cin * cout <= 256 * 256;
}

Winograd23::Winograd23(const simd::KernelTable& kt, const float* w, std::int64_t cout, std::int64_t cin) : kt_(kt) {
  // U = G g G^T with G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], laid out as 16 matrices.
  std::vector<float> u(static_cast<std::size_t>(kE * cout * cin));
  for (std::int64_t o = 0; o < cout; ++o)
    for (std::int64_t c = 0; c < cin; ++c) {
      const float* g = w + (o * cin + c) * 9;
      float gg[4][3];
      for (int j = 0; j < 3; ++j) {
        gg[0][j] = g[j];
        gg[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        gg[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        gg[3][j] = g[6 + j];
      }
      for (int i = 0; i < 4; ++i) {
        const float r[4] = {gg[i][0], 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]), 0.5f * (gg[i][0] - gg[i][1] + gg[i][2]),
                            gg[i][2]};
        for (int j = 0; j < 4; ++j) u[static_cast<std::size_t>(((i * 4 + j) * cout + o) * cin + c)] = r[j];
      }
    }
  u_.reserve(kE);
  for (std::int64_t e = 0; e < kE; ++e)
    u_.push_back(gemm_pack_a(kt, static_cast<std::size_t>(cout), static_cast<std::size_t>(cin),
                             MatrixRef{u.data() + e * cout * cin, cin, 1}));
}

std::int64_t Winograd23::tiles_per_chunk(const WinogradShape& s) {
  // Whole rows of tiles, about 4 MiB of transformed input and output at a time.
  const std::int64_t tw = (s.out_w + 1) / 2, th = (s.out_h + 1) / 2;
  const std::int64_t budget = (std::int64_t{1} << 20) / (kE * std::max(s.cin, s.cout));
  return std::clamp<std::int64_t>(budget / tw, 1, th) * tw;
}

namespace {
// Floats of one worker's row buffers: 4 padded input rows and their 4 column-transformed
// rows (each 2 * tw + 2 wide), or 8 rows of tw and 2 output rows of 2 * tw.
std::size_t row_floats(const WinogradShape& s) {
  const std::size_t tw = static_cast<std::size_t>((s.out_w + 1) / 2);
  return std::max(8 * (2 * tw + 2), 8 * tw + 4 * tw);
}
}  // namespace

std::size_t Winograd23::scratch_bytes(const WinogradShape& s, int threads) const {
  const std::size_t tc = static_cast<std::size_t>(tiles_per_chunk(s));
  const std::size_t workers = static_cast<std::size_t>(std::max(threads, 1));
  return align64(kE * static_cast<std::size_t>(s.cin) * tc * sizeof(float)) +
         align64(kE * static_cast<std::size_t>(s.cout) * tc * sizeof(float)) +
         workers * (align64(gemm_scratch_bytes(kt_, 1)) + align64(row_floats(s) * sizeof(float)));
}

void Winograd23::run(ThreadPool* pool, const WinogradShape& s, const float* x, const float* bias, float* y,
                     void* scratch) const {
  const std::int64_t tw = (s.out_w + 1) / 2, th = (s.out_h + 1) / 2;
  const std::int64_t tc = tiles_per_chunk(s), chunk_rows = tc / tw;
  char* base = static_cast<char*>(scratch);
  float* v = reinterpret_cast<float*>(base);
  base += align64(kE * static_cast<std::size_t>(s.cin * tc) * sizeof(float));
  float* m = reinterpret_cast<float*>(base);
  base += align64(kE * static_cast<std::size_t>(s.cout * tc) * sizeof(float));
  const std::size_t gemm_bytes = align64(gemm_scratch_bytes(kt_, 1));
  const std::size_t row_bytes = align64(row_floats(s) * sizeof(float));
  auto gemm_scratch = [&](std::size_t w) { return base + w * (gemm_bytes + row_bytes); };
  auto rows_of = [&](std::size_t w) { return reinterpret_cast<float*>(gemm_scratch(w) + gemm_bytes); };
  const std::int64_t plane = s.in_h * s.in_w, oplane = s.out_h * s.out_w, wp = 2 * tw + 2;

  for (std::int64_t ty0 = 0; ty0 < th; ty0 += chunk_rows) {
    const std::int64_t rows = std::min(chunk_rows, th - ty0), nt = rows * tw;
    // V[e][c][t] = (B^T d B)[e] for B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]: per tile
    // row, the column transform over whole padded rows, then the row transform per tile.
    pool->parallel_tasks(static_cast<std::size_t>(s.cin), [&](std::size_t ci, std::size_t worker) {
      const std::int64_t c = static_cast<std::int64_t>(ci);
      float* pad = rows_of(worker);  // 4 padded input rows
      float* t = pad + 4 * wp;       // 4 transformed rows
      const float* xc = x + c * plane;
      for (std::int64_t ty = ty0; ty < ty0 + rows; ++ty) {
        for (int i = 0; i < 4; ++i) {
          float* p = pad + i * wp;
          const std::int64_t iy = 2 * ty - s.pad_t + i;
          std::fill(p, p + wp, 0.0f);
          if (iy < 0 || iy >= s.in_h) continue;
          const std::int64_t lo = std::max<std::int64_t>(0, s.pad_l), hi = std::min(wp, s.pad_l + s.in_w);
          if (hi > lo) std::copy(xc + iy * s.in_w + (lo - s.pad_l), xc + iy * s.in_w + (hi - s.pad_l), p + lo);
        }
        const float *p0 = pad, *p1 = pad + wp, *p2 = pad + 2 * wp, *p3 = pad + 3 * wp;
        float *t0 = t, *t1 = t + wp, *t2 = t + 2 * wp, *t3 = t + 3 * wp;
        for (std::int64_t k = 0; k < wp; ++k) {
          t0[k] = p0[k] - p2[k];
          t1[k] = p1[k] + p2[k];
          t2[k] = p2[k] - p1[k];
          t3[k] = p1[k] - p3[k];
        }
        const std::int64_t col = (ty - ty0) * tw;
        for (int i = 0; i < 4; ++i) {
          const float* r = t + i * wp;
          float* v0 = v + ((4 * i + 0) * s.cin + c) * tc + col;
          float* v1 = v + ((4 * i + 1) * s.cin + c) * tc + col;
          float* v2 = v + ((4 * i + 2) * s.cin + c) * tc + col;
          float* v3 = v + ((4 * i + 3) * s.cin + c) * tc + col;
          for (std::int64_t tx = 0; tx < tw; ++tx) {
            const float a = r[2 * tx], b = r[2 * tx + 1], d = r[2 * tx + 2], e = r[2 * tx + 3];
            v0[tx] = a - d;
            v1[tx] = b + d;
            v2[tx] = d - b;
            v3[tx] = b - e;
          }
        }
      }
    });
    // M[e] = U[e] V[e]: 16 products, one per task, each summed by one thread in a fixed order.
    pool->parallel_tasks(static_cast<std::size_t>(kE), [&](std::size_t e, std::size_t worker) {
      gemm_f32_packed(kt_, nullptr, static_cast<std::size_t>(nt), u_[e],
                      MatrixRef{v + static_cast<std::int64_t>(e) * s.cin * tc, tc, 1},
                      m + static_cast<std::int64_t>(e) * s.cout * tc, static_cast<std::size_t>(tc), false,
                      gemm_scratch(worker));
    });
    // Y = A^T M A with A^T = [1 1 1 0; 0 1 -1 -1], plus the bias, per tile row: the column
    // transform over the row's tiles, then two output rows, cut to the map's width.
    pool->parallel_tasks(static_cast<std::size_t>(s.cout), [&](std::size_t oi, std::size_t worker) {
      const std::int64_t o = static_cast<std::int64_t>(oi);
      float* srow = rows_of(worker);  // s[i][j] rows of tw: i < 2, j < 4
      float* out = srow + 8 * tw;     // two output rows of 2 * tw
      const float b = bias ? bias[o] : 0.0f;
      for (std::int64_t ty = ty0; ty < ty0 + rows; ++ty) {
        const std::int64_t col = (ty - ty0) * tw;
        for (int j = 0; j < 4; ++j) {
          const float* m0 = m + ((0 + j) * s.cout + o) * tc + col;
          const float* m1 = m + ((4 + j) * s.cout + o) * tc + col;
          const float* m2 = m + ((8 + j) * s.cout + o) * tc + col;
          const float* m3 = m + ((12 + j) * s.cout + o) * tc + col;
          float* s0 = srow + j * tw;
          float* s1 = srow + (4 + j) * tw;
          for (std::int64_t tx = 0; tx < tw; ++tx) {
            s0[tx] = m0[tx] + m1[tx] + m2[tx];
            s1[tx] = m1[tx] - m2[tx] - m3[tx];
          }
        }
        for (int i = 0; i < 2; ++i) {
          const float *a0 = srow + 4 * i * tw, *a1 = a0 + tw, *a2 = a1 + tw, *a3 = a2 + tw;
          float* r = out + i * 2 * tw;
          for (std::int64_t tx = 0; tx < tw; ++tx) {
            r[2 * tx] = a0[tx] + a1[tx] + a2[tx] + b;
            r[2 * tx + 1] = a1[tx] - a2[tx] - a3[tx] + b;
          }
          const std::int64_t oy = 2 * ty + i;
          if (oy < s.out_h) std::copy(r, r + s.out_w, y + o * oplane + oy * s.out_w);
        }
      }
    });
  }
}

}  // namespace edgert
