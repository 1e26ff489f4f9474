// A fixed pool of threads running queued tasks: signature verification and
// countersigning run here, in parallel across cores, so that gRPC threads and
// the Kafka consumer thread never do the CPU-heavy part themselves.
#ifndef LIAISON_BROKER_CORE_WORKER_POOL_H_
#define LIAISON_BROKER_CORE_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace liaison::broker {

class WorkerPool {
 public:
  // `threads` == 0 means one per hardware thread.
  explicit WorkerPool(unsigned threads);
  // Runs every task already queued, then joins (see Shutdown).
  ~WorkerPool();

  // Runs every queued and delayed task, joins the threads; afterwards Submit
  // and SubmitAfter drop their task (what is left at shutdown is replayed
  // from Kafka by the next node). Idempotent.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Thread-safe. Tasks run in FIFO order of submission (start order).
  void Submit(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `task` on the pool after `delay` (retries with back-off). Tasks
  // still waiting when the pool is destroyed run immediately then.
  void SubmitAfter(absl::Duration delay, std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const { return threads_.size(); }
  size_t queued() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  void TimerLoop() ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, std::function<void()>> delayed_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool timer_done_ ABSL_GUARDED_BY(mu_) = false;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
  std::thread timer_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_WORKER_POOL_H_
