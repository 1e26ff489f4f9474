// DP-RET-02: At delivery, a message whose erase_by has passed is not delivered (LED
// 4(1)(e), 5).
//
// Checks now >= min(header.retention.erase_by, any H3 ERASE_BY params.at).
// Verdicts: PASS; REJECT (EXPIRED) with the expiry time.
// Broker: evaluates this again at delivery time (the rule can be called on
// its own); on REJECT writes a tombstone, crypto-shreds the payload key,
// sends the sender a signed NOTICE_KIND_EXPIRED and audits EXPIRED; sends an
// ERASE notice at expiry for copies already delivered. Never exempted.
#ifndef LIAISON_POLICY_RULES_EXPIRY_H_
#define LIAISON_POLICY_RULES_EXPIRY_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class ExpiryRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-RET-02"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_EXPIRY_H_
