// DP-BASIS-01: A registered legal basis must cover the (sender, recipient, kind) triple
// (LED art 8; Directive 2023/977 art 1).
//
// Checks: at least one code of header.legal_basis is registered, valid at
// `now`, lists header.kind and has the sender in `senders` and the recipient
// in `recipients` (or the reverse with both_directions).
// Verdicts: PASS; REJECT naming the registered codes that do not cover the
// pair (unregistered codes by index only: they are sender text).
#ifndef LIAISON_POLICY_RULES_LEGAL_BASIS_H_
#define LIAISON_POLICY_RULES_LEGAL_BASIS_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class LegalBasisRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-BASIS-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_LEGAL_BASIS_H_
