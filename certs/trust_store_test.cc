#include "certs/trust_store.h"

#include <cctype>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "base/testing/status_matchers.h"
#include "certs/certificate.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"

namespace liaison::certs {
namespace {

using testing::CustomCertSpec;
using testing::IsError;
using testing::MintCustomCertificate;
using testing::ReadFileOrDie;
using testing::SharedTestPki;
using testing::TestPki;

using Store = std::shared_ptr<const TrustStore>;

TEST(TrustStore, AcceptsEachRoleWithItsOwnCertificate) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust,
                               TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem"));
  struct Case {
    std::string path;
    Role role;
    std::string id;
  };
  const Case cases[] = {
      {pki.EndpointFile("LV-VP", "sign.pem"), Role::kEndpointSigning, "LV-VP"},
      {pki.EndpointFile("LV-VP", "tls.pem"), Role::kEndpointTls, "LV-VP"},
      {pki.EndpointFile("LV-VP", "enc.pem"), Role::kEndpointEncryption, "LV-VP"},
      {pki.dir + "/broker/tls.pem", Role::kBroker, "liaison-broker-1"},
      {pki.dir + "/operators/ops-duty-1/tls.pem", Role::kOperator, "ops-duty-1"},
      {pki.issued + "/ed25519.pem", Role::kEndpointSigning, "RO-IGPR"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPemFile(c.path));
    LIAISON_ASSERT_OK_AND_ASSIGN(Identity identity, trust->Validate(cert, c.role, pki.now));
    EXPECT_EQ(identity.id, c.id);
    EXPECT_EQ(identity.role, c.role);
    EXPECT_EQ(identity.serial_hex, cert.serial_hex());
    EXPECT_EQ(identity.fingerprint_hex, cert.fingerprint_hex());
    EXPECT_EQ(identity.not_after, cert.not_after());
  }
}

TEST(TrustStore, ExpiryIsExactToTheSecond) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.dir + "/ca.pem", ""));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.EndpointFile("SE-NOA", "sign.pem")));
  EXPECT_TRUE(trust->Validate(cert, Role::kEndpointSigning, cert.not_before()).ok());
  EXPECT_TRUE(
      trust->Validate(cert, Role::kEndpointSigning, cert.not_after() - absl::Seconds(1)).ok());
  EXPECT_TRUE(IsError(trust->Validate(cert, Role::kEndpointSigning, cert.not_after()).status(),
                      absl::StatusCode::kPermissionDenied, "expired at"));
  EXPECT_TRUE(IsError(
      trust->Validate(cert, Role::kEndpointSigning, cert.not_before() - absl::Seconds(1)).status(),
      absl::StatusCode::kPermissionDenied, "is not yet valid"));
}

TEST(TrustStore, RejectsCertificatesWhenTheCaItselfHasExpired) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.dir + "/ca.pem", ""));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.issued + "/future.pem"));
  // future.pem is valid 2090..2095, long after the ten-year CA.
  EXPECT_TRUE(
      IsError(trust
                  ->Validate(cert, Role::kEndpointSigning,
                             absl::FromCivil(absl::CivilDay(2091, 1, 1), absl::UTCTimeZone()))
                  .status(),
              absl::StatusCode::kPermissionDenied,
              "network CA certificate CN=Liaison Development Network CA"));
}

// One certificate Validate must refuse at pki.now under the network's CA
// and CRL: which file, for which role, and the error. `names_serial`: the
// message starts "certificate CN=RO-IGPR serial <its serial>".
struct RefusedCertificate {
  const char* name;
  std::string (*file)(const TestPki&);
  Role role;
  bool names_serial;
  const char* fragment;
};
void PrintTo(const RefusedCertificate& r, std::ostream* os) { *os << r.name; }

class TrustStoreRefuses : public ::testing::TestWithParam<RefusedCertificate> {};

TEST_P(TrustStoreRefuses, TheCertificate) {
  const auto& pki = SharedTestPki();
  const RefusedCertificate& r = GetParam();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPemFile(r.file(pki)));
  const std::string expected =
      r.names_serial ? "certificate CN=RO-IGPR serial " + cert.serial_hex() + r.fragment
                     : std::string(r.fragment);
  EXPECT_TRUE(IsError(trust->Validate(cert, r.role, pki.now).status(),
                      absl::StatusCode::kPermissionDenied, expected));
}

