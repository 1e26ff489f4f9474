// DP-HC-03: H2 content must not go to anyone outside the source's original addressees
// without a provider consent (ER 19(2); LED 9(3); 2023/977 data ownership).
//
// Checks every source with handling H2: the recipient is its provider, one
// of its original recipients, or covered by a PROVIDER consent of the
// provider (for this recipient and the message's purposes).
// Verdicts: NOT_APPLICABLE; PASS; HOLD awaiting the provider; REJECT on
// refusal or an unknown source.
#ifndef LIAISON_POLICY_RULES_H2_DISSEMINATION_H_
#define LIAISON_POLICY_RULES_H2_DISSEMINATION_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class H2DisseminationRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-HC-03"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_H2_DISSEMINATION_H_
