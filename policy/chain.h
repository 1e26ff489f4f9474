// Chain: the policy chain of docs/rules.md "How the chain decides", after Envoy's HTTP
// filter chain but synchronous and pure.
//
// Per recipient, every rule runs and its verdict is recorded:
//  1. Exemption rules first (DP-CHILD-02 switches off DP-CAT-02 and
//     DP-CHILD-01 for the missing child alone; DP-QUAL-02 switches off
//     DP-PURPOSE-01/02 for the whole message). A switched-off rule still
//     runs and is recorded as EXEMPTED, not enforced. An exemption scoped to
//     entities reaches a rule only if it judges entities one by one
//     (Rule::SupportsEntityExemption): the rule then runs without those
//     entities and stays enforced for every other one. No exemption can
//     switch off DP-XFER-*, DP-RET-* or DP-LOG-01.
//  2. All other rules, in the order of docs/rules.md.
//  3. Outcome: the most restrictive enforced verdict, REJECT > HOLD > DELAY
//     > REDACT > ALLOW. Obligations are unioned, redactions gathered, holds
//     listed with their timeouts (registry hold_timeouts: 72 h, 2 h URGENT).
// Rules in shadow mode (ChainOptions::shadow_rules plus the registry's
// shadow_rules) are evaluated and recorded as SHADOW but not enforced.
//
// Fail closed: a rule that cannot decide rejects naming itself; an Input
// without message, header, recipient or time is rejected as POLICY-INPUT.
//
// Ownership and threads: build once with Create() and share the
// shared_ptr<const Chain>; Evaluate() is const, pure and thread-safe. A
// registry or option change builds a new Chain (the broker swaps the pointer).
#ifndef LIAISON_POLICY_CHAIN_H_
#define LIAISON_POLICY_CHAIN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/decision.h"
#include "policy/input.h"
#include "policy/registry.h"
#include "policy/rule.h"

namespace liaison::policy {

struct ChainOptions {
  // Rule ids ("DP-MIN-01") to run in shadow mode, in addition to the
  // registry's shadow_rules.
  std::vector<std::string> shadow_rules;
};

class Chain {
 public:
  // InvalidArgument: no registry, or an unknown rule id in shadow_rules.
  // Internal: a rule declares an exemption of a rule that may never be
  // switched off (a bug).
  static absl::StatusOr<std::shared_ptr<const Chain>> Create(
      std::shared_ptr<const Registry> registry, ChainOptions options = {});

  // Decides for in.recipient. Pure: the same Input gives the same Decision.
  // in.registry == nullptr means this chain's registry (the normal case).
  Decision Evaluate(const Input& in) const;

  // Code version + hash of the rule list and shadow set, recorded with
  // every decision ("liaison-policy/1+1a2b3c4d").
  const std::string& policy_version() const { return policy_version_; }
  const Registry& registry() const { return *registry_; }
  const std::shared_ptr<const Registry>& registry_ptr() const { return registry_; }
  // Rule ids in evaluation order.
  std::vector<RuleId> rule_ids() const;

 private:
  struct Slot {
    std::unique_ptr<const Rule> rule;
    bool shadow = false;
    std::vector<RuleId> may_exempt;
  };

  Chain() = default;

  std::shared_ptr<const Registry> registry_;
  std::vector<Slot> slots_;
  std::string policy_version_;
};

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_CHAIN_H_
