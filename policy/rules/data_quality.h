// DP-QUAL-01: Each entity and link states FACT or ASSESSMENT plus reliability (A/B/C/X)
// and accuracy (1-4); an assessment names who assessed (LED 7(1)-(2); ER 29;
// 2023/977 art 10).
//
// Checks the meta of every entity and link of the entity body (evaluation may
// come from header.default_evaluation; the basis may not), and that every
// ASSESSMENT in meta, field_meta or attribute meta has assessed_by.
// Verdicts: NOT_APPLICABLE without entities; PASS; REJECT listing paths.
#ifndef LIAISON_POLICY_RULES_DATA_QUALITY_H_
#define LIAISON_POLICY_RULES_DATA_QUALITY_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class DataQualityRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-QUAL-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_DATA_QUALITY_H_
