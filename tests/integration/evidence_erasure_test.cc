// JIT evidence acknowledgement and erasure (docs/evidence.md,
// "Acknowledgement" and "Erasure") through a running broker over mTLS on the
// embedded Kafka, with the policy clock moved instead of waiting: an item
// is erased once every member it was wrapped for acknowledged it, at the
// registry's max age, at its JIT's end and at the manifest's erase_by; a
// download is then refused naming why, the keys are tombstoned, every
// member granted it and the uploader get a signed EVIDENCE_ERASED notice,
// and the audit trail has exactly one erasure, even with a second node.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "base/proto_time.h"
#include "base/testing/status_matchers.h"
#include "base/uuid.h"
#include "broker/core/clock.h"
#include "broker/core/countersigner.h"
#include "broker/stage/evidence_keeper.h"
#include "certs/evidence_crypto.h"
#include "certs/key_wrap.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/audit/custody.h"
#include "connectors/endpoint/evidence_transfer.h"
#include "connectors/kafka/admin.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/producer.h"
#include "connectors/kafka/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"
#include "tests/fixtures/evidence_fixture.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

using liaison::v1::EvidenceItem;
using ::testing::HasSubstr;

constexpr const char* kJit = kEvidenceJit;

absl::Time T0() { return EvidenceT0(); }
// AMBER ROUTE ends 2026-06-01T00:00Z.
absl::Time JitEnd() { return absl::FromUnixSeconds(1780272000); }

// The development registry with `replace` (a text) substituted for `find`.
std::string RegistryWith(const std::string& find, const std::string& replace) {
  std::string text(policy::scenario::DevRegistryText());
  if (!find.empty()) {
    const size_t at = text.find(find);
    EXPECT_NE(at, std::string::npos) << find;
    if (at != std::string::npos) text.replace(at, find.size(), replace);
  }
  const std::string path = MakeTempDir("liaison-erasure-registry") + "/registry.textproto";
  std::ofstream(path) << text;
  return path;
}

// What the broker reports about deleting chunk records.
class ChunkDeletions : public broker::Observer {
 public:
  void OnEvidenceChunkDeletion(const std::string& outcome, int64_t records) override {
    absl::MutexLock lock(&mu_);
    ++outcomes_[outcome];
    records_ += records;
  }
  int64_t Count(const std::string& outcome) {
    absl::MutexLock lock(&mu_);
    return outcomes_[outcome];
  }
  int64_t Records() {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, int64_t> outcomes_ ABSL_GUARDED_BY(mu_);
  int64_t records_ ABSL_GUARDED_BY(mu_) = 0;
};

class EvidenceErasure : public EvidenceFixture {
 protected:
  void StartBroker(std::string registry_path = "",
                   const std::function<void(TestBrokerOptions&)>& tune = nullptr) {
    TestBrokerOptions options;
    options.registry_path = std::move(registry_path);
    if (tune) tune(options);
    EvidenceFixture::StartBroker(options);
  }

  // Downloads once the grant reached the node (PERMISSION_DENIED until then).
  absl::Status Download(const std::string& member, const EvidenceItem& item) {
    absl::StatusOr<std::unique_ptr<endpoint::Client>> c = broker_->Client(member);
    if (!c.ok()) return c.status();
    absl::Status s;
    WaitFor([&] {
      s = (*c)->DownloadItem(item, KeyOf(member), dir_ + "/" + member + "-" + item.item_id());
      return !absl::IsPermissionDenied(s);
    });
    return s;
  }
  absl::StatusOr<absl::Time> Acknowledge(const std::string& member, const std::string& item_id,
                                         const std::string& sha256) {
    absl::StatusOr<std::unique_ptr<endpoint::Client>> c = broker_->Client(member);
    if (!c.ok()) return c.status();
    return (*c)->AcknowledgeItem(item_id, sha256);
  }

  // The audit entries naming `item_id` with event `event`.
  std::vector<liaison::v1::AuditEntry> Audited(const std::string& item_id,
                                               const std::string& event) {
    std::vector<liaison::v1::AuditEntry> out;
    const std::string topic = broker_->topics().Audit();
    absl::StatusOr<int> partitions =
        kafka::PartitionCount(broker_->KafkaClient(), topic, absl::Seconds(10));
    EXPECT_TRUE(partitions.ok()) << partitions.status();
    for (int32_t p = 0; partitions.ok() && p < *partitions; ++p) {
      absl::StatusOr<std::vector<kafka::Record>> records = kafka::ReadPartition(
          broker_->KafkaClient(), topic, p, 0, kafka::kToEnd, absl::Seconds(10));
      EXPECT_TRUE(records.ok()) << records.status();
      if (!records.ok()) break;
      for (const kafka::Record& r : *records) {
        liaison::v1::AuditRecord record;
        if (!record.ParseFromString(r.value)) continue;
        for (const liaison::v1::AuditEntry& e : record.entries()) {
          if (e.event() != event) continue;
          for (const liaison::v1::EvidenceRef& ref : e.evidence()) {
            if (ref.item_id() == item_id) out.push_back(e);
          }
        }
      }
    }
    return out;
  }
  // The entries naming `item_id` with event `event`, once there is one
  // (empty, and a failure, after 30 s).
  std::vector<liaison::v1::AuditEntry> WaitAudited(const std::string& item_id,
                                                   const std::string& event) {
    std::vector<liaison::v1::AuditEntry> out;
    EXPECT_TRUE(WaitFor(
        [&] {
          out = Audited(item_id, event);
          return !out.empty();
        },
        absl::Seconds(30)))
        << item_id << ": no " << event;
    return out;
  }
  // Waits for the item's erasure entry (the keeper ticks every second).
  liaison::v1::AuditEntry WaitErased(const std::string& item_id) {
    std::vector<liaison::v1::AuditEntry> erased = WaitAudited(item_id, "evidence-erased");
    return erased.empty() ? liaison::v1::AuditEntry() : erased.front();
  }

  // The latest record of every key of `topic` starting "<item_id>/":
  // key → tombstone?
  std::map<std::string, bool> Latest(const std::string& topic, const std::string& item_id) {
    std::map<std::string, bool> out;
    absl::StatusOr<int> partitions =
        kafka::PartitionCount(broker_->KafkaClient(), topic, absl::Seconds(10));
    EXPECT_TRUE(partitions.ok());
    for (int32_t p = 0; partitions.ok() && p < *partitions; ++p) {
      absl::StatusOr<std::vector<kafka::Record>> records = kafka::ReadPartition(
          broker_->KafkaClient(), topic, p, 0, kafka::kToEnd, absl::Seconds(10));
      if (!records.ok()) continue;
      for (const kafka::Record& r : *records) {
        if (absl::StartsWith(r.key, item_id + "/")) out[r.key] = r.tombstone;
      }
    }
    return out;
  }

