#include "certs/envelope.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"

namespace liaison::certs {
namespace {

using testing::SharedTestPki;
using testing::IsError;

// Synthetic content only; the marker lets tests check it never reaches an
// error message.
constexpr char kSecretMarker[] = "SYNTHETIC-CASE-7Q";

std::string MessageBytes(const std::string& sender) {
  liaison::v1::Message message;
  message.mutable_header()->set_message_id("01890000-0000-7000-8000-000000000001");
  message.mutable_header()->set_kind(liaison::v1::KIND_ALERT);
  message.mutable_header()->set_sender(sender);
  message.mutable_header()->add_recipients("NL-NP");
  message.mutable_header()->set_case_ref(kSecretMarker);
  return message.SerializeAsString();
}

struct Fixture {
  std::unique_ptr<Signer> signer;
  std::unique_ptr<Verifier> verifier;
};

Fixture Make(const std::string& signer_prefix) {
  const auto& pki = SharedTestPki();
  Fixture f;
  auto signer = Signer::FromPemFiles(signer_prefix + ".key", signer_prefix + ".pem");
  if (signer.ok()) f.signer = *std::move(signer);
  auto trust = TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem");
  f.verifier = std::make_unique<Verifier>(trust.ok() ? *trust : nullptr);
  return f;
}

TEST(Envelope, SignedEnvelopeVerifiesAndParses) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(f.signer, nullptr);
  const std::string bytes = MessageBytes("RO-IGPR");
  LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::SignedEnvelope envelope, SignEnvelope(bytes, *f.signer));
  EXPECT_EQ(envelope.message(), bytes);
  EXPECT_EQ(envelope.signer_certificate(), f.signer->certificate().der());
  EXPECT_FALSE(envelope.signature().empty());

  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedEnvelope verified,
                       VerifyEnvelope(envelope, *f.verifier, pki.now));
  EXPECT_EQ(verified.signer().id, "RO-IGPR");
  EXPECT_EQ(verified.message().header().sender(), "RO-IGPR");
  EXPECT_EQ(verified.message().header().case_ref(), kSecretMarker);
  EXPECT_EQ(verified.envelope().message(), bytes);
  liaison::v1::SignedEnvelope taken = std::move(verified).TakeEnvelope();
  EXPECT_EQ(taken.message(), bytes);
}

TEST(Envelope, Ed25519SignedEnvelopeVerifies) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.issued + "/ed25519");
  ASSERT_NE(f.signer, nullptr);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, SignEnvelope(MessageBytes("RO-IGPR"), *f.signer));
  EXPECT_TRUE(VerifyEnvelope(envelope, *f.verifier, pki.now).ok());
}

TEST(Envelope, RejectsSenderOtherThanTheSignerWithoutQuotingIt) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(f.signer, nullptr);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, SignEnvelope(MessageBytes("DE-BKA"), *f.signer));
  const absl::Status status = VerifyEnvelope(envelope, *f.verifier, pki.now).status();
  EXPECT_TRUE(IsError(status, absl::StatusCode::kPermissionDenied,
                       "message.header.sender does not name the signer (certificate CN=RO-IGPR)"));
  EXPECT_FALSE(absl::StrContains(status.message(), "DE-BKA"));
  EXPECT_FALSE(absl::StrContains(status.message(), kSecretMarker));
}

TEST(Envelope, RejectsMessageWithoutHeaderAsSenderMismatch) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(f.signer, nullptr);
  liaison::v1::Message no_header;
  no_header.mutable_linkage_query()->set_case_ref(kSecretMarker);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, SignEnvelope(no_header.SerializeAsString(), *f.signer));
  EXPECT_TRUE(IsError(VerifyEnvelope(envelope, *f.verifier, pki.now).status(),
                       absl::StatusCode::kPermissionDenied, "message.header.sender"));
}

TEST(Envelope, RejectsUnparsableMessageBytesAfterTheSignatureVerified) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(f.signer, nullptr);
  // Field 1 (header) claims 16 bytes, 5 follow.
  const std::string bytes = std::string("\x0a\x10", 2) + "SYNTH";
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, SignEnvelope(bytes, *f.signer));
  const absl::Status status = VerifyEnvelope(envelope, *f.verifier, pki.now).status();
  EXPECT_TRUE(IsError(status, absl::StatusCode::kInvalidArgument,
                       "message: not a valid liaison.v1.Message"));
  EXPECT_FALSE(absl::StrContains(status.message(), "SYNTH"));
}

TEST(Envelope, NamesTheEmptyField) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(f.signer, nullptr);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto good, SignEnvelope(MessageBytes("RO-IGPR"), *f.signer));

  auto without_message = good;
  without_message.clear_message();
  EXPECT_TRUE(IsError(VerifyEnvelope(without_message, *f.verifier, pki.now).status(),
                       absl::StatusCode::kInvalidArgument, "envelope.message is empty"));
  auto without_signature = good;
  without_signature.clear_signature();
  EXPECT_TRUE(IsError(VerifyEnvelope(without_signature, *f.verifier, pki.now).status(),
                       absl::StatusCode::kInvalidArgument, "envelope.signature is empty"));
  auto without_certificate = good;
  without_certificate.clear_signer_certificate();
  EXPECT_TRUE(IsError(VerifyEnvelope(without_certificate, *f.verifier, pki.now).status(),
                       absl::StatusCode::kInvalidArgument, "envelope.signer_certificate is empty"));
}

TEST(Envelope, RejectsTamperedMessageBytes) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(f.signer, nullptr);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, SignEnvelope(MessageBytes("RO-IGPR"), *f.signer));
  std::string* bytes = envelope.mutable_message();
  (*bytes)[bytes->size() - 1] ^= 0x01;
  const absl::Status status = VerifyEnvelope(envelope, *f.verifier, pki.now).status();
  EXPECT_TRUE(IsError(status, absl::StatusCode::kInvalidArgument, "signature does not verify"));
  EXPECT_FALSE(absl::StrContains(status.message(), kSecretMarker));
}

TEST(Envelope, RejectsEnvelopeSignedWithTlsCertificate) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "tls"));
  ASSERT_NE(f.signer, nullptr);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, SignEnvelope(MessageBytes("RO-IGPR"), *f.signer));
  EXPECT_TRUE(IsError(VerifyEnvelope(envelope, *f.verifier, pki.now).status(),
                       absl::StatusCode::kPermissionDenied,
                       "has role endpoint-tls, expected endpoint-signing"));
}

TEST(Envelope, RejectsEnvelopeOfRevokedSigner) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.issued + "/revoked");
  ASSERT_NE(f.signer, nullptr);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, SignEnvelope(MessageBytes("RO-IGPR"), *f.signer));
  EXPECT_TRUE(IsError(VerifyEnvelope(envelope, *f.verifier, pki.now).status(),
                       absl::StatusCode::kPermissionDenied, "is revoked"));
}

TEST(Envelope, SignEnvelopeRefusesEmptyMessage) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(f.signer, nullptr);
  EXPECT_TRUE(IsError(SignEnvelope("", *f.signer).status(), absl::StatusCode::kInvalidArgument,
                       "message bytes are empty"));
}

}  // namespace
}  // namespace liaison::certs
