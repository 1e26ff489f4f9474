// DP-LOG-01: Every decision is appended to the audit chain before forwarding; if the
// audit write fails nothing is forwarded (LED 25).
//
// A pure function cannot write the audit log. This rule checks what the
// audit entry needs from the message (header.message_id and header.sender
// set) and otherwise records the precondition (PASS).
// Broker (enforces it): writes ToProto(decision) metadata to liaison.audit
// with acks=all before producing to any delivery topic; on failure forwards
// nothing and answers UNAVAILABLE ("DP-LOG-01: audit unavailable; retry").
// Never exempted.
#ifndef LIAISON_POLICY_RULES_AUDIT_PRECONDITION_H_
#define LIAISON_POLICY_RULES_AUDIT_PRECONDITION_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class AuditPreconditionRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-LOG-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_AUDIT_PRECONDITION_H_