  // Whether a record of `item_id` in liaison.evidence.items satisfies
  // `matches` (the item marked, erased, ...), waiting up to 30 s for one.
  bool WaitForItemRecord(
      const std::string& item_id,
      const std::function<bool(const liaison::v1::EvidenceItemRecord&)>& matches) {
    const std::string topic = broker_->topics().EvidenceItems();
    return WaitFor(
        [&] {
          absl::StatusOr<int> partitions =
              kafka::PartitionCount(broker_->KafkaClient(), topic, absl::Seconds(10));
          for (int32_t p = 0; partitions.ok() && p < *partitions; ++p) {
            absl::StatusOr<std::vector<kafka::Record>> records = kafka::ReadPartition(
                broker_->KafkaClient(), topic, p, 0, kafka::kToEnd, absl::Seconds(10));
            for (const kafka::Record& r : records.ok() ? *records : std::vector<kafka::Record>{}) {
              liaison::v1::EvidenceItemRecord record;
              if (r.key == item_id && record.ParseFromString(r.value) && matches(record)) {
                return true;
              }
            }
          }
          return false;
        },
        absl::Seconds(30));
  }

  // The record of `item_id` in liaison.evidence.items, once it is there.
  liaison::v1::EvidenceItemRecord ItemRecord(const std::string& item_id) {
    liaison::v1::EvidenceItemRecord out;
    const std::string topic = broker_->topics().EvidenceItems();
    EXPECT_TRUE(WaitFor([&] {
      absl::StatusOr<int> partitions =
          kafka::PartitionCount(broker_->KafkaClient(), topic, absl::Seconds(10));
      for (int32_t p = 0; partitions.ok() && p < *partitions; ++p) {
        absl::StatusOr<std::vector<kafka::Record>> records = kafka::ReadPartition(
            broker_->KafkaClient(), topic, p, 0, kafka::kToEnd, absl::Seconds(10));
        for (const kafka::Record& r : records.ok() ? *records : std::vector<kafka::Record>{}) {
          if (r.key == item_id && out.ParseFromString(r.value)) return true;
        }
      }
      return false;
    })) << item_id;
    return out;
  }

  // The chain of custody of `item_id`, from the whole audit trail.
  absl::StatusOr<audit::Custody> CustodyOfItem(const std::string& item_id) {
    std::vector<kafka::Record> trail;
    const std::string topic = broker_->topics().Audit();
    absl::StatusOr<int> partitions =
        kafka::PartitionCount(broker_->KafkaClient(), topic, absl::Seconds(10));
    if (!partitions.ok()) return partitions.status();
    for (int32_t p = 0; p < *partitions; ++p) {
      absl::StatusOr<std::vector<kafka::Record>> records = kafka::ReadPartition(
          broker_->KafkaClient(), topic, p, 0, kafka::kToEnd, absl::Seconds(10));
      if (!records.ok()) return records.status();
      trail.insert(trail.end(), records->begin(), records->end());
    }
    const certs::Verifier verifier(trust_);
    const audit::Verification verification = audit::VerifyRecords(trail, verifier, {});
    return audit::CustodyOf(trail, verification, item_id);
  }

  // Uploaded, downloaded and acknowledged by both members, so that the
  // keeper erases it (ALL_ACKNOWLEDGED) once allowed.
  EvidenceItem DownloadedAndAcknowledged(const std::string& item_id) {
    const EvidenceItem item = UploadAndAnnounce(item_id);
    for (const char* member : {"DE-BKA", "NL-NP"}) {
      ExpectOk(Download(member, item));
      ExpectOk(Acknowledge(member, item_id, item.sha256()).status());
    }
    return item;
  }
  static void ExpectOk(const absl::Status& s) { EXPECT_TRUE(s.ok()) << s; }
  static void ExpectNoViolation(const audit::Custody& custody, const std::string& item_id) {
    for (const audit::CustodyFinding& f : custody.findings) {
      EXPECT_NE(f.kind, audit::CustodyFinding::Kind::kViolation) << item_id << ": " << f.reason;
    }
  }

  // A DOWNLOAD_STARTED of `item` by `member`, signed with a broker key and
  // written into the item's ingress partition, as a node that admitted the
  // download writes it.
  absl::Status WriteDownloadStart(const EvidenceItem& item, const std::string& member) {
    absl::StatusOr<std::unique_ptr<certs::Signer>> signer = certs::Signer::FromPemFiles(
        SharedTestPki().dir + "/broker/tls.key", SharedTestPki().dir + "/broker/tls.pem");
    if (!signer.ok()) return signer.status();
    const broker::Countersigner countersigner(signer->get());
    liaison::v1::IngressEvent event;
    liaison::v1::EvidenceEvent* started = event.mutable_evidence();
    started->set_type(liaison::v1::EvidenceEvent::DOWNLOAD_STARTED);
    started->mutable_item()->set_item_id(item.item_id());
    started->mutable_item()->set_jit_id(kJit);
    started->mutable_item()->set_ciphertext_sha256(item.ciphertext_sha256());
    started->set_uploader("RO-IGPR");
    started->set_chunk_count(item.chunk_count());
    started->set_ciphertext_size(item.ciphertext_size());
    started->add_members(member);
    absl::StatusOr<liaison::v1::SignedIngressEvent> signed_event =
        countersigner.SignEvent(event, absl::Now());
    if (!signed_event.ok()) return signed_event.status();
    liaison::v1::IngressRecord record;
    *record.mutable_event() = *std::move(signed_event);
    *record.mutable_accepted_at() = ToProto(absl::Now());
    const std::string ingress = broker_->topics().Ingress();
    absl::StatusOr<int> partitions =
        kafka::PartitionCount(broker_->KafkaClient(), ingress, absl::Seconds(10));
    if (!partitions.ok()) return partitions.status();
    absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
        kafka::Producer::Create(broker_->KafkaClient(), {});
    if (!producer.ok()) return producer.status();
    std::promise<absl::Status> produced;
    (*producer)->Produce(
        ingress, item.item_id(), record.SerializeAsString(),
        [&produced](const kafka::DeliveryReport& r) { produced.set_value(r.status); },
        broker::EvidenceChainOf(item.item_id(), *partitions));
    return produced.get_future().get();
  }

