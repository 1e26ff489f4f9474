#include "policy/internal/text.h"
#include "absl/strings/string_view.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace liaison::policy::internal {
namespace {

absl::string_view StripPrefix(const std::string& name, absl::string_view prefix) {
  absl::string_view v = name;
  if (v.substr(0, prefix.size()) == prefix) v.remove_prefix(prefix.size());
  if (v.empty()) return "UNKNOWN";
  return v;
}

}  // namespace

absl::string_view PurposeName(liaison::v1::Purpose p) {
  return StripPrefix(liaison::v1::Purpose_Name(p), "PURPOSE_");
}
absl::string_view KindName(liaison::v1::Kind k) {
  return StripPrefix(liaison::v1::Kind_Name(k), "KIND_");
}
absl::string_view CategoryName(liaison::v1::SubjectCategory c) {
  return StripPrefix(liaison::v1::SubjectCategory_Name(c), "SUBJECT_CATEGORY_");
}
absl::string_view SpecialName(liaison::v1::SpecialCategory c) {
  return StripPrefix(liaison::v1::SpecialCategory_Name(c), "SPECIAL_CATEGORY_");
}
absl::string_view HandlingName(liaison::v1::HandlingCode c) {
  return StripPrefix(liaison::v1::HandlingCode_Name(c), "HANDLING_CODE_");
}
absl::string_view IdentifierTypeName(liaison::v1::IdentifierType t) {
  return StripPrefix(liaison::v1::IdentifierType_Name(t), "IDENTIFIER_TYPE_");
}
absl::string_view DerogationName(liaison::v1::Derogation d) {
  return StripPrefix(liaison::v1::Derogation_Name(d), "DEROGATION_");
}
absl::string_view OutcomeName(liaison::v1::Outcome o) {
  return StripPrefix(liaison::v1::Outcome_Name(o), "OUTCOME_");
}

std::string JoinPurposes(const google::protobuf::RepeatedField<int>& purposes) {
  std::string out;
  for (int p : purposes) {
    absl::StrAppend(&out, out.empty() ? "" : ", ",
                    PurposeName(static_cast<liaison::v1::Purpose>(p)));
  }
  return out.empty() ? std::string("none") : out;
}

std::string FormatMinute(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%MZ", t, absl::UTCTimeZone());
}

std::string FormatDay(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

std::string FormatDuration(absl::Duration d) {
  const int64_t minutes = absl::ToInt64Minutes(d);
  if (d == absl::Minutes(minutes) && minutes < 60) return absl::StrCat(minutes, " min");
  const int64_t hours = absl::ToInt64Hours(d);
  if (d == absl::Hours(hours)) {
    if (hours % 24 == 0 && hours >= 48) return absl::StrCat(hours / 24, " days");
    return absl::StrCat(hours, "h");
  }
  return absl::FormatDuration(d);
}

bool IsUuidShaped(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

absl::string_view MessageIdForText(absl::string_view id) {
  return IsUuidShaped(id) ? id : absl::string_view("<malformed id>");
}

bool IsCodeShaped(absl::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  if (!absl::ascii_isupper(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!absl::ascii_isupper(u) && !absl::ascii_isdigit(u) && c != '_') return false;
  }
  return true;
}

bool IsMessageFieldPath(absl::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  const google::protobuf::Descriptor* desc = liaison::v1::Message::descriptor();
  for (absl::string_view segment : absl::StrSplit(s, '.')) {
    if (desc == nullptr || segment.empty()) return false;
    absl::string_view name = segment;
    bool indexed = false;
    if (const size_t open = segment.find('['); open != absl::string_view::npos) {
      if (segment.back() != ']' || open + 2 > segment.size() - 1) return false;
      for (char c : segment.substr(open + 1, segment.size() - open - 2)) {
        if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
      }
      name = segment.substr(0, open);
      indexed = true;
    }
    const google::protobuf::FieldDescriptor* f = desc->FindFieldByName(std::string(name));
    if (f == nullptr || f->is_repeated() != indexed) return false;
    desc = f->message_type();
  }
  return true;
}

bool IsCountryShaped(absl::string_view s) {
  return s.size() == 2 && absl::ascii_isupper(static_cast<unsigned char>(s[0])) &&
         absl::ascii_isupper(static_cast<unsigned char>(s[1]));
}

}  // namespace liaison::policy::internal
