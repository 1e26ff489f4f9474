// The broker's signature on what it tells endpoints: attestations (a body went
// through the policy chain), receipts and notices. One signature per distinct
// statement: an attestation lists every recipient of an identical body, so
// the broker signs once per body, not once per recipient.
#ifndef LIAISON_BROKER_CORE_COUNTERSIGNER_H_
#define LIAISON_BROKER_CORE_COUNTERSIGNER_H_

#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "broker/core/ids.h"
#include "certs/signature.h"
#include "liaison/v1/envelope.pb.h"

namespace liaison::broker {

class Countersigner {
 public:
  // `signer` holds the broker's key and certificate (OU=broker); not owned.
  explicit Countersigner(const certs::Signer* signer);

  // Stamps issued_at and broker_id, serialises and signs. Thread-safe.
  absl::StatusOr<liaison::v1::BrokerSigned> Sign(liaison::v1::Statement statement,
                                                 absl::Time issued_at) const;

  // Stamps issued_at and broker_id and serialises: the bytes of one leaf of
  // a batch (SignLeaves). Internal if serialisation fails.
  absl::StatusOr<std::string> Leaf(liaison::v1::Statement statement, absl::Time issued_at) const;

  // Signs a batch of leaves (serialised Statements, see Leaf) once: builds
  // their Merkle tree (certs/merkle.h), signs a Statement of kind
  // batch_root over the domain-separated bytes of certs/batch_root.h, and
  // returns per leaf, in order, the leaf, the signed root and its
  // inclusion proof. InvalidArgument for an empty batch. Thread-safe.
  absl::StatusOr<std::vector<liaison::v1::BatchSigned>> SignLeaves(
      const std::vector<std::string>& leaves, absl::Time issued_at) const;

  // Signs a delivery-side event for the policy stage (domain-separated from
  // statements, see SignedIngressEvent). Stamps node_id and observed_at.
  // Thread-safe.
  absl::StatusOr<liaison::v1::SignedIngressEvent> SignEvent(liaison::v1::IngressEvent event,
                                                            absl::Time observed_at) const;

  const std::string& broker_id() const { return broker_id_; }

 private:
  const certs::Signer* const signer_;
  const std::string broker_id_;
  const std::string certificate_der_;
};

// A delivery-side event whose signature verified against a valid broker
// certificate (OU=broker) of the network at `now`.
struct VerifiedEvent {
  liaison::v1::IngressEvent event;
  certs::Identity signer;
};
// Checks, in order: event, signature and certificate present
// (InvalidArgument naming the empty field); the certificate is a valid
// broker certificate at `now` (PermissionDenied: an endpoint's key cannot
// sign events); the signature verifies over the domain-separated bytes
// (InvalidArgument); the bytes parse with exactly one event kind
// (InvalidArgument); node_id equals the signer (PermissionDenied); a notice
// is of kind GAP or LOST, the only ones the delivery side raises
// (PermissionDenied).
absl::StatusOr<VerifiedEvent> VerifyEvent(const liaison::v1::SignedIngressEvent& signed_event,
                                          const certs::Verifier& verifier, absl::Time now);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_COUNTERSIGNER_H_