  // Told what the broker reports; a member, so that it outlives the broker
  // (EvidenceFixture::TearDown stops the broker).
  ChunkDeletions deletions_;
};

// The EVIDENCE_ERASED notices for `item_id` that `subscription` receives
// within `timeout` (each verified: signed by the broker).
std::vector<liaison::v1::Notice> ErasedNotices(endpoint::Subscription& subscription,
                                               const std::string& item_id, absl::Duration timeout) {
  std::vector<liaison::v1::Notice> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline && out.empty()) {
    absl::StatusOr<endpoint::Subscription::Received> r = subscription.Next(deadline - absl::Now());
    if (!r.ok()) break;
    if (!r->verified.ok()) continue;
    (void)subscription.Ack({r->item.item_id()});
    const liaison::v1::Statement& s = r->verified->statement();
    if (s.has_notice() && s.notice().kind() == liaison::v1::NOTICE_KIND_EVIDENCE_ERASED &&
        s.notice().evidence_item_id() == item_id) {
      out.push_back(s.notice());
    }
  }
  return out;
}

TEST_F(EvidenceErasure, EveryMemberAcknowledgingErasesTheItemAndTellsEveryone) {
  StartBroker();
  std::vector<std::unique_ptr<endpoint::Client>> clients;
  LIAISON_ASSERT_OK_AND_ASSIGN(
      auto subs, SubscribeAll(*broker_, {"DE-BKA", "NL-NP", "FR-OCRTEH", "RO-IGPR"}, clients));
  const EvidenceItem item = UploadAndAnnounce("EV-ACK-0001");
  LIAISON_ASSERT_OK(Download("DE-BKA", item));

  // Refusals: no grant (BG-GDNP, refused by DP-JIT-01), another digest.
  absl::StatusOr<absl::Time> no_grant = Acknowledge("BG-GDNP", item.item_id(), item.sha256());
  EXPECT_TRUE(absl::IsPermissionDenied(no_grant.status())) << no_grant.status();
  const std::string wrong(32, 'x');
  absl::StatusOr<absl::Time> bad = Acknowledge("DE-BKA", item.item_id(), wrong);
  ASSERT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("evidence item 'EV-ACK-0001': sha256 7878"));
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr(absl::BytesToHexString(item.sha256())));

  LIAISON_ASSERT_OK(Acknowledge("DE-BKA", item.item_id(), item.sha256()).status());
  // One of the two members it was wrapped for: nothing is erased yet.
  LIAISON_ASSERT_OK(Download("NL-NP", item));
  EXPECT_TRUE(Audited(item.item_id(), "evidence-erased").empty());
  LIAISON_ASSERT_OK_AND_ASSIGN(absl::Time acked,
                               Acknowledge("NL-NP", item.item_id(), item.sha256()));
  EXPECT_EQ(acked, clock_->Now());

  // FR-OCRTEH was granted but given no key: not an intended member.
  const absl::Time asked = absl::Now();
  const liaison::v1::AuditEntry erased = WaitErased(item.item_id());
  EXPECT_LT(absl::Now() - asked, absl::Seconds(10));  // prompt: the keeper ticks every second
  EXPECT_EQ(erased.operation(), liaison::v1::AUDIT_OPERATION_ERASURE);
  EXPECT_EQ(erased.custody().erasure_reason(),
            liaison::v1::EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED);
  EXPECT_EQ(erased.evidence(0).ciphertext_sha256(), item.ciphertext_sha256());
  EXPECT_EQ(Audited(item.item_id(), "evidence-acknowledged").size(), 2u);

  // Every wrapped key and grant is tombstoned.
  std::map<std::string, bool> keys, grants;
  ASSERT_TRUE(WaitFor([&] {
    keys = Latest(broker_->topics().EvidenceKeys(), item.item_id());
    grants = Latest(broker_->topics().EvidenceGrants(), item.item_id());
    // (BG-GDNP's, refused by the policy, was tombstoned at the decision.)
    return keys.contains(item.item_id() + "/DE-BKA") && keys.contains(item.item_id() + "/NL-NP") &&
           absl::c_all_of(keys, [](auto& k) { return k.second; }) && grants.size() == 3 &&
           absl::c_all_of(grants, [](auto& g) { return g.second; });
  })) << keys.size()
      << " keys, " << grants.size() << " grants";

  // A download and an acknowledgement are told why.
  absl::Status refused = Download("DE-BKA", item);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("evidence item 'EV-ACK-0001': erased at 2026-05-04T10:00:00Z (its keys "
                        "destroyed): EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED"));
  absl::StatusOr<absl::Time> late = Acknowledge("NL-NP", item.item_id(), item.sha256());
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status())) << late.status();
  EXPECT_THAT(std::string(late.status().message()), HasSubstr("erased at"));

  // Each member granted the item, and the uploader, is told to erase its copies.
  for (size_t i = 0; i < subs.size(); ++i) {
    std::vector<liaison::v1::Notice> notices =
        ErasedNotices(*subs[i], item.item_id(), absl::Seconds(20));
    ASSERT_EQ(notices.size(), 1u) << "endpoint " << i;
    EXPECT_EQ(notices[0].jit_id(), kJit);
    EXPECT_THAT(notices[0].reasons(0), HasSubstr("erase your copies"));
  }
  EXPECT_EQ(Audited(item.item_id(), "evidence-erased").size(), 1u);
}

