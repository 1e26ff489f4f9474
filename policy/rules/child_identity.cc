#include "policy/rules/child_identity.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/consents.h"
#include "policy/internal/message_view.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {
namespace {

constexpr uint32_t kChildCategories = internal::kVictimMask |
                                      internal::Bit(liaison::v1::SUBJECT_CATEGORY_MISSING) |
                                      internal::Bit(liaison::v1::SUBJECT_CATEGORY_WITNESS);

}  // namespace

Verdict ChildIdentityRule::Check(const Input& in) const {
  const std::optional<internal::EntityBody> body = internal::EntityBodyOf(*in.message);
  if (!body) return Verdict::NotApplicable();
  std::vector<int> children;
  for (int i = 0; i < body->entities->size(); ++i) {
    const liaison::v1::Entity& e = (*body->entities)[i];
    if (!e.has_person() || in.EntityExempt(i)) continue;
    if ((internal::CategoryMask(e.person()) & kChildCategories) == 0) continue;
    if (!internal::IsMinorAt(e.person(), in.now)) continue;
    children.push_back(i);
  }
  if (children.empty()) return Verdict::NotApplicable();
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  std::string who;
  for (int i : children)
    absl::StrAppend(&who, who.empty() ? "" : ", ", internal::EntityPath(*body, i));
  const bool allowed = p.recipient->HasRole(liaison::v1::ROLE_THB_UNIT) ||
                       p.recipient->HasRole(liaison::v1::ROLE_CHILD_PROTECTION) || JitOnCase(in);
  if (!allowed) {
    return Verdict::Redact(
        PseudonymiseSteps(*body, *in.message, children),
        absl::StrCat(kId.value(), ": child identity of ", who, " redacted for ", p.recipient->id(),
                     " (not a member of a JIT on the case, no THB_UNIT or CHILD_PROTECTION role); "
                     "it receives a victim_ref. For the identity itself: a case listed in the "
                     "registry for a JIT of which ",
                     p.recipient->id(),
                     " is a member (case_ref), or a THB_UNIT or CHILD_PROTECTION endpoint"));
  }
  if (!p.recipient->third_country()) return Verdict::Pass();
  const liaison::v1::Header& h = in.message->header();
  const ConsentState c = MessageConsent(in, liaison::v1::CONSENT_KIND_SENDER_APPROVAL, h.sender());
  if (c == ConsentState::kGranted) {
    return Verdict::Pass(absl::StrCat(kId.value(), ": child identity to ", p.recipient->id(),
                                      " approved by ", p.sender->id()));
  }
  if (c == ConsentState::kRefused) {
    return Verdict::Reject(absl::StrCat(kId.value(), ": ", p.sender->id(),
                                        " refused child identity to ", p.recipient->id(),
                                        "; send the alert without the child's identity"));
  }
  return Verdict::Hold(
      std::string(p.sender->id()), liaison::v1::CONSENT_KIND_SENDER_APPROVAL,
      absl::StrCat(kId.value(), ": child identity to ", p.recipient->id(), " needs approval by ",
                   p.sender->id(), " supervisor (", who, ")"));
}

}  // namespace liaison::policy::rules
