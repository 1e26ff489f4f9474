// Batch-signed statements through a real broker (embedded Kafka, mTLS on
// loopback, real signatures): the policy stage signs one Merkle root per
// batch of delivery statements and receipts, every recipient verifies each
// item's inclusion proof against the signed root, and an item whose proof
// or root was tampered with on the delivery topic is refused with the
// reason and stays unacknowledged. The receipts of one acknowledgement
// batch travel as one signed event, one acknowledged-items record and one
// delivery record per sender, and each still verifies on its own.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "base/testing/status_matchers.h"
#include "certs/merkle.h"
#include "connectors/kafka/producer.h"
#include "connectors/kafka/reader.h"
#include "gtest/gtest.h"
#include "liaison/v1/broker_state.pb.h"
#include "tests/fixtures/test_broker.h"

namespace liaison::testing {
namespace {

using endpoint::Subscription;
using endpoint::VerifiedItem;

// The next item with id `item_id` (others are skipped, unacknowledged).
absl::StatusOr<Subscription::Received> NextWithId(Subscription& sub, const std::string& item_id) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    absl::StatusOr<Subscription::Received> next = sub.Next(deadline - absl::Now());
    if (!next.ok()) return next.status();
    if (next->item.item_id() == item_id) return next;
  }
  return absl::DeadlineExceededError(item_id);
}

TEST(BatchSigning, RecipientsVerifyBatchSignedItemsAndRefuseTamperedOnes) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  std::vector<std::unique_ptr<endpoint::Client>> clients;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto subs,
                               SubscribeAll(**broker, {"DE-BKA", "NL-NP", "RO-IGPR"}, clients));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto sender, (*broker)->Client("RO-IGPR"));
  constexpr int kMessages = 6;
  std::set<std::string> sent;
  for (int i = 0; i < kMessages; ++i) {
    liaison::v1::Message m = TestAlert("RO-IGPR", {"DE-BKA", "NL-NP"}, absl::Now());
    LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, sender->Seal(m, absl::Now()));
    LIAISON_ASSERT_OK(sender->Send(envelope).status());
    sent.insert(m.header().message_id());
  }

  // Both recipients: every delivery batch-signed, verified (root signature,
  // inclusion proof, then the sender's own signature) and acknowledged.
  std::vector<Subscription::Received> at_de;
  for (int r = 0; r < 2; ++r) {
    std::vector<Subscription::Received> got = Collect(*subs[r], kMessages, absl::Seconds(60));
    std::set<std::string> delivered;
    for (const Subscription::Received& g : got) {
      ASSERT_TRUE(g.verified.ok()) << g.verified.status();
      EXPECT_TRUE(g.item.has_batched()) << "a per-item signature: " << g.item.item_id();
      EXPECT_FALSE(g.item.has_statement());
      ASSERT_EQ(g.verified->kind(), VerifiedItem::Kind::kDelivery);
      ASSERT_TRUE(g.verified->sender().has_value());
      delivered.insert(g.verified->message()->header().message_id());
    }
    EXPECT_EQ(delivered, sent) << "recipient " << r;
    if (r == 0) at_de = std::move(got);
  }
  // The sender's receipts are batch-signed too.
  std::vector<Subscription::Received> receipts =
      Collect(*subs[2], 2 * kMessages, absl::Seconds(60));
  ASSERT_EQ(receipts.size(), 2u * kMessages);
  for (const Subscription::Received& g : receipts) {
    ASSERT_TRUE(g.verified.ok()) << g.verified.status();
    EXPECT_EQ(g.verified->kind(), VerifiedItem::Kind::kReceipt);
    EXPECT_TRUE(g.item.has_batched());
  }

  // Copies of a genuine delivery, changed on the delivery topic by whoever
  // can write it, each under a fresh item id.
  ASSERT_FALSE(at_de.empty());
  const liaison::v1::DeliveryItem genuine = at_de[0].item;
  std::vector<std::pair<liaison::v1::DeliveryItem, std::string>> forged;
  {
    liaison::v1::DeliveryItem f = genuine;  // the statement changed under its proof
    f.set_item_id("d-forged-statement");
    std::string& s = *f.mutable_batched()->mutable_statement();
    s[s.size() / 2] ^= 0x01;
    forged.push_back({f, "does not lead to the signed root"});
  }
  {
    liaison::v1::DeliveryItem f = genuine;  // a proof for a tree of another size
    f.set_item_id("d-forged-size");
    f.mutable_batched()->mutable_inclusion()->set_tree_size(
        genuine.batched().inclusion().tree_size() + 1000);
    forged.push_back({f, "inclusion"});
  }
  {
    liaison::v1::DeliveryItem f = genuine;  // under another batch's (genuine) root
    f.set_item_id("d-other-root");
    ASSERT_NE(receipts[0].item.batched().root().SerializeAsString(),
              genuine.batched().root().SerializeAsString());
    *f.mutable_batched()->mutable_root() = receipts[0].item.batched().root();
    forged.push_back({f, "inclusion"});
  }
  {
    liaison::v1::DeliveryItem f = genuine;  // the root's signature broken
    f.set_item_id("d-forged-root");
    std::string& sig = *f.mutable_batched()->mutable_root()->mutable_signature();
    sig[sig.size() / 2] ^= 0x01;
    forged.push_back({f, "batch root: signature does not verify"});
  }
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<kafka::Producer> producer,
                               kafka::Producer::Create((*broker)->KafkaClient()));
  for (const auto& [item, unused] : forged) {
    producer->Produce((*broker)->topics().Deliver("DE-BKA"), "forged", item.SerializeAsString(),
                      [](const kafka::DeliveryReport& report) {
                        EXPECT_TRUE(report.status.ok()) << report.status;
                      });
  }
  LIAISON_ASSERT_OK(producer->Flush(absl::Seconds(10)));
  for (const auto& [item, reason] : forged) {
    LIAISON_ASSERT_OK_AND_ASSIGN(Subscription::Received got, NextWithId(*subs[0], item.item_id()));
    ASSERT_FALSE(got.verified.ok()) << item.item_id() << " was accepted";
    EXPECT_EQ(got.verified.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(got.verified.status().message(), reason))
        << item.item_id() << ": " << got.verified.status();
  }
  // Refused items are never acknowledged: a new stream gets them again.
  LIAISON_ASSERT_OK(subs[0]->Close());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto again, clients[0]->Subscribe());
  LIAISON_ASSERT_OK_AND_ASSIGN(Subscription::Received redelivered,
                               NextWithId(*again, "d-forged-statement"));
  EXPECT_FALSE(redelivered.verified.ok());
}

