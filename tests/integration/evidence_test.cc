// JIT evidence transport (docs/evidence.md) through a running broker over
// mTLS on the embedded Kafka: an endpoint encrypts an item for JIT members,
// uploads it (resuming after a broken connection), and a member the policy
// granted it downloads, decrypts and verifies it. Every bad input is refused
// with a status naming the item and the chunk, and nothing partial is ever
// downloadable. Grants are written to Kafka the way the policy stage will.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "base/proto_time.h"
#include "base/testing/status_matchers.h"
#include "base/uuid.h"
#include "broker/core/clock.h"
#include "broker/frontdoor/evidence_resume.h"
#include "broker/frontdoor/evidence_service.h"
#include "broker/stage/evidence_keeper.h"
#include "broker/state/evidence_book.h"
#include "certs/evidence_crypto.h"
#include "certs/key_wrap.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "connectors/endpoint/evidence_transfer.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/producer.h"
#include "connectors/kafka/reader.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "liaison/v1/evidence.grpc.pb.h"
#include "policy/testing/scenario.h"
#include "tests/fixtures/evidence_fixture.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

using liaison::v1::EvidenceItem;
using liaison::v1::UploadRequest;
using liaison::v1::UploadResult;
using liaison::v1::UploadStart;

constexpr const char* kJit = kEvidenceJit;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A line of /proc/self/status in KiB ("VmRSS", "VmHWM"); -1 if absent.
int64_t StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}
// Starts a new peak-RSS measurement (VmHWM := VmRSS).
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// An item encrypted as a sender's client would: its records and its start.
struct Encrypted {
  std::vector<std::string> records;
  UploadStart start;
  certs::EncryptedItemSummary summary;
};

class Evidence : public EvidenceFixture {
 protected:
  void SetUp() override { StartBroker(); }

  // A second node on the first one's Kafka cluster, on the same policy clock.
  absl::StatusOr<std::unique_ptr<TestBroker>> StartSecondNode() {
    TestBrokerOptions second;
    second.clock = clock_.get();
    second.kafka_bootstrap = broker_->node().bootstrap_servers();
    return TestBroker::Start(second);
  }

  // Options for uploading `item_id` in JIT kJit with a key wrapped for each
  // of `recipients`, spooling under the test's folder.
  endpoint::UploadItemOptions UploadOptions(const std::string& item_id,
                                            const std::vector<std::string>& recipients) {
    endpoint::UploadItemOptions up;
    up.jit_id = kJit;
    up.item_id = item_id;
    for (const std::string& r : recipients) up.recipients.push_back(Recipient(r));
    up.spool_dir = dir_;
    return up;
  }

  std::string WriteFile(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  Encrypted Encrypt(const std::string& item_id, const std::string& plaintext,
                    const std::vector<std::string>& recipients, const char* jit = kJit) {
    Encrypted e;
    absl::StatusOr<certs::EvidenceEncryptor> enc = certs::EvidenceEncryptor::Create(item_id);
    EXPECT_TRUE(enc.ok()) << enc.status();
    const int64_t n = certs::EvidenceChunkCount(static_cast<int64_t>(plaintext.size()));
    for (int64_t i = 0; i < n; ++i) {
      absl::StatusOr<std::string> r = enc->EncryptChunk(
          std::string_view(plaintext).substr(i * kMiB, kMiB),
          i == n - 1 ? certs::ChunkPosition::kFinal : certs::ChunkPosition::kMiddle);
      EXPECT_TRUE(r.ok()) << r.status();
      e.records.push_back(*r);
    }
    e.summary = *enc->Summary();
    e.start.set_jit_id(jit);
    e.start.set_item_id(item_id);
    e.start.set_ciphertext_sha256(e.summary.ciphertext_sha256);
    e.start.set_chunk_count(n);
    int64_t size = 0;
    for (const std::string& r : e.records) size += static_cast<int64_t>(r.size());
    e.start.set_ciphertext_size(size);
    for (const std::string& id : recipients) {
      endpoint::EvidenceRecipient r = Recipient(id);
      absl::StatusOr<std::string> wrapped = certs::WrapDataKey(
          enc->key(), item_id, id, r.encryption_certificate, *trust_, absl::Now());
      EXPECT_TRUE(wrapped.ok()) << wrapped.status();
      e.start.add_wrapped_keys(*wrapped);
    }
    return e;
  }

  // One Upload call: the start, then `records` as chunks (index, bytes); to
  // the node at `target` when given.
  absl::StatusOr<UploadResult> Upload(const std::string& sender, const UploadStart& start,
                                      const std::vector<std::pair<int64_t, std::string>>& chunks,
                                      const std::string& target = "") {
    auto stub = target.empty() ? Stub(sender) : Stub(sender, target);
    grpc::ClientContext context;
    UploadResult result;
    auto writer = stub->Upload(&context, &result);
    UploadRequest request;
    *request.mutable_start() = start;
    bool ok = writer->Write(request);
    for (const auto& [index, record] : chunks) {
      if (!ok) break;
      request.Clear();
      request.mutable_chunk()->set_index(index);
      request.mutable_chunk()->set_record(record);
      ok = writer->Write(request);
    }
    if (ok) writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!status.ok()) return endpoint::FromGrpc(status);
    return result;
  }
  static std::vector<std::pair<int64_t, std::string>> All(const Encrypted& e) {
    std::vector<std::pair<int64_t, std::string>> v;
    for (size_t i = 0; i < e.records.size(); ++i) v.push_back({int64_t(i), e.records[i]});
    return v;
  }

