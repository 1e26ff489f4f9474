#include "broker/state/evidence_book.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/proto_time.h"

namespace liaison::broker {
namespace {

bool ItemIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

}  // namespace

absl::Status CheckEvidenceItemId(absl::string_view item_id, absl::string_view field) {
  if (item_id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty item id"));
  if (item_id.size() > kMaxEvidenceItemIdChars) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": item id of ", item_id.size(), " characters, at most ", kMaxEvidenceItemIdChars));
  }
  for (size_t i = 0; i < item_id.size(); ++i) {
    if (!ItemIdChar(item_id[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": item id character ", i, " is not one of A-Z a-z 0-9 . _ : -"));
    }
  }
  return absl::OkStatus();
}

std::string EvidenceRecordKey(absl::string_view item_id, absl::string_view recipient) {
  return absl::StrCat(item_id, "/", recipient);
}

KeyedRecord BuildEvidenceGrantRecord(const liaison::v1::EvidenceItem& item,
                                     absl::string_view recipient, absl::string_view jit_id,
                                     absl::string_view manifest_message_id, absl::Time now,
                                     absl::Time erase_by) {
  liaison::v1::EvidenceGrant grant;
  grant.set_item_id(item.item_id());
  grant.set_recipient(std::string(recipient));
  grant.set_jit_id(std::string(jit_id));
  grant.set_manifest_message_id(std::string(manifest_message_id));
  *grant.mutable_item() = item;
  *grant.mutable_granted_at() = ToProto(now);
  if (erase_by != absl::InfiniteFuture()) *grant.mutable_erase_by() = ToProto(erase_by);
  return {EvidenceRecordKey(item.item_id(), recipient), grant.SerializeAsString()};
}

std::string ErasureReasonText(liaison::v1::EvidenceErasureReason reason) {
  switch (reason) {
    case liaison::v1::EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED:
      return "every member it was wrapped for acknowledged it (or was refused by the policy)";
    case liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE:
      return "the registry's evidence_retention.max_age after its upload passed";
    case liaison::v1::EVIDENCE_ERASURE_REASON_JIT_ENDED:
      return "its JIT ended (plus the registry's evidence_retention.after_jit_end)";
    case liaison::v1::EVIDENCE_ERASURE_REASON_ERASE_BY:
      return "the manifest's retention.erase_by passed (DP-RET-02)";
    default:
      return "unknown reason";
  }
}

absl::Status EvidenceBook::Skip(const kafka::Record& record, absl::Status why) {
  skipped_.fetch_add(1);
  log::Warning("evidence.record_skipped", {{"topic", record.topic},
                                           {"partition", record.partition},
                                           {"offset", record.offset},
                                           {"reason", why.message()}});
  return why;
}

absl::Status EvidenceBook::ApplyItem(const kafka::Record& record) {
  if (record.tombstone) {
    absl::MutexLock lock(&mu_);
    items_.erase(record.key);
    return absl::OkStatus();
  }
  liaison::v1::EvidenceItemRecord item;
  if (!item.ParseFromString(record.value)) {
    return Skip(record, absl::InvalidArgumentError("not an EvidenceItemRecord"));
  }
  if (item.item_id() != record.key) {
    return Skip(record, absl::InvalidArgumentError("item_id differs from the record key"));
  }
  if (item.offsets_size() != item.chunk_count()) {
    return Skip(record, absl::InvalidArgumentError("offsets do not match chunk_count"));
  }
  ApplyWrittenItem(item);
  return absl::OkStatus();
}

absl::Status EvidenceBook::ApplyKey(const kafka::Record& record) {
  if (record.tombstone) {
    absl::MutexLock lock(&mu_);
    keys_.erase(record.key);
    return absl::OkStatus();
  }
  liaison::v1::EvidenceKeyRecord key;
  if (!key.ParseFromString(record.value)) {
    return Skip(record, absl::InvalidArgumentError("not an EvidenceKeyRecord"));
  }
  if (EvidenceRecordKey(key.item_id(), key.recipient()) != record.key) {
    return Skip(record, absl::InvalidArgumentError("item_id/recipient differ from the record key"));
  }
  ApplyWrittenKey(key);
  return absl::OkStatus();
}

