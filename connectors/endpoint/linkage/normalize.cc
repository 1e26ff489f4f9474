// Structured identifiers: phone (libphonenumber), IBAN, VIN, travel
// document, vehicle plate. Names and e-mail addresses (ICU) are in names.cc.
#include "connectors/endpoint/linkage/normalize.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/locid.h>
#include <unicode/uloc.h>

#include <array>
#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/endpoint/linkage/normalize_internal.h"

namespace liaison::endpoint::linkage {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

bool IsUpperAlnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Upper case with `drop` characters removed; non-ASCII bytes are kept for
// the caller to refuse.
std::string Compact(absl::string_view s, absl::string_view drop) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (drop.find(c) != absl::string_view::npos) continue;
    out.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// IBAN lengths by country, from the ISO 13616 registry (SWIFT's IBAN
// registry). A country not listed is refused: its IBANs cannot be checked.
const absl::flat_hash_map<std::string, int>& IbanLengths() {
  static const auto* table = [] {
    constexpr absl::string_view kTable =
        "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28"
        "EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IS26IT27"
        "JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18"
        "NO15OM23PK24PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28"
        "TL23TN24TR26UA29VA22VG24XK20";
    auto* m = new absl::flat_hash_map<std::string, int>();
    for (size_t i = 0; i + 4 <= kTable.size(); i += 4) {
      (*m)[std::string(kTable.substr(i, 2))] = (kTable[i + 2] - '0') * 10 + (kTable[i + 3] - '0');
    }
    return m;
  }();
  return *table;
}

// ISO 7064 MOD 97-10 over the IBAN with its first four characters moved to
// the end, letters as 10..35.
int IbanMod97(absl::string_view iban) {
  int r = 0;
  auto feed = [&r](char c) {
    if (c >= '0' && c <= '9') {
      r = (r * 10 + (c - '0')) % 97;
    } else {
      r = (r * 100 + (c - 'A' + 10)) % 97;
    }
  };
  for (char c : iban.substr(4)) feed(c);
  for (char c : iban.substr(0, 4)) feed(c);
  return r;
}

int VinValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  //                          ABCDEFGHIJKLMNOPQRSTUVWXYZ
  constexpr absl::string_view kLetters = "12345678-12345-7-923456789";
  return kLetters[c - 'A'] == '-' ? 0 : kLetters[c - 'A'] - '0';
}

char VinCheckDigit(absl::string_view vin) {
  constexpr std::array<int, 17> kWeights = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += VinValue(vin[i]) * kWeights[i];
  const int r = sum % 11;
  return r == 10 ? 'X' : static_cast<char>('0' + r);
}

// ICAO 9303 part 3 codes that are not ISO 3166-1 alpha-3 (besides "D").
bool IsIcaoSpecialState(absl::string_view code) {
  for (absl::string_view c :
       {"GBD", "GBN", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK", "XBA", "XIM", "XCC", "XCE", "XCO",
        "XEC", "XPO", "XES", "XMP", "XOM", "XDC", "XXA", "XXB", "XXC", "XXX", "EUE", "RKS"}) {
    if (code == c) return true;
  }
  return false;
}

}  // namespace