// Every record of `topic` (partitions 0 .. partitions-1).
std::vector<kafka::Record> ReadAll(const TestBroker& broker, const std::string& topic,
                                   int partitions) {
  std::vector<kafka::Record> out;
  for (int p = 0; p < partitions; ++p) {
    absl::StatusOr<std::vector<kafka::Record>> records =
        kafka::ReadPartition(broker.KafkaClient(), topic, p, 0, kafka::kToEnd, absl::Seconds(10));
    EXPECT_TRUE(records.ok()) << topic << ": " << records.status();
    if (records.ok()) out.insert(out.end(), records->begin(), records->end());
  }
  return out;
}

// Sends `count` alerts `from` -> `to` through `broker`, each accepted.
void SendAlerts(TestBroker& broker, const std::string& from, const std::vector<std::string>& to,
                int count) {
  absl::StatusOr<std::unique_ptr<endpoint::Client>> sender = broker.Client(from);
  ASSERT_TRUE(sender.ok()) << sender.status();
  for (int i = 0; i < count; ++i) {
    liaison::v1::Message m = TestAlert(from, to, absl::Now());
    LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, (*sender)->Seal(m, absl::Now()));
    LIAISON_ASSERT_OK((*sender)->Send(envelope).status());
  }
}

TEST(BatchSigning, ReceiptsOfOneAcknowledgementBatchTravelAsOneRecordPerSender) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  const broker::Topics& topics = (*broker)->topics();
  std::vector<std::unique_ptr<endpoint::Client>> clients;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto subs,
                               SubscribeAll(**broker, {"DE-BKA", "RO-IGPR", "NL-NP"}, clients));
  constexpr int kPerSender = 4;
  for (const char* from : {"RO-IGPR", "NL-NP"}) {
    ASSERT_NO_FATAL_FAILURE(SendAlerts(**broker, from, {"DE-BKA"}, kPerSender));
  }
  // DE-BKA acknowledges all eight deliveries in one call: one batch.
  std::vector<Subscription::Received> got =
      Collect(*subs[0], 2 * kPerSender, absl::Seconds(60), /*ack=*/false);
  ASSERT_EQ(got.size(), 2u * kPerSender);
  std::vector<std::string> ids;
  for (const Subscription::Received& g : got) ids.push_back(g.item.item_id());
  LIAISON_ASSERT_OK(subs[0]->Ack(ids));

  // Each sender: its four receipts, each verified on its own (root
  // signature, inclusion proof), all under one signed root.
  std::vector<Subscription::Received> at_ro;
  for (int s = 1; s <= 2; ++s) {
    std::vector<Subscription::Received> receipts = Collect(*subs[s], kPerSender, absl::Seconds(60));
    ASSERT_EQ(receipts.size(), static_cast<size_t>(kPerSender));
    std::set<std::string> roots;
    std::set<uint64_t> leaves;
    for (const Subscription::Received& r : receipts) {
      ASSERT_TRUE(r.verified.ok()) << r.verified.status();
      ASSERT_EQ(r.verified->kind(), VerifiedItem::Kind::kReceipt);
      EXPECT_EQ(r.verified->statement().receipt().recipient(), "DE-BKA");
      ASSERT_TRUE(r.item.has_batched());
      roots.insert(r.item.batched().root().SerializeAsString());
      leaves.insert(r.item.batched().inclusion().leaf_index());
    }
    EXPECT_EQ(roots.size(), 1u) << "one signature for the acknowledgement batch";
    EXPECT_EQ(leaves.size(), static_cast<size_t>(kPerSender)) << "a proof per receipt";
    if (s == 1) at_ro = std::move(receipts);
  }

  // In Kafka: one signed event with the eight receipts on ingress, one
  // record of the eight acknowledged items, one record per sender.
  int events = 0;
  for (const kafka::Record& r : ReadAll(**broker, topics.Ingress(), 6)) {
    liaison::v1::IngressRecord record;
    liaison::v1::IngressEvent event;
    if (record.ParseFromString(r.value) && record.has_event() &&
        event.ParseFromString(record.event().event()) && event.has_receipts()) {
      ++events;
      EXPECT_EQ(event.receipts().receipts_size(), 2 * kPerSender);
      EXPECT_EQ(r.key, "DE-BKA");
    }
  }
  EXPECT_EQ(events, 1);
  int acked_records = 0;
  for (const kafka::Record& r : ReadAll(**broker, topics.AckedItems(), 3)) {
    liaison::v1::AckedItemBatch batch;
    ASSERT_TRUE(batch.ParseFromString(r.value));
    if (batch.items_size() > 0 && batch.items(0).recipient() == "DE-BKA") {
      ++acked_records;
      EXPECT_EQ(batch.items_size(), 2 * kPerSender);
    }
  }
  EXPECT_EQ(acked_records, 1);
  std::vector<liaison::v1::DeliveryItem> grouped;
  for (const kafka::Record& r : ReadAll(**broker, topics.Deliver("RO-IGPR"), 3)) {
    liaison::v1::DeliveryItem item;
    ASSERT_TRUE(item.ParseFromString(r.value));
    if (item.grouped_size() > 0) grouped.push_back(item);
  }
  ASSERT_EQ(grouped.size(), 1u) << "one record for RO-IGPR's four receipts";
  ASSERT_EQ(grouped[0].grouped_size(), kPerSender);
  EXPECT_EQ(grouped[0].recipient(), "RO-IGPR");
  EXPECT_TRUE(absl::StartsWith(grouped[0].item_id(), "g-"));

  // A copy of that record changed on the delivery topic: every item under a
  // fresh id, one receipt's statement altered (its proof no longer leads to
  // the signed root). That one is refused with the reason; the others verify.
  liaison::v1::DeliveryItem copy = grouped[0];
  copy.set_item_id("g-copy");
  for (int i = 0; i < copy.grouped_size(); ++i) {
    copy.mutable_grouped(i)->set_item_id("r-copy-" + std::to_string(i));
  }
  std::string& statement = *copy.mutable_grouped(1)->mutable_batched()->mutable_statement();
  statement[statement.size() / 2] ^= 0x01;
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<kafka::Producer> producer,
                               kafka::Producer::Create((*broker)->KafkaClient()));
  producer->Produce(topics.Deliver("RO-IGPR"), "RO-IGPR", copy.SerializeAsString(),
                    [](const kafka::DeliveryReport& report) {
                      EXPECT_TRUE(report.status.ok()) << report.status;
                    });
  LIAISON_ASSERT_OK(producer->Flush(absl::Seconds(10)));
  for (int i = 0; i < kPerSender; ++i) {
    LIAISON_ASSERT_OK_AND_ASSIGN(Subscription::Received r,
                                 NextWithId(*subs[1], "r-copy-" + std::to_string(i)));
    if (i == 1) {
      ASSERT_FALSE(r.verified.ok()) << "an altered receipt was accepted";
      EXPECT_EQ(r.verified.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(
          absl::StrContains(r.verified.status().message(), "does not lead to the signed root"))
          << r.verified.status();
    } else {
      EXPECT_TRUE(r.verified.ok()) << i << ": " << r.verified.status();
    }
  }
}

