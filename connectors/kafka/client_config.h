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
  // Against librdkafka's mock cluster an empty fetch waits the full
  // fetch.wait.max.ms with no wake-up: the embedded default sets it to a few
  // milliseconds. Leave 0 for librdkafka's default (production).
  int fetch_wait_max_ms = 0;
};

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_CLIENT_CONFIG_H_
