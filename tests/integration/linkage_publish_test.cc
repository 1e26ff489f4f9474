// Case linkage, publishing: an endpoint normalises and blinds identifiers of
// its open cases with the network linkage key (connectors/endpoint/linkage),
// signs the batch and streams it to Linkage.Publish on a running broker over
// mTLS. Stored means in Kafka, answerable and audited; a bad batch is
// refused whole, naming the entry and field, and stores nothing.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "base/proto_time.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/endpoint/linkage/blind.h"
#include "connectors/endpoint/linkage/linkage_key.h"
#include "connectors/endpoint/linkage/normalize.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

namespace lk = endpoint::linkage;
using liaison::v1::IndexBatch;
using liaison::v1::IndexBatchResult;

class LinkagePublish : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestBroker>> b = TestBroker::Start();
    ASSERT_TRUE(b.ok()) << b.status();
    broker_ = *std::move(b);
    absl::StatusOr<lk::LinkageKey> key =
        lk::LinkageKey::Load(SharedTestPki().dir + "/linkage/epoch-1.key");
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<lk::LinkageKey>(*std::move(key));
    absl::StatusOr<std::unique_ptr<lk::Normalizer>> n = lk::Normalizer::Create({"RO", "ro"});
    ASSERT_TRUE(n.ok()) << n.status();
    normalizer_ = *std::move(n);
  }

  // A blinded index entry of `canonical` for `handle`, expiring in 30 days.
  liaison::v1::IndexEntry Entry(const absl::StatusOr<lk::Canonical>& canonical,
                                const std::string& handle) {
    EXPECT_TRUE(canonical.ok()) << canonical.status();
    const lk::BlindedValue v = lk::Blind(*key_, *canonical);
    liaison::v1::IndexEntry e;
    e.set_type(static_cast<liaison::v1::IdentifierType>(v.kind));
    e.set_value(v.value_bytes());
    e.set_case_handle(handle);
    *e.mutable_expires_at() = ToProto(absl::Now() + absl::Hours(24 * 30));
    return e;
  }

  IndexBatch Batch(std::vector<liaison::v1::IndexEntry> entries) {
    IndexBatch b;
    b.set_epoch(1);
    for (auto& e : entries) *b.add_entries() = std::move(e);
    return b;
  }

  int64_t Entries(const std::string& owner) {
    int64_t n = 0;
    for (const auto& [key, count] : broker_->node().LinkageCounts()) {
      if (key.first == owner) n += count;
    }
    return n;
  }

  std::unique_ptr<TestBroker> broker_;
  std::unique_ptr<lk::LinkageKey> key_;
  std::unique_ptr<lk::Normalizer> normalizer_;
};

TEST_F(LinkagePublish, ABatchIsStoredAnswerableAndAuditedThenWithdrawn) {
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker_->Client("RO-IGPR"));
  IndexBatch batch =
      Batch({Entry(normalizer_->Iban("RO49 AAAA 1B31 0075 9384 0000"), "LNK-RO-0713"),
             Entry(normalizer_->Phone("+40 721 000 111"), "LNK-RO-0713")});
  LIAISON_ASSERT_OK_AND_ASSIGN(std::vector<IndexBatchResult> results, ro->PublishIndex({batch}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), 0) << results[0].error();
  EXPECT_EQ(results[0].stored(), 2);
  EXPECT_EQ(Entries("RO-IGPR"), 2) << "answerable on the node as soon as it is reported stored";

  // The audit trail records the publication: counts and a digest, no value.
  const std::string batch_id = results[0].batch_id();
  ASSERT_FALSE(batch_id.empty());
  std::vector<liaison::v1::AuditEntry> entries;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto got = audit::EntriesFor(broker_->KafkaClient(), broker_->topics().Audit(), batch_id,
                                     absl::Seconds(5));
        if (got.ok()) entries = *got;
        return !entries.empty();
      },
      absl::Seconds(30)));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].operation(), liaison::v1::AUDIT_OPERATION_COLLECTION);
  EXPECT_EQ(entries[0].event(), "index-published");
  EXPECT_EQ(entries[0].sender(), "RO-IGPR");
  EXPECT_EQ(entries[0].linkage_epoch(), 1u);
  EXPECT_EQ(entries[0].linkage_entries(), 2);
  EXPECT_EQ(entries[0].payload_sha256().size(), 32u);

  // Withdrawing the case removes every entry of it, and is audited too.
  IndexBatch withdraw;
  withdraw.set_epoch(1);
  withdraw.add_withdrawals()->set_case_handle("LNK-RO-0713");
  LIAISON_ASSERT_OK_AND_ASSIGN(results, ro->PublishIndex({withdraw}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), 0) << results[0].error();
  EXPECT_EQ(results[0].withdrawn(), 2);
  EXPECT_EQ(Entries("RO-IGPR"), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto got = audit::EntriesFor(broker_->KafkaClient(), broker_->topics().Audit(),
                                     results[0].batch_id(), absl::Seconds(5));
        return got.ok() && got->size() == 1 &&
               (*got)[0].operation() == liaison::v1::AUDIT_OPERATION_ERASURE &&
               (*got)[0].linkage_entries() == 2;
      },
      absl::Seconds(30)));
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification v, VerifyAuditTrail(*broker_));
  EXPECT_TRUE(v.ok) << v.first_break;
}