  // What the policy stage writes when it delivers the manifest to `recipient`.
  void Grant(const EvidenceItem& item, const std::string& recipient) {
    broker::KeyedRecord r =
        broker::BuildEvidenceGrantRecord(item, recipient, kJit, "M-TEST-MANIFEST", clock_->Now());
    Produce(broker_->topics().EvidenceGrants(), std::move(r.key), std::move(r.value));
  }
  void Produce(const std::string& topic, std::string key, std::string value, int32_t partition = -1,
               std::vector<kafka::Header> headers = {}) {
    absl::StatusOr<std::unique_ptr<kafka::Producer>> p =
        kafka::Producer::Create(broker_->KafkaClient());
    ASSERT_TRUE(p.ok()) << p.status();
    absl::Notification done;
    absl::Status status;
    (*p)->Produce(
        topic, std::move(key), std::move(value),
        [&](const kafka::DeliveryReport& r) {
          status = r.status;
          last_offset_ = r.offset;
          done.Notify();
        },
        partition, std::move(headers));
    done.WaitForNotification();
    ASSERT_TRUE(status.ok()) << status;
  }

  EvidenceItem ItemOf(const Encrypted& e, const std::string& item_id, int64_t size,
                      const std::string& sha256) {
    EvidenceItem item;
    item.set_item_id(item_id);
    item.set_sha256(sha256);
    item.set_size(size);
    item.set_ciphertext_sha256(e.summary.ciphertext_sha256);
    item.set_chunk_count(e.start.chunk_count());
    item.set_ciphertext_size(e.start.ciphertext_size());
    return item;
  }

  // Downloads until the broker's answer is no longer PERMISSION_DENIED (the
  // grant reaches the node's book through its mirror).
  absl::Status DownloadOnceGranted(endpoint::Client& client, const EvidenceItem& item,
                                   const certs::RecipientKey& key, const std::string& out,
                                   endpoint::DownloadItemOptions options = {}) {
    absl::Status s;
    WaitFor([&] {
      s = client.DownloadItem(item, key, out, options);
      return !absl::IsPermissionDenied(s);
    });
    return s;
  }

  // RO-IGPR uploads `plaintext` as `item_id` (keys for DE-BKA and NL-NP),
  // then sends AC-16's manifest (to the members DE-BKA, NL-NP, FR-OCRTEH and
  // the non-member BG-GDNP) naming that one item with its digests.
  struct Shared {
    EvidenceItem uploaded;          // what UploadItem returned
    EvidenceItem entry;             // the manifest's entry for it
    liaison::v1::Message manifest;  // as sent
  };
  void UploadAndSendManifest(const std::string& item_id, const std::string& file,
                             const std::string& plaintext, Shared& out) {
    const std::string path = WriteFile(file, plaintext);
    LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker_->Client("RO-IGPR"));
    endpoint::UploadItemOptions up = UploadOptions(item_id, {"DE-BKA", "NL-NP"});
    LIAISON_ASSERT_OK_AND_ASSIGN(out.uploaded, ro->UploadItem(path, up));
    out.manifest = policy::scenario::Ac16EvidenceManifest({"BG-GDNP"});
    out.manifest.mutable_header()->set_message_id(NewUuidV7(clock_->Now()));
    out.manifest.mutable_header()->clear_created_at();
    EvidenceItem& item = *out.manifest.mutable_evidence_manifest()->mutable_items(0);
    item.set_item_id(out.uploaded.item_id());
    item.set_sha256(out.uploaded.sha256());
    item.set_size(out.uploaded.size());
    item.set_ciphertext_sha256(out.uploaded.ciphertext_sha256());
    item.set_chunk_count(out.uploaded.chunk_count());
    item.set_ciphertext_size(out.uploaded.ciphertext_size());
    out.manifest.mutable_evidence_manifest()->mutable_items()->DeleteSubrange(1, 1);
    out.entry = item;
    LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::SignedEnvelope envelope,
                                 ro->Seal(out.manifest, clock_->Now()));
    LIAISON_ASSERT_OK(ro->Send(envelope).status());
  }

  // The audit entries naming `item_id` (AuditEntry.evidence), in the order
  // of the audit topic's partitions and offsets.
  std::vector<liaison::v1::AuditEntry> CustodyOf(const std::string& item_id) {
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
          for (const liaison::v1::EvidenceRef& ref : e.evidence()) {
            if (ref.item_id() == item_id) {
              out.push_back(e);
              break;
            }
          }
        }
      }
    }
    return out;
  }
  // "event recipient" of each entry, e.g. "evidence-key-wrapped DE-BKA".
  static std::vector<std::string> Described(const std::vector<liaison::v1::AuditEntry>& entries) {
    std::vector<std::string> out;
    for (const liaison::v1::AuditEntry& e : entries) {
      out.push_back(absl::StrCat(e.event(), " ", e.recipient()));
    }
    return out;
  }

  int64_t last_offset_ = -1;
};

