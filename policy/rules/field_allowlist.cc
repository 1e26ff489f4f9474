#include "policy/rules/field_allowlist.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/internal/message_view.h"
#include "policy/internal/text.h"
#include "policy/registry.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict FieldAllowlistRule::Check(const Input& in) const {
  const std::optional<internal::EntityBody> body = internal::EntityBodyOf(*in.message);
  if (!body) return Verdict::NotApplicable();
  const liaison::v1::Header& h = in.message->header();
  const uint32_t always = internal::AlwaysKeptFieldMask();
  bool any = false;
  std::vector<RedactionStep> steps;
  for (int i = 0; i < body->entities->size(); ++i) {
    const liaison::v1::Entity& e = (*body->entities)[i];
    if (!e.has_person()) continue;
    any = true;
    const liaison::v1::Person& p = e.person();
    const uint32_t present = internal::PresentPersonFields(p) & ~always;
    if (present == 0) continue;
    uint32_t allowed = ~uint32_t{0};
    bool has_category = false;
    for (int c : p.categories()) {
      if (c == liaison::v1::SUBJECT_CATEGORY_UNSPECIFIED ||
          !liaison::v1::SubjectCategory_IsValid(c)) {
        continue;  // DP-CAT-01 rejects it
      }
      has_category = true;
      uint32_t for_category = 0;
      for (int purpose : h.purposes()) {
        const auto fields =
            in.registry->AllowedPersonFields(h.kind(), static_cast<liaison::v1::Purpose>(purpose),
                                             static_cast<liaison::v1::SubjectCategory>(c));
        if (!fields) {
          return FailClosed(
              kId,
              absl::StrCat("no field allowlist for ", internal::KindName(h.kind()), "/",
                           internal::PurposeName(static_cast<liaison::v1::Purpose>(purpose)), "/",
                           internal::CategoryName(static_cast<liaison::v1::SubjectCategory>(c)),
                           " in registry ", in.registry->version(), "; add one"));
        }
        for_category |= *fields;
      }
      allowed &= for_category;
    }
    if (!has_category) continue;
    const uint32_t excess = present & ~allowed;
    for (int f = 1; f < 32; ++f) {
      if ((excess & internal::Bit(f)) == 0) continue;
      RedactionStep s;
      s.action = RedactionStep::Action::kClearField;
      s.entity = i;
      s.field = f;
      s.path = internal::PersonFieldPath(*body, i, f);
      steps.push_back(std::move(s));
    }
  }
  if (!any) return Verdict::NotApplicable();
  if (steps.empty()) return Verdict::Pass();
  std::string reason =
      absl::StrCat(kId.value(), ": ", steps.size(), steps.size() == 1 ? " field" : " fields",
                   " removed for ", h.purposes_size() == 1 ? "purpose " : "purposes ",
                   internal::JoinPurposes(h.purposes()), " (");
  for (size_t k = 0; k < steps.size() && k < 6; ++k) {
    absl::StrAppend(&reason, k == 0 ? "" : ", ", steps[k].path);
  }
  absl::StrAppend(&reason, steps.size() > 6 ? ", ...)" : ")",
                  ": the registry's field allowlist for this kind, purpose and subject category "
                  "does not include them; send only the allowed fields, or a purpose whose "
                  "allowlist covers them");
  return Verdict::Redact(std::move(steps), std::move(reason));
}

}  // namespace liaison::policy::rules