// Each refusal names the entry and field, stores nothing of its batch, and
// leaves the stream open for the next batch.
// A stream's batches are worked on several at a time; results still come
// in order, a withdrawal sees every earlier batch of the stream, and a bad
// batch in the middle stores nothing and stops nothing.
TEST_F(LinkagePublish, AStreamOfBatchesKeepsItsOrderAndAWithdrawalSeesEarlierBatches) {
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker_->Client("RO-IGPR"));
  std::vector<IndexBatch> batches;
  batches.push_back(Batch({Entry(normalizer_->Phone("+40 721 100 001"), "LNK-RO-P1"),
                           Entry(normalizer_->Phone("+40 721 100 002"), "LNK-RO-P1"),
                           Entry(normalizer_->Phone("+40 721 100 003"), "LNK-RO-P1")}));
  batches.push_back(Batch({Entry(normalizer_->Phone("+40 721 100 004"), "LNK-RO-P2")}));
  IndexBatch withdraw;
  withdraw.set_epoch(1);
  withdraw.add_withdrawals()->set_case_handle("LNK-RO-P1");
  batches.push_back(withdraw);
  IndexBatch bad = Batch({Entry(normalizer_->Phone("+40 721 100 005"), "LNK-RO-P3")});
  bad.mutable_entries(0)->set_value("+40721100005");
  batches.push_back(bad);
  batches.push_back(Batch({Entry(normalizer_->Phone("+40 721 100 006"), "LNK-RO-P4"),
                           Entry(normalizer_->Phone("+40 721 100 007"), "LNK-RO-P4")}));
  LIAISON_ASSERT_OK_AND_ASSIGN(std::vector<IndexBatchResult> results, ro->PublishIndex(batches));
  ASSERT_EQ(results.size(), 5u);
  for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].sequence(), i);
  EXPECT_EQ(results[0].stored(), 3);
  EXPECT_EQ(results[1].stored(), 1);
  EXPECT_EQ(results[2].code(), 0) << results[2].error();
  EXPECT_EQ(results[2].withdrawn(), 3) << "the withdrawal saw the first batch's entries";
  EXPECT_EQ(results[3].code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(results[3].stored(), 0);
  EXPECT_EQ(results[4].stored(), 2);
  EXPECT_EQ(Entries("RO-IGPR"), 3);
}

