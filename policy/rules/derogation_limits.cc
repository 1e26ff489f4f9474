#include "policy/rules/derogation_limits.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/counters.h"
#include "policy/internal/message_view.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict DerogationLimitsRule::Check(const Input& in) const {
  const liaison::v1::Header& h = in.message->header();
  if (h.transfer().kind() != liaison::v1::TRANSFER_KIND_DEROGATION_38)
    return Verdict::NotApplicable();
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  if (!p.recipient->third_country() || p.recipient->country() == p.sender->country()) {
    return Verdict::NotApplicable();
  }
  const DerogationPolicy& limits = in.registry->derogation();
  const liaison::v1::TransferBasis& t = h.transfer();
  std::vector<std::string> problems;
  if (t.derogation() < liaison::v1::DEROGATION_38A ||
      t.derogation() > liaison::v1::DEROGATION_38E) {
    problems.push_back(
        "header.transfer.derogation must be 38A..38E (THREAT_35_2 is not an art 38 derogation)");
  }
  const int persons = internal::CountPersons(*in.message);
  if (persons > limits.max_subjects) {
    problems.push_back(
        absl::StrCat(persons, " data subjects exceed derogation limit ", limits.max_subjects));
  }
  if (!t.fundamental_rights_checked()) {
    problems.push_back("header.transfer.fundamental_rights_checked is not set (LED art 38(2))");
  }
  if (t.justification_id().empty()) {
    problems.push_back("header.transfer.justification_id missing (art 38(3) documentation)");
  }
  if (limits.repeat_window > absl::ZeroDuration()) {
    if (in.counters == nullptr) {
      return FailClosed(kId, "no volume counters: the repeat pattern cannot be checked");
    }
    const int64_t n = in.counters->Sum(h.sender(), in.recipient, Metric::kDerogations,
                                       limits.repeat_window, in.now) +
                      1;
    if (n > limits.max_transfers_per_window) {
      problems.push_back(absl::StrCat(n, " derogation transfers ", Pair(p), " within ",
                                      internal::FormatDuration(limits.repeat_window), " exceed ",
                                      limits.max_transfers_per_window,
                                      ": not an individual case (recital 72)"));
    }
  }
  if (!problems.empty()) {
    return Verdict::Reject(absl::StrCat(
        kId.value(), ": ", JoinProblems(problems),
        "; an art 38 derogation covers one individual case: declare 38A..38E, confirm the "
        "fundamental-rights check, give the justification id, or register a safeguard "
        "(DP-XFER-01)"));
  }
  Verdict v = Verdict::Pass();
  v.AddObligation(kId, "INDIVIDUAL_CASE_ONLY",
                  "use only for the individual case the art 38 derogation was declared for");
  return v;
}

}  // namespace liaison::policy::rules
