// Deleting the head of a partition (Kafka's DeleteRecords), and the look-ups
// that decide how far (watermarks, the offset at a time). CreateTopics and
// PartitionCount are declared in consumer.h.
#ifndef LIAISON_CONNECTORS_KAFKA_ADMIN_H_
#define LIAISON_CONNECTORS_KAFKA_ADMIN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"

namespace liaison::kafka {

// The names of every topic the cluster lists (a metadata request for all
// topics; Kafka's internal ones, such as __consumer_offsets, included).
absl::StatusOr<std::vector<std::string>> ListTopics(const ClientConfig& config,
                                                    absl::Duration timeout);

// Deletes topics (Kafka's DeleteTopics; needs the DELETE ACL on each). Returns
// once the controller accepted the deletion: the brokers remove the logs
// afterwards. A topic that does not exist is not an error. The mock cluster
// does not implement DeleteTopics (DeadlineExceeded, as for CreateTopics).
absl::Status DeleteTopics(const ClientConfig& config, const std::vector<std::string>& topics,
                          absl::Duration timeout);

// One Kafka client kept for repeated calls (a broker's evidence keeper asks
// every second). Thread-compatible: one caller at a time.
class RecordDeleter {
 public:
  static absl::StatusOr<std::unique_ptr<RecordDeleter>> Create(const ClientConfig& config);
  ~RecordDeleter();

  // Offsets [low, high) present in the partition.
  absl::StatusOr<std::pair<int64_t, int64_t>> Watermarks(const TopicPartition& tp,
                                                         absl::Duration timeout);

  // The offset of the first record of `tp` whose timestamp is at or after
  // `t` (ListOffsets by time); the high watermark when no record is that
  // recent.
  absl::StatusOr<int64_t> OffsetAtTime(const TopicPartition& tp, absl::Time t,
                                       absl::Duration timeout);

  // Deletes every record of `tp` below offset `before` (DeleteRecords):
  // Kafka moves the partition's low watermark to `before` and returns it.
  // Deleting below the current low watermark changes nothing (the low
  // watermark is returned). Errors: Unimplemented when the cluster does not
  // implement DeleteRecords (librdkafka's embedded mock cluster);
  // FailedPrecondition (OFFSET_OUT_OF_RANGE) when `before` is above the high
  // watermark; PermissionDenied
  // without the DELETE ACL on the topic; DeadlineExceeded / Unavailable when
  // Kafka did not answer. Messages name the topic and partition.
  absl::StatusOr<int64_t> DeleteBefore(const TopicPartition& tp, int64_t before,
                                       absl::Duration timeout);

  struct Impl;

 private:
  explicit RecordDeleter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_ADMIN_H_
