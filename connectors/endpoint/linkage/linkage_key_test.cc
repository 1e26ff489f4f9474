// Linkage key files: the format, the refusals, the file mode.
#include "connectors/endpoint/linkage/linkage_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "base/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace liaison::endpoint::linkage {
namespace {

using liaison::testing::IsError;

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string File(const std::string& epoch, const std::string& key) {
  return "# Liaison network linkage key\nformat liaison-linkage-key/1\nepoch " + epoch + "\nkey " +
         key + "\n";
}

TEST(LinkageKey, ParsesTheFileFormat) {
  auto k = LinkageKey::Parse(File("3", kHex), "k");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->epoch(), 3u);
  ASSERT_EQ(k->bytes().size(), 32u);
  EXPECT_EQ(static_cast<uint8_t>(k->bytes()[31]), 0x1f);
  auto upper = LinkageKey::Parse(
      File("3", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"), "k");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->bytes(), k->bytes());
}

TEST(LinkageKey, RefusesWrongLengthBadEpochAndMalformedFiles) {
  const std::pair<std::string, std::string> cases[] = {
      {File("1", kHex.substr(2)), "k:4: key has 62 hex digits, expected 64"},
      {File("1", kHex + "00"), "key has 66 hex digits"},
      {File("1", "zz" + kHex.substr(2)), "k:4: key is not hexadecimal"},
      {File("0", kHex), "k:3: epoch is not a whole number in 1..1000000"},
      {File("-1", kHex), "epoch is not a whole number"},
      {File("+1", kHex), "epoch is not a whole number"},
      {File("1000001", kHex), "epoch is not a whole number"},
      {File("one", kHex), "epoch is not a whole number"},
      {File("1", std::string(64, '0')), "k: linkage key is all zero bytes"},
      {"epoch 1\nkey " + kHex + "\n", "k: no format line"},
      {"format liaison-linkage-key/1\nkey " + kHex + "\n", "k: no epoch line"},
      {"format liaison-linkage-key/1\nepoch 1\n", "k: no key line"},
      {"format liaison-linkage-key/2\nepoch 1\nkey " + kHex, "k:1: unknown format"},
      {File("1", kHex) + "epoch 2\n", "k:5: epoch given twice"},
      {File("1", kHex) + "colour blue\n", "k:5: unknown field"},
      {File("1", kHex) + "key\n", "k:5: expected 'NAME VALUE'"},
  };
  for (const auto& [text, why] : cases) {
    auto k = LinkageKey::Parse(text, "k");
    EXPECT_TRUE(IsError(k, absl::StatusCode::kInvalidArgument, why)) << why;
    if (!k.ok()) EXPECT_EQ(k.status().message().find(kHex.substr(4, 20)), std::string::npos);
  }
  EXPECT_TRUE(IsError(LinkageKey::FromBytes(1, std::string(31, 'x')),
                      absl::StatusCode::kInvalidArgument, "31 bytes, expected 32"));
  EXPECT_TRUE(IsError(LinkageKey::FromBytes(0, std::string(32, 'x')),
                      absl::StatusCode::kInvalidArgument, "epoch 0 outside"));
}

TEST(LinkageKey, LoadRefusesAKeyOthersMayRead) {
  char dir_template[] = "/tmp/linkage-key-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/epoch-1.key";
  std::ofstream(path) << File("1", kHex);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_TRUE(IsError(LinkageKey::Load(path), absl::StatusCode::kFailedPrecondition,
                      "group or others may access the linkage key (mode 644)"));
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  auto k = LinkageKey::Load(path);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->epoch(), 1u);
  EXPECT_TRUE(IsError(LinkageKey::Load(path + ".missing"), absl::StatusCode::kNotFound));
  unlink(path.c_str());
  rmdir(dir_template);
}

// What the development PKI script writes is what endpoints load.
TEST(LinkageKey, LoadsTheKeysTheDevPkiScriptMints) {
  char dir_template[] = "/tmp/linkage-pki-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = std::string(dir_template) + "/pki";
  const std::string script = LIAISON_MINT_DEV_PKI;
  ASSERT_EQ(std::system(("bash " + script + " init " + dir + " >/dev/null").c_str()), 0);
  ASSERT_EQ(std::system(("bash " + script + " linkage-key " + dir + " >/dev/null").c_str()), 0);
  auto k1 = LinkageKey::Load(dir + "/linkage/epoch-1.key");
  auto k2 = LinkageKey::Load(dir + "/linkage/epoch-2.key");
  ASSERT_TRUE(k1.ok()) << k1.status();
  ASSERT_TRUE(k2.ok()) << k2.status();
  EXPECT_EQ(k1->epoch(), 1u);
  EXPECT_EQ(k2->epoch(), 2u);
  EXPECT_NE(k1->bytes(), k2->bytes());
  std::system(("rm -rf " + std::string(dir_template)).c_str());
}

}  // namespace
}  // namespace liaison::endpoint::linkage
