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
  // `crl_pem` may be empty (no revocations). InvalidArgument on malformed
  // input; the CRL must be signed by the CA.
  static absl::StatusOr<std::shared_ptr<const TrustStore>> FromPem(
      std::string_view ca_pem, std::string_view crl_pem);
  // `crl_path` may be empty. Error messages name the file.
  static absl::StatusOr<std::shared_ptr<const TrustStore>> Load(
      const std::string& ca_path, const std::string& crl_path);

  ~TrustStore();

  // Checks, in this order: issued (signed) by the network CA; valid at `now`;
  // not revoked; subject OU is `expected`; key usage fits the role. Returns
  // the holder's identity, or PermissionDenied with a message such as
  // "certificate CN=RO-IGPR serial 1A is revoked" or
  // "certificate CN=RO-IGPR expired at 2026-01-01T00:00:00Z".
  // Thread-safe.
  absl::StatusOr<Identity> Validate(const Certificate& cert, Role expected,
                                    absl::Time now) const;

  bool IsRevoked(std::string_view serial_hex) const;
  const std::string& ca_pem() const;
  // Monotonic CRL number (0 without a CRL): lets caches notice a reload.
  long crl_number() const;

  struct Impl;

 private:
  explicit TrustStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_TRUST_STORE_H_
