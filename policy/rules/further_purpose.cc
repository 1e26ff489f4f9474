#include "policy/rules/further_purpose.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "policy/consents.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"
#include "policy/sources.h"

namespace liaison::policy::rules {

Verdict FurtherPurposeRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  SourceConsentVerdict out(kId);
  ForEachSource(in, [&](const ResolvedSource& s) {
    out.Applies();
    const absl::string_view id = internal::MessageIdForText(s.message_id);
    if (!s.known()) {
      return out.Reject(
          absl::StrCat(kId.value(), ": source ", id,
                       " is unknown to the broker and not described in "
                       "header.provenance.sources; describe it or drop it from derived_from"));
    }
    const std::string& provider = s.ref->provider();
    if (provider.empty()) {
      return out.Reject(absl::StrCat(kId.value(), ": source ", id, " names no provider",
                                     DeclaredOnlyNote(s),
                                     "; give header.provenance.sources[].provider"));
    }
    if (provider == h.sender() || provider == Recipient(in)) return true;
    google::protobuf::RepeatedField<int> needed;
    for (int purpose : h.purposes()) {
      const auto& allowed = s.ref->purposes();
      const auto& further = s.ref->permitted_further_purposes();
      if (std::find(allowed.begin(), allowed.end(), purpose) == allowed.end() &&
          std::find(further.begin(), further.end(), purpose) == further.end()) {
        needed.Add(purpose);
      }
    }
    if (needed.empty()) return true;
    const ConsentState c =
        MessageConsent(in, liaison::v1::CONSENT_KIND_PROVIDER, provider, s.message_id, &needed);
    if (c == ConsentState::kGranted) return true;
    const std::string purposes = internal::JoinPurposes(needed);
    if (c == ConsentState::kRefused) {
      return out.Reject(
          absl::StrCat(kId.value(), ": ", EndpointText(in, provider), " refused purpose ", purposes,
                       " for source ", id,
                       "; send without it (drop it from header.provenance.derived_from) "
                       "or for a purpose its provider permits"));
    }
    out.Await(s, provider, liaison::v1::CONSENT_KIND_PROVIDER,
              absl::StrCat(needed.size() == 1 ? "purpose " : "purposes ", purposes,
                           " not permitted by source ", id, "; consent of ",
                           EndpointText(in, provider), " requested", DeclaredOnlyNote(s)));
    return true;
  });
  return std::move(out).Finish();
}

}  // namespace liaison::policy::rules
