// Rule: one data-protection rule of docs/rules.md, with a stable id. Each
// rule lives in policy/rules/<name>.h/.cc/_test.cc and is listed once in
// policy/rules/all_rules.cc.
//
// Contract for implementations:
// - Check() is pure and deterministic: it reads only `in` (no clock, no I/O,
//   no globals) and is safe to call from many threads at once.
// - "Cannot decide" (missing registry data, unknown endpoint, inconsistent
//   input) is a reject naming the rule (FailClosed), never a pass.
// - Reasons start with the rule id and never contain personal values.
// - Check() may assume in.message (with a header) and in.registry are set;
//   the chain guarantees it.
#ifndef LIAISON_POLICY_RULE_H_
#define LIAISON_POLICY_RULE_H_

#include <vector>

#include "policy/input.h"
#include "policy/rule_id.h"
#include "policy/verdict.h"

namespace liaison::policy {

class Rule {
 public:
  virtual ~Rule() = default;

  virtual RuleId id() const = 0;

  // Exemption rules run before all others; the rules named in the
  // Verdict::exempts of an enforced exemption verdict are evaluated and
  // recorded but not enforced for that recipient.
  virtual bool is_exemption() const { return false; }

  // Exemption rules only: every rule id this rule may ever switch off. The
  // chain refuses to build when the list names a rule that must never be
  // switched off (DP-XFER-*, DP-RET-*, DP-LOG-01), and ignores exemptions
  // outside the list.
  virtual std::vector<RuleId> MayExempt() const { return {}; }

  // True when the rule judges entities one by one and skips those for which
  // in.EntityExempt(i) holds. An exemption that names entities
  // (Verdict::exempt_entities) switches a rule off for those entities only
  // when the rule supports it; otherwise the rule stays enforced (the
  // stricter side).
  virtual bool SupportsEntityExemption() const { return false; }

  virtual Verdict Check(const Input& in) const = 0;
};

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_RULE_H_
