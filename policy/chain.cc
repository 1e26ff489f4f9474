#include "policy/chain.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "policy/internal/text.h"
#include "policy/rules/all_rules.h"

namespace liaison::policy {
namespace {

constexpr absl::string_view kPolicyCodeVersion = "liaison-policy/1";

// docs/rules.md "How the chain decides": exemptions never switch these off.
bool NeverExempt(RuleId id) {
  const absl::string_view v = id.value();
  return v.substr(0, 8) == "DP-XFER-" || v.substr(0, 7) == "DP-RET-" || v == "DP-LOG-01";
}

liaison::v1::Outcome OutcomeOf(VerdictKind k) {
  switch (k) {
    case VerdictKind::kReject:
      return liaison::v1::OUTCOME_REJECT;
    case VerdictKind::kHold:
      return liaison::v1::OUTCOME_HOLD;
    case VerdictKind::kDelay:
      return liaison::v1::OUTCOME_DELAY;
    case VerdictKind::kRedact:
      return liaison::v1::OUTCOME_REDACT;
    case VerdictKind::kPass:
    case VerdictKind::kNotApplicable:
      return liaison::v1::OUTCOME_ALLOW;
  }
  return liaison::v1::OUTCOME_REJECT;
}

uint64_t Fnv1a(absl::string_view bytes, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void BuildExplanation(Decision& d) {
  std::string& e = d.explanation;
  absl::StrAppend(&e, internal::OutcomeName(d.outcome), " to ", d.recipient);
  if (d.outcome == liaison::v1::OUTCOME_ALLOW) {
    if (d.transfer.kind() != liaison::v1::TRANSFER_KIND_UNSPECIFIED &&
        d.transfer.kind() != liaison::v1::TRANSFER_KIND_NONE && !d.transfer.ref().empty()) {
      absl::StrAppend(&e, " under ", d.transfer.ref());
    }
    if (!d.deciding_rules.empty()) {
      e += " with obligations of ";
      for (size_t i = 0; i < d.deciding_rules.size(); ++i) {
        absl::StrAppend(&e, i == 0 ? "" : ", ", d.deciding_rules[i].value());
      }
    }
  } else {
    bool first = true;
    for (const RuleResult& r : d.rules) {
      if (!r.enforced() || OutcomeOf(r.verdict) != d.outcome) continue;
      absl::StrAppend(&e, first ? ": " : "; ", r.reason);
      first = false;
    }
    if (d.outcome == liaison::v1::OUTCOME_DELAY) {
      absl::StrAppend(&e, " (deliver at ", internal::FormatMinute(d.not_before), ")");
    }
  }
  bool first_other = true;
  for (const RuleResult& r : d.rules) {
    if (!r.hit() || OutcomeOf(r.verdict) == d.outcome) continue;
    absl::StrAppend(&e, first_other ? " (also: " : ", ", r.rule_id.value(), " ",
                    r.verdict >= VerdictKind::kRedact ? VerdictKindName(r.verdict)
                                                      : absl::string_view("obligations"));
    first_other = false;
  }
  if (!first_other) e += ")";
  for (const RuleResult& r : d.rules) {
    if (r.mode != RuleMode::kShadow || r.verdict < VerdictKind::kRedact) continue;
    absl::StrAppend(&e, " [shadow, not enforced: ", r.reason, "]");
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Chain>> Chain::Create(std::shared_ptr<const Registry> registry,
                                                           ChainOptions options) {
  if (registry == nullptr) return absl::InvalidArgumentError("Chain::Create: registry is null");
  std::shared_ptr<Chain> chain(new Chain());
  chain->registry_ = std::move(registry);

  std::vector<std::unique_ptr<const Rule>> rules = MakeAllRules();
  // Exemptions first, otherwise table order.
  std::stable_partition(rules.begin(), rules.end(),
                        [](const std::unique_ptr<const Rule>& r) { return r->is_exemption(); });

  absl::flat_hash_set<std::string> known;
  for (const auto& r : rules) known.insert(r->id().str());
  absl::flat_hash_set<std::string> shadow(chain->registry_->shadow_rules().begin(),
                                          chain->registry_->shadow_rules().end());
  for (const std::string& id : options.shadow_rules) {
    if (!known.contains(id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ChainOptions.shadow_rules: unknown rule id '", id, "'"));
    }
    shadow.insert(id);
  }

  uint64_t h = Fnv1a(kPolicyCodeVersion);
  for (auto& r : rules) {
    Slot slot;
    slot.shadow = shadow.contains(r->id().value());
    if (r->is_exemption()) {
      for (RuleId target : r->MayExempt()) {
        if (NeverExempt(target)) {
          return absl::InternalError(absl::StrCat("rule ", r->id().value(),
                                                  " declares an exemption of ", target.value(),
                                                  ", which may never be switched off"));
        }
        slot.may_exempt.push_back(target);
      }
    }
    h = Fnv1a(r->id().value(), h);
    h = Fnv1a(slot.shadow ? "S" : "E", h);
    slot.rule = std::move(r);
    chain->slots_.push_back(std::move(slot));
  }
  chain->policy_version_ = absl::StrCat(
      kPolicyCodeVersion, "+", absl::StrFormat("%08x", static_cast<uint32_t>(h ^ (h >> 32))));
  return std::shared_ptr<const Chain>(std::move(chain));
}

std::vector<RuleId> Chain::rule_ids() const {
  std::vector<RuleId> ids;
  ids.reserve(slots_.size());
  for (const Slot& s : slots_) ids.push_back(s.rule->id());
  return ids;
}

Decision Chain::Evaluate(const Input& in) const {
  Decision d;
  d.policy_version = policy_version_;
  d.recipient = std::string(in.recipient);
  d.decided_at = in.now;
  Input eff = in;
  if (eff.registry == nullptr) eff.registry = registry_.get();
  eff.exempt_entities = nullptr;  // only the chain scopes exemptions
  d.registry_version = eff.registry->version();

  absl::string_view input_problem;
  if (in.message == nullptr) {
    input_problem = "no message";
  } else if (!in.message->has_header()) {
    input_problem = "message has no header";
  } else if (in.recipient.empty()) {
    input_problem = "no recipient";
  } else if (in.now == absl::InfinitePast() || in.now == absl::InfiniteFuture()) {
    input_problem = "decision time (Input.now) not set";
  }
  if (!input_problem.empty()) {
    RuleResult& r = d.rules.emplace_back();
    r.rule_id = kChainInputRuleId;
    r.verdict = VerdictKind::kReject;
    r.reason = absl::StrCat(kChainInputRuleId.value(), ": cannot decide: ", input_problem);
    d.outcome = liaison::v1::OUTCOME_REJECT;
    d.deciding_rules.push_back(kChainInputRuleId);
    if (in.message != nullptr) {
      d.message_id = in.message->header().message_id();
      d.sender = in.message->header().sender();
      d.kind = in.message->header().kind();
    }
    BuildExplanation(d);
    return d;
  }
  const liaison::v1::Header& h = in.message->header();
  d.message_id = h.message_id();
  d.sender = h.sender();
  d.kind = h.kind();
  const absl::Duration hold_timeout = eff.registry->HoldTimeout(h.urgency());

  // Exemptions in force for this recipient: the rule switched off, the
  // exemption rule, and the entities it covers (nullopt = whole message).
  struct Exemption {
    RuleId target;
    RuleId by;
    std::optional<std::vector<int>> entities;
  };
  absl::InlinedVector<Exemption, 4> exempt;
  VerdictKind worst = VerdictKind::kNotApplicable;
  d.rules.reserve(slots_.size());
  for (const Slot& slot : slots_) {
    const Rule& rule = *slot.rule;
    const Exemption* exemption = nullptr;
    if (!slot.shadow) {
      for (const Exemption& x : exempt) {
        if (x.target == rule.id()) {
          exemption = &x;
          break;
        }
      }
    }
    // An exemption scoped to entities applies only to a rule that judges
    // entities one by one; otherwise the rule stays enforced in full.
    if (exemption != nullptr && exemption->entities && !rule.SupportsEntityExemption()) {
      exemption = nullptr;
    }
    Verdict v;
    RuleMode mode = slot.shadow ? RuleMode::kShadow : RuleMode::kEnforced;
    if (exemption == nullptr) {
      v = rule.Check(eff);
    } else if (!exemption->entities) {
      v = rule.Check(eff);
      mode = RuleMode::kExempted;
    } else {
      Input scoped = eff;
      scoped.exempt_entities = &*exemption->entities;
      v = rule.Check(scoped);
      if (v.kind < VerdictKind::kRedact && v.obligations.empty()) {
        // Nothing left to enforce once the exempted entities are set aside:
        // record what the rule says of the whole message, as exempted.
        v = rule.Check(eff);
        mode = RuleMode::kExempted;
      } else {
        absl::StrAppend(&v.reason, " (", exemption->entities->size(),
                        exemption->entities->size() == 1 ? " entity" : " entities", " exempted by ",
                        exemption->by.value(), ")");
      }
    }
    RuleResult& r = d.rules.emplace_back();
    r.rule_id = rule.id();
    r.verdict = v.kind;
    r.has_obligations = !v.obligations.empty();
    r.mode = mode;
    if (mode == RuleMode::kExempted) r.exempted_by = exemption->by;
    for (const RedactionStep& s : v.redactions) r.paths.push_back(s.path);
    r.reason = std::move(v.reason);
    if (!r.enforced()) continue;

    if (rule.is_exemption()) {
      for (RuleId target : v.exempts) {
        if (std::find(slot.may_exempt.begin(), slot.may_exempt.end(), target) !=
            slot.may_exempt.end()) {
          exempt.push_back(Exemption{target, r.rule_id, v.exempt_entities});
        }
      }
    }
    worst = std::max(worst, v.kind);
    switch (v.kind) {
      case VerdictKind::kRedact: {
        liaison::v1::Redaction& red = d.redactions.emplace_back();
        red.set_rule_id(r.rule_id.str());
        for (RedactionStep& s : v.redactions) {
          red.add_paths(s.path);
          s.rule = r.rule_id;
          d.redaction_steps.push_back(std::move(s));
        }
        break;
      }
      case VerdictKind::kDelay:
        d.not_before = std::max(d.not_before, v.until);
        break;
      case VerdictKind::kHold:
        for (HoldRequest& req : v.holds) {
          Hold& hold = d.holds.emplace_back();
          hold.rule_id = r.rule_id;
          hold.awaiting = std::move(req.awaiting);
          hold.consent_kind = req.consent_kind;
          hold.timeout = hold_timeout;
          hold.expires_at = in.now + hold_timeout;
          hold.reason = r.reason;
        }
        break;
      default:
        break;
    }
    for (liaison::v1::Obligation& o : v.obligations) {
      bool dup = false;
      for (const auto& have : d.obligations) {
        dup = dup || (have.code() == o.code() && have.rule_id() == o.rule_id());
      }
      if (!dup) d.obligations.push_back(std::move(o));
    }
    if (v.transfer) {
      d.transfer = std::move(*v.transfer);
      d.transfer_documentation_required |= v.transfer_documentation_required;
    }
    if (v.reply_due) d.reply_due = v.reply_due;
    for (NotificationRequest& n : v.notifications) {
      d.notifications.push_back(
          Notification{r.rule_id, std::move(n.addressee), n.kind, std::move(n.reason)});
    }
  }

  d.outcome = OutcomeOf(worst);
  for (const RuleResult& r : d.rules) {
    if (!r.enforced()) continue;
    if (d.outcome == liaison::v1::OUTCOME_ALLOW ? r.has_obligations
                                                : OutcomeOf(r.verdict) == d.outcome) {
      d.deciding_rules.push_back(r.rule_id);
    }
  }
  BuildExplanation(d);
  return d;
}

}  // namespace liaison::policy
