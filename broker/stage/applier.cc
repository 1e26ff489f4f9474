#include "broker/stage/applier.h"

#include <utility>

#include "base/log.h"
#include "base/proto_time.h"
#include "broker/core/ids.h"
#include "certs/signature.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace liaison::broker {
namespace {

// `prefix` (a serialised DeliveryItem without content) followed by field 4
// (original) holding `envelope_bytes`: protobuf parsers merge the two, so the
// envelope is copied once per recipient and never re-serialised.
std::string WithOriginal(const std::string& prefix, const std::string& envelope_bytes) {
  std::string out;
  out.reserve(prefix.size() + envelope_bytes.size() + 8);
  out.append(prefix);
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
      liaison::v1::DeliveryItem::kOriginalFieldNumber,
      google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  coded.WriteVarint32(static_cast<uint32_t>(envelope_bytes.size()));
  coded.WriteRaw(envelope_bytes.data(), static_cast<int>(envelope_bytes.size()));
  coded.Trim();
  return out;
}

}  // namespace

bool PlanApplier::RecordConsent(const ConsentPlan& consent, const PlanContext& context) const {
  if (!consent.record.ok()) {
    log::Warning("policy.consent_unusable", {{"message_id", context.message->header().message_id()},
                                             {"error", consent.record.status().ToString()}});
    return false;
  }
  deps_.consents->Put(*consent.record);
  return true;
}

std::optional<liaison::v1::BrokerSigned> PlanApplier::Countersign(
    liaison::v1::Attestation attestation, absl::Time now) const {
  liaison::v1::Statement statement;
  *statement.mutable_attestation() = std::move(attestation);
  absl::StatusOr<liaison::v1::BrokerSigned> s =
      deps_.countersigner->Sign(std::move(statement), now);
  if (!s.ok()) {
    log::Error("policy.countersign_failed", {{"error", s.status().ToString()}});
    return std::nullopt;
  }
  return std::move(*s);
}

