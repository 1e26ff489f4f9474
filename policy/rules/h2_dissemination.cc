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
  bool any = false;
  std::string reject;
  std::string hold_reason;
  std::vector<HoldRequest> holds;
  ForEachSource(in, [&](const ResolvedSource& s) {
    const absl::string_view id = internal::MessageIdForText(s.message_id);
    if (!s.known()) {
      reject = absl::StrCat(kId.value(), ": source ", id,
                            " is unknown to the broker and not described in "
                            "header.provenance.sources; its handling code cannot be checked");
      return false;
    }
    if (s.ref->handling() != liaison::v1::HANDLING_CODE_H2) return true;
    any = true;
    const std::string& provider = s.ref->provider();
    const auto& addressees = s.ref->original_recipients();
    if (provider == h.sender() || provider == Recipient(in) ||
        std::find(addressees.begin(), addressees.end(), Recipient(in)) != addressees.end()) {
      return true;
    }
    ConsentQuery q;
    q.kind = liaison::v1::CONSENT_KIND_PROVIDER;
    q.grantor = provider;
    q.grantee = h.sender();
    q.recipient = Recipient(in);
    q.message_id = h.message_id();
    q.source_id = s.message_id;
    q.purposes = &h.purposes();
    q.now = in.now;
    const ConsentLookup c = FindConsent(in.consents, q);
    if (c.state == ConsentState::kGranted) return true;
    if (c.state == ConsentState::kRefused) {
      reject = absl::StrCat(kId.value(), ": ", EndpointText(in, provider), " refused passing H2 ", id,
                            " to ", EndpointText(in, Recipient(in)));
      return false;
    }
    absl::StrAppend(&hold_reason, hold_reason.empty() ? absl::StrCat(kId.value(), ": ") : "; ", id,
                    " is H2 from ", EndpointText(in, provider), "; ", EndpointText(in, Recipient(in)),
                    " is not an original addressee; consent of ", EndpointText(in, provider),
                    " requested", DeclaredOnlyNote(s));
    bool have = false;
    for (const auto& hr : holds) have = have || hr.awaiting == provider;
    if (!have) holds.push_back(HoldRequest{provider, liaison::v1::CONSENT_KIND_PROVIDER});
    return true;
  });
  if (!reject.empty()) return Verdict::Reject(std::move(reject));
  if (!holds.empty()) {
    Verdict v = Verdict::Hold(holds[0].awaiting, holds[0].consent_kind, std::move(hold_reason));
    v.holds = std::move(holds);
    return v;
  }
  return any ? Verdict::Pass() : Verdict::NotApplicable();
}

}  // namespace liaison::policy::rules
