#include "broker/state/acked_items.h"

namespace liaison::broker {

std::string AckedItems::Key(const EndpointId& recipient, const AckItemId& item) {
  std::string key;
  key.reserve(recipient.value().size() + 1 + item.value().size());
  key.append(recipient.value()).append("/").append(item.value());
  return key;
}

void AckedItems::Insert(const EndpointId& recipient, const AckItemId& item, absl::Time acked_at) {
  std::string key = Key(recipient, item);
  absl::MutexLock lock(&mu_);
  if (!keys_.insert(key).second) return;
  order_.emplace_back(acked_at, std::move(key));
  while (!order_.empty() && order_.front().first < acked_at - window_) {
    keys_.erase(order_.front().second);
    order_.pop_front();
  }
}

bool AckedItems::Contains(const EndpointId& recipient, const AckItemId& item) const {
  const std::string key = Key(recipient, item);
  absl::MutexLock lock(&mu_);
  return keys_.contains(key);
}

size_t AckedItems::size() const {
  absl::MutexLock lock(&mu_);
  return keys_.size();
}

}  // namespace liaison::broker
