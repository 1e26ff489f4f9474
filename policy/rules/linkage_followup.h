// DP-LINK-02: A hit reply contains only {hit, owner endpoint, owner_ref}; details travel
// only in a follow-up the owner approves (a human decision), and that
// follow-up then goes through every other rule (Prüm 5/10; Prüm II; 2023/977).
//
// LINKAGE_REPLY: CheckLinkageReplyShape (linkage.h) → PASS or REJECT.
// FOLLOWUP_REQUEST: goes only to followup_request.owner, with an LNK-
// owner_ref and a justification_id; HOLD awaiting the owner
// (CONSENT_KIND_OWNER_APPROVAL covering the follow-up) until approved (PASS)
// or refused (REJECT). FOLLOWUP_DECISION: shape only.
// The details message the owner sends afterwards is an ordinary message.
#ifndef LIAISON_POLICY_RULES_LINKAGE_FOLLOWUP_H_
#define LIAISON_POLICY_RULES_LINKAGE_FOLLOWUP_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class LinkageFollowUpRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-LINK-02"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_LINKAGE_FOLLOWUP_H_
