// Wrapping data keys per recipient (key_wrap.h) with the test PKI's
// endpoint-encryption certificates: round trips, and every refusal on both
// sides, including wrapped keys whose clear header was rewritten.
#include "certs/key_wrap.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/testing/status_matchers.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"

namespace liaison::certs {
namespace {

using testing::CustomCertSpec;
using testing::IsError;
using testing::MintCustomCertificate;
using testing::SharedTestPki;
using testing::TestPki;

using Store = std::shared_ptr<const TrustStore>;

Certificate EncryptionCert(const TestPki& pki, const std::string& id) {
  absl::StatusOr<Certificate> cert = Certificate::FromPemFile(pki.EndpointFile(id, "enc.pem"));
  EXPECT_TRUE(cert.ok()) << cert.status();
  return *std::move(cert);
}

RecipientKey KeyOf(const TestPki& pki, const std::string& id) {
  absl::StatusOr<RecipientKey> key =
      RecipientKey::FromPemFiles(pki.EndpointFile(id, "enc.key"), pki.EndpointFile(id, "enc.pem"));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

// Re-encodes a wrapped key with another clear header (item id, recipient id
// and fingerprint), keeping its ephemeral point and sealed data key: what an
// attacker who can write the key topic can do.
std::string Relabel(const std::string& wrapped, const std::string& item_id,
                    const std::string& recipient_id, const std::string& fingerprint_raw) {
  const size_t n = static_cast<unsigned char>(wrapped[4]);
  const size_t m = static_cast<unsigned char>(wrapped[5 + n]);
  const std::string tail = wrapped.substr(6 + n + m + 32);  // point || sealed key || tag
  std::string out = wrapped.substr(0, 4);
  out.push_back(static_cast<char>(item_id.size()));
  out += item_id;
  out.push_back(static_cast<char>(recipient_id.size()));
  out += recipient_id;
  out += fingerprint_raw;
  out += tail;
  return out;
}

TEST(KeyWrap, RoundTripsForEachRecipient) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  for (const std::string id : {"RO-IGPR", "DE-BKA", "NL-NP", "FR-OCRTEH"}) {
    SCOPED_TRACE(id);
    const Certificate cert = EncryptionCert(pki, id);
    LIAISON_ASSERT_OK_AND_ASSIGN(std::string wrapped,
                                 WrapDataKey(key, "ITEM-1", id, cert, *trust, pki.now));
    // 4 magic + 1 + 6 item id + 1 + id + 32 fingerprint + 65 point + 32 key + 16 tag.
    EXPECT_EQ(wrapped.size(), 4 + 1 + 6 + 1 + id.size() + 32 + 65 + 32 + 16);
    LIAISON_ASSERT_OK_AND_ASSIGN(WrappedKeyHeader header, ParseWrappedKey(wrapped));
    EXPECT_EQ(header.item_id, "ITEM-1");
    EXPECT_EQ(header.recipient_id, id);
    EXPECT_EQ(header.recipient_fingerprint_hex, cert.fingerprint_hex());
    LIAISON_ASSERT_OK_AND_ASSIGN(DataKey unwrapped, KeyOf(pki, id).Unwrap(wrapped, "ITEM-1"));
    EXPECT_EQ(unwrapped.bytes(), key.bytes());
  }
}

TEST(KeyWrap, EveryWrapUsesAFreshEphemeralKey) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  const Certificate cert = EncryptionCert(pki, "NL-NP");
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string a,
                               WrapDataKey(key, "ITEM-1", "NL-NP", cert, *trust, pki.now));
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string b,
                               WrapDataKey(key, "ITEM-1", "NL-NP", cert, *trust, pki.now));
  EXPECT_NE(a, b);
}

