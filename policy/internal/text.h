// Helpers that turn metadata into reason text. Everything that lands in a
// reason goes through one of these or is a registry value (endpoint id,
// code, ref) the rule looked up: sender-supplied strings are printed only
// when they have the shape of an id or a code, never verbatim otherwise.
#ifndef LIAISON_POLICY_INTERNAL_TEXT_H_
#define LIAISON_POLICY_INTERNAL_TEXT_H_

#include <string>
#include <string_view>
#include "absl/strings/string_view.h"

#include "absl/time/time.h"
#include "google/protobuf/repeated_field.h"
#include "liaison/v1/common.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::policy::internal {

// Debian 12's Abseil has its own string_view type: these convert.
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// Enum value names without their prefix: "PROTECT_VICTIM", "INFO_EXCHANGE".
absl::string_view PurposeName(liaison::v1::Purpose p);
absl::string_view KindName(liaison::v1::Kind k);
absl::string_view CategoryName(liaison::v1::SubjectCategory c);
absl::string_view SpecialName(liaison::v1::SpecialCategory c);
absl::string_view HandlingName(liaison::v1::HandlingCode c);
absl::string_view IdentifierTypeName(liaison::v1::IdentifierType t);
absl::string_view DerogationName(liaison::v1::Derogation d);
absl::string_view OutcomeName(liaison::v1::Outcome o);

// "PREVENT, DETECT" for a list of purposes (registry or header values).
std::string JoinPurposes(const google::protobuf::RepeatedField<int>& purposes);

// "2026-05-04T10:00Z" (UTC, minutes).
std::string FormatMinute(absl::Time t);
// "2026-05-04" (UTC).
std::string FormatDay(absl::Time t);
// "72h", "3 days", "30 days".
std::string FormatDuration(absl::Duration d);

// A UUID in canonical hex form (any version): safe to print.
bool IsUuidShaped(absl::string_view s);
// `id` when UUID-shaped, else "<malformed id>": message ids in reasons.
absl::string_view MessageIdForText(absl::string_view id);
// [A-Z][A-Z0-9_]{0,31}: restriction codes, reason codes.
bool IsCodeShaped(absl::string_view s);
// A field path of liaison.v1.Message like "evidence_manifest.items[4]":
// every segment names a field of the message type reached so far, and only
// repeated fields carry an index.
bool IsMessageFieldPath(absl::string_view s);
// ISO 3166-1 alpha-2 shape (two upper-case letters).
bool IsCountryShaped(absl::string_view s);

}  // namespace liaison::policy::internal

#endif  // LIAISON_POLICY_INTERNAL_TEXT_H_
