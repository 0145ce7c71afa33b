// Every kernel of every compiled and supported ISA tier against its scalar reference.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "edgert/simd/kernels.h"

namespace {

using edgert::simd::Act;
using edgert::simd::Isa;
using edgert::simd::KernelTable;

// A float buffer whose last element ends right at an inaccessible page: reading past the
// end faults.
class GuardBuffer {
 public:
  explicit GuardBuffer(std::size_t n) : n_(n) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = (n * sizeof(float) + page - 1) / page * page;
    total_ = bytes + page;
    base_ = static_cast<char*>(mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(base_ + bytes, page, PROT_NONE);
    data_ = reinterpret_cast<float*>(base_ + bytes - n * sizeof(float));
  }
  GuardBuffer(GuardBuffer&& o) noexcept : n_(o.n_), total_(o.total_), base_(o.base_), data_(o.data_) {
    o.base_ = nullptr;
  }
  GuardBuffer(const GuardBuffer&) = delete;
  GuardBuffer& operator=(const GuardBuffer&) = delete;
  GuardBuffer& operator=(GuardBuffer&&) = delete;
  ~GuardBuffer() {
    if (base_) munmap(base_, total_);
  }
  float* data() { return data_; }
  std::size_t size() const { return n_; }

 private:
  std::size_t n_, total_;
  char* base_;
  float* data_;
};

const Isa kAll[] = {Isa::scalar, Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon};

class Kernels : public ::testing::TestWithParam<Isa> {
 protected:
  const KernelTable* table() {
    const KernelTable* t = edgert::simd::kernels_for(GetParam());
    if (!t) return nullptr;
    return t;
  }
};

#define REQUIRE_TABLE(t)          \
  const KernelTable* t = table(); \
  if (!t) GTEST_SKIP() << edgert::simd::isa_name(GetParam()) << " not compiled or supported"

void expect_close(float want, float got, const char* what, std::size_t i) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << " element " << i;
    return;
  }
  if (std::isinf(want)) {
    EXPECT_EQ(want, got) << what << " element " << i;
    return;
  }
  EXPECT_NEAR(want, got, 1e-6f * std::abs(want) + 1e-6f) << what << " element " << i;
}

TEST_P(Kernels, AffineNchwMatchesReferenceOnEveryTail) {
  REQUIRE_TABLE(t);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-3, 3);
  for (std::size_t plane : {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 1000}) {
    for (std::size_t channels : {1, 3, 13, 64}) {
      const std::size_t batch = 2, n = batch * channels * plane;
      GuardBuffer x(n), y(n);
      std::vector<float> scale(channels), shift(channels), want(n);
      for (auto& v : scale) v = u(rng);
      for (auto& v : shift) v = u(rng);
      for (std::size_t i = 0; i < n; ++i) x.data()[i] = u(rng);
      edgert::simd::reference::affine_nchw_f32(batch, channels, plane, x.data(), want.data(), scale.data(),
                                               shift.data());
      t->affine_nchw_f32(batch, channels, plane, x.data(), y.data(), scale.data(), shift.data());
      for (std::size_t i = 0; i < n; ++i) expect_close(want[i], y.data()[i], "out-of-place", i);
      t->affine_nchw_f32(batch, channels, plane, x.data(), x.data(), scale.data(), shift.data());
      for (std::size_t i = 0; i < n; ++i) expect_close(want[i], x.data()[i], "in-place", i);
    }
  }
}

TEST_P(Kernels, AffinePropagatesNanAndInf) {
  REQUIRE_TABLE(t);
  std::vector<float> x = {NAN,  INFINITY, -INFINITY, 1.0f, 2.0f, NAN,  0.0f, 5.0f,    1.0f,
                          1.0f, 1.0f,     1.0f,      1.0f, 1.0f, 1.0f, 1.0f, INFINITY};
  std::vector<float> y(x.size()), want(x.size());
  const float s = 2.0f, b = 1.0f;
  edgert::simd::reference::affine_nchw_f32(1, 1, x.size(), x.data(), want.data(), &s, &b);
  t->affine_nchw_f32(1, 1, x.size(), x.data(), y.data(), &s, &b);
  for (std::size_t i = 0; i < x.size(); ++i) expect_close(want[i], y[i], "special", i);
}

// Every fused activation the kernels apply.
const edgert::simd::ActParams kEveryAct[] = {{Act::none, 0, 0},
                                             {Act::relu, 0, 0},
                                             {Act::clip, 0.0f, 6.0f},
                                             {Act::leaky_relu, 0.1f, 0},
                                             {Act::hard_sigmoid, 0.2f, 0.5f},
                                             {Act::hard_swish, 0, 0},
                                             {Act::sigmoid, 0, 0},
                                             {Act::silu, 0, 0}};
constexpr std::size_t kActs = sizeof(kEveryAct) / sizeof(kEveryAct[0]);

TEST_P(Kernels, AffineWithActivationAndResidualMatchesReference) {
  REQUIRE_TABLE(t);
  using edgert::simd::ActParams;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-4, 4);
  for (const ActParams& act : kEveryAct)
    for (int residual : {0, 1, 2})
      for (std::size_t plane : {1, 7, 15, 16, 17, 33, 127}) {
        const std::size_t channels = 3, batch = 2, n = batch * channels * plane;
        GuardBuffer x(n), r(n), y(n);
        std::vector<float> scale(channels), shift(channels), want(n);
        for (auto& v : scale) v = u(rng);
        for (auto& v : shift) v = u(rng);
        for (std::size_t i = 0; i < n; ++i) x.data()[i] = u(rng), r.data()[i] = u(rng);
        x.data()[0] = NAN;  // NaN passes through every activation
        const float* res = residual ? r.data() : nullptr;
        edgert::simd::reference::affine_act_nchw_f32(batch, channels, plane, x.data(), res, want.data(), scale.data(),
                                                     shift.data(), act, residual == 1);
        t->affine_act_nchw_f32(batch, channels, plane, x.data(), res, y.data(), scale.data(), shift.data(), act,
                               residual == 1);
        for (std::size_t i = 0; i < n; ++i) expect_close(want[i], y.data()[i], "fused", i);
      }
}

// Relu and Clip select, they do not compute: every tier gives the scalar formula's bits,
// NaN passing through and -0 staying -0 (x86 clamps with maxps/minps, which return their
// second operand unless the first compares greater or less; NEON keeps compare-and-select,
// as its fmax would turn -0 into +0). Scale 1 and shift -0 keep each input as it is.
TEST_P(Kernels, ReluAndClipKeepNanAndSignedZeroBitForBit) {
  REQUIRE_TABLE(t);
  using edgert::simd::ActParams;
  std::vector<float> x = {NAN,    -NAN,  -0.0f, 0.0f,  -INFINITY, INFINITY, -1.0f,  1.0f,  -1e-45f,
                          1e-45f, 5.99f, 6.0f,  6.01f, 7.0f,      -1.0f,    -1.01f, 0.99f, 1.01f};
  x.insert(x.end(), x.begin(), x.end());  // every value in a full vector on every tier
  const float scale = 1.0f, shift = -0.0f;
  for (const ActParams& act : {ActParams{Act::relu, 0, 0}, ActParams{Act::clip, 0.0f, 6.0f},
                               ActParams{Act::clip, -1.0f, 1.0f}, ActParams{Act::clip, -0.0f, 0.0f}}) {
    std::vector<float> want(x.size()), y(x.size());
    edgert::simd::reference::affine_act_nchw_f32(1, 1, x.size(), x.data(), nullptr, want.data(), &scale, &shift, act,
                                                 1);
    t->affine_act_nchw_f32(1, 1, x.size(), x.data(), nullptr, y.data(), &scale, &shift, act, 1);
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(y[i])) << "act " << static_cast<int>(act.kind) << " at " << i;
        continue;
      }
      std::uint32_t a = 0, b = 0;
      std::memcpy(&a, &want[i], 4), std::memcpy(&b, &y[i], 4);
      EXPECT_EQ(a, b) << "act " << static_cast<int>(act.kind) << " [" << act.alpha << ", " << act.beta << "] of "
                      << x[i] << ": " << want[i] << " vs " << y[i];
    }
  }
}

