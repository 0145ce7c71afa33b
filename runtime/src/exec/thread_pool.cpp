#include "thread_pool.h"

namespace edgert {

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(static_cast<std::size_t>(i)); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    ++generation_;
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
    remaining_ = chunks - 1;
    ++generation_;
  }
  wake_.notify_all();
  thunk(ctx, 0, n / chunks, 0);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [this] { return remaining_ == 0; });
}

void ThreadPool::work(std::size_t worker) {
  std::size_t seen = 0;
  for (;;) {
    std::size_t n, chunks;
    Thunk thunk;
    void* ctx;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (stop_) return;
      n = n_, chunks = chunks_, thunk = thunk_, ctx = ctx_;
    }
    if (worker < chunks) {
      thunk(ctx, n * worker / chunks, n * (worker + 1) / chunks, worker);
      std::lock_guard<std::mutex> lock(mu_);
      if (--remaining_ == 0) done_.notify_one();
    }
  }
}

}  // namespace edgert
