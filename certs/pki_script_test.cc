// scripts/mint-dev-pki.sh: layout, file modes, idempotence, misuse.
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "base/testing/status_matchers.h"
#include "certs/certificate.h"
#include "certs/internal/certificate_impl.h"
#include "certs/key_wrap.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "gtest/gtest.h"

namespace liaison::certs {
namespace {

using testing::MakeTempDir;
using testing::ReadFileOrDie;
using testing::RunMintScript;
using testing::SharedTestPki;

int Mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

constexpr const char* kEndpoints[] = {"DE-BKA", "NL-NP", "RO-IGPR", "BG-GDNP", "FR-OCRTEH",
                                      "ES-PN",  "LV-VP", "SE-NOA",  "GB-NCA",  "MD-IGP"};

TEST(Pki, InitWritesTheDocumentedLayoutWithPrivateKeys) {
  const auto& pki = SharedTestPki();
  EXPECT_EQ(Mode(pki.dir + "/ca"), 0700);
  EXPECT_EQ(Mode(pki.dir + "/ca/ca.key"), 0600);
  for (const char* f : {"openssl.cnf", "index.txt", "serial", "crlnumber"}) {
    EXPECT_TRUE(std::filesystem::exists(pki.dir + "/ca/" + f)) << f;
  }
  LIAISON_ASSERT_OK_AND_ASSIGN(auto trust,
                               TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate ca, Certificate::FromPemFile(pki.dir + "/ca.pem"));
  EXPECT_EQ(ca.common_name(), "Liaison Development Network CA");
  EXPECT_EQ(ca.not_after() - ca.not_before(), absl::Hours(24 * 3650));

  struct Leaf {
    std::string prefix;
    Role role;
    std::string id;
  };
  std::vector<Leaf> leaves = {
      {pki.dir + "/broker/tls", Role::kBroker, "liaison-broker-1"},
      {pki.dir + "/operators/ops-duty-1/tls", Role::kOperator, "ops-duty-1"}};
  for (const char* id : kEndpoints) {
    leaves.push_back({pki.EndpointFile(id, "tls"), Role::kEndpointTls, id});
    leaves.push_back({pki.EndpointFile(id, "sign"), Role::kEndpointSigning, id});
  }
  for (const Leaf& leaf : leaves) {
    SCOPED_TRACE(leaf.prefix);
    EXPECT_EQ(Mode(leaf.prefix + ".key"), 0600);
    EXPECT_TRUE(absl::StartsWith(ReadFileOrDie(leaf.prefix + ".key"),
                                 "-----BEGIN PRIVATE KEY-----"));  // PKCS#8
    LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPemFile(leaf.prefix + ".pem"));
    LIAISON_ASSERT_OK_AND_ASSIGN(Identity identity, trust->Validate(cert, leaf.role, pki.now));
    EXPECT_EQ(identity.id, leaf.id);
    EXPECT_EQ(cert.not_after() - cert.not_before(), absl::Hours(24 * 730));
    LIAISON_ASSERT_OK_AND_ASSIGN(auto signer,
                                 Signer::FromPemFiles(leaf.prefix + ".key", leaf.prefix + ".pem"));
    EXPECT_EQ(signer->algorithm(), KeyAlgorithm::kEcdsaP256);
  }
  // Encryption certificates agree keys and nothing else; their key pair loads
  // as a recipient key.
  for (const char* id : kEndpoints) {
    SCOPED_TRACE(id);
    const std::string prefix = pki.EndpointFile(id, "enc");
    EXPECT_EQ(Mode(prefix + ".key"), 0600);
    EXPECT_TRUE(absl::StartsWith(ReadFileOrDie(prefix + ".key"), "-----BEGIN PRIVATE KEY-----"));
    LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPemFile(prefix + ".pem"));
    LIAISON_ASSERT_OK_AND_ASSIGN(Identity identity,
                                 trust->Validate(cert, Role::kEndpointEncryption, pki.now));
    EXPECT_EQ(identity.id, id);
    EXPECT_EQ(X509_get_key_usage(cert.impl().x509.get()), static_cast<uint32_t>(KU_KEY_AGREEMENT));
    LIAISON_ASSERT_OK_AND_ASSIGN(RecipientKey key,
                                 RecipientKey::FromPemFiles(prefix + ".key", prefix + ".pem"));
    EXPECT_EQ(key.certificate().fingerprint_hex(), cert.fingerprint_hex());
  }
}

