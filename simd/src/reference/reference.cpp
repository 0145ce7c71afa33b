// Scalar oracles: the plainest correct form of every kernel, also the scalar tier.
#include <algorithm>
#include <cmath>
#include <limits>

#include "edgert/simd/kernels.h"

namespace edgert::simd::reference {

void affine_nchw_f32(std::size_t batch, std::size_t channels, std::size_t plane, const float* x, float* y,
                     const float* scale, const float* shift) {
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (n * channels + c) * plane;
      for (std::size_t i = 0; i < plane; ++i) y[base + i] = x[base + i] * scale[c] + shift[c];
    }
}

void gemm_ukernel_f32(std::size_t k, const float* apack, const float* bpack, std::size_t ldb, float* c, std::size_t ldc,
                      std::size_t mr_valid, std::size_t nr_valid, int accumulate, const GemmEpilogue* ep) {
  float acc[kGemmMr][kGemmNr] = {};
  for (std::size_t p = 0; p < k; ++p)
    for (std::size_t i = 0; i < kGemmMr; ++i)
      for (std::size_t j = 0; j < kGemmNr; ++j) acc[i][j] += apack[p * kGemmMr + i] * bpack[p * ldb + j];
  for (std::size_t i = 0; i < mr_valid; ++i)
    for (std::size_t j = 0; j < nr_valid; ++j) {
      float v = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
      c[i * ldc + j] = ep ? apply_epilogue(v, *ep, i, j) : v;
    }
}

float apply_epilogue(float v, const GemmEpilogue& ep, std::size_t i, std::size_t j) {
  v = v * (ep.scale ? ep.scale[i] : 1.0f) + (ep.shift ? ep.shift[i] : 0.0f);
  const float* r = ep.residual ? ep.residual + i * ep.ldr + j : nullptr;
  if (r && ep.residual_first) v += *r;
  v = apply_act(v, ep.act);
  if (r && !ep.residual_first) v += *r;
  return v;
}

float apply_act(float v, const ActParams& act) {
  switch (act.kind) {
    case Act::none:
      return v;
    case Act::relu:
      return v < 0.0f ? 0.0f : v;
    case Act::clip: {
      const float lo = v < act.alpha ? act.alpha : v;
      return lo > act.beta ? act.beta : lo;
    }
    case Act::leaky_relu:
      return v < 0.0f ? v * act.alpha : v;
    case Act::hard_sigmoid: {
      const float t = act.alpha * v + act.beta;
      const float lo = t < 0.0f ? 0.0f : t;
      return lo > 1.0f ? 1.0f : lo;
    }
    case Act::hard_swish: {
      const float t = v * (1.0f / 6.0f) + 0.5f;
      const float lo = t < 0.0f ? 0.0f : t;
      return v * (lo > 1.0f ? 1.0f : lo);
    }
    case Act::sigmoid:
      return 1.0f / (1.0f + std::exp(-v));
    case Act::silu:
      return v / (1.0f + std::exp(-v));
  }
  return v;
}

void affine_act_nchw_f32(std::size_t batch, std::size_t channels, std::size_t plane, const float* x,
                         const float* residual, float* y, const float* scale, const float* shift, const ActParams& act,
                         int residual_first) {
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (n * channels + c) * plane;
      for (std::size_t i = 0; i < plane; ++i) {
        float v = x[base + i] * scale[c] + shift[c];
        if (residual && residual_first) v += residual[base + i];
        v = apply_act(v, act);
        if (residual && !residual_first) v += residual[base + i];
        y[base + i] = v;
      }
    }
}

float apply_unary(Unary f, float v, float alpha, float beta) {
  switch (f) {
    case Unary::relu:
      return apply_act(v, {Act::relu, alpha, beta});
    case Unary::leaky_relu:
      return apply_act(v, {Act::leaky_relu, alpha, beta});
    case Unary::clip:
      return apply_act(v, {Act::clip, alpha, beta});
    case Unary::hard_sigmoid:
      return apply_act(v, {Act::hard_sigmoid, alpha, beta});
    case Unary::hard_swish:
      return apply_act(v, {Act::hard_swish, alpha, beta});
    case Unary::sigmoid:
      return 1.0f / (1.0f + std::exp(-v));
    case Unary::tanh:
      return std::tanh(v);
    case Unary::exp:
      return std::exp(v);
    case Unary::neg:
      return -v;
    case Unary::abs:
      return std::fabs(v);
    case Unary::sqrt:
      return std::sqrt(v);
  }
  return v;
}

