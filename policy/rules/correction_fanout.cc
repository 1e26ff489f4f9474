#include "policy/rules/correction_fanout.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/internal/text.h"
#include "policy/rules/accepted_purpose.h"
#include "policy/rules/further_purpose.h"
#include "policy/rules/rule_util.h"
#include "policy/sources.h"

namespace liaison::policy::rules {
namespace {

absl::string_view ActionText(liaison::v1::CorrectionAction a) {
  switch (a) {
    case liaison::v1::CORRECTION_ACTION_RECTIFY:
      return "replace the targeted content with the rectified content (LED art 16(6))";
    case liaison::v1::CORRECTION_ACTION_ERASE:
      return "erase the targeted messages and every copy (LED art 16(6))";
    case liaison::v1::CORRECTION_ACTION_RESTRICT:
      return "restrict processing of the targeted messages (LED art 16(6))";
    case liaison::v1::CORRECTION_ACTION_RETRACT_UNLAWFUL:
      return "erase: the targeted messages were sent unlawfully (LED art 7(3))";
    default:
      return "";
  }
}

absl::string_view ActionCode(liaison::v1::CorrectionAction a) {
  const std::string& n = liaison::v1::CorrectionAction_Name(a);
  constexpr absl::string_view kPrefix = "CORRECTION_ACTION_";
  absl::string_view v = n;
  if (v.substr(0, kPrefix.size()) == kPrefix) v.remove_prefix(kPrefix.size());
  return v;
}

}  // namespace

std::vector<RuleId> CorrectionFanOutRule::MayExempt() const {
  return {AcceptedPurposeRule::kId, FurtherPurposeRule::kId};
}

Verdict CorrectionFanOutRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  if (h.kind() != liaison::v1::KIND_CORRECTION) return Verdict::NotApplicable();
  if (!in.message->has_correction()) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": KIND_CORRECTION without a correction body; "
                                        "add correction.target_message_ids and correction.action"));
  }
  const liaison::v1::Correction& c = in.message->correction();
  if (c.target_message_ids().empty()) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": correction.target_message_ids empty; "
                                        "list the ids of the messages to correct"));
  }
  if (ActionText(c.action()).empty()) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": correction.action missing or unknown; "
                                        "set RECTIFY, ERASE, RESTRICT or RETRACT_UNLAWFUL"));
  }
  const bool has_replacement = c.replacement_case() != liaison::v1::Correction::REPLACEMENT_NOT_SET;
  if (c.action() == liaison::v1::CORRECTION_ACTION_RECTIFY && !has_replacement) {
    return Verdict::Reject(absl::StrCat(
        kId.value(), ": RECTIFY needs replacement content (correction.alert or correction.info)"));
  }
  if (c.action() != liaison::v1::CORRECTION_ACTION_RECTIFY && has_replacement) {
    return Verdict::Reject(absl::StrCat(kId.value(), ": ", ActionCode(c.action()),
                                        " notices carry ids only; remove the replacement content"));
  }
  if (in.sources == nullptr) {
    return FailClosed(kId, "no source index: the earlier recipients of the targets are unknown");
  }
  bool received = false;
  for (int i = 0; i < c.target_message_ids_size(); ++i) {
    const std::string& t = c.target_message_ids(i);
    const SourceRecord* rec = in.sources->Find(t);
    if (rec == nullptr) {
      return Verdict::Reject(absl::StrCat(kId.value(), ": correction.target_message_ids[", i, "] ",
                                          internal::MessageIdForText(t),
                                          " is unknown to the broker; "
                                          "name a message this broker accepted from the sender"));
    }
    if (rec->ref.provider() != h.sender()) {
      return Verdict::Reject(absl::StrCat(kId.value(), ": correction.target_message_ids[", i,
                                          "] was sent by ", EndpointText(in, rec->ref.provider()),
                                          ": only the provider corrects its data; "
                                          "ask it to send the correction"));
    }
    received = received || std::find(rec->delivered_to.begin(), rec->delivered_to.end(),
                                     Recipient(in)) != rec->delivered_to.end();
  }
  Verdict v = Verdict::Pass(
      received ? std::string()
               : absl::StrCat(kId.value(), ": ", EndpointText(in, Recipient(in)),
                              " received none of the targets; the purpose rules apply"));
  v.AddObligation(kId, ActionCode(c.action()), ActionText(c.action()));
  (*v.obligations.back().mutable_params())["targets"] = absl::StrJoin(c.target_message_ids(), ",");
  if (received) v.exempts = {AcceptedPurposeRule::kId, FurtherPurposeRule::kId};
  return v;
}

}  // namespace liaison::policy::rules
