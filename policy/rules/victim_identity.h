// DP-CAT-02: The identity of a VICTIM or POTENTIAL_VICTIM goes only to members of a JIT
// on the case or to endpoints with role VICTIM_PROTECTION; others receive a
// pseudonymous victim_ref (LED 4(1)(c), 6, 10, 20; 2011/36 art 12; 2012/29
// art 21).
//
// Scope: adult victims. A victim who is a minor at `now` is governed by
// DP-CHILD-01 instead (its recipient test is the specific rule for children;
// see README "Decisions on ambiguities").
// "JIT on the case" (JitOnCase): a registry JIT valid at `now`, with sender
// and recipient as members, whose case_refs list header.case_ref, or the JIT
// the broker recorded for a source this message derives from. The sender's
// header.jit_id claim alone never counts.
// Verdicts: NOT_APPLICABLE without adult victims; PASS for a JIT member or
// VICTIM_PROTECTION recipient; otherwise REDACT: identity fields cleared,
// entity_id replaced by the broker's victim_ref, entities only the victim
// references removed, body free text cleared (PseudonymiseSteps).
// DP-CHILD-02 may exempt named entities only (SupportsEntityExemption); an
// adult victim is never among them.
#ifndef LIAISON_POLICY_RULES_VICTIM_IDENTITY_H_
#define LIAISON_POLICY_RULES_VICTIM_IDENTITY_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class VictimIdentityRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-CAT-02"};
  RuleId id() const override { return kId; }
  bool SupportsEntityExemption() const override { return true; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_VICTIM_IDENTITY_H_
