// How to reach Kafka. Payload-agnostic: this layer moves bytes.
#ifndef LIAISON_CONNECTORS_KAFKA_CLIENT_CONFIG_H_
#define LIAISON_CONNECTORS_KAFKA_CLIENT_CONFIG_H_

#include <map>
#include <string>

namespace liaison::kafka {

struct ClientConfig {
  // "host:port,host:port". Required.
  std::string bootstrap_servers;
  std::string client_id = "liaison";
  // Extra librdkafka properties (security.protocol, ssl.*, sasl.*, ...).
  // Applied last, so they override Liaison's defaults, except the settings
  // Liaison's guarantees rest on (acks, enable.idempotence, group.id,
  // enable.auto.commit, enable.auto.offset.store, auto.offset.reset, a
  // cooperative partition.assignment.strategy): a different value there makes
  // Create fail with InvalidArgument. Errors name the property, never the value.
  std::map<std::string, std::string> properties;
  // Consumers long-poll: fetch.wait.max.ms kLongPollFetchWaitMs with
  // fetch.min.bytes 1, so real Kafka answers a fetch as soon as a record
  // arrives and an idle consumer costs next to nothing. Against librdkafka's
  // mock cluster an empty fetch waits the full fetch.wait.max.ms with no
  // wake-up: the embedded default sets a few milliseconds here. Leave 0 for
  // the long poll (production).
  int fetch_wait_max_ms = 0;
  // bootstrap_servers addresses librdkafka's in-process mock cluster (set
  // wherever a mock's address is handed out: the broker's embedded cluster,
  // a test node joining another node's). Its address cannot tell: the mock
  // has no transactions (it accepts and ignores them), no DeleteRecords and
  // no CreateTopics, so what needs them asks this.
  bool mock = false;
};

// librdkafka's own default, stated so that a change of library cannot
// shorten it silently.
inline constexpr int kLongPollFetchWaitMs = 500;

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_CLIENT_CONFIG_H_
