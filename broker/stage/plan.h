// Plan, then apply: what the policy stage does for one message, computed by
// pure functions from the verified message and the chain's decisions, then
// carried out by the applier (applier.h) and the stage's write path
// (policy_stage.h), which sign, produce and update the books.
//
// Nothing here reads a clock, signs, hashes, or talks to Kafka: everything
// the plan needs arrives as plain input (the time, the registry, the digests
// of the signed bytes, the source book's record of this message). The plan
// says which recipients receive which body, what is audited, who is told
// what, what is held and what the books learn.
//
// Steps of one message through the stage, in order:
//   1. PlanConsent: a KIND_CONSENT message's audit entry and consent record.
//      The applier puts the record in the consent book *before* the chain
//      decides (the same batch of decisions sees it).
//   2. The chain decides recipient by recipient; the volume counters are
//      recorded between two decisions (DP-BULK-01 must see the previous
//      recipient's volume), so counting is part of deciding, not of the plan.
//   3. PlanDecision: audit entries, flow events, holds, delivery groups,
//      notices and the source book's update. A LINKAGE_QUERY is not
//      forwarded: the caller looks the allowed recipients' entries up in the
//      node's linkage index (PlanInput::linkage) and the plan answers the
//      sender with a broker-authored LINKAGE_REPLY (hit / no-hit, owner,
//      owner_ref only: DP-LINK-02), tells each owner of a match
//      (LINKAGE_HIT) and audits every match as a COMBINATION.
//   4. The applier countersigns each delivery group and signs each notice,
//      updates the source book, and turns the plan into records; the stage
//      writes the audit entries first, then the records.
#ifndef LIAISON_BROKER_STAGE_PLAN_H_
#define LIAISON_BROKER_STAGE_PLAN_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/core/observer.h"
#include "broker/state/evidence_book.h"
#include "liaison/v1/broker_state.pb.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"
#include "policy/consents.h"
#include "policy/decision.h"
#include "policy/redact.h"
#include "policy/registry.h"
#include "policy/sources.h"

