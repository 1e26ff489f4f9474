// DP-CAT-01: Every Person has a data-subject category; SUSPECT/CONVICTED must cite an
// offence (LED art 6).
//
// Checks every Person of the entity body (alert, info, correction
// replacement): categories is not empty and holds only known values;
// SUSPECT or CONVICTED persons have offence_refs.
// Verdicts: NOT_APPLICABLE without persons; PASS; REJECT listing the paths.
#ifndef LIAISON_POLICY_RULES_SUBJECT_CATEGORY_H_
#define LIAISON_POLICY_RULES_SUBJECT_CATEGORY_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class SubjectCategoryRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-CAT-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_SUBJECT_CATEGORY_H_
