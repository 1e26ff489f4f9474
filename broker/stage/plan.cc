#include "broker/stage/plan.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/proto_time.h"
#include "broker/core/ids.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "policy/linkage.h"
#include "policy/retention.h"

namespace liaison::broker {
namespace {

using liaison::v1::Outcome;

// The obligations as one comparable string (deterministic serialisation,
// sorted): recipients with the same obligations share a body and a signature.
std::string ObligationsKey(const std::vector<liaison::v1::Obligation>& obligations) {
  std::vector<std::string> parts;
  parts.reserve(obligations.size());
  for (const liaison::v1::Obligation& o : obligations) {
    std::string bytes;
    {
      google::protobuf::io::StringOutputStream out(&bytes);
      google::protobuf::io::CodedOutputStream coded(&out);
      coded.SetSerializationDeterministic(true);
      o.SerializeToCodedStream(&coded);
    }
    parts.push_back(std::move(bytes));
  }
  std::sort(parts.begin(), parts.end());
  return absl::StrJoin(parts, "\x1f");
}

liaison::v1::Notice NoticeAbout(const liaison::v1::Header& h, liaison::v1::NoticeKind kind,
                                const std::string& addressee, const std::string& recipient,
                                std::vector<std::string> rule_ids,
                                std::vector<std::string> reasons) {
  liaison::v1::Notice n;
  n.set_kind(kind);
  n.set_addressee(addressee);
  n.set_message_id(h.message_id());
  n.set_recipient(recipient);
  for (std::string& r : rule_ids) n.add_rule_ids(std::move(r));
  for (std::string& r : reasons) n.add_reasons(std::move(r));
  return n;
}

liaison::v1::AuditEntry DecisionEntry(const PlanContext& c, const std::string& recipient,
                                      const policy::Decision& d) {
  const liaison::v1::Header& h = c.message->header();
  const policy::EndpointEntry* entry = c.registry->FindEntry(recipient);
  const bool third_country = entry != nullptr && entry->third_country();
  liaison::v1::AuditEntry a;
  *a.mutable_ts() = ToProto(c.now);
  a.set_operation(OperationFor(d.outcome, h.kind(), third_country));
  a.set_event(std::string(FlowStepLabel(c.step)));
  a.set_message_id(h.message_id());
  for (const std::string& s : h.provenance().derived_from()) a.add_derived_from(s);
  a.set_kind(h.kind());
  a.set_sender(h.sender());
  a.set_sender_officer(h.sender_officer());
  a.set_recipient(recipient);
  *a.mutable_legal_basis() = h.legal_basis();
  *a.mutable_purposes() = h.purposes();
  a.set_case_ref_hash(c.case_ref_hash);
  a.set_decision(d.outcome);
  for (std::string& id : d.HitRuleIds()) a.add_rule_ids(std::move(id));
  for (const liaison::v1::Redaction& r : d.redactions) {
    for (const std::string& p : r.paths()) a.add_redacted_paths(p);
  }
  a.set_handling_code(h.handling().code());
  *a.mutable_transfer_basis() = d.transfer;
  a.set_payload_sha256(c.payload_sha256);
  a.set_policy_version(d.policy_version);
  a.set_registry_version(d.registry_version);
  a.set_broker_id(c.broker_id);
  if (h.kind() == liaison::v1::KIND_LINKAGE_QUERY) {
    a.set_linkage_entries(c.message->linkage_query().identifiers_size());
  }
  if (h.kind() == liaison::v1::KIND_EVIDENCE_MANIFEST) {
    // Chain of custody: the decision names every item the manifest declares.
    const liaison::v1::EvidenceManifest& manifest = c.message->evidence_manifest();
    for (const liaison::v1::EvidenceItem& item : manifest.items()) {
      liaison::v1::EvidenceRef* ref = a.add_evidence();
      ref->set_item_id(item.item_id());
      ref->set_jit_id(manifest.jit_id());
      ref->set_ciphertext_sha256(item.ciphertext_sha256());
      ref->set_sha256(item.sha256());
    }
  }
  return a;
}

FlowEvent DecisionFlow(const PlanContext& c, const std::string& recipient,
                       const policy::Decision& d) {
  const liaison::v1::Header& h = c.message->header();
  FlowEvent flow;
  flow.message_id = h.message_id();
  flow.kind = h.kind();
  flow.sender = h.sender();
  flow.recipient = recipient;
  flow.bytes = c.message_bytes;
  flow.outcome = d.outcome;
  // The rules that set the outcome, not every rule that hit on the way: a
  // REJECT by DP-PURPOSE-01 is not a REJECT by the rule that would have
  // redacted (operators count outcomes by rule from this).
  flow.rule_ids = d.DecidingRuleIds();
  flow.accepted_at = FromProto(c.ingress->accepted_at());
  flow.decided_at = c.now;
  flow.step = c.step;
  return flow;
}

// HOLD or DELAY: the hold itself, and the notices telling the sender (and
// whoever's consent is awaited).
liaison::v1::HeldDelivery Held(const PlanContext& c, const std::string& recipient,
                               const policy::Decision& d, absl::Time erase_by,
                               std::vector<liaison::v1::Notice>& notices) {
  const liaison::v1::Header& h = c.message->header();
  liaison::v1::HeldDelivery held;
  held.set_hold_id(HoldIdOf(MessageId(h.message_id()), EndpointId(recipient)).value());
  held.set_message_id(h.message_id());
  held.set_sender(h.sender());
  held.set_recipient(recipient);
  *held.mutable_ingress() = *c.ingress;
  held.set_outcome(d.outcome);
  const liaison::v1::PolicyDecision pd = policy::ToProto(d);
  *held.mutable_holds() = pd.holds();
  *held.mutable_not_before() = ToProto(d.not_before);
  *held.mutable_created_at() = ToProto(c.now);
  held.set_ingress_partition(c.ingress_partition);
  if (erase_by != absl::InfiniteFuture()) *held.mutable_erase_by() = ToProto(erase_by);
  if (d.outcome == liaison::v1::OUTCOME_DELAY) {
    liaison::v1::Notice n = NoticeAbout(h, liaison::v1::NOTICE_KIND_DELAYED, h.sender(), recipient,
                                        d.DecidingRuleIds(), {d.explanation});
    *n.mutable_due() = ToProto(d.not_before);
    n.set_hold_id(held.hold_id());
    notices.push_back(std::move(n));
    return held;
  }
  for (const policy::Hold& hold : d.holds) {
    liaison::v1::Notice n = NoticeAbout(h, liaison::v1::NOTICE_KIND_HELD, h.sender(), recipient,
                                        {std::string(hold.rule_id.value())}, {hold.reason});
    n.set_hold_id(held.hold_id());
    n.set_awaiting(hold.awaiting);
    if (h.kind() == liaison::v1::KIND_FOLLOWUP_REQUEST) {
      // The owner decides on a follow-up knowing who asks, for which of its
      // cases, and under which case of the requester.
      n.set_requester(h.sender());
      n.set_case_ref(h.case_ref());
      n.set_owner_ref(c.message->followup_request().owner_ref());
    }
    n.set_consent_kind(liaison::v1::ConsentKind_Name(hold.consent_kind));
    *n.mutable_due() = ToProto(hold.expires_at);
    notices.push_back(n);
    if (c.registry->FindEndpoint(hold.awaiting) != nullptr && hold.awaiting != h.sender()) {
      n.set_kind(liaison::v1::NOTICE_KIND_CONSENT_REQUESTED);
      n.set_addressee(hold.awaiting);
      notices.push_back(std::move(n));
    } else if (hold.awaiting == h.sender()) {
      // The sender's own approver (DP-CHILD-01 third country).
      n.set_kind(liaison::v1::NOTICE_KIND_CONSENT_REQUESTED);
      notices.push_back(std::move(n));
    }
  }
  return held;
}

// What every attestation of this message states, whatever its body.
liaison::v1::Attestation BaseAttestation(const PlanContext& c, Outcome outcome,
                                         absl::Time erase_by) {
  const liaison::v1::Header& h = c.message->header();
  liaison::v1::Attestation a;
  a.set_message_id(h.message_id());
  a.set_sender(h.sender());
  a.set_kind(h.kind());
  a.set_original_sha256(c.payload_sha256);
  a.set_outcome(outcome);
  a.set_policy_version(c.policy_version);
  a.set_registry_version(c.registry->version());
  *a.mutable_decided_at() = ToProto(c.now);
  // The delivery side expires the item then (DP-RET-02), H3 ERASE_BY included.
  if (erase_by != absl::InfiniteFuture()) *a.mutable_erase_by() = ToProto(erase_by);
  *a.mutable_accepted_at() = c.ingress->accepted_at();
  return a;
}

// A LINKAGE_QUERY decided for `searched` (the recipients the chain allowed):
// the broker answers from the index instead of forwarding the query. The
// sender gets one broker-authored LINKAGE_REPLY (per identifier: no-hit, or
// one hit per owner case: owner and owner_ref, nothing else); each owner case
// matched gets a LINKAGE_HIT notice and a COMBINATION audit entry.
void PlanLinkageAnswer(const PlanContext& c, const std::optional<LinkageLookup>& lookup,
                       const std::vector<std::string>& searched, absl::Time erase_by, Plan& plan) {
  const liaison::v1::Header& h = c.message->header();
  const liaison::v1::LinkageQuery& q = c.message->linkage_query();
  auto refuse = [&](const std::string& why) {
    for (const std::string& owner : searched) {
      plan.notices.push_back(
          NoticeAbout(h, liaison::v1::NOTICE_KIND_NON_DELIVERY, h.sender(), owner, {"DP-LINK-02"},
                      {absl::StrCat("the linkage index could not answer (", why,
                                    "); nothing was disclosed; send the query again")}));
    }
  };
  if (!lookup.has_value() || !lookup->status.ok()) {
    refuse(lookup.has_value() ? std::string(lookup->status.message())
                              : "this broker node has no linkage index");
    return;
  }

  const int n = q.identifiers_size();
  std::vector<std::vector<const LinkageMatch*>> by_index(n);
  struct Case {
    std::string owner_ref_hash;
    std::set<int> types;
    int64_t identifiers = 0;
  };
  std::map<std::pair<std::string, std::string>, Case> cases;  // (owner, owner_ref)
  for (const LinkageMatch& m : lookup->matches) {
    if (m.index < 0 || m.index >= n) continue;
    if (std::find(searched.begin(), searched.end(), m.owner) == searched.end()) continue;
    by_index[m.index].push_back(&m);
    Case& owner_case = cases[{m.owner, m.owner_ref}];
    owner_case.owner_ref_hash = m.owner_ref_hash;
    owner_case.types.insert(q.identifiers(m.index).type());
    ++owner_case.identifiers;
  }

  liaison::v1::Message reply;
  liaison::v1::Header& rh = *reply.mutable_header();
  const MessageId reply_id = LinkageReplyIdOf(MessageId(h.message_id()), searched);
  rh.set_message_id(reply_id.value());
  rh.set_kind(liaison::v1::KIND_LINKAGE_REPLY);
  *rh.mutable_created_at() = ToProto(c.now);
  rh.set_sender(c.broker_id);
  rh.add_recipients(h.sender());
  rh.set_case_ref(h.case_ref());  // the querier's own reference
  rh.set_in_reply_to(h.message_id());
  *rh.mutable_legal_basis() = h.legal_basis();
  *rh.mutable_purposes() = h.purposes();
  *rh.mutable_retention() = h.retention();
  liaison::v1::LinkageReply& body = *reply.mutable_linkage_reply();
  body.set_query_id(h.message_id());
  for (int i = 0; i < n; ++i) {
    if (by_index[i].empty()) {
      liaison::v1::LinkageHit& miss = *body.add_hits();
      miss.set_identifier_index(i);
      continue;
    }
    for (const LinkageMatch* m : by_index[i]) {
      liaison::v1::LinkageHit& hit = *body.add_hits();
      hit.set_identifier_index(i);
      hit.set_hit(true);
      hit.set_owner(m->owner);
      hit.set_owner_ref(m->owner_ref);
    }
  }
  // DP-LINK-02 holds for what the broker writes too: fail closed.
  if (absl::Status shape = policy::CheckLinkageReplyShape(body, *c.registry); !shape.ok()) {
    plan.underivable.emplace_back(h.sender(), shape);
    refuse("the reply did not pass DP-LINK-02");
    return;
  }

  DeliveryGroup group;
  group.recipients = {h.sender()};
  group.derived_message = reply.SerializeAsString();
  group.message_id = reply_id.value();
  group.attestation = BaseAttestation(c, liaison::v1::OUTCOME_ALLOW, erase_by);
  group.attestation.set_message_id(reply_id.value());
  group.attestation.set_sender(c.broker_id);
  group.attestation.set_kind(liaison::v1::KIND_LINKAGE_REPLY);
  group.attestation.add_recipients(h.sender());
  group.attestation.set_derived(true);
  group.attestation.set_broker_authored(true);
  group.attestation.add_rule_ids("DP-LINK-02");
  plan.deliveries.push_back(std::move(group));

  for (const auto& [owner_case, found] : cases) {
    const auto& [owner, owner_ref] = owner_case;
    // LED art 25: the match itself is a processing operation (combination).
    liaison::v1::AuditEntry a;
    *a.mutable_ts() = ToProto(c.now);
    a.set_operation(liaison::v1::AUDIT_OPERATION_COMBINATION);
    a.set_event("linkage-match");
    a.set_message_id(h.message_id());
    a.set_kind(h.kind());
    a.set_sender(h.sender());
    a.set_sender_officer(h.sender_officer());
    a.set_recipient(owner);
    *a.mutable_legal_basis() = h.legal_basis();
    *a.mutable_purposes() = h.purposes();
    a.set_case_ref_hash(c.case_ref_hash);
    a.set_decision(liaison::v1::OUTCOME_ALLOW);
    a.add_rule_ids("DP-LINK-02");
    a.set_payload_sha256(c.payload_sha256);
    a.set_policy_version(c.policy_version);
    a.set_registry_version(c.registry->version());
    a.set_broker_id(c.broker_id);
    a.set_owner_ref_hash(found.owner_ref_hash);
    a.set_linkage_entries(found.identifiers);
    liaison::v1::Notice notice =
        NoticeAbout(h, liaison::v1::NOTICE_KIND_LINKAGE_HIT, owner, "", {"DP-LINK-02"},
                    {absl::StrCat("a linkage query from ", h.sender(), " matched ",
                                  found.identifiers, " identifier(s) of your case ", owner_ref,
                                  "; details travel only in a follow-up you approve")});
    notice.set_requester(h.sender());
    notice.set_case_ref(h.case_ref());
    notice.set_owner_ref(owner_ref);
    for (int type : found.types) {
      a.add_linkage_types(static_cast<liaison::v1::IdentifierType>(type));
      notice.add_identifier_types(static_cast<liaison::v1::IdentifierType>(type));
    }
    plan.audit.push_back(std::move(a));
    plan.notices.push_back(std::move(notice));
  }
}

}  // namespace

liaison::v1::AuditOperation OperationFor(Outcome outcome, liaison::v1::Kind kind,
                                         bool third_country) {
  switch (outcome) {
    case liaison::v1::OUTCOME_ALLOW:
    case liaison::v1::OUTCOME_REDACT:
      if (kind == liaison::v1::KIND_LINKAGE_QUERY) return liaison::v1::AUDIT_OPERATION_CONSULTATION;
      if (third_country) return liaison::v1::AUDIT_OPERATION_TRANSFER;
      return outcome == liaison::v1::OUTCOME_REDACT ? liaison::v1::AUDIT_OPERATION_ALTERATION
                                                    : liaison::v1::AUDIT_OPERATION_DISCLOSURE;
    case liaison::v1::OUTCOME_HOLD:
    case liaison::v1::OUTCOME_DELAY:
      return liaison::v1::AUDIT_OPERATION_RETENTION;
    default:
      return liaison::v1::AUDIT_OPERATION_REFUSAL;
  }
}

std::optional<ConsentPlan> PlanConsent(const PlanContext& c) {
  const liaison::v1::Message& message = *c.message;
  const liaison::v1::Header& h = message.header();
  // A FOLLOWUP_DECISION is the owner's consent to (or refusal of) its held
  // follow-up request (DP-LINK-02), recorded the same way.
  const bool decision = h.kind() == liaison::v1::KIND_FOLLOWUP_DECISION;
  if ((h.kind() != liaison::v1::KIND_CONSENT && !decision) || c.step != FlowStep::kDecided) {
    return std::nullopt;
  }
  // Every consent is audited, recorded or not, even when it names no
  // recipient (a supervisor's approval is addressed to the broker alone).
  ConsentPlan plan{{}, policy::InMemoryConsentIndex::RecordOf(message, c.now)};
  liaison::v1::AuditEntry& a = plan.audit;
  *a.mutable_ts() = ToProto(c.now);
  a.set_operation(liaison::v1::AUDIT_OPERATION_COLLECTION);
  a.set_event(decision
                  ? (plan.record.ok() ? "followup_decision_recorded" : "followup_decision_unusable")
                  : (plan.record.ok() ? "consent_recorded" : "consent_unusable"));
  a.set_message_id(h.message_id());
  a.set_kind(h.kind());
  a.set_sender(h.sender());
  a.set_sender_officer(h.sender_officer());
  *a.mutable_legal_basis() = h.legal_basis();
  *a.mutable_purposes() = h.purposes();
  a.set_decision(plan.record.ok() ? liaison::v1::OUTCOME_ALLOW : liaison::v1::OUTCOME_REJECT);
  a.set_payload_sha256(c.payload_sha256);
  a.set_policy_version(c.policy_version);
  a.set_registry_version(c.registry->version());
  a.set_broker_id(c.broker_id);
  return plan;
}

Plan PlanDecision(PlanInput input) {
  const PlanContext& c = input.context;
  const liaison::v1::Message& message = *c.message;
  const liaison::v1::Header& h = message.header();
  const absl::Time erase_by = policy::EraseBy(h).at;
  Plan plan;

  if (input.consent.has_value()) {
    plan.audit.push_back(std::move(input.consent->audit));
    if (input.consent->record.ok()) plan.consent = *std::move(input.consent->record);
  }

  // Recipients of the original body, by obligations (one signature each).
  struct Group {
    std::vector<std::string> recipients;
    std::vector<liaison::v1::Obligation> obligations;
    std::vector<std::string> rule_ids;
  };
  std::map<std::string, Group> allow_groups;
  std::vector<Decided*> derived;
  std::vector<std::string> delivered_to;
  const bool needs_derived_copy = policy::NeedsDerivedCopy(message);
  // A linkage query is answered from the index, never forwarded: the owners
  // the chain allowed are searched.
  const bool linkage_query = h.kind() == liaison::v1::KIND_LINKAGE_QUERY;
  std::vector<std::string> searched;

  for (Decided& decided : input.decisions) {
    const std::string& recipient = decided.recipient;
    const policy::Decision& d = decided.decision;
    plan.audit.push_back(DecisionEntry(c, recipient, d));
    plan.flow.push_back(DecisionFlow(c, recipient, d));
    for (const policy::Notification& n : d.notifications) {
      plan.notices.push_back(NoticeAbout(h, n.kind, n.addressee, recipient,
                                         {std::string(n.rule_id.value())}, {n.reason}));
    }
    if (linkage_query &&
        (d.outcome == liaison::v1::OUTCOME_ALLOW || d.outcome == liaison::v1::OUTCOME_REDACT)) {
      searched.push_back(recipient);
      continue;
    }
    switch (d.outcome) {
      case liaison::v1::OUTCOME_ALLOW: {
        delivered_to.push_back(recipient);
        if (needs_derived_copy) {
          // The sender's envelope carries what no recipient may receive
          // (unknown fields, the strict-necessity justification): deliver the
          // broker's sanitised, countersigned copy instead.
          derived.push_back(&decided);
          break;
        }
        Group& g = allow_groups[ObligationsKey(d.obligations)];
        g.recipients.push_back(recipient);
        g.obligations = d.obligations;
        for (std::string& id : d.HitRuleIds()) {
          if (std::find(g.rule_ids.begin(), g.rule_ids.end(), id) == g.rule_ids.end()) {
            g.rule_ids.push_back(std::move(id));
          }
        }
        break;
      }
      case liaison::v1::OUTCOME_REDACT:
        delivered_to.push_back(recipient);
        derived.push_back(&decided);
        break;
      case liaison::v1::OUTCOME_HOLD:
      case liaison::v1::OUTCOME_DELAY:
        plan.holds.push_back(Held(c, recipient, d, erase_by, plan.notices));
        break;
      default:
        plan.notices.push_back(NoticeAbout(h, liaison::v1::NOTICE_KIND_NON_DELIVERY, h.sender(),
                                           recipient, d.DecidingRuleIds(), {d.explanation}));
        if (h.kind() == liaison::v1::KIND_EVIDENCE_MANIFEST &&
            d.outcome == liaison::v1::OUTCOME_REJECT) {
          // A member the policy refuses can never download the items: its
          // wrapped keys are destroyed at once (docs/evidence.md, "Erasure").
          for (const liaison::v1::EvidenceItem& item : message.evidence_manifest().items()) {
            plan.evidence_refused_keys.push_back(
                {item, message.evidence_manifest().jit_id(), recipient});
          }
        }
        break;
    }
  }

  for (auto& [unused, g] : allow_groups) {
    DeliveryGroup group;
    group.attestation = BaseAttestation(c, liaison::v1::OUTCOME_ALLOW, erase_by);
    for (const std::string& r : g.recipients) group.attestation.add_recipients(r);
    for (liaison::v1::Obligation& o : g.obligations) {
      *group.attestation.add_obligations() = std::move(o);
    }
    for (std::string& id : g.rule_ids) group.attestation.add_rule_ids(std::move(id));
    group.recipients = std::move(g.recipients);
    plan.deliveries.push_back(std::move(group));
  }
  for (Decided* decided : derived) {
    const std::string& recipient = decided->recipient;
    policy::Decision& d = decided->decision;
    absl::StatusOr<liaison::v1::Message> copy =
        policy::Redact(message, d, *input.pseudonymiser, recipient);
    if (!copy.ok()) {
      // Fail closed: nothing leaves that the policy could not derive. (The
      // recipient stays in the source record: what was decided is kept.)
      plan.notices.push_back(NoticeAbout(
          h, liaison::v1::NOTICE_KIND_NON_DELIVERY, h.sender(), recipient, {"POLICY-REDACT"},
          {"the broker could not derive the redacted message; not delivered (an operator has "
           "been alerted)"}));
      plan.underivable.emplace_back(recipient, copy.status());
      continue;
    }
    DeliveryGroup group;
    group.recipients = {recipient};
    group.derived_message = copy->SerializeAsString();
    group.attestation = BaseAttestation(c, d.outcome, erase_by);
    group.attestation.add_recipients(recipient);
    group.attestation.set_derived(true);
    for (liaison::v1::Redaction& r : d.redactions) {
      *group.attestation.add_redactions() = std::move(r);
    }
    for (liaison::v1::Obligation& o : d.obligations) {
      *group.attestation.add_obligations() = std::move(o);
    }
    for (std::string& id : d.HitRuleIds()) group.attestation.add_rule_ids(std::move(id));
    plan.deliveries.push_back(std::move(group));
  }

  if (!searched.empty()) PlanLinkageAnswer(c, input.linkage, searched, erase_by, plan);

  // Evidence: the members the manifest reached may download its items.
  if (h.kind() == liaison::v1::KIND_EVIDENCE_MANIFEST) {
    for (const DeliveryGroup& g : plan.deliveries) {
      liaison::v1::Message copy;
      const liaison::v1::EvidenceManifest* manifest = &message.evidence_manifest();
      if (g.derived_message.has_value()) {
        if (!copy.ParseFromString(*g.derived_message)) continue;  // the plan's own bytes
        manifest = &copy.evidence_manifest();
      }
      for (const std::string& r : g.recipients) {
        for (const liaison::v1::EvidenceItem& item : manifest->items()) {
          plan.evidence_grants.push_back(BuildEvidenceGrantRecord(item, r, manifest->jit_id(),
                                                                  h.message_id(), c.now, erase_by));
        }
      }
    }
  }

  // What the broker now knows about this message, for later provenance and
  // correction decisions.
  if (!delivered_to.empty()) {
    SourceUpdate update;
    update.record = input.known_source != nullptr
                        ? *input.known_source
                        : policy::InMemorySourceIndex::RecordOf(message, {}, *c.registry, c.now);
    for (const std::string& r : delivered_to) {
      if (std::find(update.record.delivered_to.begin(), update.record.delivered_to.end(), r) ==
          update.record.delivered_to.end()) {
        update.record.delivered_to.push_back(r);
      }
    }
    update.erase_by = erase_by;
    update.ingress_partition = c.ingress_partition;
    plan.source = std::move(update);
  }
  return plan;
}

}  // namespace liaison::broker
