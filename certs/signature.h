// Signing and verifying bytes: ECDSA P-256 with SHA-256 (DER signature) or
// Ed25519, chosen by the key. Sign bytes, not objects.
#ifndef LIAISON_CERTS_SIGNATURE_H_
#define LIAISON_CERTS_SIGNATURE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/certificate.h"
#include "certs/trust_store.h"

namespace liaison::certs {

// Holds one private key and its certificate. Thread-safe: Sign may be called
// from many threads at once.
class Signer {
 public:
  // InvalidArgument (naming the file) if the key cannot be parsed, is
  // encrypted (never prompts for a password), is of another algorithm, or
  // does not match the certificate. NotFound / FailedPrecondition (naming the
  // file) if a file cannot be read. The certificate is not validated here.
  static absl::StatusOr<std::unique_ptr<Signer>> FromPemFiles(const std::string& key_path,
                                                              const std::string& cert_path);
  static absl::StatusOr<std::unique_ptr<Signer>> FromPem(std::string_view key_pem,
                                                         std::string_view cert_pem);
  ~Signer();

  // DER ECDSA signature (at most 72 bytes) or 64-byte Ed25519 signature.
  // Internal on an OpenSSL failure (never for valid input).
  absl::StatusOr<std::string> Sign(std::string_view data) const;

  const Certificate& certificate() const;
  KeyAlgorithm algorithm() const;

  struct Impl;

 private:
  explicit Signer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Verifies signatures made by certificates of the network. Validated
// certificates are cached by (SHA-256 fingerprint, role), at most 4096, with
// their parsed public key (so a busy sender costs one chain check, not one
// per message); the validity period of the certificate and of the CA, and
// the CRL, are still checked on every call. Thread-safe.
class Verifier {
 public:
  explicit Verifier(std::shared_ptr<const TrustStore> trust);
  ~Verifier();

  // Replaces the trust store (CRL reload); clears the cache.
  void SetTrustStore(std::shared_ptr<const TrustStore> trust);
  std::shared_ptr<const TrustStore> trust_store() const;

  // Validates `signer_der` for `role` at `now` (PermissionDenied as
  // TrustStore::Validate, InvalidArgument if unparsable or if its key is
  // neither ECDSA P-256 nor Ed25519), then checks `signature` over `data`
  // (InvalidArgument "signature does not verify"). FailedPrecondition if
  // constructed without a trust store. Messages never quote `data`.
  absl::StatusOr<Identity> Verify(std::string_view data, std::string_view signature,
                                  std::string_view signer_der, Role role, absl::Time now) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Signatures this process has made and checked so far: every successful
// Signer::Sign, and every signature Verifier::Verify checks against a key
// (whatever the outcome; a call refused before that, e.g. for a revoked
// signer, is not counted, nor are the CA's signatures checked when a
// certificate is validated). Process-wide relaxed atomics, for benchmarks
// and operators: what the protocol costs, counted rather than estimated.
struct SignatureCounts {
  int64_t signs = 0;
  int64_t verifies = 0;
};
SignatureCounts ProcessSignatureCounts();

// SHA-256 of `data` (32 raw bytes).
std::string Sha256(std::string_view data);
// Lower-case hex.
std::string HexEncode(std::string_view bytes);
// HMAC-SHA256(key, data) (32 raw bytes).
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_SIGNATURE_H_
