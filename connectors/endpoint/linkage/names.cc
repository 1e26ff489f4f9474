// The ICU side of normalisation: names (NFKC case folding, national
// romanisation of Cyrillic, Latin-ASCII), e-mail domains (IDNA UTS #46) and
// the Cyrillic letters of vehicle plates.
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/endpoint/linkage/normalize.h"
#include "connectors/endpoint/linkage/normalize_internal.h"

namespace liaison::endpoint::linkage {
namespace {

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// Official romanisations, applied to case-folded Cyrillic with a space on
// each side (so word boundaries are non-letters). Tables as the national
// systems write names in passports:
// Bulgaria: the Transliteration Act 2009 ("Streamlined System"), where
// x = h, ъ = a, щ = sht and a word-final -ия = -ia (Христо Стоичков =
// Hristo Stoichkov). ICU's Bulgarian-Latin/BGN is the older BGN/PCGN 1952
// system (x = kh, ъ = u) and would not match Bulgarian documents.
constexpr const char* kBulgarianRules =
    "ия } [:^L:] → ia ;"
    "а → a ; б → b ; в → v ; г → g ; д → d ; е → e ; ж → zh ; з → z ; и → i ; ѝ → i ;"
    "й → y ; к → k ; л → l ; м → m ; н → n ; о → o ; п → p ; р → r ; с → s ; т → t ;"
    "у → u ; ф → f ; х → h ; ц → ts ; ч → ch ; ш → sh ; щ → sht ; ъ → a ; ь → y ;"
    "ю → yu ; я → ya ;";
// Russia: the passport system since 2014 (ICAO 9303 transliteration table):
// й = i, х = kh, щ = shch, ъ = ie, ы = y, ь dropped, ю = iu, я = ia.
constexpr const char* kRussianRules =
    "а → a ; б → b ; в → v ; г → g ; д → d ; е → e ; ё → e ; ж → zh ; з → z ; и → i ;"
    "й → i ; к → k ; л → l ; м → m ; н → n ; о → o ; п → p ; р → r ; с → s ; т → t ;"
    "у → u ; ф → f ; х → kh ; ц → ts ; ч → ch ; ш → sh ; щ → shch ; ъ → ie ; ы → y ;"
    "ь → ; э → e ; ю → iu ; я → ia ;";
// Ukraine: Cabinet of Ministers resolution 55 (2010): г = h, ґ = g, и = y,
// і = i, зг = zgh; є ї й ю я are ye yi y yu ya at the start of a word and
// ie i i iu ia elsewhere; ь and the apostrophe are dropped.
constexpr const char* kUkrainianRules =
    "зг → zgh ;"
    "[:^L:] { є → ye ; [:^L:] { ї → yi ; [:^L:] { й → y ; [:^L:] { ю → yu ; [:^L:] { я → ya ;"
    "є → ie ; ї → i ; й → i ; ю → iu ; я → ia ;"
    "а → a ; б → b ; в → v ; г → h ; ґ → g ; д → d ; е → e ; ж → zh ; з → z ; и → y ;"
    "і → i ; к → k ; л → l ; м → m ; н → n ; о → o ; п → p ; р → r ; с → s ; т → t ;"
    "у → u ; ф → f ; х → kh ; ц → ts ; ч → ch ; ш → sh ; щ → shch ; ь → ; \\u02BC → ; ’ → ;";

absl::StatusOr<std::unique_ptr<icu::Transliterator>> FromRules(const char* id, const char* rules) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse{};
  std::unique_ptr<icu::Transliterator> t(icu::Transliterator::createFromRules(
      id, icu::UnicodeString::fromUTF8(rules), UTRANS_FORWARD, parse, status));
  if (U_FAILURE(status)) {
    return absl::InternalError(absl::StrCat("ICU transliterator ", id, ": ", u_errorName(status),
                                            " at rule offset ", parse.offset));
  }
  return t;
}

absl::StatusOr<std::unique_ptr<icu::Transliterator>> FromId(const char* id) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Transliterator> t(
      icu::Transliterator::createInstance(id, UTRANS_FORWARD, status));
  if (U_FAILURE(status)) {
    return absl::InternalError(absl::StrCat("ICU transliterator ", id, ": ", u_errorName(status)));
  }
  return t;
}