// The fused sigmoid and SiLU (a polynomial exp, not libm's) across the float range against
// the formulas in double: within 1e-6 relative, or 1e-35 absolute where the true value is
// below the smallest normal float (exp is 0 or infinite past about -87.7 and 88.4); NaN stays NaN,
// and the standalone Sigmoid gives the fused one's values bit for bit.
TEST_P(Kernels, SigmoidAndSiluMatchTheFormulaAcrossTheRange) {
  REQUIRE_TABLE(t);
  std::vector<float> x = {0.0f,   -0.0f, 1e-30f, -1e-30f, 1e-45f, 87.0f,    -87.0f,    88.0f,
                          -88.0f, 89.0f, -89.0f, 1e30f,   -1e30f, INFINITY, -INFINITY, NAN};
  for (float v = -120.0f; v <= 120.0f; v += 0.0137f) x.push_back(v);
  const std::size_t n = x.size();
  const float one = 1.0f, zero = 0.0f;
  std::vector<float> sig(n), silu(n), standalone(n);
  t->affine_act_nchw_f32(1, 1, n, x.data(), nullptr, sig.data(), &one, &zero, {Act::sigmoid, 0, 0}, 1);
  t->affine_act_nchw_f32(1, 1, n, x.data(), nullptr, silu.data(), &one, &zero, {Act::silu, 0, 0}, 1);
  t->unary_f32(edgert::simd::Unary::sigmoid, n, x.data(), standalone.data(), 0, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = x[i], s = 1 / (1 + std::exp(-v));
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(sig[i]) && std::isnan(silu[i]) && std::isnan(standalone[i]));
      continue;
    }
    EXPECT_NEAR(s, sig[i], 1e-6 * s + 1e-35) << "sigmoid " << v;
    if (std::isfinite(v)) {
      EXPECT_NEAR(v * s, silu[i], 1e-6 * std::abs(v * s) + 1e-35) << "silu " << v;
    }
    // The scalar tail of the standalone op uses libm: compare the vector part bit for bit.
    const std::size_t lanes = t->gemm_nr / 2;
    if (i < n / lanes * lanes) {
      EXPECT_EQ(sig[i], standalone[i]) << v;
    }
  }
}

TEST_P(Kernels, UnaryAndBinaryMatchReference) {
  REQUIRE_TABLE(t);
  using edgert::simd::Binary;
  using edgert::simd::Unary;
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-8, 8);
  for (std::size_t n : {1, 3, 7, 8, 9, 16, 17, 31, 33, 127}) {
    GuardBuffer x(n), y(n), z(n);
    for (std::size_t i = 0; i < n; ++i) x.data()[i] = u(rng), y.data()[i] = u(rng);
    x.data()[0] = NAN;
    y.data()[n - 1] = NAN;  // NaN in either operand of max/min must survive
    for (Unary f : {Unary::relu, Unary::leaky_relu, Unary::clip, Unary::hard_sigmoid, Unary::hard_swish, Unary::sigmoid,
                    Unary::tanh, Unary::exp, Unary::neg, Unary::abs, Unary::sqrt}) {
      t->unary_f32(f, n, x.data(), z.data(), 0.1f, 0.6f);
      for (std::size_t i = 0; i < n; ++i) {
        const float want = edgert::simd::reference::apply_unary(f, x.data()[i], 0.1f, 0.6f);
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(z.data()[i])) << static_cast<int>(f) << " at " << i;
        } else {
          EXPECT_NEAR(want, z.data()[i], 4e-6f * std::abs(want) + 1e-6f) << static_cast<int>(f) << " at " << i;
        }
      }
    }
    for (Binary op : {Binary::add, Binary::sub, Binary::mul, Binary::div, Binary::max, Binary::min})
      for (std::size_t sa : {0, 1})
        for (std::size_t sb : {0, 1}) {
          if (!sa && !sb) continue;
          t->binary_f32(op, n, x.data(), sa, y.data(), sb, z.data());
          for (std::size_t i = 0; i < n; ++i)
            expect_close(edgert::simd::reference::apply_binary(op, x.data()[i * sa], y.data()[i * sb]), z.data()[i],
                         "binary", i);
        }
  }
}

TEST_P(Kernels, SoftmaxAndReduceMatchReference) {
  REQUIRE_TABLE(t);
  using edgert::simd::Reduce;
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> u(-20, 20);
  for (std::size_t n : {1, 3, 7, 8, 9, 16, 17, 31, 33, 127, 1000}) {
    GuardBuffer x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) x.data()[i] = u(rng);
    for (int log : {0, 1}) {
      std::vector<float> want(n);
      edgert::simd::reference::softmax_row_f32(n, x.data(), want.data(), log);
      t->softmax_row_f32(n, x.data(), y.data(), log);
      for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(want[i], y.data()[i], 2e-6f * (1 + std::abs(want[i]))) << i;
    }
    for (Reduce op : {Reduce::sum, Reduce::max, Reduce::min}) {
      const float want = edgert::simd::reference::reduce_row_f32(op, n, x.data());
      EXPECT_NEAR(want, t->reduce_row_f32(op, n, x.data()), 1e-5f * (1 + std::abs(want))) << static_cast<int>(op);
    }
    x.data()[n / 2] = NAN;
    EXPECT_TRUE(std::isnan(t->reduce_row_f32(Reduce::max, n, x.data())));
    EXPECT_TRUE(std::isnan(t->reduce_row_f32(Reduce::min, n, x.data())));
  }
}

TEST_P(Kernels, PoolRowMatchesReferenceExactlyAndReadsOnlyItsWindows) {
  REQUIRE_TABLE(t);
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> u(-1, 1);
  for (std::size_t n : {1, 2, 7, 16, 17, 31, 40})
    for (std::size_t sx : {1, 2, 3})
      for (std::size_t kw : {1, 2, 3})
        for (std::size_t dx : {1, 2})
          for (std::size_t nrows : {1, 2, 3}) {
            // Each row ends right after the last value a window reads: a read past it faults.
            // A NaN inside a window is passed over by max and spreads through a sum.
            const std::size_t span = (n - 1) * sx + (kw - 1) * dx + 1;
            std::vector<GuardBuffer> bufs;
            std::vector<const float*> rows;
            for (std::size_t r = 0; r < nrows; ++r) {
              bufs.emplace_back(span);
              for (std::size_t i = 0; i < span; ++i) bufs.back().data()[i] = u(rng);
              rows.push_back(bufs.back().data());
            }
            if (n > 3) bufs[0].data()[sx] = NAN;
            for (int max : {0, 1})
              for (float div : {0.0f, 9.0f}) {
                std::vector<float> want(n);
                GuardBuffer y(n);
                edgert::simd::reference::pool_row_f32(max, n, rows.data(), nrows, kw, sx, dx, div, want.data());
                t->pool_row_f32(max, n, rows.data(), nrows, kw, sx, dx, div, y.data());
                for (std::size_t i = 0; i < n; ++i) {
                  if (std::isnan(want[i]))
                    EXPECT_TRUE(std::isnan(y.data()[i])) << n << " " << sx << " " << kw << " " << dx << " " << i;
                  else
                    EXPECT_EQ(want[i], y.data()[i]) << "n " << n << " sx " << sx << " kw " << kw << " dx " << dx
                                                    << " rows " << nrows << " max " << max << " at " << i;
                }
              }
          }
}

