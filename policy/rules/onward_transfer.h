// DP-XFER-04: A third-country sender passing on EU-origin content needs the
// authorisation of the original transferring authority (LED 35(1)(e)).
//
// Applies when the sender is a THIRD_COUNTRY endpoint. EU-origin parties:
// provenance.original_provider and each source's original provider that are
// EU Member State endpoints. No authorisation is needed to send back to that
// party or to one of the source's original recipients. Otherwise a
// TRANSFER_AUTHORISATION consent → PASS, a refusal → REJECT, else HOLD
// awaiting the party.
#ifndef LIAISON_POLICY_RULES_ONWARD_TRANSFER_H_
#define LIAISON_POLICY_RULES_ONWARD_TRANSFER_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class OnwardTransferRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-XFER-04"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_ONWARD_TRANSFER_H_
