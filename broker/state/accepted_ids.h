// The front door's deduplication window: message ids accepted recently, with
// the hash of their signed bytes. Materialised from the compacted topic
// `liaison.registry.ids` at start-up, so a resend reaching another node (or
// this node after a restart) is still recognised.
#ifndef LIAISON_BROKER_STATE_ACCEPTED_IDS_H_
#define LIAISON_BROKER_STATE_ACCEPTED_IDS_H_

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/ids.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {

class AcceptedIds {
 public:
  // Entries older than `window` (by accepted_at) are forgotten.
  explicit AcceptedIds(absl::Duration window) : window_(window) {}

  // Thread-safe. Later records for the same id replace earlier ones.
  void Insert(const liaison::v1::AcceptedId& record) ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<liaison::v1::AcceptedId> Find(const MessageId& message_id) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Records whose ingress position is in [from, to) of `partition`.
  std::vector<liaison::v1::AcceptedId> InRange(int32_t partition, int64_t from, int64_t to) const
      ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Evict(absl::Time newest) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration window_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, liaison::v1::AcceptedId> by_id_ ABSL_GUARDED_BY(mu_);
  // Insertion order with accepted_at, for eviction.
  std::deque<std::pair<absl::Time, std::string>> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_ACCEPTED_IDS_H_