namespace internal {

absl::string_view Trim(absl::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<Normalizer>> Normalizer::Create(NormalizerOptions options) {
  auto impl = std::make_unique<Impl>();
  options.default_region = absl::AsciiStrToUpper(options.default_region);
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  if (!regions.count(options.default_region)) {
    return absl::InvalidArgumentError(
        absl::StrCat("default_region: '", options.default_region,
                     "' is not an ISO 3166-1 alpha-2 region with a telephone numbering plan"));
  }
  const std::string& lang = options.name_language;
  if (!lang.empty() &&
      (lang.size() != 2 || !absl::ascii_isalpha(static_cast<unsigned char>(lang[0])) ||
       !absl::ascii_isalpha(static_cast<unsigned char>(lang[1])))) {
    return absl::InvalidArgumentError("name_language: not an ISO 639-1 code (two letters)");
  }
  impl->options = std::move(options);
  for (const char* const* c = uloc_getISOCountries(); *c != nullptr; ++c) {
    impl->alpha2.insert(*c);
    const std::string a3 = icu::Locale("", *c).getISO3Country();
    if (!a3.empty()) impl->alpha3.insert(a3);
  }
  if (absl::Status s = impl->InitText(); !s.ok()) return s;
  return std::unique_ptr<Normalizer>(new Normalizer(std::move(impl)));
}

Normalizer::Normalizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Normalizer::~Normalizer() = default;

absl::StatusOr<Canonical> Normalizer::Make(IdentifierKind kind, absl::StatusOr<std::string> value) {
  if (!value.ok()) return value.status();
  return Canonical(kind, *std::move(value));
}

absl::StatusOr<Canonical> Normalizer::Phone(absl::string_view text) const {
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  const absl::string_view t = internal::Trim(text);
  if (t.empty()) return Bad("phone", "empty");
  if (t.size() > 64) return Bad("phone", "longer than 64 characters");
  PhoneNumber number;
  switch (util->Parse(std::string(t), impl_->options.default_region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return Bad("phone", "unknown country calling code");
    case PhoneNumberUtil::NOT_A_NUMBER:
      return Bad("phone", "not a telephone number (cannot be parsed)");
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
      return Bad("phone", "too short after the international prefix");
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return Bad("phone", "national number too short");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return Bad("phone", "national number too long");
  }
  // "Possible" (length fits the country's plan), not "valid" (a range in
  // use): the metadata in Debian's libphonenumber ages with the package, and
  // refusing a number of a newly opened range would lose a link, while a
  // well-formed number blinds alike on every endpoint whatever its range.
  switch (util->IsPossibleNumberWithReason(number)) {
    case PhoneNumberUtil::IS_POSSIBLE:
      break;
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      return Bad("phone", "a local number without its area code");
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return Bad("phone", "unknown country calling code");
    case PhoneNumberUtil::TOO_SHORT:
      return Bad("phone", "too short for its country");
    case PhoneNumberUtil::TOO_LONG:
      return Bad("phone", "too long for its country");
    case PhoneNumberUtil::INVALID_LENGTH:
      return Bad("phone", "a length its country never uses");
  }
  std::string e164;
  util->Format(number, PhoneNumberUtil::E164, &e164);
  return Make(IdentifierKind::kPhone, std::move(e164));
}

absl::StatusOr<Canonical> Normalizer::Iban(absl::string_view text) const {
  std::string iban = Compact(internal::Trim(text), " -.\t");
  if (absl::StartsWith(iban, "IBAN")) iban.erase(0, 4);
  if (iban.empty()) return Bad("iban", "empty");
  for (char c : iban) {
    if (!IsUpperAlnum(c)) return Bad("iban", "characters other than letters and digits");
  }
  if (iban.size() < 4 || !absl::ascii_isalpha(iban[0]) || !absl::ascii_isalpha(iban[1]) ||
      !absl::ascii_isdigit(iban[2]) || !absl::ascii_isdigit(iban[3])) {
    return Bad("iban", "does not start with a country code and two check digits");
  }
  const auto it = IbanLengths().find(iban.substr(0, 2));
  if (it == IbanLengths().end()) {
    return Bad("iban", absl::StrCat("country ", iban.substr(0, 2), " has no IBAN in the registry"));
  }
  if (static_cast<int>(iban.size()) != it->second) {
    return Bad("iban", absl::StrCat(iban.size(), " characters; an IBAN of ", it->first, " has ",
                                    it->second));
  }
  if (IbanMod97(iban) != 1) return Bad("iban", "checksum (mod 97) fails");
  return Make(IdentifierKind::kIban, std::move(iban));
}

absl::StatusOr<Canonical> Normalizer::Vin(absl::string_view text) const {
  std::string vin = Compact(internal::Trim(text), " -.");
  if (vin.size() != 17) return Bad("vin", absl::StrCat(vin.size(), " characters, expected 17"));
  for (char c : vin) {
    if (c == 'I' || c == 'O' || c == 'Q') {
      return Bad("vin", "contains I, O or Q, which ISO 3779 never uses");
    }
    if (!IsUpperAlnum(c)) return Bad("vin", "characters other than letters and digits");
  }
  // The check digit (position 9) is mandatory for North America (WMI 1-5,
  // 49 CFR 565) and verified there: a mistyped character is refused rather
  // than blinded. ISO 3779 makes it optional and European manufacturers put
  // other characters in position 9, so elsewhere it is not checked: refusing
  // those VINs would lose real links.
  if (vin[0] >= '1' && vin[0] <= '5' && VinCheckDigit(vin) != vin[8]) {
    return Bad("vin", "check digit (position 9) does not match (North American VIN)");
  }
  return Make(IdentifierKind::kVin, std::move(vin));
}

absl::StatusOr<Canonical> Normalizer::TravelDocument(absl::string_view issuing_country,
                                                     absl::string_view document_type,
                                                     absl::string_view number) const {
  // Issuing state: ICAO 9303 uses ISO alpha-3, except Germany ("D") and a
  // few organisations; an alpha-2 code is mapped through ICU.
  std::string state = Compact(internal::Trim(issuing_country), "<");
  if (state.size() == 2) {
    if (!impl_->alpha2.contains(state)) {
      return Bad("document.issuing_country", "not an ISO 3166-1 country code");
    }
    state = icu::Locale("", state.c_str()).getISO3Country();
  }
  if (state == "DEU") state = "D";
  if (state != "D" && !impl_->alpha3.contains(state) && !IsIcaoSpecialState(state)) {
    return Bad("document.issuing_country", "not an ICAO 9303 issuing state code");
  }
  state.resize(3, '<');

  const std::string type = Compact(internal::Trim(document_type), "<");
  char category = 0;
  if (type == "PASSPORT") {
    category = 'P';
  } else if (type == "ID" || type == "ID CARD" || type == "IDENTITY CARD") {
    category = 'I';
  } else if (type == "VISA") {
    category = 'V';
  } else if (type.size() >= 1 && type.size() <= 2 && IsUpperAlnum(type[0]) &&
             (type.size() == 1 || IsUpperAlnum(type[1]))) {
    // MRZ document code: the first character is the category; the second is
    // a national subtype, dropped so that subtypes still match.
    switch (type[0]) {
      case 'P':
        category = 'P';
        break;
      case 'A':
      case 'C':
      case 'I':
        category = 'I';
        break;  // TD1 / TD2 cards
      case 'V':
        category = 'V';
        break;
      default:
        break;
    }
  }
  if (category == 0) {
    return Bad("document.type",
               "not an ICAO 9303 travel document (P passport, I/A/C identity card, V visa)");
  }

  std::string doc = Compact(internal::Trim(number), " -./<");
  if (doc.size() < 3 || doc.size() > 22) {
    return Bad("document.number", absl::StrCat(doc.size(), " characters, expected 3 to 22"));
  }
  for (char c : doc) {
    if (!IsUpperAlnum(c)) return Bad("document.number", "characters outside ICAO 9303 A-Z 0-9");
  }
  return Make(IdentifierKind::kTravelDocument, absl::StrCat(state, std::string(1, category), doc));
}

}  // namespace liaison::endpoint::linkage
