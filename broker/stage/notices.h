// Broker-signed notices and receipts as DeliveryItems for their addressee's
// delivery topic, where the addressee's Subscribe stream picks them up like
// any other item. Only the policy stage writes delivery topics; the delivery
// side hands it receipts and loss notices through liaison.ingress.
#ifndef LIAISON_BROKER_STAGE_NOTICES_H_
#define LIAISON_BROKER_STAGE_NOTICES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/core/countersigner.h"
#include "liaison/v1/envelope.pb.h"

namespace liaison::broker {

class ItemSigner {
 public:
  explicit ItemSigner(const Countersigner* countersigner) : countersigner_(countersigner) {}

  // The serialised DeliveryItem (deterministic item id) carrying the signed
  // notice or receipt. Thread-safe.
  absl::StatusOr<std::string> Notice(liaison::v1::Notice notice, absl::Time now) const;
  absl::StatusOr<std::string> Receipt(liaison::v1::Receipt receipt, absl::Time now) const;

  // The receipt's DeliveryItem without a signature, and its statement as a
  // leaf for the batch signer (Outputs::Record::leaf). Thread-safe.
  struct Unsigned {
    std::string item;
    std::string leaf;
  };
  absl::StatusOr<Unsigned> ReceiptLeaf(liaison::v1::Receipt receipt, absl::Time now) const;

  static std::string NoticeId(const liaison::v1::Notice& notice);

 private:
  absl::StatusOr<std::string> Item(const std::string& addressee, std::string item_id,
                                   liaison::v1::Statement statement, absl::Time now) const;
  const Countersigner* const countersigner_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_NOTICES_H_