TEST(Pki, BrokerCertificateNamesLocalhost) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.dir + "/broker/tls.pem"));
  X509* x = cert.impl().x509.get();
  EXPECT_EQ(X509_check_host(x, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
  EXPECT_NE(X509_check_host(x, "example.org", 0, 0, nullptr), 1);
}

// The tests below change a PKI, so they mint their own instead of touching
// the shared fixture.
TEST(Pki, InitIsIdempotent) {
  const std::string dir = MakeTempDir() + "/pki";
  const testing::CommandResult first = RunMintScript({"init", dir});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string before = ReadFileOrDie(dir + "/ca.pem");
  const std::string key_before = ReadFileOrDie(dir + "/endpoints/LV-VP/sign.key");
  const testing::CommandResult again = RunMintScript({"init", dir});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(absl::StrContains(again.output, "exists")) << again.output;
  EXPECT_EQ(ReadFileOrDie(dir + "/ca.pem"), before);
  EXPECT_EQ(ReadFileOrDie(dir + "/endpoints/LV-VP/sign.key"), key_before);

  // A PKI from before encryption certificates (here: one endpoint's removed)
  // gains the missing ones and keeps everything else.
  const std::string enc_before = ReadFileOrDie(dir + "/endpoints/LV-VP/enc.key");
  std::filesystem::remove(dir + "/endpoints/NL-NP/enc.pem");
  std::filesystem::remove(dir + "/endpoints/NL-NP/enc.key");
  const testing::CommandResult upgrade = RunMintScript({"init", dir});
  EXPECT_EQ(upgrade.exit_code, 0) << upgrade.output;
  EXPECT_TRUE(absl::StrContains(upgrade.output, "wrote the missing")) << upgrade.output;
  EXPECT_TRUE(absl::StrContains(upgrade.output, "enc.{pem,key} for NL-NP\n")) << upgrade.output;
  EXPECT_EQ(ReadFileOrDie(dir + "/endpoints/LV-VP/enc.key"), enc_before);
  EXPECT_EQ(ReadFileOrDie(dir + "/ca.pem"), before);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto trust, TrustStore::Load(dir + "/ca.pem", dir + "/crl.pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate nl,
                               Certificate::FromPemFile(dir + "/endpoints/NL-NP/enc.pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Identity identity,
                               trust->Validate(nl, Role::kEndpointEncryption, nl.not_before()));
  EXPECT_EQ(identity.id, "NL-NP");
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST(Pki, IssueHonoursSanAndRefusesMisuse) {
  const auto& fixture = SharedTestPki();  // only its foreign CA is used, read-only
  const std::string out = MakeTempDir();
  struct {
    std::string dir;
    std::string foreign_dir;
  } pki{out + "/pki", fixture.foreign_dir};
  ASSERT_EQ(RunMintScript({"init", pki.dir}).exit_code, 0);
  const testing::CommandResult ok = RunMintScript(
      {"issue", pki.dir, "broker", "liaison-broker-2", out + "/b2", "--san", "DNS:broker-2.test"});
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPemFile(out + "/b2.pem"));
  EXPECT_EQ(X509_check_host(cert.impl().x509.get(), "broker-2.test", 0, 0, nullptr), 1);

  struct Misuse {
    std::vector<std::string> args;
    std::string says;
  };
  const Misuse cases[] = {
      {{"issue", pki.dir, "admin", "X", out + "/x"}, "unknown role 'admin'"},
      {{"issue", pki.dir, "operator", "a/b", out + "/x"}, "invalid id"},
      {{"issue", pki.dir, "operator", "X", out + "/x", "--alg", "rsa"}, "unknown --alg"},
      {{"issue", pki.dir, "endpoint-encryption", "X", out + "/x", "--alg", "ed25519"},
       "endpoint-encryption keys are P-256 (ECDH key agreement)"},
      {{"issue", pki.dir, "operator", "X", out + "/x", "--start", "20300101000000Z"},
       "--start and --end go together"},
      {{"issue", pki.dir, "operator", "X", out + "/x", "--start", "2030", "--end",
        "20310101000000Z"},
       "is not YYYYMMDDHHMMSSZ"},
      {{"issue", out, "operator", "X", out + "/x"}, "is not a PKI"},
      {{"revoke", pki.dir, pki.foreign_dir + "/endpoints/RO-IGPR/sign.pem"}, "was not issued by"},
      {{"foreign-ca", pki.dir}, "wants a fresh directory"},
      {{"frobnicate"}, "unknown subcommand"},
  };
  for (const Misuse& m : cases) {
    const testing::CommandResult r = RunMintScript(m.args);
    EXPECT_NE(r.exit_code, 0) << m.says;
    EXPECT_TRUE(absl::StrContains(r.output, m.says)) << r.output;
  }
  std::filesystem::remove_all(out);
}

// `kafka DIR`: the certificates of a local Kafka cluster (deploy/kafka):
// nodes serve TLS for localhost/127.0.0.1, clients only connect; all OU=kafka
// (Kafka maps OU=kafka certificates to User:CN=<cn>), all from the network CA.
TEST(Pki, KafkaIssuesNodeAndClientCertificatesOnce) {
  const std::string root = MakeTempDir();
  const std::string dir = root + "/pki";
  ASSERT_EQ(RunMintScript({"init", dir}).exit_code, 0);
  const testing::CommandResult first = RunMintScript({"kafka", dir});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate ca, Certificate::FromPemFile(dir + "/ca.pem"));
  EVP_PKEY* ca_key = X509_get0_pubkey(ca.impl().x509.get());

  struct Expected {
    const char* id;
    bool node;
  };
  const Expected expected[] = {{"liaison-kafka-1", true}, {"liaison-kafka-2", true},
                               {"liaison-kafka-3", true}, {"liaison-kafka-admin", false},
                               {"liaison-front", false},  {"liaison-policy", false},
                               {"liaison-auditor", false}};
  for (const Expected& e : expected) {
    SCOPED_TRACE(e.id);
    const std::string prefix = dir + "/kafka/" + e.id;
    EXPECT_EQ(Mode(prefix + ".key"), 0600);
    EXPECT_TRUE(absl::StartsWith(ReadFileOrDie(prefix + ".key"), "-----BEGIN PRIVATE KEY-----"));
    LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPemFile(prefix + ".pem"));
    X509* x = cert.impl().x509.get();
    EXPECT_EQ(cert.common_name(), e.id);
    char ou[64] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationalUnitName, ou, sizeof ou);
    EXPECT_STREQ(ou, "kafka");
    EXPECT_EQ(X509_verify(x, ca_key), 1);
    const uint32_t eku = X509_get_extended_key_usage(x);
    EXPECT_TRUE(eku & XKU_SSL_CLIENT);
    EXPECT_EQ((eku & XKU_SSL_SERVER) != 0, e.node);
    EXPECT_EQ(X509_check_ip_asc(x, "127.0.0.1", 0) == 1, e.node);
    EXPECT_EQ(X509_check_host(x, "localhost", 0, 0, nullptr) == 1, e.node);
  }

  const std::string key_before = ReadFileOrDie(dir + "/kafka/liaison-front.key");
  const testing::CommandResult again = RunMintScript({"kafka", dir});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(absl::StrContains(again.output, "leaving them as they are")) << again.output;
  EXPECT_EQ(ReadFileOrDie(dir + "/kafka/liaison-front.key"), key_before);
  EXPECT_NE(RunMintScript({"kafka", root}).exit_code, 0);  // not a PKI
  std::filesystem::remove_all(root);
}

