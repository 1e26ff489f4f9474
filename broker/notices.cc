#include "broker/notices.h"

#include "base/log.h"

namespace liaison::broker {

std::string NoticeWriter::ItemId(const liaison::v1::Notice& notice) {
  return NoticeItemId(notice.kind(), notice.message_id(), notice.recipient(),
                      notice.addressee());
}

void NoticeWriter::Write(liaison::v1::Notice notice, absl::Time now, Done done) const {
  std::string addressee = notice.addressee();
  std::string item_id = ItemId(notice);
  liaison::v1::Statement statement;
  *statement.mutable_notice() = std::move(notice);
  WriteItem(addressee, std::move(item_id), std::move(statement), now, std::move(done));
}

void NoticeWriter::Write(liaison::v1::Receipt receipt, absl::Time now, Done done) const {
  std::string addressee = receipt.addressee();
  std::string item_id = ReceiptItemId(receipt.message_id(), receipt.recipient());
  liaison::v1::Statement statement;
  *statement.mutable_receipt() = std::move(receipt);
  WriteItem(addressee, std::move(item_id), std::move(statement), now, std::move(done));
}

void NoticeWriter::WriteItem(const std::string& addressee, std::string item_id,
                             liaison::v1::Statement statement, absl::Time now,
                             Done done) const {
  absl::StatusOr<liaison::v1::BrokerSigned> signed_statement =
      countersigner_->Sign(std::move(statement), now);
  if (!signed_statement.ok()) {
    log::Error("notice.sign_failed", {{"error", signed_statement.status().ToString()}});
    if (done) done(signed_statement.status());
    return;
  }
  liaison::v1::DeliveryItem item;
  item.set_item_id(item_id);
  item.set_recipient(addressee);
  *item.mutable_statement() = std::move(*signed_statement);
  producer_->Produce(topics_.Deliver(addressee), addressee, item.SerializeAsString(),
                     [done = std::move(done), item_id](const kafka::DeliveryReport& report) {
                       if (!report.status.ok()) {
                         log::Warning("notice.write_failed", {{"item_id", item_id},
                                                              {"error", report.status.ToString()}});
                       }
                       if (done) done(report.status);
                     });
}

}  // namespace liaison::broker