// BrokerConfig::ack_linger: acknowledgements sent one call at a time within
// the linger make one batch (one signed event, one acknowledged-items record).
TEST(BatchSigning, AcknowledgementsSentApartWithinTheLingerMakeOneBatch) {
  TestBrokerOptions options;
  options.ack_linger_ms = 3000;
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  std::vector<std::unique_ptr<endpoint::Client>> clients;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto subs, SubscribeAll(**broker, {"DE-BKA", "RO-IGPR"}, clients));
  constexpr int kMessages = 3;
  ASSERT_NO_FATAL_FAILURE(SendAlerts(**broker, "RO-IGPR", {"DE-BKA"}, kMessages));
  std::vector<Subscription::Received> got =
      Collect(*subs[0], kMessages, absl::Seconds(60), /*ack=*/false);
  ASSERT_EQ(got.size(), static_cast<size_t>(kMessages));
  for (const Subscription::Received& g : got) {
    LIAISON_ASSERT_OK(subs[0]->Ack({g.item.item_id()}));  // one call each
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::vector<Subscription::Received> receipts = Collect(*subs[1], kMessages, absl::Seconds(60));
  ASSERT_EQ(receipts.size(), static_cast<size_t>(kMessages));
  int events = 0;
  for (const kafka::Record& r : ReadAll(**broker, (*broker)->topics().Ingress(), 6)) {
    liaison::v1::IngressRecord record;
    liaison::v1::IngressEvent event;
    if (record.ParseFromString(r.value) && record.has_event() &&
        event.ParseFromString(record.event().event()) && event.has_receipts()) {
      ++events;
      EXPECT_EQ(event.receipts().receipts_size(), kMessages);
    }
  }
  EXPECT_EQ(events, 1) << "the three acknowledgements in one batch";
}

