// The linkage index as a data structure: entries, owners, withdrawals,
// expiry, epochs, counts, the record format and compaction.
#include "broker/state/linkage_index.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const absl::flat_hash_set<std::string> kAll = {"RO-IGPR", "BG-GDNP", "LV-VP", "ES-PN"};

// A 32-byte value that does not look like text (as an HMAC would not).
std::string V(int n) {
  std::string v(32, '\0');
  std::mt19937_64 rng(n);
  for (char& c : v) c = static_cast<char>(rng());
  v[0] = '\x01';
  return v;
}

std::vector<std::string> Owners(const std::vector<LinkageHitEntry>& hits) {
  std::vector<std::string> out;
  for (const auto& h : hits)
    out.push_back(h.owner + "/" + h.handle + "@" + std::to_string(h.index));
  return out;
}

TEST(LinkageIndex, AnswersWhoHoldsAValueAmongTheAllowedOwners) {
  LinkageIndex index;
  ASSERT_TRUE(index.Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", 2, kNow + absl::Hours(24), kNow).ok());
  ASSERT_TRUE(index.Upsert(1, V(1), "BG-GDNP", "LNK-BG-7", 2, kNow + absl::Hours(24), kNow).ok());
  ASSERT_TRUE(index.Upsert(1, V(2), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(24), kNow).ok());
  // One owner, one value, two cases.
  ASSERT_TRUE(index.Upsert(1, V(2), "RO-IGPR", "LNK-RO-2", 1, kNow + absl::Hours(24), kNow).ok());
  auto hits = index.Lookup(1, {V(3), V(1), V(2)}, kAll, kNow);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(Owners(*hits), (std::vector<std::string>{"BG-GDNP/LNK-BG-7@1", "RO-IGPR/LNK-RO-1@1",
                                                     "RO-IGPR/LNK-RO-1@2", "RO-IGPR/LNK-RO-2@2"}));
  EXPECT_EQ((*hits)[0].kind, 2);
  // The querier may query RO only: BG's entry stays invisible.
  hits = index.Lookup(1, {V(1)}, {"RO-IGPR"}, kNow);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(Owners(*hits), (std::vector<std::string>{"RO-IGPR/LNK-RO-1@0"}));
  // Another epoch is another key: nothing there.
  hits = index.Lookup(2, {V(1)}, kAll, kNow);
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
  EXPECT_EQ(index.LiveEntries(), 4);
}

TEST(LinkageIndex, CaseValuesListsWhatAWithdrawalWouldRemoveWithoutRemovingIt) {
  LinkageIndex index;
  ASSERT_TRUE(index.Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", 2, kNow + absl::Hours(24), kNow).ok());
  ASSERT_TRUE(index.Upsert(2, V(2), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(24), kNow).ok());
  ASSERT_TRUE(index.Upsert(1, V(3), "RO-IGPR", "LNK-RO-2", 1, kNow + absl::Hours(24), kNow).ok());
  // A withdrawn entry is not listed again.
  ASSERT_TRUE(index.Withdraw(1, V(1), "RO-IGPR", "LNK-RO-1"));
  ASSERT_TRUE(index.Upsert(1, V(4), "RO-IGPR", "LNK-RO-1", 6, kNow + absl::Hours(24), kNow).ok());
  auto values = index.CaseValues("RO-IGPR", "LNK-RO-1");
  std::vector<std::pair<uint32_t, std::string>> got;
  for (const auto& [epoch, v] : values) got.emplace_back(epoch, std::string(v.begin(), v.end()));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::pair<uint32_t, std::string>>{{1, V(4)}, {2, V(2)}}));
  EXPECT_TRUE(index.CaseValues("BG-GDNP", "LNK-RO-1").empty()) << "not BG's case";
  EXPECT_EQ(index.LiveEntries(), 3) << "nothing withdrawn by looking";
  EXPECT_EQ(index.HandleOwner("LNK-RO-1"), "RO-IGPR");
  EXPECT_EQ(index.HandleOwner("LNK-NOBODY"), std::nullopt);
  index.WithdrawCase("RO-IGPR", "LNK-RO-2");
  EXPECT_EQ(index.HandleOwner("LNK-RO-2"), std::nullopt) << "a handle with no entries is free";
}

