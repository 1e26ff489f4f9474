// Items endpoints have acknowledged: the delivery side's duplicate filter.
// Materialised from the compacted topic `liaison.registry.acks`, so that a
// replayed copy of an acknowledged item is dropped on any node, also after a
// restart. Entries older than the window are forgotten (by then Kafka's
// retention has removed the copies too).
#ifndef LIAISON_BROKER_STATE_ACKED_ITEMS_H_
#define LIAISON_BROKER_STATE_ACKED_ITEMS_H_

#include <deque>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/ids.h"

namespace liaison::broker {

class AckedItems {
 public:
  explicit AckedItems(absl::Duration window) : window_(window) {}

  // Thread-safe.
  void Insert(const EndpointId& recipient, const AckItemId& item, absl::Time acked_at)
      ABSL_LOCKS_EXCLUDED(mu_);
  bool Contains(const EndpointId& recipient, const AckItemId& item) const ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

  // The record key in liaison.registry.acks: "<recipient>/<item id>".
  static std::string Key(const EndpointId& recipient, const AckItemId& item);

 private:
  const absl::Duration window_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> keys_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Time, std::string>> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_ACKED_ITEMS_H_