INSTANTIATE_TEST_SUITE_P(
    TrustStore, TrustStoreRefuses,
    ::testing::Values(
        RefusedCertificate{
            "CertificateOfForeignCaWithTheSameName",
            [](const TestPki& p) { return p.foreign_dir + "/endpoints/RO-IGPR/sign.pem"; },
            Role::kEndpointSigning, true, " is not issued by the network CA"},
        RefusedCertificate{"ExpiredCertificateNamingWhenItExpired",
                           [](const TestPki& p) { return p.issued + "/expired.pem"; },
                           Role::kEndpointSigning, true, " expired at 2021-01-01T00:00:00Z"},
        RefusedCertificate{
            "NotYetValidCertificate", [](const TestPki& p) { return p.issued + "/future.pem"; },
            Role::kEndpointSigning, false, " is not yet valid (valid from 2090-01-01T00:00:00Z)"},
        RefusedCertificate{"RevokedCertificate",
                           [](const TestPki& p) { return p.issued + "/revoked.pem"; },
                           Role::kEndpointSigning, true, " is revoked"},
        RefusedCertificate{"TlsCertificateUsedForSigning",
                           [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "tls.pem"); },
                           Role::kEndpointSigning, true,
                           " has role endpoint-tls, expected endpoint-signing"},
        RefusedCertificate{"SigningCertificateUsedAsBroker",
                           [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "sign.pem"); },
                           Role::kBroker, false, "has role endpoint-signing, expected broker"},
        RefusedCertificate{"SigningCertificateUsedForEncryption",
                           [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "sign.pem"); },
                           Role::kEndpointEncryption, true,
                           " has role endpoint-signing, expected endpoint-encryption"},
        RefusedCertificate{"TlsCertificateUsedForEncryption",
                           [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "tls.pem"); },
                           Role::kEndpointEncryption, true,
                           " has role endpoint-tls, expected endpoint-encryption"},
        RefusedCertificate{"EncryptionCertificateUsedForSigning",
                           [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "enc.pem"); },
                           Role::kEndpointSigning, true,
                           " has role endpoint-encryption, expected endpoint-signing"},
        RefusedCertificate{"EncryptionCertificateUsedForTls",
                           [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "enc.pem"); },
                           Role::kEndpointTls, true,
                           " has role endpoint-encryption, expected endpoint-tls"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TrustStore, ARevokedCertificatesSerialIsRevoked) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.issued + "/revoked.pem"));
  EXPECT_TRUE(trust->IsRevoked(cert.serial_hex()));
}

TEST(TrustStore, IsRevokedAcceptsAnyHexSpellingOfTheSerial) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust,
                               TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.issued + "/revoked.pem"));
  std::string lower = cert.serial_hex();
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_TRUE(trust->IsRevoked("00" + lower));
  EXPECT_FALSE(trust->IsRevoked("1"));
}

TEST(TrustStore, CrlBeforeTheRevocationRevokesNothing) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store before, TrustStore::FromPem(ReadFileOrDie(pki.dir + "/ca.pem"),
                                                                 pki.crl_before_revocation));
  LIAISON_ASSERT_OK_AND_ASSIGN(Store after,
                               TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.issued + "/revoked.pem"));
  EXPECT_TRUE(before->Validate(cert, Role::kEndpointSigning, pki.now).ok());
  EXPECT_GT(before->crl_number(), 0);
  EXPECT_GT(after->crl_number(), before->crl_number());
}

TEST(TrustStore, WithoutCrlNothingIsRevokedAndCrlNumberIsZero) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust,
                               TrustStore::FromPem(ReadFileOrDie(pki.dir + "/ca.pem"), ""));
  EXPECT_EQ(trust->crl_number(), 0);
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.issued + "/revoked.pem"));
  EXPECT_FALSE(trust->IsRevoked(cert.serial_hex()));
  EXPECT_EQ(trust->ca_pem(), ReadFileOrDie(pki.dir + "/ca.pem"));
}

TEST(TrustStore, RejectsTheCaCertificateAsAHolder) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.dir + "/ca.pem", ""));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate ca, Certificate::FromPemFile(pki.dir + "/ca.pem"));
  EXPECT_TRUE(IsError(trust->Validate(ca, Role::kOperator, pki.now).status(),
                      absl::StatusCode::kPermissionDenied, "is a CA certificate"));
}

