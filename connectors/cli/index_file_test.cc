// The rows of `liaison index publish`: CSV and JSON parsing with the line of
// each row, and the refusals of BlindRows naming file, line and field but
// never the value.
#include "connectors/cli/index_file.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/endpoint/linkage/blind.h"
#include "gtest/gtest.h"

namespace liaison::cli {
namespace {

namespace lk = endpoint::linkage;

class IndexFile : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = lk::Normalizer::Create({.default_region = "RO", .name_language = "ro"});
    ASSERT_TRUE(n.ok()) << n.status();
    normalizer_ = *std::move(n);
    auto key = lk::LinkageKey::FromBytes(3, std::string(32, '\x5a'));
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<lk::LinkageKey>(*std::move(key));
  }

  absl::StatusOr<std::vector<BlindedRow>> Blind(
      absl::string_view text, std::optional<absl::Duration> expires_in = absl::Hours(24 * 30)) {
    absl::StatusOr<std::vector<IndexRow>> rows = ParseIndexFile(text, "cases.csv");
    if (!rows.ok()) return rows.status();
    return BlindRows(*rows, "cases.csv", *normalizer_, *key_, {now_, expires_in});
  }

  // The message of a refusal, failing the test if `got` is not one.
  template <typename T>
  std::string Refusal(const absl::StatusOr<T>& got) {
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
    return std::string(got.status().message());
  }

  const absl::Time now_ = absl::FromUnixSeconds(1'790'000'000);
  std::unique_ptr<lk::Normalizer> normalizer_;
  std::unique_ptr<lk::LinkageKey> key_;
};

TEST_F(IndexFile, CsvRowsCarryTheirLinesAndBlindLikeTheLibrary) {
  const std::string csv =
      "# cases of the ZZTEST operation\n"
      "case_handle,type,value,country,document_type,date_of_birth,expires_at\n"
      "LNK-RO-0001,iban,RO49 AAAA 1B31 0075 9384 0000,,,,\n"
      "\n"
      "LNK-RO-0001,phone,+40 721 000 111,,,,2026-12-31\n"
      "LNK-RO-0002,name_dob,\"ZZTEST, Ion\",,,1990-02-28,\n"
      "LNK-RO-0002,plate,B 123 ZZT,RO,,,\n"
      "LNK-RO-0003,document,ZZ1234567,RO,P,,\n";
  absl::StatusOr<std::vector<IndexRow>> rows = ParseIndexFile(csv, "cases.csv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 5u);
  EXPECT_EQ((*rows)[0].line, 3);
  EXPECT_EQ((*rows)[1].line, 5);
  EXPECT_EQ((*rows)[2].value, "ZZTEST, Ion") << "a quoted field keeps its comma";
  EXPECT_EQ((*rows)[4].document_type, "P");

  absl::StatusOr<std::vector<BlindedRow>> blinded = Blind(csv);
  ASSERT_TRUE(blinded.ok()) << blinded.status();
  ASSERT_EQ(blinded->size(), 5u);
  const liaison::v1::IndexEntry& iban = (*blinded)[0].entry;
  EXPECT_EQ(iban.type(), liaison::v1::IDENTIFIER_TYPE_IBAN);
  EXPECT_EQ(iban.case_handle(), "LNK-RO-0001");
  EXPECT_EQ(iban.value(),
            lk::Blind(*key_, *normalizer_->Iban("RO49AAAA1B31007593840000")).value_bytes());
  EXPECT_EQ(iban.expires_at().seconds(), absl::ToUnixSeconds(now_ + absl::Hours(24 * 30)));
  EXPECT_EQ((*blinded)[1].entry.expires_at().seconds(),
            absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(2026, 12, 31), absl::UTCTimeZone())))
      << "expires_at of the row wins over --expires-in";
  EXPECT_EQ((*blinded)[2].entry.type(), liaison::v1::IDENTIFIER_TYPE_NAME_DOB);
  EXPECT_EQ((*blinded)[2].entry.value(),
            lk::Blind(*key_, *normalizer_->NameDob("Ion Zztest", "1990-02-28")).value_bytes());
  EXPECT_EQ((*blinded)[3].entry.type(), liaison::v1::IDENTIFIER_TYPE_VEHICLE_PLATE);
  EXPECT_EQ((*blinded)[4].entry.type(), liaison::v1::IDENTIFIER_TYPE_DOC_NUMBER);
  EXPECT_EQ((*blinded)[4].line, 8);
}

