// Blinding: known answers computed with the openssl CLI, domain separation,
// epochs.
#include "connectors/endpoint/linkage/blind.h"

#include <string>

#include "certs/signature.h"
#include "connectors/endpoint/linkage/normalize.h"
#include "gtest/gtest.h"

namespace liaison::endpoint::linkage {
namespace {

std::string Key(uint8_t first) {
  std::string k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<char>(first + i));
  return k;
}

TEST(Blind, HmacSha256KnownAnswerOfRfc4231) {
  // RFC 4231 test case 2 through the certs function blinding uses.
  EXPECT_EQ(certs::HexEncode(certs::HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Blind, KnownAnswersOverTheDomainSeparatedInput) {
  // printf 'liaison-linkage/v1\nPHONE\n+37120123456' |
  //   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f
  auto n = Normalizer::Create({.default_region = "LV", .name_language = ""});
  ASSERT_TRUE(n.ok()) << n.status();
  auto key = LinkageKey::FromBytes(7, Key(0));
  ASSERT_TRUE(key.ok()) << key.status();
  auto phone = (*n)->Phone("20 123 456");
  ASSERT_TRUE(phone.ok());
  EXPECT_EQ(BlindingInput(*phone), "liaison-linkage/v1\nPHONE\n+37120123456");
  const BlindedValue b = Blind(*key, *phone);
  EXPECT_EQ(certs::HexEncode(b.value_bytes()),
            "0333c30bd013b08f282cf015c586fe58e7cb00262e2eabd4443eda09d54a9a41");
  EXPECT_EQ(b.epoch, 7u);
  EXPECT_EQ(b.kind, IdentifierKind::kPhone);
  auto iban = (*n)->Iban("LV80 BANK 0000 4351 9500 1");
  ASSERT_TRUE(iban.ok());
  EXPECT_EQ(certs::HexEncode(Blind(*key, *iban).value_bytes()),
            "000a9a25ae41c733dff2a382661d4a8318836798d4086dd8013a88c9c80b5f0b");
  EXPECT_EQ(key->scheme(), "HMAC-SHA256/epoch-7");
}

TEST(Blind, KindsNeverCollideOnTheSameString) {
  // One string that is a canonical value of three kinds at once.
  auto n = Normalizer::Create({.default_region = "LV", .name_language = ""});
  ASSERT_TRUE(n.ok());
  auto key = LinkageKey::FromBytes(1, Key(1));
  ASSERT_TRUE(key.ok());
  auto vin = (*n)->Vin("11111111111111111");
  auto doc = (*n)->TravelDocument("LVA", "P", "11111111111111111");
  auto plate = (*n)->VehiclePlate("111111111111111", "LV");
  ASSERT_TRUE(vin.ok() && doc.ok() && plate.ok());
  EXPECT_NE(Blind(*key, *vin).value, Blind(*key, *doc).value);
  EXPECT_NE(Blind(*key, *vin).value, Blind(*key, *plate).value);
  EXPECT_NE(BlindingInput(*vin), BlindingInput(*doc));
}

TEST(Blind, SameIdentifierMeetsAcrossEndpointsAndDiffersAcrossEpochsAndKeys) {
  auto lv = Normalizer::Create({.default_region = "LV", .name_language = ""});
  auto ro = Normalizer::Create({.default_region = "RO", .name_language = ""});
  ASSERT_TRUE(lv.ok() && ro.ok());
  auto e1 = LinkageKey::FromBytes(1, Key(0));
  auto e2 = LinkageKey::FromBytes(2, Key(100));
  ASSERT_TRUE(e1.ok() && e2.ok());
  // LV writes the Latvian number nationally, RO with its international prefix.
  auto a = (*lv)->Phone("20123456");
  auto b = (*ro)->Phone("00371 20 12 34 56");
  ASSERT_TRUE(a.ok() && b.ok()) << b.status();
  EXPECT_EQ(Blind(*e1, *a).value, Blind(*e1, *b).value);
  EXPECT_NE(Blind(*e1, *a).value, Blind(*e2, *a).value);
}

}  // namespace
}  // namespace liaison::endpoint::linkage
