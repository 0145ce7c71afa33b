// Blocked single-precision GEMM over the simd micro-kernels: C = A * B (+ C).
// A and B are addressed with row and column strides, so transposed operands need no copy.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>

#include "edgert/simd/kernels.h"
#include "edgert/tensor.h"

namespace edgert {

class ThreadPool;

struct MatrixRef {
  const float* data;
  std::ptrdiff_t row_stride;
  std::ptrdiff_t col_stride;
};

/// B as the driver reads it: a strided matrix, or a function that packs a block of B
/// itself (a convolution generates its im2col columns straight into the panels).
struct BSource {
  /// Packs rows [p0, p0 + kc) x columns [j0, j0 + nc) of B into ceil(nc / nr) panels of
  /// kc * nr floats (row p of panel q holds columns j0 + q * nr ...), zero past column nc.
  using PackFn = void (*)(const void* ctx, std::size_t nr, std::size_t p0, std::size_t kc, std::size_t j0,
                          std::size_t nc, float* out);
  BSource(MatrixRef m) : matrix(m) {}  // NOLINT(google-explicit-constructor): a matrix is a source
  BSource(PackFn f, const void* c) : matrix{nullptr, 0, 0}, pack(f), ctx(c) {}
  MatrixRef matrix;
  PackFn pack = nullptr;
  const void* ctx = nullptr;
};

/// Scratch bytes gemm_f32 needs for `threads` workers.
std::size_t gemm_scratch_bytes(const simd::KernelTable& k, int threads);

/// C[m x n] (row stride ldc) = A[m x k] * B[k x n], plus C's old value when `accumulate`,
/// then the epilogue `ep` on every element when it is given (its scale and shift indexed by
/// row of C, its residual laid out as C with row stride ep->ldr). Each element of C is
/// summed in the same order whatever the thread count.
void gemm_f32(const simd::KernelTable& kt, ThreadPool* pool, std::size_t m, std::size_t n, std::size_t k, MatrixRef a,
              const BSource& b, float* c, std::size_t ldc, bool accumulate, void* scratch,
              const simd::GemmEpilogue* ep = nullptr);

/// Built with AddressSanitizer (GCC's macro, Clang's feature test)?
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

/// Weights packed at load of 16 KiB up to 2 MiB, bump-allocated one after another from
/// blocks of huge pages that the ops of one model share. A layer's panels are read a part
/// of 16 KiB at a time, a panel's length apart, for few tiles on a small map and cold from
/// memory: on 4 KiB pages of their own nearly every part starts on a page the TLB has not
/// seen (a 1.2 MiB 960 -> 320 1x1 spans 300 pages), and the prefetch of the next part waits
/// on the page walk. Blocks of 2 MiB or more already get huge pages of their own (see
/// aligned_alloc_shared). One thread, Zen 3, 30-150 pairs of runs in one process, this
/// against pages of their own: mobilenetv2 2.3% faster (its 7x7 1x1s 5-8%), densenet121
/// 1.9%, resnet50 1.2%; two threads 1.9%, 1.4%, 0.6%. A block's unused tail is never
/// touched, but the last huge page in use holds up to 2 MiB that no weight needs (peak RSS
/// mobilenetv2 29.4 -> 32.2 MiB, densenet121 73.8 -> 75.7, resnet50 169.8 -> 171.0).
class PackedArena {
 public:
  /// False under AddressSanitizer, where every weight keeps a block of its own so that a read
  /// past its end is caught.
  static constexpr bool kEnabled = !kAddressSanitizer;
  PackedArena() = default;
  PackedArena(const PackedArena&) = delete;
  PackedArena& operator=(const PackedArena&) = delete;
  /// n floats, 64-byte aligned, not initialised, kept alive by the pointer (the block goes
  /// with the last weight in it); null when n is outside the sizes the arena takes.
  /// Safe to call from several threads.
  std::shared_ptr<float> take(std::size_t n);

  /// While it lives, alloc_packed on the constructing thread takes from `arena`.
  class Use {
   public:
    explicit Use(PackedArena& arena);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    PackedArena* previous_;
  };

 private:
  std::mutex mu_;
  std::shared_ptr<void> block_;
  std::size_t used_ = 0;
};

/// n floats for weights packed at load, not initialised: from the thread's PackedArena
/// where one is in use and takes the size, else a block of their own (pages of their own
/// for a large one, huge pages where it can: see aligned_alloc_shared).
std::shared_ptr<float> alloc_packed(std::size_t n);

/// A[m x k] packed once (at load, for constant weights) into the micro-kernel's panels:
/// for every depth block of the driver, ceil(m / mr) panels of mr rows, zero-padded.
struct PackedA {
  std::shared_ptr<float> panels;  // alloc_packed: packing writes every element
  std::size_t m = 0, k = 0, mr = 0;
};

PackedA gemm_pack_a(const simd::KernelTable& kt, std::size_t m, std::size_t k, MatrixRef a);

/// As gemm_f32 with A packed by gemm_pack_a for the same kernel table.
void gemm_f32_packed(const simd::KernelTable& kt, ThreadPool* pool, std::size_t n, const PackedA& a, const BSource& b,
                     float* c, std::size_t ldc, bool accumulate, void* scratch, const simd::GemmEpilogue* ep = nullptr);

/// The depth blocks gemm_pack_a (and the driver) split a product of depth k into.
std::size_t gemm_depth_block(std::size_t k);

/// C[m x n] (row stride ldc) = A * B on the calling thread, A packed by gemm_pack_a and B
/// already in the micro-kernel's panels: depth block p0 (kc = min(gemm_depth_block(k),
/// k - p0) rows) starts at bpanels + p0 * n_pad and holds n_pad / nr panels of kc x nr
/// floats. n_pad is a multiple of nr, at least n; columns past n are read and never stored.
void gemm_f32_prepacked(const simd::KernelTable& kt, std::size_t n, std::size_t n_pad, const PackedA& a,
                        const float* bpanels, float* c, std::size_t ldc);

}  // namespace edgert
