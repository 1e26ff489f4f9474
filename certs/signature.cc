#include "certs/signature.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/file.h"
#include "base/status_macros.h"
#include "certs/internal/certificate_impl.h"
#include "certs/internal/ssl_error.h"
#include "certs/internal/ssl_unique_ptr.h"

namespace liaison::certs {

using internal::ClearSslErrors;
using internal::Describe;
using internal::SslError;
using internal::SslUniquePtr;

namespace {

// Bounds the verifier cache. The network has tens of endpoints, each with a
// couple of live certificates; the bound only matters against misuse.
constexpr size_t kMaxCachedCertificates = 4096;

// ProcessSignatureCounts. Relaxed: counters, not synchronisation.
std::atomic<int64_t> g_signs{0};
std::atomic<int64_t> g_verifies{0};

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// SHA-256, fetched once: EVP_sha256() would look the implementation up on
// every EVP_DigestSignInit. Never freed (it lives as long as the process).
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) std::abort();  // a broken OpenSSL installation
    return fetched;
  }();
  return md;
}

// The digest for EVP_DigestSign/Verify: SHA-256 for ECDSA, none (one-shot)
// for Ed25519.
const EVP_MD* DigestFor(KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kEcdsaP256 ? Sha256Md() : nullptr;
}

// Which of the two accepted algorithms `key` is; InvalidArgument otherwise.
absl::StatusOr<KeyAlgorithm> AlgorithmOf(EVP_PKEY* key, absl::string_view what) {
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has a key of an unknown type (only ECDSA P-256 and Ed25519)"));
  }
  if (EVP_PKEY_is_a(key, "ED25519")) return KeyAlgorithm::kEd25519;
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[80] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 &&
        (OBJ_sn2nid(group) == NID_X9_62_prime256v1 ||
         EC_curve_nist2nid(group) == NID_X9_62_prime256v1)) {
      return KeyAlgorithm::kEcdsaP256;
    }
    ClearSslErrors();
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has an EC key on curve ", group[0] != '\0' ? group : "(explicit parameters)",
        " (only ECDSA P-256 and Ed25519)"));
  }
  const char* type = EVP_PKEY_get0_type_name(key);
  return absl::InvalidArgumentError(absl::StrCat(what, " has a key of type ",
                                                 type != nullptr ? type : "(unknown)",
                                                 " (only ECDSA P-256 and Ed25519)"));
}

// True when `signature` is a valid signature of `data` under `key`.
bool VerifySignature(EVP_PKEY* key, KeyAlgorithm algorithm, std::string_view data,
                     std::string_view signature) {
  g_verifies.fetch_add(1, std::memory_order_relaxed);
  // A fresh context per call: the verifier runs on many threads at once and
  // only the EVP_PKEY is shared.
  SslUniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx != nullptr && !signature.empty() &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(algorithm), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(data), data.size()) ==
          1;
  // A bad signature leaves entries (e.g. a DER decode error) in the queue.
  if (!ok) ClearSslErrors();
  return ok;
}

}  // namespace

// ---------------------------------------------------------------- Signer

struct Signer::Impl {
  Impl(SslUniquePtr<EVP_PKEY> k, Certificate c, KeyAlgorithm a)
      : key(std::move(k)), cert(std::move(c)), algorithm(a) {}

  const SslUniquePtr<EVP_PKEY> key;
  const Certificate cert;
  const KeyAlgorithm algorithm;
};

namespace {

absl::StatusOr<std::unique_ptr<Signer::Impl>> MakeSigner(std::string_view key_pem,
                                                         absl::string_view key_label,
                                                         std::string_view cert_pem,
                                                         absl::string_view cert_label) {
  absl::StatusOr<Certificate> cert = Certificate::FromPem(cert_pem);
  if (!cert.ok()) return internal::Annotate(cert.status(), cert_label);

  LIAISON_ASSIGN_OR_RETURN(SslUniquePtr<EVP_PKEY> key,
                           internal::ReadPrivateKeyPem(key_pem, key_label));
  LIAISON_ASSIGN_OR_RETURN(KeyAlgorithm algorithm, AlgorithmOf(key.get(), key_label));
  EVP_PKEY* cert_key = cert->impl().public_key.get();
  if (cert_key == nullptr || EVP_PKEY_eq(key.get(), cert_key) != 1) {
    ClearSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat(key_label, " does not match ", cert_label, " (", Describe(*cert), ")"));
  }
  return std::make_unique<Signer::Impl>(std::move(key), *std::move(cert), algorithm);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Signer>> Signer::FromPemFiles(const std::string& key_path,
                                                             const std::string& cert_path) {
  LIAISON_ASSIGN_OR_RETURN(std::string key_pem, liaison::ReadFile(key_path));
  LIAISON_ASSIGN_OR_RETURN(std::string cert_pem, liaison::ReadFile(cert_path));
  LIAISON_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                           MakeSigner(key_pem, key_path, cert_pem, cert_path));
  return std::unique_ptr<Signer>(new Signer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Signer>> Signer::FromPem(std::string_view key_pem,
                                                        std::string_view cert_pem) {
  LIAISON_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                           MakeSigner(key_pem, "signing key", cert_pem, "signer certificate"));
  return std::unique_ptr<Signer>(new Signer(std::move(impl)));
}

Signer::Signer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Signer::~Signer() = default;

absl::StatusOr<std::string> Signer::Sign(std::string_view data) const {
  SslUniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(impl_->algorithm), nullptr,
                                           impl_->key.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "EVP_DigestSignInit");
  }
  // Upper bound: 72 bytes for a DER ECDSA P-256 signature, 64 for Ed25519.
  std::string signature(static_cast<size_t>(EVP_PKEY_get_size(impl_->key.get())), '\0');
  size_t len = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Bytes(data), data.size()) != 1) {
    return SslError(absl::StatusCode::kInternal, "EVP_DigestSign");
  }
  signature.resize(len);
  g_signs.fetch_add(1, std::memory_order_relaxed);
  return signature;
}

