// DP-QUAL-02: Exemption: a CORRECTION goes to every endpoint that received the
// referenced messages, whatever its purposes (LED 7(3), 16(6)).
//
// Checks: targets and action are set; ERASE/RESTRICT/RETRACT_UNLAWFUL carry
// ids only (no replacement), RECTIFY carries a replacement (which then passes
// every other rule); every target is known to the SourceIndex and was sent by
// this sender. For a recipient the broker delivered a target to: PASS with
// the action's obligation, switching off DP-PURPOSE-01 and DP-PURPOSE-02;
// for another recipient: PASS with the obligation, nothing switched off.
// REJECT (fail closed) without a SourceIndex or for an unknown target.
// Broker: CorrectionRecipients() (correction.h) adds the earlier recipients.
#ifndef LIAISON_POLICY_RULES_CORRECTION_FANOUT_H_
#define LIAISON_POLICY_RULES_CORRECTION_FANOUT_H_

#include <vector>

#include "policy/rule.h"

namespace liaison::policy::rules {

class CorrectionFanOutRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-QUAL-02"};
  RuleId id() const override { return kId; }
  bool is_exemption() const override { return true; }
  std::vector<RuleId> MayExempt() const override;
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_CORRECTION_FANOUT_H_
