#include "policy/rules/accepted_purpose.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict AcceptedPurposeRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  const Parties p = PartiesOf(in);
  if (p.recipient == nullptr) return UnknownParty(kId, in, p);
  if (h.purposes().empty()) {
    return Verdict::Reject(
        absl::StrCat(kId.value(), ": header.purposes missing; state at least one purpose"));
  }
  std::string refused;
  int refused_count = 0;
  for (int i = 0; i < h.purposes_size(); ++i) {
    const int v = h.purposes(i);
    if (v == liaison::v1::PURPOSE_UNSPECIFIED || !liaison::v1::Purpose_IsValid(v)) {
      return Verdict::Reject(
          absl::StrCat(kId.value(), ": header.purposes[", i, "] is not an LED art 1(1) purpose"));
    }
    const auto purpose = static_cast<liaison::v1::Purpose>(v);
    if (!p.recipient->Accepts(purpose)) {
      absl::StrAppend(&refused, refused.empty() ? "" : ", ", internal::PurposeName(purpose));
      ++refused_count;
    }
  }
  if (refused_count == 0) return Verdict::Pass();
  return Verdict::Reject(absl::StrCat(
      kId.value(), refused_count == 1 ? ": purpose " : ": purposes ", refused,
      refused_count == 1 ? " is not accepted by " : " are not accepted by ", p.recipient->id(),
      " (accepted: ", internal::JoinPurposes(p.recipient->endpoint->accepted_purposes()), ")"));
}

}  // namespace liaison::policy::rules