// The wrap format of certs/README.md, opened again from the text with raw
// OpenSSL calls (an auditor's re-implementation): the data key, or "" if
// any step fails.
std::string ReferenceUnwrap(const std::string& wrapped, const std::string& key_pem) {
  const size_t n = static_cast<unsigned char>(wrapped[4]);
  const size_t m = static_cast<unsigned char>(wrapped[5 + n]);
  const size_t header_len = 103 + n + m;
  if (wrapped.size() != 151 + n + m) return "";
  const std::string header = wrapped.substr(0, header_len);
  std::string point = wrapped.substr(38 + n + m, 65);
  std::string ciphertext = wrapped.substr(header_len, 32);
  std::string tag = wrapped.substr(header_len + 32, 16);

  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* own = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_PKEY_CTX* from = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  char group[] = "P-256";
  OSSL_PARAM point_params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* ephemeral = nullptr;
  EVP_PKEY_fromdata_init(from);
  EVP_PKEY_fromdata(from, &ephemeral, EVP_PKEY_PUBLIC_KEY, point_params);
  EVP_PKEY_CTX_free(from);

  unsigned char z[32];
  size_t z_len = sizeof z;
  EVP_PKEY_CTX* ecdh = EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr);
  const bool agreed = EVP_PKEY_derive_init(ecdh) == 1 &&
                      EVP_PKEY_derive_set_peer(ecdh, ephemeral) == 1 &&
                      EVP_PKEY_derive(ecdh, z, &z_len) == 1 && z_len == 32;
  EVP_PKEY_CTX_free(ecdh);
  EVP_PKEY_free(ephemeral);
  EVP_PKEY_free(own);
  if (!agreed) return "";

  std::string info = "liaison-evidence-key-wrap-v1" + header;
  char digest[] = "SHA256";
  OSSL_PARAM hkdf_params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, sizeof z),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  unsigned char kek[32];
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
  const bool derived = EVP_KDF_derive(kctx, kek, sizeof kek, hkdf_params) == 1;
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  if (!derived) return "";

  const unsigned char nonce[12] = {};
  std::string key(32, '\0');
  int len = 0;
  EVP_CIPHER_CTX* gcm = EVP_CIPHER_CTX_new();
  const bool opened =
      EVP_DecryptInit_ex(gcm, EVP_aes_256_gcm(), nullptr, kek, nonce) == 1 &&
      EVP_DecryptUpdate(gcm, nullptr, &len, reinterpret_cast<const unsigned char*>(header.data()),
                        static_cast<int>(header.size())) == 1 &&
      EVP_DecryptUpdate(gcm, reinterpret_cast<unsigned char*>(key.data()), &len,
                        reinterpret_cast<const unsigned char*>(ciphertext.data()), 32) == 1 &&
      EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(gcm, reinterpret_cast<unsigned char*>(key.data()) + len, &len) == 1;
  EVP_CIPHER_CTX_free(gcm);
  return opened ? key : "";
}

TEST(KeyWrap, WrappedKeysAreTheDocumentedFormat) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  const Certificate cert = EncryptionCert(pki, "SE-NOA");
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string wrapped,
                               WrapDataKey(key, "ITEM-42", "SE-NOA", cert, *trust, pki.now));
  EXPECT_EQ(wrapped.substr(0, 4), std::string("LWK\x01", 4));
  EXPECT_EQ(wrapped.substr(4, 8), std::string("\x07ITEM-42", 8));
  EXPECT_EQ(wrapped.substr(12, 7), std::string("\x06SE-NOA", 7));
  EXPECT_EQ(wrapped.substr(19, 32), Sha256(cert.der()));
  EXPECT_EQ(wrapped[51], '\x04');  // the uncompressed ephemeral point
  const std::string key_pem = testing::ReadFileOrDie(pki.EndpointFile("SE-NOA", "enc.key"));
  EXPECT_EQ(ReferenceUnwrap(wrapped, key_pem), key.bytes());
  // And the reference refuses what the library refuses: another recipient's key.
  EXPECT_EQ(ReferenceUnwrap(wrapped, testing::ReadFileOrDie(pki.EndpointFile("DE-BKA", "enc.key"))),
            "");
}

// ---------------------------------------------------------------- unwrap refusals

// A key wrapped for RO-IGPR, item ITEM-1, then possibly changed, unwrapped
// by `unwrapper` for `item_id`.
struct RefusedUnwrap {
  const char* name = "";
  const char* unwrapper = "RO-IGPR";
  const char* item_id = "ITEM-1";
  std::string (*change)(const TestPki& pki, const std::string& wrapped) =
      [](const TestPki&, const std::string& w) { return w; };
  const char* error = "";
};
void PrintTo(const RefusedUnwrap& r, std::ostream* os) { *os << r.name; }

class KeyWrapRefusesUnwrap : public ::testing::TestWithParam<RefusedUnwrap> {};

TEST_P(KeyWrapRefusesUnwrap, TheWrappedKey) {
  const auto& pki = SharedTestPki();
  const RefusedUnwrap& r = GetParam();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  LIAISON_ASSERT_OK_AND_ASSIGN(
      std::string wrapped,
      WrapDataKey(key, "ITEM-1", "RO-IGPR", EncryptionCert(pki, "RO-IGPR"), *trust, pki.now));
  const RecipientKey unwrapper = KeyOf(pki, r.unwrapper);
  std::string error = r.error;
  // "<ro>" and "<de>" stand for the fingerprints of RO-IGPR's and DE-BKA's
  // encryption certificates.
  for (const auto& [mark, id] : {std::pair{"<ro>", "RO-IGPR"}, std::pair{"<de>", "DE-BKA"}}) {
    if (size_t at = error.find(mark); at != std::string::npos) {
      error.replace(at, 4, EncryptionCert(pki, id).fingerprint_hex());
    }
  }
  EXPECT_TRUE(IsError(unwrapper.Unwrap(r.change(pki, wrapped), r.item_id),
                      absl::StatusCode::kInvalidArgument, error));
}

