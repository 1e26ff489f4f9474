#include "policy/rules/transfer_authorisation.h"
#include "absl/strings/string_view.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/consents.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"
#include "policy/sources.h"

namespace liaison::policy::rules {

Verdict TransferAuthorisationRule::Check(const Input& in) const {
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  if (!p.recipient->third_country() || p.recipient->country() == p.sender->country()) {
    return Verdict::NotApplicable();
  }
  const liaison::v1::Header& h = in.message->header();
  bool any = false;
  std::string reject;
  std::string hold_reason;
  std::vector<HoldRequest> holds;
  std::vector<NotificationRequest> notices;
  // `party`: an originating authority; `source_id`: the source it came through.
  auto consider = [&](absl::string_view party, absl::string_view source_id) {
    if (party.empty() || party == h.sender()) return true;
    const EndpointEntry* e = in.registry->FindEntry(party);
    if (e == nullptr) {
      reject =
          absl::StrCat(kId.value(), ": cannot decide: original provider ", EndpointText(in, party),
                       " is not in the registry; correct header.provenance.original_provider");
      return false;
    }
    if (e->endpoint->jurisdiction() != liaison::v1::JURISDICTION_EU_MEMBER_STATE ||
        e->country() == p.sender->country()) {
      return true;
    }
    any = true;
    const ConsentState c = MessageConsent(in, liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION,
                                          party, source_id, &h.purposes());
    if (c == ConsentState::kGranted) return true;
    if (c == ConsentState::kRefused) {
      reject = absl::StrCat(kId.value(), ": ", e->id(), " refused authorisation for transfer to ",
                            p.recipient->id(), "; do not transfer its data to this recipient");
      return false;
    }
    if (h.transfer().derogation() == liaison::v1::DEROGATION_THREAT_35_2) {
      notices.push_back(NotificationRequest{
          std::string(e->id()), liaison::v1::NOTICE_KIND_TRANSFER_INFORMATION,
          absl::StrCat(kId.value(), ": content originating from ", e->id(), " transferred to ",
                       p.recipient->id(), " under LED art 35(2) without prior authorisation")});
      return true;
    }
    absl::StrAppend(&hold_reason, hold_reason.empty() ? absl::StrCat(kId.value(), ": ") : "; ",
                    e->id(), " authorisation required for transfer to ", p.recipient->id());
    bool have = false;
    for (const auto& hr : holds) have = have || hr.awaiting == party;
    if (!have) {
      holds.push_back(
          HoldRequest{std::string(party), liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION});
    }
    return true;
  };
  bool go_on = consider(h.provenance().original_provider(), {});
  if (go_on) {
    ForEachSource(in, [&](const ResolvedSource& s) {
      if (!s.known()) {
        reject = absl::StrCat(kId.value(), ": source ", internal::MessageIdForText(s.message_id),
                              " is unknown to the broker and not described in "
                              "header.provenance.sources; its origin cannot be checked: "
                              "describe it there or drop it from derived_from");
        return false;
      }
      return consider(s.original_provider(), s.message_id);
    });
  }
  if (!reject.empty()) return Verdict::Reject(std::move(reject));
  if (!holds.empty()) {
    Verdict v = Verdict::Hold(holds[0].awaiting, holds[0].consent_kind, std::move(hold_reason));
    v.holds = std::move(holds);
    return v;
  }
  if (!any) return Verdict::NotApplicable();
  Verdict v = Verdict::Pass();
  v.notifications = std::move(notices);
  return v;
}

}  // namespace liaison::policy::rules
