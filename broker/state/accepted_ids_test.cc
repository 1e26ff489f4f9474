// The deduplication window of accepted ids and acknowledged items.
#include "broker/state/accepted_ids.h"

#include <string>

#include "base/proto_time.h"
#include "broker/state/acked_items.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

liaison::v1::AcceptedId Accepted(const std::string& id, absl::Time at, int32_t partition = 0,
                                 int64_t offset = 0) {
  liaison::v1::AcceptedId a;
  a.set_message_id(id);
  a.set_sender("DE-BKA");
  a.set_message_sha256(std::string(32, 'h'));
  *a.mutable_accepted_at() = ToProto(at);
  a.set_partition(partition);
  a.set_offset(offset);
  return a;
}

TEST(AcceptedIds, FindsWhatWasInsertedAndForgetsItAfterTheWindow) {
  AcceptedIds ids(absl::Hours(1));
  ids.Insert(Accepted("m-1", kT0));
  ids.Insert(Accepted("m-2", kT0 + absl::Minutes(30)));
  ASSERT_TRUE(ids.Find(MessageId("m-1")).has_value());
  EXPECT_EQ(ids.Find(MessageId("m-1"))->sender(), "DE-BKA");
  EXPECT_FALSE(ids.Find(MessageId("m-3")).has_value());
  EXPECT_EQ(ids.size(), 2u);
  // Exactly one window later m-1 is still in (older than the window goes).
  ids.Insert(Accepted("m-3", kT0 + absl::Hours(1)));
  EXPECT_TRUE(ids.Find(MessageId("m-1")).has_value());
  ids.Insert(Accepted("m-4", kT0 + absl::Hours(1) + absl::Seconds(1)));
  EXPECT_FALSE(ids.Find(MessageId("m-1")).has_value());
  EXPECT_TRUE(ids.Find(MessageId("m-2")).has_value());
  EXPECT_EQ(ids.size(), 3u);
}

TEST(AcceptedIds, ARenewedIdIsNotEvictedWithItsOldEntry) {
  AcceptedIds ids(absl::Hours(1));
  ids.Insert(Accepted("m-1", kT0));
  ids.Insert(Accepted("m-1", kT0 + absl::Minutes(50)));  // accepted again (replayed record)
  ids.Insert(Accepted("m-2", kT0 + absl::Minutes(70)));  // evicts the first m-1 entry
  ASSERT_TRUE(ids.Find(MessageId("m-1")).has_value());
  EXPECT_EQ(FromProto(ids.Find(MessageId("m-1"))->accepted_at()), kT0 + absl::Minutes(50));
  ids.Insert(Accepted("m-3", kT0 + absl::Minutes(111)));
  EXPECT_FALSE(ids.Find(MessageId("m-1")).has_value());
}

TEST(AcceptedIds, InRangeIsOnePartitionFromInclusiveToExclusive) {
  AcceptedIds ids(absl::Hours(1));
  ids.Insert(Accepted("a", kT0, 0, 9));
  ids.Insert(Accepted("b", kT0, 0, 10));
  ids.Insert(Accepted("c", kT0, 0, 19));
  ids.Insert(Accepted("d", kT0, 0, 20));
  ids.Insert(Accepted("e", kT0, 1, 15));
  std::vector<std::string> found;
  for (const liaison::v1::AcceptedId& a : ids.InRange(0, 10, 20)) found.push_back(a.message_id());
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, std::vector<std::string>({"b", "c"}));
  EXPECT_TRUE(ids.InRange(2, 0, 100).empty());
  EXPECT_TRUE(ids.InRange(0, 10, 10).empty());
}

TEST(AckedItems, KeysAreScopedByRecipientAndForgottenAfterTheWindow) {
  AckedItems acked(absl::Hours(1));
  acked.Insert(EndpointId("DE-BKA"), AckItemId("d-1"), kT0);
  EXPECT_TRUE(acked.Contains(EndpointId("DE-BKA"), AckItemId("d-1")));
  // The same item id acknowledged by another endpoint is another item.
  EXPECT_FALSE(acked.Contains(EndpointId("FR-PN"), AckItemId("d-1")));
  acked.Insert(EndpointId("DE-BKA"), AckItemId("d-1"), kT0 + absl::Minutes(5));  // duplicate
  EXPECT_EQ(acked.size(), 1u);
  acked.Insert(EndpointId("FR-PN"), AckItemId("d-1"), kT0 + absl::Minutes(30));
  EXPECT_EQ(acked.size(), 2u);
  acked.Insert(EndpointId("SE-NOA"), AckItemId("r-2"), kT0 + absl::Minutes(61));
  EXPECT_FALSE(acked.Contains(EndpointId("DE-BKA"), AckItemId("d-1")));
  EXPECT_TRUE(acked.Contains(EndpointId("FR-PN"), AckItemId("d-1")));
  EXPECT_EQ(acked.size(), 2u);
  EXPECT_EQ(AckedItems::Key(EndpointId("DE-BKA"), AckItemId("d-1")), "DE-BKA/d-1");
}

}  // namespace
}  // namespace liaison::broker