float apply_binary(Binary op, float a, float b) {
  switch (op) {
    case Binary::add:
      return a + b;
    case Binary::sub:
      return a - b;
    case Binary::mul:
      return a * b;
    case Binary::div:
      return a / b;
    case Binary::max:
      return (a != a || b != b) ? (a != a ? a : b) : (a < b ? b : a);
    case Binary::min:
      return (a != a || b != b) ? (a != a ? a : b) : (b < a ? b : a);
  }
  return a;
}

void unary_f32(Unary f, std::size_t n, const float* x, float* y, float alpha, float beta) {
  for (std::size_t i = 0; i < n; ++i) y[i] = apply_unary(f, x[i], alpha, beta);
}

void binary_f32(Binary op, std::size_t n, const float* a, std::size_t sa, const float* b, std::size_t sb, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = apply_binary(op, a[i * sa], b[i * sb]);
}

void softmax_row_f32(std::size_t n, const float* x, float* y, int log) {
  float m = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - m);
  for (std::size_t i = 0; i < n; ++i)
    y[i] = log ? static_cast<float>(x[i] - m - std::log(sum))
               : static_cast<float>(std::exp(static_cast<double>(x[i]) - m) / sum);
}

float reduce_row_f32(Reduce op, std::size_t n, const float* x) {
  double acc = op == Reduce::sum ? 0.0 : x[0];
  for (std::size_t i = 0; i < n; ++i) {
    if (op == Reduce::sum) acc += x[i];
    if (op == Reduce::max) acc = (x[i] > acc || x[i] != x[i]) ? x[i] : acc;
    if (op == Reduce::min) acc = (x[i] < acc || x[i] != x[i]) ? x[i] : acc;
  }
  return static_cast<float>(acc);
}

void pool_row_f32(int max, std::size_t n, const float* const* rows, std::size_t nrows, std::size_t kw, std::size_t sx,
                  std::size_t dx, float div, float* y) {
  for (std::size_t i = 0; i < n; ++i) {
    float acc = max ? -std::numeric_limits<float>::infinity() : 0.0f;
    for (std::size_t r = 0; r < nrows; ++r)
      for (std::size_t t = 0; t < kw; ++t) {
        const float v = rows[r][i * sx + t * dx];
        acc = max ? (v > acc ? v : acc) : acc + v;
      }
    y[i] = !max && div != 0.0f ? acc / div : acc;
  }
}

void gemv_cols_f32(std::size_t n, std::size_t k, const float* a, const float* b, std::size_t ldb, float* c,
                   int accumulate) {
  for (std::size_t j = 0; j < n; ++j) {
    double acc = 0.0;
    for (std::size_t p = 0; p < k; ++p) acc += static_cast<double>(a[p]) * b[j * ldb + p];
    c[j] = static_cast<float>(accumulate ? c[j] + acc : acc);
  }
}

void dw3x3_row_f32(std::size_t n, const float* r0, const float* r1, const float* r2, const float* w, float* y) {
  const float* rows[3] = {r0, r1, r2};
  for (std::size_t i = 0; i < n; ++i) {
    float acc = 0.0f;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) acc += w[3 * r + c] * rows[r][i + static_cast<std::size_t>(c)];
    y[i] = acc;
  }
}

void dw3x3s2_row_f32(std::size_t n, const float* const* a, const float* const* b, const float* w, float* y) {
  for (std::size_t i = 0; i < n; ++i) {
    float acc = 0.0f;
    for (int r = 0; r < 3; ++r) {
      acc += w[3 * r] * a[r][i];
      acc += w[3 * r + 1] * b[r][i];
      acc += w[3 * r + 2] * a[r][i + 1];
    }
    y[i] = acc;
  }
}

