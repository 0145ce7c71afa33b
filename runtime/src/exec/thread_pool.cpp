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

void ThreadPool::run(std::size_t n, std::size_t chunks, Thunk thunk, void* ctx) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    n_ = n;
    chunks_ = chunks;
    thunk_ = thunk;
    ctx_ = ctx;
    remaining_.store(chunks - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  thunk(ctx, 0, n / chunks, 0);
  auto finished = [this] { return remaining_.load(std::memory_order_acquire) == 0; };
  if (spin_until(spin_, finished)) return;
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, finished);
}

void ThreadPool::work(std::size_t worker) {
  std::size_t seen = 0;
  for (;;) {
    std::size_t n, chunks;
    Thunk thunk;
    void* ctx;
    auto posted = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    spin_until(spin_, posted);
    {
      // The job is read under the lock: a worker that sat out the last loop may be
      // reading while the caller posts the next one.
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, posted);
      seen = generation_.load(std::memory_order_relaxed);
      if (stop_) return;
      n = n_, chunks = chunks_, thunk = thunk_, ctx = ctx_;
    }
    if (worker < chunks) {
      thunk(ctx, n * worker / chunks, n * (worker + 1) / chunks, worker);
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);  // the caller is spinning or inside wait()
        done_.notify_one();
      }
    }
  }
}

}  // namespace edgert
