#include "policy/rules/linkage_followup.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "policy/consents.h"
#include "policy/internal/text.h"
#include "policy/linkage.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict LinkageFollowUpRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  switch (h.kind()) {
    case liaison::v1::KIND_LINKAGE_REPLY: {
      if (!in.message->has_linkage_reply()) {
        return Verdict::Reject(absl::StrCat(kId.value(),
                                            ": KIND_LINKAGE_REPLY without a linkage_reply body; "
                                            "add the linkage_reply"));
      }
      const absl::Status s = CheckLinkageReplyShape(in.message->linkage_reply(), *in.registry);
      return s.ok() ? Verdict::Pass() : Verdict::Reject(std::string(s.message()));
    }
    case liaison::v1::KIND_FOLLOWUP_REQUEST: {
      if (!in.message->has_followup_request()) {
        return Verdict::Reject(
            absl::StrCat(kId.value(),
                         ": KIND_FOLLOWUP_REQUEST without a followup_request body; "
                         "add the followup_request"));
      }
      const liaison::v1::FollowUpRequest& f = in.message->followup_request();
      if (in.registry->FindEndpoint(f.owner()) == nullptr) {
        return Verdict::Reject(
            absl::StrCat(kId.value(),
                         ": followup_request.owner is not a registered endpoint; "
                         "use the owner named in the linkage hit"));
      }
      if (f.owner() != Recipient(in)) {
        return Verdict::Reject(absl::StrCat(kId.value(), ": a follow-up goes only to its owner ",
                                            f.owner(), ", not to ", EndpointText(in, Recipient(in)),
                                            "; address it to ", f.owner(), " only"));
      }
      if (!IsOwnerRef(f.owner_ref())) {
        return Verdict::Reject(
            absl::StrCat(kId.value(),
                         ": followup_request.owner_ref must be the LNK- reference of a hit; "
                         "copy it from the linkage reply"));
      }
      if (f.justification_id().empty()) {
        return Verdict::Reject(absl::StrCat(kId.value(),
                                            ": followup_request.justification_id missing; "
                                            "give the id of the documented justification"));
      }
      const ConsentState c =
          MessageConsent(in, liaison::v1::CONSENT_KIND_OWNER_APPROVAL, f.owner());
      if (c == ConsentState::kGranted) {
        return Verdict::Pass(absl::StrCat(kId.value(), ": follow-up for ", f.owner_ref(),
                                          " approved by ", f.owner()));
      }
      if (c == ConsentState::kRefused) {
        return Verdict::Reject(absl::StrCat(kId.value(), ": ", f.owner(),
                                            " refused the follow-up for ", f.owner_ref(),
                                            "; use mutual legal assistance if it is still needed"));
      }
      return Verdict::Hold(f.owner(), liaison::v1::CONSENT_KIND_OWNER_APPROVAL,
                           absl::StrCat(kId.value(), ": follow-up for ", f.owner_ref(), " awaits ",
                                        f.owner(), " approval"));
    }
    case liaison::v1::KIND_FOLLOWUP_DECISION: {
      if (!in.message->has_followup_decision()) {
        return Verdict::Reject(
            absl::StrCat(kId.value(),
                         ": KIND_FOLLOWUP_DECISION without a followup_decision body; "
                         "add the followup_decision"));
      }
      const liaison::v1::FollowUpDecision& d = in.message->followup_decision();
      if (d.followup_id().empty()) {
        return Verdict::Reject(absl::StrCat(kId.value(),
                                            ": followup_decision.followup_id missing; "
                                            "give the id of the follow-up request"));
      }
      if (!d.reason_code().empty() && !internal::IsCodeShaped(d.reason_code())) {
        return Verdict::Reject(
            absl::StrCat(kId.value(),
                         ": followup_decision.reason_code must be a code, not free text; "
                         "use an upper-case code such as NOT_NECESSARY"));
      }
      if (d.approve() && d.details_message_id().empty()) {
        return Verdict::Reject(
            absl::StrCat(kId.value(),
                         ": an approving followup_decision names details_message_id; "
                         "set it to the id of the message carrying the details"));
      }
      return Verdict::Pass();
    }
    default:
      return Verdict::NotApplicable();
  }
}

}  // namespace liaison::policy::rules