// Kafka's DeleteRecords cuts a partition's head only. Two items in one
// chunk partition (the broker places an item's chunks by EvidenceChainOf),
// the first erased (its manifest's erase_by): the evidence
// keeper moves the partition's low watermark past the erased item's chunks
// and stops at the first chunk of the live one, which still downloads; the
// erased one is refused naming why. On the embedded mock, which has no
// DeleteRecords, the keeper reports that once (metric outcome
// "unsupported", log evidence.chunk_deletion_unsupported) and nothing moves.
TEST_F(EvidenceErasure, AnErasedItemsChunksLeaveKafkaUpToTheNextLiveItem) {
  ChunkDeletions& deletions = deletions_;
  StartBroker("", [&deletions](TestBrokerOptions& o) {
    o.observer = &deletions;
    // Uploads take at most 5 s here: chunks older than 10 s (the upload
    // horizon) may go.
    o.evidence_upload_max_age = absl::Seconds(5);
  });
  const EvidenceItem first = UploadAndAnnounce("EV-DEL-0001", T0() + absl::Hours(72));
  const liaison::v1::EvidenceItemRecord a = ItemRecord(first.item_id());
  ASSERT_EQ(a.offsets_size(), 2);
  LIAISON_ASSERT_OK_AND_ASSIGN(
      const int partitions,
      kafka::PartitionCount(broker_->KafkaClient(), broker_->topics().EvidenceChunks(),
                            absl::Seconds(10)));
  ASSERT_EQ(broker::EvidenceChainOf(first.item_id(), partitions), a.partition());
  std::string second_id;
  for (int i = 2; second_id.empty(); ++i) {
    const std::string id = absl::StrCat("EV-DEL-", 1000 + i);
    if (broker::EvidenceChainOf(id, partitions) == a.partition()) second_id = id;
  }
  const EvidenceItem second = UploadAndAnnounce(second_id);
  const liaison::v1::EvidenceItemRecord b = ItemRecord(second_id);
  ASSERT_EQ(b.partition(), a.partition());
  ASSERT_GT(b.offsets(0), a.offsets(1));

  clock_->Advance(absl::Hours(72) + absl::Seconds(1));
  EXPECT_EQ(WaitErased(first.item_id()).custody().erasure_reason(),
            liaison::v1::EVIDENCE_ERASURE_REASON_ERASE_BY);

  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<kafka::RecordDeleter> kafka,
                               kafka::RecordDeleter::Create(broker_->KafkaClient()));
  const kafka::TopicPartition tp{broker_->topics().EvidenceChunks(), a.partition()};
  std::pair<int64_t, int64_t> marks{-1, -1};
  if (OnRealKafka()) {
    ASSERT_TRUE(WaitFor(
        [&] {
          absl::StatusOr<std::pair<int64_t, int64_t>> m = kafka->Watermarks(tp, absl::Seconds(10));
          if (m.ok()) marks = *m;
          return marks.first > a.offsets(1);
        },
        absl::Seconds(60)))
        << "low watermark " << marks.first << ", the erased item's last chunk at " << a.offsets(1);
    // Up to the live item's first chunk, not one record further.
    EXPECT_EQ(marks.first, b.offsets(0));
    // Reported once Kafka answered the request (after the watermark moved).
    EXPECT_TRUE(WaitFor([&] { return deletions.Records() >= 2; }, absl::Seconds(20)))
        << deletions.Records();
    EXPECT_EQ(deletions.Count("unsupported"), 0);
  } else {
    ASSERT_TRUE(WaitFor([&] { return deletions.Count("unsupported") == 1; }, absl::Seconds(60)));
    LIAISON_ASSERT_OK_AND_ASSIGN(marks, kafka->Watermarks(tp, absl::Seconds(10)));
    EXPECT_EQ(marks.first, 0);
    EXPECT_EQ(deletions.Records(), 0);
    EXPECT_EQ(deletions.Count("deleted"), 0);
  }

  absl::Status refused = Download("DE-BKA", first);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("evidence item 'EV-DEL-0001': erased at 2026-05-07T10:00:01Z (its keys "
                        "destroyed): EVIDENCE_ERASURE_REASON_ERASE_BY"));
  LIAISON_ASSERT_OK(Download("DE-BKA", second));
  if (OnRealKafka()) {
    // Asked again later, the keeper keeps the live item's chunks.
    absl::SleepFor(absl::Seconds(3));
    LIAISON_ASSERT_OK_AND_ASSIGN(marks, kafka->Watermarks(tp, absl::Seconds(10)));
    EXPECT_EQ(marks.first, b.offsets(0));
  }
}

TEST_F(EvidenceErasure, AnItemGoesAtTheRegistrysMaxAge) {
  StartBroker(RegistryWith("evidence_retention {\n  max_age { seconds: 2419200 }",
                           "evidence_retention {\n  max_age { seconds: 3600 }"));
  const EvidenceItem item = UploadAndAnnounce("EV-AGE-0001");
  LIAISON_ASSERT_OK(Download("DE-BKA", item));
  clock_->Advance(absl::Minutes(59));
  absl::SleepFor(absl::Seconds(3));  // two ticks of the keeper: not yet due
  EXPECT_TRUE(Audited(item.item_id(), "evidence-erased").empty());
  clock_->Advance(absl::Minutes(2));
  const liaison::v1::AuditEntry erased = WaitErased(item.item_id());
  EXPECT_EQ(erased.custody().erasure_reason(), liaison::v1::EVIDENCE_ERASURE_REASON_MAX_AGE);
  absl::Status refused = Download("DE-BKA", item);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("EVIDENCE_ERASURE_REASON_MAX_AGE"));
}

TEST_F(EvidenceErasure, AnItemGoesAtItsJitsEnd) {
  StartBroker();
  const EvidenceItem item = UploadAndAnnounce("EV-JIT-0001");
  LIAISON_ASSERT_OK(Download("DE-BKA", item));
  clock_->Set(JitEnd() + absl::Seconds(1));
  const liaison::v1::AuditEntry erased = WaitErased(item.item_id());
  EXPECT_EQ(erased.custody().erasure_reason(), liaison::v1::EVIDENCE_ERASURE_REASON_JIT_ENDED);
}

TEST_F(EvidenceErasure, AnItemGoesAtTheManifestsEraseBy) {
  StartBroker();
  const EvidenceItem item = UploadAndAnnounce("EV-RET-0001", T0() + absl::Hours(72));
  LIAISON_ASSERT_OK(Download("DE-BKA", item));
  clock_->Advance(absl::Hours(72) + absl::Seconds(1));
  const liaison::v1::AuditEntry erased = WaitErased(item.item_id());
  EXPECT_EQ(erased.custody().erasure_reason(), liaison::v1::EVIDENCE_ERASURE_REASON_ERASE_BY);
  EXPECT_EQ(erased.rule_ids(0), "DP-RET-02");
}

