#include "broker/state/accepted_ids.h"

#include "base/proto_time.h"

namespace liaison::broker {

void AcceptedIds::Insert(const liaison::v1::AcceptedId& record) {
  absl::Time at = FromProto(record.accepted_at());
  absl::MutexLock lock(&mu_);
  by_id_[record.message_id()] = record;
  order_.emplace_back(at, record.message_id());
  Evict(at);
}

std::optional<liaison::v1::AcceptedId> AcceptedIds::Find(const MessageId& message_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(message_id.value());
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::vector<liaison::v1::AcceptedId> AcceptedIds::InRange(int32_t partition, int64_t from,
                                                          int64_t to) const {
  std::vector<liaison::v1::AcceptedId> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, record] : by_id_) {
    if (record.partition() == partition && record.offset() >= from && record.offset() < to) {
      out.push_back(record);
    }
  }
  return out;
}

size_t AcceptedIds::size() const {
  absl::MutexLock lock(&mu_);
  return by_id_.size();
}

void AcceptedIds::Evict(absl::Time newest) {
  while (!order_.empty() && order_.front().first < newest - window_) {
    auto it = by_id_.find(order_.front().second);
    // Only erase if the map still holds this (old) entry, not a newer one.
    if (it != by_id_.end() && FromProto(it->second.accepted_at()) < newest - window_) {
      by_id_.erase(it);
    }
    order_.pop_front();
  }
}

}  // namespace liaison::broker