TEST_F(IndexFile, JsonRowsCarryTheLineTheirObjectStartsOn) {
  const std::string json = R"([
  {"case_handle": "LNK-RO-0001", "type": "phone", "value": "+40 721 000 111"},
  {
    "case_handle": "LNK-RO-0001",
    "type": "IBAN",
    "value": "RO49AAAA1B31007593840000"
  }
])";
  absl::StatusOr<std::vector<BlindedRow>> blinded = Blind(json);
  ASSERT_TRUE(blinded.ok()) << blinded.status();
  ASSERT_EQ(blinded->size(), 2u);
  EXPECT_EQ((*blinded)[0].line, 2);
  EXPECT_EQ((*blinded)[1].line, 3);
  EXPECT_EQ((*blinded)[1].entry.type(), liaison::v1::IDENTIFIER_TYPE_IBAN);

  const std::string bad = "[\n {\"case_handle\": \"LNK-1\", \"typ\": \"phone\"}\n]";
  EXPECT_EQ(Refusal(ParseIndexFile(bad, "cases.json")),
            "cases.json:2: field 'typ': unknown; did you mean 'type'?");
  EXPECT_TRUE(absl::StartsWith(Refusal(ParseIndexFile("[\n{\"type\": 1,}]", "cases.json")),
                               "cases.json:2: not valid JSON"));
  EXPECT_EQ(Refusal(ParseIndexFile("[\n{\"type\": 1}]", "cases.json")),
            "cases.json:2: type: expected a string");
}

TEST_F(IndexFile, BadRowsAreAllRefusedByLineAndFieldWithoutTheirValues) {
  const std::string csv =
      "case_handle,type,value,country\n"
      "LNK-RO-0001,iban,RO49AAAA1B31007593840000,\n"
      "LNK-RO-0001,phone,+40 721 000 111,\n"
      "LNK-RO-0002,iban,RO48AAAA1B31007593840000,\n"
      "CASE-7,phone,+40 721 000 111,\n"
      "LNK-RO-0003,plate,B123ZZT,\n"
      "LNK-RO-0003,fone,+40 721 000 111,\n"
      "LNK-RO-0003,email,zztest@example.org,RO\n"
      "LNK-RO-0003,document,ZZ1234567,XX\n";
  const std::string why = Refusal(Blind(csv));
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:4: value: iban: checksum")) << why;
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:5: case_handle: must be \"LNK-\"")) << why;
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:6: country: required for type plate")) << why;
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:7: type: unknown 'fone'; did you mean 'phone'?"))
      << why;
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:8: country: not used for type email")) << why;
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:9: document_type: required")) << why;
  EXPECT_TRUE(absl::StrContains(why, "6 of 8 rows refused; nothing was published")) << why;
  EXPECT_FALSE(absl::StrContains(why, "RO48")) << "never the value: " << why;
  EXPECT_FALSE(absl::StrContains(why, "721")) << why;
}

TEST_F(IndexFile, ExpiryIsRequiredAndBounded) {
  const std::string csv =
      "case_handle,type,value,expires_at\n"
      "LNK-RO-0001,phone,+40 721 000 111,\n"
      "LNK-RO-0001,phone,+40 721 000 112,2020-01-01\n"
      "LNK-RO-0001,phone,+40 721 000 113,2099-01-01\n"
      "LNK-RO-0001,phone,+40 721 000 114,next week\n";
  const std::string why = Refusal(Blind(csv, std::nullopt));
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:2: expires_at: missing")) << why;
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:3: expires_at: in the past")) << why;
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:4: expires_at: more than 180 days")) << why;
  EXPECT_TRUE(absl::StrContains(why, "cases.csv:5: expires_at: not an RFC 3339")) << why;
  // No expiry in the whole file: one error, not one per row.
  EXPECT_EQ(Refusal(Blind("case_handle,type,value\nLNK-1,vin,WVWZZZ1JZXW000001\n", std::nullopt)),
            "cases.csv: no expiry: give an expires_at column or --expires-in DAYS (1..180); "
            "nothing was published");
  // A row's other errors come before its expiry's.
  EXPECT_EQ(Refusal(Blind("case_handle,type,value,expires_at\nLNK-1,vin,WVWZZZ,\nLNK-2,vin,"
                          "WVWZZZ1JZXW000001,2026-12-31\n",
                          std::nullopt))
                .substr(0, 19),
            "cases.csv:2: value:");
}