TEST_F(Evidence, AMultiChunkItemMakesTheRoundTripToAGrantedMemberOnly) {
  const std::string plaintext = RandomBytes(3 * kMiB + 12345, 1);  // 4 chunks
  const std::string path = WriteFile("interview.mp4", plaintext);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker_->Client("RO-IGPR"));
  endpoint::UploadItemOptions up = UploadOptions("RO-EV-0001", {"DE-BKA", "NL-NP"});
  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceItem item, ro->UploadItem(path, up));
  EXPECT_EQ(item.chunk_count(), 4);
  EXPECT_EQ(item.size(), static_cast<int64_t>(plaintext.size()));
  EXPECT_EQ(item.ciphertext_size(), item.size() + 4 * 16);
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    EXPECT_NE(f.path().extension(), ".spool") << "the spool file is removed: " << f.path();
  }

  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  const std::string out = dir_ + "/de-copy.mp4";
  // No grant yet: refused, naming the item; nothing written.
  absl::Status refused = de->DownloadItem(item, KeyOf("DE-BKA"), out);
  EXPECT_TRUE(absl::IsPermissionDenied(refused)) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "RO-EV-0001")) << refused;
  EXPECT_FALSE(std::filesystem::exists(out));

  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), out));
  EXPECT_EQ(ReadAll(out), plaintext);
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));

  // NL-NP holds a wrapped key but no grant; FR-OCRTEH neither.
  for (const char* id : {"NL-NP", "FR-OCRTEH"}) {
    LIAISON_ASSERT_OK_AND_ASSIGN(auto c, broker_->Client(id));
    absl::Status s = c->DownloadItem(item, KeyOf(id), dir_ + "/" + id);
    EXPECT_TRUE(absl::IsPermissionDenied(s)) << id << ": " << s;
  }
  // A grant from a manifest of another JIT does not open the item.
  {
    broker::KeyedRecord r = broker::BuildEvidenceGrantRecord(item, "NL-NP", "JIT-2026-003",
                                                             "M-TEST-OTHER-JIT", clock_->Now());
    Produce(broker_->topics().EvidenceGrants(), std::move(r.key), std::move(r.value));
    LIAISON_ASSERT_OK_AND_ASSIGN(auto nl, broker_->Client("NL-NP"));
    absl::Status other_jit = DownloadOnceGranted(*nl, item, KeyOf("NL-NP"), dir_ + "/nl");
    EXPECT_TRUE(absl::IsFailedPrecondition(other_jit)) << other_jit;
    EXPECT_TRUE(absl::StrContains(other_jit.message(),
                                  "granted for JIT JIT-2026-003, uploaded for JIT JIT-2025-014"))
        << other_jit;
  }
  // A granted member without a wrapped key is refused too.
  Grant(item, "FR-OCRTEH");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto fr, broker_->Client("FR-OCRTEH"));
  absl::Status no_key = DownloadOnceGranted(*fr, item, KeyOf("FR-OCRTEH"), dir_ + "/fr");
  EXPECT_TRUE(absl::IsFailedPrecondition(no_key)) << no_key;
  EXPECT_TRUE(absl::StrContains(no_key.message(), "wrapped no key for FR-OCRTEH")) << no_key;

  // The item id is taken: the same file encrypted again (another key) is
  // other content.
  absl::StatusOr<UploadResult> again =
      Upload("RO-IGPR", Encrypt("RO-EV-0001", plaintext, {"DE-BKA"}).start, {});
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  EXPECT_TRUE(absl::StrContains(again.status().message(), "'RO-EV-0001'")) << again.status();
}

// The whole path with the real policy stage: the manifest goes through the
// chain, and only the members it reached are granted the item; a recipient
// the policy refuses never gets a grant (nor, therefore, its wrapped key).
TEST_F(Evidence, TheManifestThePolicyDeliversGrantsTheItemToTheMembersItReaches) {
  const std::string plaintext = RandomBytes(2 * kMiB + 77, 7);
  Shared shared;
  ASSERT_NO_FATAL_FAILURE(UploadAndSendManifest("EV-RO-0001", "premises.jpg", plaintext, shared));
  const EvidenceItem& item = shared.entry;

  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), dir_ + "/de.jpg"));
  EXPECT_EQ(ReadAll(dir_ + "/de.jpg"), plaintext);
  // FR-OCRTEH was granted (a member the manifest reached) but the sender
  // wrapped it no key.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto fr, broker_->Client("FR-OCRTEH"));
  absl::Status no_key = DownloadOnceGranted(*fr, item, KeyOf("FR-OCRTEH"), dir_ + "/fr.jpg");
  EXPECT_TRUE(absl::IsFailedPrecondition(no_key)) << no_key;
  // BG-GDNP, refused by the policy (DP-JIT-01), has no grant.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto bg, broker_->Client("BG-GDNP"));
  absl::Status refused = bg->DownloadItem(item, KeyOf("BG-GDNP"), dir_ + "/bg.jpg");
  EXPECT_TRUE(absl::IsPermissionDenied(refused)) << refused;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/bg.jpg"));
}

// Issue 13, chain of custody: the upload, each key wrapped, the manifest's
// decisions and each download are audit entries naming the item and its
// ciphertext digest, in the audit trail the auditor verifies.
TEST_F(Evidence, TheChainOfCustodyRecordsUploadKeysDecisionsAndDownloads) {
  Shared shared;
  ASSERT_NO_FATAL_FAILURE(
      UploadAndSendManifest("EV-RO-0042", "ledger.pdf", RandomBytes(kMiB + 5, 11), shared));
  const EvidenceItem& item = shared.entry;
  const EvidenceItem& uploaded = shared.uploaded;
  const liaison::v1::Message& manifest = shared.manifest;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), dir_ + "/de.pdf"));
  // FR-OCRTEH is granted but has no key: refused before anything is sent,
  // so nothing is disclosed and custody records no download.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto fr, broker_->Client("FR-OCRTEH"));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      DownloadOnceGranted(*fr, item, KeyOf("FR-OCRTEH"), dir_ + "/fr.pdf")));

  std::vector<liaison::v1::AuditEntry> custody;
  EXPECT_TRUE(WaitFor([&] {
    custody = CustodyOf("EV-RO-0042");
    return absl::c_any_of(custody, [](const liaison::v1::AuditEntry& e) {
      return e.event() == "evidence-download-finished";
    });
  }));
  std::vector<std::string> described = Described(custody);
  using ::testing::Contains;
  using ::testing::IsSupersetOf;
  EXPECT_THAT(described,
              IsSupersetOf({"evidence-uploaded ", "evidence-key-wrapped DE-BKA",
                            "evidence-key-wrapped NL-NP", "evidence-download-started DE-BKA",
                            "evidence-download-finished DE-BKA"}))
      << absl::StrJoin(described, "; ");
  EXPECT_THAT(described, ::testing::Not(Contains("evidence-download-started FR-OCRTEH")));
  // Every entry carries the uploaded ciphertext's digest; the manifest's
  // decisions (one per recipient, BG-GDNP's a refusal) name the item too.
  int decisions = 0;
  LIAISON_ASSERT_OK_AND_ASSIGN(
      int partitions, kafka::PartitionCount(broker_->KafkaClient(), broker_->topics().Ingress(),
                                            absl::Seconds(10)));
  for (const liaison::v1::AuditEntry& e : custody) {
    ASSERT_EQ(e.evidence_size(), 1) << e.ShortDebugString();
    EXPECT_EQ(e.evidence(0).ciphertext_sha256(), uploaded.ciphertext_sha256());
    EXPECT_EQ(e.evidence(0).jit_id(), kJit);
    if (e.message_id() == manifest.header().message_id()) {
      ++decisions;
      EXPECT_EQ(e.evidence(0).sha256(), uploaded.sha256());
      if (e.recipient() == "BG-GDNP") {
        EXPECT_EQ(e.decision(), liaison::v1::OUTCOME_REJECT);
      }
    }
    if (absl::StartsWith(e.event(), "evidence-")) {
      // The item's own entries sit in one chain: the one whose owner erases it.
      EXPECT_EQ(e.chain(), broker::EvidenceChainOf("EV-RO-0042", partitions)) << e.event();
    }
    if (e.event() == "evidence-uploaded") {
      EXPECT_EQ(e.sender(), "RO-IGPR");
      EXPECT_EQ(e.operation(), liaison::v1::AUDIT_OPERATION_COLLECTION);
      EXPECT_EQ(e.custody().chunk_count(), uploaded.chunk_count());
    }
    if (e.event() == "evidence-download-finished") {
      EXPECT_EQ(e.operation(), liaison::v1::AUDIT_OPERATION_DISCLOSURE);
      EXPECT_EQ(e.custody().chunks_sent(), uploaded.chunk_count());
    }
  }
  EXPECT_EQ(decisions, 4);  // DE-BKA, NL-NP, FR-OCRTEH, BG-GDNP
  // The entries are in hash chains an auditor verifies.
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification verification, VerifyAuditTrail(*broker_));
  EXPECT_TRUE(verification.ok) << verification.first_break;
}

