// DP-HC-01: A handling code is required; H0 is delivered with the H0 usage condition
// (ER 19(2); LED 9(3)).
//
// Verdicts: REJECT when header.handling.code is unset or unknown; otherwise
// PASS with the code's obligation (H0, H1, H2 or H3).
#ifndef LIAISON_POLICY_RULES_HANDLING_CODE_H_
#define LIAISON_POLICY_RULES_HANDLING_CODE_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class HandlingCodeRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-HC-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_HANDLING_CODE_H_
