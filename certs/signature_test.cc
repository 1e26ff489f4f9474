#include "certs/signature.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/testing/status_matchers.h"
#include "certs/internal/ssl_unique_ptr.h"
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

constexpr std::string_view kData = "synthetic alert bytes: vehicle plate XX-000-TEST";

absl::StatusOr<std::unique_ptr<Signer>> SignerFor(const std::string& prefix) {
  return Signer::FromPemFiles(prefix + ".key", prefix + ".pem");
}

std::string Flip(std::string s, size_t i) {
  s[i] = static_cast<char>(s[i] ^ 0x01);
  return s;
}

// ------------------------------------------------------------------ Signer

TEST(Signer, SignsAndVerifiesWithEcdsaP256) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto signer, SignerFor(pki.EndpointFile("RO-IGPR", "sign")));
  EXPECT_EQ(signer->algorithm(), KeyAlgorithm::kEcdsaP256);
  EXPECT_EQ(signer->certificate().common_name(), "RO-IGPR");
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string signature, signer->Sign(kData));
  EXPECT_EQ(signature[0], '\x30');  // DER SEQUENCE (r, s)
  EXPECT_LE(signature.size(), 72u);

  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust,
                               TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem"));
  Verifier verifier(trust);
  LIAISON_ASSERT_OK_AND_ASSIGN(Identity identity,
                               verifier.Verify(kData, signature, signer->certificate().der(),
                                               Role::kEndpointSigning, pki.now));
  EXPECT_EQ(identity.id, "RO-IGPR");
  EXPECT_EQ(identity.role, Role::kEndpointSigning);
  EXPECT_EQ(identity.fingerprint_hex, signer->certificate().fingerprint_hex());
}

TEST(Signer, SignsAndVerifiesWithEd25519) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto signer, SignerFor(pki.issued + "/ed25519"));
  EXPECT_EQ(signer->algorithm(), KeyAlgorithm::kEd25519);
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string signature, signer->Sign(kData));
  EXPECT_EQ(signature.size(), 64u);
  // Ed25519 is deterministic.
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string again, signer->Sign(kData));
  EXPECT_EQ(signature, again);

  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust,
                               TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem"));
  Verifier verifier(trust);
  LIAISON_ASSERT_OK_AND_ASSIGN(Identity identity,
                               verifier.Verify(kData, signature, signer->certificate().der(),
                                               Role::kEndpointSigning, pki.now));
  EXPECT_EQ(identity.id, "RO-IGPR");
}

TEST(Signer, SignsEmptyData) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto signer, SignerFor(pki.EndpointFile("GB-NCA", "sign")));
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string signature, signer->Sign(""));
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.dir + "/ca.pem", ""));
  Verifier verifier(trust);
  EXPECT_TRUE(
      verifier.Verify("", signature, signer->certificate().der(), Role::kEndpointSigning, pki.now)
          .ok());
}

TEST(Signer, RejectsKeyThatDoesNotMatchTheCertificate) {
  const auto& pki = SharedTestPki();
  const std::string key = pki.EndpointFile("DE-BKA", "sign.key");
  const std::string cert = pki.EndpointFile("RO-IGPR", "sign.pem");
  EXPECT_TRUE(IsError(Signer::FromPemFiles(key, cert).status(), absl::StatusCode::kInvalidArgument,
                      key + " does not match " + cert + " (certificate CN=RO-IGPR"));
}

TEST(Signer, RejectsKeysOfOtherCurves) {
  const auto& pki = SharedTestPki();
  CustomCertSpec spec{.ou = "endpoint-signing",
                      .cn = "RO-IGPR",
                      .key_usage = "critical,digitalSignature,nonRepudiation",
                      .key_type = "P-384",
                      .not_before = pki.now - absl::Hours(1),
                      .not_after = pki.now + absl::Hours(1)};
  testing::KeyAndCert minted = MintCustomCertificate(pki.dir, spec);
  EXPECT_TRUE(IsError(Signer::FromPem(minted.key_pem, minted.cert_pem).status(),
                      absl::StatusCode::kInvalidArgument, "signing key has an EC key on curve"));
}

