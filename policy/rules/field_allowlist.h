// DP-MIN-01: A per-(kind, purpose, category) Person field allowlist applies (Europol
// Reg Annex II style); other fields are removed (LED 4(1)(c), 20; 2023/977
// art 10).
//
// Allowed fields of a person = intersection over its categories of the
// union over the message's purposes of Registry::AllowedPersonFields (a
// victim-suspect gets the stricter list). Always kept: entity_id,
// categories, category_note, is_minor, anonymity_required, meta, field_meta,
// victim_ref. Verdicts: NOT_APPLICABLE without persons; PASS; REDACT the
// other fields; REJECT (fail closed) when a combination has no allowlist.
#ifndef LIAISON_POLICY_RULES_FIELD_ALLOWLIST_H_
#define LIAISON_POLICY_RULES_FIELD_ALLOWLIST_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class FieldAllowlistRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-MIN-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_FIELD_ALLOWLIST_H_
