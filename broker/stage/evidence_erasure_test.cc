// When an evidence item is due for erasure and why (evidence_erasure.h),
// and what erasing it writes: pure functions, no Kafka.
#include "broker/stage/evidence_erasure.h"

#include "base/proto_time.h"
#include "broker/stage/evidence_keeper.h"
#include "broker/state/evidence_book.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kUpload = absl::FromUnixSeconds(1780000000);

liaison::v1::EvidenceItemRecord Item() {
  liaison::v1::EvidenceItemRecord item;
  item.set_item_id("ITEM-1");
  item.set_jit_id("JIT-AMBER-ROUTE");
  item.set_uploader("RO-IGPR");
  item.set_ciphertext_sha256(std::string(32, 'c'));
  item.set_chunk_count(1);
  item.set_ciphertext_size(100);
  *item.mutable_completed_at() = ToProto(kUpload);
  *item.mutable_jit_end() = ToProto(kUpload + absl::Hours(24 * 100));
  item.add_wrapped_for("DE-BKA");
  item.add_wrapped_for("NL-NP");
  item.add_wrapped_for("BG-GDNP");
  return item;
}

liaison::v1::EvidenceGrant Grant(const std::string& recipient,
                                 std::optional<absl::Time> acked = std::nullopt) {
  liaison::v1::EvidenceGrant g;
  g.set_item_id("ITEM-1");
  g.set_recipient(recipient);
  g.mutable_item()->set_item_id("ITEM-1");
  g.mutable_item()->set_sha256(std::string(32, 'p'));
  if (acked) *g.mutable_acknowledged_at() = ToProto(*acked);
  return g;
}

const std::vector<std::string> kAllKeys = {"BG-GDNP", "DE-BKA", "NL-NP"};

