// The node's shared delivery consumer (broker/delivery/delivery_hub.h): a
// stream standing by for its endpoint takes over from the first item left
// unacknowledged, a full window holds back its own endpoint only, and the
// consumer per stream (--delivery-consumer=per-stream) still redelivers.
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "base/testing/status_matchers.h"
#include "connectors/kafka/embedded_cluster.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"

namespace liaison::testing {
namespace {

using endpoint::Subscription;
using endpoint::VerifiedItem;

std::vector<std::string> ItemIds(const std::vector<Subscription::Received>& items) {
  std::vector<std::string> ids;
  for (const Subscription::Received& r : items) {
    if (r.verified.ok() && r.verified->kind() == VerifiedItem::Kind::kDelivery) {
      ids.push_back(r.item.item_id());
    }
  }
  return ids;
}

absl::Status SendAlerts(endpoint::Client& sender, const std::vector<std::string>& to, int count) {
  for (int i = 0; i < count; ++i) {
    liaison::v1::Message m = TestAlert("RO-IGPR", to, absl::Now());
    absl::StatusOr<liaison::v1::SignedEnvelope> envelope = sender.Seal(m, absl::Now());
    if (!envelope.ok()) return envelope.status();
    absl::StatusOr<liaison::v1::SendResult> sent = sender.Send(*envelope);
    if (!sent.ok()) return sent.status();
  }
  return absl::OkStatus();
}

TEST(DeliveryHub, AStandbyStreamOfTheEndpointTakesOverFromTheFirstItemLeftUnacknowledged) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, (*broker)->Client("RO-IGPR"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, (*broker)->Client("DE-BKA"));
  LIAISON_ASSERT_OK(SendAlerts(*ro, {"DE-BKA"}, 3));

  LIAISON_ASSERT_OK_AND_ASSIGN(auto first, de->Subscribe());
  std::vector<std::string> ids = ItemIds(Collect(*first, 3, absl::Seconds(30), /*ack=*/false));
  ASSERT_EQ(ids.size(), 3u);
  LIAISON_ASSERT_OK(first->Ack({ids[0]}));
  // The acknowledgement is durable once the sender's receipt comes.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro_sub, ro->Subscribe());
  std::vector<Subscription::Received> receipts = Collect(*ro_sub, 1, absl::Seconds(30));
  ASSERT_EQ(receipts.size(), 1u);

  // A second stream of DE-BKA on the node: ready, standing by.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto second, de->Subscribe());
  absl::StatusOr<Subscription::Received> nothing = second->Next(absl::Seconds(2));
  EXPECT_EQ(nothing.status().code(), absl::StatusCode::kDeadlineExceeded)
      << "the first stream still reads every partition";

  // The first goes: the second gets what it left unacknowledged, and only that.
  LIAISON_ASSERT_OK(first->Close());
  std::vector<std::string> again = ItemIds(Collect(*second, 2, absl::Seconds(30)));
  EXPECT_EQ(std::set<std::string>(again.begin(), again.end()),
            std::set<std::string>({ids[1], ids[2]}));
  absl::StatusOr<Subscription::Received> more = second->Next(absl::Seconds(2));
  EXPECT_EQ(more.status().code(), absl::StatusCode::kDeadlineExceeded)
      << "the acknowledged item came again";
}

// A command run again (liaison subscribe --idle): the endpoint's partitions
// lingered on the node, paused, and the next stream reads what came since.
TEST(DeliveryHub, TheNextStreamOfAnEndpointReadsWhatCameWhileNoneWasOpen) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, (*broker)->Client("RO-IGPR"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, (*broker)->Client("DE-BKA"));
  std::set<std::string> seen;
  for (int round = 0; round < 4; ++round) {
    LIAISON_ASSERT_OK(SendAlerts(*ro, {"DE-BKA"}, 1));
    LIAISON_ASSERT_OK_AND_ASSIGN(auto sub, de->Subscribe());
    std::vector<std::string> ids = ItemIds(Collect(*sub, 1, absl::Seconds(20)));
    ASSERT_EQ(ids.size(), 1u) << "round " << round;
    EXPECT_TRUE(seen.insert(ids[0]).second) << "round " << round << ": came again";
    LIAISON_ASSERT_OK(sub->Close());
  }
}