TEST_F(IndexFile, RowsToWithdrawNeedNoExpiry) {
  absl::StatusOr<std::vector<IndexRow>> rows = ParseIndexFile(
      "case_handle,type,value,expires_at\nLNK-1,phone,0721 000 111,\nLNK-1,iban,"
      "RO49AAAA1B31007593840000,2020-01-01\n",
      "cases.csv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  absl::StatusOr<std::vector<BlindedRow>> blinded =
      BlindRows(*rows, "cases.csv", *normalizer_, *key_, {.now = now_, .for_withdrawal = true});
  ASSERT_TRUE(blinded.ok()) << blinded.status();
  ASSERT_EQ(blinded->size(), 2u);
  EXPECT_FALSE((*blinded)[0].entry.has_expires_at());
  EXPECT_EQ((*blinded)[0].entry.value(),
            lk::Blind(*key_, *normalizer_->Phone("+40721000111")).value_bytes());
}

TEST_F(IndexFile, CsvStructureErrorsNameTheLine) {
  EXPECT_EQ(Refusal(ParseIndexFile("case_handle,type,valeu\n", "c.csv")),
            "c.csv:1: column 'valeu': unknown; did you mean 'value'?");
  EXPECT_EQ(Refusal(ParseIndexFile("case_handle,type\n", "c.csv")),
            "c.csv:1: column 'value': missing (the header needs case_handle, type and value)");
  EXPECT_EQ(Refusal(ParseIndexFile("case_handle,type,value,type\n", "c.csv")),
            "c.csv:1: column 'type': given twice");
  EXPECT_EQ(
      Refusal(ParseIndexFile("case_handle,type,value\nLNK-1,name_dob,ZZTEST, Ion\n", "c.csv")),
      "c.csv:2: 4 fields, the header has 3 (quote a field that holds a comma)");
  EXPECT_EQ(Refusal(ParseIndexFile("case_handle,type,value\n\nLNK-1,phone,\"+40 7\n", "c.csv")),
            "c.csv:3: field 3: a quote that is never closed");
  EXPECT_EQ(Refusal(ParseIndexFile("case_handle,type,value\n", "c.csv")), "c.csv: no rows");
  // A quoted field over two lines: the next row's line still counts it.
  absl::StatusOr<std::vector<IndexRow>> rows = ParseIndexFile(
      "case_handle,type,value\r\nLNK-1,name_dob,\"ZZTEST\nIon\"\r\nLNK-2,phone,1\r\n", "c.csv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].line, 4);
}

// `link query` files: type and value (and the extra columns), no handle or
// expiry; blinded like the index's entries, so equal identifiers match.
TEST_F(IndexFile, QueryRowsBlindLikeTheIndexAndKeepWhatWasTyped) {
  const std::string csv =
      "type,value,country,date_of_birth\n"
      "iban,RO49 AAAA 1B31 0075 9384 0000,,\n"
      "phone,0721 000 111,,\n"
      "plate,B 123 ZZT,RO,\n"
      "name_dob,\"ZZTEST, Ion\",,1990-02-28\n";
  absl::StatusOr<std::vector<IndexRow>> rows =
      ParseIndexFile(csv, "ids.csv", IdentifierFileUse::kQuery);
  ASSERT_TRUE(rows.ok()) << rows.status();
  absl::StatusOr<std::vector<QueryRow>> query =
      BlindQueryRows(*rows, "ids.csv", *normalizer_, *key_);
  ASSERT_TRUE(query.ok()) << query.status();
  ASSERT_EQ(query->size(), 4u);
  const QueryRow& iban = (*query)[0];
  EXPECT_EQ(iban.line, 2);
  EXPECT_EQ(iban.type, "iban");
  EXPECT_EQ(iban.typed, "RO49 AAAA 1B31 0075 9384 0000");
  EXPECT_EQ(iban.identifier.type(), liaison::v1::IDENTIFIER_TYPE_IBAN);
  EXPECT_EQ(iban.identifier.scheme(), "HMAC-SHA256/epoch-3");
  // The same 32 bytes `index publish` stores for this IBAN.
  absl::StatusOr<std::vector<BlindedRow>> published =
      Blind("case_handle,type,value\nLNK-RO-0001,iban,RO49AAAA1B31007593840000\n");
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(iban.identifier.value(), (*published)[0].entry.value());
  EXPECT_EQ((*query)[1].identifier.value(),
            lk::Blind(*key_, *normalizer_->Phone("+40721000111")).value_bytes());
  EXPECT_EQ((*query)[2].typed, "B 123 ZZT RO");
  EXPECT_EQ((*query)[3].identifier.type(), liaison::v1::IDENTIFIER_TYPE_NAME_DOB);
  EXPECT_EQ((*query)[3].typed, "ZZTEST, Ion 1990-02-28");

  // JSON works the same.
  rows = ParseIndexFile(R"([{"type": "email", "value": "ion.zztest@example.org"}])", "ids.json",
                        IdentifierFileUse::kQuery);
  ASSERT_TRUE(rows.ok()) << rows.status();
  query = BlindQueryRows(*rows, "ids.json", *normalizer_, *key_);
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ((*query)[0].identifier.type(), liaison::v1::IDENTIFIER_TYPE_EMAIL);
}

TEST_F(IndexFile, QueryFilesRefuseHandlesExpiriesNamesAloneAndMoreThanTwenty) {
  EXPECT_EQ(
      Refusal(ParseIndexFile("case_handle,type,value\n", "ids.csv", IdentifierFileUse::kQuery))
          .substr(0, 62),
      "ids.csv:1: column 'case_handle': not part of a query (a query ");
  EXPECT_TRUE(
      absl::StrContains(Refusal(ParseIndexFile(R"([{"type": "vin", "value": "WVWZZZ1JZXW000001",
  "expires_at": "2026-12-31"}])",
                                               "ids.json", IdentifierFileUse::kQuery)),
                        "ids.json:1: field 'expires_at': not part of a query"));
  EXPECT_EQ(Refusal(ParseIndexFile("value\n", "ids.csv", IdentifierFileUse::kQuery)),
            "ids.csv:1: column 'type': missing (the header needs type and value)");

  // A cleartext name cannot even be written: there is no type for a name
  // alone (AC-15 on the endpoint); the bad rows are all named, nothing is
  // blinded.
  absl::StatusOr<std::vector<IndexRow>> rows = ParseIndexFile(
      "type,value\niban,RO49 AAAA 1B31 0075 9384 0000\nname,ZZTEST Ion\n"
      "iban,RO48 AAAA 1B31 0075 9384 0000\nphone,+40 721 000 111\n"
      "phone,0721-000-111\n",
      "ids.csv", IdentifierFileUse::kQuery);
  ASSERT_TRUE(rows.ok()) << rows.status();
  const std::string why = Refusal(BlindQueryRows(*rows, "ids.csv", *normalizer_, *key_));
  EXPECT_TRUE(absl::StrContains(
      why, "ids.csv:3: type: a name alone is never searched or indexed (DP-LINK-01); use name_dob"))
      << why;
  EXPECT_TRUE(absl::StrContains(why, "ids.csv:4: value: iban: checksum (mod 97) fails")) << why;
  EXPECT_TRUE(absl::StrContains(
      why, "ids.csv:6: value: the same identifier as line 5 once normalised; give each"))
      << why;
  EXPECT_TRUE(absl::StrContains(why, "3 of 5 rows refused; nothing was sent")) << why;
  EXPECT_FALSE(absl::StrContains(why, "ZZTEST")) << why;
  EXPECT_FALSE(absl::StrContains(why, "RO48")) << why;

  std::string many = "type,value\n";
  for (int i = 0; i < 21; ++i) absl::StrAppend(&many, "phone,+40 721 000 ", 100 + i, "\n");
  rows = ParseIndexFile(many, "ids.csv", IdentifierFileUse::kQuery);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(Refusal(BlindQueryRows(*rows, "ids.csv", *normalizer_, *key_)),
            "ids.csv: 21 identifiers; a linkage query carries at most 20 (DP-LINK-01): split "
            "them into several queries; nothing was sent");
  rows->pop_back();
  EXPECT_TRUE(BlindQueryRows(*rows, "ids.csv", *normalizer_, *key_).ok());
}

}  // namespace
}  // namespace liaison::cli
