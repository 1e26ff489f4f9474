// The node's linkage book: records of the compacted topic in, what does not
// decode skipped loudly, epochs retired, expired entries purged.
#include "broker/state/linkage_book.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "base/testing/log_capture.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const absl::flat_hash_set<std::string> kAll = {"RO-IGPR", "BG-GDNP"};

std::string V(int n) {
  std::string v(32, '\0');
  std::mt19937_64 rng(n);
  for (char& c : v) c = static_cast<char>(rng());
  v[0] = '\x02';
  return v;
}

kafka::Record Upsert(uint32_t epoch, const std::string& value, const std::string& owner,
                     const std::string& handle, absl::Time expiry, int64_t offset) {
  kafka::Record r;
  r.topic = "liaison.linkage.index";
  r.offset = offset;
  r.key = EncodeRecordKey(epoch, value, owner, handle);
  r.value = EncodeRecordValue(2, expiry);
  return r;
}

kafka::Record Tombstone(uint32_t epoch, const std::string& value, const std::string& owner,
                        const std::string& handle, int64_t offset) {
  kafka::Record r;
  r.topic = "liaison.linkage.index";
  r.offset = offset;
  r.key = EncodeRecordKey(epoch, value, owner, handle);
  r.tombstone = true;
  return r;
}

int Hits(const LinkageBook& book, uint32_t epoch, const std::string& value, absl::Time now) {
  auto hits = book.Lookup(epoch, {value}, kAll, now);
  return hits.ok() ? static_cast<int>(hits->size()) : -1;
}

TEST(LinkageBook, RecordsAndTombstonesOfTheTopicAddAndWithdraw) {
  LinkageBook book;
  EXPECT_TRUE(
      book.Apply(Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", kNow + absl::Hours(1), 0), kNow).ok());
  EXPECT_TRUE(
      book.Apply(Upsert(1, V(2), "RO-IGPR", "LNK-RO-1", kNow + absl::Hours(1), 1), kNow).ok());
  EXPECT_EQ(Hits(book, 1, V(1), kNow), 1);
  EXPECT_TRUE(book.Apply(Tombstone(1, V(1), "RO-IGPR", "LNK-RO-1", 2), kNow).ok());
  EXPECT_EQ(Hits(book, 1, V(1), kNow), 0);
  EXPECT_EQ(Hits(book, 1, V(2), kNow), 1);
  EXPECT_EQ(book.EntriesOf("RO-IGPR"), 1);
  EXPECT_EQ(book.skipped(), 0);
}

TEST(LinkageBook, ARecordThatDoesNotDecodeIsSkippedWithALogLineAndACount) {
  liaison::testing::LogCapture logs;
  LinkageBook book;
  kafka::Record garbage;
  garbage.topic = "liaison.linkage.index";
  garbage.partition = 3;
  garbage.offset = 41;
  garbage.key = "not a linkage key";
  garbage.value = "x";
  EXPECT_FALSE(book.Apply(garbage, kNow).ok());
  // A handle another endpoint holds is refused by the index: skipped too.
  EXPECT_TRUE(
      book.Apply(Upsert(1, V(1), "RO-IGPR", "LNK-SHARED", kNow + absl::Hours(1), 0), kNow).ok());
  EXPECT_FALSE(
      book.Apply(Upsert(1, V(2), "BG-GDNP", "LNK-SHARED", kNow + absl::Hours(1), 1), kNow).ok());
  const std::vector<std::string> lines = logs.With("linkage.record_skipped");
  EXPECT_EQ(book.skipped(), 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(absl::StrContains(lines[0], "linkage.record_skipped")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "\"offset\":41")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], "belongs to another endpoint")) << lines[1];
  EXPECT_EQ(Hits(book, 1, V(2), kNow), 0);
}

TEST(LinkageBook, EpochsOutOfForceAreRetiredAndTheirRecordsSkipped) {
  LinkageBook book;
  EXPECT_TRUE(
      book.Apply(Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", kNow + absl::Hours(1), 0), kNow).ok());
  EXPECT_TRUE(
      book.Apply(Upsert(2, V(1), "RO-IGPR", "LNK-RO-1", kNow + absl::Hours(1), 1), kNow).ok());
  EXPECT_EQ(book.RetireEpochsNotIn({2}), 1);
  EXPECT_EQ(Hits(book, 1, V(1), kNow), -1) << "a retired epoch is refused, not answered empty";
  EXPECT_EQ(Hits(book, 2, V(1), kNow), 1);
  EXPECT_FALSE(
      book.Apply(Upsert(1, V(3), "RO-IGPR", "LNK-RO-1", kNow + absl::Hours(1), 2), kNow).ok());
  EXPECT_EQ(book.skipped(), 1);
  EXPECT_EQ(book.RetireEpochsNotIn({2, 3}), 0) << "retiring twice drops nothing more";
}

TEST(LinkageBook, MaintainPurgesExpiredEntriesAndAWrittenRecordAnswersAtOnce) {
  LinkageBook book;
  LinkageRecord r;
  r.epoch = 1;
  const std::string v = V(9);
  std::copy(v.begin(), v.end(), r.value.begin());
  r.owner = "BG-GDNP";
  r.handle = "LNK-BG-1";
  r.kind_expiry = std::make_pair(uint8_t{1}, kNow + absl::Minutes(5));
  ASSERT_TRUE(book.ApplyWritten(r, kNow).ok());
  ASSERT_TRUE(book.ApplyWritten(r, kNow).ok()) << "applying twice is harmless";
  EXPECT_EQ(book.live_entries(), 1);
  EXPECT_EQ(Hits(book, 1, v, kNow + absl::Minutes(6)), 0) << "expired entries never answer";
  EXPECT_EQ(book.Maintain(kNow + absl::Minutes(6)), 1);
  EXPECT_EQ(book.live_entries(), 0);
  EXPECT_TRUE(book.Counts().empty() || book.Counts().begin()->second == 0);
}

}  // namespace
}  // namespace liaison::broker
