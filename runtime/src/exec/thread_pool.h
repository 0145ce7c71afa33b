// A fixed pool of worker threads for data-parallel loops. The calling thread takes part.
// Between loops a worker spins for a short while (kSpin) and then sleeps on a condition
// variable, so the back-to-back loops of one inference hand over in well under a
// microsecond while an idle pool costs no CPU. A pool with more threads than cores never
// spins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace edgert {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /// Calls fn(begin, end) over [0, n) split into at most size() contiguous chunks, each
  /// at least `grain` long, and returns when all are done. fn must not throw.
  template <class F>
  void parallel_for(std::size_t n, std::size_t grain, F&& fn) {
    const std::size_t chunks = chunk_count(n, grain);
    if (chunks <= 1) {
      if (n) fn(std::size_t{0}, n);
      return;
    }
    run(
        n, chunks,
        [](void* ctx, std::size_t b, std::size_t e, std::size_t) {
          (*static_cast<std::remove_reference_t<F>*>(ctx))(b, e);
        },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  /// Calls fn(task, worker) for every task in [0, tasks); worker < size() identifies the
  /// thread (for per-thread scratch). Tasks are split statically into contiguous ranges.
  template <class F>
  void parallel_tasks(std::size_t tasks, F&& fn) {
    const std::size_t chunks = chunk_count(tasks, 1);
    if (chunks <= 1) {
      for (std::size_t t = 0; t < tasks; ++t) fn(t, std::size_t{0});
      return;
    }
    run(
        tasks, chunks,
        [](void* ctx, std::size_t b, std::size_t e, std::size_t w) {
          for (std::size_t t = b; t < e; ++t) (*static_cast<std::remove_reference_t<F>*>(ctx))(t, w);
        },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Thunk = void (*)(void*, std::size_t, std::size_t, std::size_t);
  std::size_t chunk_count(std::size_t n, std::size_t grain) const;
  void run(std::size_t n, std::size_t chunks, Thunk thunk, void* ctx);
  void work(std::size_t worker);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  // The job (n_, chunks_, thunk_, ctx_) and generation_ change under mu_; generation_ and
  // remaining_ are atomic so the spinning sides can watch them without the lock.
  std::atomic<std::size_t> generation_{0}, remaining_{0};
  std::size_t n_ = 0, chunks_ = 0;
  Thunk thunk_ = nullptr;
  void* ctx_ = nullptr;
  bool stop_ = false;
  bool spin_;  // false when there are more threads than cores
};

}  // namespace edgert
