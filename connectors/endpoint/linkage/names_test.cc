// Names with dates of birth (ICU) and e-mail addresses.
#include <string>
#include <vector>

#include "base/testing/status_matchers.h"
#include "connectors/endpoint/linkage/normalize.h"
#include "gtest/gtest.h"

namespace liaison::endpoint::linkage {
namespace {

using liaison::testing::IsError;

std::unique_ptr<Normalizer> Make(const std::string& region, const std::string& language) {
  auto n = Normalizer::Create({.default_region = region, .name_language = language});
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *std::move(n) : nullptr;
}

struct Spelling {
  Spelling(const char* n, const char* l = "") : name(n), language(l) {}  // NOLINT: tables
  std::string name;
  std::string language;  // "" = the endpoint's default
};

void ExpectAllMeet(const Normalizer& n, const std::string& canonical,
                   const std::vector<Spelling>& spellings, const std::string& dob = "1990-02-28") {
  for (const Spelling& s : spellings) {
    auto v = n.NameDob(s.name, dob, s.language);
    ASSERT_TRUE(v.ok()) << s.name << ": " << v.status();
    EXPECT_EQ(v->value(), canonical) << s.name << " (" << s.language << ")";
    EXPECT_EQ(v->kind(), IdentifierKind::kNameDob);
  }
}

TEST(NameDob, LatvianDiacriticsMatchTheirPlainSpelling) {
  auto n = Make("LV", "lv");
  ExpectAllMeet(*n, "berzins girts|1990-02-28",
                {{"Ģirts Bērziņš"},
                 {"BĒRZIŅŠ, Ģirts"},
                 {"Girts Berzins"},
                 {"GIRTS  BERZINS"},
                 {"Ｇｉｒｔｓ Berzins"}});  // full-width letters fold under NFKC
}

TEST(NameDob, RomanianCommaBelowAndCedillaFormsMatch) {
  auto n = Make("RO", "ro");
  // U+0218/U+021A (comma below, correct) and U+015E/U+0162 (cedilla, legacy).
  ExpectAllMeet(*n, "stefan tepes|1990-02-28",
                {{"\u0218tefan \u021Aepe\u0219"},
                 {"\u015Etefan \u0162epe\u015F"},
                 {"Stefan Tepes"},
                 {"ȚEPEȘ Ștefan"}});
}

TEST(NameDob, BulgarianCyrillicMatchesTheBulgarianOfficialLatin) {
  auto n = Make("BG", "bg");
  // Transliteration Act 2009: х = h, ч = ch, щ = sht, ъ = a, й = y, -ия = -ia.
  ExpectAllMeet(*n, "hristo stoichkov|1990-02-28",
                {{"Христо Стоичков"}, {"СТОИЧКОВ Христо"}, {"Hristo Stoichkov"}});
  ExpectAllMeet(*n, "danov petar|1990-02-28", {{"Петър Дънов"}, {"Petar Danov"}});
  ExpectAllMeet(*n, "shterev yordan zhechev|1990-02-28",
                {{"Йордан Щерев Жечев"}, {"Yordan Shterev Zhechev"}});
  ExpectAllMeet(*n, "maria tsvetkova|1990-02-28", {{"Мария Цветкова"}, {"Maria Tsvetkova"}});
  // An endpoint of another country that receives a Bulgarian name in
  // Cyrillic says which system it is in.
  auto lv = Make("LV", "lv");
  ExpectAllMeet(*lv, "hristo stoichkov|1990-02-28", {{"Христо Стоичков", "bg"}});
}

TEST(NameDob, RussianAndUkrainianCyrillicFollowTheirPassportSystems) {
  auto n = Make("LV", "ru");
  ExpectAllMeet(*n, "iurii shchukin|1990-02-28", {{"Юрий Щукин"}, {"Iurii Shchukin"}});
  ExpectAllMeet(*n, "ivanov sergei|1990-02-28", {{"Сергей Иванов"}, {"Иванов Сергей", "ru"}});
  ExpectAllMeet(*n, "hryhorii yevhen zghurskyi|1990-02-28",
                {{"Євген Григорій Згурський", "uk"}, {"Yevhen Hryhorii Zghurskyi"}});
}

TEST(NameDob, OtherScriptsFallBackToAnyLatin) {
  auto n = Make("GR", "");
  // Cyrillic without a language and Greek: ICU Any-Latin, then ASCII.
  ExpectAllMeet(*n, "georgi ivanov|1990-02-28", {{"Георги Иванов"}, {"Georgi Ivanov"}});
  auto v = n->NameDob("Γιώργος Παπαδόπουλος", "1990-02-28");
  ASSERT_TRUE(v.ok()) << v.status();
  // Any-Latin, not ELOT 743: a Greek passport writes "Georgios", which does
  // not meet this form (README.md lists the systems covered).
  EXPECT_EQ(v->value(), "giorgos papadopoulos|1990-02-28");
}

TEST(NameDob, PunctuationApostrophesAndOrder) {
  auto n = Make("GB", "");
  ExpectAllMeet(*n, "jean obrien pierre|1990-02-28",
                {{"Jean-Pierre O'Brien"}, {"O’BRIEN, Jean Pierre"}, {"obrien jean.pierre"}});
  ExpectAllMeet(*n, "mueller strasse|1990-02-28", {{"Straße Mueller"}});
  // Letters without a decomposition go through Latin-ASCII.
  ExpectAllMeet(*n, "lukasz soren|1990-02-28", {{"Łukasz Søren"}, {"Lukasz Soren"}});
  ExpectAllMeet(*n, "aeroe dorde|1990-02-28", {{"Đorđe Ærøe"}, {"Dorde Aeroe"}});
}

TEST(NameDob, DatesOfBirth) {
  auto n = Make("LV", "lv");
  ExpectAllMeet(*n, "anna berzina|2000-02-29", {{"Anna Bērziņa"}}, "2000-02-29");
  ExpectAllMeet(*n, "anna berzina|2000-02-29", {{"Anna Bērziņa"}}, "20000229");
  const std::pair<std::string, std::string> bad[] = {
      {"1990-02-30", "date_of_birth: day does not exist"},
      {"1900-02-29", "day does not exist"},  // 1900 is no leap year
      {"1990-13-01", "month outside 01..12"},
      {"1990-2-3", "not a full date"},
      {"28.02.1990", "not a full date"},
      {"1990", "not a full date"},
      {"1850-01-01", "year outside"},
      {"", "not a full date"},
  };
  for (const auto& [dob, why] : bad) {
    EXPECT_TRUE(IsError(n->NameDob("Anna Bērziņa", dob), absl::StatusCode::kInvalidArgument, why))
        << dob;
  }
}

TEST(NameDob, RefusesWhatIsNoName) {
  auto n = Make("LV", "lv");
  const std::pair<std::string, std::string> bad[] = {
      {"", "name: empty"},
      {" -- ", "name: no letters"},
      {"Agent 007", "name: contains digits"},
      {"\xC3\x28 Bad", "name: not valid UTF-8"},
      {std::string(300, 'a'), "longer than 256"},
  };
  for (const auto& [name, why] : bad) {
    EXPECT_TRUE(IsError(n->NameDob(name, "1990-02-28"), absl::StatusCode::kInvalidArgument, why))
        << why;
  }
  EXPECT_TRUE(IsError(n->NameDob("Anna", "1990-02-28", "bul"), absl::StatusCode::kInvalidArgument,
                      "name.language"));
}

TEST(Email, DomainIsIdnaAndLowerCaseLocalPartIsFolded) {
  auto n = Make("LV", "lv");
  const std::pair<std::string, std::vector<std::string>> cases[] = {
      {"janis.berzins+work@example.lv",
       {"Janis.Berzins+work@Example.LV", "  janis.berzins+work@example.lv. "}},
      {"anna@xn--bcher-kva.example", {"anna@bücher.example", "ANNA@BÜCHER.example"}},
  };
  for (const auto& [canonical, spellings] : cases) {
    for (const std::string& s : spellings) {
      auto v = n->Email(s);
      ASSERT_TRUE(v.ok()) << s << ": " << v.status();
      EXPECT_EQ(v->value(), canonical) << s;
    }
  }
  // Dots and tags are kept: janis.berzins and janisberzins are two mailboxes.
  EXPECT_NE(n->Email("janisberzins@example.lv")->value(),
            n->Email("janis.berzins@example.lv")->value());
  const std::pair<std::string, std::string> bad[] = {
      {"no-at-sign.example.lv", "email: no '@'"},
      {"@example.lv", "empty local part"},
      {"anna@", "empty domain"},
      {"anna@localhost", "domain has no dot"},
      {"an na@example.lv", "local part has a character"},
      {"\"anna\"@example.lv", "quoted local parts"},
      {"anna..b@example.lv", "misplaced dot"},
      {"anna@exa_mple.lv", "not a valid (internationalised) domain"},
      {"anna@[192.0.2.1]", "address literals"},
  };
  for (const auto& [input, why] : bad) {
    EXPECT_TRUE(IsError(n->Email(input), absl::StatusCode::kInvalidArgument, why)) << input;
  }
}

}  // namespace
}  // namespace liaison::endpoint::linkage
