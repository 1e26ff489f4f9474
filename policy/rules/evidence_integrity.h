// DP-JIT-03: Evidence blobs: the manifest's sha256 must match what was uploaded (Reg
// 2023/969 art 21 as model; LED 29).
//
// Always checks manifest consistency: items present, item_id set and
// unique, sha256 exactly 32 bytes, size > 0, obtained_in an ISO country
// shape. With Input::evidence, each item must be recorded for the JIT with
// the same sha256 and size (REJECT "sha256 mismatch" / "not in the evidence
// store"). Without it the reason says hashes were not checked.
// Broker: computes the SHA-256 at upload, keeps blobs until every recipient
// acknowledged and at most 4 weeks, then erases them.
#ifndef LIAISON_POLICY_RULES_EVIDENCE_INTEGRITY_H_
#define LIAISON_POLICY_RULES_EVIDENCE_INTEGRITY_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class EvidenceIntegrityRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-JIT-03"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_EVIDENCE_INTEGRITY_H_