TEST_F(Evidence, UploadAndDownloadResumeAfterABrokenConnection) {
  const std::string plaintext = RandomBytes(3 * kMiB + 1, 2);  // 4 chunks
  const std::string path = WriteFile("phone.bin", plaintext);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker_->Client("RO-IGPR"));
  endpoint::UploadItemOptions up = UploadOptions("RO-EV-0002", {"DE-BKA"});
  up.break_after_chunks_for_test = 2;
  std::vector<int64_t> sent;
  up.progress = [&](int64_t done, int64_t) { sent.push_back(done); };
  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceItem item, ro->UploadItem(path, up));
  // The first call broke after two chunks; the second went on from what the
  // broker held, ending with chunk 4 of 4.
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back(), 4);

  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  endpoint::DownloadItemOptions down;
  down.break_after_chunks_for_test = 1;
  const std::string out = dir_ + "/copy";
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), out, down));
  EXPECT_EQ(ReadAll(out), plaintext);
}

// An upload left alone for an hour is forgotten (the node's 1,024 open
// uploads are not held by abandoned ones); its sender starts again from 0.
TEST_F(Evidence, AnAbandonedUploadIsForgottenAfterAnHourIdle) {
  const std::string plaintext = RandomBytes(2 * kMiB + 7, 5);  // 3 chunks
  Encrypted e = Encrypt("RO-EV-0009", plaintext, {"DE-BKA"});
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult partial,
                               Upload("RO-IGPR", e.start, {{0, e.records[0]}}));
  EXPECT_EQ(partial.durable_chunks(), 1);
  clock_->Advance(broker::kEvidenceUploadIdle - absl::Minutes(1));
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult kept, Upload("RO-IGPR", e.start, {}));
  EXPECT_EQ(kept.durable_chunks(), 1);  // the question touched it
  clock_->Advance(broker::kEvidenceUploadIdle);
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult forgotten, Upload("RO-IGPR", e.start, {}));
  EXPECT_EQ(forgotten.durable_chunks(), 0);
  // It uploads whole from chunk 0.
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult done, Upload("RO-IGPR", e.start, All(e)));
  EXPECT_TRUE(done.complete());
}

// An upload that began longer ago than the broker's upload max age is not
// completed: the evidence keeper may have deleted its first chunks already
// (docs/evidence.md, "Deleting chunk records"). It is forgotten, and its
// sender uploads it again from chunk 0.
TEST_F(Evidence, AnUploadOlderThanItsMaxAgeIsRefusedAndStartsAgain) {
  TestBrokerOptions options;
  options.evidence_upload_max_age = absl::Seconds(3);
  StartBroker(options);
  const std::string plaintext = RandomBytes(kMiB + 7, 9);  // 2 chunks
  Encrypted e = Encrypt("RO-EV-0011", plaintext, {"DE-BKA"});
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult partial,
                               Upload("RO-IGPR", e.start, {{0, e.records[0]}}));
  EXPECT_EQ(partial.durable_chunks(), 1);
  // The age is wall time, as Kafka's record timestamps are.
  absl::SleepFor(absl::Seconds(3.5));
  absl::StatusOr<UploadResult> late = Upload("RO-IGPR", e.start, {{1, e.records[1]}});
  ASSERT_TRUE(absl::IsFailedPrecondition(late.status())) << late.status();
  EXPECT_THAT(std::string(late.status().message()),
              ::testing::HasSubstr("evidence item 'RO-EV-0011': the upload began more than 3s "
                                   "ago (its first chunks may be deleted from Kafka); upload the "
                                   "item again from chunk 0"));
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult again, Upload("RO-IGPR", e.start, {}));
  EXPECT_EQ(again.durable_chunks(), 0);
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult done, Upload("RO-IGPR", e.start, All(e)));
  EXPECT_TRUE(done.complete());
}

