// Materialises compacted Kafka topics into memory: reads every partition
// from the beginning and keeps following it, handing each record to its
// topic's `apply` on the mirror's own thread. One mirror can follow several
// topics with one Kafka client (fewer connections and idle fetches). Broker state lives in Kafka;
// this is how a node gets it back at start-up (docs/architecture.md "State lives in Kafka").
#ifndef LIAISON_BROKER_STATE_TOPIC_MIRROR_H_
#define LIAISON_BROKER_STATE_TOPIC_MIRROR_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"

namespace liaison::broker {

class TopicMirror {
 public:
  using Apply = std::function<void(const kafka::Record&)>;

  TopicMirror(kafka::ClientConfig config, std::string topic, Apply apply);
  TopicMirror(kafka::ClientConfig config, std::vector<std::pair<std::string, Apply>> topics);
  ~TopicMirror();  // stops and joins

  // Starts the reader thread.
  absl::Status Start();
  // Blocks until the mirror has applied everything that was in its topics
  // when it started: each partition up to the end Kafka gave when the
  // mirror first learnt it (DeadlineExceeded otherwise, naming the first
  // partition behind).
  absl::Status WaitCaughtUp(absl::Duration timeout);
  // Read to the end: calls `done` with OK once the mirror has applied every
  // record its topics held when this was called (every committed one, on
  // Kafka with transactions): the ends of all its partitions are asked of
  // Kafka (Consumer::EndOffsets, in one query for the calls waiting then)
  // and compared with what the mirror applied, transaction markers and
  // aborted records included (Consumer::Positions). Otherwise, after
  // `timeout`, with Unavailable naming the first partition behind (or why
  // its end could not be learnt), also when the mirror stops. `done` runs
  // on the mirror's barrier thread (started on the first call): it must not
  // block. Thread-safe.
  void AfterReadToEnd(absl::Duration timeout, std::function<void(absl::Status)> done)
      ABSL_LOCKS_EXCLUDED(barrier_mu_);
  // The same, blocking: returns what `done` would get. Not from the
  // mirror's own threads.
  absl::Status ReadToEnd(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(barrier_mu_);

  void Stop();

 private:
  using Key = std::pair<std::string, int32_t>;
  struct Barrier {
    absl::Time deadline;
    std::function<void(absl::Status)> done;
    std::vector<int64_t> ends;  // by partitions_ index, once known
  };
  void Loop();
  void BarrierLoop() ABSL_LOCKS_EXCLUDED(barrier_mu_);
  // What Loop applied so far, for the barriers and the catch-up: `next`
  // (records and gaps) raised by the consumer's positions; returns it by
  // partitions_ index.
  std::vector<int64_t> PublishApplied(const std::map<Key, int64_t>& next)
      ABSL_LOCKS_EXCLUDED(barrier_mu_);
  // "" when `ends` are applied, else the first partition behind.
  std::string Behind(const std::vector<int64_t>& ends) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(barrier_mu_);

  const kafka::ClientConfig config_;
  const std::map<std::string, Apply> topics_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::atomic<bool> stop_{false};
  absl::Notification caught_up_;
  std::thread thread_;

  // Every partition the mirror reads (set by Start).
  std::vector<kafka::TopicPartition> partitions_;
  absl::Mutex barrier_mu_;
  absl::CondVar barrier_cv_;
  std::vector<int64_t> applied_ ABSL_GUARDED_BY(barrier_mu_);  // by partitions_ index
  // The ends WaitCaughtUp waits for (empty until learnt), by partitions_ index.
  std::vector<int64_t> start_ends_ ABSL_GUARDED_BY(barrier_mu_);
  std::vector<Barrier> asked_ ABSL_GUARDED_BY(barrier_mu_);    // ends not yet known
  std::vector<Barrier> waiting_ ABSL_GUARDED_BY(barrier_mu_);  // ends known
  bool barrier_started_ ABSL_GUARDED_BY(barrier_mu_) = false;
  bool barrier_stop_ ABSL_GUARDED_BY(barrier_mu_) = false;
  std::thread barrier_thread_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_TOPIC_MIRROR_H_
