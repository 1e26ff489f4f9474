// The broker's signature on what it tells endpoints: attestations (a body went
// through the policy chain), receipts and notices. One signature per distinct
// statement: an attestation lists every recipient of an identical body, so
// the broker signs once per body, not once per recipient.
#ifndef LIAISON_BROKER_COUNTERSIGNER_H_
#define LIAISON_BROKER_COUNTERSIGNER_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
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

  const std::string& broker_id() const { return broker_id_; }

 private:
  const certs::Signer* const signer_;
  const std::string broker_id_;
  const std::string certificate_der_;
};

// Deterministic item ids (the acknowledgement keys): a replayed record yields
// the same id, so duplicates are recognised by (message id, recipient).
std::string DeliveryItemId(absl::string_view message_id, absl::string_view recipient);
std::string ReceiptItemId(absl::string_view message_id, absl::string_view recipient);
std::string NoticeItemId(liaison::v1::NoticeKind kind, absl::string_view message_id,
                         absl::string_view recipient, absl::string_view addressee);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_COUNTERSIGNER_H_