TEST(LinkageIndex, UpsertRenewsRatherThanDuplicates) {
  LinkageIndex index;
  ASSERT_TRUE(index.Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", 2, kNow + absl::Hours(1), kNow).ok());
  ASSERT_TRUE(index.Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", 2, kNow + absl::Hours(48), kNow).ok());
  EXPECT_EQ(index.LiveEntries(), 1);
  auto hits = index.Lookup(1, {V(1)}, kAll, kNow + absl::Hours(2));
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 1u);  // the renewed expiry counts
}

TEST(LinkageIndex, RefusesBadInputNamingTheFieldAndStoresNothing) {
  LinkageIndex index({.max_retention = absl::Hours(24 * 30)});
  ASSERT_TRUE(index.Upsert(1, V(9), "BG-GDNP", "LNK-BG-1", 1, kNow + absl::Hours(1), kNow).ok());
  struct Case {
    uint32_t epoch;
    std::string value, owner, handle;
    uint8_t kind;
    absl::Time expiry;
    absl::StatusCode code;
    std::string says;
  };
  const absl::Time ok = kNow + absl::Hours(1);
  const Case cases[] = {
      {1, "+37120123456", "RO-IGPR", "LNK-1", 1, ok, absl::StatusCode::kInvalidArgument,
       "linkage.value: 12 bytes; a blinded value is 32 bytes"},
      {1, std::string(32, 'a'), "RO-IGPR", "LNK-1", 1, ok, absl::StatusCode::kInvalidArgument,
       "looks like cleartext"},
      {1, V(1), "RO-IGPR", "LNK-1", 7, ok, absl::StatusCode::kInvalidArgument,
       "linkage.kind: unknown identifier type 7"},
      {1, V(1), "RO-IGPR", "LNK-1", 0, ok, absl::StatusCode::kInvalidArgument, "linkage.kind"},
      {1, V(1), "", "LNK-1", 1, ok, absl::StatusCode::kInvalidArgument, "linkage.owner"},
      {1, V(1), "RO-IGPR", std::string(69, 'x'), 1, ok, absl::StatusCode::kInvalidArgument,
       "linkage.handle"},
      {0, V(1), "RO-IGPR", "LNK-1", 1, ok, absl::StatusCode::kInvalidArgument, "linkage.epoch"},
      {1, V(1), "RO-IGPR", "LNK-1", 1, kNow, absl::StatusCode::kInvalidArgument,
       "linkage.expiry: in the past"},
      {1, V(1), "RO-IGPR", "LNK-1", 1, kNow + absl::Hours(24 * 31),
       absl::StatusCode::kInvalidArgument, "linkage.expiry: beyond the retention limit of 720h"},
      {1, V(1), "RO-IGPR", "LNK-BG-1", 1, ok, absl::StatusCode::kPermissionDenied,
       "linkage.handle belongs to another endpoint"},
  };
  for (const Case& c : cases) {
    const absl::Status s =
        index.Upsert(c.epoch, c.value, c.owner, c.handle, c.kind, c.expiry, kNow);
    EXPECT_EQ(s.code(), c.code) << c.says << ": " << s;
    EXPECT_NE(s.message().find(c.says), absl::string_view::npos) << s;
  }
  EXPECT_EQ(index.LiveEntries(), 1);
  EXPECT_EQ(index.Counts().size(), 1u);

  std::vector<std::string> many;
  for (int i = 0; i < 21; ++i) many.push_back(V(i));
  auto too_many = index.Lookup(1, many, kAll, kNow);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("21 exceed the limit of 20"), absl::string_view::npos);
  auto cleartext = index.Lookup(1, {V(1), "ivanov georgi"}, kAll, kNow);
  EXPECT_NE(cleartext.status().message().find("linkage.identifiers[1].value: 13 bytes"),
            absl::string_view::npos)
      << cleartext.status();
}

TEST(LinkageIndex, WithdrawsOneEntryOrAWholeCase) {
  LinkageIndex index;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(index.Upsert(1, V(i), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(5), kNow).ok());
    ASSERT_TRUE(index.Upsert(1, V(i), "LV-VP", "LNK-LV-1", 1, kNow + absl::Hours(5), kNow).ok());
  }
  ASSERT_TRUE(index.Upsert(2, V(0), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(5), kNow).ok());
  EXPECT_FALSE(index.Withdraw(1, V(0), "LV-VP", "LNK-RO-1"));  // not LV's handle
  EXPECT_TRUE(index.Withdraw(1, V(0), "RO-IGPR", "LNK-RO-1"));
  EXPECT_FALSE(index.Withdraw(1, V(0), "RO-IGPR", "LNK-RO-1"));  // already gone
  auto hits = index.Lookup(1, {V(0)}, kAll, kNow);
  EXPECT_EQ(Owners(*hits), (std::vector<std::string>{"LV-VP/LNK-LV-1@0"}));

  EXPECT_TRUE(index.WithdrawCase("LV-VP", "LNK-RO-1").empty());  // another owner's case
  const auto withdrawn = index.WithdrawCase("RO-IGPR", "LNK-RO-1");
  EXPECT_EQ(withdrawn.size(), 3u);  // V(1), V(2) of epoch 1 and V(0) of epoch 2
  hits = index.Lookup(1, {V(0), V(1), V(2)}, kAll, kNow);
  EXPECT_EQ(hits->size(), 3u);
  for (const auto& h : *hits) EXPECT_EQ(h.owner, "LV-VP");
  EXPECT_TRUE(index.Lookup(2, {V(0)}, kAll, kNow)->empty());
  EXPECT_EQ(index.LiveEntries(), 3);
  EXPECT_EQ(index.DeadEntries(), 4);
  // The handle is free again once nothing of it is left; the same owner
  // may revive a withdrawn entry.
  ASSERT_TRUE(index.Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(5), kNow).ok());
  EXPECT_EQ(index.DeadEntries(), 3);
  EXPECT_EQ(index.Lookup(1, {V(1)}, {"RO-IGPR"}, kNow)->size(), 1u);
}

