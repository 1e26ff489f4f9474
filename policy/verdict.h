// Verdict: what one rule says about one (message, recipient) pair.
//
// pass | redact(steps) | delay(until) | hold(awaiting party, consent kind) |
// reject, each with a reason, plus obligations; or "not applicable". The
// chain (chain.h) turns the verdicts of all rules into a Decision.
//
// Reasons name rule ids, field paths, endpoint ids, registry codes, enum
// names, times and counts, and say what would fix the problem. They never
// contain personal values (names, numbers, free text, case references).
#ifndef LIAISON_POLICY_VERDICT_H_
#define LIAISON_POLICY_VERDICT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/time/time.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"
#include "policy/rule_id.h"

namespace liaison::policy {

// Ordered by restrictiveness: REJECT > HOLD > DELAY > REDACT > pass.
enum class VerdictKind : uint8_t {
  kNotApplicable = 0,
  kPass = 1,
  kRedact = 2,
  kDelay = 3,
  kHold = 4,
  kReject = 5,
};

absl::string_view VerdictKindName(VerdictKind kind);  // "PASS", "REDACT", ...

// One change Redact() (redact.h) makes to the message body. Indices refer to
// the entity body of the message being decided (alert / info /
// correction.alert / correction.info).
struct RedactionStep {
  enum class Action : uint8_t {
    // Person `entity`: identity fields cleared, entity_id and victim_ref set
    // to the Pseudonymiser's reference, references to it rewritten.
    kPseudonymiseIdentity,
    // Entity `entity`: clear field number `field` of its message (Person,
    // Vehicle, ... whichever the Entity holds).
    kClearField,
    // Person `entity`: remove attributes[`index`].
    kRemoveAttribute,
    // Remove entities[`entity`], links touching it and references to it.
    kRemoveEntity,
    // Remove links[`index`].
    kRemoveLink,
    // Clear free-text field number `field` of the body message (Alert or
    // InfoExchange summary, Alert requested_action).
    kClearBodyText,
  };
  Action action = Action::kClearField;
  int entity = -1;
  int field = 0;
  int index = -1;
  // The field path removed or replaced, e.g. "info.entities[0].person.names".
  std::string path;
  // Filled by the rule that asks for the step.
  RuleId rule;
};

// A party whose signed consent the delivery waits for.
struct HoldRequest {
  // Endpoint id, or kAwaitingDpo.
  std::string awaiting;
  liaison::v1::ConsentKind consent_kind = liaison::v1::CONSENT_KIND_UNSPECIFIED;
};

// Hold target of a DPO/operator review (DP-BULK-01); a ConsentGrant of kind
// CONSENT_KIND_DPO_REVIEW recorded with this grantor releases it.
inline constexpr absl::string_view kAwaitingDpo = "DPO";

// Something the broker must tell an endpoint other than the recipient.
struct NotificationRequest {
  std::string addressee;
  liaison::v1::NoticeKind kind = liaison::v1::NOTICE_KIND_UNSPECIFIED;
  std::string reason;
};

struct Verdict {
  VerdictKind kind = VerdictKind::kNotApplicable;
  std::string reason;
  std::vector<RedactionStep> redactions;    // kRedact
  absl::Time until = absl::InfinitePast();  // kDelay
  // kHold: every party whose consent is needed (one Hold each in the Decision).
  std::vector<HoldRequest> holds;
  // Usage conditions for the recipient; unioned by the chain.
  std::vector<liaison::v1::Obligation> obligations;
  // Exemption rules only: rules switched off for this recipient.
  std::vector<RuleId> exempts;
  // Exemption rules only: the entities (indices into the message's entity
  // body) the exemption covers. nullopt = the whole message (DP-QUAL-02's
  // purpose exemption); a list = only those entities (DP-CHILD-02 covers the
  // missing child alone): the targeted rules still judge every other entity.
  std::optional<std::vector<int>> exempt_entities;
  // DP-XFER-01 only: the basis of a third-country transfer.
  std::optional<liaison::v1::TransferBasis> transfer;
  bool transfer_documentation_required = false;
  // DP-TIME-01 only: when the reply is due.
  std::optional<absl::Time> reply_due;
  std::vector<NotificationRequest> notifications;

  static Verdict NotApplicable() { return Verdict{}; }
  static Verdict Pass(std::string reason = {});
  static Verdict Redact(std::vector<RedactionStep> steps, std::string reason);
  static Verdict Delay(absl::Time until, std::string reason);
  static Verdict Hold(std::string awaiting, liaison::v1::ConsentKind kind, std::string reason);
  static Verdict Reject(std::string reason);

  // Adds a usage condition attributed to `rule`.
  Verdict& AddObligation(RuleId rule, absl::string_view code, absl::string_view text);
};

// "<rule>: cannot decide: <why>" as a reject: the fail-closed verdict of a
// rule whose inputs are missing or inconsistent.
Verdict FailClosed(RuleId rule, absl::string_view why);

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_VERDICT_H_
