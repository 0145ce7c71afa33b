#include "thread_pool.h"

#include <algorithm>
#include <chrono>

namespace edgert {
namespace {
// How long a worker (for the next loop) or the caller (for the others to finish) spins
// before blocking; inference loops follow each other within a few microseconds.
constexpr auto kSpin = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until done() or kSpin has passed; returns done(). `spin` false: no spinning.
template <class Done>
bool spin_until(bool spin, Done&& done) {
  if (!spin) return done();
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (unsigned i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) return done();
  }
}
}  // namespace

// With more threads than cores a spinning thread takes the core the thread it waits for
// needs (4 threads on 2 cores ran mobilenetv2 6x slower), so such pools only sleep.
ThreadPool::ThreadPool(int threads)
    : spin_(threads <= static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {
  cursors_ = std::make_unique<Cursor[]>(static_cast<std::size_t>(std::max(threads, 1)));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(static_cast<std::size_t>(i)); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

std::size_t ThreadPool::chunk_count(std::size_t n, std::size_t grain) const {
  if (grain == 0) grain = 1;
  std::size_t chunks = n / grain;
  if (chunks > static_cast<std::size_t>(size())) chunks = static_cast<std::size_t>(size());
  return chunks == 0 ? 1 : chunks;
}

void ThreadPool::run(std::size_t n, std::size_t chunks, bool single, Thunk thunk, void* ctx) {
  Job job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::size_t gen = generation_.load(std::memory_order_relaxed) + 1;
    // A cursor counts the items taken from its range in 32 bits: a range longer than that
    // goes whole to one thread.
    job = Job{n, chunks, single && n / chunks < kOffsetMask, thunk, ctx, static_cast<std::uint32_t>(gen)};
    job_ = job;
    finished_.store(0, std::memory_order_relaxed);
    for (std::size_t c = 0; c < chunks; ++c)
      cursors_[c].next.store(std::uint64_t{job.tag} << 32, std::memory_order_relaxed);
    generation_.store(gen, std::memory_order_release);
  }
  wake_.notify_all();
  take_part(job, 0);
  auto finished = [this, n] { return finished_.load(std::memory_order_acquire) == n; };
  if (spin_until(spin_, finished)) return;
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, finished);
}

void ThreadPool::take_part(const Job& job, std::size_t self) {
  const std::uint64_t tag = std::uint64_t{job.tag} << 32;
  for (std::size_t k = 0; k < job.chunks; ++k) {
    const std::size_t c = (self + k) % job.chunks;
    const std::size_t begin = job.n * c / job.chunks, end = job.n * (c + 1) / job.chunks;
    // The cursor's offset once the range is all taken (a whole range: any non-zero offset).
    const std::uint64_t taken = std::min<std::uint64_t>(end - begin, job.single ? end - begin : 1);
    std::atomic<std::uint64_t>& next = cursors_[c].next;
    std::uint64_t v = next.load(std::memory_order_relaxed);
    for (;;) {
      if ((v & ~kOffsetMask) != tag) return;  // a later loop's cursor: this loop is over
      const std::uint64_t off = v & kOffsetMask;
      if (off >= taken) break;
      const std::size_t i = begin + static_cast<std::size_t>(off), j = job.single ? i + 1 : end;
      if (!next.compare_exchange_weak(v, tag | (job.single ? off + 1 : taken), std::memory_order_relaxed)) continue;
      job.thunk(job.ctx, i, j, self);
      if (finished_.fetch_add(j - i, std::memory_order_acq_rel) + (j - i) == job.n) {
        std::lock_guard<std::mutex> lock(mu_);  // the caller is spinning or inside wait()
        done_.notify_one();
      }
      v = next.load(std::memory_order_relaxed);
    }
  }
}

void ThreadPool::work(std::size_t worker) {
  std::size_t seen = 0;
  for (;;) {
    Job job;
    auto posted = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    spin_until(spin_, posted);
    {
      // The job is read under the lock: a worker that sat out the last loop may be
      // reading while the caller posts the next one.
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, posted);
      seen = generation_.load(std::memory_order_relaxed);
      if (stop_) return;
      job = job_;
    }
    take_part(job, worker);
  }
}

}  // namespace edgert
