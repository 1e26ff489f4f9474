#include "policy/rules/h1_evidence.h"
#include "absl/strings/string_view.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/consents.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"
#include "policy/sources.h"

namespace liaison::policy::rules {

Verdict H1EvidenceRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  if (h.kind() != liaison::v1::KIND_EVIDENCE_MANIFEST &&
      !HasPurpose(h, liaison::v1::PURPOSE_PROSECUTE)) {
    return Verdict::NotApplicable();
  }
  google::protobuf::RepeatedField<int> prosecute;
  prosecute.Add(liaison::v1::PURPOSE_PROSECUTE);
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
    if (s.ref->handling() != liaison::v1::HANDLING_CODE_H1) return true;
    out.Applies();
    const std::string& provider = s.ref->provider();
    if (provider == h.sender() || provider == Recipient(in)) return true;
    const ConsentState c =
        MessageConsent(in, liaison::v1::CONSENT_KIND_PROVIDER, provider, s.message_id, &prosecute);
    if (c == ConsentState::kGranted) return true;
    const absl::string_view where =
        s.used_in().empty() ? absl::string_view("content") : s.used_in();
    if (c == ConsentState::kRefused) {
      return out.Reject(absl::StrCat(
          kId.value(), ": ", EndpointText(in, provider), " refused use as evidence of H1 ", id,
          "; send without it (drop it from header.provenance.derived_from)"));
    }
    out.Await(s, provider, liaison::v1::CONSENT_KIND_PROVIDER,
              absl::StrCat(where, " derives from H1 ", id, " of ", EndpointText(in, provider),
                           "; consent requested", DeclaredOnlyNote(s)));
    return true;
  });
  return std::move(out).Finish();
}

}  // namespace liaison::policy::rules
