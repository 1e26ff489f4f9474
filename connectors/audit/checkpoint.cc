#include "connectors/audit/checkpoint.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/proto_time.h"

namespace liaison::audit {
namespace {

// Domain separation: these bytes never parse as a Statement, an IngressEvent
// or an envelope, and no other broker signature covers this prefix.
constexpr absl::string_view kCheckpointContext = "liaison.v1.AuditCheckpoint\n";

}  // namespace

absl::StatusOr<liaison::v1::SignedAuditCheckpoint> SignCheckpoint(
    liaison::v1::AuditCheckpoint checkpoint, const certs::Signer& signer) {
  checkpoint.set_broker_id(signer.certificate().common_name());
  liaison::v1::SignedAuditCheckpoint out;
  if (!checkpoint.SerializeToString(out.mutable_checkpoint())) {
    return absl::InternalError("audit checkpoint: serialisation failed");
  }
  absl::StatusOr<std::string> signature =
      signer.Sign(absl::StrCat(kCheckpointContext, out.checkpoint()));
  if (!signature.ok()) return signature.status();
  out.set_signature(std::move(*signature));
  out.set_broker_certificate(signer.certificate().der());
  return out;
}

absl::StatusOr<VerifiedCheckpoint> VerifyCheckpoint(
    const liaison::v1::SignedAuditCheckpoint& signed_checkpoint, const certs::Verifier& verifier,
    absl::Time now) {
  if (signed_checkpoint.checkpoint().empty()) {
    return absl::InvalidArgumentError("checkpoint: missing");
  }
  if (signed_checkpoint.signature().empty()) {
    return absl::InvalidArgumentError("signature: missing");
  }
  if (signed_checkpoint.broker_certificate().empty()) {
    return absl::InvalidArgumentError("broker_certificate: missing");
  }
  VerifiedCheckpoint out;
  liaison::v1::AuditCheckpoint& c = out.checkpoint;
  if (!c.ParseFromString(signed_checkpoint.checkpoint())) {
    return absl::InvalidArgumentError("checkpoint: not an AuditCheckpoint");
  }
  if (c.seq() == 0) return absl::InvalidArgumentError("checkpoint.seq: must be at least 1");
  if (c.head_hash().size() != 32) {
    return absl::InvalidArgumentError("checkpoint.head_hash: must be 32 bytes (SHA-256)");
  }
  if (!c.has_signed_at()) return absl::InvalidArgumentError("checkpoint.signed_at: missing");
  const absl::Time signed_at = FromProto(c.signed_at());
  if (signed_at > now + kCheckpointClockSkew) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint.signed_at ",
                                                   absl::FormatTime(signed_at, absl::UTCTimeZone()),
                                                   " lies in the future"));
  }
  absl::StatusOr<certs::Identity> signer =
      verifier.Verify(absl::StrCat(kCheckpointContext, signed_checkpoint.checkpoint()),
                      signed_checkpoint.signature(), signed_checkpoint.broker_certificate(),
                      certs::Role::kBroker, signed_at);
  if (!signer.ok()) return signer.status();
  if (c.broker_id() != signer->id) {
    return absl::PermissionDeniedError("checkpoint.broker_id: not the signing broker");
  }
  out.signer = std::move(*signer);
  return out;
}

}  // namespace liaison::audit
