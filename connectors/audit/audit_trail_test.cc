// VerifyTopic on chains and checkpoints written straight into an embedded
// mock cluster, the way the broker writes them or an insider with write
// access to the audit topic could: real Kafka protocol, real signatures
// (keys of the dev PKI).
#include "connectors/audit/audit_trail.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "base/proto_time.h"
#include "connectors/audit/checkpoint.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"
#include "certs/testing/test_pki.h"

namespace liaison::audit {
namespace {

using liaison::v1::AuditCheckpoint;
using liaison::v1::AuditEntry;
using liaison::v1::AuditRecord;
using liaison::v1::SignedAuditCheckpoint;

constexpr char kTopic[] = "t.audit";

std::unique_ptr<certs::Signer> BrokerSigner() {
  const testing::TestPki& pki = testing::SharedTestPki();
  absl::StatusOr<std::unique_ptr<certs::Signer>> s =
      certs::Signer::FromPemFiles(pki.dir + "/broker/tls.key", pki.dir + "/broker/tls.pem");
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

std::unique_ptr<certs::Signer> EndpointSigner() {
  const testing::TestPki& pki = testing::SharedTestPki();
  absl::StatusOr<std::unique_ptr<certs::Signer>> s = certs::Signer::FromPemFiles(
      pki.EndpointFile("DE-BKA", "sign.key"), pki.EndpointFile("DE-BKA", "sign.pem"));
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

certs::Verifier NetworkVerifier() {
  const testing::TestPki& pki = testing::SharedTestPki();
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust =
      certs::TrustStore::Load(pki.ca(), pki.crl());
  EXPECT_TRUE(trust.ok()) << trust.status();
  return certs::Verifier(*trust);
}

// Entries 1..n of `chain`, sealed as the broker seals them; `tag` varies the
// content (a rewritten chain has other content and recomputed hashes).
std::vector<AuditEntry> Chain(int32_t chain, int n, const std::string& tag = "m") {
  std::vector<AuditEntry> out;
  std::string prev;
  for (int i = 1; i <= n; ++i) {
    AuditEntry e;
    e.set_chain(chain);
    e.set_seq(i);
    e.set_prev_hash(prev);
    e.set_event("decided");
    e.set_message_id(absl::StrCat(tag, "-", chain, "-", i));
    e.set_sender("DE-BKA");
    e.set_recipient("NL-NP");
    e.set_entry_hash(EntryHash(e));
    prev = e.entry_hash();
    out.push_back(std::move(e));
  }
  return out;
}

SignedAuditCheckpoint Sign(const AuditEntry& head, const certs::Signer& signer,
                           absl::Time at = absl::Now()) {
  AuditCheckpoint c;
  c.set_chain(head.chain());
  c.set_seq(head.seq());
  c.set_head_hash(head.entry_hash());
  *c.mutable_signed_at() = ToProto(at);
  absl::StatusOr<SignedAuditCheckpoint> s = SignCheckpoint(c, signer);
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

class AuditTopic : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> cluster =
        kafka::EmbeddedCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    ASSERT_TRUE(cluster_->CreateTopic(kTopic, 2, 1).ok());
    config_.bootstrap_servers = cluster_->bootstrap_servers();
    config_.fetch_wait_max_ms = 5;
    absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(config_);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = std::move(*producer);
  }

  void Write(const AuditRecord& record, int32_t partition) {
    absl::Notification done;
    absl::Status status;
    producer_->Produce(
        kTopic, "", record.SerializeAsString(),
        [&](const kafka::DeliveryReport& r) {
          status = r.status;
          done.Notify();
        },
        partition);
    done.WaitForNotification();
    ASSERT_TRUE(status.ok()) << status;
  }
  void WriteEntries(const std::vector<AuditEntry>& entries, size_t from = 0, size_t to = ~0ul) {
    for (size_t i = from; i < std::min(to, entries.size()); ++i) {
      AuditRecord r;
      *r.add_entries() = entries[i];
      Write(r, entries[i].chain());
    }
  }
  void WriteCheckpoint(const SignedAuditCheckpoint& c, int32_t partition) {
    AuditRecord r;
    *r.mutable_checkpoint() = c;
    Write(r, partition);
  }

  Verification Verify(VerifyOptions options = {}) {
    options.timeout = absl::Seconds(20);
    absl::StatusOr<Verification> v = VerifyTopic(config_, kTopic, verifier_, options);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : Verification{};
  }

  std::unique_ptr<kafka::EmbeddedCluster> cluster_;
  kafka::ClientConfig config_;
  std::unique_ptr<kafka::Producer> producer_;
  certs::Verifier verifier_ = NetworkVerifier();
};

TEST_F(AuditTopic, CheckpointedChainsVerifyAndReportTheirCoverage) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const std::vector<AuditEntry> c0 = Chain(0, 5);
  const std::vector<AuditEntry> c1 = Chain(1, 3);
  WriteEntries(c0, 0, 3);
  WriteCheckpoint(Sign(c0[2], *broker), 0);  // covers 1..3
  WriteEntries(c0, 3);                       // 4, 5: not yet checkpointed
  WriteEntries(c1);
  WriteCheckpoint(Sign(c1[2], *broker), 1);  // covers all of chain 1

  Verification v = Verify();
  EXPECT_TRUE(v.ok) << v.first_break;
  EXPECT_EQ(v.entries, 8);
  EXPECT_EQ(v.checkpoints, 2);
  ASSERT_EQ(v.chain_reports.size(), 2u);
  EXPECT_EQ(v.chain_reports[0].last_seq, 5u);
  EXPECT_EQ(v.chain_reports[0].checkpointed_seq, 3u);
  EXPECT_EQ(v.chain_reports[0].uncovered(), 2u);
  EXPECT_EQ(v.chain_reports[0].checkpoint_signer, broker->certificate().common_name());
  EXPECT_EQ(v.chain_reports[1].checkpointed_seq, 3u);
  EXPECT_EQ(v.chain_reports[1].uncovered(), 0u);
  ASSERT_EQ(v.latest_checkpoints.size(), 2u);
}

TEST_F(AuditTopic, ChainRewrittenAfterItsCheckpointIsDetected) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const std::vector<AuditEntry> original = Chain(0, 4);
  // What the auditor pinned from an earlier run (or what the topic held
  // before it was recreated).
  const SignedAuditCheckpoint pinned = Sign(original[3], *broker);
  // An insider recreates the trail with entry 2 changed and every hash
  // recomputed, so that the chain on its own is consistent, and keeps the
  // broker's checkpoint (without it the chain would be uncovered).
  std::vector<AuditEntry> forged = Chain(0, 4, "forged");
  WriteEntries(forged);
  WriteCheckpoint(pinned, 0);

