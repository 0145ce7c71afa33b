// Gemm (alpha, beta, transA, transB, optional broadcast C) and MatMul (numpy semantics:
// 1-D operands promoted, batch dims broadcast), on the blocked GEMM driver.
#include <algorithm>

#include "../exec/thread_pool.h"
#include "common.h"
#include "gemm_driver.h"

namespace edgert {
namespace {

class GemmOp : public Op {
 public:
  explicit GemmOp(const CreateContext& c) : node_(c.node), kernels_(c.kernels) {
    alpha_ = c.node.attr_float("alpha", 1.0f);
    beta_ = c.node.attr_float("beta", 1.0f);
    ta_ = c.node.attr_int("transA", 0) != 0;
    tb_ = c.node.attr_int("transB", 0) != 0;
  }
  void infer(InferContext& ctx) const override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    if (a.dtype() != DataType::float32 || b.dtype() != DataType::float32)
      fail(ErrorCode::unsupported, node_.label(), ": only float32 is supported, got ", dtype_name(a.dtype()));
    if (a.rank() != 2 || b.rank() != 2)
      ctx.error(cat("A and B must be matrices, got ", shape_str(a.shape()), " and ", shape_str(b.shape())));
    const std::int64_t m = ta_ ? a.dim(1) : a.dim(0), k = ta_ ? a.dim(0) : a.dim(1);
    const std::int64_t kb = tb_ ? b.dim(1) : b.dim(0), n = tb_ ? b.dim(0) : b.dim(1);
    if (k != kb) ctx.error(cat("inner dimensions disagree: A ", shape_str(a.shape()), ", B ", shape_str(b.shape())));
    if (ctx.has(2)) {
      const Shape& cs = ctx.in(2).shape();
      const Shape out = {m, n};
      if (cs.size() > 2 || broadcast_shapes(node_, {&out, &cs}) != out)
        ctx.error(cat("C of shape ", shape_str(cs), " does not broadcast to ", shape_str(out)));
    }
    ctx.set_output(0, DataType::float32, {m, n});
    ctx.scratch_bytes = gemm_scratch_bytes(kernels_, ctx.threads);
  }
  void run(const RunContext& ctx) const override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    Tensor& y = ctx.out(0);
    const std::int64_t m = y.dim(0), n = y.dim(1), k = ta_ ? a.dim(0) : a.dim(1);
    float* py = y.data<float>();
    const bool with_c = ctx.has(2) && beta_ != 0.0f;
    if (with_c) {
      const Tensor& c = ctx.in(2);
      Broadcaster br(y.shape(), {&c.shape()});
      const float* pc = c.data<float>();
      br.for_each([&](std::int64_t o, const std::int64_t* offs, std::int64_t len, const std::int64_t* st) {
        for (std::int64_t i = 0; i < len; ++i) py[o + i] = beta_ * pc[offs[0] + i * st[0]];
      });
    }
    const std::int64_t lda = a.dim(1), ldb = b.dim(1);
    MatrixRef am = ta_ ? MatrixRef{a.data<float>(), 1, lda} : MatrixRef{a.data<float>(), lda, 1};
    MatrixRef bm = tb_ ? MatrixRef{b.data<float>(), 1, ldb} : MatrixRef{b.data<float>(), ldb, 1};
    if (alpha_ == 1.0f) {
      gemm_f32(kernels_, ctx.pool, static_cast<std::size_t>(m), static_cast<std::size_t>(n),
               static_cast<std::size_t>(k), am, bm, py, static_cast<std::size_t>(n), with_c, ctx.scratch);
      return;
    }
    // alpha != 1: scale C by 1/alpha is not exact; compute A*B into y then combine.
    std::vector<float> keep;
    if (with_c) keep.assign(py, py + m * n);
    gemm_f32(kernels_, ctx.pool, static_cast<std::size_t>(m), static_cast<std::size_t>(n), static_cast<std::size_t>(k),
             am, bm, py, static_cast<std::size_t>(n), false, ctx.scratch);
    for (std::int64_t i = 0; i < m * n; ++i) py[i] = alpha_ * py[i] + (with_c ? keep[i] : 0.0f);
  }

