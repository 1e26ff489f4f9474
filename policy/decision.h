// Decision: what the chain decided for one (message, recipient) pair, with
// every rule consulted, so that the audit record and the explain RPC fall
// out of it (ToProto).
//
// A reject is a normal Decision, not an error. Decisions are plain values:
// copy or move them freely; they borrow nothing from the Input.
#ifndef LIAISON_POLICY_DECISION_H_
#define LIAISON_POLICY_DECISION_H_

#include <optional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/time/time.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"
#include "liaison/v1/policy.pb.h"
#include "policy/rule_id.h"
#include "policy/verdict.h"

namespace liaison::policy {

enum class RuleMode : uint8_t {
  kEnforced = 0,
  // Evaluated and recorded, not enforced (shadow_rules).
  kShadow = 1,
  // Switched off for this recipient by an exemption rule.
  kExempted = 2,
};

struct RuleResult {
  RuleId rule_id;
  VerdictKind verdict = VerdictKind::kNotApplicable;
  RuleMode mode = RuleMode::kEnforced;
  RuleId exempted_by;  // kExempted only
  std::string reason;
  std::vector<std::string> paths;  // redacted field paths
  bool has_obligations = false;

  bool enforced() const { return mode == RuleMode::kEnforced; }
  // Enforced and did something: redact/delay/hold/reject, or obligations.
  bool hit() const { return enforced() && (verdict >= VerdictKind::kRedact || has_obligations); }
};

// Delivery waits for a signed ConsentGrant of `consent_kind` from
// `awaiting` covering the message (ConsentGrant.message_ids contains the
// message id). The broker re-evaluates when one is recorded; a refusal makes
// the next evaluation reject. When `expires_at` passes without a consent the
// broker turns the hold into a reject (non-delivery notice to the sender).
struct Hold {
  RuleId rule_id;
  std::string awaiting;  // endpoint id, or kAwaitingDpo
  liaison::v1::ConsentKind consent_kind = liaison::v1::CONSENT_KIND_UNSPECIFIED;
  absl::Duration timeout;  // registry hold_timeouts: 72 h, 2 h when URGENT
  absl::Time expires_at;   // now + timeout
  std::string reason;
};

// Something the broker must tell `addressee` (e.g. an art 35(2) transfer
// without prior authorisation must be reported to the originating state).
struct Notification {
  RuleId rule_id;
  std::string addressee;
  liaison::v1::NoticeKind kind = liaison::v1::NOTICE_KIND_UNSPECIFIED;
  std::string reason;
};

struct Decision {
  std::string message_id;
  std::string sender;
  std::string recipient;
  liaison::v1::Kind kind = liaison::v1::KIND_UNSPECIFIED;

  // REJECT > HOLD > DELAY > REDACT > ALLOW over the enforced verdicts.
  liaison::v1::Outcome outcome = liaison::v1::OUTCOME_REJECT;
  // Every rule consulted, exemption rules first, then docs/rules.md order.
  std::vector<RuleResult> rules;
  // Enforced rules whose verdict set the outcome; for ALLOW, the rules that
  // attached obligations.
  std::vector<RuleId> deciding_rules;

  // Field paths removed or replaced, grouped by rule (enforced REDACT
  // verdicts, kept whatever the outcome so a later release knows them).
  std::vector<liaison::v1::Redaction> redactions;
  // The same as steps for Redact() (redact.h).
  std::vector<RedactionStep> redaction_steps;
  // Usage conditions for the recipient, unioned (enforced rules only).
  std::vector<liaison::v1::Obligation> obligations;
  std::vector<Hold> holds;
  std::vector<Notification> notifications;
  // OUTCOME_DELAY: deliver at or after this time (latest DELAY verdict).
  absl::Time not_before = absl::InfinitePast();
  // DP-TIME-01: when the reply to this request is due (the broker tracks it).
  std::optional<absl::Time> reply_due;
  // DP-XFER-01: basis of a third-country transfer (kind NONE otherwise).
  liaison::v1::TransferBasis transfer;
  // Art 37(3) / 38(3): document the transfer in the DPO store.
  bool transfer_documentation_required = false;

  // "<OUTCOME> to <recipient>: <reasons of the deciding rules>", plus other
  // hits by id and shadow findings. No personal values.
  std::string explanation;
  std::string policy_version;
  std::string registry_version;
  absl::Time decided_at;  // in.now

  const RuleResult* Find(RuleId id) const;
  // Ids of the rules that hit (RuleResult::hit), in evaluation order.
  std::vector<std::string> HitRuleIds() const;
  std::vector<std::string> DecidingRuleIds() const;
};

// For the audit topic and the explain RPC.
liaison::v1::PolicyDecision ToProto(const Decision& decision);
liaison::v1::RuleVerdict ToProto(VerdictKind kind);

// True when `hold` has timed out at `now` (the broker then rejects).
inline bool HoldExpired(const Hold& hold, absl::Time now) { return now >= hold.expires_at; }

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_DECISION_H_
