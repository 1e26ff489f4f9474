// Writes broker-signed notices and receipts to the addressee's delivery
// topic, where its Subscribe stream picks them up like any other item.
#ifndef LIAISON_BROKER_NOTICES_H_
#define LIAISON_BROKER_NOTICES_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/countersigner.h"
#include "broker/topics.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/envelope.pb.h"

namespace liaison::broker {

class NoticeWriter {
 public:
  using Done = std::function<void(absl::Status)>;

  NoticeWriter(Topics topics, kafka::Producer* producer, const Countersigner* countersigner)
      : topics_(std::move(topics)), producer_(producer), countersigner_(countersigner) {}

  // Signs `notice` and writes it for notice.addressee(). Thread-safe; `done`
  // (optional) runs on the producer thread with the Kafka outcome.
  void Write(liaison::v1::Notice notice, absl::Time now, Done done = nullptr) const;
  void Write(liaison::v1::Receipt receipt, absl::Time now, Done done = nullptr) const;

  // The DeliveryItem record for a signed notice/receipt (exposed for tests).
  static std::string ItemId(const liaison::v1::Notice& notice);

 private:
  void WriteItem(const std::string& addressee, std::string item_id,
                 liaison::v1::Statement statement, absl::Time now, Done done) const;

  const Topics topics_;
  kafka::Producer* const producer_;
  const Countersigner* const countersigner_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_NOTICES_H_