// Certificates the script never issues, signed with the real CA key so that
// they pass chain validation and reach the role and usage checks.
TEST(TrustStore, RejectsSigningCertificateWithoutNonRepudiation) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.dir + "/ca.pem", ""));
  CustomCertSpec spec{.ou = "endpoint-signing",
                      .cn = "RO-IGPR",
                      .key_usage = "critical,digitalSignature",
                      .not_before = pki.now - absl::Hours(1),
                      .not_after = pki.now + absl::Hours(1)};
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPem(MintCustomCertificate(pki.dir, spec).cert_pem));
  EXPECT_TRUE(IsError(trust->Validate(cert, Role::kEndpointSigning, pki.now).status(),
                      absl::StatusCode::kPermissionDenied, "key usage lacks nonRepudiation"));
}

TEST(TrustStore, RejectsCertificateWithoutKeyUsage) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.dir + "/ca.pem", ""));
  CustomCertSpec spec{.ou = "operator",
                      .cn = "ops-duty-2",
                      .extended_key_usage = "clientAuth",
                      .not_before = pki.now - absl::Hours(1),
                      .not_after = pki.now + absl::Hours(1)};
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPem(MintCustomCertificate(pki.dir, spec).cert_pem));
  EXPECT_TRUE(IsError(trust->Validate(cert, Role::kOperator, pki.now).status(),
                      absl::StatusCode::kPermissionDenied, "key usage lacks digitalSignature"));
}

TEST(TrustStore, RejectsTlsCertificatesWithoutTheRightExtendedKeyUsage) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.dir + "/ca.pem", ""));
  CustomCertSpec client{.ou = "endpoint-tls",
                        .cn = "RO-IGPR",
                        .key_usage = "critical,digitalSignature",
                        .extended_key_usage = "serverAuth",
                        .not_before = pki.now - absl::Hours(1),
                        .not_after = pki.now + absl::Hours(1)};
  LIAISON_ASSERT_OK_AND_ASSIGN(
      Certificate client_cert,
      Certificate::FromPem(MintCustomCertificate(pki.dir, client).cert_pem));
  EXPECT_TRUE(IsError(trust->Validate(client_cert, Role::kEndpointTls, pki.now).status(),
                      absl::StatusCode::kPermissionDenied, "extended key usage lacks clientAuth"));

  CustomCertSpec server = client;
  server.ou = "broker";
  server.cn = "liaison-broker-9";
  server.extended_key_usage = "clientAuth";
  LIAISON_ASSERT_OK_AND_ASSIGN(
      Certificate server_cert,
      Certificate::FromPem(MintCustomCertificate(pki.dir, server).cert_pem));
  EXPECT_TRUE(IsError(trust->Validate(server_cert, Role::kBroker, pki.now).status(),
                      absl::StatusCode::kPermissionDenied, "extended key usage lacks serverAuth"));
}

TEST(TrustStore, RejectsCertificateWithoutRole) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.dir + "/ca.pem", ""));
  CustomCertSpec spec{.ou = "",
                      .cn = "RO-IGPR",
                      .key_usage = "critical,digitalSignature,nonRepudiation",
                      .not_before = pki.now - absl::Hours(1),
                      .not_after = pki.now + absl::Hours(1)};
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPem(MintCustomCertificate(pki.dir, spec).cert_pem));
  EXPECT_TRUE(IsError(trust->Validate(cert, Role::kEndpointSigning, pki.now).status(),
                      absl::StatusCode::kPermissionDenied, "exactly one CN and one OU"));
}

// OU=endpoint-encryption certificates the script never issues (signed with
// the real CA key, so they reach the usage checks): each lacks one thing an
// encryption certificate needs, or has what it must not.
struct RefusedEncryptionCertificate {
  const char* name = "";
  std::string key_usage = "critical,keyAgreement";
  std::string extended_key_usage = std::string(kEvidenceKeyAgreementOid);
  std::string key_type = "P-256";
  const char* fragment = "";
};
void PrintTo(const RefusedEncryptionCertificate& r, std::ostream* os) { *os << r.name; }

class TrustStoreRefusesEncryption : public ::testing::TestWithParam<RefusedEncryptionCertificate> {
};