TEST_F(Evidence, AnUploadResumesFromItsDurableChunksAndRefusesOtherContent) {
  const std::string plaintext = RandomBytes(2 * kMiB + 7, 3);  // 3 chunks
  Encrypted e = Encrypt("RO-EV-0003", plaintext, {"DE-BKA"});
  // Two chunks, then the client stops: the item is not complete.
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult partial,
                               Upload("RO-IGPR", e.start, {{0, e.records[0]}, {1, e.records[1]}}));
  EXPECT_EQ(partial.durable_chunks(), 2);
  EXPECT_FALSE(partial.complete());

  // Nothing partial is downloadable, even with a grant.
  EvidenceItem item =
      ItemOf(e, "RO-EV-0003", static_cast<int64_t>(plaintext.size()), e.summary.plaintext_sha256);
  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  absl::Status early = DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), dir_ + "/early");
  EXPECT_TRUE(absl::IsFailedPrecondition(early)) << early;
  EXPECT_TRUE(absl::StrContains(early.message(), "not completely uploaded")) << early;

  // The same item encrypted again (another key): a different declaration.
  Encrypted other = Encrypt("RO-EV-0003", plaintext, {"DE-BKA"});
  absl::StatusOr<UploadResult> r = Upload("RO-IGPR", other.start, {});
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "resumed with different content"))
      << r.status();
  // The same declaration with a different chunk 1 (already stored).
  r = Upload("RO-IGPR", e.start, {{1, other.records[1]}});
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "'RO-EV-0003' chunk 1")) << r.status();

  // A start alone tells where to resume; chunk 1 again is accepted as is.
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult where, Upload("RO-IGPR", e.start, {}));
  EXPECT_EQ(where.durable_chunks(), 2);
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult done,
                               Upload("RO-IGPR", e.start, {{1, e.records[1]}, {2, e.records[2]}}));
  EXPECT_TRUE(done.complete());
  EXPECT_EQ(done.durable_chunks(), 3);
  // The same upload again is answered, not repeated.
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult repeat, Upload("RO-IGPR", e.start, {}));
  EXPECT_TRUE(repeat.complete());
  const std::string out = dir_ + "/copy";
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), out));
  EXPECT_EQ(ReadAll(out), plaintext);
}

// A node that does not hold an unfinished upload (another node after a
// failover; this one after a restart) reads back what Kafka holds of it when
// the start says `resume`, and the upload goes on after those chunks. Records
// of another uploader, or out of order, are passed over; a chunk sent again
// is compared with the one read back.
TEST_F(Evidence, AnUploadResumesOnAnotherNodeFromTheChunksInKafka) {
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<TestBroker> node2, StartSecondNode());
  const std::string plaintext = RandomBytes(3 * kMiB + 5, 21);  // 4 chunks
  Encrypted e = Encrypt("RO-EV-0021", plaintext, {"DE-BKA"});
  // Ahead of the real chunks in the item's partition: a chunk 0 of the same
  // declaration by another endpoint, and a chunk 1 of the uploader's before
  // its chunk 0.
  LIAISON_ASSERT_OK_AND_ASSIGN(
      int partitions, kafka::PartitionCount(broker_->KafkaClient(),
                                            broker_->topics().EvidenceChunks(), absl::Seconds(10)));
  const int32_t partition = broker::EvidenceChainOf("RO-EV-0021", partitions);
  // (Small records: the embedded mock keeps about 5 MiB per partition.)
  Encrypted other = Encrypt("RO-EV-0021", plaintext, {"DE-BKA"});
  Produce(broker_->topics().EvidenceChunks(), "RO-EV-0021", other.records[3], partition,
          {{"chunk", "0"}, {"upload", broker::UploadDeclarationTag("NL-NP", e.start)}});
  Produce(broker_->topics().EvidenceChunks(), "RO-EV-0021", other.records[3], partition,
          {{"chunk", "1"}, {"upload", broker::UploadDeclarationTag("RO-IGPR", e.start)}});

  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult partial,
                               Upload("RO-IGPR", e.start, {{0, e.records[0]}, {1, e.records[1]}}));
  EXPECT_EQ(partial.durable_chunks(), 2);

  UploadStart resume = e.start;
  resume.set_resume(true);
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult where, Upload("RO-IGPR", resume, {}, node2->target()));
  EXPECT_EQ(where.durable_chunks(), 2);  // was 0: the node knew nothing of it
  EXPECT_FALSE(where.complete());
  // Chunk 1 again, with other content: refused against what was read back.
  absl::StatusOr<UploadResult> differs =
      Upload("RO-IGPR", resume, {{1, other.records[1]}}, node2->target());
  EXPECT_TRUE(absl::IsFailedPrecondition(differs.status())) << differs.status();
  EXPECT_THAT(std::string(differs.status().message()),
              ::testing::HasSubstr("'RO-EV-0021' chunk 1: differs from the chunk already stored"));
  // The upload read back is RO-IGPR's: another member cannot take it over.
  absl::StatusOr<UploadResult> hijack = Upload("NL-NP", resume, {}, node2->target());
  EXPECT_TRUE(absl::IsPermissionDenied(hijack.status())) << hijack.status();
}

TEST_F(Evidence, AResumedUploadCompletesOnAnotherNodeAndDownloadsWhole) {
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<TestBroker> node2, StartSecondNode());
  const std::string plaintext = RandomBytes(3 * kMiB + 9, 22);  // 4 chunks
  Encrypted e = Encrypt("RO-EV-0022", plaintext, {"DE-BKA"});
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult partial,
                               Upload("RO-IGPR", e.start, {{0, e.records[0]}, {1, e.records[1]}}));
  ASSERT_EQ(partial.durable_chunks(), 2);
  UploadStart resume = e.start;
  resume.set_resume(true);
  // Chunk 1 again (as a client resending what it was not sure of), then the rest.
  LIAISON_ASSERT_OK_AND_ASSIGN(
      UploadResult done,
      Upload("RO-IGPR", resume, {{1, e.records[1]}, {2, e.records[2]}, {3, e.records[3]}},
             node2->target()));
  EXPECT_TRUE(done.complete());
  EXPECT_EQ(done.durable_chunks(), 4);
  EvidenceItem item =
      ItemOf(e, "RO-EV-0022", static_cast<int64_t>(plaintext.size()), e.summary.plaintext_sha256);
  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  const std::string out = dir_ + "/copy";
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), out));
  EXPECT_EQ(ReadAll(out), plaintext);
}

