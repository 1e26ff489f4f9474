// DP-BULK-01: A volume anomaly per sender -> recipient (persons / queries / bytes in
// sliding windows, over a hard cap or baseline x factor) holds further
// traffic for DPO/operator review (LED 20, 29; recital 72).
//
// For every registry bulk_cap whose metric this message adds to: windowed
// Counters sum + this message > cap (or > max(floor, factor x baseline)).
// Verdicts: PASS; HOLD awaiting kAwaitingDpo (CONSENT_KIND_DPO_REVIEW,
// counts only in the reason) until released (PASS) or refused (REJECT);
// REJECT (fail closed) without Counters or without any registered cap.
// Broker: records UsageOf() in its SlidingWindowCounters for every
// delivered message.
#ifndef LIAISON_POLICY_RULES_BULK_VOLUME_H_
#define LIAISON_POLICY_RULES_BULK_VOLUME_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class BulkVolumeRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-BULK-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_BULK_VOLUME_H_
