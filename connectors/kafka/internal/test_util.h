// Helpers for this folder's tests: collect delivery reports, poll a consumer
// until a condition holds. Everything waits on a condition with a deadline.
#ifndef LIAISON_CONNECTORS_KAFKA_INTERNAL_TEST_UTIL_H_
#define LIAISON_CONNECTORS_KAFKA_INTERNAL_TEST_UTIL_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "base/testing/log_capture.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/producer.h"

namespace liaison::kafka::testing {

// Against the mock: an empty fetch is held for fetch.wait.max.ms.
inline ClientConfig MockConfig(const std::string& bootstrap) {
  ClientConfig config;
  config.bootstrap_servers = bootstrap;
  config.client_id = "kafka-test";
  config.fetch_wait_max_ms = 5;
  return config;
}

// Group consumers on the mock: every membership change costs
// session.timeout.ms - 1 s, so keep it at the 6 s minimum.
inline ConsumerOptions GroupOptions(const std::string& group, const std::string& topic) {
  ConsumerOptions options;
  options.group_id = group;
  options.topics = {topic};
  options.session_timeout_ms = 6000;
  options.heartbeat_interval_ms = 500;
  return options;
}

inline ConsumerOptions ReaderOptions(const std::string& topic) {
  ConsumerOptions options;
  options.topics = {topic};
  return options;
}

// Thread-safe sink for delivery reports.
class Reports {
 public:
  DeliveryCallback Callback() {
    return [this](const DeliveryReport& r) {
      absl::MutexLock lock(&mu_);
      reports_.push_back(r);
      threads_.push_back(std::this_thread::get_id());
    };
  }
  // Waits until at least `n` reports arrived; returns them.
  std::vector<DeliveryReport> WaitFor(size_t n, absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return reports_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return reports_;
  }
  std::vector<DeliveryReport> Get() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }
  std::vector<std::thread::id> Threads() {
    absl::MutexLock lock(&mu_);
    return threads_;
  }

 private:
  absl::Mutex mu_;
  std::vector<DeliveryReport> reports_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

using ::liaison::testing::LogCapture;

// Everything several polls returned, in order.
struct Polled {
  std::vector<Record> records;
  std::vector<Gap> gaps;
  std::vector<TopicPartition> assigned;
  std::vector<TopicPartition> revoked;
};

// Polls until `done(polled)` holds or `timeout` passes. Returns false on a
// poll error or timeout.
inline bool PollUntil(Consumer& consumer, Polled& polled,
                      const std::function<bool(const Polled&)>& done,
                      absl::Duration timeout = absl::Seconds(30), size_t max_records = 500) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done(polled)) {
    if (absl::Now() >= deadline) return false;
    absl::StatusOr<PollResult> r = consumer.Poll(absl::Milliseconds(100), max_records);
    if (!r.ok()) return false;
    for (Record& rec : r->records) polled.records.push_back(std::move(rec));
    for (Gap& g : r->gaps) polled.gaps.push_back(std::move(g));
    for (TopicPartition& tp : r->assigned) polled.assigned.push_back(std::move(tp));
    for (TopicPartition& tp : r->revoked) polled.revoked.push_back(std::move(tp));
  }
  return true;
}

}  // namespace liaison::kafka::testing

#endif  // LIAISON_CONNECTORS_KAFKA_INTERNAL_TEST_UTIL_H_
