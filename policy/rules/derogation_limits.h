// DP-XFER-03: Art 38 derogations cover individual cases only: at most max_subjects
// persons (default 3), no repeat pattern in the window, fundamental-rights
// check flagged, justification documented (LED 38(1)-(3), recital 72, 37(3)).
//
// Applies when header.transfer.kind is DEROGATION_38 and the recipient is a
// third country. The repeat check reads Counters (Metric::kDerogations over
// registry repeat_window, this transfer included); without Counters it
// rejects (fail closed). The broker records kDerogations when it forwards.
// Verdicts: PASS with obligation INDIVIDUAL_CASE_ONLY; REJECT beyond limits.
#ifndef LIAISON_POLICY_RULES_DEROGATION_LIMITS_H_
#define LIAISON_POLICY_RULES_DEROGATION_LIMITS_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class DerogationLimitsRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-XFER-03"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_DEROGATION_LIMITS_H_
