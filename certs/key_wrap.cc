#include "certs/key_wrap.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/safe_text.h"
#include "base/status_macros.h"
#include "certs/internal/aes_gcm.h"
#include "certs/internal/certificate_impl.h"
#include "certs/internal/evidence_item.h"
#include "certs/internal/ssl_error.h"
#include "certs/internal/ssl_unique_ptr.h"
#include "certs/signature.h"

namespace liaison::certs {

using internal::CheckEvidenceItemId;
using internal::ClearSslErrors;
using internal::Describe;
using internal::EvidenceItemLabel;
using internal::SslError;
using internal::SslUniquePtr;

namespace {

// Layout (certs/README.md, "Evidence key wrap"):
//   magic "LWK" | version 0x01 | n | item id (n) | m | recipient id (m) |
//   fingerprint (32) | ephemeral point (65) | encrypted data key (32) | tag (16)
// The header is everything before the encrypted data key.
constexpr std::string_view kMagic = "LWK\x01";
constexpr size_t kFingerprintBytes = 32;
constexpr size_t kPointBytes = 65;  // uncompressed SEC1: 0x04 || X || Y
constexpr size_t kSealedKeyBytes = kDataKeyBytes + internal::kGcmTagBytes;
constexpr size_t kMinWrappedBytes =
    kMagic.size() + 1 + 1 + 1 + 1 + kFingerprintBytes + kPointBytes + kSealedKeyBytes;
// HKDF info = label || header.
constexpr std::string_view kHkdfLabel = "liaison-evidence-key-wrap-v1";

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("wrapped key: ", internal::Sv(what)));
}

// A wrapped key cut into its fields (views into the input).
struct Parsed {
  std::string_view header;  // what the AAD and the HKDF info cover
  std::string_view item_id;
  std::string_view recipient_id;
  std::string_view fingerprint;  // 32 raw bytes
  std::string_view point;        // 65 bytes
  std::string_view sealed_key;   // 48 bytes
};

absl::StatusOr<Parsed> Parse(std::string_view wrapped) {
  if (wrapped.size() < kMinWrappedBytes) {
    return Malformed(
        absl::StrCat(wrapped.size(), " bytes, a wrapped key has at least ", kMinWrappedBytes));
  }
  if (wrapped.substr(0, 3) != kMagic.substr(0, 3)) {
    return Malformed("does not start with \"LWK\" (not a Liaison wrapped key)");
  }
  if (wrapped[3] != kMagic[3]) {
    return Malformed(absl::StrCat("version ", static_cast<unsigned char>(wrapped[3]),
                                  " is not supported (only 1)"));
  }
  Parsed p;
  size_t at = kMagic.size();
  const auto n = static_cast<unsigned char>(wrapped[at++]);
  if (n == 0) return Malformed("empty item id");
  // Each length check leaves room for every later fixed-size field.
  if (wrapped.size() < at + n + 1) return Malformed("item id runs past the end");
  p.item_id = wrapped.substr(at, n);
  at += n;
  const auto m = static_cast<unsigned char>(wrapped[at++]);
  if (m == 0) return Malformed("empty recipient id");
  const size_t total = at + m + kFingerprintBytes + kPointBytes + kSealedKeyBytes;
  if (wrapped.size() != total) {
    return Malformed(absl::StrCat(wrapped.size(), " bytes, its id lengths make it ", total));
  }
  p.recipient_id = wrapped.substr(at, m);
  at += m;
  p.fingerprint = wrapped.substr(at, kFingerprintBytes);
  at += kFingerprintBytes;
  p.point = wrapped.substr(at, kPointBytes);
  at += kPointBytes;
  if (static_cast<unsigned char>(p.point[0]) != 0x04) {
    return Malformed("ephemeral key is not an uncompressed P-256 point");
  }
  p.header = wrapped.substr(0, at);
  p.sealed_key = wrapped.substr(at);
  return p;
}

// An EC P-256 public key from its uncompressed encoding; InvalidArgument if
// the point is not on the curve.
absl::StatusOr<SslUniquePtr<EVP_PKEY>> PointToKey(std::string_view point) {
  SslUniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "EVP_PKEY_fromdata_init");
  }
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<char*>(point.data()),
                                        point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1 || key == nullptr) {
    ClearSslErrors();
    return Malformed("ephemeral key is not a point on P-256");
  }
  return SslUniquePtr<EVP_PKEY>(key);
}

// The uncompressed encoding of an EC P-256 public key.
absl::StatusOr<std::string> KeyToPoint(EVP_PKEY* key) {
  std::string point(kPointBytes, '\0');
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      reinterpret_cast<unsigned char*>(point.data()), point.size(),
                                      &len) != 1 ||
      len != kPointBytes || point[0] != '\x04') {
    return SslError(absl::StatusCode::kInternal, "cannot encode the ephemeral P-256 key");
  }
  return point;
}

