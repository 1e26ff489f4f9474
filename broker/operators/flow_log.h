// What the policy stage decided recently, for operators: a ring of the last
// events (each numbered), per-(sender, recipient, kind, outcome) counts in
// 10-second buckets over the last hour, and live listeners. Metadata only:
// it stores FlowEvents (observer.h), which carry no content.
//
// Thread-safe. Bucket times come from the clock given (the real clock in the
// broker: operators watch wall-clock time, not the policy clock).
#ifndef LIAISON_BROKER_OPERATORS_FLOW_LOG_H_
#define LIAISON_BROKER_OPERATORS_FLOW_LOG_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/clock.h"
#include "broker/core/observer.h"

namespace liaison::broker {

struct FlowRecord {
  uint64_t seq = 0;  // 1, 2, 3, ... per node
  FlowEvent event;
  absl::Time observed_at;
};

struct FlowWindowStats {
  struct Flow {
    std::string sender;
    std::string recipient;
    liaison::v1::Kind kind = liaison::v1::KIND_UNSPECIFIED;
    liaison::v1::Outcome outcome = liaison::v1::OUTCOME_UNSPECIFIED;
    int64_t count = 0;
    int64_t bytes = 0;
  };
  struct Rule {
    std::string rule_id;
    liaison::v1::Outcome outcome = liaison::v1::OUTCOME_UNSPECIFIED;
    int64_t count = 0;
  };
  absl::Duration window;
  absl::Duration covered;
  std::vector<Flow> flows;  // sorted by sender, recipient, kind, outcome
  std::vector<Rule> rules;  // sorted by rule id, outcome
  int64_t decisions = 0;
};

class FlowLog {
 public:
  struct Options {
    size_t capacity = 1000;
    absl::Duration bucket = absl::Seconds(10);
    absl::Duration horizon = absl::Hours(1);
  };
  // `clock` is not owned and must outlive the log.
  explicit FlowLog(const Clock* clock, Options options);
  explicit FlowLog(const Clock* clock) : FlowLog(clock, Options()) {}

  void Add(const FlowEvent& event) ABSL_LOCKS_EXCLUDED(mu_);

  // The last `max` events, oldest first.
  std::vector<FlowRecord> Recent(size_t max) const ABSL_LOCKS_EXCLUDED(mu_);
  // Events with seq > `after`, oldest first, at most `max` (the oldest ones
  // may have left the ring: the first seq then jumps).
  std::vector<FlowRecord> Since(uint64_t after, size_t max) const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t last_seq() const ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until an event with seq > `after` exists (true), or `timeout`
  // passes or Close is called (false).
  bool WaitAfter(uint64_t after, absl::Duration timeout) const ABSL_LOCKS_EXCLUDED(mu_);

  // Counts over the last `window` (cut to the horizon), ending now.
  FlowWindowStats Stats(absl::Duration window) const ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration horizon() const { return options_.horizon; }

  // `listener` is called for every new event, under the log's lock, on the
  // thread that reported the event: it must be quick and must not call into
  // the log. After RemoveListener returns it is never called again.
  using Listener = std::function<void(const FlowRecord&)>;
  uint64_t AddListener(Listener listener) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveListener(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);

  // Wakes every waiter for good (the node is shutting down).
  void Close() ABSL_LOCKS_EXCLUDED(mu_);
  bool closed() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using FlowKey =
      std::tuple<std::string, std::string, int, int>;  // sender, recipient, kind, outcome
  using RuleKey = std::tuple<std::string, int>;        // rule id, outcome
  struct Bucket {
    absl::Time start;
    std::map<FlowKey, std::pair<int64_t, int64_t>> flows;  // count, bytes
    std::map<RuleKey, int64_t> rules;
    int64_t decisions = 0;
  };
  void Prune(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* const clock_;
  const Options options_;
  const absl::Time started_;

  mutable absl::Mutex mu_;
  std::deque<FlowRecord> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Bucket> buckets_ ABSL_GUARDED_BY(mu_);  // oldest first, non-empty only
  std::map<uint64_t, Listener> listeners_ ABSL_GUARDED_BY(mu_);
  uint64_t next_listener_ ABSL_GUARDED_BY(mu_) = 1;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_FLOW_LOG_H_