void nc16_pack_f32(std::size_t n, const float* src, std::size_t ld, std::size_t nc, float* dst) {
  for (std::size_t p = 0; p < n; ++p)
    for (std::size_t c = 0; c < kChannelBlock; ++c) dst[p * kChannelBlock + c] = c < nc ? src[c * ld + p] : 0.0f;
}

void nc16_unpack_f32(std::size_t n, const float* src, std::size_t nc, float* dst, std::size_t ld) {
  for (std::size_t p = 0; p < n; ++p)
    for (std::size_t c = 0; c < nc; ++c) dst[c * ld + p] = src[p * kChannelBlock + c];
}

void dwc_f32(const DwcArgs& args) {
  constexpr std::size_t C = kChannelBlock;
  DwcArgs a = args;
  a.nrows = 1;
  if (args.nrows > 1) {
    for (std::size_t r = 0; r < args.nrows; ++r) {
      a.rows = args.rows + r * args.kh;
      a.y = args.y + r * args.y_row;
      dwc_f32(a);
    }
    return;
  }
  for (std::size_t o = 0; o < a.ow; ++o)
    for (std::size_t c = 0; c < C; ++c) {
      float acc = a.bias[c];
      for (std::size_t ky = 0; ky < a.kh; ++ky)
        for (std::size_t kx = 0; kx < a.kw; ++kx) {
          const std::size_t at = o * a.sx + kx * a.dx;  // ix + pl
          if (a.rows[ky] && at >= a.pl && at - a.pl < a.iw)
            acc += a.w[(ky * a.kw + kx) * C + c] * a.rows[ky][(at - a.pl) * C + c];
        }
      a.y[o * C + c] = apply_act(acc, a.act);
    }
}

void pool_nc16_f32(const PoolNc16Args& a) {
  constexpr std::size_t C = kChannelBlock;
  for (std::size_t o = 0; o < a.n; ++o)
    for (std::size_t c = 0; c < C; ++c) {
      float acc = a.max ? -std::numeric_limits<float>::infinity() : 0.0f;
      for (std::size_t r = 0; r < a.nrows; ++r)
        for (std::size_t t = a.lo[o]; t < a.hi[o]; ++t) {
          const float v = a.rows[r][(o * a.sx + t * a.dx - a.pl) * C + c];
          acc = a.max ? (v > acc ? v : acc) : acc + v;
        }
      a.y[o * C + c] = a.max ? acc : acc / std::max(1.0f, a.rdiv * a.cdiv[o]);
    }
}

namespace {
// One tile of pointwise_nc16_f32 (a.tiles is not read).
void pointwise_tile(const PointwiseArgs& a) {
  constexpr std::size_t C = kChannelBlock;
  for (std::size_t i = 0; i < a.mr_valid; ++i)
    for (std::size_t j = 0; j < a.nr_valid; ++j) {
      const std::size_t at = (a.lane0 + j) / C * a.y_stride + i * C + (a.lane0 + j) % C;
      float acc = a.accumulate ? a.y[at] : 0.0f;
      for (std::size_t p = 0; p < a.k; ++p) {
        const float x = a.a_offsets   ? a.a[a.a_offsets[p] + i * a.a_step]
                        : a.a_blocked ? a.a[p / C * a.a_stride + i * C + p % C]
                                      : a.a[p * a.a_stride + i];
        acc += x * a.b[p * a.ldb + j];
      }
      if (!a.finish) {
        a.y[at] = acc;
        continue;
      }
      float v = acc + (a.bias ? a.bias[j] : 0.0f);
      if (a.residual && a.residual_first) v += a.residual[at];
      v = apply_act(v, a.act);
      if (a.residual && !a.residual_first) v += a.residual[at];
      a.y[at] = v;
    }
  for (std::size_t i = 0; i < (a.finish ? a.mr_valid : 0); ++i)
    for (std::size_t j = a.nr_valid; j < a.nr_valid + a.nr_zero; ++j)
      a.y[(a.lane0 + j) / C * a.y_stride + i * C + (a.lane0 + j) % C] = 0.0f;
}
}  // namespace