 private:
  const Node& node_;
  const simd::KernelTable& kernels_;
  float alpha_, beta_;
  bool ta_, tb_;
};

class MatMulOp : public Op {
 public:
  explicit MatMulOp(const CreateContext& c) : node_(c.node), kernels_(c.kernels) {}

  void infer(InferContext& ctx) const override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    if (a.dtype() != b.dtype()) ctx.error("A and B must have the same type");
    if (a.dtype() != DataType::float32 && a.dtype() != DataType::float64 && a.dtype() != DataType::int32 &&
        a.dtype() != DataType::int64)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(a.dtype()), " is not supported");
    if (a.rank() == 0 || b.rank() == 0) ctx.error("MatMul operands must have rank 1 or more");
    ctx.set_output(0, a.dtype(), out_shape(a.shape(), b.shape()));
    ctx.scratch_bytes = gemm_scratch_bytes(kernels_, ctx.threads);
  }

  void run(const RunContext& ctx) const override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    Tensor& y = ctx.out(0);
    Shape as = a.shape(), bs = b.shape();
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const std::int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
    const Shape batch = broadcast_shapes(node_, {&abatch, &bbatch});
    // Batch entry i reads A and B at these offsets (in matrices), broadcasting over batch dims.
    const std::int64_t count = shape_numel(batch);
    auto offsets = [&](std::int64_t i, std::int64_t& ao, std::int64_t& bo) {
      ao = bo = 0;
      std::int64_t astride = 1, bstride = 1;
      const std::size_t r = batch.size();
      for (std::size_t d = r; d-- > 0;) {
        const std::int64_t idx = i % batch[d];
        i /= batch[d];
        const std::size_t da = d + abatch.size() - r, db = d + bbatch.size() - r;
        if (d + abatch.size() >= r) {
          if (abatch[da] != 1) ao += idx * astride;
          astride *= abatch[da];
        }
        if (d + bbatch.size() >= r) {
          if (bbatch[db] != 1) bo += idx * bstride;
          bstride *= bbatch[db];
        }
      }
    };
    if (a.dtype() == DataType::float32) {
      for (std::int64_t i = 0; i < count; ++i) {
        std::int64_t ao, bo;
        offsets(i, ao, bo);
        gemm_f32(kernels_, ctx.pool, static_cast<std::size_t>(m), static_cast<std::size_t>(n),
                 static_cast<std::size_t>(k), MatrixRef{a.data<float>() + ao * m * k, k, 1},
                 MatrixRef{b.data<float>() + bo * k * n, n, 1}, y.data<float>() + i * m * n,
                 static_cast<std::size_t>(n), false, ctx.scratch);
      }
      return;
    }
    dispatch_numeric(a.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (std::int64_t bi = 0; bi < count; ++bi) {
        std::int64_t ao, bo;
        offsets(bi, ao, bo);
        const T* pa = a.data<T>() + ao * m * k;
        const T* pb = b.data<T>() + bo * k * n;
        T* py = y.data<T>() + bi * m * n;
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t j = 0; j < n; ++j) {
            T acc = 0;
            for (std::int64_t p = 0; p < k; ++p) acc = wrap_add(acc, wrap_mul(pa[i * k + p], pb[p * n + j]));
            py[i * n + j] = acc;
          }
      }
    });
  }

 private:
  Shape out_shape(const Shape& a0, const Shape& b0) const {
    Shape a = a0, b = b0;
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    if (a.back() != b[b.size() - 2])
      fail(ErrorCode::shape, node_.label(), ": inner dimensions disagree: ", shape_str(a0), " x ", shape_str(b0));
    Shape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    Shape out = broadcast_shapes(node_, {&ab, &bb});
    if (a0.size() != 1) out.push_back(a[a.size() - 2]);
    if (b0.size() != 1) out.push_back(b.back());
    return out;
  }

  const Node& node_;
  const simd::KernelTable& kernels_;
};

}  // namespace

std::vector<OpEntry> gemm_ops() { return {{"Gemm", make_op<GemmOp>}, {"MatMul", make_op<MatMulOp>}}; }

}  // namespace edgert
