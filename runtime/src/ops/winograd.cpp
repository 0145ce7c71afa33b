#include "winograd.h"

#include <algorithm>

#include "../exec/thread_pool.h"
#include "common.h"

namespace edgert {
namespace {
constexpr std::int64_t kE = 16;  // elements of a transformed 4x4 tile

// Input row iy (of a map of in_h x in_w pixels of `width` floats, from `map`) zero-padded
// to `wp` pixels: s.pad_l zero pixels, the row, zeros to the end; all zeros when iy is
// outside the map.
void pad_row(float* dst, const float* map, std::int64_t iy, const WinogradShape& s, std::int64_t wp,
             std::int64_t width) {
  const std::int64_t lo = std::clamp<std::int64_t>(s.pad_l, 0, wp);
  const std::int64_t hi = std::clamp<std::int64_t>(s.pad_l + s.in_w, lo, wp);
  if (iy < 0 || iy >= s.in_h || hi <= lo) {
    std::fill(dst, dst + wp * width, 0.0f);
    return;
  }
  std::fill(dst, dst + lo * width, 0.0f);
  const float* row = map + (iy * s.in_w + lo - s.pad_l) * width;
  std::copy(row, row + (hi - lo) * width, dst + lo * width);
  std::fill(dst + hi * width, dst + wp * width, 0.0f);
}
}  // namespace

bool Winograd23::suits(std::int64_t cout, std::int64_t cin) {
  return cin >= 16 && cout >= 16 && cin * cout <= 256 * 256;
}

bool Winograd23::stride1_3x3(const std::vector<std::int64_t>& w, std::int64_t group,
                             const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations) {
  auto ones = [](const std::vector<std::int64_t>& v) {
    return std::all_of(v.begin(), v.end(), [](std::int64_t e) { return e == 1; });
  };
  return group == 1 && w.size() == 4 && w[2] == 3 && w[3] == 3 && ones(strides) && ones(dilations);
}

bool Winograd23::suits_conv(const std::vector<std::int64_t>& w, std::int64_t group,
                            const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations) {
  return stride1_3x3(w, group, strides, dilations) && suits(w[0], w[1]);
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
      for (std::int64_t i = 0; i < 2 * rows + 2; ++i)
        pad_row(pad + i * wp, x + c * plane, 2 * ty0 - s.pad_t + i, s, wp, 1);
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

namespace edgert {
namespace {
constexpr std::int64_t kC = static_cast<std::int64_t>(simd::kChannelBlock);
}  // namespace

int WinogradNc16::tile_for(std::int64_t cout, std::int64_t cin, std::int64_t out_pixels) {
  if (out_pixels < 7 * 7 || cin < 16 || cout < 16) return 0;
  if (Winograd23::suits(cout, cin)) return 4;
  return cin * cout <= 512 * 512 ? 2 : 0;
}

WinogradNc16::WinogradNc16(const simd::KernelTable& kt, const float* w, std::int64_t cout, std::int64_t cin, int m)
    : kt_(kt),
      m_(m),
      e_((m + 2) * (m + 2)),
      cin16_(static_cast<std::int64_t>(round_up(static_cast<std::size_t>(cin), simd::kChannelBlock))),
      cout16_(static_cast<std::int64_t>(round_up(static_cast<std::size_t>(cout), simd::kChannelBlock))),
      input_(m == 4 ? kt.wino43_input_nc16_f32 : kt.wino23_input_nc16_f32),
      output_(m == 4 ? kt.wino43_output_nc16_f32 : kt.wino23_output_nc16_f32) {
  const std::size_t nr = kt.gemm_nr;
  panels_ = static_cast<std::int64_t>((static_cast<std::size_t>(cout16_) + nr - 1) / nr);
  // U = G g G^T (simd::wino_weights_f32) for W = 16 output channels and KB input channels at
  // a time: their kernels staged tap by tap (zeros past cin and cout), transformed into a
  // buffer whose matrices lie a cache line more than their size apart (the kernel writes
  // all of them per channel; U's own matrices, multiples of 4 KiB apart, would share the
  // L1's sets), then element e of (o, c) to row c, column o % nr of panel o / nr of matrix e
  // of U, a line of 16 floats per (e, c) (two half lines of two panels at nr = 8). Against
  // the scalar transform per output channel it replaces (Zen 3, load_model in a loop, the
  // minimum of 10 per round, three rounds alternating the builds): densenet121 48.3-50.1 ->
  // 44.3-45.1 ms, resnet50 92-102 -> 81-88 ms (the transform had been 30% of resnet50's
  // load under perf, 9% now beside the copy into U's fresh pages).
  constexpr std::size_t W = kC, KB = 32, stride = KB * W + 16;
  const std::size_t part = std::min(W, nr), r = static_cast<std::size_t>(m + 2), e = r * r;
  const std::size_t c16 = static_cast<std::size_t>(cin16_), ci = static_cast<std::size_t>(cin);
  const std::size_t co = static_cast<std::size_t>(cout), matrix = static_cast<std::size_t>(panels_) * c16 * nr;
  u_ = alloc_packed(e * matrix);
  std::vector<float> g(KB * 9 * W), u(e * stride);
  for (std::size_t o0 = 0; o0 < static_cast<std::size_t>(panels_) * nr; o0 += W)
    for (std::size_t c0 = 0; c0 < c16; c0 += KB) {
      const std::size_t kb = std::min(KB, c16 - c0);
      // Each output channel's kernels read in order (9 taps of kb channels in a row).
      for (std::size_t l = 0; l < W; ++l)
        for (std::size_t c = 0; c < kb; ++c) {
          const float* src = o0 + l < co && c0 + c < ci ? w + ((o0 + l) * ci + c0 + c) * 9 : nullptr;
          for (std::size_t t = 0; t < 9; ++t) g[(c * 9 + t) * W + l] = src ? src[t] : 0.0f;
        }
      kt.wino_weights_f32(m, kb, W, g.data(), u.data(), stride);
      // The lines out in loops of their own (std::copy_n of 8 or 16 floats was a memmove
      // call each).
      for (std::size_t i = 0; i < e; ++i)
        for (std::size_t c = 0; c < kb; ++c)
          for (std::size_t h = 0; h < W; h += part) {
            const std::size_t o = o0 + h;
            const float* src = u.data() + i * stride + c * W + h;
            float* dst = u_.get() + i * matrix + o / nr * c16 * nr + o % nr + (c0 + c) * nr;
            for (std::size_t l = 0; l < part; ++l) dst[l] = src[l];
          }
    }
}

WinogradNc16::Layout WinogradNc16::layout(const WinogradShape& s) const {
  Layout l;
  l.tw = (s.out_w + m_ - 1) / m_;
  l.th = (s.out_h + m_ - 1) / m_;
  l.wp = m_ * l.tw + 2;
  // Whole tile rows, about as many tiles as keep V and M of a chunk within 1 MiB (they are
  // written, read and written again while in L2), but at least four GEMM tiles.
  const std::int64_t mr = static_cast<std::int64_t>(kt_.gemm_mr);
  const std::int64_t per_tile = e_ * (cin16_ + cout16_) * 4;
  const std::int64_t target = std::max<std::int64_t>((std::int64_t{1} << 20) / per_tile, 4 * mr);
  l.chunk_rows = std::clamp<std::int64_t>(target / l.tw, 1, l.th);
  l.tcp = static_cast<std::int64_t>(round_up(static_cast<std::size_t>(l.chunk_rows * l.tw), kt_.gemm_mr));
  l.v_bytes = align64(static_cast<std::size_t>(e_ * cin16_ * l.tcp) * sizeof(float));
  l.m_bytes = align64(static_cast<std::size_t>(e_ * cout16_ * l.tcp) * sizeof(float));
  const std::size_t in_rows = static_cast<std::size_t>((m_ + 2) * l.wp * kC),
                    out_rows = static_cast<std::size_t>(m_ * m_ * l.tw * kC);
  l.row_bytes = align64(std::max(in_rows, out_rows) * sizeof(float));
  return l;
}

std::size_t WinogradNc16::scratch_bytes(const WinogradShape& s, int threads) const {
  const Layout l = layout(s);
  return align64(static_cast<std::size_t>(cout16_) * sizeof(float)) + l.v_bytes + l.m_bytes +
         static_cast<std::size_t>(std::max(threads, 1)) * l.row_bytes;
}

void WinogradNc16::run(ThreadPool* pool, const WinogradShape& s, const float* x, const float* bias,
                       const simd::ActParams& act, float* y, void* scratch) const {
  const Layout l = layout(s);
  const std::int64_t tw = l.tw, th = l.th, tcp = l.tcp, wp = l.wp;
  const std::int64_t mr = static_cast<std::int64_t>(kt_.gemm_mr), nr = static_cast<std::int64_t>(kt_.gemm_nr);
  const std::int64_t cb = cin16_ / kC, ob = cout16_ / kC;
  const std::int64_t plane = s.in_h * s.in_w, oplane = s.out_h * s.out_w;
  char* base = static_cast<char*>(scratch);
  const float* b16 = padded_bias(reinterpret_cast<float*>(base), bias, static_cast<std::size_t>(s.cout),
                                 static_cast<std::size_t>(cout16_));
  base += align64(static_cast<std::size_t>(cout16_) * sizeof(float));
  // V[e]: the chunk's transformed input, [block][tile][16]; M[e]: the products, likewise.
  float* v = reinterpret_cast<float*>(base);
  float* m = reinterpret_cast<float*>(base + l.v_bytes);
  base += l.v_bytes + l.m_bytes;
  auto rows_of = [&](std::size_t w) { return reinterpret_cast<float*>(base + w * l.row_bytes); };
  const std::size_t ev = static_cast<std::size_t>(cb * tcp * kC), em = static_cast<std::size_t>(ob * tcp * kC);
  constexpr std::int64_t kc = 128;  // rows of a B panel per part of the sum: the part stays in L1
  // A panel's part serves only the chunk's few tiles (16 on a 14x14 or 7x7 map), so U,
  // 4x (F(4x4)) or 16/9x (F(2x2)) the weights and cold from memory in a model (9.4 MiB a
  // layer at 14x14 x 256, 16.7 at 7x7 x 512), is read about as fast as it is summed. Each
  // part is prefetched twice: the next one while the first call's tiles run (the kernel's
  // prefetch) and the one after it while the partial last tile runs. Against the next
  // part alone (one thread, Zen 3, 30 pairs of runs in one process): resnet50's 14x14 and
  // 7x7 Winograd layers 8-12% faster, the whole model 2.2%; the next part in both calls,
  // or the one after it in both, 1-4% slower than this.
  const float* u_end = u_.get() + e_ * panels_ * cin16_ * nr;

  for (std::int64_t ty0 = 0; ty0 < th; ty0 += l.chunk_rows) {
    const std::int64_t rows = std::min(l.chunk_rows, th - ty0), nt = rows * tw;
    const std::int64_t nt_pad = static_cast<std::int64_t>(round_up(static_cast<std::size_t>(nt), kt_.gemm_mr));
    // Per input block and tile row: m + 2 zero-padded input rows, then their tiles into V.
    pool->parallel_tasks(static_cast<std::size_t>(cb * rows), [&](std::size_t task, std::size_t worker) {
      const std::int64_t c = static_cast<std::int64_t>(task) / rows, r = static_cast<std::int64_t>(task) % rows;
      float* pad = rows_of(worker);
      for (std::int64_t i = 0; i < m_ + 2; ++i)
        pad_row(pad + i * wp * kC, x + c * plane * kC, m_ * (ty0 + r) - s.pad_t + i, s, wp, kC);
      float* vr = v + (c * tcp + r * tw) * kC;
      input_(static_cast<std::size_t>(tw), pad, static_cast<std::size_t>(wp * kC), vr, ev);
      // The GEMM reads whole tiles of gemm_mr rows: the rows past the chunk's tiles are zero.
      if (r == rows - 1 && nt_pad > nt)
        for (std::int64_t e = 0; e < e_; ++e) {
          float* t0 = v + static_cast<std::size_t>(e) * ev + (c * tcp + nt) * kC;
          std::fill(t0, t0 + (nt_pad - nt) * kC, 0.0f);
        }
    });
    // M[e] = V[e] U[e] per panel of output channels, each element summed by one task in a
    // fixed order (whatever the thread count).
    pool->parallel_tasks(static_cast<std::size_t>(e_ * panels_), [&](std::size_t task, std::size_t) {
      const std::int64_t e = static_cast<std::int64_t>(task) / panels_, q = static_cast<std::int64_t>(task) % panels_;
      simd::PointwiseArgs a;
      a.a_stride = static_cast<std::size_t>(tcp * kC);
      a.a_blocked = 1;
      a.ldb = static_cast<std::size_t>(nr);
      a.y_stride = static_cast<std::size_t>(tcp * kC);
      a.lane0 = static_cast<std::size_t>(q * nr % kC);
      a.nr_valid = static_cast<std::size_t>(std::min(nr, cout16_ - q * nr));
      const float* ve = v + static_cast<std::size_t>(e) * ev;
      float* me = m + static_cast<std::size_t>(e) * em + (q * nr / kC) * tcp * kC;
      const float* ue = u_.get() + ((e * panels_ + q) * cin16_) * nr;
      for (std::int64_t k0 = 0; k0 < cin16_; k0 += kc) {
        a.k = static_cast<std::size_t>(std::min(kc, cin16_ - k0));
        a.accumulate = k0 > 0;
        a.finish = 1;
        a.b = ue + k0 * nr;
        // The whole tiles in one call, then the last, partial one.
        const std::int64_t whole = nt / mr * mr;
        a.a_tile_step = a.y_tile_step = static_cast<std::size_t>(mr * kC);
        // The next part of the weights (this panel's, or the next task's first: the matrices
        // lie one after another) and the one after it, while the whole tiles and the partial
        // last tile run (see u_end above); each only where the a.k rows the kernel asks for
        // lie inside U.
        const std::int64_t k_floats = static_cast<std::int64_t>(a.k) * nr, left = u_end - (a.b + k_floats);
        const float* next = left >= k_floats ? a.b + k_floats : nullptr;
        const float* after = left >= kc * nr + k_floats ? a.b + k_floats + kc * nr : nullptr;
        for (std::int64_t t0 = 0; t0 < nt; t0 += static_cast<std::int64_t>(a.tiles) * mr) {
          a.prefetch = t0 == 0 ? next : after;
          a.mr_valid = static_cast<std::size_t>(std::min(mr, nt - t0));
          a.tiles = static_cast<std::size_t>(t0 < whole ? (whole - t0) / mr : 1);
          a.a = ve + (k0 / kC * tcp + t0) * kC;
          a.y = me + t0 * kC;
          kt_.pointwise_nc16_f32(a);
        }
      }
    });
    // Y = A^T M A + bias, activated, per output block and tile row: m output rows,
    // written in place when they all exist and the width is whole tiles, else through the
    // worker's buffer cut to the map.
    pool->parallel_tasks(static_cast<std::size_t>(ob * rows), [&](std::size_t task, std::size_t worker) {
      const std::int64_t o = static_cast<std::int64_t>(task) / rows, r = static_cast<std::int64_t>(task) % rows;
      const std::int64_t oy = m_ * (ty0 + r);
      const bool direct = m_ * tw == s.out_w && oy + m_ <= s.out_h;
      float* yo = y + o * oplane * kC;
      float* dst = direct ? yo + oy * s.out_w * kC : rows_of(worker);
      const std::int64_t row = direct ? s.out_w * kC : m_ * tw * kC;
      output_(static_cast<std::size_t>(tw), m + (o * tcp + r * tw) * kC, em, b16 ? b16 + o * kC : nullptr, act, dst,
              static_cast<std::size_t>(row));
      if (direct) return;
      for (std::int64_t i = 0; i < m_ && oy + i < s.out_h; ++i)
        std::copy(dst + i * row, dst + i * row + s.out_w * kC, yo + (oy + i) * s.out_w * kC);
    });
  }
}

}  // namespace edgert
