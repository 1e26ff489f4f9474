// Envelope-level verification shared by the broker (front door) and the
// endpoint library (recipients): verify first, parse second.
#ifndef LIAISON_CERTS_ENVELOPE_H_
#define LIAISON_CERTS_ENVELOPE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/signature.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::certs {

// What an endpoint's signature over a case-linkage index batch covers:
// "liaison.v1.IndexBatch\n" followed by the serialised IndexBatch, so that a
// batch signature can never pass for a message's (which covers the message
// bytes alone), nor the other way round.
std::string IndexBatchSigningInput(std::string_view batch_bytes);

// An envelope whose signature verified against a valid endpoint-signing
// certificate and whose bytes parsed as a Message signed by the endpoint the
// header names as sender. Only VerifyEnvelope makes one.
class VerifiedEnvelope {
 public:
  VerifiedEnvelope(VerifiedEnvelope&&) = default;
  VerifiedEnvelope& operator=(VerifiedEnvelope&&) = default;

  const liaison::v1::SignedEnvelope& envelope() const { return envelope_; }
  const liaison::v1::Message& message() const { return message_; }
  const Identity& signer() const { return signer_; }
  // Gives up the envelope (for writing it on) without copying the bytes.
  liaison::v1::SignedEnvelope TakeEnvelope() && { return std::move(envelope_); }

 private:
  friend absl::StatusOr<VerifiedEnvelope> VerifyEnvelope(liaison::v1::SignedEnvelope,
                                                         const Verifier&, absl::Time);
  VerifiedEnvelope() = default;
  liaison::v1::SignedEnvelope envelope_;
  liaison::v1::Message message_;
  Identity signer_;
};

// Checks, in order: the envelope carries message bytes, a signature and a
// certificate (InvalidArgument naming the empty field); the signer
// certificate is a valid endpoint-signing certificate at `now`
// (PermissionDenied); the signature verifies (InvalidArgument); the bytes
// parse as a Message (InvalidArgument "message: ..."); header.sender equals
// the signer's id (PermissionDenied). Error messages carry no payload.
absl::StatusOr<VerifiedEnvelope> VerifyEnvelope(liaison::v1::SignedEnvelope envelope,
                                                const Verifier& verifier, absl::Time now);

// Signs `message_bytes` into an envelope with `signer`'s key and certificate
// (DER). InvalidArgument if `message_bytes` is empty (VerifyEnvelope would
// refuse it); Internal on an OpenSSL failure.
absl::StatusOr<liaison::v1::SignedEnvelope> SignEnvelope(std::string message_bytes,
                                                         const Signer& signer);

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_ENVELOPE_H_
