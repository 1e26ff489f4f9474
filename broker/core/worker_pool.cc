#include "broker/core/worker_pool.h"

#include "absl/time/clock.h"

namespace liaison::broker {

WorkerPool::WorkerPool(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  timer_ = std::thread([this] { TimerLoop(); });
}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  timer_.join();
  for (std::thread& t : threads_) t.join();
  absl::MutexLock lock(&mu_);
  joined_ = true;
}

void WorkerPool::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (joined_) return;
  tasks_.push_back(std::move(task));
}

void WorkerPool::SubmitAfter(absl::Duration delay, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  delayed_.emplace(absl::Now() + delay, std::move(task));
}

void WorkerPool::TimerLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time next =
        delayed_.empty() ? absl::Now() + absl::Milliseconds(100) : delayed_.begin()->first;
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithDeadline(absl::Condition(&woken),
                          std::min(next, absl::Now() + absl::Milliseconds(100)));
    const absl::Time now = absl::Now();
    while (!delayed_.empty() && (stopping_ || delayed_.begin()->first <= now)) {
      tasks_.push_back(std::move(delayed_.begin()->second));
      delayed_.erase(delayed_.begin());
    }
    if (stopping_) {
      timer_done_ = true;
      return;
    }
  }
}

size_t WorkerPool::queued() const {
  absl::MutexLock lock(&mu_);
  return tasks_.size();
}

void WorkerPool::Loop() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return (stopping_ && timer_done_) || !tasks_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace liaison::broker
