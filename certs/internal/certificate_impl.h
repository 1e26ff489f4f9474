// The parsed form behind certs::Certificate, and helpers that the .cc files of
// certs/ share. Folder-private.
#ifndef LIAISON_CERTS_INTERNAL_CERTIFICATE_IMPL_H_
#define LIAISON_CERTS_INTERNAL_CERTIFICATE_IMPL_H_

#include <openssl/x509.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "certs/certificate.h"
#include "certs/internal/ssl_unique_ptr.h"

namespace liaison::certs {

// Immutable after Certificate::FromDer built it, so any number of threads may
// read it (OpenSSL's lazily cached extension data is filled in before the
// Impl is shared).
struct Certificate::Impl {
  internal::SslUniquePtr<X509> x509;
  // The subject public key; null when OpenSSL cannot decode its algorithm.
  internal::SslUniquePtr<EVP_PKEY> public_key;
  std::string der;
  std::string fingerprint_hex;
  std::string common_name;          // the first CN of the subject
  std::string organizational_unit;  // the first OU of the subject
  int common_name_count = 0;
  int organizational_unit_count = 0;
  std::string serial_hex;
  absl::Time not_before;
  absl::Time not_after;
};

namespace internal {

// Debian 12's Abseil (20220623) is built with its own absl::string_view,
// which does not convert from std::string_view; the public headers use
// std::string_view, so convert where Abseil string functions are called.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Upper-case hex without leading zeros ("1A", "0" for zero, "-1A" if
// negative): the form of Identity::serial_hex and of the CRL lookup.
std::string SerialHex(const ASN1_INTEGER* serial);
// Brings any hex spelling ("0x001a", "001A") to the SerialHex form.
std::string NormalizeSerialHex(std::string_view hex);

// "certificate CN=<cn> serial <hex>" for error messages. The CN is cut to 64
// printable ASCII characters: it comes from outside and is logged.
std::string Describe(const Certificate& cert);
// Printable ASCII only, at most `max` characters.
std::string SanitizeForMessage(std::string_view text, size_t max = 64);

// PermissionDenied "<prefix><Describe(cert)> expired at <RFC 3339>" or
// "... is not yet valid (valid from <RFC 3339>)". Valid while
// not_before <= now < not_after, as OpenSSL's X509_cmp_time decides.
absl::Status CheckValidAt(const Certificate& cert, absl::Time now, absl::string_view prefix = "");

// Step 4 and 5 of TrustStore::Validate, without the chain: exactly one CN and
// one OU, the OU is `expected`'s name, and the key usages fit the role.
// PermissionDenied naming the certificate otherwise.
absl::Status CheckRoleAndUsage(const Certificate& cert, Role expected);

// The private key of a PEM text (PKCS#8 or traditional). InvalidArgument
// "<label>: not an unencrypted PEM private key"; never prompts for a password.
absl::StatusOr<SslUniquePtr<EVP_PKEY>> ReadPrivateKeyPem(std::string_view pem,
                                                         absl::string_view label);

// Whether `key` is an EC key on P-256 (false for null).
bool IsEcP256(EVP_PKEY* key);

// "2026-01-01T00:00:00Z".
std::string FormatRfc3339(absl::Time t);

// The same status with "<prefix>: " in front of its message.
absl::Status Annotate(const absl::Status& status, absl::string_view prefix);

}  // namespace internal
}  // namespace liaison::certs

#endif  // LIAISON_CERTS_INTERNAL_CERTIFICATE_IMPL_H_