TEST_P(Kernels, ChannelBlockPoolMatchesReferenceExactlyAndReadsOnlyItsTaps) {
  REQUIRE_TABLE(t);
  constexpr std::size_t C = edgert::simd::kChannelBlock;
  std::mt19937 rng(31);
  std::uniform_real_distribution<float> u(-1, 1);
  for (std::size_t n : {1, 3, 4, 5, 9, 13})
    for (std::size_t sx : {1, 2})
      for (std::size_t kw : {1, 2, 3})
        for (std::size_t dx : {1, 2})
          for (std::size_t pl : {0, 1})
            for (std::size_t nrows : {0, 1, 3}) {
              // Taps [lo, hi) per column as a padded border gives them: the first columns
              // lose the taps left of the row, the last ones those past its end (iw pixels).
              const std::size_t span = (n - 1) * sx + (kw - 1) * dx + 1;
              const std::size_t iw = span > pl + 2 ? span - pl - 1 : 1;
              std::vector<std::uint32_t> lo(n), hi(n);
              std::vector<float> cdiv(n);
              for (std::size_t o = 0; o < n; ++o) {
                std::size_t a = kw, b = 0;
                for (std::size_t k = 0; k < kw; ++k) {
                  const std::ptrdiff_t ix =
                      static_cast<std::ptrdiff_t>(o * sx + k * dx) - static_cast<std::ptrdiff_t>(pl);
                  if (ix >= 0 && ix < static_cast<std::ptrdiff_t>(iw)) a = std::min(a, k), b = k + 1;
                }
                lo[o] = static_cast<std::uint32_t>(a < b ? a : 0);
                hi[o] = static_cast<std::uint32_t>(a < b ? b : 0);
                cdiv[o] = static_cast<float>(hi[o] - lo[o]);
              }
              // Each row holds exactly iw pixels: a read outside them faults.
              std::vector<GuardBuffer> bufs;
              std::vector<const float*> rows;
              for (std::size_t r = 0; r < nrows; ++r) {
                bufs.emplace_back(iw * C);
                for (std::size_t i = 0; i < iw * C; ++i) bufs.back().data()[i] = u(rng);
                rows.push_back(bufs.back().data());
              }
              if (nrows && iw > 1) bufs[0].data()[C + 3] = NAN;
              for (int max : {0, 1}) {
                edgert::simd::PoolNc16Args a;
                a.max = max, a.n = n, a.rows = rows.data(), a.nrows = nrows, a.sx = sx, a.dx = dx, a.pl = pl;
                a.lo = lo.data(), a.hi = hi.data(), a.rdiv = static_cast<float>(nrows), a.cdiv = cdiv.data();
                std::vector<float> want(n * C);
                GuardBuffer y(n * C);
                a.y = want.data();
                edgert::simd::reference::pool_nc16_f32(a);
                a.y = y.data();
                t->pool_nc16_f32(a);
                for (std::size_t i = 0; i < n * C; ++i) {
                  if (std::isnan(want[i]))
                    EXPECT_TRUE(std::isnan(y.data()[i])) << n << " " << sx << " " << kw << " " << dx << " " << i;
                  else
                    EXPECT_EQ(want[i], y.data()[i])
                        << "n " << n << " sx " << sx << " kw " << kw << " dx " << dx << " pl " << pl << " rows "
                        << nrows << " max " << max << " at " << i;
                }
                // An empty window: -inf for max, 0 for a sum.
                if (nrows == 0) {
                  EXPECT_EQ(y.data()[0], max ? -INFINITY : 0.0f);
                }
              }
            }
}

TEST_P(Kernels, GemvColumnsMatchReferenceAndDoNotDependOnGrouping) {
  REQUIRE_TABLE(t);
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> u(-1, 1);
  for (std::size_t k : {1, 5, 8, 15, 16, 17, 33, 100, 1280})
    for (std::size_t n : {1, 3, 4, 5, 9}) {
      const std::size_t ldb = k + 3;
      GuardBuffer a(k), b(n * ldb), c(n);
      for (std::size_t i = 0; i < k; ++i) a.data()[i] = u(rng);
      for (std::size_t i = 0; i < n * ldb; ++i) b.data()[i] = u(rng);
      for (int accumulate : {0, 1}) {
        std::vector<float> want(n), one(n);
        for (std::size_t j = 0; j < n; ++j) want[j] = one[j] = c.data()[j] = u(rng);
        edgert::simd::reference::gemv_cols_f32(n, k, a.data(), b.data(), ldb, want.data(), accumulate);
        t->gemv_cols_f32(n, k, a.data(), b.data(), ldb, c.data(), accumulate);
        // Column by column (as a thread split could leave them): bit-identical.
        for (std::size_t j = 0; j < n; ++j)
          t->gemv_cols_f32(1, k, a.data(), b.data() + j * ldb, ldb, &one[j], accumulate);
        for (std::size_t j = 0; j < n; ++j) {
          EXPECT_NEAR(want[j], c.data()[j], 1e-5f * (1 + static_cast<float>(k) / 64)) << k << " " << n << " " << j;
          EXPECT_EQ(c.data()[j], one[j]) << k << " " << n << " " << j;
        }
      }
    }
}

TEST_P(Kernels, Depthwise3x3RowMatchesReference) {
  REQUIRE_TABLE(t);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  float w[9];
  for (float& v : w) v = u(rng);
  for (std::size_t n : {1, 3, 7, 8, 15, 16, 17, 33, 112}) {
    // Each row exactly n + 2 long in its own guarded buffer: a read past the last tap faults.
    GuardBuffer r0(n + 2), r1(n + 2), r2(n + 2), y(n);
    for (GuardBuffer* r : {&r0, &r1, &r2})
      for (std::size_t i = 0; i < n + 2; ++i) r->data()[i] = u(rng);
    std::vector<float> want(n);
    edgert::simd::reference::dw3x3_row_f32(n, r0.data(), r1.data(), r2.data(), w, want.data());
    t->dw3x3_row_f32(n, r0.data(), r1.data(), r2.data(), w, y.data());
    for (std::size_t i = 0; i < n; ++i)
      EXPECT_NEAR(want[i], y.data()[i], 1e-5f * (1 + std::abs(want[i]))) << n << " " << i;
  }
}