bool HasCyrillic(const icu::UnicodeString& s) {
  for (int32_t i = 0; i < s.length();) {
    const UChar32 c = s.char32At(i);
    UErrorCode status = U_ZERO_ERROR;
    if (uscript_getScript(c, &status) == USCRIPT_CYRILLIC) return true;
    i += U16_LENGTH(c);
  }
  return false;
}

bool HasNonAscii(const icu::UnicodeString& s) {
  for (int32_t i = 0; i < s.length(); ++i) {
    if (s.charAt(i) >= 0x80) return true;
  }
  return false;
}

// True if a letter of another script than Latin is left.
bool HasNonLatinLetter(const icu::UnicodeString& s) {
  for (int32_t i = 0; i < s.length();) {
    const UChar32 c = s.char32At(i);
    UErrorCode status = U_ZERO_ERROR;
    if (u_isalpha(c) && uscript_getScript(c, &status) != USCRIPT_LATIN) return true;
    i += U16_LENGTH(c);
  }
  return false;
}

// Cyrillic letters that look like Latin ones, as on Bulgarian (and other)
// plates, which use only these: the plate is written with the Latin
// look-alike abroad (В = B, Н = H, Р = P, С = C, У = Y, Х = X).
UChar32 PlateLatin(UChar32 c) {
  static constexpr std::pair<char16_t, char> kMap[] = {
      {u'А', 'A'}, {u'В', 'B'}, {u'Е', 'E'}, {u'К', 'K'}, {u'М', 'M'}, {u'Н', 'H'},
      {u'О', 'O'}, {u'Р', 'P'}, {u'С', 'C'}, {u'Т', 'T'}, {u'У', 'Y'}, {u'Х', 'X'}};
  const UChar32 upper = u_toupper(c);
  for (const auto& [cyr, lat] : kMap) {
    if (upper == cyr) return lat;
  }
  return c;
}

// "YYYY-MM-DD" or "YYYYMMDD" -> "YYYY-MM-DD". Messages name the part that is
// wrong, never the date.
absl::StatusOr<std::string> IsoDate(absl::string_view text) {
  std::string digits;
  const absl::string_view t = internal::Trim(text);
  if (t.size() == 10 && t[4] == '-' && t[7] == '-') {
    digits = absl::StrCat(t.substr(0, 4), t.substr(5, 2), t.substr(8, 2));
  } else if (t.size() == 8) {
    digits = std::string(t);
  } else {
    return Bad("date_of_birth", "not a full date YYYY-MM-DD (or YYYYMMDD)");
  }
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return Bad("date_of_birth", "not a full date YYYY-MM-DD (or YYYYMMDD)");
    }
  }
  const int year = std::stoi(digits.substr(0, 4));
  const int month = std::stoi(digits.substr(4, 2));
  const int day = std::stoi(digits.substr(6, 2));
  if (year < 1880 || year > 2199) return Bad("date_of_birth", "year outside 1880..2199");
  if (month < 1 || month > 12) return Bad("date_of_birth", "month outside 01..12");
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day < 1 || day > days) return Bad("date_of_birth", "day does not exist in that month");
  return absl::StrCat(digits.substr(0, 4), "-", digits.substr(4, 2), "-", digits.substr(6, 2));
}

}  // namespace

namespace internal {

absl::StatusOr<icu::UnicodeString> FromUtf8(absl::string_view text, absl::string_view field) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(nullptr, 0, &length, text.data(), static_cast<int32_t>(text.size()), &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) {
    return Bad(field, "not valid UTF-8");
  }
  icu::UnicodeString out;
  status = U_ZERO_ERROR;
  UChar* buffer = out.getBuffer(length);
  u_strFromUTF8(buffer, length, &length, text.data(), static_cast<int32_t>(text.size()), &status);
  out.releaseBuffer(U_SUCCESS(status) ? length : 0);
  if (U_FAILURE(status)) return Bad(field, "not valid UTF-8");
  return out;
}

std::string ToUtf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

}  // namespace internal

