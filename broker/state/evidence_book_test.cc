#include "broker/state/evidence_book.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

kafka::Record RecordOf(const std::string& topic, KeyedRecord r) {
  kafka::Record record;
  record.topic = topic;
  record.key = std::move(r.key);
  record.value = std::move(r.value);
  return record;
}

liaison::v1::EvidenceItem ManifestItem(const std::string& id) {
  liaison::v1::EvidenceItem item;
  item.set_item_id(id);
  item.set_ciphertext_sha256(std::string(32, 'c'));
  item.set_chunk_count(2);
  item.set_ciphertext_size(1048592 + 20);
  return item;
}

TEST(EvidenceBook, AGrantTheStageBuildsIsFoundForItsRecipientOnlyAndATombstoneRemovesIt) {
  EvidenceBook book;
  KeyedRecord grant = BuildEvidenceGrantRecord(ManifestItem("RO-EV-1"), "DE-BKA", "JIT-2025-014",
                                               "M-1", absl::FromUnixSeconds(1777888800));
  EXPECT_EQ(grant.key, "RO-EV-1/DE-BKA");
  ASSERT_TRUE(book.ApplyGrant(RecordOf("g", grant)).ok());
  std::optional<liaison::v1::EvidenceGrant> found = book.Grant("RO-EV-1", "DE-BKA");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->jit_id(), "JIT-2025-014");
  EXPECT_EQ(found->manifest_message_id(), "M-1");
  EXPECT_EQ(found->item().chunk_count(), 2);
  EXPECT_FALSE(book.Grant("RO-EV-1", "NL-NP").has_value());

  kafka::Record tombstone;
  tombstone.key = "RO-EV-1/DE-BKA";
  tombstone.tombstone = true;
  ASSERT_TRUE(book.ApplyGrant(tombstone).ok());
  EXPECT_FALSE(book.Grant("RO-EV-1", "DE-BKA").has_value());
}

TEST(EvidenceBook, GrantsForListsOneRecipientsGrantsByItemId) {
  EvidenceBook book;
  const absl::Time at = absl::FromUnixSeconds(1777888800);
  for (const auto& [item, recipient] : std::vector<std::pair<std::string, std::string>>{
           {"RO-EV-2", "DE-BKA"}, {"RO-EV-1", "DE-BKA"}, {"RO-EV-1", "NL-NP"}}) {
    KeyedRecord grant =
        BuildEvidenceGrantRecord(ManifestItem(item), recipient, "JIT-2025-014", "M-1", at);
    ASSERT_TRUE(book.ApplyGrant(RecordOf("g", grant)).ok());
  }
  std::vector<liaison::v1::EvidenceGrant> de = book.GrantsFor("DE-BKA");
  ASSERT_EQ(de.size(), 2u);
  EXPECT_EQ(de[0].item_id(), "RO-EV-1");
  EXPECT_EQ(de[1].item_id(), "RO-EV-2");
  EXPECT_EQ(de[1].recipient(), "DE-BKA");
  EXPECT_EQ(book.GrantsFor("NL-NP").size(), 1u);
  EXPECT_TRUE(book.GrantsFor("BG-GDNP").empty());
}

TEST(EvidenceBook, RecordsWhoseKeyIsNotTheirContentAreSkippedAndCounted) {
  EvidenceBook book;
  KeyedRecord grant = BuildEvidenceGrantRecord(ManifestItem("RO-EV-1"), "DE-BKA", "JIT-2025-014",
                                               "M-1", absl::UnixEpoch());
  grant.key = "RO-EV-1/NL-NP";  // would hand DE-BKA's grant to NL-NP
  EXPECT_FALSE(book.ApplyGrant(RecordOf("g", grant)).ok());
  EXPECT_FALSE(book.Grant("RO-EV-1", "NL-NP").has_value());

  liaison::v1::EvidenceItemRecord item;
  item.set_item_id("RO-EV-2");
  item.set_chunk_count(2);
  item.add_offsets(0);  // one offset for two chunks
  kafka::Record bad_item = RecordOf("i", {"RO-EV-2", item.SerializeAsString()});
  EXPECT_FALSE(book.ApplyItem(bad_item).ok());
  EXPECT_FALSE(book.Item("RO-EV-2").has_value());
  item.add_offsets(1);
  EXPECT_TRUE(book.ApplyItem(RecordOf("i", {"RO-EV-2", item.SerializeAsString()})).ok());
  EXPECT_TRUE(book.Item("RO-EV-2").has_value());

  EXPECT_FALSE(book.ApplyKey(RecordOf("k", {"RO-EV-2/DE-BKA", "not a proto \xff\xff"})).ok());
  EXPECT_EQ(book.skipped(), 3);
}

// The owner of an item's chain applies its mark and its erasure when Kafka
// acknowledges them; its mirror may read the older records back after that.
// They do not undo either: the erasure is final, and the mark stays with a
// later record that carries neither (the JIT end rewritten, say).
TEST(EvidenceBook, AnErasureAndAMarkForErasureAreNotUndoneByAnOlderRecord) {
  EvidenceBook book;
  liaison::v1::EvidenceItemRecord uploaded;
  uploaded.set_item_id("RO-EV-3");
  uploaded.set_jit_id("JIT-2025-014");
  liaison::v1::EvidenceItemRecord marked = uploaded;
  marked.mutable_erasure_pending()->set_reason(liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
  liaison::v1::EvidenceItemRecord erased = marked;
  erased.mutable_erasure()->set_reason(liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);

  book.ApplyWrittenItem(marked);
  book.ApplyWrittenItem(uploaded);
  ASSERT_TRUE(book.Item("RO-EV-3").has_value());
  EXPECT_TRUE(book.Item("RO-EV-3")->has_erasure_pending());

  book.ApplyWrittenItem(erased);
  EXPECT_TRUE(book.ApplyItem(RecordOf("i", {"RO-EV-3", marked.SerializeAsString()})).ok());
  EXPECT_TRUE(book.Item("RO-EV-3")->has_erasure());
  book.ApplyWrittenItem(uploaded);
  EXPECT_TRUE(book.Item("RO-EV-3")->has_erasure());
}

TEST(EvidenceItemId, OnlyPrintableIdsWithoutASlashAreAccepted) {
  EXPECT_TRUE(CheckEvidenceItemId("RO-EV-0001:a_b.c", "f").ok());
  EXPECT_FALSE(CheckEvidenceItemId("", "f").ok());
  EXPECT_FALSE(CheckEvidenceItemId(std::string(129, 'a'), "f").ok());
  absl::Status slash = CheckEvidenceItemId("RO/1", "start.item_id");
  EXPECT_TRUE(absl::StrContains(slash.message(), "start.item_id: item id character 2")) << slash;
}

}  // namespace
}  // namespace liaison::broker