TEST(Signer, NamesTheUnreadableKeyFile) {
  const auto& pki = SharedTestPki();
  EXPECT_TRUE(IsError(
      Signer::FromPemFiles(pki.dir + "/nope.key", pki.EndpointFile("RO-IGPR", "sign.pem")).status(),
      absl::StatusCode::kNotFound, pki.dir + "/nope.key"));
  EXPECT_TRUE(IsError(
      Signer::FromPem("garbage", ReadFileOrDie(pki.EndpointFile("RO-IGPR", "sign.pem"))).status(),
      absl::StatusCode::kInvalidArgument, "signing key: not an unencrypted PEM"));
}

TEST(Signer, RejectsEncryptedKeyWithoutAskingForAPassword) {
  const auto& pki = SharedTestPki();
  const std::string plain = ReadFileOrDie(pki.EndpointFile("RO-IGPR", "sign.key"));
  internal::SslUniquePtr<BIO> in(BIO_new_mem_buf(plain.data(), static_cast<int>(plain.size())));
  internal::SslUniquePtr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(key, nullptr);
  internal::SslUniquePtr<BIO> out(BIO_new(BIO_s_mem()));
  char pass[] = "synthetic-passphrase";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0,
                                          nullptr, pass),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  const std::string encrypted(data, static_cast<size_t>(len));
  EXPECT_TRUE(IsError(
      Signer::FromPem(encrypted, ReadFileOrDie(pki.EndpointFile("RO-IGPR", "sign.pem"))).status(),
      absl::StatusCode::kInvalidArgument, "signing key: not an unencrypted PEM private key"));
}

TEST(Signer, Sha256MatchesTheFips180Vector) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Signer, HmacSha256MatchesTheRfc4231Vector) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256("", "x").size(), 32u);
}

TEST(Signer, HexEncodeIsLowerCase) {
  EXPECT_EQ(HexEncode(std::string("\x00\xab\xff\x10", 4)), "00abff10");
  EXPECT_EQ(HexEncode(""), "");
}

// ---------------------------------------------------------------- Verifier

struct Signed {
  std::string signature;
  std::string der;
};

Signed SignWith(const std::string& prefix, std::string_view data) {
  auto signer = SignerFor(prefix);
  if (!signer.ok()) return {};
  auto signature = (*signer)->Sign(data);
  if (!signature.ok()) return {};
  return {*signature, (*signer)->certificate().der()};
}

Verifier MakeVerifier() {
  const auto& pki = SharedTestPki();
  auto trust = TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem");
  return Verifier(trust.ok() ? *trust : nullptr);
}

TEST(Verifier, RejectsTamperedData) {
  const auto& pki = SharedTestPki();
  Verifier verifier = MakeVerifier();
  for (const std::string& prefix : {pki.EndpointFile("RO-IGPR", "sign"), pki.issued + "/ed25519"}) {
    SCOPED_TRACE(prefix);
    const Signed s = SignWith(prefix, kData);
    ASSERT_FALSE(s.signature.empty());
    for (size_t i : {size_t{0}, kData.size() / 2, kData.size() - 1}) {
      EXPECT_TRUE(IsError(verifier
                              .Verify(Flip(std::string(kData), i), s.signature, s.der,
                                      Role::kEndpointSigning, pki.now)
                              .status(),
                          absl::StatusCode::kInvalidArgument, "signature does not verify"));
    }
    EXPECT_TRUE(IsError(
        verifier
            .Verify(std::string(kData) + "x", s.signature, s.der, Role::kEndpointSigning, pki.now)
            .status(),
        absl::StatusCode::kInvalidArgument, "signature does not verify"));
  }
}

