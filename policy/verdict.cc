#include "policy/verdict.h"
#include "absl/strings/string_view.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace liaison::policy {

absl::string_view VerdictKindName(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::kNotApplicable:
      return "NOT_APPLICABLE";
    case VerdictKind::kPass:
      return "PASS";
    case VerdictKind::kRedact:
      return "REDACT";
    case VerdictKind::kDelay:
      return "DELAY";
    case VerdictKind::kHold:
      return "HOLD";
    case VerdictKind::kReject:
      return "REJECT";
  }
  return "UNKNOWN";
}

Verdict Verdict::Pass(std::string reason) {
  Verdict v;
  v.kind = VerdictKind::kPass;
  v.reason = std::move(reason);
  return v;
}

Verdict Verdict::Redact(std::vector<RedactionStep> steps, std::string reason) {
  Verdict v;
  v.kind = VerdictKind::kRedact;
  v.redactions = std::move(steps);
  v.reason = std::move(reason);
  return v;
}

Verdict Verdict::Delay(absl::Time until, std::string reason) {
  Verdict v;
  v.kind = VerdictKind::kDelay;
  v.until = until;
  v.reason = std::move(reason);
  return v;
}

Verdict Verdict::Hold(std::string awaiting, liaison::v1::ConsentKind kind, std::string reason) {
  Verdict v;
  v.kind = VerdictKind::kHold;
  v.holds.push_back(HoldRequest{std::move(awaiting), kind});
  v.reason = std::move(reason);
  return v;
}

Verdict Verdict::Reject(std::string reason) {
  Verdict v;
  v.kind = VerdictKind::kReject;
  v.reason = std::move(reason);
  return v;
}

Verdict& Verdict::AddObligation(RuleId rule, absl::string_view code, absl::string_view text) {
  liaison::v1::Obligation& o = obligations.emplace_back();
  o.set_rule_id(std::string(rule.value()));
  o.set_code(std::string(code));
  o.set_text(std::string(text));
  return *this;
}

Verdict FailClosed(RuleId rule, absl::string_view why) {
  return Verdict::Reject(absl::StrCat(rule.value(), ": cannot decide: ", why));
}

}  // namespace liaison::policy
