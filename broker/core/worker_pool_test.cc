// The worker pool under concurrent use: every task submitted from many
// threads runs once, what a task writes is visible after Shutdown, start
// order is FIFO, delayed tasks run on time or at shutdown, and nothing runs
// after Shutdown. `scripts/dev.sh sanitize tsan` runs these under
// ThreadSanitizer, where the plain (non-atomic) writes below would be
// reported if the pool's locking did not order them.
#include "broker/core/worker_pool.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

TEST(WorkerPool, TasksFromManyThreadsRunOnceAndTheirWritesAreSeenAfterShutdown) {
  constexpr int kSubmitters = 4;
  constexpr int kPerSubmitter = 200;
  // One slot per task, written by whichever worker runs it, read here after
  // Shutdown: the pool's join is the only edge between the two.
  std::vector<std::string> slots(kSubmitters * kPerSubmitter);
  WorkerPool pool(3);
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back([&, s] {
      for (int i = 0; i < kPerSubmitter; ++i) {
        const int slot = s * kPerSubmitter + i;
        pool.Submit([&slots, slot] { slots[slot] += "ran " + std::to_string(slot); });
      }
    });
  }
  for (std::thread& t : submitters) t.join();
  pool.Shutdown();
  for (int slot = 0; slot < kSubmitters * kPerSubmitter; ++slot) {
    ASSERT_EQ(slots[slot], "ran " + std::to_string(slot)) << "slot " << slot;
  }
}

TEST(WorkerPool, OneThreadStartsTasksInSubmissionOrder) {
  std::vector<int> order;  // touched only by the pool's single worker
  WorkerPool pool(1);
  for (int i = 0; i < 50; ++i) pool.Submit([&order, i] { order.push_back(i); });
  pool.Shutdown();
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
}

TEST(WorkerPool, DelayedTasksRunAfterTheirDelayOrAtShutdown) {
  WorkerPool pool(2);
  absl::Notification ran;
  absl::Time ran_at;  // written by the task, read after the notification
  const absl::Time submitted = absl::Now();
  pool.SubmitAfter(absl::Milliseconds(150), [&] {
    ran_at = absl::Now();
    ran.Notify();
  });
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(ran_at - submitted, absl::Milliseconds(150));

  // A task due in an hour still runs when the pool shuts down.
  bool late_ran = false;
  pool.SubmitAfter(absl::Hours(1), [&] { late_ran = true; });
  pool.Shutdown();
  EXPECT_TRUE(late_ran);
}

TEST(WorkerPool, NothingRunsAfterShutdown) {
  WorkerPool pool(2);
  pool.Shutdown();
  bool ran = false;
  pool.Submit([&] { ran = true; });
  pool.SubmitAfter(absl::ZeroDuration(), [&] { ran = true; });
  pool.Shutdown();  // idempotent
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.queued(), 0u);
}

}  // namespace
}  // namespace liaison::broker