TEST(Verifier, RejectsTamperedSignature) {
  const auto& pki = SharedTestPki();
  Verifier verifier = MakeVerifier();
  for (const std::string& prefix : {pki.EndpointFile("RO-IGPR", "sign"), pki.issued + "/ed25519"}) {
    SCOPED_TRACE(prefix);
    const Signed s = SignWith(prefix, kData);
    ASSERT_FALSE(s.signature.empty());
    for (const std::string& bad :
         {Flip(s.signature, s.signature.size() - 1), Flip(s.signature, 8),
          s.signature.substr(0, s.signature.size() - 1), s.signature + '\0', std::string()}) {
      EXPECT_TRUE(
          IsError(verifier.Verify(kData, bad, s.der, Role::kEndpointSigning, pki.now).status(),
                  absl::StatusCode::kInvalidArgument, "signature does not verify"));
    }
  }
}

TEST(Verifier, RejectsSignerThatExpiredAfterItWasCached) {
  const auto& pki = SharedTestPki();
  Verifier verifier = MakeVerifier();
  const Signed s = SignWith(pki.EndpointFile("ES-PN", "sign"), kData);
  LIAISON_ASSERT_OK_AND_ASSIGN(Identity identity, verifier.Verify(kData, s.signature, s.der,
                                                                  Role::kEndpointSigning, pki.now));
  EXPECT_TRUE(
      IsError(verifier.Verify(kData, s.signature, s.der, Role::kEndpointSigning, identity.not_after)
                  .status(),
              absl::StatusCode::kPermissionDenied, "expired at"));
  // ... and earlier than its start it is not valid either, cached or not.
  EXPECT_TRUE(IsError(
      verifier.Verify(kData, s.signature, s.der, Role::kEndpointSigning, pki.now - absl::Hours(48))
          .status(),
      absl::StatusCode::kPermissionDenied, "is not yet valid"));
}

TEST(Verifier, RejectsRevokedSignerEvenWhenCached) {
  const auto& pki = SharedTestPki();
  const std::string ca_pem = ReadFileOrDie(pki.dir + "/ca.pem");
  LIAISON_ASSERT_OK_AND_ASSIGN(Store before,
                               TrustStore::FromPem(ca_pem, pki.crl_before_revocation));
  LIAISON_ASSERT_OK_AND_ASSIGN(Store after,
                               TrustStore::FromPem(ca_pem, ReadFileOrDie(pki.dir + "/crl.pem")));
  const Signed s = SignWith(pki.issued + "/revoked", kData);

  Verifier verifier(before);
  ASSERT_TRUE(verifier.Verify(kData, s.signature, s.der, Role::kEndpointSigning, pki.now).ok());
  ASSERT_TRUE(verifier.Verify(kData, s.signature, s.der, Role::kEndpointSigning, pki.now).ok());

  verifier.SetTrustStore(after);
  EXPECT_EQ(verifier.trust_store(), after);
  EXPECT_TRUE(
      IsError(verifier.Verify(kData, s.signature, s.der, Role::kEndpointSigning, pki.now).status(),
              absl::StatusCode::kPermissionDenied, "is revoked"));
}

// One signer the verifier must refuse for the endpoint-signing role: who
// signs (`signer`, a prefix in the test PKI), whose certificate is attached
// (`certificate`, empty: the signer's), and the status expected.
struct RefusedSigner {
  const char* name;
  std::string (*signer)(const TestPki&);
  std::string (*certificate)(const TestPki&);
  absl::StatusCode code;
  const char* fragment;
};
void PrintTo(const RefusedSigner& r, std::ostream* os) { *os << r.name; }

class VerifierRefuses : public ::testing::TestWithParam<RefusedSigner> {};

TEST_P(VerifierRefuses, TheSigner) {
  const auto& pki = SharedTestPki();
  const RefusedSigner& r = GetParam();
  Verifier verifier = MakeVerifier();
  const Signed s = SignWith(r.signer(pki), kData);
  ASSERT_FALSE(s.signature.empty());
  const std::string der =
      r.certificate == nullptr ? s.der : SignWith(r.certificate(pki), kData).der;
  EXPECT_TRUE(
      IsError(verifier.Verify(kData, s.signature, der, Role::kEndpointSigning, pki.now).status(),
              r.code, r.fragment));
}