// The key-encryption key: HKDF-SHA256(IKM = ECDH(private, peer) x-coordinate,
// no salt, info = label || header, 32 bytes). InvalidArgument if the peer
// key fails OpenSSL's public key check.
absl::StatusOr<std::string> DeriveKek(EVP_PKEY* private_key, EVP_PKEY* peer,
                                      std::string_view header) {
  SslUniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, private_key, nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "ECDH: EVP_PKEY_derive_init");
  }
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, /*validate_peer=*/1) != 1) {
    ClearSslErrors();
    return Malformed("ephemeral key fails the P-256 public key check");
  }
  std::array<unsigned char, 32> shared{};
  size_t shared_len = shared.size();
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &shared_len) != 1 || shared_len != shared.size()) {
    return SslError(absl::StatusCode::kInternal, "ECDH: EVP_PKEY_derive");
  }

  std::string info(kHkdfLabel);
  info.append(header);
  SslUniquePtr<EVP_KDF> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  SslUniquePtr<EVP_KDF_CTX> kctx(kdf != nullptr ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (kctx == nullptr) {
    OPENSSL_cleanse(shared.data(), shared.size());
    return SslError(absl::StatusCode::kInternal, "HKDF: cannot fetch the KDF");
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared.data(), shared.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  std::string kek(32, '\0');
  const int ok =
      EVP_KDF_derive(kctx.get(), reinterpret_cast<unsigned char*>(kek.data()), kek.size(), params);
  OPENSSL_cleanse(shared.data(), shared.size());
  if (ok != 1) return SslError(absl::StatusCode::kInternal, "HKDF: EVP_KDF_derive");
  return kek;
}

// The KEK is used once (a fresh ephemeral key per wrap), so the nonce is fixed.
constexpr internal::GcmNonce kZeroNonce{};

}  // namespace

absl::StatusOr<WrappedKeyHeader> ParseWrappedKey(std::string_view wrapped) {
  LIAISON_ASSIGN_OR_RETURN(Parsed p, Parse(wrapped));
  return WrappedKeyHeader{std::string(p.item_id), std::string(p.recipient_id),
                          HexEncode(p.fingerprint)};
}

absl::StatusOr<std::string> WrapDataKey(const DataKey& key, std::string_view item_id,
                                        std::string_view recipient_id,
                                        const Certificate& recipient_cert, const TrustStore& trust,
                                        absl::Time now) {
  LIAISON_RETURN_IF_ERROR(CheckEvidenceItemId(item_id));
  LIAISON_ASSIGN_OR_RETURN(Identity identity,
                           trust.Validate(recipient_cert, Role::kEndpointEncryption, now));
  if (identity.id != recipient_id) {
    return absl::PermissionDeniedError(absl::StrCat(Describe(recipient_cert),
                                                    " is not the encryption certificate of ",
                                                    SafeText(recipient_id)));
  }
  // Validate checked the key is EC P-256; the id fits one length byte (a CN
  // is at most 64 characters).
  if (identity.id.size() > 255) {
    return absl::InvalidArgumentError("recipient id longer than 255 bytes");
  }

  SslUniquePtr<EVP_PKEY> ephemeral(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (ephemeral == nullptr) return SslError(absl::StatusCode::kInternal, "ephemeral P-256 key");
  LIAISON_ASSIGN_OR_RETURN(std::string point, KeyToPoint(ephemeral.get()));

  std::string wrapped(kMagic);
  wrapped.push_back(static_cast<char>(item_id.size()));
  wrapped.append(item_id);
  wrapped.push_back(static_cast<char>(identity.id.size()));
  wrapped.append(identity.id);
  wrapped.append(Sha256(recipient_cert.der()));
  wrapped.append(point);
  const std::string header = wrapped;

  LIAISON_ASSIGN_OR_RETURN(
      std::string kek, DeriveKek(ephemeral.get(), recipient_cert.impl().public_key.get(), header));
  absl::StatusOr<SslUniquePtr<EVP_CIPHER_CTX>> ctx =
      internal::NewGcmContext(kek, internal::GcmDirection::kSeal);
  OPENSSL_cleanse(kek.data(), kek.size());
  if (!ctx.ok()) return ctx.status();
  LIAISON_ASSIGN_OR_RETURN(std::string sealed,
                           internal::GcmSeal(ctx->get(), kZeroNonce, header, key.bytes()));
  wrapped.append(sealed);
  return wrapped;
}

// ---------------------------------------------------------------- RecipientKey

struct RecipientKey::Impl {
  Impl(SslUniquePtr<EVP_PKEY> k, Certificate c)
      : key(std::move(k)), cert(std::move(c)), fingerprint(Sha256(cert.der())) {}
  const SslUniquePtr<EVP_PKEY> key;
  const Certificate cert;
  const std::string fingerprint;  // raw SHA-256 of the certificate's DER
};

namespace {

absl::StatusOr<std::unique_ptr<RecipientKey::Impl>> MakeRecipientKey(std::string_view key_pem,
                                                                     absl::string_view key_label,
                                                                     std::string_view cert_pem,
                                                                     absl::string_view cert_label) {
  absl::StatusOr<Certificate> cert = Certificate::FromPem(cert_pem);
  if (!cert.ok()) return internal::Annotate(cert.status(), cert_label);
  absl::Status role = internal::CheckRoleAndUsage(*cert, Role::kEndpointEncryption);
  if (!role.ok()) return internal::Annotate(role, cert_label);
  LIAISON_ASSIGN_OR_RETURN(SslUniquePtr<EVP_PKEY> key,
                           internal::ReadPrivateKeyPem(key_pem, key_label));
  if (!internal::IsEcP256(key.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_label, ": not an EC P-256 key (evidence key agreement is ECDH P-256)"));
  }
  EVP_PKEY* cert_key = cert->impl().public_key.get();
  if (cert_key == nullptr || EVP_PKEY_eq(key.get(), cert_key) != 1) {
    ClearSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat(key_label, " does not match ", cert_label, " (", Describe(*cert), ")"));
  }
  return std::make_unique<RecipientKey::Impl>(std::move(key), *std::move(cert));
}

}  // namespace

