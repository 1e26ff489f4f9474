// The one place where the broker derives its identifiers. Every id here is
// deterministic: a replayed ingress record yields the same ids, so a
// duplicate is recognised wherever it turns up (delivery window, hold book,
// acknowledged items) without Kafka transactions.
#ifndef LIAISON_BROKER_CORE_IDS_H_
#define LIAISON_BROKER_CORE_IDS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/strong_id.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::broker {

// The kinds of id the broker keeps apart. Each is text on the wire; in the
// broker's own interfaces each is its own type (base/strong_id.h).
using EndpointId = StrongId<struct EndpointIdTag>;          // "DE-BKA"
using MessageId = StrongId<struct MessageIdTag>;            // the sender's UUIDv7
using IngressKey = StrongId<struct IngressKeyTag>;          // Kafka key in liaison.ingress
using DeliveryItemId = StrongId<struct DeliveryItemIdTag>;  // "d-" + 32 hex
using ReceiptItemId = StrongId<struct ReceiptItemIdTag>;    // "r-" + 32 hex
using NoticeItemId = StrongId<struct NoticeItemIdTag>;      // "n-" + 32 hex
using HoldId = StrongId<struct HoldIdTag>;                  // "h-" + 32 hex
// Whatever an endpoint acknowledges: a delivery, receipt or notice item id.
using AckItemId = StrongId<struct AckItemIdTag>;

template <typename Id>
AckItemId AsAckItem(const Id& id) {
  return AckItemId(id.value());
}

// The Kafka key of an ingress record: keeps one case in one partition (and in
// order) without putting the case reference in clear into Kafka. A message
// without a case reference is keyed by its message id.
IngressKey IngressKeyOf(const liaison::v1::Header& header);

// Acknowledgement keys of what the broker streams to an endpoint, "d-", "r-"
// and "n-" + 32 hex digits of a SHA-256 over length-prefixed parts.
DeliveryItemId DeliveryItemIdOf(const MessageId& message, const EndpointId& recipient);
ReceiptItemId ReceiptItemIdOf(const MessageId& message, const EndpointId& recipient);
NoticeItemId NoticeItemIdOf(liaison::v1::NoticeKind kind, const MessageId& message,
                            const EndpointId& recipient, const EndpointId& addressee);

// The notice telling an index owner that `query` matched its case
// `owner_ref` (one per owner case, so two cases of one owner are two items).
NoticeItemId LinkageHitItemIdOf(const MessageId& query, const EndpointId& owner,
                                absl::string_view owner_ref);

// The broker's LINKAGE_REPLY to `query` covering the owners searched in one
// decision (all of them when decided, one when a held owner is released):
// "lr-" + 32 hex digits.
MessageId LinkageReplyIdOf(const MessageId& query, const std::vector<std::string>& searched);

// A delivery-topic record grouping several items for one endpoint
// (DeliveryItem.grouped: the receipts of one acknowledgement batch):
// "g-" + 32 hex digits over the grouped items' ids, in order. Never
// acknowledged itself (its items are), it names the record in logs.
std::string GroupItemIdOf(const std::vector<std::string>& item_ids);

// At most this many receipts in one IngressEvent.receipts (one
// acknowledgement batch of a Subscribe stream).
inline constexpr size_t kMaxReceiptsPerEvent = 512;

// A held (message, recipient): "h-" + 32 hex digits.
HoldId HoldIdOf(const MessageId& message, const EndpointId& recipient);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_IDS_H_