// The network linkage key (connectors/endpoint/linkage/linkage_key.h reads
// it): epoch 1 at init, kept by every later init; `linkage-key` rotates to the
// next epoch and leaves the older ones in place.
TEST(Pki, LinkageKeyIsMintedOnceAndRotationKeepsOlderEpochs) {
  const std::string root = MakeTempDir();
  const std::string dir = root + "/pki";
  ASSERT_EQ(RunMintScript({"init", dir}).exit_code, 0);
  const std::string epoch1 = dir + "/linkage/epoch-1.key";
  EXPECT_EQ(Mode(dir + "/linkage"), 0700);
  EXPECT_EQ(Mode(epoch1), 0600);
  const std::string text = ReadFileOrDie(epoch1);
  EXPECT_TRUE(absl::StrContains(text, "\nformat liaison-linkage-key/1\nepoch 1\nkey ")) << text;
  const size_t key_at = text.find("\nkey ") + 5;
  const std::string hex = text.substr(key_at, text.find('\n', key_at) - key_at);
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;

  ASSERT_EQ(RunMintScript({"init", dir}).exit_code, 0);
  EXPECT_EQ(ReadFileOrDie(epoch1), text);  // init is idempotent for the key too
  const testing::CommandResult rotate = RunMintScript({"linkage-key", dir});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.output;
  EXPECT_TRUE(absl::StrContains(rotate.output, "epoch-2.key")) << rotate.output;
  EXPECT_EQ(ReadFileOrDie(epoch1), text);
  const std::string epoch2 = ReadFileOrDie(dir + "/linkage/epoch-2.key");
  EXPECT_TRUE(absl::StrContains(epoch2, "\nepoch 2\n"));
  EXPECT_NE(epoch2.substr(epoch2.find("\nkey ")), text.substr(text.find("\nkey ")));
  const testing::CommandResult again = RunMintScript({"linkage-key", dir, "--epoch", "2"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(absl::StrContains(again.output, "leaving the linkage key of epoch 2"))
      << again.output;
  EXPECT_EQ(ReadFileOrDie(dir + "/linkage/epoch-2.key"), epoch2);

  for (const char* bad : {"0", "x", "1000001", "01"}) {
    const testing::CommandResult r = RunMintScript({"linkage-key", dir, "--epoch", bad});
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_TRUE(absl::StrContains(r.output, "is not a whole number in 1..1000000")) << r.output;
  }
  EXPECT_NE(RunMintScript({"linkage-key", root}).exit_code, 0);  // not a PKI
  std::filesystem::remove_all(root);
}

TEST(Pki, RevokeIsRepeatableAndKeepsTheSerialListed) {
  const std::string root = MakeTempDir();
  const std::string dir = root + "/pki";
  ASSERT_EQ(RunMintScript({"init", dir}).exit_code, 0);
  const std::string cert_path = dir + "/endpoints/BG-GDNP/sign.pem";
  for (int i = 0; i < 2; ++i) {
    const testing::CommandResult r = RunMintScript({"revoke", dir, cert_path});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(absl::StrContains(r.output, "already revoked"), i == 1) << r.output;
  }
  LIAISON_ASSERT_OK_AND_ASSIGN(auto trust, TrustStore::Load(dir + "/ca.pem", dir + "/crl.pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPemFile(cert_path));
  EXPECT_TRUE(trust->IsRevoked(cert.serial_hex()));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate other,
                               Certificate::FromPemFile(dir + "/endpoints/BG-GDNP/tls.pem"));
  EXPECT_FALSE(trust->IsRevoked(other.serial_hex()));
  std::filesystem::remove_all(root);
}

TEST(Pki, ForeignCaIsUnrelatedButCarriesTheSameName) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate ours, Certificate::FromPemFile(pki.dir + "/ca.pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate theirs,
                               Certificate::FromPemFile(pki.foreign_dir + "/ca.pem"));
  EXPECT_EQ(ours.common_name(), theirs.common_name());
  EXPECT_NE(ours.fingerprint_hex(), theirs.fingerprint_hex());
  // The foreign PKI is self-consistent: its own trust store accepts its certificates.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto foreign_trust, TrustStore::Load(pki.foreign_dir + "/ca.pem",
                                                                    pki.foreign_dir + "/crl.pem"));
  for (auto [file, role] :
       {std::pair{"sign.pem", Role::kEndpointSigning}, std::pair{"tls.pem", Role::kEndpointTls}}) {
    LIAISON_ASSERT_OK_AND_ASSIGN(
        Certificate cert, Certificate::FromPemFile(pki.foreign_dir + "/endpoints/RO-IGPR/" + file));
    EXPECT_TRUE(foreign_trust->Validate(cert, role, pki.now).ok()) << file;
  }
}

}  // namespace
}  // namespace liaison::certs