// A partition held (no stream of the endpoint open) when the node's consumer
// lost its group membership comes back to the node in the next rebalance:
// it is read again, and the endpoint's next stream gets what came meanwhile.
// (librdkafka kept such a partition paused: the item never came.)
TEST(DeliveryHub, AnItemHeldWhenTheNodeLostItsAssignmentComesOnceThePartitionIsBack) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, (*broker)->Client("RO-IGPR"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, (*broker)->Client("DE-BKA"));
  {
    // The node reads DE-BKA's topic; then DE-BKA's stream goes.
    LIAISON_ASSERT_OK(SendAlerts(*ro, {"DE-BKA"}, 1));
    LIAISON_ASSERT_OK_AND_ASSIGN(auto sub, de->Subscribe());
    ASSERT_EQ(ItemIds(Collect(*sub, 1, absl::Seconds(30))).size(), 1u);
    LIAISON_ASSERT_OK(sub->Close());
  }
  // An item with no stream to take it: its partition is held.
  LIAISON_ASSERT_OK(SendAlerts(*ro, {"DE-BKA"}, 1));
  absl::SleepFor(absl::Seconds(1));
  // The group forgets the node's members (the delivery consumer heartbeats
  // every 500 ms on the embedded cluster, the policy stage's every 3 s):
  // their assignments are lost, and come back on rejoining.
  ASSERT_NE((*broker)->kafka(), nullptr);
  LIAISON_ASSERT_OK((*broker)->kafka()->PushRequestErrors(
      kafka::ApiKey::kHeartbeat,
      std::vector<kafka::KafkaError>(4, kafka::KafkaError::kUnknownMemberId)));
  absl::SleepFor(absl::Seconds(4));

  LIAISON_ASSERT_OK_AND_ASSIGN(auto sub, de->Subscribe());
  EXPECT_EQ(ItemIds(Collect(*sub, 1, absl::Seconds(30))).size(), 1u)
      << "the held partition never came back";
}

TEST(DeliveryHub, AFullWindowHoldsBackItsOwnEndpointOnly) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, (*broker)->Client("RO-IGPR"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, (*broker)->Client("DE-BKA"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto nl, (*broker)->Client("NL-NP"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de_sub, de->Subscribe(/*window=*/2));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto nl_sub, nl->Subscribe());
  LIAISON_ASSERT_OK(SendAlerts(*ro, {"DE-BKA", "NL-NP"}, 6));

  // NL-NP gets all six while DE-BKA's window is full.
  EXPECT_EQ(ItemIds(Collect(*nl_sub, 6, absl::Seconds(30))).size(), 6u);
  std::vector<std::string> held = ItemIds(Collect(*de_sub, 6, absl::Seconds(3), /*ack=*/false));
  ASSERT_EQ(held.size(), 2u) << "the window is 2";
  // Room again: the rest comes, each item once.
  LIAISON_ASSERT_OK(de_sub->Ack(held));
  std::vector<std::string> rest = ItemIds(Collect(*de_sub, 4, absl::Seconds(30)));
  std::set<std::string> all(held.begin(), held.end());
  all.insert(rest.begin(), rest.end());
  EXPECT_EQ(rest.size(), 4u);
  EXPECT_EQ(all.size(), 6u);
}

TEST(DeliveryHub, AConsumerPerStreamStillRedeliversWhatWasNotAcknowledged) {
  TestBrokerOptions options;
  options.shared_delivery = false;
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, (*broker)->Client("RO-IGPR"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, (*broker)->Client("DE-BKA"));
  LIAISON_ASSERT_OK(SendAlerts(*ro, {"DE-BKA"}, 2));
  std::vector<std::string> ids;
  {
    LIAISON_ASSERT_OK_AND_ASSIGN(auto sub, de->Subscribe());
    ids = ItemIds(Collect(*sub, 2, absl::Seconds(30), /*ack=*/false));
    ASSERT_EQ(ids.size(), 2u);
    LIAISON_ASSERT_OK(sub->Close());
  }
  LIAISON_ASSERT_OK_AND_ASSIGN(auto sub, de->Subscribe());
  std::vector<std::string> again = ItemIds(Collect(*sub, 2, absl::Seconds(30)));
  EXPECT_EQ(std::set<std::string>(again.begin(), again.end()),
            std::set<std::string>(ids.begin(), ids.end()));
}

}  // namespace
}  // namespace liaison::testing
