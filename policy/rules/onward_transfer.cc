#include "policy/rules/onward_transfer.h"
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

Verdict OnwardTransferRule::Check(const Input& in) const {
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  if (!p.sender->third_country()) return Verdict::NotApplicable();
  const liaison::v1::Header& h = in.message->header();
  SourceConsentVerdict out(kId);
  auto consider = [&](const ResolvedSource* source, absl::string_view party,
                      absl::string_view source_id, absl::string_view what,
                      const google::protobuf::RepeatedPtrField<std::string>& had_it) {
    if (party.empty()) return true;
    const EndpointEntry* e = in.registry->FindEntry(party);
    if (e == nullptr) {
      return out.Reject(absl::StrCat(kId.value(), ": cannot decide: original provider ",
                                     EndpointText(in, party),
                                     " is not in the registry; "
                                     "correct header.provenance.original_provider"));
    }
    if (e->endpoint->jurisdiction() != liaison::v1::JURISDICTION_EU_MEMBER_STATE) return true;
    out.Applies();
    if (party == Recipient(in) ||
        std::find(had_it.begin(), had_it.end(), Recipient(in)) != had_it.end()) {
      return true;
    }
    const ConsentState c = MessageConsent(in, liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION,
                                          party, source_id, &h.purposes());
    if (c == ConsentState::kGranted) return true;
    if (c == ConsentState::kRefused) {
      return out.Reject(absl::StrCat(kId.value(), ": ", e->id(), " refused onward transfer of ",
                                     what, " to ", EndpointText(in, Recipient(in)),
                                     "; do not transfer it to this recipient"));
    }
    const std::string reason =
        absl::StrCat("onward transfer of EU-origin ", what, " needs ", e->id(), " authorisation");
    if (source != nullptr) {
      out.Await(*source, party, liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION, reason);
    } else {
      out.Await(party, liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION, reason);
    }
    return true;
  };
  bool go_on = consider(nullptr, h.provenance().original_provider(), {}, "content",
                        h.provenance().source_recipients());
  if (go_on) {
    ForEachSource(in, [&](const ResolvedSource& s) {
      if (!s.known()) {
        return out.Reject(absl::StrCat(kId.value(), ": source ",
                                       internal::MessageIdForText(s.message_id),
                                       " is unknown to the broker and not described in "
                                       "header.provenance.sources; its origin cannot be checked: "
                                       "describe it there or drop it from derived_from"));
      }
      return consider(&s, s.original_provider(), s.message_id,
                      internal::MessageIdForText(s.message_id), s.ref->original_recipients());
    });
  }
  return std::move(out).Finish();
}

}  // namespace liaison::policy::rules