// Members the policy refuses can never download: their wrapped keys are
// destroyed at the decision (an "evidence-key-destroyed" entry each), and,
// nobody being left to acknowledge, the item waits for its retention limit.
TEST_F(EvidenceErasure, ARefusedMembersKeyIsDestroyedAtTheDecision) {
  StartBroker();
  const EvidenceItem item = UploadAndAnnounce("EV-REF-0001", T0() + absl::Hours(72), true);
  std::vector<liaison::v1::AuditEntry> destroyed;
  ASSERT_TRUE(WaitFor(
      [&] {
        destroyed = Audited(item.item_id(), "evidence-key-destroyed");
        return destroyed.size() == 2;
      },
      absl::Seconds(30)))
      << destroyed.size();
  std::vector<std::string> members;
  for (const liaison::v1::AuditEntry& e : destroyed) {
    EXPECT_EQ(e.operation(), liaison::v1::AUDIT_OPERATION_ERASURE);
    EXPECT_EQ(e.evidence(0).ciphertext_sha256(), item.ciphertext_sha256());
    members.push_back(e.recipient());
  }
  EXPECT_THAT(members, ::testing::UnorderedElementsAre("DE-BKA", "NL-NP"));
  std::map<std::string, bool> keys;
  ASSERT_TRUE(WaitFor([&] {
    keys = Latest(broker_->topics().EvidenceKeys(), item.item_id());
    return keys.size() == 2 && absl::c_all_of(keys, [](auto& k) { return k.second; });
  }));
  absl::StatusOr<std::unique_ptr<endpoint::Client>> de = broker_->Client("DE-BKA");
  ASSERT_TRUE(de.ok());
  absl::Status refused = (*de)->DownloadItem(item, KeyOf("DE-BKA"), dir_ + "/de-refused");
  EXPECT_TRUE(absl::IsPermissionDenied(refused)) << refused;
  absl::SleepFor(absl::Seconds(3));  // keeper ticks: no acknowledgement is assumed
  EXPECT_TRUE(Audited(item.item_id(), "evidence-erased").empty());
  // No grant carries the refused manifest's erase_by: the JIT's end counts.
  clock_->Set(JitEnd() + absl::Seconds(1));
  EXPECT_EQ(WaitErased(item.item_id()).custody().erasure_reason(),
            liaison::v1::EVIDENCE_ERASURE_REASON_JIT_ENDED);
}

// The registry extends AMBER ROUTE by five hours: the item record follows
// (custody entry "evidence-jit-extended"), and so does its erasure.
TEST_F(EvidenceErasure, AJitExtensionMovesTheErasure) {
  const std::string registry = RegistryWith("", "");
  StartBroker(registry);
  const EvidenceItem item = UploadAndAnnounce("EV-EXT-0001");
  LIAISON_ASSERT_OK(Download("DE-BKA", item));
  // Five hours: still before the item's max age (T0 + 28 days = 2026-06-01T10:00Z).
  const absl::Time extended = JitEnd() + absl::Hours(5);
  {
    std::string text(policy::scenario::DevRegistryText());
    const std::string old_end =
        "end { seconds: 1780272000 }    # 2026-06-01 (valid through 2026-05-31)";
    const std::string new_end =
        absl::StrCat("end { seconds: ", absl::ToUnixSeconds(extended), " }");
    text.replace(text.find(old_end), old_end.size(), new_end);
    const std::string ext = "reference: \"AMBER ROUTE extension 1\"\n  }";
    text.replace(
        text.find(ext), ext.size(),
        absl::StrCat(ext, "\n  extensions { previous_end { seconds: 1780272000 } new_end { ",
                     "seconds: ", absl::ToUnixSeconds(extended), " } reference: \"2\" }"));
    std::ofstream(registry, std::ios::trunc) << text;
  }
  LIAISON_ASSERT_OK(broker_->node().ReloadRegistry());
  const std::vector<liaison::v1::AuditEntry> moved =
      WaitAudited(item.item_id(), "evidence-jit-extended");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].operation(), liaison::v1::AUDIT_OPERATION_RETENTION);
  EXPECT_EQ(FromProto(moved[0].custody().previous_jit_end()), JitEnd());
  EXPECT_EQ(FromProto(moved[0].custody().jit_end()), extended);

  clock_->Set(JitEnd() + absl::Seconds(1));
  absl::SleepFor(absl::Seconds(3));  // ticks of the keeper: the old end no longer counts
  EXPECT_TRUE(Audited(item.item_id(), "evidence-erased").empty());
  clock_->Set(extended + absl::Seconds(1));
  const liaison::v1::AuditEntry erased = WaitErased(item.item_id());
  EXPECT_EQ(erased.custody().erasure_reason(), liaison::v1::EVIDENCE_ERASURE_REASON_JIT_ENDED);
  EXPECT_EQ(Audited(item.item_id(), "evidence-jit-extended").size(), 1u);
}

// Two nodes share the cluster: whichever owns the item's chain erases it,
// once; a node started afterwards (a restart) reads the erasure from Kafka
// and does not erase it again.
TEST_F(EvidenceErasure, ASecondNodeAndARestartDoNotEraseTwice) {
  LIAISON_SKIP_ON_REAL_KAFKA();
  StartBroker();
  TestBrokerOptions second;
  second.clock = clock_.get();
  second.kafka_bootstrap = broker_->node().bootstrap_servers();
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<TestBroker> node2, TestBroker::Start(second));
  const EvidenceItem item = UploadAndAnnounce("EV-TWO-0001");
  LIAISON_ASSERT_OK(Download("DE-BKA", item));
  clock_->Set(JitEnd() + absl::Seconds(1));
  WaitErased(item.item_id());
  absl::SleepFor(absl::Seconds(4));  // the keepers of both nodes tick again
  EXPECT_EQ(Audited(item.item_id(), "evidence-erased").size(), 1u);
  node2.reset();  // its partitions move to the first node
  TestBrokerOptions third = second;
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<TestBroker> node3, TestBroker::Start(third));
  absl::SleepFor(absl::Seconds(6));  // takeover grace and ticks on both nodes
  EXPECT_EQ(Audited(item.item_id(), "evidence-erased").size(), 1u);
}

