// The case-linkage index of a broker node, materialised from the compacted
// topic `liaison.linkage.index` and shared by the front door (publishing:
// ownership checks, the values a withdrawal removes) and the policy stage
// (answering LINKAGE_QUERY messages). A LinkageIndex behind a lock, plus
// what the node needs around it: records that do not decode are skipped
// with a log line and a count, epochs the registry no longer has in force
// are retired, expired entries are purged a slice at a time.
//
// Values are 32-byte HMACs under the network linkage key; the broker never
// holds that key, so it can match equal values but cannot test guesses.
#ifndef LIAISON_BROKER_STATE_LINKAGE_BOOK_H_
#define LIAISON_BROKER_STATE_LINKAGE_BOOK_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/state/linkage_index.h"
#include "connectors/kafka/consumer.h"

namespace liaison::broker {

class LinkageBook {
 public:
  explicit LinkageBook(LinkageIndexOptions options = {});

  // Applies one record of the compacted topic (an upsert, or a withdrawal
  // for a tombstone). A record that does not decode, or that the index
  // refuses (a retired epoch, a handle another endpoint holds), is skipped:
  // logged as "linkage.record_skipped" with its position and reason, and
  // counted in skipped(). Thread-safe.
  absl::Status Apply(const kafka::Record& record, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // The same for a record this node wrote itself and Kafka acknowledged: it
  // is answerable at once, before the mirror reads it back (applying it
  // twice changes nothing).
  absl::Status ApplyWritten(const LinkageRecord& record, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Lookup as LinkageIndex::Lookup. Thread-safe (a reader lock).
  absl::StatusOr<std::vector<LinkageHitEntry>> Lookup(
      uint32_t epoch, const std::vector<std::string>& values,
      const absl::flat_hash_set<std::string>& allowed_owners, absl::Time now) const
      ABSL_LOCKS_EXCLUDED(mu_);

  std::optional<std::string> HandleOwner(const std::string& handle) const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::pair<uint32_t, std::array<uint8_t, 32>>> CaseValues(
      const std::string& owner, const std::string& handle) const ABSL_LOCKS_EXCLUDED(mu_);
  // Live entries of `owner` in every epoch.
  int64_t EntriesOf(const std::string& owner) const ABSL_LOCKS_EXCLUDED(mu_);

  // Retires every epoch below the newest in `in_force` that is not in it
  // (the registry's linkage.active_epochs); returns the entries dropped.
  int64_t RetireEpochsNotIn(const std::vector<uint32_t>& in_force) ABSL_LOCKS_EXCLUDED(mu_);
  // Purges expired entries, at most `max_values` value records per call, and
  // compacts when more than half the entries are dead. Returns the purged.
  int64_t Maintain(absl::Time now, int64_t max_values = 65536) ABSL_LOCKS_EXCLUDED(mu_);

  // For operators: live entries per (endpoint, epoch), counts only.
  std::map<std::pair<std::string, uint32_t>, int64_t> Counts() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t live_entries() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t skipped() const { return skipped_.load(); }

 private:
  mutable absl::Mutex mu_;
  LinkageIndex index_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> skipped_{0};
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_LINKAGE_BOOK_H_
