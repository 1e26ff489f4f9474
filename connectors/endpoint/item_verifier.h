// Recipient-side verification of what the broker streams: the broker's
// countersignature first, then the content, then (for unchanged content) the
// sender's own signature. Works online (Subscribe) and offline (a saved item).
#ifndef LIAISON_CONNECTORS_ENDPOINT_ITEM_VERIFIER_H_
#define LIAISON_CONNECTORS_ENDPOINT_ITEM_VERIFIER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/signature.h"
#include "certs/trust_store.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::endpoint {

struct VerifiedItem {
  enum class Kind { kDelivery, kReceipt, kNotice };
  Kind kind = Kind::kNotice;
  std::string item_id;
  // The broker node that signed the statement.
  certs::Identity broker;
  liaison::v1::Statement statement;
  // Deliveries only: the message as delivered.
  std::optional<liaison::v1::Message> message;
  // Deliveries only: true when the broker derived (redacted) the content, so
  // only the broker's attestation covers it; false when the sender's own
  // signature was verified too.
  bool derived = false;
  // Deliveries with original content: the sender's signing identity.
  std::optional<certs::Identity> sender;
};

// Thread-safe.
class ItemVerifier {
 public:
  // `self` is the endpoint id the items must be addressed to.
  ItemVerifier(std::shared_ptr<const certs::TrustStore> trust, std::string self);

  // Checks, in order: the statement's signature verifies with a valid broker
  // certificate; the statement parses; it is addressed to `self` (listed
  // recipient of an attestation, or addressee of a receipt/notice); for an
  // attestation: the item carries content whose SHA-256 equals
  // content_sha256; unchanged content is a valid envelope signed by the
  // attested sender with original_sha256 == content_sha256; the message id
  // matches. InvalidArgument / PermissionDenied naming the failed check.
  absl::StatusOr<VerifiedItem> Verify(const liaison::v1::DeliveryItem& item,
                                      absl::Time now) const;

 private:
  certs::Verifier verifier_;
  const std::string self_;
};

}  // namespace liaison::endpoint

#endif  // LIAISON_CONNECTORS_ENDPOINT_ITEM_VERIFIER_H_
