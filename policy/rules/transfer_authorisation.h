// DP-XFER-02: Content whose original provider is another Member State needs that
// Member State's authorisation before a third-country transfer; an art 35(2)
// threat allows it with notification (LED 35(1)(c), 35(2)).
//
// Originating parties: provenance.original_provider and each source's
// original provider that are EU Member State endpoints of another country
// than the sender. Per party: a TRANSFER_AUTHORISATION consent → PASS; a
// refusal → REJECT; header.transfer.derogation THREAT_35_2 → PASS plus a
// NOTICE_KIND_TRANSFER_INFORMATION notification to that party (the broker
// sends it); else HOLD awaiting the party.
#ifndef LIAISON_POLICY_RULES_TRANSFER_AUTHORISATION_H_
#define LIAISON_POLICY_RULES_TRANSFER_AUTHORISATION_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class TransferAuthorisationRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-XFER-02"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_TRANSFER_AUTHORISATION_H_
