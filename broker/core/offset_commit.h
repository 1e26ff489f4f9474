// Committing a consumer group's offsets without dropping the result: a
// refused commit is logged (`kafka.commit_failed`: group, number of
// offsets, Kafka's error; metadata only) and counted
// (Observer::OnCommitFailed, liaison_kafka_commit_failures_total). Nothing
// is lost by a refused commit (the records come again after a rebalance and
// are deduplicated by item id), but operators must see it.
#ifndef LIAISON_BROKER_CORE_OFFSET_COMMIT_H_
#define LIAISON_BROKER_CORE_OFFSET_COMMIT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "broker/core/observer.h"
#include "connectors/kafka/consumer.h"

namespace liaison::broker {

enum class CommitMode {
  kAsync,  // Consumer::Commit: only errors found before sending are seen
  kSync,   // Consumer::CommitSync: waits for the group coordinator
};

// Commits `offsets` of `group` (nothing to do when empty); returns the
// consumer's status after reporting it. `observer` may be null.
absl::Status CommitOffsets(kafka::Consumer& consumer,
                           const std::vector<kafka::Consumer::CommitOffset>& offsets,
                           CommitMode mode, const std::string& group, Observer* observer);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_OFFSET_COMMIT_H_
