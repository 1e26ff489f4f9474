// Signed checkpoints of the audit chains (signed tree-head style): a broker
// node signs "chain C had head seq S with entry_hash H at time T". The hash
// chain makes every entry depend on all before it, so one valid checkpoint
// pins entries 1..S: a chain rewritten afterwards (even with every hash
// recomputed) no longer matches it, and a chain cut below S is visibly short.
// Only a broker key (OU=broker) can sign one.
#ifndef LIAISON_CONNECTORS_AUDIT_CHECKPOINT_H_
#define LIAISON_CONNECTORS_AUDIT_CHECKPOINT_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/signature.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::audit {

// Stamps broker_id (the signer's CN), serialises `checkpoint` and signs
// "liaison.v1.AuditCheckpoint\n" + bytes with the broker's key. Internal
// only if serialisation or OpenSSL fails. Thread-safe.
absl::StatusOr<liaison::v1::SignedAuditCheckpoint> SignCheckpoint(
    liaison::v1::AuditCheckpoint checkpoint, const certs::Signer& signer);

// A checkpoint whose signature verified with a valid broker certificate.
struct VerifiedCheckpoint {
  liaison::v1::AuditCheckpoint checkpoint;
  certs::Identity signer;
};

// How far a checkpoint's signed_at may lie ahead of the verifier's clock.
inline constexpr absl::Duration kCheckpointClockSkew = absl::Minutes(5);

// Checks, in order: checkpoint, signature and certificate present
// (InvalidArgument naming the empty field); the checkpoint parses, with
// seq >= 1, a 32-byte head_hash and signed_at set (InvalidArgument);
// signed_at is not later than now + kCheckpointClockSkew (InvalidArgument);
// the certificate is a broker certificate of the network, valid at signed_at
// and not revoked (PermissionDenied, e.g. "... has role endpoint-signing,
// expected broker": an endpoint's key cannot sign checkpoints); the
// signature verifies over the domain-separated bytes (InvalidArgument);
// broker_id is the signer (PermissionDenied).
//
// The certificate is checked at signed_at rather than now because the audit
// trail outlives broker certificates: a checkpoint signed in 2026 stays valid
// after its certificate expired in 2027. A revoked certificate invalidates
// all its checkpoints (whoever holds its key could back-date one).
absl::StatusOr<VerifiedCheckpoint> VerifyCheckpoint(
    const liaison::v1::SignedAuditCheckpoint& signed_checkpoint, const certs::Verifier& verifier,
    absl::Time now);

}  // namespace liaison::audit

#endif  // LIAISON_CONNECTORS_AUDIT_CHECKPOINT_H_
