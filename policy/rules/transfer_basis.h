// DP-XFER-01: A third-country recipient needs a valid basis at `now`: an adequacy entry,
// a registered art 37 safeguard covering the entity types and purposes, or a
// declared art 38 derogation; and it must be a competent authority (LED
// 35(1)(a),(b),(d), 36-39).
//
// Applies to THIRD_COUNTRY recipients outside the sender's country. Tried in
// order: adequacy for the recipient's country; a safeguard whose senders,
// recipients, entity types (internal::EntityTypeMask), purposes and validity
// cover the message; header.transfer kind DEROGATION_38 with 38A-38E (limits
// in DP-XFER-03). PASS sets Decision.transfer (and documentation_required for
// safeguards and derogations: the broker writes the art 37(3)/38(3) record to
// the DPO store). REJECT otherwise, explaining why registered safeguards did
// not cover it. Never switched off by exemptions.
#ifndef LIAISON_POLICY_RULES_TRANSFER_BASIS_H_
#define LIAISON_POLICY_RULES_TRANSFER_BASIS_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class TransferBasisRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-XFER-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_TRANSFER_BASIS_H_
