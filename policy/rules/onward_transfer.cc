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
  bool any = false;
  std::string reject;
  std::string hold_reason;
  std::vector<HoldRequest> holds;
  auto consider = [&](absl::string_view party, absl::string_view source_id, absl::string_view what,
                      const google::protobuf::RepeatedPtrField<std::string>& had_it) {
    if (party.empty()) return true;
    const EndpointEntry* e = in.registry->FindEntry(party);
    if (e == nullptr) {
      reject = absl::StrCat(kId.value(), ": cannot decide: original provider ",
                            EndpointText(in, party), " is not in the registry");
      return false;
    }
    if (e->endpoint->jurisdiction() != liaison::v1::JURISDICTION_EU_MEMBER_STATE) return true;
    any = true;
    if (party == Recipient(in) ||
        std::find(had_it.begin(), had_it.end(), Recipient(in)) != had_it.end()) {
      return true;
    }
    ConsentQuery q;
    q.kind = liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION;
    q.grantor = party;
    q.grantee = h.sender();
    q.recipient = Recipient(in);
    q.message_id = h.message_id();
    q.source_id = source_id;
    q.purposes = &h.purposes();
    q.now = in.now;
    const ConsentLookup c = FindConsent(in.consents, q);
    if (c.state == ConsentState::kGranted) return true;
    if (c.state == ConsentState::kRefused) {
      reject = absl::StrCat(kId.value(), ": ", e->id(), " refused onward transfer of ", what, " to ",
                            EndpointText(in, Recipient(in)));
      return false;
    }
    absl::StrAppend(&hold_reason, hold_reason.empty() ? absl::StrCat(kId.value(), ": ") : "; ",
                    "onward transfer of EU-origin ", what, " needs ", e->id(), " authorisation");
    bool have = false;
    for (const auto& hr : holds) have = have || hr.awaiting == party;
    if (!have) {
      holds.push_back(HoldRequest{std::string(party), liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION});
    }
    return true;
  };
  bool go_on = consider(h.provenance().original_provider(), {}, "content",
                        h.provenance().source_recipients());
  if (go_on) {
    ForEachSource(in, [&](const ResolvedSource& s) {
      if (!s.known()) {
        reject = absl::StrCat(kId.value(), ": source ", internal::MessageIdForText(s.message_id),
                              " is unknown to the broker and not described in "
                              "header.provenance.sources; its origin cannot be checked");
        return false;
      }
      return consider(s.original_provider(), s.message_id, internal::MessageIdForText(s.message_id),
                      s.ref->original_recipients());
    });
  }
  if (!reject.empty()) return Verdict::Reject(std::move(reject));
  if (!holds.empty()) {
    Verdict v = Verdict::Hold(holds[0].awaiting, holds[0].consent_kind, std::move(hold_reason));
    v.holds = std::move(holds);
    return v;
  }
  return any ? Verdict::Pass() : Verdict::NotApplicable();
}

}  // namespace liaison::policy::rules
