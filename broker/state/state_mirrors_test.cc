// The state topics' decoders: good records land in their books; a record
// that does not parse is skipped loudly (log with its position, counter by
// topic), never silently; a consent that does not verify is refused.
#include "broker/state/state_mirrors.h"

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "base/testing/log_capture.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
constexpr char kGarbage[] = "\xff\xff\xff not a state record";

class SkipCounter final : public Observer {
 public:
  void OnStateRecordSkipped(const std::string& topic) override { ++skipped[topic]; }
  std::map<std::string, int> skipped;
};

struct Books {
  Books() {
    absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust = certs::TrustStore::Load(
        liaison::testing::SharedTestPki().ca(), liaison::testing::SharedTestPki().crl());
    EXPECT_TRUE(trust.ok()) << trust.status();
    verifier = std::make_unique<certs::Verifier>(*trust);
  }
  StateBooks Pointers() {
    StateBooks b;
    b.accepted = &accepted;
    b.acked = &acked;
    b.sources = &sources;
    b.consents = &consents;
    b.verifier = verifier.get();
    b.observer = &observer;
    return b;
  }
  AcceptedIds accepted{absl::Hours(24)};
  AckedItems acked{absl::Hours(24)};
  SourceBook sources;
  ConsentBook consents;
  std::unique_ptr<certs::Verifier> verifier;
  SkipCounter observer;
};

// Hands `value` to the decoder of `topic` as the record at (partition 2, offset 41).
void Feed(const std::vector<std::pair<std::string, TopicMirror::Apply>>& decoders,
          const std::string& topic, std::string value) {
  kafka::Record r;
  r.topic = topic;
  r.partition = 2;
  r.offset = 41;
  r.value = std::move(value);
  for (const auto& [t, apply] : decoders) {
    if (t == topic) return apply(r);
  }
  ADD_FAILURE() << "no decoder for " << topic;
}

TEST(StateMirrors, DecodesOneTopicEachIntoItsBook) {
  Books books;
  const Topics topics("liaison");
  const auto decoders = StateMirrorTopics(topics, books.Pointers());
  std::vector<std::string> names;
  for (const auto& [t, apply] : decoders) names.push_back(t);
  EXPECT_EQ(names, std::vector<std::string>({topics.AcceptedIds(), topics.AckedItems(),
                                             topics.Sources(), topics.Consents()}));

  liaison::v1::AcceptedId a;
  a.set_message_id("m-1");
  *a.mutable_accepted_at() = ToProto(kT0);
  Feed(decoders, topics.AcceptedIds(), a.SerializeAsString());
  EXPECT_TRUE(books.accepted.Find(MessageId("m-1")).has_value());

  liaison::v1::AckedItem ack;
  ack.set_recipient("DE-BKA");
  ack.set_item_id("d-1");
  *ack.mutable_acknowledged_at() = ToProto(kT0);
  Feed(decoders, topics.AckedItems(), ack.SerializeAsString());
  EXPECT_TRUE(books.acked.Contains(EndpointId("DE-BKA"), AckItemId("d-1")));

  liaison::v1::RecordedSource s;
  s.mutable_ref()->set_message_id("m-2");
  s.mutable_ref()->set_provider("FR-PN");
  s.add_delivered_to("DE-BKA");
  *s.mutable_erase_by() = ToProto(kT0);
  s.set_ingress_partition(3);
  Feed(decoders, topics.Sources(), s.SerializeAsString());
  ASSERT_NE(books.sources.Get("m-2"), nullptr);
  EXPECT_EQ(books.sources.Get("m-2")->delivered_to, std::vector<std::string>({"DE-BKA"}));
  EXPECT_EQ(books.sources.DueForErasure(kT0, {3}).size(), 1u);
  EXPECT_TRUE(books.sources.DueForErasure(kT0, {4}).empty());

  EXPECT_TRUE(books.observer.skipped.empty());
}

