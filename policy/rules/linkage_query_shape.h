// DP-LINK-01: A linkage query carries only blinded identifiers of allowed types, a
// case_ref and an offence code; no cleartext, no wildcards, at most 20
// identifiers (Prüm reference data; LED 4(1)(c), 20).
//
// Checks: case_ref set, offence_code code-shaped, 1..max identifiers
// (registry linkage), types allowed (PERSON_NAME never), scheme
// "HMAC-SHA256/epoch-N", value exactly 32 bytes and not all printable ASCII
// (cleartext or wildcard patterns fail this), no unknown protobuf fields;
// then the sender's queries answered since 00:00 UTC stay below the
// registry's linkage.max_queries_per_day (counters, Metric::kLinkageQueries).
// Verdicts: NOT_APPLICABLE for other kinds; PASS; REJECT listing problems.
#ifndef LIAISON_POLICY_RULES_LINKAGE_QUERY_SHAPE_H_
#define LIAISON_POLICY_RULES_LINKAGE_QUERY_SHAPE_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class LinkageQueryShapeRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-LINK-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_LINKAGE_QUERY_SHAPE_H_