TEST_P(Kernels, Depthwise3x3Stride2RowMatchesReference) {
  REQUIRE_TABLE(t);
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> u(-1, 1);
  float w[9];
  for (float& v : w) v = u(rng);
  for (std::size_t n : {1, 3, 7, 8, 15, 16, 17, 33, 56}) {
    // Even columns exactly n + 1 long, odd ones n, each in its own guarded buffer.
    GuardBuffer a0(n + 1), a1(n + 1), a2(n + 1), b0(n), b1(n), b2(n), y(n);
    for (GuardBuffer* r : {&a0, &a1, &a2})
      for (std::size_t i = 0; i < n + 1; ++i) r->data()[i] = u(rng);
    for (GuardBuffer* r : {&b0, &b1, &b2})
      for (std::size_t i = 0; i < n; ++i) r->data()[i] = u(rng);
    const float* a[3] = {a0.data(), a1.data(), a2.data()};
    const float* b[3] = {b0.data(), b1.data(), b2.data()};
    std::vector<float> want(n);
    edgert::simd::reference::dw3x3s2_row_f32(n, a, b, w, want.data());
    t->dw3x3s2_row_f32(n, a, b, w, y.data());
    for (std::size_t i = 0; i < n; ++i)
      EXPECT_NEAR(want[i], y.data()[i], 1e-5f * (1 + std::abs(want[i]))) << n << " " << i;
  }
}

TEST_P(Kernels, StridedCopyReadsOnlyWhatItCopies) {
  REQUIRE_TABLE(t);
  for (std::size_t stride : {1, 2, 3})
    for (std::size_t n : {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100}) {
      // The source ends right after element (n - 1) * stride: a read past it faults.
      GuardBuffer src((n - 1) * stride + 1), dst(n);
      for (std::size_t i = 0; i < src.size(); ++i) src.data()[i] = static_cast<float>(i) * 0.25f;
      t->strided_copy_f32(n, src.data(), stride, dst.data());
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_EQ(dst.data()[i], src.data()[i * stride]) << stride << " " << n << " " << i;
    }
}

TEST_P(Kernels, WinogradTransformsMatchReferenceExactly) {
  REQUIRE_TABLE(t);
  std::mt19937 rng(31);
  std::uniform_real_distribution<float> u(-4, 4);
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 28, 33}) {
    // Every row exactly as long as the kernel may touch, each ending at a guard page.
    std::vector<GuardBuffer> p, v, m, y;
    for (int i = 0; i < 4; ++i) p.emplace_back(2 * n + 2);
    for (int e = 0; e < 16; ++e) v.emplace_back(n), m.emplace_back(n);
    for (int i = 0; i < 2; ++i) y.emplace_back(2 * n);
    const float* pr[4];
    float* vr[16];
    const float* mr[16];
    for (int i = 0; i < 4; ++i) {
      for (std::size_t k = 0; k < 2 * n + 2; ++k) p[i].data()[k] = u(rng);
      pr[i] = p[i].data();
    }
    std::vector<std::vector<float>> want_v(16, std::vector<float>(n));
    float* wv[16];
    for (int e = 0; e < 16; ++e) {
      vr[e] = v[e].data();
      wv[e] = want_v[e].data();
      for (std::size_t k = 0; k < n; ++k) m[e].data()[k] = u(rng);
      mr[e] = m[e].data();
    }
    edgert::simd::reference::wino23_input_f32(n, pr, wv);
    t->wino23_input_f32(n, pr, vr);
    for (int e = 0; e < 16; ++e)
      for (std::size_t k = 0; k < n; ++k) ASSERT_EQ(want_v[e][k], vr[e][k]) << n << " e" << e << " t" << k;
    std::vector<float> w0(2 * n), w1(2 * n);
    edgert::simd::reference::wino23_output_f32(n, mr, 0.75f, w0.data(), w1.data());
    t->wino23_output_f32(n, mr, 0.75f, y[0].data(), y[1].data());
    for (std::size_t k = 0; k < 2 * n; ++k) {
      ASSERT_EQ(w0[k], y[0].data()[k]) << n << " row 0 col " << k;
      ASSERT_EQ(w1[k], y[1].data()[k]) << n << " row 1 col " << k;
    }
  }
}

// F(4x4, 3x3) and F(2x2, 3x3) on blocks: every tier against the scalar reference (F(4x4)'s
// multiplications may fuse with the adds, and the activations round as their kernels do),
// reading exactly m + 2 rows of m n + 2 pixels and writing exactly its tiles; the output with
// a bias per lane and each activation, in place in a wider map (row stride past the tiles)
// whose other pixels stay untouched.
TEST_P(Kernels, WinogradBlockedTransformsMatchReference) {
  REQUIRE_TABLE(t);
  using edgert::simd::Act;
  namespace ref = edgert::simd::reference;
  constexpr std::size_t C = edgert::simd::kChannelBlock;
  struct Variant {
    std::size_t m;
    edgert::simd::Wino43InputNc16F32 input, want_input;
    edgert::simd::Wino43OutputNc16F32 output, want_output;
    float tol;
  };
  const Variant variants[] = {{4, t->wino43_input_nc16_f32, ref::wino43_input_nc16_f32, t->wino43_output_nc16_f32,
                               ref::wino43_output_nc16_f32, 1e-5f},
                              {2, t->wino23_input_nc16_f32, ref::wino23_input_nc16_f32, t->wino23_output_nc16_f32,
                               ref::wino23_output_nc16_f32, 1e-6f}};
  std::mt19937 rng(43);
  std::uniform_real_distribution<float> u(-2, 2);
  for (const Variant& f : variants) {
    const std::size_t m = f.m, rows = m + 2, elems = rows * rows;
    auto near = [&](float want, float got) { return std::abs(want - got) <= f.tol * (1.0f + std::abs(want)); };
    for (std::size_t n : {1, 2, 3, 4, 7, 14}) {
      const std::size_t row = (m * n + 2) * C, ev = n * C + 8;
      GuardBuffer p(rows * row), v((elems - 1) * ev + n * C);
      for (std::size_t i = 0; i < p.size(); ++i) p.data()[i] = u(rng);
      std::vector<float> want(v.size(), 7.0f);
      std::fill(v.data(), v.data() + v.size(), 7.0f);
      f.want_input(n, p.data(), row, want.data(), ev);
      f.input(n, p.data(), row, v.data(), ev);
      for (std::size_t i = 0; i < v.size(); ++i)
        ASSERT_TRUE(near(want[i], v.data()[i])) << m << " " << n << " at " << i;
      const edgert::simd::ActParams acts[] = {
          {Act::none, 0, 0}, {Act::relu, 0, 0}, {Act::hard_swish, 0, 0}, {Act::silu, 0, 0}};
      std::vector<float> bias(C);
      for (float& b : bias) b = u(rng);
      for (const auto& act : acts)
        for (const float* b : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())}) {
          const std::size_t em = n * C + 16, yrow = (m * n + 3) * C;
          std::vector<float> mv((elems - 1) * em + n * C);
          for (float& e : mv) e = u(rng);
          GuardBuffer y((m - 1) * yrow + m * n * C);
          std::vector<float> want_y(y.size(), -3.0f);
          std::fill(y.data(), y.data() + y.size(), -3.0f);
          f.want_output(n, mv.data(), em, b, act, want_y.data(), yrow);
          f.output(n, mv.data(), em, b, act, y.data(), yrow);
          for (std::size_t i = 0; i < y.size(); ++i) {
            const bool tile = i % yrow < m * n * C;
            ASSERT_TRUE(near(want_y[i], y.data()[i])) << m << " " << n << " at " << i;
            if (!tile) {
              ASSERT_EQ(y.data()[i], -3.0f) << m << " " << n << " at " << i;
            }
          }
        }
    }
  }
}