TEST_P(TrustStoreRefusesEncryption, TheCertificate) {
  const auto& pki = SharedTestPki();
  const RefusedEncryptionCertificate& r = GetParam();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), ""));
  CustomCertSpec spec{.ou = "endpoint-encryption",
                      .cn = "RO-IGPR",
                      .key_usage = r.key_usage,
                      .extended_key_usage = r.extended_key_usage,
                      .key_type = r.key_type,
                      .not_before = pki.now - absl::Hours(1),
                      .not_after = pki.now + absl::Hours(1)};
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPem(MintCustomCertificate(pki.dir, spec).cert_pem));
  EXPECT_TRUE(IsError(trust->Validate(cert, Role::kEndpointEncryption, pki.now).status(),
                      absl::StatusCode::kPermissionDenied,
                      "certificate CN=RO-IGPR serial " + cert.serial_hex() + r.fragment));
}

INSTANTIATE_TEST_SUITE_P(
    TrustStore, TrustStoreRefusesEncryption,
    ::testing::Values(
        RefusedEncryptionCertificate{.name = "WithoutKeyAgreement",
                                     .key_usage = "critical,keyEncipherment",
                                     .fragment = " key usage lacks keyAgreement"},
        RefusedEncryptionCertificate{.name = "WithoutKeyUsage",
                                     .key_usage = "",
                                     .fragment = " key usage lacks keyAgreement"},
        RefusedEncryptionCertificate{
            .name = "ThatMayAlsoSign",
            .key_usage = "critical,keyAgreement,digitalSignature",
            .fragment = " key usage allows signing (an encryption key must only agree keys)"},
        RefusedEncryptionCertificate{
            .name = "WithoutTheEvidenceKeyAgreementUsage",
            .extended_key_usage = "clientAuth",
            .fragment = " extended key usage lacks Liaison evidence key agreement (2.25."},
        RefusedEncryptionCertificate{
            .name = "WithAP384Key", .key_type = "P-384", .fragment = " has no EC P-256 key"},
        RefusedEncryptionCertificate{
            .name = "WithAnEd25519Key", .key_type = "ED25519", .fragment = " has no EC P-256 key"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TrustStore, RejectsCrlSignedByAnotherCaAtLoad) {
  const auto& pki = SharedTestPki();
  // The foreign CA has the same name as the network CA, so only the CRL
  // signature tells them apart.
  EXPECT_TRUE(IsError(TrustStore::Load(pki.dir + "/ca.pem", pki.foreign_dir + "/crl.pem").status(),
                      absl::StatusCode::kInvalidArgument,
                      pki.foreign_dir +
                          "/crl.pem: CRL signature does not verify against the network "
                          "CA key"));
  EXPECT_TRUE(IsError(TrustStore::FromPem(ReadFileOrDie(pki.dir + "/ca.pem"),
                                          ReadFileOrDie(pki.foreign_dir + "/crl.pem"))
                          .status(),
                      absl::StatusCode::kInvalidArgument, "CRL signature does not verify"));
}

TEST(TrustStore, RejectsMalformedInputNamingTheFile) {
  const auto& pki = SharedTestPki();
  const std::string ca = ReadFileOrDie(pki.dir + "/ca.pem");
  EXPECT_TRUE(IsError(TrustStore::FromPem("garbage", "").status(),
                      absl::StatusCode::kInvalidArgument, "CA certificate"));
  EXPECT_TRUE(IsError(TrustStore::FromPem(ca, "garbage").status(),
                      absl::StatusCode::kInvalidArgument, "CRL: not a PEM CRL"));
  EXPECT_TRUE(IsError(TrustStore::FromPem(ca + ca, "").status(), absl::StatusCode::kInvalidArgument,
                      "holds 2 certificates"));
  // A holder certificate is not a CA.
  EXPECT_TRUE(IsError(TrustStore::Load(pki.EndpointFile("RO-IGPR", "sign.pem"), "").status(),
                      absl::StatusCode::kInvalidArgument, "is not a CA certificate"));
  EXPECT_TRUE(IsError(TrustStore::Load(pki.dir + "/missing.pem", "").status(),
                      absl::StatusCode::kNotFound, pki.dir + "/missing.pem"));
  EXPECT_TRUE(IsError(TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/ca.pem").status(),
                      absl::StatusCode::kInvalidArgument, pki.dir + "/ca.pem: not a PEM CRL"));
}

}  // namespace
}  // namespace liaison::certs