// The client library: a broken upload goes on through the next node, which
// reads back what the first one stored.
TEST_F(Evidence, TheClientResumesABrokenUploadThroughTheNextNode) {
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<TestBroker> node2, StartSecondNode());
  absl::StatusOr<endpoint::ClientOptions> options = endpoint::ClientOptions::FromPkiDir(
      SharedTestPki().dir, "RO-IGPR", broker_->target() + "," + node2->target());
  ASSERT_TRUE(options.ok()) << options.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<endpoint::Client> ro,
                               endpoint::Client::Create(*std::move(options)));
  ASSERT_EQ(ro->targets().size(), 2u);
  // 2 chunks, the first attempt broken after one: whatever each node wrote,
  // the item's partition holds at most 3 MiB of it (the embedded mock keeps
  // about 5 MiB per partition and drops older records beyond).
  const std::string plaintext = RandomBytes(kMiB + 11, 23);
  const std::string path = WriteFile("ledger.bin", plaintext);
  endpoint::UploadItemOptions up = UploadOptions("RO-EV-0023", {"DE-BKA"});
  up.break_after_chunks_for_test = 1;
  std::vector<int64_t> sent;
  up.progress = [&](int64_t done, int64_t) { sent.push_back(done); };
  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceItem item, ro->UploadItem(path, up));
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back(), 2);
  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  const std::string out = dir_ + "/copy";
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), out));
  EXPECT_EQ(ReadAll(out), plaintext);
}

// Each bad input: its status, and words of the message naming item and chunk.
TEST_F(Evidence, BadUploadsAreRefusedNamingTheItemAndTheChunk) {
  const std::string plaintext = RandomBytes(2 * kMiB + 100, 4);  // 3 chunks
  struct Case {
    std::string name;
    std::string sender;
    std::function<void(Encrypted&)> alter;
    std::function<std::vector<std::pair<int64_t, std::string>>(const Encrypted&)> chunks;
    absl::StatusCode code;
    std::vector<std::string> words;
  };
  auto all = [](const Encrypted& e) { return All(e); };
  std::vector<Case> cases = {
      {"missing chunk",
       "RO-IGPR",
       nullptr,
       [](const Encrypted& e) {
         return std::vector<std::pair<int64_t, std::string>>{{0, e.records[0]}, {2, e.records[2]}};
       },
       absl::StatusCode::kInvalidArgument,
       {"chunk 2", "expected chunk 1"}},
      {"reordered chunks",
       "RO-IGPR",
       nullptr,
       [](const Encrypted& e) {
         return std::vector<std::pair<int64_t, std::string>>{{1, e.records[1]}, {0, e.records[0]}};
       },
       absl::StatusCode::kInvalidArgument,
       {"chunk 1", "expected chunk 0"}},
      {"chunk above the limit",
       "RO-IGPR",
       nullptr,
       [](const Encrypted& e) {
         return std::vector<std::pair<int64_t, std::string>>{{0, e.records[0] + "x"}};
       },
       absl::StatusCode::kResourceExhausted,
       {"chunk 0", "1048592"}},
      {"size differs from the manifest",
       "RO-IGPR",
       [](Encrypted& e) { e.start.set_ciphertext_size(e.start.ciphertext_size() + 1); },
       all,
       absl::StatusCode::kInvalidArgument,
       {"chunk 2", "declares"}},
      {"hash mismatch",
       "RO-IGPR",
       [](Encrypted& e) { e.start.set_ciphertext_sha256(std::string(32, 'x')); },
       all,
       absl::StatusCode::kInvalidArgument,
       {"SHA-256 of chunks 0 to 2", "nothing"}},
      {"unknown JIT",
       "RO-IGPR",
       [](Encrypted& e) { e.start.set_jit_id("JIT-1999-001"); },
       all,
       absl::StatusCode::kNotFound,
       {"JIT-1999-001"}},
      {"non-member sender",
       "ES-PN",
       nullptr,
       all,
       absl::StatusCode::kPermissionDenied,
       {"sender ES-PN is not a member"}},
      {"key wrapped for a non-member",
       "RO-IGPR",
       [this](Encrypted& e) {
         Encrypted for_es = Encrypt(e.start.item_id(), "x", {"ES-PN"});
         e.start.add_wrapped_keys(for_es.start.wrapped_keys(0));
       },
       all,
       absl::StatusCode::kPermissionDenied,
       {"wrapped_keys[1]", "ES-PN"}},
      {"key wrapped for another item",
       "RO-IGPR",
       [this](Encrypted& e) {
         *e.start.mutable_wrapped_keys(0) =
             Encrypt("RO-EV-OTHER", "x", {"DE-BKA"}).start.wrapped_keys(0);
       },
       all,
       absl::StatusCode::kInvalidArgument,
       {"wrapped_keys[0]", "RO-EV-OTHER"}},
      {"above the embedded cluster's size limit",
       "RO-IGPR",
       [](Encrypted& e) {
         e.start.set_chunk_count(5);
         e.start.set_ciphertext_size(5 * (kMiB + 16));
       },
       all,
       absl::StatusCode::kFailedPrecondition,
       {"4194304 bytes per item"}},
  };
  int n = 0;
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    // Real Kafka keeps items of any size.
    if (OnRealKafka() && absl::StrContains(c.name, "embedded")) continue;
    const std::string id = "RO-EV-BAD-" + std::to_string(n++);
    Encrypted e = Encrypt(id, plaintext, {"DE-BKA"});
    if (c.alter) c.alter(e);
    absl::StatusOr<UploadResult> r = Upload(c.sender, e.start, c.chunks(e));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), "evidence item '" + id + "'"))
        << r.status();
    for (const std::string& w : c.words) {
      EXPECT_TRUE(absl::StrContains(r.status().message(), w)) << w << " in " << r.status();
    }
    // Never downloadable, grant or not.
    Grant(ItemOf(e, id, 1, std::string(32, 'a')), "DE-BKA");
  }
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  for (int i = 0; i < n; ++i) {
    const std::string id = "RO-EV-BAD-" + std::to_string(i);
    Encrypted e = Encrypt(id, plaintext, {"DE-BKA"});
    absl::Status s = DownloadOnceGranted(*de, ItemOf(e, id, 1, std::string(32, 'a')),
                                         KeyOf("DE-BKA"), dir_ + "/bad");
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << id << ": " << s;
  }
}

