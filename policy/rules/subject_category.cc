#include "policy/rules/subject_category.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/internal/message_view.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict SubjectCategoryRule::Check(const Input& in) const {
  const std::optional<internal::EntityBody> body = internal::EntityBodyOf(*in.message);
  if (!body) return Verdict::NotApplicable();
  bool any = false;
  std::vector<std::string> problems;
  for (int i = 0; i < body->entities->size(); ++i) {
    const liaison::v1::Entity& e = (*body->entities)[i];
    if (!e.has_person()) continue;
    any = true;
    const liaison::v1::Person& p = e.person();
    bool valid = !p.categories().empty();
    for (int c : p.categories()) {
      valid = valid && c != liaison::v1::SUBJECT_CATEGORY_UNSPECIFIED &&
              liaison::v1::SubjectCategory_IsValid(c);
    }
    if (!valid) {
      problems.push_back(
          absl::StrCat(internal::PersonPath(*body, i), ".categories missing or unknown"));
      continue;
    }
    if ((internal::CategoryMask(p) & internal::kSuspectMask) != 0 && p.offence_refs().empty()) {
      problems.push_back(absl::StrCat(internal::PersonPath(*body, i),
                                      ".offence_refs missing for a SUSPECT/CONVICTED person"));
    }
  }
  if (!any) return Verdict::NotApplicable();
  if (problems.empty()) return Verdict::Pass();
  return Verdict::Reject(absl::StrCat(kId.value(), ": ", JoinProblems(problems),
                                      "; give each person an LED art 6 category (and an offence "
                                      "reference for suspects and convicted persons)"));
}

}  // namespace liaison::policy::rules
