// DP-RET-01: review_by and erase_by are required and must not exceed the maximum for
// the kind and category (LED 4(1)(e), 5).
//
// Limits: every registry retention_limit for header.kind whose categories
// are empty or meet a category of a person in the message; the strictest
// applies. max_age counts from header.created_at (from `now` when unset);
// after_jit_end from the end of the manifest's (or header's) JIT.
// Verdicts: PASS; REJECT when missing, review_by > erase_by, or too long;
// REJECT (fail closed) when no limit is registered for the kind.
#ifndef LIAISON_POLICY_RULES_RETENTION_LIMITS_H_
#define LIAISON_POLICY_RULES_RETENTION_LIMITS_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class RetentionLimitsRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-RET-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_RETENTION_LIMITS_H_