// Holds back the records of one item on their way into a node's evidence
// book (BrokerConfig::evidence_record_hook) while closed: the node stays
// behind what another node wrote, for as long as the test wants.
class Gate {
 public:
  // Holds every record whose key is `item_id` or starts "<item_id>/", of
  // `topic` only when it is not empty.
  void Close(const std::string& item_id, const std::string& topic = "") {
    absl::MutexLock lock(&mu_);
    item_id_ = item_id;
    topic_ = topic;
    open_ = false;
    held_ = 0;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  // Opens after `delay`, on a thread of its own.
  std::thread OpenAfter(absl::Duration delay) {
    return std::thread([this, delay] {
      absl::SleepFor(delay);
      Open();
    });
  }
  // The hook: returns once the gate is open or `r` is not held.
  void Pass(const kafka::Record& r) {
    absl::MutexLock lock(&mu_);
    const bool held = !item_id_.empty() && (topic_.empty() || r.topic == topic_) &&
                      (r.key == item_id_ || absl::StartsWith(r.key, item_id_ + "/"));
    if (!held || open_) return;
    ++held_;
    mu_.Await(absl::Condition(&open_));
  }
  // Records that waited at the gate since it was last closed.
  int held() {
    absl::MutexLock lock(&mu_);
    return held_;
  }

 private:
  absl::Mutex mu_;
  std::string item_id_ ABSL_GUARDED_BY(mu_);
  std::string topic_ ABSL_GUARDED_BY(mu_);
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int held_ ABSL_GUARDED_BY(mu_) = 0;
};

// A node whose evidence book passes through `gate`; the gate opens before
// the node stops (its reader thread may be waiting there).
struct GatedNode {
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  std::unique_ptr<TestBroker> node;
  ~GatedNode() {
    gate->Open();
    node.reset();
  }
};

// A second node of broker_'s cluster, a front door only (no policy stage),
// whose evidence book passes through `gate`.
absl::StatusOr<std::unique_ptr<TestBroker>> StartFrontDoor(TestBroker& first,
                                                           const broker::Clock* clock,
                                                           std::shared_ptr<Gate> gate) {
  TestBrokerOptions options;
  options.clock = clock;
  options.kafka_bootstrap = first.node().bootstrap_servers();
  options.run_policy_stage = false;
  options.evidence_record_hook = [gate](const kafka::Record& r) { gate->Pass(r); };
  return TestBroker::Start(options);
}

// The moment of erasure on other nodes (docs/evidence.md, "Erasure"): node A
// runs the policy stage and erases an item once both members acknowledged
// it; node B, a front door only, reads the erasure from Kafka. A call
// reaching B after A's erasure is in Kafka is answered
// by the erasure, however far behind B's book is at that moment: it is held
// back at the gate (all of the item's records; only its item record, the
// key and grant tombstones passing), then released while the call waits;
// not held at all (the download right after A's); held past the bound: the
// call is refused UNAVAILABLE naming the partition, and nothing is sent.
// The chain of custody of each item then has no violation (a download
// after the erasure would be one).
TEST_F(EvidenceErasure, AnErasureThroughOneNodeIsInForceOnEveryNodeAtOnce) {
  StartBroker();  // node A: its policy stage owns every chain, its keeper erases
  GatedNode b;
  LIAISON_ASSERT_OK_AND_ASSIGN(b.node, StartFrontDoor(*broker_, clock_.get(), b.gate));
  Gate& gate = *b.gate;
  auto client = [](TestBroker& node, const std::string& member) {
    absl::StatusOr<std::unique_ptr<endpoint::Client>> c = node.Client(member);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  };
  // One attempt: the client tries an UNAVAILABLE download again itself.
  auto download = [&](TestBroker& node, const EvidenceItem& item) {
    endpoint::DownloadItemOptions once;
    once.max_attempts = 1;
    return client(node, "DE-BKA")
        ->DownloadItem(item, KeyOf("DE-BKA"), dir_ + "/DE-BKA-" + item.item_id(), once);
  };
  // Uploaded, downloaded and acknowledged by both members through A, so
  // that A's keeper erases it (ALL_ACKNOWLEDGED); returns once the erased
  // item record is in Kafka (committed, on Kafka with transactions).
  auto erased_through_a = [&](const std::string& id, const std::function<void()>& before_last_ack) {
    const EvidenceItem item = UploadAndAnnounce(id);
    ExpectOk(Download("DE-BKA", item));
    ExpectOk(Download("NL-NP", item));
    ExpectOk(Acknowledge("DE-BKA", id, item.sha256()).status());
    before_last_ack();
    ExpectOk(Acknowledge("NL-NP", id, item.sha256()).status());
    EXPECT_TRUE(WaitForItemRecord(id, [](const auto& r) { return r.has_erasure(); })) << id;
    return item;
  };
  auto refused_as_erased = [](const absl::Status& s) {
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("(its keys destroyed): "
                                                    "EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED"));
  };
  std::vector<std::string> items;

  {  // Every record of the item held at B, released while the download waits.
    const EvidenceItem item = erased_through_a("EV-MOMENT-1", [&] { gate.Close("EV-MOMENT-1"); });
    items.push_back(item.item_id());
    std::thread opener = gate.OpenAfter(absl::Milliseconds(700));
    const absl::Time asked = absl::Now();
    refused_as_erased(download(*b.node, item));
    opener.join();
    EXPECT_GT(gate.held(), 0);
    EXPECT_GE(absl::Now() - asked, absl::Milliseconds(600));  // it waited for B's book
  }
  {  // Only the item record held: B has the tombstones, not the erasure.
    const EvidenceItem item = erased_through_a(
        "EV-MOMENT-2", [&] { gate.Close("EV-MOMENT-2", broker_->topics().EvidenceItems()); });
    items.push_back(item.item_id());
    std::thread opener = gate.OpenAfter(absl::Milliseconds(700));
    absl::StatusOr<absl::Time> ack =
        client(*b.node, "NL-NP")->AcknowledgeItem(item.item_id(), item.sha256());
    opener.join();
    EXPECT_GT(gate.held(), 0);
    refused_as_erased(ack.status());
    refused_as_erased(download(*b.node, item));
  }
  {  // Held past the bound: UNAVAILABLE naming the partition behind.
    const EvidenceItem item = erased_through_a("EV-MOMENT-3", [&] { gate.Close("EV-MOMENT-3"); });
    items.push_back(item.item_id());
    const absl::Status late = download(*b.node, item);
    ASSERT_TRUE(absl::IsUnavailable(late)) << late;
    EXPECT_THAT(std::string(late.message()),
                HasSubstr("evidence item 'EV-MOMENT-3': this node has not caught up with the "
                          "evidence records in Kafka (topics "));
    EXPECT_THAT(std::string(late.message()), HasSubstr(" partition "));
    EXPECT_THAT(std::string(late.message()), HasSubstr("nothing was sent, download again"));
    absl::StatusOr<liaison::v1::ListResponse> list = client(*b.node, "DE-BKA")->ListItems();
    EXPECT_TRUE(absl::IsUnavailable(list.status())) << list.status();
    gate.Open();
    refused_as_erased(download(*b.node, item));
  }
  {  // Not held: the download right after A's erasure, and the list.
    const EvidenceItem item = erased_through_a("EV-MOMENT-4", [] {});
    items.push_back(item.item_id());
    refused_as_erased(download(*b.node, item));
    LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::ListResponse list,
                                 client(*b.node, "DE-BKA")->ListItems());
    for (const liaison::v1::GrantedItem& g : list.items()) {
      EXPECT_FALSE(absl::StartsWith(g.grant().item_id(), "EV-MOMENT-")) << g.grant().item_id();
    }
  }

  // No download (no key) after an erasure in any item's chain of custody.
  for (const std::string& id : items) {
    LIAISON_ASSERT_OK_AND_ASSIGN(audit::Custody custody, CustodyOfItem(id));
    ExpectNoViolation(custody, id);
    EXPECT_EQ(Audited(id, "evidence-erased").size(), 1u) << id;
  }
}

