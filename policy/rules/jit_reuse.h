// DP-JIT-02: Reusing JIT-derived content outside the JIT (a non-member, or another
// case) needs the consent of the state where it was obtained (Convention art
// 13(10); FD 1(10)).
//
// Checks every source with a jit_id: inside the JIT when the recipient is a
// member and the message is on that JIT: an evidence manifest of that JIT, or
// a header.case_ref the JIT lists in the registry (never header.jit_id alone). Otherwise the JIT
// member endpoint of the source's obtained_in country must consent (CONSENT_KIND_JIT_REUSE) unless
// it is the sender or the recipient. Verdicts: NOT_APPLICABLE; PASS; HOLD awaiting that endpoint;
// REJECT on refusal, unknown source or JIT, or no obtained_in.
#ifndef LIAISON_POLICY_RULES_JIT_REUSE_H_
#define LIAISON_POLICY_RULES_JIT_REUSE_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class JitReuseRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-JIT-02"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_JIT_REUSE_H_