// The F(2x2, 3x3) blocked transforms against the definition: a tile's input transform, the
// element-wise product with a transformed 3x3 filter and the output transform give the
// direct 3x3 correlation of the tile's 4x4 pixels (one channel per lane).
TEST(KernelReference, Winograd23BlockedTransformsComputeTheCorrelation) {
  namespace ref = edgert::simd::reference;
  constexpr std::size_t C = edgert::simd::kChannelBlock;
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> d(4 * 4 * C), g(9 * C), v(16 * C), mv(16 * C), y(4 * C);
  for (float& e : d) e = u(rng);
  for (float& e : g) e = u(rng);
  ref::wino23_input_nc16_f32(1, d.data(), 4 * C, v.data(), C);
  for (std::size_t c = 0; c < C; ++c) {
    // U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
    const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        double uij = 0;
        for (int a = 0; a < 3; ++a)
          for (int b = 0; b < 3; ++b) uij += G[i][a] * g[(a * 3 + b) * C + c] * G[j][b];
        mv[(4 * i + j) * C + c] = static_cast<float>(uij) * v[(4 * i + j) * C + c];
      }
  }
  ref::wino23_output_nc16_f32(1, mv.data(), C, nullptr, {}, y.data(), 2 * C);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t oy = 0; oy < 2; ++oy)
      for (std::size_t ox = 0; ox < 2; ++ox) {
        double want = 0;
        for (std::size_t a = 0; a < 3; ++a)
          for (std::size_t b = 0; b < 3; ++b) want += g[(a * 3 + b) * C + c] * d[((oy + a) * 4 + ox + b) * C + c];
        EXPECT_NEAR(want, y[(oy * 2 + ox) * C + c], 1e-5) << c << " " << oy << " " << ox;
      }
}

// The weight transform against the reference (which the next test checks against the
// definition): every element of each (m + 2)^2 matrices' k rows of n lanes, the gap between
// the matrices untouched, the last matrix read up to its end only (guard page); -0 weights
// give +0, and a NaN weight the reference's NaNs exactly.
TEST_P(Kernels, WinogradWeightTransformMatchesReferenceAndWritesOnlyItsRows) {
  REQUIRE_TABLE(t);
  namespace ref = edgert::simd::reference;
  std::mt19937 rng(47);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int m : {4, 2})
    for (std::size_t k : {1, 3, 32})
      for (std::size_t n : {16, 32}) {
        const std::size_t e = static_cast<std::size_t>((m + 2) * (m + 2)), gap = 8, mat = k * n + gap;
        GuardBuffer g(k * 9 * n), got((e - 1) * mat + k * n);
        std::vector<float> want(got.size(), 5.0f);
        for (std::size_t i = 0; i < g.size(); ++i) g.data()[i] = u(rng);
        std::fill(got.data(), got.data() + got.size(), 5.0f);
        ref::wino_weights_f32(m, k, n, g.data(), want.data(), mat);
        t->wino_weights_f32(m, k, n, g.data(), got.data(), mat);
        for (std::size_t i = 0; i < got.size(); ++i) {
          if (i % mat >= k * n) {
            ASSERT_EQ(got.data()[i], 5.0f) << m << " " << k << " " << n << " gap at " << i;
            continue;
          }
          ASSERT_NEAR(want[i], got.data()[i], 1e-6f * (1.0f + std::abs(want[i])))
              << m << " " << k << " " << n << " at " << i;
        }
        std::fill(g.data(), g.data() + g.size(), -0.0f);
        t->wino_weights_f32(m, k, n, g.data(), got.data(), mat);
        for (std::size_t i = 0; i < got.size(); ++i) {
          if (i % mat < k * n) {
            ASSERT_TRUE(got.data()[i] == 0.0f && !std::signbit(got.data()[i])) << m << " at " << i;
          }
        }
        g.data()[(k - 1) * 9 * n + 4 * n + 3] = std::numeric_limits<float>::quiet_NaN();  // centre tap, lane 3
        ref::wino_weights_f32(m, k, n, g.data(), want.data(), mat);
        t->wino_weights_f32(m, k, n, g.data(), got.data(), mat);
        std::size_t nans = 0;
        for (std::size_t i = 0; i < got.size(); ++i) {
          ASSERT_EQ(std::isnan(want[i]), std::isnan(got.data()[i])) << m << " NaN at " << i;
          nans += std::isnan(want[i]) ? 1 : 0;
        }
        EXPECT_GT(nans, 0u);
      }
}

// The reference weight transform is G g G^T of each kernel (in double, from G as written).
TEST(KernelReference, WinogradWeightTransformIsGgGt) {
  const double G4[6][3] = {{0.25, 0, 0},
                           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                           {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                           {1.0 / 24, 1.0 / 12, 1.0 / 6},
                           {1.0 / 24, -1.0 / 12, 1.0 / 6},
                           {0, 0, 1}};
  const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  std::mt19937 rng(53);
  std::uniform_real_distribution<float> u(-2, 2);
  const std::size_t k = 5, n = 16;
  std::vector<float> g(k * 9 * n);
  for (float& v : g) v = u(rng);
  for (int m : {4, 2}) {
    const std::size_t r = static_cast<std::size_t>(m + 2);
    std::vector<float> out(r * r * k * n);
    edgert::simd::reference::wino_weights_f32(m, k, n, g.data(), out.data(), k * n);
    for (std::size_t c = 0; c < k; ++c)
      for (std::size_t l = 0; l < n; ++l)
        for (std::size_t i = 0; i < r; ++i)
          for (std::size_t j = 0; j < r; ++j) {
            double want = 0;
            for (std::size_t a = 0; a < 3; ++a)
              for (std::size_t b = 0; b < 3; ++b) {
                const double gi = m == 4 ? G4[i][a] : G2[i][a], gj = m == 4 ? G4[j][b] : G2[j][b];
                want += gi * g[(c * 9 + a * 3 + b) * n + l] * gj;
              }
            EXPECT_NEAR(want, out[(i * r + j) * k * n + c * n + l], 2e-6 * (1 + std::abs(want)))
                << m << " " << c << " " << l << " " << i << " " << j;
          }
  }
}

TEST_P(Kernels, ChannelBlockPackAndUnpackMoveEveryValueAndNothingElse) {
  REQUIRE_TABLE(t);
  constexpr std::size_t C = edgert::simd::kChannelBlock;
  for (std::size_t n : {1, 3, 4, 8, 15, 16, 17, 31, 49, 64}) {
    for (std::size_t nc : {1, 5, 8, 15, 16}) {
      const std::size_t ld = n + 3;
      std::vector<float> planes(C * ld);
      for (std::size_t i = 0; i < planes.size(); ++i) planes[i] = static_cast<float>(i) + 0.5f;
      // Packing reads only the nc planes' first n values (the block ends at a guard page)...
      GuardBuffer src((nc - 1) * ld + n);
      std::copy(planes.begin(), planes.begin() + static_cast<std::ptrdiff_t>(src.size()), src.data());
      GuardBuffer packed(n * C);
      t->nc16_pack_f32(n, src.data(), ld, nc, packed.data());
      for (std::size_t p = 0; p < n; ++p)
        for (std::size_t c = 0; c < C; ++c)
          ASSERT_EQ(packed.data()[p * C + c], c < nc ? planes[c * ld + p] : 0.0f)
              << n << " " << nc << " " << p << " " << c;
      // ...and unpacking writes exactly those values back, nothing around them.
      std::vector<float> out(C * ld, -7.0f);
      t->nc16_unpack_f32(n, packed.data(), nc, out.data(), ld);
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t p = 0; p < ld; ++p)
          ASSERT_EQ(out[c * ld + p], c < nc && p < n ? planes[c * ld + p] : -7.0f)
              << n << " " << nc << " " << p << " " << c;
    }
  }
}