// An item due for erasure is first marked (erasure_pending in its record),
// then erased once the policy stage has passed the item's erasure point
// (docs/evidence.md, "A download during the erasure"). Held between the two
// (BrokerConfig::evidence_erasure_hook), the item is downloadable by nobody,
// through either node, and the refused calls record nothing; released, it
// is erased as usual and its chain of custody is clean.
TEST_F(EvidenceErasure, AnItemMarkedForErasureIsDownloadableByNobody) {
  auto hold = std::make_shared<std::atomic<bool>>(true);
  auto asked = std::make_shared<std::atomic<int>>(0);
  StartBroker("", [hold, asked](TestBrokerOptions& options) {
    options.evidence_erasure_hook = [hold, asked](const std::string&) {
      ++*asked;
      return !hold->load();
    };
  });
  GatedNode b;
  LIAISON_ASSERT_OK_AND_ASSIGN(b.node, StartFrontDoor(*broker_, clock_.get(), b.gate));
  const EvidenceItem item = DownloadedAndAcknowledged("EV-MARK-0001");
  // Marked, the point written and passed: the keeper asks before erasing.
  ASSERT_TRUE(WaitFor([&] { return asked->load() > 0; }, absl::Seconds(30)));
  for (TestBroker* node : {broker_.get(), b.node.get()}) {
    LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<endpoint::Client> c, node->Client("DE-BKA"));
    endpoint::DownloadItemOptions once;
    once.max_attempts = 1;
    const absl::Status refused =
        c->DownloadItem(item, KeyOf("DE-BKA"), dir_ + "/DE-BKA-marked", once);
    ASSERT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
    EXPECT_THAT(std::string(refused.message()),
                HasSubstr("evidence item 'EV-MARK-0001': being erased "
                          "(EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED"));
    EXPECT_THAT(std::string(refused.message()), HasSubstr("no download is admitted"));
    // Listed, but no longer complete.
    LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::ListResponse list, c->ListItems());
    bool listed = false;
    for (const liaison::v1::GrantedItem& g : list.items()) {
      if (g.grant().item_id() != item.item_id()) continue;
      listed = true;
      EXPECT_FALSE(g.complete());
    }
    EXPECT_TRUE(listed);
  }
  EXPECT_TRUE(Audited(item.item_id(), "evidence-erased").empty());
  EXPECT_EQ(Audited(item.item_id(), "evidence-download-started").size(), 2u);

  hold->store(false);
  WaitErased(item.item_id());
  const absl::Status erased = Download("DE-BKA", item);
  EXPECT_THAT(std::string(erased.message()), HasSubstr("erased at")) << erased;
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Custody custody, CustodyOfItem(item.item_id()));
  EXPECT_TRUE(custody.ok());
  ExpectNoViolation(custody, item.item_id());
}

// The race itself: a download admitted (the item neither erased nor marked)
// and its start in Kafka, then the item marked before the node sends the
// header with the key (the node held there by
// BrokerConfig::download_started_hook while the last member's
// acknowledgement makes the item due). The node checks the item again after
// its start is in Kafka, reads the mark, and sends nothing: refused as being
// erased (or erased, if the erasure came first), no file written. The chain
// of custody is clean: the start is before the erasure. Without the second
// check the key went out while the item was being erased.
TEST_F(EvidenceErasure, ADownloadWhoseItemIsMarkedAsItStartsGetsNoKey) {
  struct Pause {
    absl::Mutex mu;
    std::string item ABSL_GUARDED_BY(mu);
    bool reached ABSL_GUARDED_BY(mu) = false;
    bool go ABSL_GUARDED_BY(mu) = false;
  };
  auto pause = std::make_shared<Pause>();
  StartBroker("", [pause](TestBrokerOptions& options) {
    options.download_started_hook = [pause](const std::string& id) {
      absl::MutexLock lock(&pause->mu);
      if (id != pause->item) return;
      pause->reached = true;
      pause->mu.Await(absl::Condition(&pause->go));
    };
  });
  const std::string id = "EV-RACE-0001";
  const EvidenceItem item = UploadAndAnnounce(id);
  ExpectOk(Download("DE-BKA", item));
  ExpectOk(Download("NL-NP", item));
  ExpectOk(Acknowledge("DE-BKA", id, item.sha256()).status());
  {
    absl::MutexLock lock(&pause->mu);
    pause->item = id;
  }
  const std::string out = dir_ + "/NL-NP-race";
  absl::Status second;
  std::thread downloader([&] {
    absl::StatusOr<std::unique_ptr<endpoint::Client>> c = broker_->Client("NL-NP");
    ASSERT_TRUE(c.ok()) << c.status();
    endpoint::DownloadItemOptions once;
    once.max_attempts = 1;
    second = (*c)->DownloadItem(item, KeyOf("NL-NP"), out, once);
  });
  EXPECT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&pause->mu);
    return pause->reached;
  }));
  ExpectOk(Acknowledge("NL-NP", id, item.sha256()).status());  // the item is due now
  // The keeper marks it within about a second.
  EXPECT_TRUE(WaitForItemRecord(id, [](const auto& r) { return r.has_erasure_pending(); }));
  {
    absl::MutexLock lock(&pause->mu);
    pause->go = true;
  }
  downloader.join();
  ASSERT_TRUE(absl::IsFailedPrecondition(second)) << second;
  EXPECT_TRUE(absl::StrContains(second.message(), "being erased") ||
              absl::StrContains(second.message(), "erased at"))
      << second;
  EXPECT_FALSE(std::filesystem::exists(out));
  WaitErased(id);
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Custody custody, CustodyOfItem(id));
  ExpectNoViolation(custody, id);
}

