#include "policy/rules/handling_code.h"

#include "absl/strings/str_cat.h"

namespace liaison::policy::rules {

Verdict HandlingCodeRule::Check(const Input& in) const {
  Verdict v = Verdict::Pass();
  switch (in.message->header().handling().code()) {
    case liaison::v1::HANDLING_CODE_H0:
      v.AddObligation(kId, "H0",
                      "only for preventing and combating crime, under the applicable law "
                      "(handling code H0)");
      return v;
    case liaison::v1::HANDLING_CODE_H1:
      v.AddObligation(kId, "H1",
                      "not to be disclosed in judicial proceedings without the provider's "
                      "permission (handling code H1)");
      return v;
    case liaison::v1::HANDLING_CODE_H2:
      v.AddObligation(
          kId, "H2", "not to be disseminated without the provider's permission (handling code H2)");
      return v;
    case liaison::v1::HANDLING_CODE_H3:
      v.AddObligation(kId, "H3",
                      "the provider's restrictions in header.handling.restrictions apply "
                      "(handling code H3)");
      return v;
    default:
      return Verdict::Reject(
          absl::StrCat(kId.value(), ": header.handling.code missing; set H0, H1, H2 or H3"));
  }
}

}  // namespace liaison::policy::rules
