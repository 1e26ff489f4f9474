#include "broker/stage/evidence_erasure.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "broker/state/evidence_book.h"

namespace liaison::broker {
namespace {

std::string Minute(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

liaison::v1::EvidenceRef RefOf(const liaison::v1::EvidenceItemRecord& item,
                               const std::vector<liaison::v1::EvidenceGrant>& grants) {
  liaison::v1::EvidenceRef ref;
  ref.set_item_id(item.item_id());
  ref.set_jit_id(item.jit_id());
  ref.set_ciphertext_sha256(item.ciphertext_sha256());
  for (const liaison::v1::EvidenceGrant& g : grants) {
    if (!g.item().sha256().empty()) {
      ref.set_sha256(g.item().sha256());
      break;
    }
  }
  return ref;
}

Outputs::Record Tombstone(std::string topic, std::string key) {
  Outputs::Record r{std::move(topic), std::move(key), "", kafka::kAnyPartition, std::nullopt};
  r.tombstone = true;
  return r;
}

}  // namespace

std::vector<std::string> IntendedMembers(const liaison::v1::EvidenceItemRecord& item,
                                         const std::vector<std::string>& key_recipients) {
  const std::set<std::string> keys(key_recipients.begin(), key_recipients.end());
  std::set<std::string> out;
  if (item.wrapped_for_size() > 0) {
    for (const std::string& m : item.wrapped_for()) {
      if (keys.contains(m)) out.insert(m);
    }
  } else {
    out = keys;
  }
  out.erase(item.uploader());
  return {out.begin(), out.end()};
}

EvidenceErasureDue ErasureDueOf(const liaison::v1::EvidenceItemRecord& item,
                                const std::vector<liaison::v1::EvidenceGrant>& grants,
                                const std::vector<std::string>& key_recipients,
                                std::optional<absl::Time> jit_end,
                                const EvidenceRetentionLimits& limits) {
  const absl::Time completed = FromProto(item.completed_at());
  EvidenceErasureDue best{liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE, completed + limits.max_age};
  auto consider = [&best](liaison::v1::EvidenceErasureReason reason, absl::Time due) {
    if (due <= best.due) best = {reason, due};
  };
  // In reverse order of precedence: a later candidate wins a tie.
  if (!jit_end.has_value() && item.has_jit_end()) jit_end = FromProto(item.jit_end());
  if (jit_end.has_value()) {
    consider(liaison::v1::EVIDENCE_ERASURE_REASON_JIT_ENDED, *jit_end + limits.after_jit_end);
  }
  absl::Time erase_by = absl::InfiniteFuture();
  for (const liaison::v1::EvidenceGrant& g : grants) {
    if (g.has_erase_by()) erase_by = std::min(erase_by, FromProto(g.erase_by()));
  }
  if (erase_by != absl::InfiniteFuture()) {
    consider(liaison::v1::EVIDENCE_ERASURE_REASON_ERASE_BY, erase_by);
  }
  const std::vector<std::string> intended = IntendedMembers(item, key_recipients);
  absl::Time last_ack = completed;
  bool all = true;
  for (const std::string& m : intended) {
    auto g = std::find_if(grants.begin(), grants.end(),
                          [&m](const liaison::v1::EvidenceGrant& x) { return x.recipient() == m; });
    if (g == grants.end() || !g->has_acknowledged_at()) {
      all = false;
      break;
    }
    last_ack = std::max(last_ack, FromProto(g->acknowledged_at()));
  }
  // With no intended member left (every key destroyed, or not yet read by
  // this node's mirror) nobody acknowledges: the other limits apply.
  if (all && !intended.empty())
    consider(liaison::v1::EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED, last_ack);
  return best;
}

EvidenceErasurePlan PlanEvidenceErasure(const liaison::v1::EvidenceItemRecord& item,
                                        const std::vector<liaison::v1::EvidenceGrant>& grants,
                                        const std::vector<std::string>& key_recipients,
                                        const EvidenceErasureDue& due, absl::Time now,
                                        const Topics& topics, absl::string_view broker_id) {
  EvidenceErasurePlan plan;
  plan.erased = item;
  liaison::v1::EvidenceErasure* e = plan.erased.mutable_erasure();
  e->set_reason(due.reason);
  *e->mutable_due() = ToProto(due.due);
  *e->mutable_erased_at() = ToProto(now);

  std::set<std::string> keyed(key_recipients.begin(), key_recipients.end());
  keyed.insert(item.wrapped_for().begin(), item.wrapped_for().end());
  for (const std::string& m : keyed) {
    plan.records.push_back(Tombstone(topics.EvidenceKeys(), EvidenceRecordKey(item.item_id(), m)));
  }
  for (const liaison::v1::EvidenceGrant& g : grants) {
    plan.records.push_back(
        Tombstone(topics.EvidenceGrants(), EvidenceRecordKey(item.item_id(), g.recipient())));
  }
  plan.records.push_back({topics.EvidenceItems(), item.item_id(), plan.erased.SerializeAsString(),
                          kafka::kAnyPartition, std::nullopt});

  liaison::v1::AuditEntry& a = plan.audit;
  *a.mutable_ts() = ToProto(now);
  a.set_operation(liaison::v1::AUDIT_OPERATION_ERASURE);
  a.set_event("evidence-erased");
  a.set_sender(item.uploader());
  if (due.reason == liaison::v1::EVIDENCE_ERASURE_REASON_ERASE_BY) a.add_rule_ids("DP-RET-02");
  a.set_broker_id(std::string(broker_id));
  *a.add_evidence() = RefOf(item, grants);
  a.mutable_custody()->set_chunk_count(item.chunk_count());
  a.mutable_custody()->set_ciphertext_size(item.ciphertext_size());
  a.mutable_custody()->set_erasure_reason(due.reason);

  std::set<std::string> told;
  for (const liaison::v1::EvidenceGrant& g : grants) told.insert(g.recipient());
  told.insert(item.uploader());
  for (const std::string& addressee : told) {
    liaison::v1::Notice n;
    n.set_kind(liaison::v1::NOTICE_KIND_EVIDENCE_ERASED);
    n.set_addressee(addressee);
    n.set_evidence_item_id(item.item_id());
    n.set_jit_id(item.jit_id());
    if (due.reason == liaison::v1::EVIDENCE_ERASURE_REASON_ERASE_BY) n.add_rule_ids("DP-RET-02");
    n.add_reasons(absl::StrCat("evidence item '", item.item_id(), "' of JIT ", item.jit_id(),
                               " was erased at ", Minute(now),
                               " (its keys destroyed): ", ErasureReasonText(due.reason), " (due ",
                               Minute(due.due), "); erase your copies"));
    *n.mutable_due() = ToProto(due.due);
    plan.notices.push_back(std::move(n));
  }
  return plan;
}

std::optional<EvidenceJitChange> PlanJitChange(const liaison::v1::EvidenceItemRecord& item,
                                               absl::Time registry_jit_end, absl::Time now,
                                               const Topics& topics, absl::string_view broker_id) {
  if (!item.has_jit_end() || item.has_erasure()) return std::nullopt;
  const absl::Time previous = FromProto(item.jit_end());
  if (previous == registry_jit_end) return std::nullopt;
  EvidenceJitChange change;
  change.updated = item;
  *change.updated.mutable_jit_end() = ToProto(registry_jit_end);
  change.record = {topics.EvidenceItems(), item.item_id(), change.updated.SerializeAsString(),
                   kafka::kAnyPartition, std::nullopt};
  liaison::v1::AuditEntry& a = change.audit;
  *a.mutable_ts() = ToProto(now);
  a.set_operation(liaison::v1::AUDIT_OPERATION_RETENTION);
  a.set_event("evidence-jit-extended");
  a.set_sender(item.uploader());
  a.set_broker_id(std::string(broker_id));
  liaison::v1::EvidenceRef* ref = a.add_evidence();
  ref->set_item_id(item.item_id());
  ref->set_jit_id(item.jit_id());
  ref->set_ciphertext_sha256(item.ciphertext_sha256());
  *a.mutable_custody()->mutable_previous_jit_end() = item.jit_end();
  *a.mutable_custody()->mutable_jit_end() = ToProto(registry_jit_end);
  return change;
}

std::optional<Outputs::Record> AcknowledgedGrantRecord(
    const std::optional<liaison::v1::EvidenceGrant>& grant,
    const std::optional<liaison::v1::EvidenceItemRecord>& item, absl::Time at,
    const Topics& topics) {
  if (!grant.has_value() || grant->has_acknowledged_at()) return std::nullopt;
  if (item.has_value() && item->has_erasure()) return std::nullopt;
  liaison::v1::EvidenceGrant acknowledged = *grant;
  *acknowledged.mutable_acknowledged_at() = ToProto(at);
  return Outputs::Record{topics.EvidenceGrants(),
                         EvidenceRecordKey(grant->item_id(), grant->recipient()),
                         acknowledged.SerializeAsString(), kafka::kAnyPartition, std::nullopt};
}

ChunkDeletionBound ChunkDeletionBoundOf(int32_t partition,
                                        const std::vector<liaison::v1::EvidenceItemRecord>& items,
                                        int64_t upload_horizon) {
  ChunkDeletionBound bound{std::max<int64_t>(upload_horizon, 0), ""};
  for (const liaison::v1::EvidenceItemRecord& item : items) {
    if (item.has_erasure() || item.partition() != partition) continue;
    for (int64_t offset : item.offsets()) {
      offset = std::max<int64_t>(offset, 0);
      // On a tie with the horizon, the live item is named (it holds the
      // partition whatever the horizon).
      if (offset < bound.before || (offset == bound.before && bound.live_item.empty())) {
        bound = {offset, item.item_id()};
      }
    }
  }
  return bound;
}

}  // namespace liaison::broker