// A download a node admitted just before it could read the item's erasure
// mark: its start reaches the policy stage after the erasure. Written here
// as that node wrote it (a DOWNLOAD_STARTED event signed with a broker key,
// into the item's ingress partition) once the item is erased: the stage
// records it as refused (no key went out: the node checks for the mark
// after its start is in Kafka), not as a download after the erasure, and
// the chain of custody has no violation. Before the mark, the stage wrote
// "evidence-download-started" after "evidence-erased": a violation.
TEST_F(EvidenceErasure, ADownloadStartReadAfterTheErasureIsRecordedAsRefused) {
  StartBroker();
  const EvidenceItem item = DownloadedAndAcknowledged("EV-LATE-0001");
  WaitErased(item.item_id());
  ASSERT_EQ(Audited(item.item_id(), "evidence-download-started").size(), 2u);

  LIAISON_ASSERT_OK(WriteDownloadStart(item, "DE-BKA"));

  const std::vector<liaison::v1::AuditEntry> refused =
      WaitAudited(item.item_id(), "evidence-download-refused");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].operation(), liaison::v1::AUDIT_OPERATION_REFUSAL);
  EXPECT_EQ(refused[0].recipient(), "DE-BKA");
  EXPECT_EQ(Audited(item.item_id(), "evidence-download-started").size(), 2u);
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Custody custody, CustodyOfItem(item.item_id()));
  ExpectNoViolation(custody, item.item_id());
  EXPECT_TRUE(absl::c_any_of(custody.findings, [](const audit::CustodyFinding& f) {
    return absl::StrContains(f.reason, "refused: the item was erased");
  }));
}

// An upload completed through node A and started again through node B (a
// client that failed over after its last chunk, say): B answers it
// complete, also while B's book is held back at the gate and has not read
// A's item record when the start comes; it never takes it for a new upload.
TEST_F(EvidenceErasure, AnUploadCompletedThroughOneNodeIsCompleteOnEveryNode) {
  StartBroker();
  GatedNode b;
  LIAISON_ASSERT_OK_AND_ASSIGN(b.node, StartFrontDoor(*broker_, clock_.get(), b.gate));
  const std::string id = "EV-FAILOVER-1";
  b.gate->Close(id);
  const std::string path = dir_ + "/" + id;
  std::ofstream(path, std::ios::binary) << RandomBytes(2 * kMiB + 5, 7);
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<endpoint::Client> ro, broker_->Client("RO-IGPR"));
  endpoint::UploadItemOptions up;
  up.jit_id = kJit;
  up.item_id = id;
  up.recipients = {Recipient("DE-BKA")};
  up.spool_dir = dir_;
  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceItem item, ro->UploadItem(path, up));

  liaison::v1::UploadStart start;  // the declaration A stored
  start.set_jit_id(kJit);
  start.set_item_id(id);
  start.set_ciphertext_sha256(item.ciphertext_sha256());
  start.set_chunk_count(item.chunk_count());
  start.set_ciphertext_size(item.ciphertext_size());
  LIAISON_ASSERT_OK_AND_ASSIGN(certs::EvidenceEncryptor enc, certs::EvidenceEncryptor::Create(id));
  LIAISON_ASSERT_OK_AND_ASSIGN(
      std::string wrapped,
      certs::WrapDataKey(enc.key(), id, "DE-BKA", Recipient("DE-BKA").encryption_certificate,
                         *trust_, absl::Now()));
  start.add_wrapped_keys(wrapped);

  std::thread opener = b.gate->OpenAfter(absl::Milliseconds(700));
  auto stub = Stub("RO-IGPR", b.node->target());
  grpc::ClientContext context;
  liaison::v1::UploadResult result;
  auto writer = stub->Upload(&context, &result);
  liaison::v1::UploadRequest request;
  *request.mutable_start() = start;
  EXPECT_TRUE(writer->Write(request));
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  opener.join();
  EXPECT_GT(b.gate->held(), 0);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(result.complete());
  EXPECT_EQ(result.durable_chunks(), item.chunk_count());
}

// The same after a change of the chain's owner: node B owns the item's
// chain and erases the item, then stops; node A takes the chain over while
// its evidence book is behind (held at the gate: it has neither B's mark
// nor the erasure), and a download start written after the erasure waits
// in the chain. A reads the evidence topics to their end before it decides
// anything of a chain it took over (PolicyStageDeps::evidence_caught_up),
// here until the gate opens, and records the start as refused. Without that
// it recorded "evidence-download-started" after "evidence-erased": a
// violation in the chain of custody.
TEST_F(EvidenceErasure, AStartAfterTheErasureIsRefusedByTheChainsNextOwner) {
  LIAISON_SKIP_ON_REAL_KAFKA();  // B leaves A's embedded cluster
  auto gate = std::make_shared<Gate>();
  StartBroker("", [gate](TestBrokerOptions& options) {
    options.evidence_record_hook = [gate](const kafka::Record& r) { gate->Pass(r); };
  });
  TestBrokerOptions second;
  second.clock = clock_.get();
  second.kafka_bootstrap = broker_->node().bootstrap_servers();
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<TestBroker> b, TestBroker::Start(second));
  std::vector<int32_t> on_b;
  ASSERT_TRUE(WaitFor(
      [&] {
        on_b = b->node().OwnedIngressPartitions();
        return !on_b.empty() && on_b.size() + broker_->node().OwnedIngressPartitions().size() == 6;
      },
      absl::Seconds(60)));
  std::string id;
  for (int i = 1; id.empty() && i < 100; ++i) {
    const std::string candidate = absl::StrCat("EV-TAKE-", 1000 + i);
    if (absl::c_linear_search(on_b, broker::EvidenceChainOf(candidate, 6))) id = candidate;
  }
  ASSERT_FALSE(id.empty());

  const EvidenceItem item = UploadAndAnnounce(id);
  for (const char* member : {"DE-BKA", "NL-NP"}) ExpectOk(Download(member, item));
  ExpectOk(Acknowledge("DE-BKA", id, item.sha256()).status());
  // From here A's book sees nothing more of the item: the last
  // acknowledgement (through B), B's mark and B's erasure stay at the gate.
  gate->Close(id);
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<endpoint::Client> nl, b->Client("NL-NP"));
  LIAISON_ASSERT_OK(nl->AcknowledgeItem(id, item.sha256()).status());
  WaitErased(id);

  b.reset();  // A takes B's chains over
  LIAISON_ASSERT_OK(WriteDownloadStart(item, "DE-BKA"));
  // Open well after A took the chains over (about 3 s on the mock).
  std::thread opener = gate->OpenAfter(absl::Seconds(8));
  const std::vector<liaison::v1::AuditEntry> refused = WaitAudited(id, "evidence-download-refused");
  opener.join();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].recipient(), "DE-BKA");
  EXPECT_EQ(Audited(id, "evidence-download-started").size(), 2u);
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Custody custody, CustodyOfItem(id));
  ExpectNoViolation(custody, id);
}

}  // namespace
}  // namespace liaison::testing
