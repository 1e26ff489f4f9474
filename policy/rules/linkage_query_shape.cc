#include "policy/rules/linkage_query_shape.h"
#include "absl/strings/string_view.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "policy/counters.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {
namespace {

// The epoch N of "HMAC-SHA256/epoch-N"; nullopt for any other scheme.
std::optional<uint32_t> SchemeEpoch(absl::string_view s) {
  constexpr absl::string_view kPrefix = "HMAC-SHA256/epoch-";
  if (s.substr(0, kPrefix.size()) != kPrefix || s.size() == kPrefix.size()) return std::nullopt;
  if (s.size() - kPrefix.size() > 9) return std::nullopt;
  uint32_t epoch = 0;
  for (char c : s.substr(kPrefix.size())) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    epoch = epoch * 10 + static_cast<uint32_t>(c - '0');
  }
  return epoch;
}

bool AllPrintable(absl::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return false;
  }
  return true;
}

// Queries the sender had answered since 00:00 UTC today, against the
// registry's linkage.max_queries_per_day (no fishing expeditions). The
// counter records a query once, after its recipients were decided, so every
// recipient of one query sees the same count.
Verdict DailyLimit(const Input& in) {
  if (in.counters == nullptr) return Verdict::Pass();
  const std::string& sender = in.message->header().sender();
  const absl::Time day_start =
      absl::FromCivil(absl::ToCivilDay(in.now, absl::UTCTimeZone()), absl::UTCTimeZone());
  const int64_t used = in.counters->Sum(sender, kAnyRecipient, Metric::kLinkageQueries,
                                        in.now - day_start + absl::Nanoseconds(1), in.now);
  const int limit = in.registry->max_linkage_queries_per_day();
  if (used < limit) return Verdict::Pass();
  return Verdict::Reject(absl::StrCat(
      LinkageQueryShapeRule::kId.value(), ": ", EndpointText(in, sender), " has had ", used,
      " linkage queries answered today (UTC); the limit is linkage.max_queries_per_day = ", limit,
      "; query again after 00:00 UTC or ask the network operator to review the limit"));
}

}  // namespace

Verdict LinkageQueryShapeRule::Check(const Input& in) const {
  if (in.message->header().kind() != liaison::v1::KIND_LINKAGE_QUERY)
    return Verdict::NotApplicable();
  if (!in.message->has_linkage_query()) {
    return Verdict::Reject(absl::StrCat(kId.value(),
                                        ": KIND_LINKAGE_QUERY without a linkage_query body; "
                                        "add the linkage_query"));
  }
  const liaison::v1::LinkageQuery& q = in.message->linkage_query();
  std::vector<std::string> problems;
  if (q.case_ref().empty()) problems.push_back("linkage_query.case_ref missing");
  if (!internal::IsCodeShaped(q.offence_code())) {
    problems.push_back("linkage_query.offence_code missing or not an offence code");
  }
  const int max = in.registry->max_linkage_identifiers();
  if (q.identifiers().empty()) problems.push_back("linkage_query.identifiers empty");
  if (q.identifiers_size() > max) {
    problems.push_back(
        absl::StrCat(q.identifiers_size(), " identifiers exceed the limit of ", max));
  }
  if (!q.GetReflection()->GetUnknownFields(q).empty()) {
    problems.push_back("linkage_query carries unknown fields");
  }
  for (int i = 0; i < q.identifiers_size(); ++i) {
    const liaison::v1::BlindedIdentifier& id = q.identifiers(i);
    const std::string path = absl::StrCat("linkage_query.identifiers[", i, "]");
    if (id.type() == liaison::v1::IDENTIFIER_TYPE_PERSON_NAME) {
      problems.push_back(absl::StrCat(path, " is cleartext (type PERSON_NAME)"));
      continue;
    }
    if (!in.registry->LinkageTypeAllowed(id.type())) {
      problems.push_back(absl::StrCat(path, " has a type that is not allowed (",
                                      internal::IdentifierTypeName(id.type()), ")"));
    }
    const std::optional<uint32_t> epoch = SchemeEpoch(id.scheme());
    if (!epoch) {
      problems.push_back(absl::StrCat(path, ".scheme must be HMAC-SHA256/epoch-N"));
    } else if (absl::Status s = in.registry->CheckLinkageEpoch(*epoch); !s.ok()) {
      problems.push_back(absl::StrCat(path, ".scheme: ", s.message()));
    }
    if (id.value().size() != 32) {
      problems.push_back(
          absl::StrCat(path, ".value is cleartext or malformed (a blinded value is 32 bytes)"));
    } else if (AllPrintable(id.value())) {
      problems.push_back(absl::StrCat(path, ".value looks like cleartext, not an HMAC"));
    }
    if (!id.GetReflection()->GetUnknownFields(id).empty()) {
      problems.push_back(absl::StrCat(path, " carries unknown fields"));
    }
  }
  if (problems.empty()) return DailyLimit(in);
  return Verdict::Reject(
      absl::StrCat(kId.value(), ": ", JoinProblems(problems),
                   "; send only blinded identifiers, a case_ref and an offence code"));
}

}  // namespace liaison::policy::rules
