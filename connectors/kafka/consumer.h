// A Kafka consumer that never skips data silently.
//
// Offsets are committed only when the caller says so (after its work for a
// record is durable). When data the consumer still needed are gone
// (retention deleted them: OFFSET_OUT_OF_RANGE), Poll reports a Gap naming
// the lost offset range, then continues from the earliest offset still
// present. A partition with no committed offset starts at offset 0, so data
// deleted before the group's first read are reported as a gap too.
#ifndef LIAISON_CONNECTORS_KAFKA_CONSUMER_H_
#define LIAISON_CONNECTORS_KAFKA_CONSUMER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/producer.h"

// librdkafka's (rdkafka.h), declared here so this header does not include it.
struct rd_kafka_consumer_group_metadata_s;

namespace liaison::kafka {

// A group member's identity at one moment (group id, generation, member id),
// for Producer::SendOffsetsToTransaction. Copyable, immutable.
class GroupMetadata {
 public:
  rd_kafka_consumer_group_metadata_s* get() const { return md_.get(); }

 private:
  friend class Consumer;
  std::shared_ptr<rd_kafka_consumer_group_metadata_s> md_;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const TopicPartition&) const = default;
};

struct Record {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  // A null value (Producer::ProduceTombstone): on a compacted topic, the key
  // was deleted. `value` is then empty.
  bool tombstone = false;
  absl::Time timestamp;
  std::vector<Header> headers;
};

// Offsets [from, to) of a partition were deleted before this consumer read them.
// `from` is the offset of the next record this consumer would have returned;
// the next record of the partition it returns has offset `to`.
struct Gap {
  std::string topic;
  int32_t partition = 0;
  int64_t from = 0;
  int64_t to = 0;
};

struct PollResult {
  std::vector<Record> records;
  std::vector<Gap> gaps;
  // Partition ownership changes that happened during this poll. After a
  // revoke, commits for those partitions are ignored by Kafka; drop any
  // in-flight state for them.
  std::vector<TopicPartition> assigned;
  std::vector<TopicPartition> revoked;
  // The revokes include an assignment Kafka took away (the member was
  // dropped from the group, e.g. after a stale generation), not one
  // handed to another member in an orderly rebalance.
  bool lost = false;
};

struct ConsumerOptions {
  // Group mode (subscribe): group_id set, partitions balanced across members.
  // Reader mode: group_id empty; every partition of `topics` is read from the
  // beginning (for materialising compacted registry topics); Commit is an error.
  // Create fails with NotFound for a missing topic (the mock cluster creates it
  // instead, with 4 partitions).
  std::string group_id;
  std::vector<std::string> topics;
  int session_timeout_ms = 10000;
  int heartbeat_interval_ms = 1000;
  int max_poll_interval_ms = 300000;
  // Group mode: called on the polling thread, inside Poll, with the
  // partitions about to be given up, before the group may hand them to
  // another member (the revoke is also reported in PollResult::revoked).
  // Whatever must not be written for them once another member owns them is
  // finished or dropped here.
  std::function<void(const std::vector<TopicPartition>&)> before_revoke;
  // Group mode: cooperative-sticky (incremental) rebalancing. A rebalance
  // moves only the partitions that change owner; the member reads its other
  // partitions on throughout (a consumer whose topics change with Subscribe,
  // shared by many streams, must not stall them all on every change).
  bool cooperative = false;
  // Group mode: the group that read a topic before this one (a renamed
  // group), or empty. A partition with no committed offset in this group
  // starts at the previous group's committed offset where that one has
  // one (what it read is neither read again nor, if deleted since,
  // reported as lost), else at 0.
  std::function<std::string(const std::string& topic)> previous_group;
};