TEST(LinkageIndex, ExpiredEntriesNeverAnswerAndArePurgedIncrementally) {
  LinkageIndex index;
  for (int i = 0; i < 100; ++i) {
    const absl::Duration life = absl::Hours(i % 2 == 0 ? 1 : 10);
    ASSERT_TRUE(
        index.Upsert(1, V(i), "RO-IGPR", "LNK-RO-" + std::to_string(i), 3, kNow + life, kNow).ok());
  }
  const absl::Time later = kNow + absl::Hours(2);
  EXPECT_TRUE(index.Lookup(1, {V(0)}, kAll, later)->empty());  // before any purge
  EXPECT_EQ(index.Lookup(1, {V(1)}, kAll, later)->size(), 1u);
  int64_t purged = 0;
  int calls = 0;
  while (index.LiveEntries() > 50 && calls < 100) {
    purged += index.PurgeExpired(later, 7);
    ++calls;
  }
  EXPECT_EQ(purged, 50);
  EXPECT_EQ(calls, 15);  // 100 records, 7 per call
  EXPECT_EQ(index.Counts().at({"RO-IGPR", 1}), 50);
  EXPECT_EQ(index.PurgeExpired(later, 1000), 0);
}

TEST(LinkageIndex, RetiredEpochsRefuseQueriesAndEntries) {
  LinkageIndex index;
  ASSERT_TRUE(index.Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(1), kNow).ok());
  ASSERT_TRUE(index.Upsert(2, V(2), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(1), kNow).ok());
  EXPECT_EQ(index.RetireEpoch(1), 1);
  EXPECT_TRUE(index.IsRetired(1));
  const auto q = index.Lookup(1, {V(1)}, kAll, kNow);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(q.status().message().find("linkage.epoch 1 is retired"), absl::string_view::npos);
  const absl::Status s =
      index.Upsert(1, V(1), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(1), kNow);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(index.Lookup(2, {V(2)}, kAll, kNow)->size(), 1u);
  EXPECT_EQ(index.Counts(),
            (std::map<std::pair<std::string, uint32_t>, int64_t>{{{"RO-IGPR", 2}, 1}}));
}

TEST(LinkageIndex, CountsPerEndpointAndEpoch) {
  LinkageIndex index;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(index.Upsert(1, V(i), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(1), kNow).ok());
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(index.Upsert(2, V(i), "RO-IGPR", "LNK-RO-1", 1, kNow + absl::Hours(1), kNow).ok());
    ASSERT_TRUE(index.Upsert(2, V(i), "BG-GDNP", "LNK-BG-1", 1, kNow + absl::Hours(1), kNow).ok());
  }
  EXPECT_EQ(index.Counts(), (std::map<std::pair<std::string, uint32_t>, int64_t>{
                                {{"BG-GDNP", 2}, 3}, {{"RO-IGPR", 1}, 5}, {{"RO-IGPR", 2}, 3}}));
}

