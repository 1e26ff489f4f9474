// X.509 certificates of the Liaison network and the identity they carry.
//
// The network CA issues five kinds of certificate. The kind is the subject's
// organisational unit (OU); the id is the subject's common name (CN):
//
//   OU=endpoint-tls         CN=<endpoint id, e.g. RO-IGPR>  TLS client certificate
//   OU=endpoint-signing     CN=<endpoint id>                signs envelopes
//   OU=endpoint-encryption  CN=<endpoint id>                ECDH P-256: evidence keys are
//                                                           wrapped to it (key_wrap.h)
//   OU=broker               CN=<broker node id>             TLS server + countersigning
//   OU=operator             CN=<operator id>                admin API / dashboard
#ifndef LIAISON_CERTS_CERTIFICATE_H_
#define LIAISON_CERTS_CERTIFICATE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace liaison::certs {

enum class Role { kEndpointTls, kEndpointSigning, kEndpointEncryption, kBroker, kOperator };

// The OU value for a role: "endpoint-tls", "endpoint-signing",
// "endpoint-encryption", "broker", "operator".
std::string_view RoleName(Role role);

// The extended key usage of endpoint-encryption certificates ("Liaison
// evidence key agreement"), an OID under the UUID arc 2.25 (X.667).
inline constexpr std::string_view kEvidenceKeyAgreementOid =
    "2.25.196935241276446434531790657129757818621";

enum class KeyAlgorithm { kEcdsaP256, kEd25519 };

// What a validated certificate says about its holder.
struct Identity {
  std::string id;  // subject CN
  Role role = Role::kEndpointTls;
  std::string serial_hex;       // upper-case hex, no leading zeros
  std::string fingerprint_hex;  // lower-case hex SHA-256 of the DER
  absl::Time not_after;
};

// An immutable parsed certificate. Copies share the parsed form.
class Certificate {
 public:
  // InvalidArgument when the bytes are not exactly one DER X.509 certificate
  // (trailing bytes included). Parsing checks no signature, date or role:
  // that is TrustStore::Validate's job.
  static absl::StatusOr<Certificate> FromDer(std::string_view der);
  // Reads the first certificate of a PEM text.
  static absl::StatusOr<Certificate> FromPem(std::string_view pem);
  // NotFound / FailedPrecondition if the file cannot be read; errors name the file.
  static absl::StatusOr<Certificate> FromPemFile(const std::string& path);

  const std::string& der() const;
  std::string pem() const;
  const std::string& fingerprint_hex() const;
  const std::string& common_name() const;
  const std::string& organizational_unit() const;
  const std::string& serial_hex() const;
  absl::Time not_before() const;
  absl::Time not_after() const;

  // The parsed form (certs/internal/certificate_impl.h); for certs/ only.
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Certificate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_CERTIFICATE_H_
