// Redact(): derives the message a recipient receives under a REDACT
// decision. The policy cannot do crypto, so the pseudonymous references
// come from an injected Pseudonymiser (the broker's HMAC).
//
// The derived message is new bytes: the sender's signature no longer covers
// it, so the broker countersigns it and records Decision::redactions.
#ifndef LIAISON_POLICY_REDACT_H_
#define LIAISON_POLICY_REDACT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "liaison/v1/message.pb.h"
#include "policy/decision.h"

namespace liaison::policy {

class Pseudonymiser {
 public:
  virtual ~Pseudonymiser() = default;
  // A reference for entity `entity_id` of `sender` as seen by `recipient`:
  // stable for that triple, unlinkable across recipients, not revealing
  // entity_id (e.g. HMAC(sender secret, entity_id || recipient), encoded as
  // text). Must be thread-safe and must not return an empty string.
  virtual std::string Ref(std::string_view sender, std::string_view entity_id,
                          std::string_view recipient) const = 0;
};

// Applies decision.redaction_steps to a copy of `message`:
//  - protected persons: identity fields cleared (names, birth date and
//    place, document/location/comm/account/vehicle refs, biometrics, photo,
//    attributes, category_note), victim_ref and entity_id set to
//    pseudonymiser.Ref(sender, old entity_id, recipient), links, subject_ids
//    and holder_refs rewritten to the new id;
//  - special-category attributes, fields, entities and links removed;
//  - non-allowlisted Person fields cleared;
//  - entities only protected persons referenced removed, with the links and
//    references that point at them; free text cleared where asked.
// Every derived copy also loses what the broker cannot interpret or must
// not pass on (SanitiseDerived): unknown fields anywhere in the message, and
// header.strict_necessity (the sender's justification for special-category
// data, for its DPO and the audit, not for recipients); a copy in which an
// identity was pseudonymised loses alert.sis_alert_ref and the body's free
// text. The rest of the header is kept as sent.
//
// Errors: FailedPrecondition when decision.outcome is not REDACT or ALLOW
// (nothing may be derived from a held, delayed or rejected message);
// InvalidArgument when `recipient` or the message id differ from the
// decision's; Internal when a step does not fit the message (a bug) or the
// pseudonymiser returns an empty reference. Pure; thread-safe.
// Removes from `m` what no derived copy carries: unknown fields (recursively)
// and header.strict_necessity.
void SanitiseDerived(liaison::v1::Message& m);

// True when forwarding `m` unchanged would pass on something a derived copy
// drops (SanitiseDerived): an ALLOW decision then delivers Redact()'s copy,
// countersigned by the broker, instead of the sender's envelope.
bool NeedsDerivedCopy(const liaison::v1::Message& m);

absl::StatusOr<liaison::v1::Message> Redact(const liaison::v1::Message& message,
                                            const Decision& decision,
                                            const Pseudonymiser& pseudonymiser,
                                            std::string_view recipient);

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_REDACT_H_