// Not thread-safe: one thread polls, commits and closes.
class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(const ClientConfig& config,
                                                          const ConsumerOptions& options);
  // Closes (leaves the group) if Close was not called.
  ~Consumer();

  // Waits up to `timeout` for at most `max_records` records. Returns as soon
  // as there is a record, a gap or an assignment change, together with
  // whatever else is already buffered (up to max_records); an empty result
  // after `timeout`. Errors: only fatal ones (the consumer is unusable);
  // transient broker trouble is retried inside librdkafka and shows up as
  // empty polls.
  absl::StatusOr<PollResult> Poll(absl::Duration timeout, size_t max_records = 500);

  struct CommitOffset {
    TopicPartition tp;
    int64_t next_offset = 0;  // the offset of the next record to read
  };
  // Asynchronous commit; errors are logged and retried by the next commit.
  absl::Status Commit(const std::vector<CommitOffset>& offsets);
  // Synchronous commit (shutdown, tests).
  absl::Status CommitSync(const std::vector<CommitOffset>& offsets);

  // Offsets [low, high) currently present in the partition: `high` is the
  // high watermark, the end of everything written, also when a transaction
  // is still open there (Kafka's answer to this read_committed consumer
  // would be the last stable offset: internal::NewWatermarkClient).
  absl::StatusOr<std::pair<int64_t, int64_t>> Watermarks(const TopicPartition& tp,
                                                         absl::Duration timeout);
  // The watermarks librdkafka last learnt from fetch responses: no request,
  // never blocks ({-1, -1} when unknown). For monitoring in a hot loop; a
  // blocking Watermarks() there waits behind the consumer's own fetch.
  std::pair<int64_t, int64_t> CachedWatermarks(const TopicPartition& tp) const;

  // The end of each partition as this consumer reads it, asked of Kafka in
  // one request per leader: the high watermark, or, read_committed (every
  // consumer here), the last stable offset (below an open transaction).
  // A consumer whose position reached it has seen every record committed
  // before the call, except those after a transaction still open then
  // (they come once it ends; Watermarks gives the end that waits for
  // them). Thread-safe: may be called while another
  // thread polls (not concurrently with Close).
  absl::StatusOr<std::vector<int64_t>> EndOffsets(const std::vector<TopicPartition>& partitions,
                                                  absl::Duration timeout) const;
  // This consumer's position in each partition: the offset after the last
  // record Poll handed out, or past the transaction markers and aborted
  // records it skipped after it (they have offsets, never a record); -1
  // where it has handed nothing out yet. Local, never blocks. Call it from
  // the polling thread.
  std::vector<int64_t> Positions(const std::vector<TopicPartition>& partitions) const;

  // The member's current group metadata (group mode; FailedPrecondition in
  // reader mode). Thread-safe.
  absl::StatusOr<GroupMetadata> CurrentGroupMetadata() const;

  // Current owned partitions.
  std::vector<TopicPartition> Assignment() const;

  // Group mode: replaces the subscribed topics. A rebalance follows: the
  // partitions of topics dropped are revoked, those of topics added
  // assigned (Poll reports both). Empty: no topic (the member stays in the
  // group with nothing assigned).
  absl::Status Subscribe(const std::vector<std::string>& topics);
  // Stops fetching owned partitions until Resume; records already handed out
  // are unaffected. A pause ends with the partition's ownership: revoked
  // and assigned again, it is read.
  absl::Status Pause(const std::vector<TopicPartition>& partitions);
  // Fetches them again, from the offset after the last record Poll handed
  // out for each (anything fetched in between is dropped and fetched again).
  absl::Status Resume(const std::vector<TopicPartition>& partitions);
  // Reads an owned partition from `offset` on: the next record Poll hands out
  // for it is the one at `offset` (records buffered beyond are dropped).
  absl::Status Seek(const TopicPartition& tp, int64_t offset);

  absl::Status Close();

  struct Impl;

 private:
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Creates topics through the Kafka Admin API on a real cluster (ignores
// "already exists"). The mock cluster does not implement CreateTopics: use
// EmbeddedCluster::CreateTopic there.
struct TopicSpec {
  std::string name;
  int partitions = 3;
  int replication_factor = 3;
  // Topic configs, e.g. {"cleanup.policy", "compact"}, {"min.insync.replicas", "2"}.
  std::vector<std::pair<std::string, std::string>> configs;
};
absl::Status CreateTopics(const ClientConfig& config, const std::vector<TopicSpec>& topics,
                          absl::Duration timeout);

// Number of partitions of a topic (NotFound if it does not exist).
absl::StatusOr<int> PartitionCount(const ClientConfig& config, const std::string& topic,
                                   absl::Duration timeout);

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_CONSUMER_H_
