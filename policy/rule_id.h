// RuleId: the stable id of a data-protection rule, listed in docs/rules.md
// ("DP-JIT-01"). Ids are compile-time constants with static storage, so a
// RuleId is a cheap, copyable view; never build one from message content.
#ifndef LIAISON_POLICY_RULE_ID_H_
#define LIAISON_POLICY_RULE_ID_H_

#include <string>
#include <utility>
#include "absl/strings/string_view.h"

namespace liaison::policy {

class RuleId {
 public:
  constexpr RuleId() = default;
  // `id` must have static storage duration (a string literal).
  constexpr explicit RuleId(absl::string_view id) : id_(id) {}

  constexpr absl::string_view value() const { return id_; }
  constexpr bool empty() const { return id_.empty(); }
  std::string str() const { return std::string(id_); }

  friend constexpr bool operator==(RuleId a, RuleId b) { return a.id_ == b.id_; }
  friend constexpr bool operator!=(RuleId a, RuleId b) { return !(a == b); }
  friend constexpr bool operator<(RuleId a, RuleId b) { return a.id_ < b.id_; }
  template <typename H>
  friend H AbslHashValue(H h, RuleId r) {
    return H::combine(std::move(h), r.id_);
  }

 private:
  absl::string_view id_;
};

// Id used when the chain itself cannot evaluate (missing message, unset
// clock): not a rule of docs/rules.md; the decision is a reject.
inline constexpr RuleId kChainInputRuleId{"POLICY-INPUT"};

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_RULE_ID_H_