INSTANTIATE_TEST_SUITE_P(
    Verifier, VerifierRefuses,
    ::testing::Values(
        RefusedSigner{"SignatureMadeWithAnotherEndpointsKey",
                      [](const TestPki& p) { return p.EndpointFile("DE-BKA", "sign"); },
                      [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "sign"); },
                      absl::StatusCode::kInvalidArgument, "signature does not verify"},
        RefusedSigner{"ExpiredSigner", [](const TestPki& p) { return p.issued + "/expired"; },
                      nullptr, absl::StatusCode::kPermissionDenied,
                      "expired at 2021-01-01T00:00:00Z"},
        RefusedSigner{"NotYetValidSigner", [](const TestPki& p) { return p.issued + "/future"; },
                      nullptr, absl::StatusCode::kPermissionDenied, "is not yet valid"},
        RefusedSigner{"RevokedSigner", [](const TestPki& p) { return p.issued + "/revoked"; },
                      nullptr, absl::StatusCode::kPermissionDenied, "is revoked"},
        RefusedSigner{"SignerFromForeignCa",
                      [](const TestPki& p) { return p.foreign_dir + "/endpoints/RO-IGPR/sign"; },
                      nullptr, absl::StatusCode::kPermissionDenied,
                      "is not issued by the network CA"},
        RefusedSigner{"TlsCertificateUsedForSigning",
                      [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "tls"); }, nullptr,
                      absl::StatusCode::kPermissionDenied,
                      "has role endpoint-tls, expected endpoint-signing"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Verifier, CachedSignerIsNotAcceptedForAnotherRole) {
  const auto& pki = SharedTestPki();
  Verifier verifier = MakeVerifier();
  const Signed s = SignWith(pki.EndpointFile("FR-OCRTEH", "sign"), kData);
  ASSERT_TRUE(verifier.Verify(kData, s.signature, s.der, Role::kEndpointSigning, pki.now).ok());
  EXPECT_TRUE(IsError(
      verifier.Verify(kData, s.signature, s.der, Role::kEndpointTls, pki.now).status(),
      absl::StatusCode::kPermissionDenied, "has role endpoint-signing, expected endpoint-tls"));
}

TEST(Verifier, RejectsGarbageSignerCertificate) {
  const auto& pki = SharedTestPki();
  Verifier verifier = MakeVerifier();
  const Signed s = SignWith(pki.EndpointFile("RO-IGPR", "sign"), kData);
  EXPECT_TRUE(IsError(
      verifier.Verify(kData, s.signature, "\x30\x03garbage", Role::kEndpointSigning, pki.now)
          .status(),
      absl::StatusCode::kInvalidArgument, "signer: certificate: not a DER X.509 certificate"));
  // The last byte lies inside the CA's signature: still DER, no longer signed.
  EXPECT_TRUE(IsError(verifier
                          .Verify(kData, s.signature, Flip(s.der, s.der.size() - 1),
                                  Role::kEndpointSigning, pki.now)
                          .status(),
                      absl::StatusCode::kPermissionDenied, "is not issued by the network CA"));
}

TEST(Verifier, RejectsSignerWithKeyOfAnotherCurve) {
  const auto& pki = SharedTestPki();
  CustomCertSpec spec{.ou = "endpoint-signing",
                      .cn = "RO-IGPR",
                      .key_usage = "critical,digitalSignature,nonRepudiation",
                      .key_type = "P-384",
                      .not_before = pki.now - absl::Hours(1),
                      .not_after = pki.now + absl::Hours(1)};
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPem(MintCustomCertificate(pki.dir, spec).cert_pem));
  Verifier verifier = MakeVerifier();
  EXPECT_TRUE(
      IsError(verifier.Verify(kData, "sig", cert.der(), Role::kEndpointSigning, pki.now).status(),
              absl::StatusCode::kInvalidArgument, "has an EC key on curve secp384r1"));
}