// Every activation with parameters, for the kernels that compile a loop per kind.

TEST_P(Kernels, ChannelBlockDepthwiseMatchesReference) {
  REQUIRE_TABLE(t);
  constexpr std::size_t C = edgert::simd::kChannelBlock;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1, 1);
  // One output row; `absent` marks the taps' rows in the padding (bit ky set: row ky null).
  struct Case {
    std::size_t ow, kh, kw, sx, dx, iw, pl, absent;
  };
  const Case cases[] = {{1, 1, 1, 1, 1, 1, 0, 0},
                        {7, 3, 3, 1, 1, 7, 1, 0},
                        {7, 3, 3, 1, 1, 7, 1, 1},
                        {23, 3, 3, 1, 1, 23, 1, 4},
                        {7, 3, 3, 2, 1, 14, 1, 0},
                        {7, 3, 3, 2, 1, 14, 0, 0},
                        {14, 3, 3, 2, 1, 28, 1, 1},
                        {12, 3, 3, 2, 1, 23, 1, 0},
                        {9, 5, 5, 1, 1, 9, 2, 3},
                        {13, 5, 5, 2, 1, 25, 2, 16},
                        {6, 3, 3, 1, 2, 6, 2, 2},
                        {5, 3, 2, 1, 3, 6, 1, 0},
                        {17, 1, 7, 2, 1, 30, 3, 0},
                        {10, 1, 1, 1, 1, 10, 0, 0},
                        {5, 1, 1, 3, 1, 13, 0, 0},
                        {3, 2, 7, 1, 1, 2, 3, 0},
                        {4, 3, 3, 1, 1, 4, 1, 7},
                        {21, 7, 7, 1, 1, 21, 3, 65},
                        {9, 3, 4, 1, 1, 8, 2, 0},
                        {5, 1, 1, 1, 1, 3, 1, 0},
                        {11, 3, 3, 1, 1, 11, 0, 0},
                        {37, 7, 7, 1, 1, 3, 20, 0},
                        {8, 5, 60, 1, 1, 40, 30, 2},
                        {30, 3, 3, 2, 2, 4, 29, 1},
                        // Rows of 3x3 and 5x5 at strides 1 and 2 around the edge blocks' sizes (8, the last 4).
                        {14, 3, 3, 1, 1, 14, 1, 0},
                        {28, 3, 3, 2, 1, 56, 1, 0},
                        {6, 5, 5, 1, 1, 6, 2, 0},
                        {3, 5, 5, 2, 1, 5, 2, 0},
                        {12, 3, 3, 1, 1, 12, 1, 2},
                        {9, 3, 3, 2, 1, 17, 1, 0},
                        {2, 3, 3, 1, 1, 2, 1, 0},
                        {1, 3, 3, 2, 1, 1, 1, 0},
                        {15, 3, 3, 2, 0, 31, 0, 0},
                        {16, 5, 5, 1, 1, 14, 2, 0},
                        {13, 3, 3, 1, 1, 13, 1, 0},
                        {17, 5, 5, 1, 1, 15, 1, 0}};
  for (const Case& k : cases)
    for (const auto& act : kEveryAct) {
      // Each input row sits just before a guard page and after two pixels of NaN, so a read
      // outside the row faults or poisons the result.
      std::vector<GuardBuffer> bufs;
      std::vector<const float*> rows;
      for (std::size_t ky = 0; ky < k.kh; ++ky) {
        bufs.emplace_back((k.iw + 2) * C);
        float* b = bufs.back().data();
        std::fill(b, b + 2 * C, NAN);
        for (std::size_t i = 2 * C; i < bufs.back().size(); ++i) b[i] = u(rng);
        rows.push_back(k.absent >> ky & 1 ? nullptr : b + 2 * C);
      }
      GuardBuffer w(k.kh * k.kw * C), bias(C), y(k.ow * C);
      for (GuardBuffer* b : {&w, &bias})
        for (std::size_t i = 0; i < b->size(); ++i) b->data()[i] = u(rng);
      edgert::simd::DwcArgs a;
      a.rows = rows.data();
      a.iw = k.iw, a.pl = k.pl;
      a.w = w.data();
      a.bias = bias.data();
      a.y = y.data();
      a.ow = k.ow, a.kh = k.kh, a.kw = k.kw, a.sx = k.sx, a.dx = k.dx;
      a.act = act;
      std::vector<float> want(y.size());
      t->dwc_f32(a);
      a.y = want.data();
      edgert::simd::reference::dwc_f32(a);
      for (std::size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(want[i], y.data()[i], 1e-5f * (1 + std::abs(want[i])))
            << k.kh << "x" << k.kw << " s" << k.sx << " d" << k.dx << " iw " << k.iw << " pl " << k.pl << " absent "
            << k.absent << " pixel " << i / C;
    }
}

TEST_P(Kernels, ChannelBlockDepthwiseRowsInOneCallEqualOneCallPerRow) {
  REQUIRE_TABLE(t);
  constexpr std::size_t C = edgert::simd::kChannelBlock;
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-1, 1);
  // nrows output rows of a 2-D map with padding on every side: the first and last rows' taps
  // reach into the padding rows (null), so rows differ in which taps they read; output rows
  // lie y_row floats apart with a gap between them that must stay untouched.
  struct Case {
    std::size_t h, w, k, s, pad, nrows;
  };
  const Case cases[] = {
      {7, 7, 3, 1, 1, 7}, {14, 14, 3, 2, 1, 7}, {5, 9, 5, 1, 2, 5}, {3, 3, 3, 1, 1, 3}, {12, 6, 3, 1, 0, 4}};
  for (const Case& k : cases)
    for (const auto& act : {kEveryAct[0], kEveryAct[2]}) {
      const std::size_t ow = (k.w + 2 * k.pad - k.k) / k.s + 1, y_row = ow * C + 5;
      GuardBuffer x(k.h * k.w * C), w(k.k * k.k * C), bias(C), y(k.nrows * y_row);
      for (GuardBuffer* b : {&x, &w, &bias})
        for (std::size_t i = 0; i < b->size(); ++i) b->data()[i] = u(rng);
      std::fill(y.data(), y.data() + y.size(), -7.0f);
      std::vector<const float*> rows;
      for (std::size_t r = 0; r < k.nrows; ++r)
        for (std::size_t ky = 0; ky < k.k; ++ky) {
          const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(r * k.s + ky) - static_cast<std::ptrdiff_t>(k.pad);
          rows.push_back(iy >= 0 && iy < static_cast<std::ptrdiff_t>(k.h) ? x.data() + iy * k.w * C : nullptr);
        }
      edgert::simd::DwcArgs a;
      a.rows = rows.data();
      a.iw = k.w, a.pl = k.pad;
      a.w = w.data();
      a.bias = bias.data();
      a.y = y.data();
      a.ow = ow, a.kh = a.kw = k.k, a.sx = k.s;
      a.act = act;
      a.nrows = k.nrows, a.y_row = y_row;
      t->dwc_f32(a);
      std::vector<float> one(ow * C), want(ow * C);
      for (std::size_t r = 0; r < k.nrows; ++r) {
        edgert::simd::DwcArgs b = a;
        b.rows = rows.data() + r * k.k;
        b.nrows = 1;
        b.y = one.data();
        t->dwc_f32(b);
        b.y = want.data();
        edgert::simd::reference::dwc_f32(b);
        for (std::size_t i = 0; i < ow * C; ++i) {
          ASSERT_EQ(std::bit_cast<std::uint32_t>(y.data()[r * y_row + i]), std::bit_cast<std::uint32_t>(one[i]))
              << "row " << r << " pixel " << i / C;
          ASSERT_NEAR(want[i], one[i], 1e-5f * (1 + std::abs(want[i]))) << "row " << r << " pixel " << i / C;
        }
        for (std::size_t i = ow * C; i < y_row && r * y_row + i < y.size(); ++i)
          ASSERT_EQ(y.data()[r * y_row + i], -7.0f) << "gap after row " << r;
      }
    }
}