absl::Status Normalizer::Impl::InitText() {
  UErrorCode status = U_ZERO_ERROR;
  nfkc_casefold = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status)) return absl::InternalError("ICU NFKC_Casefold is unavailable");
  auto any = FromId("Any-Latin");
  if (!any.ok()) return any.status();
  any_latin = *std::move(any);
  auto strip = FromId("NFD; [:Nonspacing Mark:] Remove; NFC");
  if (!strip.ok()) return strip.status();
  strip_marks = *std::move(strip);
  auto latin = FromId("Latin-ASCII");
  if (!latin.ok()) return latin.status();
  latin_ascii = *std::move(latin);
  for (auto [slot, id, rules] : {std::tuple{&bulgarian, "liaison-bg-Latn", kBulgarianRules},
                                 std::tuple{&russian, "liaison-ru-Latn", kRussianRules},
                                 std::tuple{&ukrainian, "liaison-uk-Latn", kUkrainianRules}}) {
    auto t = FromRules(id, rules);
    if (!t.ok()) return t.status();
    *slot = *std::move(t);
  }
  idna.reset(icu::IDNA::createUTS46Instance(UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_USE_STD3_RULES |
                                                UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ,
                                            status));
  if (U_FAILURE(status)) return absl::InternalError("ICU IDNA (UTS #46) is unavailable");
  return absl::OkStatus();
}

absl::StatusOr<Canonical> Normalizer::NameDob(absl::string_view name,
                                              absl::string_view date_of_birth,
                                              absl::string_view language) const {
  auto dob = IsoDate(date_of_birth);
  if (!dob.ok()) return dob.status();
  const absl::string_view trimmed = internal::Trim(name);
  if (trimmed.empty()) return Bad("name", "empty");
  if (trimmed.size() > 256) return Bad("name", "longer than 256 bytes");
  std::string lang =
      absl::AsciiStrToLower(language.empty() ? impl_->options.name_language : language);
  if (!lang.empty() &&
      (lang.size() != 2 || !absl::ascii_isalpha(lang[0]) || !absl::ascii_isalpha(lang[1]))) {
    return Bad("name.language", "not an ISO 639-1 code");
  }
  auto u = internal::FromUtf8(trimmed, "name");
  if (!u.ok()) return u.status();
  UErrorCode status = U_ZERO_ERROR;
  // NFKC with case folding first: compatibility forms (ligatures, full-width
  // letters) and case no longer matter, so the tables see lower case only.
  icu::UnicodeString text = impl_->nfkc_casefold->normalize(*u, status);
  if (U_FAILURE(status)) return absl::InternalError("ICU NFKC_Casefold failed");
  if (HasCyrillic(text)) {
    icu::Transliterator* national = lang == "bg"   ? impl_->bulgarian.get()
                                    : lang == "ru" ? impl_->russian.get()
                                    : lang == "uk" ? impl_->ukrainian.get()
                                                   : nullptr;
    if (national != nullptr) {
      text = icu::UnicodeString(u' ') + text + icu::UnicodeString(u' ');
      national->transliterate(text);
    }
  }
  // Whatever is left goes to ASCII: other scripts (Greek, Cyrillic of other
  // languages) through Any-Latin first; Latin diacritics through
  // Latin-ASCII: Bērziņš = berzins; Romanian Ș/Ş and Ț/Ţ (comma below and
  // cedilla) both become s and t.
  if (HasNonLatinLetter(text)) impl_->any_latin->transliterate(text);
  impl_->strip_marks->transliterate(text);
  if (HasNonAscii(text)) impl_->latin_ascii->transliterate(text);  // ł, ø, æ, đ ...
  const std::string ascii = internal::ToUtf8(text);

  std::vector<std::string> parts(1);
  for (char c : ascii) {
    const auto u8 = static_cast<unsigned char>(c);
    if (absl::ascii_isalpha(u8)) {
      parts.back().push_back(absl::ascii_tolower(u8));
    } else if (c == '\'' || c == '"' || c == '`') {
      // Apostrophes join (O'Brien = obrien); romanised hard/soft signs too.
    } else if (absl::ascii_isdigit(u8)) {
      return Bad("name", "contains digits");
    } else if (u8 >= 0x80) {
      return Bad("name", "has characters that cannot be romanised");
    } else if (!parts.back().empty()) {
      parts.emplace_back();  // spaces, hyphens, commas, dots separate parts
    }
  }
  if (parts.back().empty()) parts.pop_back();
  if (parts.empty()) return Bad("name", "no letters");
  // Order-free: "Ivanov, Georgi", "GEORGI IVANOV" and "Ivanov Georgi" are
  // one name. The parts are sorted, so the order of family and given names
  // (which differs between countries and registers) never decides a match.
  std::sort(parts.begin(), parts.end());
  return Make(IdentifierKind::kNameDob, absl::StrCat(absl::StrJoin(parts, " "), "|", *dob));
}

