// DP-SPECIAL-01: Fields tagged special-category need a strict_necessity justification and a
// basis code allowing art 10 processing (LED art 10; CJEU C-205/21).
//
// Special fields: attributes whose meta lists a SpecialCategory, fields named
// in field_meta with one, whole entities and links whose meta lists one, and
// Person.biometrics (always biometric/genetic data, tagged or not).
// Justified when header.strict_necessity is not empty and
// header.special_basis is a registered basis with allows_special_categories.
// Verdicts: NOT_APPLICABLE without special fields; PASS when justified;
// otherwise REDACT those fields (reason names paths and categories, never the
// justification text); REJECT when a field_meta key names no field.
#ifndef LIAISON_POLICY_RULES_SPECIAL_CATEGORY_H_
#define LIAISON_POLICY_RULES_SPECIAL_CATEGORY_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class SpecialCategoryRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-SPECIAL-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_SPECIAL_CATEGORY_H_