  Verification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.first_break.find("chain 0 seq 4"), std::string::npos) << v.first_break;
  EXPECT_NE(v.first_break.find("rewritten after it was checkpointed"), std::string::npos)
      << v.first_break;
  ASSERT_EQ(v.chain_reports.size(), 1u);
  EXPECT_EQ(v.chain_reports[0].checkpointed_seq, 0u);
}

TEST_F(AuditTopic, RewriteWithoutTheCheckpointsIsCaughtByAPinnedCheckpoint) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const SignedAuditCheckpoint pinned = Sign(Chain(0, 4)[3], *broker);
  WriteEntries(Chain(0, 4, "forged"));  // checkpoints left out

  Verification alone = Verify();
  EXPECT_TRUE(alone.ok) << alone.first_break;  // consistent, but ...
  ASSERT_EQ(alone.chain_reports.size(), 1u);
  EXPECT_EQ(alone.chain_reports[0].uncovered(), 4u);  // ... covered by nothing

  VerifyOptions options;
  options.pinned = {pinned};
  Verification v = Verify(options);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.first_break.find("pinned checkpoint 1"), std::string::npos) << v.first_break;
  EXPECT_NE(v.first_break.find("rewritten"), std::string::npos) << v.first_break;

  // An auditor's clock long after: the uncovered entries are stale.
  VerifyOptions later;
  later.now = absl::Now() + absl::Hours(1);
  later.uncovered_grace = absl::Minutes(5);
  Verification stale = Verify(later);
  EXPECT_FALSE(stale.ok);
  EXPECT_NE(stale.first_break.find("chain 0: entries 1..4 are covered by no signed checkpoint"),
            std::string::npos)
      << stale.first_break;
}