// What both pointwise tests set alike: the input (blocked, planes, or gathered through
// offsets with the pixels `step` apart when step > 0) from buffer `a`, the tile starting at
// its pixel 1 unless gathered, and, varied by `round`, the residual (null on even rounds),
// its order and the activation.
void set_pointwise_input_and_epilogue(edgert::simd::PointwiseArgs& args, int round, const float* a,
                                      std::size_t a_stride, int blocked, const std::uint32_t* offsets, std::size_t step,
                                      const float* residual) {
  args.a = a + (step ? 0 : blocked ? edgert::simd::kChannelBlock : 1);
  args.a_stride = a_stride;
  args.a_blocked = blocked;
  args.a_offsets = step ? offsets : nullptr;
  args.a_step = step ? step : 1;
  args.residual = round % 2 ? residual : nullptr;
  args.residual_first = round % 4 < 2;
  args.act = kEveryAct[round / 4 % kActs];  // with each residual order and none
}

TEST_P(Kernels, PointwiseBlockedTileMatchesReferenceInOneOrTwoPartsAndWritesOnlyItsTile) {
  REQUIRE_TABLE(t);
  constexpr std::size_t C = edgert::simd::kChannelBlock;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  const std::size_t mr = t->gemm_mr, nr = t->gemm_nr, unit = std::min<std::size_t>(nr / 2, C);
  int round = 0;
  // Input modes: blocked, planes, gathered through offsets with the pixels 1 or 2 apart.
  for (int mode : {0, 1, 2, 3})
    for (std::size_t k : {1, 5, 16, 17, 40})
      // Row counts at and past each register block's (gemm_mr / 3 apart, and the short one).
      for (std::size_t mv : {std::size_t{1}, std::max<std::size_t>(1, mr / 3), mr / 3 + 1,
                             std::max<std::size_t>(1, t->pointwise_short_mr), t->pointwise_short_mr + 1, mr - 1, mr})
        for (std::size_t nv = unit; nv <= nr; nv += unit)
          for (std::size_t lane0 = 0; lane0 + std::min(nv, C) <= C && lane0 < C; lane0 += unit)
            // Zeroed columns after the valid ones, within the panel and the last block.
            for (std::size_t zero = 0;
                 zero == 0 || (nv + zero <= nr && (lane0 + nv) % C + zero <= C && (lane0 + nv) % C != 0);
                 zero += unit) {
              ++round;
              const int blocked = mode == 0;
              const std::size_t step = mode >= 2 ? static_cast<std::size_t>(mode - 1) : 0;
              // A plane of `pixels` pixels; the tile starts at pixel 1 and its last readable row
              // (gemm_mr) ends the input at a guard page. Gathered: rows at random offsets into
              // a buffer, the last one's gemm_mr pixels ending it.
              const std::size_t pixels = mr + 1, blocks_in = (k + C - 1) / C;
              const std::size_t a_stride = blocked ? pixels * C : pixels, span = step * (mr - 1) + 1;
              GuardBuffer a(step      ? 3 * k + span
                            : blocked ? (blocks_in - 1) * a_stride + pixels * C
                                      : (k - 1) * a_stride + pixels);
              for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = u(rng);
              std::vector<std::uint32_t> offsets(k);
              for (std::size_t p = 0; p < k; ++p)
                offsets[p] = static_cast<std::uint32_t>(p + 1 == k ? a.size() - span : rng() % (3 * k));
              GuardBuffer b(k * nv), bias(nv);
              for (GuardBuffer* v : {&b, &bias})
                for (std::size_t i = 0; i < v->size(); ++i) v->data()[i] = u(rng);
              const std::size_t blocks_out = (lane0 + nv + zero + C - 1) / C, y_stride = pixels * C;
              std::vector<float> res(blocks_out * y_stride);
              for (auto& v : res) v = u(rng);
              edgert::simd::PointwiseArgs args;
              set_pointwise_input_and_epilogue(args, round, a.data(), a_stride, blocked, offsets.data(), step,
                                               res.data() + C);
              args.k = k;
              args.b = b.data();
              args.ldb = nv;
              args.y_stride = y_stride;
              args.lane0 = lane0;
              args.mr_valid = mv;
              args.nr_valid = nv;
              args.nr_zero = zero;
              args.bias = round % 3 ? bias.data() : nullptr;
              std::vector<float> got(blocks_out * y_stride, -7.0f), want = got;
              args.y = got.data() + C;
              t->pointwise_nc16_f32(args);
              args.y = want.data() + C;
              edgert::simd::reference::pointwise_nc16_f32(args);
              for (std::size_t i = 0; i < got.size(); ++i)
                ASSERT_NEAR(want[i], got[i], 1e-5f * (1 + std::abs(want[i])))
                    << "mode " << mode << " k " << k << " rows " << mv << " cols " << nv << " zeroed " << zero
                    << " lane0 " << lane0 << " at " << i;
              if (k <= C) continue;
              // The same sum in two parts split at a block: the plain sum of the first C rows of
              // k, then the rest accumulated onto it and finished.
              std::vector<float> split(blocks_out * y_stride, -7.0f);
              edgert::simd::PointwiseArgs first = args, rest = args;
              first.y = rest.y = split.data() + C;
              first.k = C;
              first.finish = 0;
              rest.k = k - C;
              rest.a = step ? args.a : args.a + (blocked ? a_stride : C * a_stride);
              rest.a_offsets = step ? offsets.data() + C : nullptr;
              rest.b = args.b + C * nv;
              rest.accumulate = 1;
              t->pointwise_nc16_f32(first);
              t->pointwise_nc16_f32(rest);
              for (std::size_t i = 0; i < split.size(); ++i)
                ASSERT_NEAR(want[i], split[i], 1e-5f * (1 + std::abs(want[i])))
                    << "in two parts: mode " << mode << " k " << k << " rows " << mv << " cols " << nv << " at " << i;
            }
}

