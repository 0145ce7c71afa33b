#include "winograd.h"

#include <algorithm>

#include "../exec/thread_pool.h"
#include "common.h"

namespace edgert {
namespace {
constexpr std::int64_t kE = 16;  // elements of a transformed 4x4 tile
}  // namespace

bool Winograd23::suits(std::int64_t cout, std::int64_t cin) {
  return cin >= 16 && cout >= 16 && cin * cout <= 256 * 256;
}

bool Winograd23::suits_conv(const std::vector<std::int64_t>& w, std::int64_t group,
                            const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations) {
  auto ones = [](const std::vector<std::int64_t>& v) {
    return std::all_of(v.begin(), v.end(), [](std::int64_t e) { return e == 1; });
  };
  return group == 1 && w.size() == 4 && w[2] == 3 && w[3] == 3 && ones(strides) && ones(dilations) && suits(w[0], w[1]);
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

Winograd23::Layout Winograd23::layout(const WinogradShape& s) const {
  Layout l;
  l.tw = (s.out_w + 1) / 2;
  l.th = (s.out_h + 1) / 2;
  // Whole rows of about 128 tiles (bench_conv: 64 or 256 were slower on ResNet-50 and
  // DenseNet-121 shapes), fewer when the transformed chunk would pass 2 MiB: it has to be in
  // L2 still when the products read it.
  const std::int64_t target = std::min<std::int64_t>(128, (std::int64_t{1} << 19) / (kE * std::max(s.cin, s.cout)));
  l.chunk_rows = std::clamp<std::int64_t>(target / l.tw, 1, l.th);
  l.tc = l.chunk_rows * l.tw;
  l.tcp = static_cast<std::int64_t>(round_up(static_cast<std::size_t>(l.tc), kt_.gemm_nr));
  l.v_bytes = align64(static_cast<std::size_t>(kE * s.cin * l.tcp) * sizeof(float));
  l.m_bytes = align64(static_cast<std::size_t>(kE * s.cout * l.tc) * sizeof(float));
  // A chunk's padded input rows (2 * rows + 2 of 2 * tw + 2) and 16 transformed rows of tw,
  // or two output rows of 2 * tw.
  const std::size_t tw = static_cast<std::size_t>(l.tw);
  const std::size_t rows = static_cast<std::size_t>(2 * l.chunk_rows + 2) * (2 * tw + 2) + 16 * tw;
  l.row_bytes = align64(std::max(rows, 4 * tw) * sizeof(float));
  return l;
}

std::size_t Winograd23::scratch_bytes(const WinogradShape& s, int threads) const {
  const Layout l = layout(s);
  return l.v_bytes + l.m_bytes + static_cast<std::size_t>(std::max(threads, 1)) * l.row_bytes;
}

void Winograd23::run(ThreadPool* pool, const WinogradShape& s, const float* x, const float* bias, float* y,
                     void* scratch) const {
  const Layout l = layout(s);
  const std::int64_t tw = l.tw, th = l.th, tc = l.tc, tcp = l.tcp, chunk_rows = l.chunk_rows;
  const std::int64_t nr = static_cast<std::int64_t>(kt_.gemm_nr);
  const std::int64_t kc = static_cast<std::int64_t>(gemm_depth_block(static_cast<std::size_t>(s.cin)));
  char* base = static_cast<char*>(scratch);
  // V[e]: the transformed input of a chunk, cin x tiles, straight in the GEMM's B panels (see
  // gemm_f32_prepacked); M[e]: the products, cout x tiles.
  float* v = reinterpret_cast<float*>(base);
  float* m = reinterpret_cast<float*>(base + l.v_bytes);
  base += l.v_bytes + l.m_bytes;
  const std::size_t row_bytes = l.row_bytes;
  auto rows_of = [&](std::size_t w) { return reinterpret_cast<float*>(base + w * row_bytes); };
  const std::int64_t plane = s.in_h * s.in_w, oplane = s.out_h * s.out_w, wp = 2 * tw + 2;

  for (std::int64_t ty0 = 0; ty0 < th; ty0 += chunk_rows) {
    const std::int64_t rows = std::min(chunk_rows, th - ty0), nt = rows * tw;
    // Per channel: the chunk's padded input rows first (written whole before any is read,
    // so the transform's vector loads do not wait on the copies' stores), then per tile row
    // the 16 transformed rows, dealt out to the panels of V[e] (row c of its depth block,
    // tiles in runs of up to nr).
    pool->parallel_tasks(static_cast<std::size_t>(s.cin), [&](std::size_t ci, std::size_t worker) {
      const std::int64_t c = static_cast<std::int64_t>(ci);
      float* pad = rows_of(worker);
      float* trows = pad + (2 * rows + 2) * wp;
      float* tr[kE];
      for (std::int64_t e = 0; e < kE; ++e) tr[e] = trows + e * tw;
      const std::int64_t p0 = c / kc * kc, kcb = std::min(kc, s.cin - p0);
      auto panel_row = [&](std::int64_t e) { return v + (e * s.cin + p0) * tcp + (c - p0) * nr; };
      const float* xc = x + c * plane;
      const std::int64_t lo = std::max<std::int64_t>(0, s.pad_l), hi = std::min(wp, s.pad_l + s.in_w);
      for (std::int64_t i = 0; i < 2 * rows + 2; ++i) {
        float* p = pad + i * wp;
        const std::int64_t iy = 2 * ty0 - s.pad_t + i;
        if (iy < 0 || iy >= s.in_h || hi <= lo) {
          std::fill(p, p + wp, 0.0f);
          continue;
        }
        std::fill(p, p + lo, 0.0f);
        std::copy(xc + iy * s.in_w + (lo - s.pad_l), xc + iy * s.in_w + (hi - s.pad_l), p + lo);
        std::fill(p + hi, p + wp, 0.0f);
      }
      for (std::int64_t ty = ty0; ty < ty0 + rows; ++ty) {
        const float* p = pad + 2 * (ty - ty0) * wp;
        const float* prow[4] = {p, p + wp, p + 2 * wp, p + 3 * wp};
        kt_.wino23_input_f32(static_cast<std::size_t>(tw), prow, tr);
        // The row's tiles col .. col + tw - 1 in runs that stay inside one panel.
        const std::int64_t col = (ty - ty0) * tw;
        for (std::int64_t i = 0; i < tw;) {
          const std::int64_t t = col + i, off = t % nr, run = std::min(tw - i, nr - off);
          const std::int64_t at = t / nr * kcb * nr + off;
          for (std::int64_t e = 0; e < kE; ++e) {
            const float* src = tr[e] + i;
            float* dst = panel_row(e) + at;
            for (std::int64_t k = 0; k < run; ++k) dst[k] = src[k];
          }
          i += run;
        }
      }
      // Columns of the last panel past the chunk's tiles: zero, so the products are
      // computed from defined values (they are never stored).
      if (nt % nr)
        for (std::int64_t e = 0; e < kE; ++e) {
          float* last = panel_row(e) + nt / nr * kcb * nr;
          std::fill(last + nt % nr, last + nr, 0.0f);
        }
    });
    // M[e] = U[e] V[e]: 16 products, one per task, each summed by one thread in a fixed order.
    pool->parallel_tasks(static_cast<std::size_t>(kE), [&](std::size_t e, std::size_t) {
      gemm_f32_prepacked(kt_, static_cast<std::size_t>(nt), static_cast<std::size_t>(tcp), u_[e],
                         v + static_cast<std::int64_t>(e) * s.cin * tcp, m + static_cast<std::int64_t>(e) * s.cout * tc,
                         static_cast<std::size_t>(tc));
    });
    // Y = A^T M A plus the bias, per tile row: two output rows, written in place when the
    // map's width is even and both rows exist, else through a row buffer cut to the map.
    pool->parallel_tasks(static_cast<std::size_t>(s.cout), [&](std::size_t oi, std::size_t worker) {
      const std::int64_t o = static_cast<std::int64_t>(oi);
      float* buf = rows_of(worker);  // two output rows of 2 * tw
      const float b = bias ? bias[o] : 0.0f;
      float* yo = y + o * oplane;
      for (std::int64_t ty = ty0; ty < ty0 + rows; ++ty) {
        const std::int64_t col = (ty - ty0) * tw;
        const float* mr[kE];
        for (std::int64_t e = 0; e < kE; ++e) mr[e] = m + (e * s.cout + o) * tc + col;
        const std::int64_t oy = 2 * ty;
        const bool direct = 2 * tw == s.out_w && oy + 1 < s.out_h;
        float* r0 = direct ? yo + oy * s.out_w : buf;
        float* r1 = direct ? r0 + s.out_w : buf + 2 * tw;
        kt_.wino23_output_f32(static_cast<std::size_t>(tw), mr, b, r0, r1);
        if (direct) continue;
        for (std::int64_t i = 0; i < 2 && oy + i < s.out_h; ++i)
          std::copy(buf + i * 2 * tw, buf + i * 2 * tw + s.out_w, yo + (oy + i) * s.out_w);
      }
    });
  }
}

}  // namespace edgert
