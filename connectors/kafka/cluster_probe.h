// Read-only look-ups about a Kafka cluster for operators' views: is it
// reachable, how many records a topic holds, how far a consumer group is
// behind. Never reads a record.
//
//   auto probe = ClusterProbe::Create(config);
//   absl::StatusOr<int64_t> lag = (*probe)->GroupLag("liaison-deliver.DE-BKA",
//                                                    "liaison.deliver.DE-BKA", absl::Seconds(2));
#ifndef LIAISON_CONNECTORS_KAFKA_CLUSTER_PROBE_H_
#define LIAISON_CONNECTORS_KAFKA_CLUSTER_PROBE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"

namespace liaison::kafka {

// Thread-compatible: calls from one thread at a time (or lock around it).
// Every call blocks for at most about `timeout` per request it makes.
class ClusterProbe {
 public:
  static absl::StatusOr<std::unique_ptr<ClusterProbe>> Create(const ClientConfig& config);
  ~ClusterProbe();

  // Partition count of `topic` from a metadata request: the reachability
  // check. Unavailable / DeadlineExceeded when no broker answers, with the
  // bootstrap address and the last connection error since the previous call
  // (its cause — TLS, refused, DNS — and librdkafka's text) in the message;
  // NotFound for a missing topic (the mock cluster creates it instead).
  absl::StatusOr<int> Partitions(const std::string& topic, absl::Duration timeout);

  // Records `topic` holds now: the sum over its partitions of high − low
  // watermark.
  absl::StatusOr<int64_t> Records(const std::string& topic, absl::Duration timeout);

  // Records ever written to `topic`: the sum over its partitions of the high
  // watermark (retention does not lower it).
  absl::StatusOr<int64_t> Written(const std::string& topic, absl::Duration timeout);

  // Records of `topic` consumer group `group` has not committed: the sum over
  // partitions of high − max(committed, low); a partition without a committed
  // offset counts from its low watermark. The committed offsets are read by a
  // short-lived consumer handle of the group that never subscribes (it does
  // not join the group), not by the Admin API, whose librdkafka 2.0.2
  // implementation aborts when a broker goes away mid-request.
  absl::StatusOr<int64_t> GroupLag(const std::string& group, const std::string& topic,
                                   absl::Duration timeout);

  struct Impl;

 private:
  // Sum over the partitions of high - low (from_low) or of high.
  absl::StatusOr<int64_t> SumWatermarks(const std::string& topic, absl::Duration timeout,
                                        bool from_low);
  explicit ClusterProbe(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_CLUSTER_PROBE_H_