absl::StatusOr<Canonical> Normalizer::Email(absl::string_view text) const {
  const absl::string_view t = internal::Trim(text);
  if (t.empty()) return Bad("email", "empty");
  if (t.size() > 254) return Bad("email", "longer than 254 bytes");
  const size_t at = t.rfind('@');
  if (at == absl::string_view::npos) return Bad("email", "no '@'");
  const absl::string_view local = t.substr(0, at);
  absl::string_view domain = t.substr(at + 1);
  if (local.empty()) return Bad("email", "empty local part");
  if (local.size() > 64) return Bad("email", "local part longer than 64 bytes");
  if (local.front() == '"') return Bad("email", "quoted local parts are not accepted");
  for (char c : local) {
    const auto u8 = static_cast<unsigned char>(c);
    if (u8 <= 0x20 || u8 == 0x7f ||
        absl::string_view("@()<>[]:;,\\\"").find(c) != absl::string_view::npos) {
      return Bad("email", "local part has a character e-mail addresses never use");
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != absl::string_view::npos) {
    return Bad("email", "local part has a misplaced dot");
  }
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return Bad("email", "empty domain");
  if (domain.front() == '[') return Bad("email", "address literals are not accepted");

  // The local part is case-folded (NFKC_Casefold) and otherwise kept. RFC
  // 5321 lets a server tell case apart, but no mail service in use does, and
  // a missed link costs more than that theoretical collision. Dots and
  // "+tags" are kept: only some providers ignore them, and removing them
  // would merge different mailboxes elsewhere.
  auto u = internal::FromUtf8(local, "email");
  if (!u.ok()) return u.status();
  UErrorCode status = U_ZERO_ERROR;
  const std::string folded = internal::ToUtf8(impl_->nfkc_casefold->normalize(*u, status));
  if (U_FAILURE(status)) return absl::InternalError("ICU NFKC_Casefold failed");

  std::string ascii_domain;
  icu::StringByteSink<std::string> sink(&ascii_domain);
  icu::IDNAInfo info;
  status = U_ZERO_ERROR;
  impl_->idna->nameToASCII_UTF8(
      icu::StringPiece(domain.data(), static_cast<int32_t>(domain.size())), sink, info, status);
  if (U_FAILURE(status) || info.hasErrors()) {
    return Bad("email", "domain is not a valid (internationalised) domain name");
  }
  if (ascii_domain.find('.') == std::string::npos) {
    return Bad("email", "domain has no dot (not a public domain name)");
  }
  return Make(IdentifierKind::kEmail,
              absl::StrCat(folded, "@", absl::AsciiStrToLower(ascii_domain)));
}

absl::StatusOr<Canonical> Normalizer::VehiclePlate(absl::string_view plate,
                                                   absl::string_view country) const {
  const std::string cc = absl::AsciiStrToUpper(internal::Trim(country));
  if (cc.size() != 2 || !impl_->alpha2.contains(cc)) {
    return Bad("plate.country", "not an ISO 3166-1 alpha-2 country code");
  }
  auto u = internal::FromUtf8(internal::Trim(plate), "plate");
  if (!u.ok()) return u.status();
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString text = icu::Normalizer2::getNFKCInstance(status)->normalize(*u, status);
  if (U_FAILURE(status)) return absl::InternalError("ICU NFKC failed");
  icu::UnicodeString mapped;
  for (int32_t i = 0; i < text.length();) {
    const UChar32 c = text.char32At(i);
    mapped.append(PlateLatin(c));
    i += U16_LENGTH(c);
  }
  // Latin letters with diacritics (German district codes such as TÜ) are
  // written without them abroad.
  impl_->strip_marks->transliterate(mapped);
  if (HasNonAscii(mapped)) impl_->latin_ascii->transliterate(mapped);
  std::string out;
  for (char c : internal::ToUtf8(mapped)) {
    const auto u8 = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u8)) {
      out.push_back(absl::ascii_toupper(u8));
    } else if (absl::string_view(" -._/").find(c) == absl::string_view::npos) {
      return Bad("plate", "characters other than letters, digits and separators");
    }
  }
  if (out.empty()) return Bad("plate", "no letters or digits");
  if (out.size() > 15) return Bad("plate", "longer than 15 letters and digits");
  return Make(IdentifierKind::kVehiclePlate, absl::StrCat(cc, "|", out));
}

}  // namespace liaison::endpoint::linkage
