// Helpers shared by the rules in this folder (not part of the public API).
#ifndef LIAISON_POLICY_RULES_RULE_UTIL_H_
#define LIAISON_POLICY_RULES_RULE_UTIL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"
#include "policy/consents.h"
#include "policy/input.h"
#include "policy/internal/message_view.h"
#include "policy/internal/text.h"
#include "policy/registry.h"
#include "policy/rule_id.h"
#include "policy/sources.h"
#include "policy/verdict.h"

namespace liaison::policy::rules {

// in.recipient as the string_view type Abseil takes.
inline absl::string_view Recipient(const Input& in) { return internal::AV(in.recipient); }

// Registry entries of the message's sender and of in.recipient.
struct Parties {
  const EndpointEntry* sender = nullptr;
  const EndpointEntry* recipient = nullptr;
  bool ok() const { return sender != nullptr && recipient != nullptr; }
};
Parties PartiesOf(const Input& in);
// Fail-closed reject naming the unknown party.
Verdict UnknownParty(RuleId rule, const Input& in, const Parties& p);

// An endpoint id for reason text: `id` when the registry knows it, else
// "<unregistered endpoint>" (sender-supplied text is never echoed).
absl::string_view EndpointText(const Input& in, absl::string_view id);

// "RO-IGPR→MD-IGP".
std::string Pair(const Parties& p);

// True when sender and recipient are both members of a JIT valid at
// in.now that is on this message's case: a registry JIT whose case_refs list
// header.case_ref, or, for derived content, the JIT the broker recorded for
// a source (SourceRecord, never the sender's description of it). The
// sender's header.jit_id claim alone never counts (DOMAIN DP-CAT-02).
bool JitOnCase(const Input& in);

// Redaction steps that replace the identity of the persons at
// `protected_persons` (indices into body.entities) with a pseudonymous
// reference: identity fields cleared, entity_id replaced, entities only
// they reference (documents, phones, accounts, vehicles, locations) removed,
// and the body's free text cleared (it cannot be checked for identities).
std::vector<RedactionStep> PseudonymiseSteps(const internal::EntityBody& body,
                                             const liaison::v1::Message& message,
                                             const std::vector<int>& protected_persons);

// "a; b; c (and 4 more)" for at most `max` problems.
std::string JoinProblems(const std::vector<std::string>& problems, size_t max = 6);

// The FieldMeta / field_meta map of whichever message the entity holds.
const liaison::v1::FieldMeta* MetaOf(const liaison::v1::Entity& e);
const google::protobuf::Map<std::string, liaison::v1::FieldMeta>* FieldMetaOf(
    const liaison::v1::Entity& e);
// "person", "vehicle", ...: the Entity oneof field name.
absl::string_view EntityKindName(const liaison::v1::Entity& e);

bool HasPurpose(const liaison::v1::Header& h, liaison::v1::Purpose p);

// An H3 restriction's params["at"] (RFC 3339); nullopt when absent or invalid.
std::optional<absl::Time> RestrictionTime(const liaison::v1::Restriction& r);

// The consent `grantor` gave (of `kind`) for this message from its sender to
// in.recipient, at in.now: FindConsent with the fields every rule fills the
// same way. `source_id`: a source the consent may name instead of the message
// (empty = none); `purposes`: purposes that need it (nullptr = none beyond
// the message's).
ConsentState MessageConsent(const Input& in, liaison::v1::ConsentKind kind,
                            absl::string_view grantor, absl::string_view source_id = {},
                            const google::protobuf::RepeatedField<int>* purposes = nullptr);

// What the source-consent rules (DP-HC-02, DP-HC-03, DP-PURPOSE-02,
// DP-JIT-02, DP-XFER-04) gather while walking the message's sources: the
// first refusal, or every consent to wait for (one hold per awaited
// endpoint), with reasons.
class SourceConsentVerdict {
 public:
  explicit SourceConsentVerdict(RuleId rule) : rule_(rule) {}

  // The rule concerns at least one source (PASS rather than NOT_APPLICABLE).
  void Applies() { applies_ = true; }
  // A refusal or a fail-closed case; `reason` is the whole text. Returns
  // false, to stop the walk.
  bool Reject(std::string reason);
  // Waits for a `kind` consent of `awaiting`; `reason` joins the others as
  // "<rule>: <reason>; <reason>...".
  void Await(absl::string_view awaiting, liaison::v1::ConsentKind kind, absl::string_view reason);
  // The same for a hold caused by `source`, except that a source the broker
  // never recorded (described by the sender only) rejects instead: a sender
  // cannot make the broker ask another endpoint for consent, and park the
  // message, by inventing a source.
  void Await(const ResolvedSource& source, absl::string_view awaiting,
             liaison::v1::ConsentKind kind, absl::string_view reason);
  // REJECT if refused, else HOLD for every awaited consent, else PASS or
  // NOT_APPLICABLE.
  Verdict Finish() &&;

 private:
  const RuleId rule_;
  bool applies_ = false;
  std::string reject_;
  std::string hold_reason_;
  std::vector<HoldRequest> holds_;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_RULE_UTIL_H_
