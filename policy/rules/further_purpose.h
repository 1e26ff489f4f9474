// DP-PURPOSE-02: Content derived from earlier messages may be sent under a new purpose only
// if the source allowed it (LED 4(2); 2023/977 data ownership; ER 19(1)).
//
// Checks, per source (provenance.derived_from / provenance.sources; the
// broker's SourceIndex record wins over the sender's description): every
// header purpose is among the source's purposes or
// permitted_further_purposes, or a PROVIDER consent of the source's provider
// (grantee = sender) covers this message, or the source for this recipient
// and those purposes. Sources of the sender itself, and sending back to the
// provider, need nothing.
// Verdicts: NOT_APPLICABLE without sources; PASS; HOLD awaiting each provider
// (CONSENT_KIND_PROVIDER); REJECT on a refusal or an unknown source (fail
// closed). Switched off by DP-QUAL-02.
#ifndef LIAISON_POLICY_RULES_FURTHER_PURPOSE_H_
#define LIAISON_POLICY_RULES_FURTHER_PURPOSE_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class FurtherPurposeRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-PURPOSE-02"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_FURTHER_PURPOSE_H_
