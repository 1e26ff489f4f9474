#include "policy/rules/missing_child_alert.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "policy/internal/message_view.h"
#include "policy/rules/child_identity.h"
#include "policy/rules/rule_util.h"
#include "policy/rules/victim_identity.h"

namespace liaison::policy::rules {
namespace {

constexpr uint32_t kLocateProtect = internal::Bit(liaison::v1::PURPOSE_LOCATE_MISSING_PERSON) |
                                    internal::Bit(liaison::v1::PURPOSE_PROTECT_VICTIM) |
                                    internal::Bit(liaison::v1::PURPOSE_IDENTIFY_VICTIM);
constexpr uint32_t kMissingChildCategories =
    internal::Bit(liaison::v1::SUBJECT_CATEGORY_MISSING) |
    internal::Bit(liaison::v1::SUBJECT_CATEGORY_POTENTIAL_VICTIM);

}  // namespace

std::vector<RuleId> MissingChildAlertRule::MayExempt() const {
  return {VictimIdentityRule::kId, ChildIdentityRule::kId};
}

Verdict MissingChildAlertRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  if (h.kind() != liaison::v1::KIND_ALERT || !in.message->has_alert())
    return Verdict::NotApplicable();
  const liaison::v1::Alert& a = in.message->alert();
  if (a.alert_type() != liaison::v1::ALERT_TYPE_MISSING_PERSON ||
      h.urgency() != liaison::v1::URGENCY_URGENT ||
      !HasPurpose(h, liaison::v1::PURPOSE_LOCATE_MISSING_PERSON) ||
      !internal::AllPurposesIn(h, kLocateProtect)) {
    return Verdict::NotApplicable();
  }
  std::vector<int> missing_children;
  for (int i = 0; i < a.entities_size(); ++i) {
    const liaison::v1::Entity& e = a.entities(i);
    if (!e.has_person() || !internal::IsMinorAt(e.person(), in.now)) continue;
    if ((internal::CategoryMask(e.person()) & kMissingChildCategories) == 0) continue;
    const bool subject =
        a.subject_ids().empty() || std::find(a.subject_ids().begin(), a.subject_ids().end(),
                                             e.person().entity_id()) != a.subject_ids().end();
    if (subject) missing_children.push_back(i);
  }
  if (missing_children.empty()) return Verdict::NotApplicable();
  const Parties p = PartiesOf(in);
  if (p.recipient == nullptr) return UnknownParty(kId, in, p);
  if (!p.recipient->eu_or_schengen()) return Verdict::NotApplicable();
  Verdict v = Verdict::Pass();
  v.AddObligation(kId, "LOCATE_PROTECT_ONLY", "use only to locate and protect the missing child");
  v.AddObligation(kId, "ERASE_ON_CLOSED", "erase when the sender's CLOSED notice arrives");
  v.exempts = {VictimIdentityRule::kId, ChildIdentityRule::kId};
  v.exempt_entities = std::move(missing_children);
  return v;
}

}  // namespace liaison::policy::rules
