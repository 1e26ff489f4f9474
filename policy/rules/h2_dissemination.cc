#include "policy/rules/h2_dissemination.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/consents.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"
#include "policy/sources.h"

namespace liaison::policy::rules {

Verdict H2DisseminationRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  SourceConsentVerdict out(kId);
  ForEachSource(in, [&](const ResolvedSource& s) {
    const absl::string_view id = internal::MessageIdForText(s.message_id);
    if (!s.known()) {
      return out.Reject(
          absl::StrCat(kId.value(), ": source ", id,
                       " is unknown to the broker and not described in "
                       "header.provenance.sources; its handling code cannot be checked: "
                       "describe it there or drop it from derived_from"));
    }
    if (s.ref->handling() != liaison::v1::HANDLING_CODE_H2) return true;
    out.Applies();
    const std::string& provider = s.ref->provider();
    const auto& addressees = s.ref->original_recipients();
    if (provider == h.sender() || provider == Recipient(in) ||
        std::find(addressees.begin(), addressees.end(), Recipient(in)) != addressees.end()) {
      return true;
    }
    const ConsentState c = MessageConsent(in, liaison::v1::CONSENT_KIND_PROVIDER, provider,
                                          s.message_id, &h.purposes());
    if (c == ConsentState::kGranted) return true;
    if (c == ConsentState::kRefused) {
      return out.Reject(absl::StrCat(kId.value(), ": ", EndpointText(in, provider),
                                     " refused passing H2 ", id, " to ",
                                     EndpointText(in, Recipient(in)),
                                     "; send it only to its original addressees, or without it "
                                     "(drop it from header.provenance.derived_from)"));
    }
    out.Await(
        s, provider, liaison::v1::CONSENT_KIND_PROVIDER,
        absl::StrCat(id, " is H2 from ", EndpointText(in, provider), "; ",
                     EndpointText(in, Recipient(in)), " is not an original addressee; consent of ",
                     EndpointText(in, provider), " requested", DeclaredOnlyNote(s)));
    return true;
  });
  return std::move(out).Finish();
}

}  // namespace liaison::policy::rules