TEST_F(Evidence, AJitThatHasNotStartedRefusesUploads) {
  // NORTHERN LEDGER (LV-VP, SE-NOA, GB-NCA) starts 2026-06-01.
  Encrypted e = Encrypt("LV-EV-0001", "ledger", {"SE-NOA"}, "JIT-2026-003");
  absl::StatusOr<UploadResult> r = Upload("LV-VP", e.start, All(e));
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_TRUE(
      absl::StrContains(r.status().message(), "'LV-EV-0001': JIT JIT-2026-003 is not valid"))
      << r.status();
}

TEST_F(Evidence, ATamperedChunkInKafkaIsRefusedWithItsIndexAndNoFileIsWritten) {
  const std::string plaintext = RandomBytes(2 * kMiB + 3, 5);  // 3 chunks
  Encrypted e = Encrypt("RO-EV-0009", plaintext, {"DE-BKA"});
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult done, Upload("RO-IGPR", e.start, All(e)));
  ASSERT_TRUE(done.complete());
  EvidenceItem item =
      ItemOf(e, "RO-EV-0009", static_cast<int64_t>(plaintext.size()), e.summary.plaintext_sha256);
  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), dir_ + "/good"));

  // Someone with write access to Kafka replaces chunk 1: a flipped byte in a
  // copy of the record, and the item record pointing at it.
  LIAISON_ASSERT_OK_AND_ASSIGN(
      std::vector<kafka::Record> items,
      kafka::ReadPartition(broker_->KafkaClient(), broker_->topics().EvidenceItems(), 0, 0,
                           kafka::kToEnd, absl::Seconds(10)));
  (void)items;
  absl::StatusOr<std::unique_ptr<kafka::RecordReader>> reader =
      kafka::RecordReader::Create(broker_->KafkaClient());
  ASSERT_TRUE(reader.ok());
  liaison::v1::EvidenceItemRecord record;
  bool found = false;
  for (int p = 0; p < 3 && !found; ++p) {
    auto rs = kafka::ReadPartition(broker_->KafkaClient(), broker_->topics().EvidenceItems(), p, 0,
                                   kafka::kToEnd, absl::Seconds(10));
    ASSERT_TRUE(rs.ok()) << rs.status();
    for (const kafka::Record& r : *rs) {
      if (r.key == "RO-EV-0009") found = record.ParseFromString(r.value);
    }
  }
  ASSERT_TRUE(found);
  std::string tampered = e.records[1];
  tampered[100] ^= 1;
  Produce(broker_->topics().EvidenceChunks(), "RO-EV-0009", tampered, record.partition(),
          {{"chunk", "1"}});
  record.set_offsets(1, last_offset_);
  Produce(broker_->topics().EvidenceItems(), "RO-EV-0009", record.SerializeAsString());

  const std::string out = dir_ + "/tampered";
  absl::Status s;
  ASSERT_TRUE(WaitFor([&] {
    std::filesystem::remove(out);  // a download before the node saw the change
    s = de->DownloadItem(item, KeyOf("DE-BKA"), out);
    return !s.ok();
  }));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "'RO-EV-0009' chunk 1")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "does not authenticate")) << s;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
}

// The broker reads chunks ahead of the one it is sending, in batches. A
// record that is not the chunk it should be (here the item record names
// chunk 1's record for chunk 3) ends the download with DATA_LOSS naming that
// chunk, and only after every chunk before it was sent, in order.
TEST_F(Evidence, AWrongChunkRecordEndsTheDownloadAfterTheChunksBeforeIt) {
  const std::string plaintext = RandomBytes(3 * kMiB + 9, 11);  // 4 chunks
  Encrypted e = Encrypt("RO-EV-0011", plaintext, {"DE-BKA"});
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult done, Upload("RO-IGPR", e.start, All(e)));
  ASSERT_TRUE(done.complete());
  EvidenceItem item =
      ItemOf(e, "RO-EV-0011", static_cast<int64_t>(plaintext.size()), e.summary.plaintext_sha256);
  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), dir_ + "/good"));

  liaison::v1::EvidenceItemRecord record;
  bool found = false;
  for (int p = 0; p < 3 && !found; ++p) {
    auto rs = kafka::ReadPartition(broker_->KafkaClient(), broker_->topics().EvidenceItems(), p, 0,
                                   kafka::kToEnd, absl::Seconds(10));
    ASSERT_TRUE(rs.ok()) << rs.status();
    for (const kafka::Record& r : *rs) {
      if (r.key == "RO-EV-0011") found = record.ParseFromString(r.value);
    }
  }
  ASSERT_TRUE(found);
  const int64_t chunk1_offset = record.offsets(1);
  record.set_offsets(3, chunk1_offset);
  Produce(broker_->topics().EvidenceItems(), "RO-EV-0011", record.SerializeAsString());

  auto stub = Stub("DE-BKA");
  std::vector<int64_t> indexes;
  grpc::Status status;
  ASSERT_TRUE(WaitFor([&] {  // until the node has read the changed item record
    grpc::ClientContext context;
    liaison::v1::DownloadRequest request;
    request.set_item_id("RO-EV-0011");
    auto reader = stub->Download(&context, request);
    liaison::v1::DownloadResponse response;
    indexes.clear();
    while (reader->Read(&response)) {
      if (response.has_chunk()) {
        EXPECT_EQ(response.chunk().record(), e.records[response.chunk().index()]);
        indexes.push_back(response.chunk().index());
      }
    }
    status = reader->Finish();
    return !status.ok();
  }));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << status.error_message();
  EXPECT_TRUE(absl::StrContains(
      status.error_message(),
      absl::StrCat("'RO-EV-0011' chunk 3: the record at partition ", record.partition(), " offset ",
                   chunk1_offset, " is not this chunk")))
      << status.error_message();
  EXPECT_EQ(indexes, (std::vector<int64_t>{0, 1, 2}));
}