TEST_F(AuditTopic, TruncatedChainIsDetected) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const std::vector<AuditEntry> chain = Chain(0, 6);
  // The partition as left after the tail was lost (an unclean leader
  // election, a topic restored from an older copy): entries 1..4 and the
  // checkpoint of 6.
  WriteEntries(chain, 0, 4);
  WriteCheckpoint(Sign(chain[5], *broker), 0);

  Verification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.first_break.find("chain 0 ends at seq 4"), std::string::npos) << v.first_break;
  EXPECT_NE(v.first_break.find("entries 5..6 were removed (truncated)"), std::string::npos)
      << v.first_break;

  // A checkpoint of a chain that has no entry left at all.
  WriteCheckpoint(Sign(Chain(1, 2)[1], *broker), 1);
  v = Verify();
  EXPECT_EQ(v.problems.size(), 2u);
  EXPECT_NE(v.problems[1].find("chain 1 has no entries"), std::string::npos) << v.problems[1];
}

TEST_F(AuditTopic, CheckpointSignedWithAnEndpointKeyIsRefused) {
  std::unique_ptr<certs::Signer> endpoint = EndpointSigner();
  const std::vector<AuditEntry> chain = Chain(0, 2);
  WriteEntries(chain);
  WriteCheckpoint(Sign(chain[1], *endpoint), 0);

  Verification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.first_break.find("partition 0 offset 2: checkpoint refused"), std::string::npos)
      << v.first_break;
  EXPECT_NE(v.first_break.find("expected broker"), std::string::npos) << v.first_break;
  EXPECT_EQ(v.checkpoints, 0);
  ASSERT_EQ(v.chain_reports.size(), 1u);
  EXPECT_EQ(v.chain_reports[0].checkpointed_seq, 0u);
}

TEST_F(AuditTopic, ForgedCheckpointSignaturesAreRefused) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const std::vector<AuditEntry> chain = Chain(0, 3);
  WriteEntries(chain);
  // A valid checkpoint with its seq changed after signing (the bytes no
  // longer match the signature) ...
  SignedAuditCheckpoint moved = Sign(chain[1], *broker);
  AuditCheckpoint c;
  ASSERT_TRUE(c.ParseFromString(moved.checkpoint()));
  c.set_seq(3);
  c.set_head_hash(chain[2].entry_hash());
  moved.set_checkpoint(c.SerializeAsString());
  WriteCheckpoint(moved, 0);
  // ... one with a flipped signature byte, and one without a signature.
  SignedAuditCheckpoint flipped = Sign(chain[2], *broker);
  std::string sig = flipped.signature();
  sig[sig.size() / 2] ^= 0x01;
  flipped.set_signature(sig);
  WriteCheckpoint(flipped, 0);
  SignedAuditCheckpoint unsigned_checkpoint = Sign(chain[2], *broker);
  unsigned_checkpoint.clear_signature();
  WriteCheckpoint(unsigned_checkpoint, 0);

  Verification v = Verify();
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.problems.size(), 3u);
  EXPECT_NE(v.problems[0].find("signature does not verify"), std::string::npos) << v.problems[0];
  EXPECT_NE(v.problems[1].find("signature does not verify"), std::string::npos) << v.problems[1];
  EXPECT_NE(v.problems[2].find("signature: missing"), std::string::npos) << v.problems[2];
  EXPECT_EQ(v.chain_reports[0].checkpointed_seq, 0u);
}

TEST_F(AuditTopic, RetriedWriteIsADuplicateNotAGap) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const std::vector<AuditEntry> chain = Chain(0, 3);
  WriteEntries(chain, 0, 2);
  WriteEntries(chain, 1, 3);  // entry 2 written twice, then 3
  WriteCheckpoint(Sign(chain[2], *broker), 0);
  Verification v = Verify();
  EXPECT_TRUE(v.ok) << v.first_break;
  EXPECT_EQ(v.duplicates, 1);
  EXPECT_EQ(v.chain_reports[0].uncovered(), 0u);
}

TEST_F(AuditTopic, RecordWithNeitherEntriesNorCheckpointIsRefused) {
  Write(AuditRecord(), 1);
  Verification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_break, "partition 1 offset 0: an audit record with neither entries nor a checkpoint");
}

TEST(AuditCheckpoint, FutureSignedAtIsRefused) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const certs::Verifier verifier = NetworkVerifier();
  const AuditEntry head = Chain(0, 1)[0];
  const absl::Time now = absl::Now();
  EXPECT_TRUE(VerifyCheckpoint(Sign(head, *broker, now), verifier, now).ok());
  absl::StatusOr<VerifiedCheckpoint> ahead =
      VerifyCheckpoint(Sign(head, *broker, now + absl::Hours(1)), verifier, now);
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ahead.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ahead.status().message().find("lies in the future"), std::string::npos);
}

}  // namespace
}  // namespace liaison::audit
