#include "policy/rules/h3_restrictions.h"
#include "absl/strings/string_view.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/proto_time.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {

Verdict H3RestrictionsRule::Check(const Input& in) const {
  const liaison::v1::Handling& handling = in.message->header().handling();
  if (handling.restrictions().empty()) {
    if (handling.code() == liaison::v1::HANDLING_CODE_H3) {
      return Verdict::Reject(
          absl::StrCat(kId.value(),
                       ": header.handling.code is H3 but "
                       "header.handling.restrictions is empty; add a restriction "
                       "or use H0"));
    }
    return Verdict::NotApplicable();
  }
  const Parties p = PartiesOf(in);
  if (p.recipient == nullptr) return UnknownParty(kId, in, p);
  std::vector<std::string> rejects;
  std::vector<liaison::v1::Obligation> obligations;
  absl::Time delay_until = absl::InfinitePast();
  auto oblige = [&](absl::string_view code, absl::string_view text) {
    liaison::v1::Obligation& o = obligations.emplace_back();
    o.set_rule_id(kId.str());
    o.set_code(std::string(code));
    o.set_text(std::string(text));
    return &o;
  };
  for (int i = 0; i < handling.restrictions_size(); ++i) {
    const liaison::v1::Restriction& r = handling.restrictions(i);
    const std::string& code = r.code();
    const std::string path = absl::StrCat("header.handling.restrictions[", i, "]");
    if (!in.registry->IsKnownRestriction(code)) {
      rejects.push_back(internal::IsCodeShaped(code)
                            ? absl::StrCat("unknown restriction code '", code, "'")
                            : absl::StrCat(path, ".code is not a known restriction code"));
      continue;
    }
    if (code == "RECIPIENTS_ONLY") {
      oblige(code, "do not pass on beyond the addressees of this message");
    } else if (code == "NO_THIRD_COUNTRY") {
      if (p.recipient->third_country()) {
        rejects.push_back(absl::StrCat("restriction NO_THIRD_COUNTRY forbids delivery to ",
                                       p.recipient->id(), " (third country)"));
      } else {
        oblige(code, "no onward transfer to third countries");
      }
    } else if (code == "NO_EU_AGENCY") {
      if (p.recipient->endpoint->jurisdiction() == liaison::v1::JURISDICTION_EU_AGENCY) {
        rejects.push_back(absl::StrCat("restriction NO_EU_AGENCY forbids delivery to ",
                                       p.recipient->id(), " (EU agency)"));
      } else {
        oblige(code, "no onward transfer to EU agencies");
      }
    } else if (code == "ERASE_BY" || code == "NOT_BEFORE") {
      const std::optional<absl::Time> at = RestrictionTime(r);
      if (!at) {
        rejects.push_back(absl::StrCat(path, " ", code, " needs params.at as an RFC 3339 time"));
      } else if (code == "ERASE_BY") {
        (*oblige(code, "erase by the time in params.at")->mutable_params())["at"] =
            absl::FormatTime(absl::RFC3339_sec, *at, absl::UTCTimeZone());
      } else if (*at > in.now + in.registry->MaxNotBefore()) {
        rejects.push_back(
            absl::StrCat(path, " NOT_BEFORE lies ",
                         absl::FormatDuration(absl::Trunc(*at - in.now, absl::Hours(1))),
                         " ahead; the registry allows at most ",
                         absl::FormatDuration(in.registry->MaxNotBefore())));
      } else if (in.now < *at) {
        delay_until = std::max(delay_until, *at);
      }
    } else if (code == "REPORT_BACK") {
      oblige(code, "report the results of use back to the provider");
    } else if (code == "FREE_TEXT") {
      oblige(code, absl::StrCat("observe the provider's free-text condition in ", path));
    } else {
      oblige(code, absl::StrCat("provider restriction ", code, " applies"));
    }
  }
  // A delay that ends when the content must already be erased can never be
  // delivered: refuse it now rather than hold it until it expires.
  if (delay_until > in.now) {
    absl::Time erase = in.message->header().retention().has_erase_by()
                           ? FromProto(in.message->header().retention().erase_by())
                           : absl::InfiniteFuture();
    for (const liaison::v1::Restriction& r : handling.restrictions()) {
      if (r.code() != "ERASE_BY") continue;
      if (const std::optional<absl::Time> at = RestrictionTime(r)) erase = std::min(erase, *at);
    }
    if (delay_until >= erase) {
      rejects.push_back(
          absl::StrCat("restriction NOT_BEFORE (", internal::FormatMinute(delay_until),
                       ") is not before the erasure time (", internal::FormatMinute(erase),
                       "): the message could never be delivered"));
    }
  }
  if (!rejects.empty()) {
    return Verdict::Reject(absl::StrCat(
        kId.value(), ": ", JoinProblems(rejects),
        "; known codes: ", absl::StrJoin(in.registry->proto().restriction_codes(), ", ")));
  }
  Verdict v = delay_until > in.now
                  ? Verdict::Delay(
                        delay_until,
                        absl::StrCat(kId.value(), ": restriction NOT_BEFORE holds delivery until ",
                                     internal::FormatMinute(delay_until)))
                  : Verdict::Pass();
  v.obligations = std::move(obligations);
  return v;
}

}  // namespace liaison::policy::rules
