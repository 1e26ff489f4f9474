#include "broker/stage/notices.h"

namespace liaison::broker {

std::string ItemSigner::NoticeId(const liaison::v1::Notice& notice) {
  if (notice.kind() == liaison::v1::NOTICE_KIND_EVIDENCE_ERASED) {
    // One per (item, addressee): the item id stands in for a message id.
    return NoticeItemIdOf(notice.kind(), MessageId("evidence:" + notice.evidence_item_id()),
                          EndpointId(notice.recipient()), EndpointId(notice.addressee()))
        .value();
  }
  if (notice.kind() == liaison::v1::NOTICE_KIND_LINKAGE_HIT) {
    return LinkageHitItemIdOf(MessageId(notice.message_id()), EndpointId(notice.addressee()),
                              notice.owner_ref())
        .value();
  }
  return NoticeItemIdOf(notice.kind(), MessageId(notice.message_id()),
                        EndpointId(notice.recipient()), EndpointId(notice.addressee()))
      .value();
}

absl::StatusOr<std::string> ItemSigner::Notice(liaison::v1::Notice notice, absl::Time now) const {
  std::string addressee = notice.addressee();
  std::string item_id = NoticeId(notice);
  liaison::v1::Statement statement;
  *statement.mutable_notice() = std::move(notice);
  return Item(addressee, std::move(item_id), std::move(statement), now);
}

absl::StatusOr<std::string> ItemSigner::Receipt(liaison::v1::Receipt receipt,
                                                absl::Time now) const {
  std::string addressee = receipt.addressee();
  std::string item_id =
      ReceiptItemIdOf(MessageId(receipt.message_id()), EndpointId(receipt.recipient())).value();
  liaison::v1::Statement statement;
  *statement.mutable_receipt() = std::move(receipt);
  return Item(addressee, std::move(item_id), std::move(statement), now);
}

absl::StatusOr<ItemSigner::Unsigned> ItemSigner::ReceiptLeaf(liaison::v1::Receipt receipt,
                                                             absl::Time now) const {
  liaison::v1::DeliveryItem item;
  item.set_item_id(
      ReceiptItemIdOf(MessageId(receipt.message_id()), EndpointId(receipt.recipient())).value());
  item.set_recipient(receipt.addressee());
  liaison::v1::Statement statement;
  *statement.mutable_receipt() = std::move(receipt);
  absl::StatusOr<std::string> leaf = countersigner_->Leaf(std::move(statement), now);
  if (!leaf.ok()) return leaf.status();
  return Unsigned{item.SerializeAsString(), std::move(*leaf)};
}

absl::StatusOr<std::string> ItemSigner::Item(const std::string& addressee, std::string item_id,
                                             liaison::v1::Statement statement,
                                             absl::Time now) const {
  absl::StatusOr<liaison::v1::BrokerSigned> signed_statement =
      countersigner_->Sign(std::move(statement), now);
  if (!signed_statement.ok()) return signed_statement.status();
  liaison::v1::DeliveryItem item;
  item.set_item_id(std::move(item_id));
  item.set_recipient(addressee);
  *item.mutable_statement() = std::move(*signed_statement);
  return item.SerializeAsString();
}

}  // namespace liaison::broker