void pointwise_nc16_f32(const PointwiseArgs& a) {
  PointwiseArgs t = a;
  for (std::size_t n = 0; n < std::max<std::size_t>(a.tiles, 1); ++n) {
    pointwise_tile(t);
    t.a += a.a_tile_step;
    t.y += a.y_tile_step;
    if (t.residual) t.residual += a.y_tile_step;
  }
}

void strided_copy_f32(std::size_t n, const float* src, std::size_t stride, float* dst) {
  for (std::size_t t = 0; t < n; ++t) dst[t] = src[t * stride];
}

void wino23_input_f32(std::size_t n, const float* const* p, float* const* v) {
  for (std::size_t t = 0; t < n; ++t) {
    float r[4][4];  // rows combined, columns 2t .. 2t + 3
    for (std::size_t k = 0; k < 4; ++k) {
      const std::size_t c = 2 * t + k;
      r[0][k] = p[0][c] - p[2][c];
      r[1][k] = p[1][c] + p[2][c];
      r[2][k] = p[2][c] - p[1][c];
      r[3][k] = p[1][c] - p[3][c];
    }
    for (std::size_t i = 0; i < 4; ++i) {
      v[4 * i + 0][t] = r[i][0] - r[i][2];
      v[4 * i + 1][t] = r[i][1] + r[i][2];
      v[4 * i + 2][t] = r[i][2] - r[i][1];
      v[4 * i + 3][t] = r[i][1] - r[i][3];
    }
  }
}

void wino23_output_f32(std::size_t n, const float* const* m, float bias, float* y0, float* y1) {
  for (std::size_t t = 0; t < n; ++t) {
    float s[2][4];
    for (std::size_t j = 0; j < 4; ++j) {
      s[0][j] = m[j][t] + m[4 + j][t] + m[8 + j][t];
      s[1][j] = m[4 + j][t] - m[8 + j][t] - m[12 + j][t];
    }
    float* y[2] = {y0, y1};
    for (std::size_t i = 0; i < 2; ++i) {
      y[i][2 * t] = s[i][0] + s[i][1] + s[i][2] + bias;
      y[i][2 * t + 1] = s[i][1] - s[i][2] - s[i][3] + bias;
    }
  }
}

namespace {
// F(4x4, 3x3): one column of six input values times B^T, six product values times A^T.
void wino43_bt(const float* d, std::size_t step, float* t) {
  const float d0 = d[0], d1 = d[step], d2 = d[2 * step], d3 = d[3 * step], d4 = d[4 * step], d5 = d[5 * step];
  t[0] = 4.0f * d0 - 5.0f * d2 + d4;
  t[1] = (d3 + d4) - 4.0f * (d1 + d2);
  t[2] = (d4 - d3) + 4.0f * (d1 - d2);
  t[3] = (d4 - d2) + 2.0f * (d3 - d1);
  t[4] = (d4 - d2) - 2.0f * (d3 - d1);
  t[5] = 4.0f * d1 - 5.0f * d3 + d5;
}
void wino43_at(const float* m, std::size_t step, float* y) {
  const float a = m[step] + m[2 * step], b = m[step] - m[2 * step];
  const float c = m[3 * step] + m[4 * step], d = m[3 * step] - m[4 * step];
  y[0] = m[0] + a + c;
  y[1] = b + 2.0f * d;
  y[2] = a + 4.0f * c;
  y[3] = b + 8.0f * d + m[5 * step];
}

// F(M x M, 3x3) on blocks, tiles of R = M + 2: the input and output transforms of one row of
// n tiles, bt and at taking R values `step` floats apart.
template <std::size_t M, class Bt>
void input_nc16(std::size_t n, const float* p, std::size_t row, float* v, std::size_t ev, Bt bt) {
  constexpr std::size_t C = kChannelBlock, R = M + 2;
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t c = 0; c < C; ++c) {
      float d[R][R], r[R][R], o[R];
      for (std::size_t i = 0; i < R; ++i)
        for (std::size_t j = 0; j < R; ++j) d[i][j] = p[i * row + (M * t + j) * C + c];
      for (std::size_t j = 0; j < R; ++j) {
        bt(&d[0][j], R, o);
        for (std::size_t k = 0; k < R; ++k) r[k][j] = o[k];
      }
      for (std::size_t k = 0; k < R; ++k) {
        bt(r[k], 1, o);
        for (std::size_t j = 0; j < R; ++j) v[(R * k + j) * ev + t * C + c] = o[j];
      }
    }
}

