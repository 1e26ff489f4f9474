// Phone, IBAN, VIN, travel document and plate: tables of spellings that must
// meet in one canonical value, and of input that must be refused.
#include "connectors/endpoint/linkage/normalize.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "base/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace liaison::endpoint::linkage {
namespace {

using liaison::testing::IsError;

std::unique_ptr<Normalizer> Make(const std::string& region) {
  auto n = Normalizer::Create({.default_region = region, .name_language = ""});
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *std::move(n) : nullptr;
}

struct Same {
  std::string canonical;
  std::vector<std::string> spellings;
};
struct Refused {
  std::string input;
  std::string reason;
};
using OneField = std::function<absl::StatusOr<Canonical>(const std::string&)>;

// Every spelling of a case normalises to its canonical value, of `kind`.
void ExpectSame(const OneField& normalise, const std::vector<Same>& cases, IdentifierKind kind) {
  for (const Same& c : cases) {
    for (const std::string& s : c.spellings) {
      auto v = normalise(s);
      ASSERT_TRUE(v.ok()) << s << ": " << v.status();
      EXPECT_EQ(v->value(), c.canonical) << s;
      EXPECT_EQ(v->kind(), kind);
    }
  }
}

// Every input is refused with InvalidArgument naming its reason.
void ExpectRefused(const OneField& normalise, const std::vector<Refused>& cases) {
  for (const Refused& r : cases) {
    EXPECT_TRUE(IsError(normalise(r.input), absl::StatusCode::kInvalidArgument, r.reason))
        << r.input;
  }
}

TEST(Phone, SpellingsOfOneNumberMeetInE164) {
  auto lv = Make("LV");
  auto ro = Make("RO");
  ExpectSame([&](const std::string& x) { return lv->Phone(x); },
             {
                 {"+37120123456",
                  {"20123456", "20 123 456", "+371 20 123 456", "00371 20123456", "+371-2012-3456",
                   "(+371) 20123456", "  20123456\t"}},
                 {"+40721234567", {"+40 721 234 567", "0040721234567", "+40 (721) 234-567"}},
             },
             IdentifierKind::kPhone);
  // The endpoint's region decides national numbers: the same digits in RO.
  auto p = ro->Phone("0721 234 567");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->value(), "+40721234567");
}

TEST(Phone, RefusesWhatCannotBeANumber) {
  auto lv = Make("LV");
  ExpectRefused([&](const std::string& x) { return lv->Phone(x); },
                {
                    {"", "phone: empty"},
                    {"call me", "phone: not a telephone number"},
                    {"+999 1234 5678", "phone: unknown country calling code"},
                    {"+371 2012", "phone: too short for its country"},
                    {"+371 2012345678901", "too long"},
                    {std::string(70, '1'), "longer than 64"},
                });
}

TEST(Normalizer, RefusesAnUnknownDefaultRegionOrLanguage) {
  EXPECT_TRUE(IsError(Normalizer::Create({.default_region = "XY", .name_language = ""}),
                      absl::StatusCode::kInvalidArgument, "default_region"));
  EXPECT_TRUE(
      IsError(Normalizer::Create({}), absl::StatusCode::kInvalidArgument, "default_region"));
  EXPECT_TRUE(IsError(Normalizer::Create({.default_region = "BG", .name_language = "bul"}),
                      absl::StatusCode::kInvalidArgument, "name_language: not an ISO 639-1 code"));
}

TEST(Iban, SpellingsMeetInTheElectronicForm) {
  auto n = Make("LV");
  ExpectSame([&](const std::string& x) { return n->Iban(x); },
             {
                 {"LV80BANK0000435195001",
                  {"LV80BANK0000435195001", "LV80 BANK 0000 4351 9500 1", "lv80bank0000435195001",
                   "IBAN LV80 BANK 0000 4351 9500 1"}},
                 {"GB82WEST12345698765432",
                  {"GB82 WEST 1234 5698 7654 32", "gb82-west-1234-5698-7654-32"}},
                 {"DE89370400440532013000", {"DE89 3704 0044 0532 0130 00"}},
                 {"RO49AAAA1B31007593840000", {"RO49 AAAA 1B31 0075 9384 0000"}},
                 {"BG80BNBG96611020345678", {"BG80 BNBG 9661 1020 3456 78"}},
                 {"NL91ABNA0417164300", {"NL91ABNA0417164300"}},
             },
             IdentifierKind::kIban);
}

TEST(Iban, RefusesBadChecksumLengthCountryAndCharacters) {
  auto n = Make("LV");
  ExpectRefused(
      [&](const std::string& x) { return n->Iban(x); },
      {
          {"LV81BANK0000435195001", "iban: checksum (mod 97) fails"},  // check digits changed
          {"LV80BANK0000435195002", "checksum (mod 97) fails"},        // one digit mistyped
          {"GB82WETS12345698765432", "checksum (mod 97) fails"},       // two letters swapped
          {"LV80BANK000043519500", "20 characters; an IBAN of LV has 21"},
          {"XX80BANK0000435195001", "country XX has no IBAN"},
          {"LV80BANK00004351_5001", "characters other than letters and digits"},
          {"80LVBANK0000435195001", "does not start with a country code"},
          {"", "iban: empty"},
      });
}