TEST_F(LinkagePublish, BadBatchesAreRefusedWholeNamingTheFieldAndTheStreamGoesOn) {
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker_->Client("RO-IGPR"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto bg, broker_->Client("BG-GDNP"));
  const liaison::v1::IndexEntry good = Entry(normalizer_->Phone("+40 721 000 222"), "LNK-RO-0001");

  struct Case {
    std::string name;
    IndexBatch batch;
    absl::StatusCode code;
    std::string says;
  };
  std::vector<Case> cases;
  {
    IndexBatch b = Batch({good});
    b.mutable_entries(0)->set_value("+40721000222");
    cases.push_back({"cleartext value", b, absl::StatusCode::kInvalidArgument,
                     "entries[0].value: 12 bytes; a blinded value is 32 bytes"});
  }
  {
    IndexBatch b = Batch({good, good});
    b.mutable_entries(1)->set_value(std::string(32, 'A'));
    cases.push_back({"printable 32 bytes", b, absl::StatusCode::kInvalidArgument,
                     "entries[1].value: looks like cleartext"});
  }
  {
    IndexBatch b = Batch({good});
    b.mutable_entries(0)->set_type(liaison::v1::IDENTIFIER_TYPE_PERSON_NAME);
    cases.push_back({"person name", b, absl::StatusCode::kInvalidArgument,
                     "entries[0].type: IDENTIFIER_TYPE_PERSON_NAME is never indexed"});
  }
  {
    IndexBatch b = Batch({good});
    b.mutable_entries(0)->set_type(static_cast<liaison::v1::IdentifierType>(77));
    cases.push_back({"unknown type", b, absl::StatusCode::kInvalidArgument,
                     "entries[0].type: unknown identifier type 77"});
  }
  {
    IndexBatch b = Batch({good});
    b.set_epoch(2);
    cases.push_back({"epoch not in force", b, absl::StatusCode::kFailedPrecondition,
                     "epoch: linkage epoch 2 is not in force yet (in force: 1)"});
  }
  {
    IndexBatch b = Batch({good});
    *b.mutable_entries(0)->mutable_expires_at() = ToProto(absl::Now() - absl::Hours(1));
    cases.push_back(
        {"expired", b, absl::StatusCode::kInvalidArgument, "entries[0].expires_at: in the past"});
  }
  {
    IndexBatch b = Batch({good});
    *b.mutable_entries(0)->mutable_expires_at() = ToProto(absl::Now() + absl::Hours(24 * 181));
    cases.push_back({"beyond retention", b, absl::StatusCode::kInvalidArgument,
                     "entries[0].expires_at: more than 180 days ahead"});
  }
  {
    IndexBatch b = Batch({good});
    b.mutable_entries(0)->set_case_handle("RO case 0001");
    cases.push_back({"handle shape", b, absl::StatusCode::kInvalidArgument,
                     "entries[0].case_handle: must be \"LNK-\""});
  }
  {
    IndexBatch b = Batch({});
    for (int i = 0; i < 10001; ++i) *b.add_entries() = good;
    cases.push_back({"too many entries", b, absl::StatusCode::kInvalidArgument,
                     "entries: 10001 entries exceed the limit of 10000 per batch"});
  }
  {
    IndexBatch b;
    b.set_epoch(1);
    cases.push_back({"empty", b, absl::StatusCode::kInvalidArgument, "the batch is empty"});
  }
  std::vector<IndexBatch> batches;
  for (const Case& c : cases) batches.push_back(c.batch);
  batches.push_back(Batch({good}));  // and a good one last: the stream went on
  LIAISON_ASSERT_OK_AND_ASSIGN(std::vector<IndexBatchResult> results, ro->PublishIndex(batches));
  ASSERT_EQ(results.size(), cases.size() + 1);
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    EXPECT_EQ(results[i].sequence(), i);
    EXPECT_EQ(results[i].code(), static_cast<int>(cases[i].code)) << results[i].error();
    EXPECT_TRUE(absl::StrContains(results[i].error(), cases[i].says)) << results[i].error();
    EXPECT_EQ(results[i].stored(), 0);
  }
  EXPECT_EQ(results.back().code(), 0) << results.back().error();
  EXPECT_EQ(Entries("RO-IGPR"), 1) << "only the good batch is stored";

  // BG-GDNP cannot publish under, nor withdraw, RO-IGPR's case handle.
  IndexBatch hijack = Batch({Entry(normalizer_->Phone("+359 2 000 333"), "LNK-RO-0001")});
  IndexBatch withdraw;
  withdraw.set_epoch(1);
  withdraw.add_withdrawals()->set_case_handle("LNK-RO-0001");
  LIAISON_ASSERT_OK_AND_ASSIGN(results, bg->PublishIndex({hijack, withdraw}));
  ASSERT_EQ(results.size(), 2u);
  for (const IndexBatchResult& r : results) {
    EXPECT_EQ(r.code(), static_cast<int>(absl::StatusCode::kPermissionDenied)) << r.error();
    EXPECT_TRUE(absl::StrContains(r.error(), "case_handle: belongs to another endpoint's case"))
        << r.error();
  }
  EXPECT_EQ(Entries("RO-IGPR"), 1);
  EXPECT_EQ(Entries("BG-GDNP"), 0);

  // A batch naming another publisher than the TLS client is refused.
  IndexBatch as_ro = Batch({good});
  as_ro.set_publisher("RO-IGPR");
  absl::StatusOr<std::vector<IndexBatchResult>> spoofed = bg->PublishIndex({as_ro});
  EXPECT_EQ(spoofed.status().code(), absl::StatusCode::kInvalidArgument) << spoofed.status();
}

// The signature covers the exact batch bytes under its own context: changed
// bytes, or an envelope signature replayed as a batch signature, fail.
TEST_F(LinkagePublish, ATamperedOrForeignSignatureIsRefused) {
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker_->Client("RO-IGPR"));
  IndexBatch batch = Batch({Entry(normalizer_->Vin("WVWZZZ1JZXW000001"), "LNK-RO-0002")});
  LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::SignedIndexBatch sealed,
                               ro->SealIndexBatch(batch, absl::Now()));
  auto publish = [&](const liaison::v1::SignedIndexBatch& s) {
    absl::StatusOr<std::vector<IndexBatchResult>> r = ro->PublishSigned({s});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->size() == 1 ? (*r)[0] : IndexBatchResult();
  };
  liaison::v1::SignedIndexBatch tampered = sealed;
  tampered.mutable_batch()->back() ^= 1;
  IndexBatchResult r = publish(tampered);
  EXPECT_EQ(r.code(), static_cast<int>(absl::StatusCode::kInvalidArgument)) << r.error();
  EXPECT_TRUE(absl::StrContains(r.error(), "signature:")) << r.error();

  // The same key's signature over the bare bytes (as for a message) is not a
  // batch signature.
  liaison::v1::SignedIndexBatch replayed = sealed;
  LIAISON_ASSERT_OK_AND_ASSIGN(
      endpoint::ClientOptions options,
      endpoint::ClientOptions::FromPkiDir(SharedTestPki().dir, "RO-IGPR", broker_->target()));
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string bare, options.signer->Sign(sealed.batch()));
  replayed.set_signature(bare);
  r = publish(replayed);
  EXPECT_EQ(r.code(), static_cast<int>(absl::StatusCode::kInvalidArgument)) << r.error();

  EXPECT_EQ(publish(sealed).code(), 0);
  EXPECT_EQ(Entries("RO-IGPR"), 1);
}

}  // namespace
}  // namespace liaison::testing
