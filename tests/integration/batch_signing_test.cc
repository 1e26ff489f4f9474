// Batch-signed statements through a real broker (embedded Kafka, mTLS on
// loopback, real signatures): the policy stage signs one Merkle root per
// batch of delivery statements and receipts, every recipient verifies each
// item's inclusion proof against the signed root, and an item whose proof
// or root was tampered with on the delivery topic is refused with the
// reason and stays unacknowledged.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "base/testing/status_matchers.h"
#include "certs/merkle.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"
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
  LIAISON_ASSERT_OK_AND_ASSIGN(auto sender, (*broker)->Client("RO-IGPR"));
  constexpr int kMessages = 3;
  for (int i = 0; i < kMessages; ++i) {
    liaison::v1::Message m = TestAlert("RO-IGPR", {"DE-BKA"}, absl::Now());
    LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, sender->Seal(m, absl::Now()));
    LIAISON_ASSERT_OK(sender->Send(envelope).status());
  }
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