TEST(EvidenceErasure, ByDefaultAnItemGoes28DaysAfterItsUpload) {
  EvidenceErasureDue due = ErasureDueOf(Item(), {Grant("DE-BKA")}, kAllKeys, std::nullopt, {});
  EXPECT_EQ(due.reason, liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
  EXPECT_EQ(due.due, kUpload + absl::Hours(24 * 28));
  due = ErasureDueOf(Item(), {}, kAllKeys, std::nullopt, {absl::Hours(1), absl::ZeroDuration()});
  EXPECT_EQ(due.due, kUpload + absl::Hours(1));
}

TEST(EvidenceErasure, EveryIntendedMemberAcknowledgingErasesAtTheLastAcknowledgement) {
  const absl::Time a = kUpload + absl::Minutes(5);
  const absl::Time b = kUpload + absl::Minutes(9);
  // Two of three acknowledged: not yet.
  EvidenceErasureDue due =
      ErasureDueOf(Item(), {Grant("DE-BKA", a), Grant("NL-NP", b)}, kAllKeys, std::nullopt, {});
  EXPECT_EQ(due.reason, liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
  // BG-GDNP was refused by the policy (its key destroyed): no longer intended.
  due = ErasureDueOf(Item(), {Grant("DE-BKA", a), Grant("NL-NP", b)}, {"DE-BKA", "NL-NP"},
                     std::nullopt, {});
  EXPECT_EQ(due.reason, liaison::v1::EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED);
  EXPECT_EQ(due.due, b);
}

TEST(EvidenceErasure, TheUploaderNeedNotAcknowledgeItsOwnItem) {
  liaison::v1::EvidenceItemRecord item = Item();
  item.add_wrapped_for("RO-IGPR");
  EXPECT_THAT(IntendedMembers(item, {"BG-GDNP", "DE-BKA", "RO-IGPR"}),
              ElementsAre("BG-GDNP", "DE-BKA"));
}

// Every key destroyed (all refused) or not yet read by this node's mirror:
// no acknowledgement can come, and none is assumed.
TEST(EvidenceErasure, AnItemWithoutIntendedMembersWaitsForItsRetentionLimit) {
  EvidenceErasureDue due = ErasureDueOf(Item(), {}, {}, std::nullopt, {});
  EXPECT_EQ(due.reason, liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
  EXPECT_EQ(due.due, kUpload + absl::Hours(24 * 28));
}

TEST(EvidenceErasure, TheJitsEndPlusGraceAndTheRegistrysNewEndCount) {
  liaison::v1::EvidenceItemRecord item = Item();
  *item.mutable_jit_end() = ToProto(kUpload + absl::Hours(24));
  EvidenceErasureDue due =
      ErasureDueOf(item, {}, kAllKeys, std::nullopt, {absl::Hours(24 * 28), absl::Hours(2)});
  EXPECT_EQ(due.reason, liaison::v1::EVIDENCE_ERASURE_REASON_JIT_ENDED);
  EXPECT_EQ(due.due, kUpload + absl::Hours(26));
  // The registry extended the JIT by ten days: the erasure follows.
  due = ErasureDueOf(item, {}, kAllKeys, kUpload + absl::Hours(24 * 11),
                     {absl::Hours(24 * 28), absl::Hours(2)});
  EXPECT_EQ(due.due, kUpload + absl::Hours(24 * 11 + 2));
}

TEST(EvidenceErasure, TheEarliestEraseByOfTheGrantsCounts) {
  liaison::v1::EvidenceGrant g1 = Grant("DE-BKA");
  *g1.mutable_erase_by() = ToProto(kUpload + absl::Hours(48));
  liaison::v1::EvidenceGrant g2 = Grant("NL-NP");
  *g2.mutable_erase_by() = ToProto(kUpload + absl::Hours(30));
  EvidenceErasureDue due = ErasureDueOf(Item(), {g1, g2}, kAllKeys, std::nullopt, {});
  EXPECT_EQ(due.reason, liaison::v1::EVIDENCE_ERASURE_REASON_ERASE_BY);
  EXPECT_EQ(due.due, kUpload + absl::Hours(30));
}

TEST(EvidenceErasure, ErasingTombstonesKeysAndGrantsRewritesTheRecordAndTellsEveryone) {
  const Topics topics("t");
  const absl::Time now = kUpload + absl::Hours(24 * 28);
  EvidenceErasurePlan plan = PlanEvidenceErasure(
      Item(), {Grant("DE-BKA"), Grant("NL-NP")}, kAllKeys,
      {liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE, now}, now, topics, "broker-1");
  std::vector<std::string> tombstones;
  const Outputs::Record* record = nullptr;
  for (const Outputs::Record& r : plan.records) {
    if (r.tombstone) tombstones.push_back(r.topic + " " + r.key);
    if (r.topic == topics.EvidenceItems()) record = &r;
  }
  EXPECT_THAT(tombstones,
              ElementsAre("t.evidence.keys ITEM-1/BG-GDNP", "t.evidence.keys ITEM-1/DE-BKA",
                          "t.evidence.keys ITEM-1/NL-NP", "t.evidence.grants ITEM-1/DE-BKA",
                          "t.evidence.grants ITEM-1/NL-NP"));
  ASSERT_NE(record, nullptr);
  liaison::v1::EvidenceItemRecord rewritten;
  ASSERT_TRUE(rewritten.ParseFromString(record->value));
  EXPECT_EQ(rewritten.erasure().reason(), liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
  EXPECT_EQ(FromProto(rewritten.erasure().erased_at()), now);
  EXPECT_EQ(plan.audit.operation(), liaison::v1::AUDIT_OPERATION_ERASURE);
  EXPECT_EQ(plan.audit.event(), "evidence-erased");
  EXPECT_EQ(plan.audit.evidence(0).item_id(), "ITEM-1");
  EXPECT_EQ(plan.audit.custody().erasure_reason(), liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
  std::vector<std::string> told;
  for (const liaison::v1::Notice& n : plan.notices) {
    EXPECT_EQ(n.kind(), liaison::v1::NOTICE_KIND_EVIDENCE_ERASED);
    EXPECT_EQ(n.evidence_item_id(), "ITEM-1");
    EXPECT_THAT(n.reasons(0), HasSubstr("erase your copies"));
    told.push_back(n.addressee());
  }
  EXPECT_THAT(told, ElementsAre("DE-BKA", "NL-NP", "RO-IGPR"));
}

TEST(EvidenceErasure, AJitExtensionRewritesTheRecordWithACustodyEntry) {
  const Topics topics;
  const absl::Time new_end = kUpload + absl::Hours(24 * 200);
  std::optional<EvidenceJitChange> change =
      PlanJitChange(Item(), new_end, kUpload + absl::Hours(1), topics, "b");
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(FromProto(change->updated.jit_end()), new_end);
  EXPECT_EQ(change->audit.event(), "evidence-jit-extended");
  EXPECT_EQ(change->audit.operation(), liaison::v1::AUDIT_OPERATION_RETENTION);
  EXPECT_EQ(FromProto(change->audit.custody().previous_jit_end()), kUpload + absl::Hours(24 * 100));
  EXPECT_EQ(FromProto(change->audit.custody().jit_end()), new_end);
  EXPECT_FALSE(PlanJitChange(Item(), kUpload + absl::Hours(24 * 100), kUpload, topics, "b"));
}

TEST(EvidenceErasure, AnAcknowledgementIsRecordedOnceAndNeverOnAnErasedItem) {
  const Topics topics;
  std::optional<Outputs::Record> r =
      AcknowledgedGrantRecord(Grant("DE-BKA"), Item(), kUpload + absl::Hours(1), topics);
  ASSERT_TRUE(r.has_value());
  liaison::v1::EvidenceGrant g;
  ASSERT_TRUE(g.ParseFromString(r->value));
  EXPECT_EQ(FromProto(g.acknowledged_at()), kUpload + absl::Hours(1));
  EXPECT_EQ(r->key, "ITEM-1/DE-BKA");
  EXPECT_FALSE(AcknowledgedGrantRecord(g, Item(), kUpload + absl::Hours(2), topics));
  EXPECT_FALSE(AcknowledgedGrantRecord(std::nullopt, Item(), kUpload, topics));
  liaison::v1::EvidenceItemRecord erased = Item();
  erased.mutable_erasure()->set_reason(liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
  EXPECT_FALSE(AcknowledgedGrantRecord(Grant("DE-BKA"), erased, kUpload, topics));
}

TEST(EvidenceErasure, EachItemBelongsToOneChain) {
  EXPECT_EQ(EvidenceChainOf("ITEM-1", 1), 0);
  const int32_t c = EvidenceChainOf("ITEM-1", 6);
  EXPECT_GE(c, 0);
  EXPECT_LT(c, 6);
  EXPECT_EQ(EvidenceChainOf("ITEM-1", 6), c);
}

// Chunks of three items interleaved in partition 2: A (offsets 10, 12, 14),
// B (11, 13), C (20, 21); D is in partition 3.
std::vector<liaison::v1::EvidenceItemRecord> Interleaved() {
  auto item = [](const std::string& id, int32_t partition, std::vector<int64_t> offsets) {
    liaison::v1::EvidenceItemRecord r = Item();
    r.set_item_id(id);
    r.set_partition(partition);
    r.set_chunk_count(static_cast<int64_t>(offsets.size()));
    for (int64_t o : offsets) r.add_offsets(o);
    return r;
  };
  return {item("A", 2, {10, 12, 14}), item("B", 2, {11, 13}), item("C", 2, {20, 21}),
          item("D", 3, {0, 1})};
}
void Erase(std::vector<liaison::v1::EvidenceItemRecord>& items, const std::string& id) {
  for (auto& r : items) {
    if (r.item_id() == id) {
      r.mutable_erasure()->set_reason(liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
    }
  }
}

TEST(ChunkDeletion, NothingPastTheFirstChunkOfTheOldestLiveItem) {
  std::vector<liaison::v1::EvidenceItemRecord> items = Interleaved();
  ChunkDeletionBound b = ChunkDeletionBoundOf(2, items, 100);
  EXPECT_EQ(b.before, 10);
  EXPECT_EQ(b.live_item, "A");
  // A erased: B's first chunk (11) holds the partition, though A's chunks 12
  // and 14 lie beyond it.
  Erase(items, "A");
  b = ChunkDeletionBoundOf(2, items, 100);
  EXPECT_EQ(b.before, 11);
  EXPECT_EQ(b.live_item, "B");
  // B erased too: up to C's first chunk.
  Erase(items, "B");
  EXPECT_EQ(ChunkDeletionBoundOf(2, items, 100).before, 20);
  // An item of another partition holds nothing back here.
  EXPECT_EQ(ChunkDeletionBoundOf(3, items, 100).before, 0);
}

TEST(ChunkDeletion, UploadsInProgressBoundItByTheUploadHorizon) {
  std::vector<liaison::v1::EvidenceItemRecord> items = Interleaved();
  Erase(items, "A");
  Erase(items, "B");
  Erase(items, "C");
  // Every item erased: as far as the first record within the upload horizon.
  ChunkDeletionBound b = ChunkDeletionBoundOf(2, items, 17);
  EXPECT_EQ(b.before, 17);
  EXPECT_EQ(b.live_item, "");
  EXPECT_EQ(ChunkDeletionBoundOf(2, items, 30).before, 30);
  // The horizon before a live item's chunks wins.
  items = Interleaved();
  EXPECT_EQ(ChunkDeletionBoundOf(2, items, 5).before, 5);
  b = ChunkDeletionBoundOf(2, items, 10);  // a tie: the live item holds it
  EXPECT_EQ(b.before, 10);
  EXPECT_EQ(b.live_item, "A");
  EXPECT_EQ(ChunkDeletionBoundOf(2, {}, 7).before, 7);
  EXPECT_EQ(ChunkDeletionBoundOf(2, {}, -1).before, 0);
}

TEST(ChunkDeletion, ALiveItemWithAnImpossibleOffsetBlocksThePartition) {
  std::vector<liaison::v1::EvidenceItemRecord> items = Interleaved();
  Erase(items, "A");
  items[1].set_offsets(0, -1);
  ChunkDeletionBound b = ChunkDeletionBoundOf(2, items, 100);
  EXPECT_EQ(b.before, 0);
  EXPECT_EQ(b.live_item, "B");
}

}  // namespace
}  // namespace liaison::broker
