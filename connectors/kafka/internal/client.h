// librdkafka handles for this folder: RAII owners, configuration with
// Liaison's defaults, log routing, and small metadata look-ups. Folder-private.
#ifndef LIAISON_CONNECTORS_KAFKA_INTERNAL_CLIENT_H_
#define LIAISON_CONNECTORS_KAFKA_INTERNAL_CLIENT_H_

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"

namespace liaison::kafka::internal {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct ClientDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using ClientPtr = std::unique_ptr<rd_kafka_t, ClientDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using AdminOptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;

using Properties = std::vector<std::pair<std::string, std::string>>;

// A configuration in three layers:
//   1. Liaison's defaults (client.id, socket.keepalive.enable=true,
//      socket.nagle.disable=true, statistics.interval.ms=0, log routing
//      through base/log.h) and
//      `role_defaults`;
//   2. config.properties (security.protocol, ssl.*, ... override layer 1);
//   3. `invariants`: settings Liaison's guarantees rest on (acks=all, no
//      auto-commit, auto.offset.reset=error, ...). A property that tries to
//      change one is InvalidArgument.
// Errors name the property, never its value (values may be secrets).
absl::StatusOr<ConfPtr> NewConf(const ClientConfig& config, const Properties& role_defaults,
                                const Properties& invariants);

// rd_kafka_new; takes ownership of `conf` in every case.
absl::StatusOr<ClientPtr> NewClient(rd_kafka_type_t type, ConfPtr conf);

// A consumer client that only asks for watermarks, never reads a record
// (reader.cc). Kafka answers a read_committed client's "latest offset" with
// the last stable offset, where the first transaction still open in the
// partition begins; this one is read_uncommitted, so it gets the high
// watermark: the end of everything written, committed or not yet.
absl::StatusOr<ClientPtr> NewWatermarkClient(const ClientConfig& config);

// librdkafka's log callback: syslog levels to base/log.h levels. Lines carry
// the client name, librdkafka's facility and text (librdkafka never logs
// payloads).
void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* text);
// For error_cb / error events: global client errors (brokers down, ...).
void LogClientError(rd_kafka_t* rk, rd_kafka_resp_err_t err, const char* reason);

// Topics are created deliberately (CreateTopics / EmbeddedCluster), never by
// a typo in a topic name. librdkafka's consumer default is already false;
// producers and admin clients need it set. (The mock ignores it: README.md.)
inline constexpr char kNoAutoCreate[] = "allow.auto.create.topics";

// Milliseconds for librdkafka timeouts: clamped to [0, INT_MAX].
int ToMillis(absl::Duration d);

// Partition count of `topic` from a metadata request (NotFound if it does not
// exist).
absl::StatusOr<int> TopicPartitionCount(rd_kafka_t* rk, const std::string& topic,
                                        absl::Duration timeout);

// For clients whose main queue carries error events only (conf made with
// rd_kafka_conf_set_events(conf, RD_KAFKA_EVENT_ERROR), never polled
// otherwise): drains the queued errors and returns DescribeConnectionError
// of the last one that says something about a connection, or "".
std::string DrainConnectionErrors(rd_kafka_t* rk);

}  // namespace liaison::kafka::internal

#endif  // LIAISON_CONNECTORS_KAFKA_INTERNAL_CLIENT_H_
