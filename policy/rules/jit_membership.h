// DP-JIT-01: JIT evidence: the sender and each recipient are members, and start <= now
// < end (MLA Convention 2000 art 13; FD 2002/465).
//
// Applies to EVIDENCE_MANIFEST. Checks evidence_manifest.jit_id is a
// registered JIT (header.jit_id, when set, must agree), sender and recipient
// are members, and the JIT is valid at `now` (end includes extensions).
// Verdicts: PASS; REJECT listing every problem.
#ifndef LIAISON_POLICY_RULES_JIT_MEMBERSHIP_H_
#define LIAISON_POLICY_RULES_JIT_MEMBERSHIP_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class JitMembershipRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-JIT-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_JIT_MEMBERSHIP_H_
