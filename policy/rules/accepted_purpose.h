// DP-PURPOSE-01: Every purpose must map to an LED art 1(1) purpose and be among the
// recipient's accepted purposes (LED 1(1), 4(1)(b), 8).
//
// Checks: header.purposes is not empty, has no UNSPECIFIED/unknown value
// (every defined liaison.v1.Purpose maps to art 1(1)), and each is in the
// recipient's registry accepted_purposes.
// Verdicts: PASS; REJECT listing the refused purposes and the recipient's
// accepted ones. Switched off by DP-QUAL-02 for corrections to earlier
// recipients.
#ifndef LIAISON_POLICY_RULES_ACCEPTED_PURPOSE_H_
#define LIAISON_POLICY_RULES_ACCEPTED_PURPOSE_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class AcceptedPurposeRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-PURPOSE-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_ACCEPTED_PURPOSE_H_