INSTANTIATE_TEST_SUITE_P(
    KeyWrap, KeyWrapRefusesUnwrap,
    ::testing::Values(
        RefusedUnwrap{.name = "AnotherRecipientsKey",
                      .unwrapper = "DE-BKA",
                      .error = "wrapped key is for recipient RO-IGPR (certificate <ro>), not this "
                               "key's DE-BKA (certificate <de>)"},
        RefusedUnwrap{.name = "AnotherItem",
                      .item_id = "ITEM-2",
                      .error = "wrapped key is for evidence item 'ITEM-1', not 'ITEM-2'"},
        RefusedUnwrap{.name = "FlippedBitOfTheSealedDataKey",
                      .change =
                          [](const TestPki&, const std::string& w) {
                            std::string t = w;
                            t[t.size() - 20] ^= 0x01;
                            return t;
                          },
                      .error = "wrapped key for evidence item 'ITEM-1' to RO-IGPR does not "
                               "authenticate"},
        RefusedUnwrap{.name = "FlippedBitOfTheTag",
                      .change =
                          [](const TestPki&, const std::string& w) {
                            std::string t = w;
                            t.back() ^= 0x40;
                            return t;
                          },
                      .error = "wrapped key for evidence item 'ITEM-1' to RO-IGPR does not "
                               "authenticate"},
        RefusedUnwrap{.name = "EphemeralPointOffTheCurve",
                      .change =
                          [](const TestPki&, const std::string& w) {
                            std::string t = w;
                            t[t.size() - 48 - 30] ^= 0x01;  // a byte of the point's X
                            return t;
                          },
                      .error = "wrapped key: ephemeral key is not a point on P-256"},
        // The clear header is bound into the key derivation and the tag:
        // rewriting it to another item or recipient does not open.
        RefusedUnwrap{.name = "HeaderRewrittenToAnotherItem",
                      .item_id = "ITEM-2",
                      .change =
                          [](const TestPki& pki, const std::string& w) {
                            return Relabel(w, "ITEM-2", "RO-IGPR",
                                           Sha256(EncryptionCert(pki, "RO-IGPR").der()));
                          },
                      .error = "wrapped key for evidence item 'ITEM-2' to RO-IGPR does not "
                               "authenticate"},
        RefusedUnwrap{.name = "HeaderRewrittenToAnotherRecipient",
                      .unwrapper = "DE-BKA",
                      .change =
                          [](const TestPki& pki, const std::string& w) {
                            return Relabel(w, "ITEM-1", "DE-BKA",
                                           Sha256(EncryptionCert(pki, "DE-BKA").der()));
                          },
                      .error = "wrapped key for evidence item 'ITEM-1' to DE-BKA does not "
                               "authenticate"},
        RefusedUnwrap{.name = "Truncated",
                      .change = [](const TestPki&,
                                   const std::string& w) { return w.substr(0, w.size() - 1); },
                      .error = "wrapped key: 163 bytes, its id lengths make it 164"},
        RefusedUnwrap{.name = "NotAWrappedKey",
                      .change = [](const TestPki&,
                                   const std::string& w) { return std::string(w.size(), 'x'); },
                      .error = "wrapped key: does not start with \"LWK\""},
        RefusedUnwrap{.name = "UnknownVersion",
                      .change =
                          [](const TestPki&, const std::string& w) {
                            std::string t = w;
                            t[3] = 2;
                            return t;
                          },
                      .error = "wrapped key: version 2 is not supported (only 1)"},
        RefusedUnwrap{
            .name = "TooShort",
            .change = [](const TestPki&, const std::string&) { return std::string("LWK\x01", 4); },
            .error = "wrapped key: 4 bytes, a wrapped key has at least 153"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------- wrap refusals

// Wrapping for RO-IGPR with the certificate `file` returns, which must fail.
struct RefusedWrap {
  const char* name = "";
  std::string (*file)(const TestPki& pki) = nullptr;
  const char* recipient_id = "RO-IGPR";
  const char* item_id = "ITEM-1";
  absl::StatusCode code = absl::StatusCode::kPermissionDenied;
  const char* error = "";
};
void PrintTo(const RefusedWrap& r, std::ostream* os) { *os << r.name; }

class KeyWrapRefusesWrap : public ::testing::TestWithParam<RefusedWrap> {};

TEST_P(KeyWrapRefusesWrap, TheRecipient) {
  const auto& pki = SharedTestPki();
  const RefusedWrap& r = GetParam();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert, Certificate::FromPemFile(r.file(pki)));
  EXPECT_TRUE(
      IsError(WrapDataKey(key, r.item_id, r.recipient_id, cert, *trust, pki.now), r.code, r.error));
}

INSTANTIATE_TEST_SUITE_P(
    KeyWrap, KeyWrapRefusesWrap,
    ::testing::Values(
        RefusedWrap{.name = "SigningCertificateInsteadOfEncryption",
                    .file = [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "sign.pem"); },
                    .error = "has role endpoint-signing, expected endpoint-encryption"},
        RefusedWrap{.name = "TlsCertificateInsteadOfEncryption",
                    .file = [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "tls.pem"); },
                    .error = "has role endpoint-tls, expected endpoint-encryption"},
        RefusedWrap{
            .name = "CertificateOfAForeignCa",
            .file = [](const TestPki& p) { return p.foreign_dir + "/endpoints/RO-IGPR/sign.pem"; },
            .error = "is not issued by the network CA"},
        RefusedWrap{.name = "EmptyItemId",
                    .file = [](const TestPki& p) { return p.EndpointFile("RO-IGPR", "enc.pem"); },
                    .item_id = "",
                    .code = absl::StatusCode::kInvalidArgument,
                    .error = "evidence item id is empty"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(KeyWrap, RefusesACertificateOfAnotherEndpointNamingBoth) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  const Certificate de = EncryptionCert(pki, "DE-BKA");
  EXPECT_TRUE(IsError(WrapDataKey(key, "ITEM-1", "RO-IGPR", de, *trust, pki.now),
                      absl::StatusCode::kPermissionDenied,
                      absl::StrCat("certificate CN=DE-BKA serial ", de.serial_hex(),
                                   " is not the encryption certificate of RO-IGPR")));
}

TEST(KeyWrap, RefusesAnExpiredEncryptionCertificate) {
  const auto& pki = SharedTestPki();
  LIAISON_ASSERT_OK_AND_ASSIGN(Store trust, TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  CustomCertSpec spec{.ou = "endpoint-encryption",
                      .cn = "RO-IGPR",
                      .key_usage = "critical,keyAgreement",
                      .extended_key_usage = std::string(kEvidenceKeyAgreementOid),
                      .not_before = pki.now - absl::Hours(48),
                      .not_after = pki.now - absl::Hours(24)};
  LIAISON_ASSERT_OK_AND_ASSIGN(Certificate cert,
                               Certificate::FromPem(MintCustomCertificate(pki.dir, spec).cert_pem));
  EXPECT_TRUE(IsError(WrapDataKey(key, "ITEM-1", "RO-IGPR", cert, *trust, pki.now),
                      absl::StatusCode::kPermissionDenied, " expired at "));
}

// ---------------------------------------------------------------- RecipientKey

TEST(KeyWrap, RecipientKeyRefusesOtherKeysAndCertificates) {
  const auto& pki = SharedTestPki();
  // The signing key pair of the same endpoint is not an encryption key.
  EXPECT_TRUE(IsError(RecipientKey::FromPemFiles(pki.EndpointFile("RO-IGPR", "sign.key"),
                                                 pki.EndpointFile("RO-IGPR", "sign.pem")),
                      absl::StatusCode::kPermissionDenied,
                      "has role endpoint-signing, expected endpoint-encryption"));
  EXPECT_TRUE(IsError(RecipientKey::FromPemFiles(pki.EndpointFile("DE-BKA", "enc.key"),
                                                 pki.EndpointFile("RO-IGPR", "enc.pem")),
                      absl::StatusCode::kInvalidArgument,
                      pki.EndpointFile("DE-BKA", "enc.key") + " does not match"));
  EXPECT_TRUE(IsError(RecipientKey::FromPemFiles(pki.issued + "/ed25519.key",
                                                 pki.EndpointFile("RO-IGPR", "enc.pem")),
                      absl::StatusCode::kInvalidArgument, "not an EC P-256 key"));
  EXPECT_TRUE(IsError(
      RecipientKey::FromPemFiles(pki.dir + "/missing.key", pki.EndpointFile("RO-IGPR", "enc.pem")),
      absl::StatusCode::kNotFound, pki.dir + "/missing.key"));
  LIAISON_ASSERT_OK_AND_ASSIGN(
      RecipientKey key,
      RecipientKey::FromPem(testing::ReadFileOrDie(pki.EndpointFile("LV-VP", "enc.key")),
                            testing::ReadFileOrDie(pki.EndpointFile("LV-VP", "enc.pem"))));
  EXPECT_EQ(key.certificate().common_name(), "LV-VP");
}

}  // namespace
}  // namespace liaison::certs
