// The thread pool on its own: every item runs exactly once, on a worker id below size()
// that no two running items share, loop after loop; a thread that is held up has its
// remaining tasks taken by the others.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "exec/thread_pool.h"

namespace edgert {
namespace {

TEST(ThreadPool, EveryTaskRunsOnceOnAWorkerNoOtherTaskHolds) {
  // 4 threads on this machine's cores spin between loops; 2 * cores + 1 never spin.
  const int many = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 1;
  for (int threads : {1, 2, 3, many}) {
    ThreadPool pool(threads);
    ASSERT_EQ(pool.size(), threads);
    std::vector<std::atomic<int>> busy(static_cast<std::size_t>(threads));
    std::atomic<int> clashes{0}, bad_worker{0};
    // Many loops back to back, of every size around the thread count and one large.
    for (int round = 0; round < 300; ++round)
      for (std::size_t tasks : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                                std::size_t{64}, std::size_t{1000}}) {
        std::vector<std::atomic<int>> ran(tasks);
        pool.parallel_tasks(tasks, [&](std::size_t t, std::size_t w) {
          if (w >= static_cast<std::size_t>(threads)) {
            ++bad_worker;
            return;
          }
          if (busy[w].exchange(1) != 0) ++clashes;
          ran[t].fetch_add(1);
          busy[w].store(0);
        });
        for (std::size_t t = 0; t < tasks; ++t) ASSERT_EQ(ran[t].load(), 1) << threads << " threads, task " << t;
      }
    EXPECT_EQ(clashes.load(), 0);
    EXPECT_EQ(bad_worker.load(), 0);
  }
}

TEST(ThreadPool, ParallelForCoversTheRangeOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int round = 0; round < 200; ++round)
      for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{4097}}) {
        std::vector<std::atomic<int>> hit(n);
        std::atomic<int> calls{0};
        pool.parallel_for(n, 16, [&](std::size_t b, std::size_t e) {
          ++calls;
          for (std::size_t i = b; i < e; ++i) hit[i].fetch_add(1);
        });
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hit[i].load(), 1) << threads << " threads, item " << i;
        // Contiguous chunks of at least the grain, at most one per thread.
        EXPECT_LE(calls.load(), std::max<int>(1, std::min<int>(threads, static_cast<int>(n / 16))));
      }
  }
}

// Task 0 (the calling thread's first) returns only once every other task has run: the rest
// of the caller's own range must be taken by the other threads. Without that the loop
// would wait for task 0 forever; the wait gives up after 20 s so a failure cannot hang.
TEST(ThreadPool, AHeldUpThreadsTasksAreTakenByTheOthers) {
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    for (int round = 0; round < 20; ++round) {
      const std::size_t tasks = 12;
      std::atomic<std::size_t> done{0};
      std::atomic<bool> gave_up{false};
      pool.parallel_tasks(tasks, [&](std::size_t t, std::size_t) {
        if (t == 0) {
          const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
          while (done.load() < tasks - 1)
            if (std::chrono::steady_clock::now() > until) {
              gave_up = true;
              break;
            }
        }
        done.fetch_add(1);
      });
      ASSERT_FALSE(gave_up.load()) << threads << " threads: the caller's tasks waited for it";
      ASSERT_EQ(done.load(), tasks);
    }
  }
}

}  // namespace
}  // namespace edgert
