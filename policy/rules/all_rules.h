// The rule list: every rule of docs/rules.md, one line each in
// all_rules.cc. Adding a rule = its file pair, its test, one line there
// and its docs/rules.md row.
#ifndef LIAISON_POLICY_RULES_ALL_RULES_H_
#define LIAISON_POLICY_RULES_ALL_RULES_H_

#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "policy/rule.h"

namespace liaison::policy {

// A fresh instance of every rule, in docs/rules.md table order.
std::vector<std::unique_ptr<const Rule>> MakeAllRules();

// Their ids, same order.
absl::Span<const RuleId> AllRuleIds();

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_RULES_ALL_RULES_H_
