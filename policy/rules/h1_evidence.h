// DP-HC-02: H1 content must not become judicial evidence (purpose PROSECUTE or an
// EVIDENCE_MANIFEST) without the provider's consent (H1 definition;
// 2023/977: no right to use as evidence).
//
// Checks, for such messages, every source with handling H1 whose provider is
// neither the sender nor the recipient: a PROVIDER consent of the provider
// for purpose PROSECUTE covering this message or the source.
// Verdicts: NOT_APPLICABLE; PASS; HOLD awaiting the provider; REJECT on
// refusal or an unknown source.
#ifndef LIAISON_POLICY_RULES_H1_EVIDENCE_H_
#define LIAISON_POLICY_RULES_H1_EVIDENCE_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class H1EvidenceRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-HC-02"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_H1_EVIDENCE_H_
