// Where the broker gets "now" for policy decisions and message semantics
// (created_at skew, erase_by, hold timeouts). Certificate validity and Kafka
// timeouts always use the real clock. Tests replace this clock to replay the
// synthetic scenario (docs/scenario.md) at T0 without sleeping.
#ifndef LIAISON_BROKER_CORE_CLOCK_H_
#define LIAISON_BROKER_CORE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace liaison::broker {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  void Advance(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_CLOCK_H_