const Certificate& Signer::certificate() const { return impl_->cert; }
KeyAlgorithm Signer::algorithm() const { return impl_->algorithm; }

// ---------------------------------------------------------------- Verifier

namespace {

// A certificate that passed TrustStore::Validate for one role. Only what can
// change afterwards — time and the CRL — is checked again on use.
struct CachedSigner {
  Certificate cert;  // holds the parsed public key
  Identity identity;
  KeyAlgorithm algorithm;
};

}  // namespace

struct Verifier::Impl {
  absl::Mutex mu;
  std::shared_ptr<const TrustStore> trust ABSL_GUARDED_BY(mu);
  // The CA of `trust`, parsed once, for the validity check on cache hits.
  std::optional<Certificate> ca ABSL_GUARDED_BY(mu);
  // Bumped by SetTrustStore, so that a validation that raced with a reload
  // does not put its result into the new cache.
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  // Key: raw SHA-256 of the DER followed by one byte for the role.
  absl::flat_hash_map<std::string, std::shared_ptr<const CachedSigner>> cache ABSL_GUARDED_BY(mu);

  void Reset(std::shared_ptr<const TrustStore> t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    trust = std::move(t);
    ca.reset();
    if (trust != nullptr) {
      absl::StatusOr<Certificate> parsed = Certificate::FromPem(trust->ca_pem());
      if (parsed.ok()) ca = *std::move(parsed);  // TrustStore parsed it already
    }
    cache.clear();
    ++generation;
  }
};

Verifier::Verifier(std::shared_ptr<const TrustStore> trust) : impl_(std::make_unique<Impl>()) {
  absl::MutexLock lock(&impl_->mu);
  impl_->Reset(std::move(trust));
}

Verifier::~Verifier() = default;

void Verifier::SetTrustStore(std::shared_ptr<const TrustStore> trust) {
  absl::MutexLock lock(&impl_->mu);
  impl_->Reset(std::move(trust));
}

std::shared_ptr<const TrustStore> Verifier::trust_store() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->trust;
}

absl::StatusOr<Identity> Verifier::Verify(std::string_view data, std::string_view signature,
                                          std::string_view signer_der, Role role,
                                          absl::Time now) const {
  std::string key = Sha256(signer_der);
  key.push_back(static_cast<char>(role));

  std::shared_ptr<const TrustStore> trust;
  std::optional<Certificate> ca;
  std::shared_ptr<const CachedSigner> signer;
  uint64_t generation = 0;
  {
    absl::MutexLock lock(&impl_->mu);
    trust = impl_->trust;
    ca = impl_->ca;
    generation = impl_->generation;
    auto it = impl_->cache.find(key);
    if (it != impl_->cache.end()) signer = it->second;
  }
  if (trust == nullptr) return absl::FailedPreconditionError("verifier has no trust store");

  if (signer != nullptr) {
    if (!ca.has_value()) return absl::InternalError("trust store CA certificate does not parse");
    LIAISON_RETURN_IF_ERROR(internal::CheckValidAt(*ca, now, "network CA "));
    LIAISON_RETURN_IF_ERROR(internal::CheckValidAt(signer->cert, now));
    if (trust->IsRevoked(signer->identity.serial_hex)) {
      return absl::PermissionDeniedError(absl::StrCat(Describe(signer->cert), " is revoked"));
    }
  } else {
    absl::StatusOr<Certificate> cert = Certificate::FromDer(signer_der);
    if (!cert.ok()) return internal::Annotate(cert.status(), "signer");
    LIAISON_ASSIGN_OR_RETURN(Identity identity, trust->Validate(*cert, role, now));
    LIAISON_ASSIGN_OR_RETURN(KeyAlgorithm algorithm,
                             AlgorithmOf(cert->impl().public_key.get(), Describe(*cert)));
    signer = std::make_shared<const CachedSigner>(
        CachedSigner{*std::move(cert), std::move(identity), algorithm});
    absl::MutexLock lock(&impl_->mu);
    if (impl_->generation == generation) {
      if (impl_->cache.size() >= kMaxCachedCertificates) impl_->cache.erase(impl_->cache.begin());
      impl_->cache.emplace(std::move(key), signer);
    }
  }

  if (!VerifySignature(signer->cert.impl().public_key.get(), signer->algorithm, data, signature)) {
    return absl::InvalidArgumentError("signature does not verify");
  }
  return signer->identity;
}

// ---------------------------------------------------------------- helpers

SignatureCounts ProcessSignatureCounts() {
  return {g_signs.load(std::memory_order_relaxed), g_verifies.load(std::memory_order_relaxed)};
}

std::string Sha256(std::string_view data) {
  std::string digest(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(digest.data()), &len,
                 Sha256Md(), nullptr) != 1 ||
      len != digest.size()) {
    std::abort();  // SHA-256 over memory cannot fail short of a broken library
  }
  return digest;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  static constexpr unsigned char kEmpty[1] = {0};
  std::string mac(32, '\0');
  unsigned int len = 0;
  // HMAC() wants a non-null key pointer even for an empty key.
  const unsigned char* key_bytes = key.empty() ? kEmpty : Bytes(key);
  if (key.size() > INT_MAX ||
      HMAC(Sha256Md(), key_bytes, static_cast<int>(key.size()), Bytes(data), data.size(),
           reinterpret_cast<unsigned char*>(mac.data()), &len) == nullptr ||
      len != mac.size()) {
    std::abort();
  }
  return mac;
}

}  // namespace liaison::certs
