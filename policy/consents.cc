#include "policy/consents.h"
#include "absl/strings/string_view.h"

#include <utility>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "policy/internal/text.h"

namespace liaison::policy {

void InMemoryConsentIndex::Add(ConsentRecord record) {
  const size_t pos = records_.size();
  for (const std::string& id : record.grant.message_ids()) by_message_[id].push_back(pos);
  records_.push_back(std::move(record));
}

void InMemoryConsentIndex::ForEachCovering(std::string_view message_id,
                                           absl::FunctionRef<void(const ConsentRecord&)> fn) const {
  auto it = by_message_.find(internal::AV(message_id));
  if (it == by_message_.end()) return;
  for (size_t pos : it->second) fn(records_[pos]);
}

namespace {

absl::StatusOr<ConsentRecord> FollowUpDecisionRecord(const liaison::v1::Message& decision,
                                                     absl::Time recorded_at) {
  const liaison::v1::Header& h = decision.header();
  if (!decision.has_followup_decision() || decision.followup_decision().followup_id().empty()) {
    return absl::InvalidArgumentError(
        "followup_decision.followup_id: missing (the id of the follow-up request decided on)");
  }
  if (h.sender().empty()) return absl::InvalidArgumentError("header.sender: missing");
  if (h.recipients_size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("header.recipients: ", h.recipients_size(),
                     " recipients; a follow-up decision goes to the requester only"));
  }
  const liaison::v1::FollowUpDecision& d = decision.followup_decision();
  ConsentRecord r;
  r.grantor = h.sender();
  r.recorded_at = recorded_at;
  liaison::v1::ConsentGrant& g = r.grant;
  g.set_consent_id(absl::StrCat("followup/", d.followup_id()));
  g.set_kind(liaison::v1::CONSENT_KIND_OWNER_APPROVAL);
  g.set_grantee(h.recipients(0));
  g.add_message_ids(d.followup_id());
  g.set_granted(d.approve());
  g.set_reason_code(d.reason_code());
  *g.mutable_expires() = h.retention().has_erase_by()
                             ? h.retention().erase_by()
                             : ToProto(FromProto(h.created_at()) + absl::Hours(24 * 30));
  return r;
}

}  // namespace

absl::StatusOr<ConsentRecord> InMemoryConsentIndex::RecordOf(
    const liaison::v1::Message& consent_message, absl::Time recorded_at) {
  if (consent_message.header().kind() == liaison::v1::KIND_FOLLOWUP_DECISION) {
    return FollowUpDecisionRecord(consent_message, recorded_at);
  }
  if (consent_message.header().kind() != liaison::v1::KIND_CONSENT ||
      !consent_message.has_consent()) {
    return absl::InvalidArgumentError(
        "header.kind: not a KIND_CONSENT message with a consent body");
  }
  if (consent_message.header().sender().empty()) {
    return absl::InvalidArgumentError("header.sender: missing");
  }
  if (consent_message.consent().consent_id().empty()) {
    return absl::InvalidArgumentError("consent.consent_id: missing");
  }
  ConsentRecord r;
  r.grantor = consent_message.header().sender();
  r.grant = consent_message.consent();
  r.recorded_at = recorded_at;
  return r;
}

namespace {

bool Matches(const ConsentRecord& r, const ConsentQuery& q, bool names_message) {
  const liaison::v1::ConsentGrant& g = r.grant;
  if (g.kind() != q.kind || r.grantor != q.grantor || g.grantee() != q.grantee) return false;
  if (g.recipients().empty()) {
    if (!names_message) return false;
  } else if (absl::c_find(g.recipients(), q.recipient) == g.recipients().end()) {
    return false;
  }
  if (g.purposes().empty()) {
    if (!names_message) return false;
  } else if (q.purposes != nullptr) {
    for (int p : *q.purposes) {
      if (absl::c_find(g.purposes(), p) == g.purposes().end()) return false;
    }
  }
  if (g.granted()) {
    // A grant without an expiry never counts: zero values are the safe ones.
    if (!g.has_expires() || FromProto(g.expires()) <= q.now) return false;
  }
  return true;
}

}  // namespace

ConsentLookup FindConsent(const ConsentIndex* index, const ConsentQuery& q) {
  ConsentLookup best;
  if (index == nullptr) return best;
  auto consider = [&](const ConsentRecord& r, bool names_message) {
    if (!Matches(r, q, names_message)) return;
    const ConsentState state = r.grant.granted() ? ConsentState::kGranted : ConsentState::kRefused;
    if (best.record == nullptr || r.recorded_at > best.record->recorded_at ||
        (r.recorded_at == best.record->recorded_at && state == ConsentState::kRefused)) {
      best.state = state;
      best.record = &r;
    }
  };
  if (!q.message_id.empty()) {
    index->ForEachCovering(internal::SV(q.message_id),
                           [&](const ConsentRecord& r) { consider(r, true); });
  }
  if (!q.source_id.empty() && q.source_id != q.message_id) {
    index->ForEachCovering(internal::SV(q.source_id),
                           [&](const ConsentRecord& r) { consider(r, false); });
  }
  return best;
}

}  // namespace liaison::policy
