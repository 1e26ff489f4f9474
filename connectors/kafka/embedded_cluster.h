// librdkafka's mock cluster, in-process: speaks the Kafka protocol on loopback
// ports, keeps everything in memory. For the embedded default, demos and tests
// only. See connectors/kafka/README.md "The mock cluster: what to know" (e.g.
// any client asking for metadata of an unknown topic creates it with 4
// partitions: create topics first).
//
// Destroy every client of the cluster before the cluster.
#ifndef LIAISON_CONNECTORS_KAFKA_EMBEDDED_CLUSTER_H_
#define LIAISON_CONNECTORS_KAFKA_EMBEDDED_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace liaison::kafka {

// Kafka protocol API keys used with PushRequestErrors.
enum class ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kJoinGroup = 11,
  kHeartbeat = 12,
  kSyncGroup = 14,
  kInitProducerId = 22,
};

// Kafka protocol error codes used with PushRequestErrors / SetTopicError.
enum class KafkaError : int {
  kTransport = -195,  // librdkafka: closes the connection
  kNotLeaderForPartition = 6,
  kRequestTimedOut = 7,
  kNotEnoughReplicas = 19,
  kNotEnoughReplicasAfterAppend = 20,
  kTopicAuthorizationFailed = 29,
  kLeaderNotAvailable = 5,
  kUnknownTopicOrPartition = 3,
  // On the head Produce request of an idempotent producer: a fatal error.
  kOutOfOrderSequenceNumber = 45,
  kClusterAuthorizationFailed = 31,
  // On a Heartbeat: the member is out of the group and its assignment lost.
  kUnknownMemberId = 25,
};

class EmbeddedCluster {
 public:
  // Starts `brokers` mock brokers (ids 1..brokers) on 127.0.0.1 ephemeral ports.
  static absl::StatusOr<std::unique_ptr<EmbeddedCluster>> Start(int brokers = 3);
  ~EmbeddedCluster();

  // "127.0.0.1:p1,127.0.0.1:p2,..."; other processes may connect too.
  const std::string& bootstrap_servers() const;

  // Creates a topic (AlreadyExists if present). The replication factor is
  // accepted but cosmetic in the mock.
  absl::Status CreateTopic(const std::string& topic, int partitions, int replication_factor = 3);

  // Fault injection. Broker ids are 1..brokers.
  absl::Status SetBrokerDown(int32_t broker_id);
  absl::Status SetBrokerUp(int32_t broker_id);
  absl::Status SetBrokerRtt(int32_t broker_id, int rtt_ms);
  // The next errors.size() requests of `api` (to any broker) fail with these errors.
  absl::Status PushRequestErrors(ApiKey api, const std::vector<KafkaError>& errors);
  // The next errors.size() requests of `api` to broker `broker_id` fail with
  // these errors (other brokers are unaffected).
  absl::Status PushBrokerRequestErrors(int32_t broker_id, ApiKey api,
                                       const std::vector<KafkaError>& errors);
  absl::Status SetPartitionLeader(const std::string& topic, int32_t partition, int32_t broker_id);
  // Makes Metadata report `error` for the topic (0 clears it).
  // SetPartitionLeader / SetTopicError: NotFound for a topic that was not
  // created with CreateTopic (the mock itself would silently create it).
  absl::Status SetTopicError(const std::string& topic, KafkaError error);
  absl::Status ClearTopicError(const std::string& topic);

  struct Impl;

 private:
  explicit EmbeddedCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_EMBEDDED_CLUSTER_H_
