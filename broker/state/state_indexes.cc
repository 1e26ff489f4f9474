#include "broker/state/state_indexes.h"

#include "absl/strings/str_cat.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "certs/envelope.h"

namespace liaison::broker {

void SourceBook::Put(policy::SourceRecord record) {
  auto shared = std::make_shared<const policy::SourceRecord>(std::move(record));
  std::string id = shared->ref.message_id();
  absl::MutexLock lock(&mu_);
  auto& slot = records_[id];
  if (slot != nullptr) retired_.push_back(std::move(slot));
  slot = std::move(shared);
}

void SourceBook::AddDelivered(const std::string& message_id, const std::string& recipient) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(message_id);
  if (it == records_.end()) return;
  const auto& to = it->second->delivered_to;
  if (std::find(to.begin(), to.end(), recipient) != to.end()) return;
  auto updated = std::make_shared<policy::SourceRecord>(*it->second);
  updated->delivered_to.push_back(recipient);
  retired_.push_back(std::move(it->second));
  it->second = std::move(updated);
}

const policy::SourceRecord* SourceBook::Find(std::string_view message_id) const {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(absl::string_view(message_id.data(), message_id.size()));
  return it == records_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const policy::SourceRecord> SourceBook::Get(const std::string& message_id) const {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(message_id);
  return it == records_.end() ? nullptr : it->second;
}

void SourceBook::SetExpiry(const std::string& message_id, Expiry expiry) {
  absl::MutexLock lock(&mu_);
  Expiry& e = expiry_[message_id];
  const bool notified = e.notified || expiry.notified;
  e = expiry;
  e.notified = notified;
}

std::vector<std::pair<std::shared_ptr<const policy::SourceRecord>, SourceBook::Expiry>>
SourceBook::DueForErasure(absl::Time now, const std::vector<int32_t>& partitions) const {
  std::vector<std::pair<std::shared_ptr<const policy::SourceRecord>, Expiry>> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : expiry_) {
    if (e.notified || e.erase_by > now) continue;
    if (std::find(partitions.begin(), partitions.end(), e.ingress_partition) == partitions.end()) {
      continue;
    }
    auto it = records_.find(id);
    if (it != records_.end()) out.emplace_back(it->second, e);
  }
  return out;
}

policy::SourceRecord SourceBook::FromProto(const liaison::v1::RecordedSource& p) {
  policy::SourceRecord r;
  r.ref = p.ref();
  r.original_provider = p.original_provider();
  r.delivered_to.assign(p.delivered_to().begin(), p.delivered_to().end());
  return r;
}

liaison::v1::RecordedSource SourceBook::ToProto(const policy::SourceRecord& r) {
  liaison::v1::RecordedSource p;
  *p.mutable_ref() = r.ref;
  p.set_original_provider(r.original_provider);
  for (const std::string& to : r.delivered_to) p.add_delivered_to(to);
  return p;
}

std::string ConsentBook::Key(const policy::ConsentRecord& record) {
  return absl::StrCat(record.grantor, "/", record.grant.consent_id());
}

void ConsentBook::Put(policy::ConsentRecord record) {
  absl::MutexLock lock(&mu_);
  if (!ids_.emplace(Key(record), true).second) return;
  records_.push_back(std::move(record));
  const policy::ConsentRecord* stored = &records_.back();
  for (const std::string& id : stored->grant.message_ids()) by_message_[id].push_back(stored);
}

void ConsentBook::ForEachCovering(std::string_view message_id,
                                  absl::FunctionRef<void(const policy::ConsentRecord&)> fn) const {
  std::vector<const policy::ConsentRecord*> found;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_message_.find(absl::string_view(message_id.data(), message_id.size()));
    if (it == by_message_.end()) return;
    found = it->second;
  }
  for (const policy::ConsentRecord* r : found) fn(*r);
}

size_t ConsentBook::size() const {
  absl::MutexLock lock(&mu_);
  return records_.size();
}

absl::StatusOr<policy::ConsentRecord> ConsentBook::FromVerified(
    const liaison::v1::RecordedConsent& p, const certs::Verifier& verifier) {
  if (!p.has_envelope()) {
    return absl::PermissionDeniedError("recorded consent: no grantor-signed envelope");
  }
  const absl::Time recorded_at = liaison::FromProto(p.recorded_at());
  const absl::Time wall = absl::Now();
  const absl::Time at = recorded_at > wall || recorded_at == absl::UnixEpoch() ? wall : recorded_at;
  absl::StatusOr<certs::VerifiedEnvelope> v = certs::VerifyEnvelope(p.envelope(), verifier, at);
  if (!v.ok()) return v.status();
  return policy::InMemoryConsentIndex::RecordOf(v->message(), recorded_at);
}

policy::ConsentRecord ConsentBook::FromProto(const liaison::v1::RecordedConsent& p) {
  policy::ConsentRecord r;
  r.grantor = p.grantor();
  r.grant = p.grant();
  r.recorded_at = liaison::FromProto(p.recorded_at());
  return r;
}

liaison::v1::RecordedConsent ConsentBook::ToProto(const policy::ConsentRecord& r) {
  liaison::v1::RecordedConsent p;
  p.set_grantor(r.grantor);
  *p.mutable_grant() = r.grant;
  *p.mutable_recorded_at() = liaison::ToProto(r.recorded_at);
  return p;
}

}  // namespace liaison::broker
