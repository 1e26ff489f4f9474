#include "certs/envelope.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "certs/internal/certificate_impl.h"

namespace liaison::certs {

std::string IndexBatchSigningInput(std::string_view batch_bytes) {
  std::string out = "liaison.v1.IndexBatch\n";
  out.append(batch_bytes);
  return out;
}

absl::StatusOr<VerifiedEnvelope> VerifyEnvelope(liaison::v1::SignedEnvelope envelope,
                                                const Verifier& verifier, absl::Time now) {
  if (envelope.message().empty()) return absl::InvalidArgumentError("envelope.message is empty");
  if (envelope.signature().empty()) {
    return absl::InvalidArgumentError("envelope.signature is empty");
  }
  if (envelope.signer_certificate().empty()) {
    return absl::InvalidArgumentError("envelope.signer_certificate is empty");
  }

  // Verify first, parse second: nothing reads the bytes before the signature
  // over them has been checked.
  LIAISON_ASSIGN_OR_RETURN(
      Identity signer, verifier.Verify(envelope.message(), envelope.signature(),
                                       envelope.signer_certificate(), Role::kEndpointSigning, now));

  VerifiedEnvelope verified;
  if (!verified.message_.ParseFromString(envelope.message())) {
    // The parser's own diagnostics are not quoted: they can echo content.
    return absl::InvalidArgumentError("message: not a valid liaison.v1.Message");
  }
  // The claimed sender is not quoted either: only the validated identity is.
  if (verified.message_.header().sender() != signer.id) {
    return absl::PermissionDeniedError(
        absl::StrCat("message.header.sender does not name the signer (certificate CN=",
                     internal::SanitizeForMessage(signer.id), ")"));
  }
  verified.envelope_ = std::move(envelope);
  verified.signer_ = std::move(signer);
  return verified;
}

absl::StatusOr<liaison::v1::SignedEnvelope> SignEnvelope(std::string message_bytes,
                                                         const Signer& signer) {
  if (message_bytes.empty()) return absl::InvalidArgumentError("message bytes are empty");
  LIAISON_ASSIGN_OR_RETURN(std::string signature, signer.Sign(message_bytes));
  liaison::v1::SignedEnvelope envelope;
  envelope.set_message(std::move(message_bytes));
  envelope.set_signature(std::move(signature));
  envelope.set_signer_certificate(signer.certificate().der());
  return envelope;
}

}  // namespace liaison::certs