TEST_F(Evidence, AChunkKafkaRefusesFailsTheUploadWhichThenStartsAgainFromChunkZero) {
  LIAISON_SKIP_ON_REAL_KAFKA();
  const std::string plaintext = RandomBytes(2 * kMiB + 9, 6);  // 3 chunks
  Encrypted e = Encrypt("RO-EV-0010", plaintext, {"DE-BKA"});
  // MESSAGE_TOO_LARGE (10): permanent, and leaves no state in the producer.
  LIAISON_ASSERT_OK(broker_->kafka()->PushRequestErrors(kafka::ApiKey::kProduce,
                                                        {static_cast<kafka::KafkaError>(10)}));
  absl::StatusOr<UploadResult> r = Upload("RO-IGPR", e.start, All(e));
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "evidence item 'RO-EV-0010' chunk "))
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "upload the item again from chunk 0"))
      << r.status();
  // The node forgot the upload: a start alone says nothing is durable.
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult where, Upload("RO-IGPR", e.start, {}));
  EXPECT_EQ(where.durable_chunks(), 0);
  LIAISON_ASSERT_OK_AND_ASSIGN(UploadResult done, Upload("RO-IGPR", e.start, All(e)));
  EXPECT_TRUE(done.complete());
  EvidenceItem item =
      ItemOf(e, "RO-EV-0010", static_cast<int64_t>(plaintext.size()), e.summary.plaintext_sha256);
  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  const std::string out = dir_ + "/copy";
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), out));
  EXPECT_EQ(ReadAll(out), plaintext);
}

// Real Kafka only (the mock keeps about 5 MiB per partition): an item of
// LIAISON_EVIDENCE_TEST_MIB MiB (default 64) up and down, with the rates.
TEST_F(Evidence, ALargeItemMakesTheRoundTripOnRealKafka) {
  if (!OnRealKafka()) GTEST_SKIP() << "needs real Kafka (label kafka-real)";
  const char* env = std::getenv("LIAISON_EVIDENCE_TEST_MIB");
  const int64_t mib = env != nullptr ? std::atoll(env) : 64;
  const std::string path = dir_ + "/large.bin";
  {
    std::ofstream out(path, std::ios::binary);
    for (int64_t i = 0; i < mib; ++i) out << RandomBytes(kMiB, static_cast<uint32_t>(i));
  }
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker_->Client("RO-IGPR"));
  endpoint::UploadItemOptions up = UploadOptions("RO-EV-LARGE", {"DE-BKA"});
  // Client and broker share this process: the peaks bound both together.
  int64_t idle_kb = StatusKb("VmRSS");
  ResetPeakRss();
  absl::Time t = absl::Now();
  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceItem item, ro->UploadItem(path, up));
  const double up_s = absl::ToDoubleSeconds(absl::Now() - t);
  const int64_t up_peak_mib = (StatusKb("VmHWM") - idle_kb) / 1024;
  EXPECT_EQ(item.chunk_count(), mib);
  Grant(item, "DE-BKA");
  LIAISON_ASSERT_OK_AND_ASSIGN(auto de, broker_->Client("DE-BKA"));
  const std::string out = dir_ + "/large.copy";
  idle_kb = StatusKb("VmRSS");
  ResetPeakRss();
  t = absl::Now();
  LIAISON_ASSERT_OK(DownloadOnceGranted(*de, item, KeyOf("DE-BKA"), out));
  const double down_s = absl::ToDoubleSeconds(absl::Now() - t);
  const int64_t down_peak_mib = (StatusKb("VmHWM") - idle_kb) / 1024;
  EXPECT_EQ(std::filesystem::file_size(out), std::filesystem::file_size(path));
  // The raw ceilings of the same run, measured after the item (so that the
  // producer's queue does not sit in the memory the peaks above are taken
  // against): 1 MiB records produced (acks=all, all in flight at once) and
  // read back one by one, on the evidence topic (a key no item references).
  const int64_t raw_n = std::min<int64_t>(mib, 512);
  double raw_produce = 0;
  double raw_consume = 0;
  {
    LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<kafka::Producer> producer,
                                 kafka::Producer::Create(broker_->KafkaClient()));
    const std::string payload = RandomBytes(kMiB + 16, 99);
    std::atomic<int64_t> failed{0};
    std::vector<std::pair<int32_t, int64_t>> positions(static_cast<size_t>(raw_n));
    absl::Time t0 = absl::Now();
    for (int64_t i = 0; i < raw_n; ++i) {
      producer->Produce(broker_->topics().EvidenceChunks(), "RAW-CEILING", payload,
                        [&, i](const kafka::DeliveryReport& r) {
                          if (!r.status.ok()) failed.fetch_add(1);
                          positions[static_cast<size_t>(i)] = {r.partition, r.offset};
                        });
    }
    LIAISON_ASSERT_OK(producer->Flush(absl::Minutes(5)));
    raw_produce = raw_n / absl::ToDoubleSeconds(absl::Now() - t0);
    ASSERT_EQ(failed.load(), 0);
    LIAISON_ASSERT_OK_AND_ASSIGN(std::unique_ptr<kafka::RecordReader> reader,
                                 kafka::RecordReader::Create(broker_->KafkaClient()));
    t0 = absl::Now();
    for (const auto& [partition, offset] : positions) {
      LIAISON_ASSERT_OK_AND_ASSIGN(
          kafka::Record r,
          reader->Read(broker_->topics().EvidenceChunks(), partition, offset, absl::Seconds(30)));
      ASSERT_EQ(r.value.size(), payload.size());
    }
    raw_consume = raw_n / absl::ToDoubleSeconds(absl::Now() - t0);
  }
  std::printf("raw Kafka, %lld records of 1 MiB + 16: produce %.1f MiB/s, read back %.1f MiB/s\n",
              static_cast<long long>(raw_n), raw_produce, raw_consume);

  std::printf(
      "evidence %lld MiB on real Kafka: upload %.1f MiB/s (encrypt + send), peak RSS +%lld MiB; "
      "download %.1f MiB/s (receive + decrypt + verify), peak RSS +%lld MiB (client and broker "
      "in one process)\n",
      static_cast<long long>(mib), mib / up_s, static_cast<long long>(up_peak_mib), mib / down_s,
      static_cast<long long>(down_peak_mib));
}

}  // namespace
}  // namespace liaison::testing