TEST(Verifier, WithoutTrustStoreFailsPrecondition) {
  const auto& pki = SharedTestPki();
  Verifier verifier(nullptr);
  const Signed s = SignWith(pki.EndpointFile("RO-IGPR", "sign"), kData);
  EXPECT_TRUE(
      IsError(verifier.Verify(kData, s.signature, s.der, Role::kEndpointSigning, pki.now).status(),
              absl::StatusCode::kFailedPrecondition, "no trust store"));
}

// ProcessSignatureCounts: one per signature made, one per signature checked
// against a key, valid or not; none for a call refused before the check.
TEST(Verifier, ProcessSignatureCountsCountEachSignAndEachSignatureChecked) {
  const auto& pki = SharedTestPki();
  Verifier verifier = MakeVerifier();  // its CRL revokes issued/revoked
  const SignatureCounts c0 = ProcessSignatureCounts();
  const Signed s = SignWith(pki.EndpointFile("RO-IGPR", "sign"), kData);  // 1 sign
  const Signed e = SignWith(pki.issued + "/ed25519", kData);              // 1 sign
  const Signed r = SignWith(pki.issued + "/revoked", kData);              // 1 sign
  const SignatureCounts c1 = ProcessSignatureCounts();
  EXPECT_EQ(c1.signs - c0.signs, 3);
  EXPECT_EQ(c1.verifies - c0.verifies, 0);

  ASSERT_TRUE(verifier.Verify(kData, s.signature, s.der, Role::kEndpointSigning, pki.now).ok());
  ASSERT_TRUE(verifier.Verify(kData, e.signature, e.der, Role::kEndpointSigning, pki.now).ok());
  EXPECT_FALSE(verifier.Verify("other", s.signature, s.der, Role::kEndpointSigning, pki.now).ok());
  // Refused for the certificate, before any signature is checked.
  EXPECT_TRUE(
      IsError(verifier.Verify(kData, r.signature, r.der, Role::kEndpointSigning, pki.now).status(),
              absl::StatusCode::kPermissionDenied, "revoked"));
  const SignatureCounts c2 = ProcessSignatureCounts();
  EXPECT_EQ(c2.signs - c1.signs, 0);
  EXPECT_EQ(c2.verifies - c1.verifies, 3);
}

TEST(Verifier, TwoThreadsSignAndVerifyWithSharedSignersAndVerifier) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto p256, SignerFor(pki.EndpointFile("MD-IGP", "sign")));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ed25519, SignerFor(pki.issued + "/ed25519"));
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust,
                               TrustStore::Load(pki.dir + "/ca.pem", pki.dir + "/crl.pem"));
  Verifier verifier(trust);
  std::atomic<int> failures{0};
  auto work = [&](int thread) {
    for (int i = 0; i < 200; ++i) {
      const Signer& signer = (i + thread) % 2 == 0 ? *p256 : *ed25519;
      const std::string data = absl::StrCat("synthetic message ", thread, "/", i);
      auto signature = signer.Sign(data);
      if (!signature.ok()) {
        ++failures;
        continue;
      }
      auto identity = verifier.Verify(data, *signature, signer.certificate().der(),
                                      Role::kEndpointSigning, pki.now);
      if (!identity.ok() || identity->id != signer.certificate().common_name()) ++failures;
      // A tampered copy must still fail under concurrency.
      if (verifier
              .Verify(data + "!", *signature, signer.certificate().der(), Role::kEndpointSigning,
                      pki.now)
              .ok()) {
        ++failures;
      }
      if (thread == 0 && i % 50 == 0) verifier.SetTrustStore(trust);
    }
  };
  std::thread a(work, 0);
  std::thread b(work, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace liaison::certs