// BrokerConfig::batch_signing off (the benchmark's one-signature-per-statement
// side): every delivery and receipt carries its own signed statement, and
// recipients verify it as before.
TEST(BatchSigning, OffSignsEachStatementAndRecipientsVerifyIt) {
  TestBrokerOptions options;
  options.batch_signing = false;
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  std::vector<std::unique_ptr<endpoint::Client>> clients;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto subs, SubscribeAll(**broker, {"DE-BKA", "RO-IGPR"}, clients));
  constexpr int kMessages = 3;
  ASSERT_NO_FATAL_FAILURE(SendAlerts(**broker, "RO-IGPR", {"DE-BKA"}, kMessages));
  std::vector<Subscription::Received> got = Collect(*subs[0], kMessages, absl::Seconds(60));
  ASSERT_EQ(got.size(), static_cast<size_t>(kMessages));
  for (const Subscription::Received& g : got) {
    ASSERT_TRUE(g.verified.ok()) << g.verified.status();
    EXPECT_EQ(g.verified->kind(), VerifiedItem::Kind::kDelivery);
    EXPECT_TRUE(g.item.has_statement());
    EXPECT_FALSE(g.item.has_batched());
  }
  std::vector<Subscription::Received> receipts = Collect(*subs[1], kMessages, absl::Seconds(60));
  ASSERT_EQ(receipts.size(), static_cast<size_t>(kMessages));
  for (const Subscription::Received& g : receipts) {
    ASSERT_TRUE(g.verified.ok()) << g.verified.status();
    EXPECT_EQ(g.verified->kind(), VerifiedItem::Kind::kReceipt);
    EXPECT_TRUE(g.item.has_statement());
    EXPECT_FALSE(g.item.has_batched());
  }
}

}  // namespace
}  // namespace liaison::testing
