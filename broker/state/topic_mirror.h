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
  // when it started (DeadlineExceeded otherwise).
  absl::Status WaitCaughtUp(absl::Duration timeout);
  void Stop();

 private:
  void Loop();

  const kafka::ClientConfig config_;
  const std::map<std::string, Apply> topics_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::atomic<bool> stop_{false};
  absl::Notification caught_up_;
  std::thread thread_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_TOPIC_MIRROR_H_
