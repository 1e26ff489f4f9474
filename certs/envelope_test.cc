#include "certs/envelope.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"

namespace liaison::certs {
namespace {

using testing::IsError;
using testing::SharedTestPki;

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
  LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::SignedEnvelope envelope,
                               SignEnvelope(bytes, *f.signer));
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

// One envelope VerifyEnvelope must refuse: who signs (`signer`, a prefix in
// the test PKI), which message bytes, what changes after signing, the status
// expected, and what its message must not quote (payload, other ids).
struct RefusedEnvelope {
  const char* name;
  std::string (*signer)(const testing::TestPki&);
  std::string (*bytes)();
  void (*tamper)(liaison::v1::SignedEnvelope&);
  absl::StatusCode code;
  const char* fragment;
  std::vector<std::string> never_quoted;
};
void PrintTo(const RefusedEnvelope& r, std::ostream* os) { *os << r.name; }

std::string RoSign(const testing::TestPki& p) { return p.EndpointFile("RO-IGPR", "sign"); }
std::string FromRo() { return MessageBytes("RO-IGPR"); }

class EnvelopeRefused : public ::testing::TestWithParam<RefusedEnvelope> {};

TEST_P(EnvelopeRefused, WithTheExactStatus) {
  const auto& pki = SharedTestPki();
  const RefusedEnvelope& r = GetParam();
  Fixture f = Make(r.signer(pki));
  ASSERT_NE(f.signer, nullptr);
  LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::SignedEnvelope envelope,
                               SignEnvelope(r.bytes(), *f.signer));
  if (r.tamper != nullptr) r.tamper(envelope);
  const absl::Status status = VerifyEnvelope(envelope, *f.verifier, pki.now).status();
  EXPECT_TRUE(IsError(status, r.code, r.fragment));
  for (const std::string& secret : r.never_quoted) {
    EXPECT_FALSE(absl::StrContains(status.message(), secret)) << secret;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Envelope, EnvelopeRefused,
    ::testing::Values(
        RefusedEnvelope{"SenderOtherThanTheSignerWithoutQuotingIt",
                        RoSign,
                        [] { return MessageBytes("DE-BKA"); },
                        nullptr,
                        absl::StatusCode::kPermissionDenied,
                        "message.header.sender does not name the signer (certificate CN=RO-IGPR)",
                        {"DE-BKA", kSecretMarker}},
        RefusedEnvelope{"MessageWithoutHeaderAsSenderMismatch",
                        RoSign,
                        [] {
                          liaison::v1::Message no_header;
                          no_header.mutable_linkage_query()->set_case_ref(kSecretMarker);
                          return no_header.SerializeAsString();
                        },
                        nullptr,
                        absl::StatusCode::kPermissionDenied,
                        "message.header.sender",
                        {kSecretMarker}},
        // Field 1 (header) claims 16 bytes, 5 follow.
        RefusedEnvelope{"UnparsableMessageBytesAfterTheSignatureVerified",
                        RoSign,
                        [] { return std::string("\x0a\x10", 2) + "SYNTH"; },
                        nullptr,
                        absl::StatusCode::kInvalidArgument,
                        "message: not a valid liaison.v1.Message",
                        {"SYNTH"}},
        RefusedEnvelope{"EmptyMessage",
                        RoSign,
                        FromRo,
                        [](liaison::v1::SignedEnvelope& e) { e.clear_message(); },
                        absl::StatusCode::kInvalidArgument,
                        "envelope.message is empty",
                        {}},
        RefusedEnvelope{"EmptySignature",
                        RoSign,
                        FromRo,
                        [](liaison::v1::SignedEnvelope& e) { e.clear_signature(); },
                        absl::StatusCode::kInvalidArgument,
                        "envelope.signature is empty",
                        {}},
        RefusedEnvelope{"EmptySignerCertificate",
                        RoSign,
                        FromRo,
                        [](liaison::v1::SignedEnvelope& e) { e.clear_signer_certificate(); },
                        absl::StatusCode::kInvalidArgument,
                        "envelope.signer_certificate is empty",
                        {}},
        RefusedEnvelope{"TamperedMessageBytes",
                        RoSign,
                        FromRo,
                        [](liaison::v1::SignedEnvelope& e) {
                          std::string* bytes = e.mutable_message();
                          (*bytes)[bytes->size() - 1] ^= 0x01;
                        },
                        absl::StatusCode::kInvalidArgument,
                        "signature does not verify",
                        {kSecretMarker}},
        RefusedEnvelope{"SignedWithTlsCertificate",
                        [](const testing::TestPki& p) { return p.EndpointFile("RO-IGPR", "tls"); },
                        FromRo,
                        nullptr,
                        absl::StatusCode::kPermissionDenied,
                        "has role endpoint-tls, expected endpoint-signing",
                        {}},
        RefusedEnvelope{"SignedByARevokedSigner",
                        [](const testing::TestPki& p) { return p.issued + "/revoked"; },
                        FromRo,
                        nullptr,
                        absl::StatusCode::kPermissionDenied,
                        "is revoked",
                        {}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Envelope, SignEnvelopeRefusesEmptyMessage) {
  const auto& pki = SharedTestPki();
  Fixture f = Make(pki.EndpointFile("RO-IGPR", "sign"));
  ASSERT_NE(f.signer, nullptr);
  EXPECT_TRUE(IsError(SignEnvelope("", *f.signer).status(), absl::StatusCode::kInvalidArgument,
                      "message bytes are empty"));
}

}  // namespace
}  // namespace liaison::certs
