// DP-CHILD-01: The identity of a minor (younger than 18 at `now`, or is_minor YES or
// PRESUMED) who is a victim, potential victim, missing person or witness goes
// only to JIT members on the case or THB_UNIT / CHILD_PROTECTION endpoints; a
// third-country recipient also needs a second approval on the sender side
// (LED 6, 10; ER 30; 2011/36 art 13; 2012/29 art 21).
//
// Verdicts: NOT_APPLICABLE without such children; REDACT (as DP-CAT-02) for
// a recipient without the role or membership; for a third-country recipient
// with it, HOLD awaiting the sender (CONSENT_KIND_SENDER_APPROVAL, a
// ConsentGrant signed by the sender covering this message) until approved
// (PASS) or refused (REJECT); otherwise PASS. DP-CHILD-02 switches it off
// for the missing child alone (SupportsEntityExemption); every other child
// in the message is judged as usual.
#ifndef LIAISON_POLICY_RULES_CHILD_IDENTITY_H_
#define LIAISON_POLICY_RULES_CHILD_IDENTITY_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class ChildIdentityRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-CHILD-01"};
  RuleId id() const override { return kId; }
  bool SupportsEntityExemption() const override { return true; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_CHILD_IDENTITY_H_
