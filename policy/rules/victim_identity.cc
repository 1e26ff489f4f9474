#include "policy/rules/victim_identity.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/internal/message_view.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict VictimIdentityRule::Check(const Input& in) const {
  const std::optional<internal::EntityBody> body = internal::EntityBodyOf(*in.message);
  if (!body) return Verdict::NotApplicable();
  std::vector<int> victims;
  for (int i = 0; i < body->entities->size(); ++i) {
    const liaison::v1::Entity& e = (*body->entities)[i];
    if (!e.has_person() || in.EntityExempt(i)) continue;
    if ((internal::CategoryMask(e.person()) & internal::kVictimMask) == 0) continue;
    if (internal::IsMinorAt(e.person(), in.now)) continue;  // DP-CHILD-01's
    victims.push_back(i);
  }
  if (victims.empty()) return Verdict::NotApplicable();
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  if (p.recipient->HasRole(liaison::v1::ROLE_VICTIM_PROTECTION) || JitOnCase(in)) {
    return Verdict::Pass();
  }
  std::string who;
  for (int i : victims)
    absl::StrAppend(&who, who.empty() ? "" : ", ", internal::EntityPath(*body, i));
  return Verdict::Redact(
      PseudonymiseSteps(*body, *in.message, victims),
      absl::StrCat(kId.value(), ": identity of ", who, " redacted for ", p.recipient->id(),
                   " (not a member of a JIT on the case, no VICTIM_PROTECTION role); it receives a "
                   "victim_ref. For the identity itself: a case listed in the registry for a JIT "
                   "of which ",
                   p.recipient->id(),
                   " is a member (case_ref), or an endpoint with the VICTIM_PROTECTION role"));
}

}  // namespace liaison::policy::rules
