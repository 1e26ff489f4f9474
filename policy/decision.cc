#include "policy/decision.h"

#include "base/proto_time.h"

namespace liaison::policy {

const RuleResult* Decision::Find(RuleId id) const {
  for (const RuleResult& r : rules) {
    if (r.rule_id == id) return &r;
  }
  return nullptr;
}

std::vector<std::string> Decision::HitRuleIds() const {
  std::vector<std::string> out;
  for (const RuleResult& r : rules) {
    if (r.hit()) out.push_back(r.rule_id.str());
  }
  return out;
}

std::vector<std::string> Decision::DecidingRuleIds() const {
  std::vector<std::string> out;
  out.reserve(deciding_rules.size());
  for (RuleId id : deciding_rules) out.push_back(id.str());
  return out;
}

liaison::v1::RuleVerdict ToProto(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::kNotApplicable:
      return liaison::v1::RULE_VERDICT_NOT_APPLICABLE;
    case VerdictKind::kPass:
      return liaison::v1::RULE_VERDICT_PASS;
    case VerdictKind::kRedact:
      return liaison::v1::RULE_VERDICT_REDACT;
    case VerdictKind::kDelay:
      return liaison::v1::RULE_VERDICT_DELAY;
    case VerdictKind::kHold:
      return liaison::v1::RULE_VERDICT_HOLD;
    case VerdictKind::kReject:
      return liaison::v1::RULE_VERDICT_REJECT;
  }
  return liaison::v1::RULE_VERDICT_UNSPECIFIED;
}

namespace {

liaison::v1::RuleMode ModeToProto(RuleMode m) {
  switch (m) {
    case RuleMode::kEnforced:
      return liaison::v1::RULE_MODE_ENFORCED;
    case RuleMode::kShadow:
      return liaison::v1::RULE_MODE_SHADOW;
    case RuleMode::kExempted:
      return liaison::v1::RULE_MODE_EXEMPTED;
  }
  return liaison::v1::RULE_MODE_UNSPECIFIED;
}

google::protobuf::Duration DurationToProto(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t s = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(s);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

}  // namespace

liaison::v1::PolicyDecision ToProto(const Decision& d) {
  liaison::v1::PolicyDecision p;
  p.set_message_id(d.message_id);
  p.set_sender(d.sender);
  p.set_recipient(d.recipient);
  p.set_kind(d.kind);
  p.set_outcome(d.outcome);
  for (const RuleResult& r : d.rules) {
    auto* out = p.add_rules();
    out->set_rule_id(r.rule_id.str());
    out->set_verdict(ToProto(r.verdict));
    out->set_mode(ModeToProto(r.mode));
    out->set_reason(r.reason);
    out->set_exempted_by(r.exempted_by.str());
    for (const auto& path : r.paths) out->add_paths(path);
  }
  for (RuleId id : d.deciding_rules) p.add_deciding_rule_ids(id.str());
  for (const auto& r : d.redactions) *p.add_redactions() = r;
  for (const auto& o : d.obligations) *p.add_obligations() = o;
  for (const Hold& h : d.holds) {
    auto* out = p.add_holds();
    out->set_rule_id(h.rule_id.str());
    out->set_awaiting(h.awaiting);
    out->set_consent_kind(h.consent_kind);
    *out->mutable_timeout() = DurationToProto(h.timeout);
    *out->mutable_expires_at() = liaison::ToProto(h.expires_at);
    out->set_reason(h.reason);
  }
  for (const Notification& n : d.notifications) {
    auto* out = p.add_notifications();
    out->set_rule_id(n.rule_id.str());
    out->set_addressee(n.addressee);
    out->set_kind(n.kind);
    out->set_reason(n.reason);
  }
  if (d.outcome == liaison::v1::OUTCOME_DELAY)
    *p.mutable_not_before() = liaison::ToProto(d.not_before);
  if (d.reply_due) *p.mutable_reply_due() = liaison::ToProto(*d.reply_due);
  *p.mutable_transfer() = d.transfer;
  p.set_transfer_documentation_required(d.transfer_documentation_required);
  p.set_explanation(d.explanation);
  p.set_policy_version(d.policy_version);
  p.set_registry_version(d.registry_version);
  *p.mutable_decided_at() = liaison::ToProto(d.decided_at);
  return p;
}

}  // namespace liaison::policy