Outputs PlanApplier::Apply(Plan plan, const PlanContext& c) const {
  const liaison::v1::SignedEnvelope& envelope = c.ingress->envelope();
  const liaison::v1::Header& h = c.message->header();
  const std::string key = IngressKeyOf(h).value();
  for (const auto& [recipient, why] : plan.underivable) {
    log::Error(
        "policy.redact_failed",
        {{"message_id", h.message_id()}, {"recipient", recipient}, {"error", why.ToString()}});
  }
  Outputs out;
  out.audit = std::move(plan.audit);
  out.flow = std::move(plan.flow);

  if (plan.consent.has_value()) {
    liaison::v1::RecordedConsent stored = ConsentBook::ToProto(*plan.consent);
    *stored.mutable_envelope() = envelope;  // binds the record to the grantor's signature
    out.records.push_back({deps_.topics.Consents(), ConsentBook::Key(*plan.consent),
                           stored.SerializeAsString(), kafka::kAnyPartition, std::nullopt});
  }
  for (const liaison::v1::HeldDelivery& held : plan.holds) {
    out.records.push_back({deps_.topics.Holds(), held.hold_id(), held.SerializeAsString(),
                           kafka::kAnyPartition, std::nullopt});
  }
  out.held = std::move(plan.holds);

  // Evidence grants before the deliveries that announce them.
  for (KeyedRecord& g : plan.evidence_grants) {
    out.records.push_back({deps_.topics.EvidenceGrants(), std::move(g.key), std::move(g.value),
                           kafka::kAnyPartition, std::nullopt});
  }
  // A refused member's wrapped keys (the stage kept only those its node
  // holds): destroyed with an ERASURE custody entry each.
  for (const Plan::RefusedEvidenceKey& k : plan.evidence_refused_keys) {
    Outputs::Record tombstone{deps_.topics.EvidenceKeys(),
                              EvidenceRecordKey(k.item.item_id(), k.recipient), "",
                              kafka::kAnyPartition, std::nullopt};
    tombstone.tombstone = true;
    out.records.push_back(std::move(tombstone));
    liaison::v1::AuditEntry a;
    *a.mutable_ts() = ToProto(c.now);
    a.set_operation(liaison::v1::AUDIT_OPERATION_ERASURE);
    a.set_event("evidence-key-destroyed");
    a.set_message_id(c.message->header().message_id());
    a.set_sender(c.message->header().sender());
    a.set_recipient(k.recipient);
    a.set_decision(liaison::v1::OUTCOME_REJECT);
    a.set_broker_id(c.broker_id);
    liaison::v1::EvidenceRef* ref = a.add_evidence();
    ref->set_item_id(k.item.item_id());
    ref->set_jit_id(k.jit_id);
    ref->set_ciphertext_sha256(k.item.ciphertext_sha256());
    ref->set_sha256(k.item.sha256());
    out.audit.push_back(std::move(a));
  }

  // One countersignature per group of recipients receiving identical bytes.
  std::string envelope_bytes;  // serialised once, for the groups of the original body
  for (DeliveryGroup& g : plan.deliveries) {
    if (!g.derived_message.has_value() && envelope_bytes.empty()) {
      envelope_bytes = envelope.SerializeAsString();
    }
    g.attestation.set_content_sha256(
        g.derived_message.has_value() ? certs::Sha256(*g.derived_message) : c.payload_sha256);
    std::optional<liaison::v1::BrokerSigned> signed_statement;
    std::string leaf;  // batch signing: the statement, signed later with its batch
    if (deps_.batch_signing) {
      liaison::v1::Statement statement;
      *statement.mutable_attestation() = std::move(g.attestation);
      absl::StatusOr<std::string> l = deps_.countersigner->Leaf(std::move(statement), c.now);
      if (!l.ok()) {
        log::Error("policy.countersign_failed", {{"error", l.status().ToString()}});
        continue;
      }
      leaf = std::move(*l);
    } else {
      signed_statement = Countersign(std::move(g.attestation), c.now);
      if (!signed_statement) continue;  // not forwarded; logged
    }
    // A message the broker wrote (a LINKAGE_REPLY) has its own id, and no
    // sender to tell of a loss (its recipient gets the GAP notice).
    const std::string& message_id = g.message_id.empty() ? h.message_id() : g.message_id;
    const std::string sender = g.message_id.empty() ? h.sender() : std::string();
    for (const std::string& r : g.recipients) {
      liaison::v1::DeliveryItem item;
      item.set_item_id(DeliveryItemIdOf(MessageId(message_id), EndpointId(r)).value());
      item.set_recipient(r);
      if (signed_statement) *item.mutable_statement() = *signed_statement;
      liaison::v1::DeliveryIndexEntry index;
      index.set_recipient(r);
      index.set_item_id(item.item_id());
      index.set_message_id(message_id);
      index.set_sender(sender);
      std::string value;
      if (g.derived_message.has_value()) {
        item.set_derived_message(*g.derived_message);
        value = item.SerializeAsString();
      } else {
        value = WithOriginal(item.SerializeAsString(), envelope_bytes);
      }
      out.records.push_back({deps_.topics.Deliver(r), key, std::move(value), kafka::kAnyPartition,
                             std::move(index), leaf});
    }
  }

  if (plan.source.has_value()) {
    SourceUpdate& s = *plan.source;
    const std::string& message_id = h.message_id();
    liaison::v1::RecordedSource stored = SourceBook::ToProto(s.record);
    if (s.erase_by != absl::InfiniteFuture()) *stored.mutable_erase_by() = ToProto(s.erase_by);
    stored.set_ingress_partition(s.ingress_partition);
    deps_.sources->Put(std::move(s.record));
    deps_.sources->SetExpiry(message_id, {s.erase_by, s.ingress_partition, false});
    out.records.push_back({deps_.topics.Sources(), message_id, stored.SerializeAsString(),
                           kafka::kAnyPartition, std::nullopt});
  }

  for (liaison::v1::Notice& n : plan.notices) {
    if (std::optional<Outputs::Record> r = NoticeRecord(std::move(n), c.now)) {
      out.records.push_back(std::move(*r));
    }
  }
  return out;
}

std::optional<Outputs::Record> PlanApplier::NoticeRecord(liaison::v1::Notice notice,
                                                         absl::Time now) const {
  const std::string addressee = notice.addressee();
  absl::StatusOr<std::string> item = deps_.items->Notice(std::move(notice), now);
  if (!item.ok()) {
    log::Error("policy.notice_sign_failed", {{"error", item.status().ToString()}});
    return std::nullopt;
  }
  return Outputs::Record{deps_.topics.Deliver(addressee), addressee, std::move(*item),
                         kafka::kAnyPartition, std::nullopt};
}

}  // namespace liaison::broker
