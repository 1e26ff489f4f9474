// DP-CHILD-02: Exemption: in an URGENT missing-child alert the missing child's
// own identity goes in full to EU/Schengen endpoints, with obligations (LED
// 4(1)(c),(e); 2011/36 art 13(1)).
//
// Applies when: kind ALERT, alert_type MISSING_PERSON, urgency URGENT,
// purposes include LOCATE_MISSING_PERSON and are all among
// LOCATE_MISSING_PERSON / PROTECT_VICTIM / IDENTIFY_VICTIM, at least one
// missing child is in the alert, and the recipient is an EU Member State or
// Schengen-associated endpoint. A missing child is a person who is a subject
// of the alert (alert.subject_ids, or every person when that list is empty),
// a minor at `now`, and of category MISSING or POTENTIAL_VICTIM.
// Verdicts: PASS with obligations LOCATE_PROTECT_ONLY and ERASE_ON_CLOSED,
// switching off DP-CAT-02 and DP-CHILD-01 for the missing children only
// (Verdict::exempt_entities): every other person in the alert — an adult
// victim, a sibling who is a witness — is judged by those rules as usual.
// Otherwise NOT_APPLICABLE (third countries keep DP-CHILD-01's approval).
#ifndef LIAISON_POLICY_RULES_MISSING_CHILD_ALERT_H_
#define LIAISON_POLICY_RULES_MISSING_CHILD_ALERT_H_

#include <vector>

#include "policy/rule.h"

namespace liaison::policy::rules {

class MissingChildAlertRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-CHILD-02"};
  RuleId id() const override { return kId; }
  bool is_exemption() const override { return true; }
  std::vector<RuleId> MayExempt() const override;
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_MISSING_CHILD_ALERT_H_