// A run of tiles in one call (args.tiles) gives each tile exactly what a call of its own
// gives (the same sums in the same order), and the reference agrees, for every input mode,
// in one part or accumulated onto a first one, with and without a residual.
TEST_P(Kernels, PointwiseRunOfTilesEqualsOneCallPerTile) {
  REQUIRE_TABLE(t);
  constexpr std::size_t C = edgert::simd::kChannelBlock;
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> u(-1, 1);
  const std::size_t mr = t->gemm_mr, nr = t->gemm_nr;
  int round = 0;
  for (int mode : {0, 1, 2, 3})
    for (std::size_t k : {5, 17, 40})
      for (std::size_t tiles : {2, 3})
        // Whole tiles, shorter ones, and the kernel's short register block's (0: none).
        for (std::size_t mv : {mr, mr - 1, t->pointwise_short_mr})
          for (int accumulate : {0, 1}) {
            if (mv == 0) continue;
            ++round;
            const int blocked = mode == 0;
            const std::size_t step = mode >= 2 ? static_cast<std::size_t>(mode - 1) : 0;
            const std::size_t pixels = tiles * mr + 1, a_stride = blocked ? pixels * C : pixels;
            std::vector<float> a(step ? 3 * k + (tiles + 1) * mr * step : (k + C) * pixels * C);
            for (auto& v : a) v = u(rng);
            std::vector<std::uint32_t> offsets(k);
            for (auto& o : offsets) o = static_cast<std::uint32_t>(rng() % (3 * k));
            std::vector<float> b(k * nr), bias(nr), res(2 * pixels * C);
            for (auto* v : {&b, &bias, &res})
              for (auto& x : *v) x = u(rng);
            edgert::simd::PointwiseArgs args;
            set_pointwise_input_and_epilogue(args, round, a.data(), a_stride, blocked, offsets.data(), step,
                                             res.data() + C);
            args.k = k;
            args.b = b.data();
            args.ldb = nr;
            args.y_stride = pixels * C;
            args.mr_valid = mv;
            args.nr_valid = nr;
            args.bias = bias.data();
            args.accumulate = accumulate;
            args.a_tile_step = mr * (step ? step : blocked ? C : 1);
            args.y_tile_step = mr * C;
            std::vector<float> start(2 * pixels * C);
            for (auto& v : start) v = u(rng);
            std::vector<float> run = start, each = start, want = start;
            args.tiles = tiles;
            args.y = run.data() + C;
            t->pointwise_nc16_f32(args);
            args.y = want.data() + C;
            edgert::simd::reference::pointwise_nc16_f32(args);
            for (std::size_t n = 0; n < tiles; ++n) {
              edgert::simd::PointwiseArgs one = args;
              one.tiles = 1;
              one.a += n * args.a_tile_step;
              one.y = each.data() + C + n * args.y_tile_step;
              if (one.residual) one.residual += n * args.y_tile_step;
              t->pointwise_nc16_f32(one);
            }
            for (std::size_t i = 0; i < run.size(); ++i) {
              ASSERT_EQ(each[i], run[i]) << "mode " << mode << " k " << k << " tiles " << tiles << " rows " << mv
                                         << " accumulate " << accumulate << " at " << i;
              ASSERT_NEAR(want[i], run[i], 1e-5f * (1 + std::abs(want[i]))) << "mode " << mode << " at " << i;
            }
          }
}

TEST_P(Kernels, GemmMicroKernelMatchesReferenceOnEdgeTiles) {
  REQUIRE_TABLE(t);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  const std::size_t mr = t->gemm_mr, nr = t->gemm_nr, half = nr / 2;
  // Every activation, with and without scale, shift and residual (before and after).
  int round = 0;
  for (std::size_t k : {1, 2, 7, 64, 257}) {
    for (std::size_t mv : {std::size_t{1}, mr - 1, mr}) {
      for (std::size_t nv : {std::size_t{1}, half - 1, half, half + 1, nr - 1, nr}) {
        if (mv == 0 || nv == 0) continue;
        std::vector<float> a(mv * k), b(k * nv);
        for (auto& v : a) v = u(rng);
        for (auto& v : b) v = u(rng);
        std::vector<float> apack(mr * k), panel(nr * k);
        edgert::simd::gemm_pack_a_f32(mr, mv, k, a.data(), static_cast<std::ptrdiff_t>(k), 1, apack.data());
        edgert::simd::gemm_pack_b_f32(nr, k, nv, b.data(), static_cast<std::ptrdiff_t>(nv), 1, panel.data());
        // B as a packed panel (ldb = nr) or read in place from wider rows; the last row
        // ends at the guard page.
        const std::size_t ldb = k % 2 ? nr : nr + 5;
        GuardBuffer bpack((k - 1) * ldb + nr);
        for (std::size_t p = 0; p < k; ++p) std::copy_n(panel.data() + p * nr, nr, bpack.data() + p * ldb);
        const std::size_t ldc = nv + 3;
        for (int with_ep = 0; with_ep < 2; ++with_ep) {
          const int accumulate = (round + with_ep) % 2;
          std::vector<float> scale(mv), shift(mv);
          for (auto& v : scale) v = u(rng);
          for (auto& v : shift) v = u(rng);
          GuardBuffer res(mv * ldc);
          for (std::size_t i = 0; i < mv * ldc; ++i) res.data()[i] = u(rng);
          edgert::simd::GemmEpilogue ep;
          ep.act = kEveryAct[round % kActs];
          ep.scale = round % 3 ? scale.data() : nullptr;
          ep.shift = round % 4 ? shift.data() : nullptr;
          ep.residual = round % 5 < 3 ? res.data() : nullptr;
          ep.ldr = ldc;
          ep.residual_first = round % 2;
          ++round;
          GuardBuffer c(mv * ldc);
          for (std::size_t i = 0; i < mv * ldc; ++i) c.data()[i] = 0.5f;
          t->gemm_ukernel_f32(k, apack.data(), bpack.data(), ldb, c.data(), ldc, mv, nv, accumulate,
                              with_ep ? &ep : nullptr);
          for (std::size_t i = 0; i < mv; ++i)
            for (std::size_t j = 0; j < ldc; ++j) {
              double want = 0.5;
              if (j < nv) {
                want = accumulate ? 0.5 : 0.0;
                for (std::size_t p = 0; p < k; ++p) want += static_cast<double>(a[i * k + p]) * b[p * nv + j];
                if (with_ep) want = edgert::simd::reference::apply_epilogue(static_cast<float>(want), ep, i, j);
              }
              EXPECT_NEAR(want, c.data()[i * ldc + j], 1e-4 * (1 + std::sqrt(double(k))))
                  << "k " << k << " tile " << mv << "x" << nv << " at " << i << "," << j << " epilogue " << with_ep
                  << " act " << static_cast<int>(ep.act.kind);
            }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Kernels, ::testing::ValuesIn(kAll), [](const ::testing::TestParamInfo<Isa>& p) {
  return std::string(edgert::simd::isa_name(p.param));
});

TEST(Dispatch, CapsNeverExceedTheCpu) {
  const Isa best = edgert::simd::detect_isa();
  EXPECT_TRUE(edgert::simd::isa_supported(best));
  EXPECT_EQ(edgert::simd::kernels_up_to(Isa::scalar).isa, Isa::scalar);
  const KernelTable& t = edgert::simd::kernels_up_to(Isa::avx512);
  EXPECT_TRUE(edgert::simd::isa_supported(t.isa));
  EXPECT_EQ(edgert::simd::parse_isa("avx2"), Isa::avx2);
  EXPECT_FALSE(edgert::simd::parse_isa("avx3").has_value());
}

}  // namespace
