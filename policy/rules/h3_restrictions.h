// DP-HC-04: H3 restrictions must use known codes (registry restriction_codes); known
// codes are enforced or become obligations (ER 19(2); LED 9(3)-(4)).
//
// RECIPIENTS_ONLY, REPORT_BACK, FREE_TEXT and registry-only codes: obligation.
// NO_THIRD_COUNTRY / NO_EU_AGENCY: REJECT for such a recipient, obligation
// otherwise. ERASE_BY (params.at, RFC 3339): obligation; DP-RET-02 also
// expires the message then. NOT_BEFORE (params.at): DELAY until then.
// REJECT: unknown code (quoted only when code-shaped), missing/invalid
// params.at, H3 without restrictions, a NOT_BEFORE further ahead than the
// registry's max_not_before (default 30 days), a NOT_BEFORE at or after the
// message's erasure time (retention.erase_by or an H3 ERASE_BY): it could
// never be delivered.
#ifndef LIAISON_POLICY_RULES_H3_RESTRICTIONS_H_
#define LIAISON_POLICY_RULES_H3_RESTRICTIONS_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class H3RestrictionsRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-HC-04"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_H3_RESTRICTIONS_H_