namespace liaison::broker {

// What every step knows of the message and of the node deciding it.
struct PlanContext {
  // The ingress record as read (a hold keeps a copy) and its verified message.
  const liaison::v1::IngressRecord* ingress = nullptr;
  const liaison::v1::Message* message = nullptr;
  // SHA-256 of the signed message bytes, and audit::CaseRefHash of the
  // header's case reference: computed by the caller, so that the plan hashes
  // nothing.
  std::string payload_sha256;
  std::string case_ref_hash;
  size_t message_bytes = 0;
  const policy::Registry* registry = nullptr;
  std::string policy_version;  // of the chain that decides
  std::string broker_id;
  absl::Time now;
  FlowStep step = FlowStep::kDecided;
  int32_t ingress_partition = 0;
};

// A KIND_CONSENT message, decided on arrival: audited whether or not it is
// usable; the record when it is.
struct ConsentPlan {
  liaison::v1::AuditEntry audit;
  absl::StatusOr<policy::ConsentRecord> record;
};
// nullopt unless the message is a consent decided on arrival (a released
// hold never records a consent again). Pure and thread-safe; reads
// `context`'s pointers only during the call.
std::optional<ConsentPlan> PlanConsent(const PlanContext& context);

// One recipient's decision, in the order the chain made them.
struct Decided {
  std::string recipient;
  policy::Decision decision;
};

// A LINKAGE_QUERY's answer from the node's index (state/linkage_book.h),
// looked up by the caller for the recipients the chain allowed: what the
// index said, with the owner handle's hash (the plan hashes nothing).
struct LinkageMatch {
  int index = 0;  // position of the identifier in the query
  std::string owner;
  std::string owner_ref;
  std::string owner_ref_hash;  // audit::CaseRefHash(owner, owner_ref)
};
struct LinkageLookup {
  // Not OK: the index could not answer (the sender is told, nothing leaves).
  absl::Status status;
  std::vector<LinkageMatch> matches;  // ordered by index, then owner, then handle
};

struct PlanInput {
  PlanContext context;
  std::optional<ConsentPlan> consent;  // PlanConsent's result (already applied to the book)
  std::vector<Decided> decisions;
  // The source book's record of this message (nullptr: none yet); a release
  // adds its recipient to it.
  const policy::SourceRecord* known_source = nullptr;
  // Redaction happens here, not in the applier: policy::Redact is pure, and
  // a copy that cannot be derived is a decision (fail closed: the sender is
  // told) that the plan should show. The pseudonymiser is an interface (the
  // broker's is an HMAC, tests use a plain one).
  const policy::Pseudonymiser* pseudonymiser = nullptr;
  // A LINKAGE_QUERY's lookup (nullopt for other kinds, or when no recipient
  // was allowed).
  std::optional<LinkageLookup> linkage;
};

// Recipients receiving identical bytes under one attestation: one
// countersignature for the group.
struct DeliveryGroup {
  std::vector<std::string> recipients;
  // nullopt: the sender's envelope, unchanged. Otherwise the serialised copy
  // the broker derived for the group's one recipient (REDACT, or an ALLOW
  // whose original carries what no recipient may receive).
  std::optional<std::string> derived_message;
  // Unsigned, and without content_sha256: the applier hashes the body it
  // delivers and signs.
  liaison::v1::Attestation attestation;
  // The id the items are derived from, when the group carries a message the
  // broker wrote itself (a LINKAGE_REPLY); empty: the decided message's.
  std::string message_id;
};

// What the source book learns: the message was delivered to these
// recipients (added to those it already had).
struct SourceUpdate {
  policy::SourceRecord record;
  absl::Time erase_by = absl::InfiniteFuture();  // header's retention, if any
  int32_t ingress_partition = 0;
};

struct Plan {
  // In the order written to the audit chain: the consent entry, then one per
  // (message, recipient) in the order decided.
  std::vector<liaison::v1::AuditEntry> audit;
  std::vector<FlowEvent> flow;  // one per recipient, in the same order
  // Consent record to write to liaison.consents (with the grantor's envelope).
  std::optional<policy::ConsentRecord> consent;
  std::vector<liaison::v1::HeldDelivery> holds;
  // Groups of the original body first (by obligations), then derived copies
  // in the order decided.
  std::vector<DeliveryGroup> deliveries;
  std::optional<SourceUpdate> source;
  // Unsigned notices, in the order made: the chain's notifications and each
  // recipient's NON_DELIVERY/HELD/CONSENT_REQUESTED/DELAYED, then copies the
  // broker could not derive.
  std::vector<liaison::v1::Notice> notices;
  // JIT evidence: one grant record per (recipient, item) of an
  // EVIDENCE_MANIFEST delivered with ALLOW or REDACT (the items of the copy
  // that recipient receives), for liaison.evidence.grants: only then may the
  // member download the item and its wrapped key.
  std::vector<KeyedRecord> evidence_grants;
  // And each (item, recipient) the policy REJECTed for an EVIDENCE_MANIFEST:
  // that member can never download the item, so its wrapped key goes at
  // once (the stage tombstones the keys its node holds, with an
  // "evidence-key-destroyed" entry each).
  struct RefusedEvidenceKey {
    liaison::v1::EvidenceItem item;
    std::string jit_id;
    std::string recipient;
  };
  std::vector<RefusedEvidenceKey> evidence_refused_keys;
  // Recipients whose copy could not be derived, and why (the applier logs
  // them for the operators; the sender gets a NON_DELIVERY notice above).
  std::vector<std::pair<std::string, absl::Status>> underivable;
};

// The plan for `input`: never fails (a copy that cannot be derived becomes a
// NON_DELIVERY notice and an `underivable` entry). Pure and thread-safe;
// reads the input's pointers only during the call and keeps copies of what
// it needs (a hold carries the whole ingress record).
Plan PlanDecision(PlanInput input);

// The audit operation of an outcome (LED art 25): disclosure, alteration,
// transfer, consultation, retention or refusal.
liaison::v1::AuditOperation OperationFor(liaison::v1::Outcome outcome, liaison::v1::Kind kind,
                                         bool third_country);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_PLAN_H_
