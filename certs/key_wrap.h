// Wrapping an evidence item's data key for one recipient: ECDH P-256 between
// a fresh ephemeral key of the sender and the recipient's endpoint-encryption
// certificate, HKDF-SHA256 to a key-encryption key, AES-256-GCM of the data
// key. The item id, the recipient's endpoint id and its certificate's
// fingerprint are bound into the HKDF info and the GCM associated data, so a
// wrapped key opens for that item, that recipient and that certificate only.
// The byte layout is in certs/README.md ("Evidence key wrap").
//
// The broker reads a wrapped key's header (ParseWrappedKey: for whom, for
// which item) and never unwraps: it holds no endpoint-encryption private key.
#ifndef LIAISON_CERTS_KEY_WRAP_H_
#define LIAISON_CERTS_KEY_WRAP_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/certificate.h"
#include "certs/evidence_crypto.h"
#include "certs/trust_store.h"

namespace liaison::certs {

// What a wrapped key says in clear (authenticated, not secret).
struct WrappedKeyHeader {
  std::string item_id;
  std::string recipient_id;               // CN of the recipient's encryption certificate
  std::string recipient_fingerprint_hex;  // lower-case hex SHA-256 of its DER
};

// InvalidArgument "wrapped key: ..." when `wrapped` is not a well-formed
// wrapped key of version 1 (length, magic, version, id lengths, ephemeral
// point encoding). Checks no cryptography: only the recipient can.
absl::StatusOr<WrappedKeyHeader> ParseWrappedKey(std::string_view wrapped);

// Sender side. Checks, in this order: the item id (InvalidArgument: empty or
// over 255 bytes); `recipient_cert` with `trust` for Role::kEndpointEncryption
// at `now` (PermissionDenied as TrustStore::Validate: "... has role
// endpoint-signing, expected endpoint-encryption", expired, revoked ...); its
// CN is `recipient_id` (PermissionDenied "... is not the encryption
// certificate of X"). Then wraps under a fresh ephemeral key. Internal if
// OpenSSL or the random generator fails. Thread-safe.
absl::StatusOr<std::string> WrapDataKey(const DataKey& key, std::string_view item_id,
                                        std::string_view recipient_id,
                                        const Certificate& recipient_cert, const TrustStore& trust,
                                        absl::Time now);

// Recipient side: an endpoint's encryption private key with its certificate.
// Thread-safe (Unwrap uses fresh OpenSSL contexts; the key is only read).
class RecipientKey {
 public:
  // PermissionDenied (naming the certificate) unless the certificate is an
  // endpoint-encryption one with its usages (TrustStore::Validate's role and
  // usage checks; the chain is the sender's business); InvalidArgument if
  // the key cannot be parsed, is encrypted, is not EC P-256, or does not
  // match the certificate. FromPemFiles: NotFound / FailedPrecondition
  // naming the file that cannot be read.
  static absl::StatusOr<RecipientKey> FromPemFiles(const std::string& key_path,
                                                   const std::string& cert_path);
  static absl::StatusOr<RecipientKey> FromPem(std::string_view key_pem, std::string_view cert_pem);

  RecipientKey(RecipientKey&&) noexcept;
  RecipientKey& operator=(RecipientKey&&) noexcept;
  ~RecipientKey();

  const Certificate& certificate() const;

  // The data key of `item_id`. InvalidArgument, in this order:
  //  - malformed (as ParseWrappedKey);
  //  - "wrapped key is for evidence item 'A', not 'B'";
  //  - "wrapped key is for recipient X (certificate <fp>), not this key's Y
  //    (certificate <fp>)";
  //  - "wrapped key for evidence item 'A' to Y does not authenticate": a
  //    header or ciphertext byte changed, or made with another key.
  absl::StatusOr<DataKey> Unwrap(std::string_view wrapped, std::string_view item_id) const;

  struct Impl;

 private:
  explicit RecipientKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_KEY_WRAP_H_