absl::Status EvidenceBook::ApplyGrant(const kafka::Record& record) {
  if (record.tombstone) {
    absl::MutexLock lock(&mu_);
    grants_.erase(record.key);
    return absl::OkStatus();
  }
  liaison::v1::EvidenceGrant grant;
  if (!grant.ParseFromString(record.value)) {
    return Skip(record, absl::InvalidArgumentError("not an EvidenceGrant"));
  }
  if (EvidenceRecordKey(grant.item_id(), grant.recipient()) != record.key ||
      grant.item().item_id() != grant.item_id()) {
    return Skip(record, absl::InvalidArgumentError("item_id/recipient differ from the record key"));
  }
  absl::MutexLock lock(&mu_);
  grants_[record.key] = std::move(grant);
  return absl::OkStatus();
}

void EvidenceBook::ApplyWrittenItem(const liaison::v1::EvidenceItemRecord& item) {
  absl::MutexLock lock(&mu_);
  liaison::v1::EvidenceItemRecord& held = items_[item.item_id()];
  // An erasure, and a mark for erasure, are final: an older record of the
  // item read back after them (the mirror behind what this node wrote and
  // applied at once) does not undo them.
  if (held.has_erasure() && !item.has_erasure()) return;
  if (held.has_erasure_pending() && !item.has_erasure_pending() && !item.has_erasure()) {
    liaison::v1::EvidenceErasure pending = held.erasure_pending();
    held = item;
    *held.mutable_erasure_pending() = std::move(pending);
    return;
  }
  held = item;
}

void EvidenceBook::ApplyWrittenKey(const liaison::v1::EvidenceKeyRecord& key) {
  absl::MutexLock lock(&mu_);
  keys_[EvidenceRecordKey(key.item_id(), key.recipient())] = key.wrapped_key();
}

void EvidenceBook::ApplyWrittenGrant(const liaison::v1::EvidenceGrant& grant) {
  absl::MutexLock lock(&mu_);
  grants_[EvidenceRecordKey(grant.item_id(), grant.recipient())] = grant;
}

std::vector<liaison::v1::EvidenceItemRecord> EvidenceBook::Items() const {
  std::vector<liaison::v1::EvidenceItemRecord> out;
  {
    absl::MutexLock lock(&mu_);
    out.reserve(items_.size());
    for (const auto& [id, item] : items_) out.push_back(item);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.item_id() < b.item_id(); });
  return out;
}

std::vector<liaison::v1::EvidenceGrant> EvidenceBook::GrantsOf(absl::string_view item_id) const {
  const std::string prefix = absl::StrCat(item_id, "/");
  std::vector<liaison::v1::EvidenceGrant> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, grant] : grants_) {
      if (absl::StartsWith(key, prefix)) out.push_back(grant);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.recipient() < b.recipient(); });
  return out;
}

std::vector<std::string> EvidenceBook::KeyRecipients(absl::string_view item_id) const {
  const std::string prefix = absl::StrCat(item_id, "/");
  std::vector<std::string> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, wrapped] : keys_) {
      if (absl::StartsWith(key, prefix)) out.push_back(key.substr(prefix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<liaison::v1::EvidenceItemRecord> EvidenceBook::Item(absl::string_view item_id) const {
  absl::MutexLock lock(&mu_);
  auto it = items_.find(item_id);
  if (it == items_.end()) return std::nullopt;
  return it->second;
}

std::vector<liaison::v1::EvidenceGrant> EvidenceBook::GrantsFor(absl::string_view recipient) const {
  std::vector<liaison::v1::EvidenceGrant> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, grant] : grants_) {
      if (grant.recipient() == recipient) out.push_back(grant);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.item_id() < b.item_id(); });
  return out;
}

std::optional<liaison::v1::EvidenceGrant> EvidenceBook::Grant(absl::string_view item_id,
                                                              absl::string_view recipient) const {
  absl::MutexLock lock(&mu_);
  auto it = grants_.find(EvidenceRecordKey(item_id, recipient));
  if (it == grants_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> EvidenceBook::WrappedKey(absl::string_view item_id,
                                                    absl::string_view recipient) const {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(EvidenceRecordKey(item_id, recipient));
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

}  // namespace liaison::broker