absl::StatusOr<RecipientKey> RecipientKey::FromPemFiles(const std::string& key_path,
                                                        const std::string& cert_path) {
  LIAISON_ASSIGN_OR_RETURN(std::string key_pem, liaison::ReadFile(key_path));
  LIAISON_ASSIGN_OR_RETURN(std::string cert_pem, liaison::ReadFile(cert_path));
  absl::StatusOr<std::unique_ptr<Impl>> impl =
      MakeRecipientKey(key_pem, key_path, cert_pem, cert_path);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!impl.ok()) return impl.status();
  return RecipientKey(*std::move(impl));
}

absl::StatusOr<RecipientKey> RecipientKey::FromPem(std::string_view key_pem,
                                                   std::string_view cert_pem) {
  LIAISON_ASSIGN_OR_RETURN(
      std::unique_ptr<Impl> impl,
      MakeRecipientKey(key_pem, "encryption key", cert_pem, "encryption certificate"));
  return RecipientKey(std::move(impl));
}

RecipientKey::RecipientKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecipientKey::RecipientKey(RecipientKey&&) noexcept = default;
RecipientKey& RecipientKey::operator=(RecipientKey&&) noexcept = default;
RecipientKey::~RecipientKey() = default;

const Certificate& RecipientKey::certificate() const { return impl_->cert; }

absl::StatusOr<DataKey> RecipientKey::Unwrap(std::string_view wrapped,
                                             std::string_view item_id) const {
  LIAISON_ASSIGN_OR_RETURN(Parsed p, Parse(wrapped));
  if (p.item_id != item_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wrapped key is for ", EvidenceItemLabel(p.item_id), ", not '", SafeText(item_id), "'"));
  }
  const std::string& own_id = impl_->cert.common_name();
  if (p.recipient_id != own_id || p.fingerprint != impl_->fingerprint) {
    return absl::InvalidArgumentError(
        absl::StrCat("wrapped key is for recipient ", SafeText(p.recipient_id), " (certificate ",
                     HexEncode(p.fingerprint), "), not this key's ", SafeText(own_id),
                     " (certificate ", impl_->cert.fingerprint_hex(), ")"));
  }
  LIAISON_ASSIGN_OR_RETURN(SslUniquePtr<EVP_PKEY> ephemeral, PointToKey(p.point));
  LIAISON_ASSIGN_OR_RETURN(std::string kek, DeriveKek(impl_->key.get(), ephemeral.get(), p.header));
  absl::StatusOr<SslUniquePtr<EVP_CIPHER_CTX>> ctx =
      internal::NewGcmContext(kek, internal::GcmDirection::kOpen);
  OPENSSL_cleanse(kek.data(), kek.size());
  if (!ctx.ok()) return ctx.status();
  LIAISON_ASSIGN_OR_RETURN(std::optional<std::string> key,
                           internal::GcmOpen(ctx->get(), kZeroNonce, p.header, p.sealed_key));
  if (!key.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("wrapped key for ", EvidenceItemLabel(p.item_id), " to ", SafeText(own_id),
                     " does not authenticate: a byte was changed, or it was made for another key"));
  }
  absl::StatusOr<DataKey> data_key = DataKey::FromBytes(*key);
  OPENSSL_cleanse(key->data(), key->size());
  return data_key;
}

}  // namespace liaison::certs
