#include "certs/certificate.h"

#include <string>

#include "absl/time/time.h"
#include "base/testing/status_matchers.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"

namespace liaison::certs {
namespace {

using testing::IsError;
using testing::ReadFileOrDie;
using testing::SharedTestPki;

TEST(Certificate, ReadsSubjectSerialAndValidityFromPemFile) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.issued + "/expired.pem"));
  EXPECT_EQ(cert.common_name(), "RO-IGPR");
  EXPECT_EQ(cert.organizational_unit(), "endpoint-signing");
  EXPECT_EQ(cert.not_before(), absl::FromCivil(absl::CivilDay(2020, 1, 1), absl::UTCTimeZone()));
  EXPECT_EQ(cert.not_after(), absl::FromCivil(absl::CivilDay(2021, 1, 1), absl::UTCTimeZone()));
  // The script's serials count up from 1000 (hex), upper-case, no leading zeros.
  EXPECT_FALSE(cert.serial_hex().empty());
  EXPECT_NE(cert.serial_hex().front(), '0');
  EXPECT_EQ(cert.serial_hex().find_first_not_of("0123456789ABCDEF"), std::string::npos);
}

TEST(Certificate, DerAndPemRoundTripKeepTheFingerprint) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.EndpointFile("RO-IGPR", "sign.pem")));
  EXPECT_EQ(cert.fingerprint_hex(), HexEncode(Sha256(cert.der())));
  EXPECT_EQ(cert.fingerprint_hex().size(), 64u);
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate from_der, Certificate::FromDer(cert.der()));
  EXPECT_EQ(from_der.fingerprint_hex(), cert.fingerprint_hex());
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate from_pem, Certificate::FromPem(cert.pem()));
  EXPECT_EQ(from_pem.der(), cert.der());
}

TEST(Certificate, FromPemReadsTheFirstCertificateOfABundle) {
  const auto& pki = SharedTestPki();
  const std::string bundle = ReadFileOrDie(pki.EndpointFile("DE-BKA", "sign.pem")) +
                             ReadFileOrDie(pki.EndpointFile("NL-NP", "sign.pem"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPem(bundle));
  EXPECT_EQ(cert.common_name(), "DE-BKA");
}

TEST(Certificate, RejectsGarbageDer) {
  EXPECT_TRUE(IsError(Certificate::FromDer("not a certificate").status(),
                      absl::StatusCode::kInvalidArgument, "not a DER X.509 certificate"));
  EXPECT_TRUE(
      IsError(Certificate::FromDer("").status(), absl::StatusCode::kInvalidArgument, "empty"));
}

TEST(Certificate, RejectsTruncatedDerAndTrailingBytes) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPemFile(pki.EndpointFile("RO-IGPR", "sign.pem")));
  const std::string& der = cert.der();
  EXPECT_TRUE(IsError(Certificate::FromDer(der.substr(0, der.size() - 1)).status(),
                      absl::StatusCode::kInvalidArgument, "certificate"));
  EXPECT_TRUE(IsError(Certificate::FromDer(der + "x").status(), absl::StatusCode::kInvalidArgument,
                      "trailing bytes"));
}

TEST(Certificate, RejectsPemWithoutCertificate) {
  EXPECT_TRUE(IsError(Certificate::FromPem("hello").status(), absl::StatusCode::kInvalidArgument,
                      "no PEM certificate"));
  const auto& pki = SharedTestPki();
  // A private key is not a certificate.
  const std::string key = ReadFileOrDie(pki.EndpointFile("RO-IGPR", "sign.key"));
  EXPECT_TRUE(IsError(Certificate::FromPem(key).status(), absl::StatusCode::kInvalidArgument,
                      "no PEM certificate"));
}

TEST(Certificate, FromPemFileNamesTheMissingFile) {
  EXPECT_TRUE(IsError(Certificate::FromPemFile("/nonexistent/liaison/x.pem").status(),
                      absl::StatusCode::kNotFound, "/nonexistent/liaison/x.pem"));
}

TEST(Certificate, RoleNamesAreTheOrganizationalUnits) {
  struct Case {
    Role role;
    std::string_view ou;
  };
  const Case cases[] = {{Role::kEndpointTls, "endpoint-tls"},
                        {Role::kEndpointSigning, "endpoint-signing"},
                        {Role::kEndpointEncryption, "endpoint-encryption"},
                        {Role::kBroker, "broker"},
                        {Role::kOperator, "operator"}};
  for (const Case& c : cases) EXPECT_EQ(RoleName(c.role), c.ou);
}

}  // namespace
}  // namespace liaison::certs
