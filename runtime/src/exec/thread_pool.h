// A fixed pool of worker threads for data-parallel loops. The calling thread takes part.
// Between loops a worker spins for a short while (kSpin) and then sleeps on a condition
// variable, so the back-to-back loops of one inference hand over in well under a
// microsecond while an idle pool costs no CPU. A pool with more threads than cores never
// spins.
//
// A loop is split into one contiguous range per thread; each thread takes the items of its
// own range in order and then helps with the others' (a task at a time for parallel_tasks,
// a whole range for parallel_for), so a thread the machine holds back (a vCPU another
// tenant has, a worker still waking up) delays the loop by the item it is on, not by its
// whole share. Items are claimed through a cursor per range tagged with the loop's
// generation, so a thread that wakes late cannot take items of a later loop for an earlier one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
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
  /// at least `grain` long, on whichever threads are free, and returns when all are done.
  /// fn must not throw.
  template <class F>
  void parallel_for(std::size_t n, std::size_t grain, F&& fn) {
    const std::size_t chunks = chunk_count(n, grain);
    if (chunks <= 1) {
      if (n) fn(std::size_t{0}, n);
      return;
    }
    run(
        n, chunks, false,
        [](void* ctx, std::size_t b, std::size_t e, std::size_t) {
          (*static_cast<std::remove_reference_t<F>*>(ctx))(b, e);
        },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  /// Calls fn(task, worker) once for every task in [0, tasks); worker < size() identifies
  /// the thread (for per-thread scratch: two calls with the same worker never overlap).
  /// Each thread starts on its own contiguous range of tasks; which thread runs a task
  /// must not change its result.
  template <class F>
  void parallel_tasks(std::size_t tasks, F&& fn) {
    const std::size_t chunks = chunk_count(tasks, 1);
    if (chunks <= 1) {
      for (std::size_t t = 0; t < tasks; ++t) fn(t, std::size_t{0});
      return;
    }
    run(
        tasks, chunks, true,
        [](void* ctx, std::size_t b, std::size_t e, std::size_t w) {
          for (std::size_t t = b; t < e; ++t) (*static_cast<std::remove_reference_t<F>*>(ctx))(t, w);
        },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Thunk = void (*)(void*, std::size_t, std::size_t, std::size_t);
  struct Job {
    std::size_t n = 0, chunks = 0;
    bool single = false;  // items claimed one at a time (parallel_tasks), else whole ranges
    Thunk thunk = nullptr;
    void* ctx = nullptr;
    std::uint32_t tag = 0;  // the generation, as the cursors carry it
  };
  // The next unclaimed item of one range in the low 32 bits, the loop's tag in the high
  // ones; a cache line each, as the threads claim from them side by side.
  struct alignas(64) Cursor {
    std::atomic<std::uint64_t> next{0};
  };
  static constexpr std::uint64_t kOffsetMask = 0xffffffffu;
  std::size_t chunk_count(std::size_t n, std::size_t grain) const;
  void run(std::size_t n, std::size_t chunks, bool single, Thunk thunk, void* ctx);
  // Runs the job's items as thread `self`: its own range first, then the others'.
  void take_part(const Job& job, std::size_t self);
  void work(std::size_t worker);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  // The job and generation_ change under mu_; generation_ and finished_ (items done in
  // the current job) are atomic so the spinning sides can watch them without the lock.
  std::atomic<std::size_t> generation_{0}, finished_{0};
  Job job_;
  std::unique_ptr<Cursor[]> cursors_;  // size() of them
  bool stop_ = false;
  bool spin_;  // false when there are more threads than cores
};

}  // namespace edgert
