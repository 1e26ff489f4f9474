// The network CA and its certificate revocation list: the one thing every
// certificate is checked against. An immutable snapshot; share it as
// shared_ptr<const TrustStore> and swap the pointer to reload.
#ifndef LIAISON_CERTS_TRUST_STORE_H_
#define LIAISON_CERTS_TRUST_STORE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/certificate.h"

namespace liaison::certs {

class TrustStore {
 public:
  // `ca_pem` holds exactly one certificate, a CA (basicConstraints CA:TRUE);
  // it becomes the only trust anchor. `crl_pem` may be empty (no
  // revocations); otherwise its issuer must be the CA and its signature must
  // verify with the CA key, and delta or indirect CRLs (critical extensions)
  // are refused. The CRL's nextUpdate is not enforced. InvalidArgument on
  // any of this.
  static absl::StatusOr<std::shared_ptr<const TrustStore>> FromPem(std::string_view ca_pem,
                                                                   std::string_view crl_pem);
  // `crl_path` may be empty (no CRL); an empty CRL file is InvalidArgument.
  // NotFound / FailedPrecondition if a file cannot be read. Error messages
  // name the file.
  static absl::StatusOr<std::shared_ptr<const TrustStore>> Load(const std::string& ca_path,
                                                                const std::string& crl_path);

  ~TrustStore();

  // Checks, in this order: issued (signed) by the network CA, directly
  // (X509_verify_cert, strict, at time `now`); it and the CA valid at `now`
  // (not_before <= now < not_after); not a CA itself; not revoked; subject
  // has exactly one CN and one OU and the OU is `expected`; key usage has
  // digitalSignature (and nonRepudiation for endpoint-signing); extended key
  // usage has clientAuth (endpoint-tls, operator) or serverAuth (broker). An
  // endpoint-encryption certificate instead needs keyAgreement without
  // digitalSignature or nonRepudiation, the extended key usage
  // kEvidenceKeyAgreementOid, and an EC P-256 key.
  // Returns the holder's identity, or PermissionDenied with a message such as
  // "certificate CN=RO-IGPR serial 1A is revoked",
  // "certificate CN=RO-IGPR serial 1A expired at 2026-01-01T00:00:00Z",
  // "... is not yet valid (valid from <time>)", "... is not issued by the
  // network CA", "... has role endpoint-tls, expected endpoint-signing".
  // Internal only when OpenSSL itself fails. Thread-safe.
  absl::StatusOr<Identity> Validate(const Certificate& cert, Role expected, absl::Time now) const;

  // Any hex spelling of the serial: case and leading zeros do not matter.
  bool IsRevoked(std::string_view serial_hex) const;
  const std::string& ca_pem() const;
  // Monotonic CRL number (0 without a CRL): lets caches notice a reload, and
  // lets a reload refuse a CRL older than the one in force (rollback).
  long crl_number() const;
  // The CRL's nextUpdate: after it the CRL is stale (a newer one should
  // exist); absl::InfiniteFuture() without a CRL or without nextUpdate.
  // Validate() does not enforce it; callers decide (see the broker's
  // --crl-expired).
  absl::Time crl_next_update() const;

  struct Impl;

 private:
  explicit TrustStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_TRUST_STORE_H_
