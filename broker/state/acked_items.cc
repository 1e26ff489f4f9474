#include "broker/acked_items.h"

namespace liaison::broker {

std::string AckedItems::Key(std::string_view recipient, std::string_view item_id) {
  std::string key;
  key.reserve(recipient.size() + 1 + item_id.size());
  key.append(recipient).append("/").append(item_id);
  return key;
}

void AckedItems::Insert(std::string_view recipient, std::string_view item_id,
                        absl::Time acked_at) {
  std::string key = Key(recipient, item_id);
  absl::MutexLock lock(&mu_);
  if (!keys_.insert(key).second) return;
  order_.emplace_back(acked_at, std::move(key));
  while (!order_.empty() && order_.front().first < acked_at - window_) {
    keys_.erase(order_.front().second);
    order_.pop_front();
  }
}

bool AckedItems::Contains(std::string_view recipient, std::string_view item_id) const {
  const std::string key = Key(recipient, item_id);
  absl::MutexLock lock(&mu_);
  return keys_.contains(key);
}

size_t AckedItems::size() const {
  absl::MutexLock lock(&mu_);
  return keys_.size();
}

}  // namespace liaison::broker
