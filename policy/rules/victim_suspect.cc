#include "policy/rules/victim_suspect.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/internal/message_view.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict VictimSuspectRule::Check(const Input& in) const {
  const std::optional<internal::EntityBody> body = internal::EntityBodyOf(*in.message);
  if (!body) return Verdict::NotApplicable();
  bool any = false;
  std::vector<std::string> problems;
  for (int i = 0; i < body->entities->size(); ++i) {
    const liaison::v1::Entity& e = (*body->entities)[i];
    if (!e.has_person()) continue;
    const uint32_t m = internal::CategoryMask(e.person());
    if ((m & internal::kVictimMask) == 0 || (m & internal::kSuspectMask) == 0) continue;
    any = true;
    if (e.person().category_note().empty()) {
      problems.push_back(
          absl::StrCat(internal::EntityPath(*body, i), " is VICTIM+SUSPECT without category_note"));
    }
  }
  if (!any) return Verdict::NotApplicable();
  if (problems.empty()) return Verdict::Pass();
  return Verdict::Reject(absl::StrCat(kId.value(), ": ", JoinProblems(problems),
                                      "; explain the dual role in category_note (2011/36 art 8)"));
}

}  // namespace liaison::policy::rules