TEST(LinkageIndex, RecordsRoundTripAndReplayIntoTheSameIndex) {
  const std::string key = EncodeRecordKey(7, V(1), "RO-IGPR", "LNK-RO-1");
  const std::string value = EncodeRecordValue(2, kNow + absl::Hours(3));
  EXPECT_EQ(key.size(), 1u + 4 + 32 + 1 + 7 + 8);
  EXPECT_EQ(value.size(), 10u);
  auto r = DecodeRecord(key, value);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->epoch, 7u);
  EXPECT_EQ(std::string(r->value.begin(), r->value.end()), V(1));
  EXPECT_EQ(r->owner, "RO-IGPR");
  EXPECT_EQ(r->handle, "LNK-RO-1");
  ASSERT_TRUE(r->kind_expiry.has_value());
  EXPECT_EQ(r->kind_expiry->first, 2);
  EXPECT_EQ(r->kind_expiry->second, kNow + absl::Hours(3));
  auto tomb = DecodeRecord(key, std::nullopt);
  ASSERT_TRUE(tomb.ok());
  EXPECT_FALSE(tomb->kind_expiry.has_value());

  EXPECT_FALSE(DecodeRecord(key.substr(0, 20), value).ok());
  EXPECT_FALSE(DecodeRecord(key, value.substr(0, 9)).ok());
  std::string bad_owner = key;
  bad_owner[37] = 100;
  EXPECT_NE(DecodeRecord(bad_owner, value).status().message().find("owner length"),
            absl::string_view::npos);

  // Replay: upsert, upsert, tombstone of the first, an expired record.
  LinkageIndex index;
  const std::pair<std::string, std::optional<std::string>> log[] = {
      {EncodeRecordKey(7, V(1), "RO-IGPR", "LNK-RO-1"),
       EncodeRecordValue(2, kNow + absl::Hours(3))},
      {EncodeRecordKey(7, V(2), "BG-GDNP", "LNK-BG-1"),
       EncodeRecordValue(1, kNow + absl::Hours(3))},
      {EncodeRecordKey(7, V(1), "RO-IGPR", "LNK-RO-1"), std::nullopt},
      {EncodeRecordKey(7, V(3), "BG-GDNP", "LNK-BG-1"),
       EncodeRecordValue(1, kNow - absl::Hours(1))},
  };
  for (const auto& [k, v] : log) {
    auto rec = DecodeRecord(k, v ? std::optional<absl::string_view>(*v) : std::nullopt);
    ASSERT_TRUE(rec.ok());
    ASSERT_TRUE(index.ApplyRecord(*rec, kNow).ok());
  }
  EXPECT_EQ(Owners(*index.Lookup(7, {V(1), V(2), V(3)}, kAll, kNow)),
            (std::vector<std::string>{"BG-GDNP/LNK-BG-1@1"}));
  EXPECT_EQ(index.LiveEntries(), 1);
}

TEST(LinkageIndex, CompactKeepsEveryLiveEntryAndDropsTheDead) {
  LinkageIndex index;
  for (int i = 0; i < 5000; ++i) {
    const std::string handle = "LNK-" + std::to_string(i % 700);
    ASSERT_TRUE(
        index.Upsert(1 + i % 2, V(i % 3000), "RO-IGPR", handle, 1, kNow + absl::Hours(3), kNow)
            .ok());
    if (i % 3 == 0) {
      ASSERT_TRUE(index
                      .Upsert(1, V(i), "BG-GDNP", "LNK-BG-" + std::to_string(i), 4,
                              kNow + absl::Hours(1 + i % 5), kNow)
                      .ok());
    }
  }
  for (int i = 0; i < 700; i += 4) index.WithdrawCase("RO-IGPR", "LNK-" + std::to_string(i));
  EXPECT_GT(index.PurgeExpired(kNow + absl::Minutes(90), 1'000'000), 0);
  std::vector<std::vector<std::string>> before;
  for (int epoch = 1; epoch <= 2; ++epoch) {
    for (int i = 0; i < 5000; i += 20) {
      std::vector<std::string> q;
      for (int j = i; j < i + 20; ++j) q.push_back(V(j));
      before.push_back(Owners(*index.Lookup(epoch, q, kAll, kNow + absl::Minutes(90))));
    }
  }
  const auto counts = index.Counts();
  const int64_t live = index.LiveEntries();
  ASSERT_GT(index.DeadEntries(), 0);
  index.Compact();
  EXPECT_EQ(index.DeadEntries(), 0);
  EXPECT_EQ(index.LiveEntries(), live);
  EXPECT_EQ(index.Counts(), counts);
  size_t n = 0;
  for (int epoch = 1; epoch <= 2; ++epoch) {
    for (int i = 0; i < 5000; i += 20) {
      std::vector<std::string> q;
      for (int j = i; j < i + 20; ++j) q.push_back(V(j));
      EXPECT_EQ(Owners(*index.Lookup(epoch, q, kAll, kNow + absl::Minutes(90))), before[n++]);
    }
  }
  // Withdrawing a whole case still finds every entry after the rebuild:
  // LNK-1 has i = 1, 701, ..., 4901, eight values, all in epoch 2.
  EXPECT_EQ(index.WithdrawCase("RO-IGPR", "LNK-1").size(), 8u);
  EXPECT_EQ(index.Counts().at({"RO-IGPR", 2}), counts.at({"RO-IGPR", 2}) - 8);
}

}  // namespace
}  // namespace liaison::broker