TEST(Vin, NormalisesAndChecksNorthAmericanCheckDigits) {
  auto n = Make("LV");
  const OneField vin = [&](const std::string& x) { return n->Vin(x); };
  ExpectSame(
      vin,
      {
          {"1M8GDM9AXKP042788", {"1M8GDM9AXKP042788", "1m8gdm9axkp042788", "1M8 GDM9AX KP042788"}},
          {"11111111111111111", {"11111111111111111"}},
          // European VIN whose 9th character is no check digit: accepted as is.
          {"WVWZZZ1JZXW000001", {"WVWZZZ1JZXW000001", "wvw-zzz-1jz-xw-000001"}},
      },
      IdentifierKind::kVin);
  ExpectRefused(vin, {
                         {"1M8GDM9AXKP04278", "vin: 16 characters, expected 17"},
                         {"1M8GDM9AIKP042788", "contains I, O or Q"},
                         {"WVWZZZ1JZXW00000O", "contains I, O or Q"},
                         {"1M8GDM9A1KP042788", "check digit (position 9) does not match"},
                         {"WVWZZZ1JZXW00000#", "characters other than letters and digits"},
                     });
}

TEST(TravelDocument, CountryTypeAndNumberInIcaoCharacters) {
  auto n = Make("LV");
  struct Doc {
    std::string country, type, number, canonical;
  };
  const Doc cases[] = {
      {"LVA", "P", "LV1234567", "LVAPLV1234567"},
      {"lv", "passport", "lv 123 4567", "LVAPLV1234567"},
      {"LVA", "PO", "LV1234567<<", "LVAPLV1234567"},  // subtype and MRZ fillers dropped
      {"D", "P", "C01X00T47", "D<<PC01X00T47"},
      {"DEU", "P", "C01X00T47", "D<<PC01X00T47"},  // ISO alpha-3 of Germany -> ICAO "D"
      {"DE", "P", "C01X00T47", "D<<PC01X00T47"},
      {"BGR", "ID", "64-1234567", "BGRI641234567"},
      {"BG", "I<", "641234567", "BGRI641234567"},
      {"ROU", "AC", "RX123456", "ROUIRX123456"},  // A and C are identity-card codes too
      {"ROU", "V", "123456789", "ROUV123456789"},
      {"GBD", "P", "123456789", "GBDP123456789"},  // ICAO special code
  };
  for (const Doc& d : cases) {
    auto v = n->TravelDocument(d.country, d.type, d.number);
    ASSERT_TRUE(v.ok()) << d.country << "/" << d.type << "/" << d.number << ": " << v.status();
    EXPECT_EQ(v->value(), d.canonical);
  }
  EXPECT_TRUE(IsError(n->TravelDocument("ZZ", "P", "123456"), absl::StatusCode::kInvalidArgument,
                      "document.issuing_country: not an ISO 3166-1"));
  EXPECT_TRUE(IsError(n->TravelDocument("QQQ", "P", "123456"), absl::StatusCode::kInvalidArgument,
                      "document.issuing_country: not an ICAO 9303"));
  EXPECT_TRUE(IsError(n->TravelDocument("LVA", "DRIVING LICENCE", "123456"),
                      absl::StatusCode::kInvalidArgument, "document.type"));
  EXPECT_TRUE(IsError(n->TravelDocument("LVA", "P", "12"), absl::StatusCode::kInvalidArgument,
                      "document.number: 2 characters"));
  EXPECT_TRUE(IsError(n->TravelDocument("LVA", "P", "LV12345*7"),
                      absl::StatusCode::kInvalidArgument, "outside ICAO 9303"));
}

TEST(VehiclePlate, SeparatorsCaseAndCyrillicLookAlikes) {
  auto n = Make("LV");
  const Same cases[] = {
      {"LV|AB1234", {"AB-1234", "ab 1234", "AB1234", "A.B 12-34"}},
      // A Bulgarian plate in Cyrillic (В, Н, С) and as written abroad.
      {"BG|CB1234BH", {"СВ 1234 ВН", "CB 1234 BH", "св1234вн"}},
      {"DE|TUAB123", {"TÜ-AB 123", "TU AB 123"}},
  };
  for (const Same& c : cases) {
    const std::string country = c.canonical.substr(0, 2);
    for (const std::string& s : c.spellings) {
      auto v = n->VehiclePlate(s, absl::AsciiStrToLower(country));
      ASSERT_TRUE(v.ok()) << s << ": " << v.status();
      EXPECT_EQ(v->value(), c.canonical) << s;
    }
  }
  EXPECT_TRUE(IsError(n->VehiclePlate("AB1234", "LVA"), absl::StatusCode::kInvalidArgument,
                      "plate.country"));
  EXPECT_TRUE(IsError(n->VehiclePlate("AB1234", "XY"), absl::StatusCode::kInvalidArgument,
                      "plate.country"));
  EXPECT_TRUE(IsError(n->VehiclePlate(" - ", "LV"), absl::StatusCode::kInvalidArgument,
                      "plate: no letters or digits"));
  EXPECT_TRUE(IsError(n->VehiclePlate("AB*1234", "LV"), absl::StatusCode::kInvalidArgument,
                      "plate: characters other than"));
  // Cyrillic letters without a Latin look-alike are not plate letters.
  EXPECT_TRUE(IsError(n->VehiclePlate("Ж 1234", "BG"), absl::StatusCode::kInvalidArgument,
                      "plate: characters other than"));
}

}  // namespace
}  // namespace liaison::endpoint::linkage