template <std::size_t M, class At>
void output_nc16(std::size_t n, const float* m, std::size_t em, const float* bias, const ActParams& act, float* y,
                 std::size_t row, At at) {
  constexpr std::size_t C = kChannelBlock, R = M + 2;
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t c = 0; c < C; ++c) {
      float mm[R * R], s[M][R], o[M];
      for (std::size_t e = 0; e < R * R; ++e) mm[e] = m[e * em + t * C + c];
      for (std::size_t j = 0; j < R; ++j) {
        at(mm + j, R, o);
        for (std::size_t i = 0; i < M; ++i) s[i][j] = o[i];
      }
      for (std::size_t i = 0; i < M; ++i) {
        at(s[i], 1, o);
        for (std::size_t j = 0; j < M; ++j)
          y[i * row + (M * t + j) * C + c] = apply_act(o[j] + (bias ? bias[c] : 0.0f), act);
      }
    }
}

// F(2x2, 3x3): four input values times B^T, four product values times A^T.
void wino23_bt(const float* d, std::size_t step, float* t) {
  t[0] = d[0] - d[2 * step];
  t[1] = d[step] + d[2 * step];
  t[2] = d[2 * step] - d[step];
  t[3] = d[step] - d[3 * step];
}
void wino23_at(const float* v, std::size_t step, float* o) {
  o[0] = v[0] + v[step] + v[2 * step];
  o[1] = v[step] - v[2 * step] - v[3 * step];
}
}  // namespace

void wino43_input_nc16_f32(std::size_t n, const float* p, std::size_t row, float* v, std::size_t ev) {
  input_nc16<4>(n, p, row, v, ev, wino43_bt);
}

void wino43_output_nc16_f32(std::size_t n, const float* m, std::size_t em, const float* bias, const ActParams& act,
                            float* y, std::size_t row) {
  output_nc16<4>(n, m, em, bias, act, y, row, wino43_at);
}

void wino23_input_nc16_f32(std::size_t n, const float* p, std::size_t row, float* v, std::size_t ev) {
  input_nc16<2>(n, p, row, v, ev, wino23_bt);
}

void wino23_output_nc16_f32(std::size_t n, const float* m, std::size_t em, const float* bias, const ActParams& act,
                            float* y, std::size_t row) {
  output_nc16<2>(n, m, em, bias, act, y, row, wino23_at);
}

namespace {
// G (m = 4 or 2) applied to (a, b, c) as wino_weights_f32 documents: t[0 .. m + 2).
void wino_g(int m, float a, float b, float c, float* t) {
  const float s = a + c;
  if (m == 4) {
    const float p = a * (1.0f / 24) + c * (1.0f / 6), q = b * (1.0f / 12);
    t[0] = a * 0.25f;
    t[1] = (s + b) * (-1.0f / 6);
    t[2] = (s - b) * (-1.0f / 6);
    t[3] = p + q;
    t[4] = p - q;
    t[5] = c;
  } else {
    t[0] = a;
    t[1] = (s + b) * 0.5f;
    t[2] = (s - b) * 0.5f;
    t[3] = c;
  }
}
}  // namespace

void wino_weights_f32(int m, std::size_t k, std::size_t n, const float* g, float* u, std::size_t u_matrix) {
  const std::size_t r = static_cast<std::size_t>(m) + 2;
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t l = 0; l < n; ++l) {
      const float* gc = g + c * 9 * n + l;
      float h[3][6], t[6];  // h[x]: column x of G g
      for (std::size_t x = 0; x < 3; ++x) wino_g(m, gc[x * n], gc[(3 + x) * n], gc[(6 + x) * n], h[x]);
      for (std::size_t i = 0; i < r; ++i) {
        wino_g(m, h[0][i], h[1][i], h[2][i], t);
        for (std::size_t j = 0; j < r; ++j) u[(i * r + j) * u_matrix + c * n + l] = t[j] + 0.0f;
      }
    }
}

}  // namespace edgert::simd::reference
