// DP-TIME-01: Requests carry urgency and access kind; the broker tracks the reply
// deadline (2023/977 art 5(1)): URGENT + DIRECT 8 h, URGENT + INDIRECT 3 days,
// otherwise 7 days (registry reply_deadlines).
//
// Requests: FOLLOWUP_REQUEST, and INFO_EXCHANGE without in_reply_to that
// declares an access_kind (an own-initiative provision declares none).
// URGENT without access_kind is treated as DIRECT (the shorter deadline).
// Verdicts: NOT_APPLICABLE; PASS with Decision.reply_due = now + deadline.
// Never rejects. Broker: tracks the deadline from delivery, sends
// NOTICE_KIND_DEADLINE to both sides on breach or on "awaiting judicial
// authorisation" (art 5(2)).
#ifndef LIAISON_POLICY_RULES_REPLY_DEADLINE_H_
#define LIAISON_POLICY_RULES_REPLY_DEADLINE_H_

#include "policy/rule.h"

namespace liaison::policy::rules {

class ReplyDeadlineRule final : public Rule {
 public:
  static constexpr RuleId kId{"DP-TIME-01"};
  RuleId id() const override { return kId; }
  Verdict Check(const Input& in) const override;
};

}  // namespace liaison::policy::rules

#endif  // LIAISON_POLICY_RULES_REPLY_DEADLINE_H_