// The registries' records of this version group entries (AcceptedIdBatch,
// AckedItemBatch); those of earlier versions, one entry each, still load.
TEST(StateMirrors, RegistryRecordsGroupEntriesAndSingleOnesOfEarlierVersionsStillLoad) {
  Books books;
  const Topics topics("liaison");
  const auto decoders = StateMirrorTopics(topics, books.Pointers());

  liaison::v1::AcceptedIdBatch ids;
  for (const char* id : {"m-10", "m-11", "m-12"}) {
    liaison::v1::AcceptedId* a = ids.add_ids();
    a->set_message_id(id);
    *a->mutable_accepted_at() = ToProto(kT0);
  }
  Feed(decoders, topics.AcceptedIds(), ids.SerializeAsString());
  liaison::v1::AcceptedId single;
  single.set_message_id("m-13");
  *single.mutable_accepted_at() = ToProto(kT0);
  Feed(decoders, topics.AcceptedIds(), single.SerializeAsString());
  for (const char* id : {"m-10", "m-11", "m-12", "m-13"}) {
    EXPECT_TRUE(books.accepted.Find(MessageId(id)).has_value()) << id;
  }

  liaison::v1::AckedItemBatch acks;
  for (const char* id : {"d-20", "r-21", "n-22"}) {
    liaison::v1::AckedItem* a = acks.add_items();
    a->set_recipient("DE-BKA");
    a->set_item_id(id);
    *a->mutable_acknowledged_at() = ToProto(kT0);
  }
  Feed(decoders, topics.AckedItems(), acks.SerializeAsString());
  liaison::v1::AckedItem one;
  one.set_recipient("NL-NP");
  one.set_item_id("d-23");
  *one.mutable_acknowledged_at() = ToProto(kT0);
  Feed(decoders, topics.AckedItems(), one.SerializeAsString());
  for (const char* id : {"d-20", "r-21", "n-22"}) {
    EXPECT_TRUE(books.acked.Contains(EndpointId("DE-BKA"), AckItemId(id))) << id;
  }
  EXPECT_TRUE(books.acked.Contains(EndpointId("NL-NP"), AckItemId("d-23")));
  EXPECT_FALSE(books.acked.Contains(EndpointId("NL-NP"), AckItemId("d-20")));
  EXPECT_TRUE(books.observer.skipped.empty());
}

// Each decoder, fed a record that is not its message: skipped, logged with
// topic, partition and offset (never the bytes), counted by topic.
TEST(StateMirrors, AnUnreadableRecordIsSkippedLoggedAndCounted) {
  Books books;
  const Topics topics("liaison");
  const auto decoders = StateMirrorTopics(topics, books.Pointers());
  liaison::testing::LogCapture logs;
  for (const std::string& topic : {topics.AcceptedIds(), topics.AckedItems(), topics.Sources()}) {
    Feed(decoders, topic, kGarbage);
  }
  Feed(decoders, topics.Sources(), kGarbage);
  EXPECT_EQ(books.observer.skipped,
            (std::map<std::string, int>{
                {topics.AcceptedIds(), 1}, {topics.AckedItems(), 1}, {topics.Sources(), 2}}));
  EXPECT_EQ(books.accepted.size(), 0u);
  EXPECT_EQ(books.acked.size(), 0u);
  const std::vector<std::string> lines = logs.With("state.unreadable_record");
  ASSERT_EQ(lines.size(), 4u);
  for (const std::string& line : lines) {
    EXPECT_NE(line.find("\"partition\":2"), std::string::npos) << line;
    EXPECT_NE(line.find("\"offset\":41"), std::string::npos) << line;
    EXPECT_EQ(line.find("not a state record"), std::string::npos) << "content logged: " << line;
  }
  EXPECT_NE(lines[0].find("\"topic\":\"liaison.registry.ids\""), std::string::npos) << lines[0];
}

// Consents keep their own accounting: a record that does not parse or does
// not carry the grantor's verified signature is refused (state.forged_consent,
// ConsentBook::refused), a tombstone ignored.
TEST(StateMirrors, AConsentWithoutAVerifiedSignatureIsRefusedAndATombstoneIgnored) {
  Books books;
  const Topics topics("liaison");
  const auto decoders = StateMirrorTopics(topics, books.Pointers());
  liaison::testing::LogCapture logs;
  Feed(decoders, topics.Consents(), "");  // tombstone
  EXPECT_EQ(books.consents.refused(), 0);
  Feed(decoders, topics.Consents(), kGarbage);
  liaison::v1::RecordedConsent unsigned_consent;
  unsigned_consent.set_grantor("DE-BKA");
  unsigned_consent.mutable_grant()->set_consent_id("c-1");
  Feed(decoders, topics.Consents(), unsigned_consent.SerializeAsString());
  EXPECT_EQ(books.consents.refused(), 2);
  EXPECT_EQ(books.consents.size(), 0u);
  EXPECT_EQ(logs.With("state.forged_consent").size(), 2u);
  EXPECT_TRUE(books.observer.skipped.empty());
}

}  // namespace
}  // namespace liaison::broker
