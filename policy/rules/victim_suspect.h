// DP-CAT-03: A person marked both victim and suspect needs a category_note; DP-CAT-02
// then applies (LED art 6; 2011/36 art 8: non-punishment of victims).
//
// Checks every Person that is VICTIM/POTENTIAL_VICTIM and SUSPECT/CONVICTED.
// Verdicts: NOT_APPLICABLE without such persons; PASS; REJECT listing them.
#ifndef LIAISON_POLICY_RULES_VICTIM_SUSPECT_H_
#define LIAISON_POLICY_RULES_VICTIM_SUSPECT_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class VictimSuspectRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-CAT-03"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_VICTIM_SUSPECT_H_
