// VerifyTopic on chains and checkpoints written straight into an embedded
// mock cluster, the way the broker writes them or an insider with write
// access to the audit topic could: real Kafka protocol, real signatures
// (keys of the dev PKI).
#include "connectors/audit/audit_trail.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "base/proto_time.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "connectors/audit/checkpoint.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"

namespace liaison::audit {
namespace {

using liaison::v1::AuditCheckpoint;
using liaison::v1::AuditEntry;
using liaison::v1::AuditRecord;
using liaison::v1::SignedAuditCheckpoint;

constexpr char kTopic[] = "t.audit";

std::unique_ptr<certs::Signer> BrokerSigner() {
  return testing::LoadSignerOrDie(testing::SharedTestPki().dir + "/broker/tls");
}

std::unique_ptr<certs::Signer> EndpointSigner() {
  return testing::LoadSignerOrDie(testing::SharedTestPki().EndpointFile("DE-BKA", "sign"));
}

certs::Verifier NetworkVerifier() { return certs::Verifier(testing::NetworkTrustOrDie()); }

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

TEST_F(AuditTopic, AllEntriesListsEveryChainInOrderWithoutRetriedWritesOrCheckpoints) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const std::vector<AuditEntry> c0 = Chain(0, 3, "a");
  const std::vector<AuditEntry> c1 = Chain(1, 2, "b");
  WriteEntries(c1);
  WriteEntries(c0, 0, 2);
  WriteEntries(c0, 1, 3);  // entry 2 written twice, then 3
  WriteCheckpoint(Sign(c0[2], *broker), 0);
  absl::StatusOr<std::vector<AuditEntry>> all = AllEntries(config_, kTopic, absl::Seconds(20));
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> ids;
  for (const AuditEntry& e : *all) ids.push_back(e.message_id());
  EXPECT_EQ(ids, (std::vector<std::string>{"a-0-1", "a-0-2", "a-0-3", "b-1-1", "b-1-2"}));
}

TEST_F(AuditTopic, RecordWithNeitherEntriesNorCheckpointIsRefused) {
  Write(AuditRecord(), 1);
  Verification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_break,
            "partition 1 offset 0: an audit record with neither entries nor a checkpoint");
}

// --- the same checks without Kafka: VerifyRecords over records in memory -------

// The records of an audit topic as VerifyTopic reads them: offsets counted
// per partition, written at `written` unless a record says otherwise.
class Records {
 public:
  void Add(std::string value, int32_t partition, absl::Time written) {
    kafka::Record r;
    r.partition = partition;
    r.offset = next_offset_[partition]++;
    r.value = std::move(value);
    r.timestamp = written;
    records_.push_back(std::move(r));
  }
  void Entries(const std::vector<AuditEntry>& entries, absl::Time written = absl::Now()) {
    for (const AuditEntry& e : entries) {
      AuditRecord r;
      *r.add_entries() = e;
      Add(r.SerializeAsString(), e.chain(), written);
    }
  }
  void Checkpoint(const SignedAuditCheckpoint& c, int32_t partition) {
    AuditRecord r;
    *r.mutable_checkpoint() = c;
    Add(r.SerializeAsString(), partition, absl::Now());
  }
  // In partition and offset order, as read.
  std::vector<kafka::Record> Read() const {
    std::vector<kafka::Record> out = records_;
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.partition < b.partition; });
    return out;
  }

 private:
  std::map<int32_t, int64_t> next_offset_;
  std::vector<kafka::Record> records_;
};

Verification VerifyInMemory(const Records& records, VerifyOptions options = {}) {
  return VerifyRecords(records.Read(), NetworkVerifier(), options);
}

// Seals `e` again after a change (an insider who recomputes the hash).
void Reseal(AuditEntry& e) { e.set_entry_hash(EntryHash(e)); }

// One way to break a chain of five entries (chain 0, partition 0) that no
// checkpoint covers: the chain alone must show it, in first_break.
struct ChainBreak {
  const char* name;
  std::function<void(std::vector<AuditEntry>&)> tamper;  // before writing
  std::function<void(Records&)> append;                  // records after the chain
  const char* fragment;
};
void PrintTo(const ChainBreak& c, std::ostream* os) { *os << c.name; }

class BrokenChain : public ::testing::TestWithParam<ChainBreak> {};

TEST_P(BrokenChain, IsReportedWhere) {
  std::vector<AuditEntry> chain = Chain(0, 5);
  if (GetParam().tamper) GetParam().tamper(chain);
  Records records;
  records.Entries(chain);
  if (GetParam().append) GetParam().append(records);
  const Verification v = VerifyInMemory(records);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.first_break.find(GetParam().fragment), std::string::npos)
      << "first_break: " << v.first_break;
}

INSTANTIATE_TEST_SUITE_P(
    AuditChain, BrokenChain,
    ::testing::Values(
        ChainBreak{"DroppedEntry", [](auto& c) { c.erase(c.begin() + 2); }, nullptr,
                   "chain 0 seq 4 (partition 0 offset 2): entries 3..3 missing"},
        ChainBreak{"DroppedEntries", [](auto& c) { c.erase(c.begin() + 1, c.begin() + 3); },
                   nullptr, "chain 0 seq 4 (partition 0 offset 1): entries 2..3 missing"},
        ChainBreak{"SeqsOfTwoEntriesSwapped",
                   [](auto& c) {
                     c[1].set_seq(3);
                     c[2].set_seq(2);
                   },
                   nullptr, "chain 0 seq 2 (partition 0 offset 2): entry_hash does not match"},
        ChainBreak{"TwoEntriesReorderedAndResealed",
                   [](auto& c) {
                     std::swap(c[1], c[2]);
                     c[1].set_seq(2);
                     c[2].set_seq(3);
                     Reseal(c[1]);
                     Reseal(c[2]);
                   },
                   nullptr,
                   "chain 0 seq 2 (partition 0 offset 1): prev_hash does not match entry 1"},
        ChainBreak{"AlteredEntry", [](auto& c) { c[2].set_recipient("GB-NCA"); }, nullptr,
                   "chain 0 seq 3 (partition 0 offset 2): entry_hash does not match its content"},
        ChainBreak{"AlteredEntryResealed",
                   [](auto& c) {
                     c[2].set_recipient("GB-NCA");
                     Reseal(c[2]);
                   },
                   nullptr,
                   "chain 0 seq 4 (partition 0 offset 3): prev_hash does not match entry 3"},
        ChainBreak{"BrokenHashLink",
                   [](auto& c) {
                     c[3].set_prev_hash(std::string(32, 'x'));
                     Reseal(c[3]);
                   },
                   nullptr,
                   "chain 0 seq 4 (partition 0 offset 3): prev_hash does not match entry 3"},
        ChainBreak{"WrongSeq",
                   [](auto& c) {
                     c[3].set_seq(7);
                     Reseal(c[3]);
                   },
                   nullptr, "chain 0 seq 5 (partition 0 offset 4): entries 4..4 missing"},
        ChainBreak{"SeqJumpsAhead",
                   [](auto& c) {
                     c[4].set_seq(9);
                     Reseal(c[4]);
                   },
                   nullptr, "chain 0 seq 9 (partition 0 offset 4): entries 5..8 missing"},
        ChainBreak{"FirstEntryWithAPrevHash",
                   [](auto& c) {
                     c[0].set_prev_hash(std::string(32, 'x'));
                     Reseal(c[0]);
                   },
                   nullptr, "chain 0 seq 1 (partition 0 offset 0): first entry has a prev_hash"},
        ChainBreak{"TwoDifferentEntriesWithOneSeq", nullptr,
                   [](Records& r) {
                     AuditEntry other = Chain(0, 3, "other")[2];
                     r.Entries({other});
                   },
                   "chain 0 seq 3 (partition 0 offset 5): two different entries with one seq"},
        ChainBreak{"RetriedWriteWithOtherContent", nullptr,
                   [](Records& r) {
                     AuditEntry again = Chain(0, 3)[2];
                     again.set_recipient("GB-NCA");  // entry_hash kept: looks like a retry
                     r.Entries({again});
                   },
                   "chain 0 seq 3 (partition 0 offset 5): two different entries with one seq"},
        ChainBreak{"RecordThatIsNoAuditRecord", nullptr,
                   [](Records& r) { r.Add("\xff\xff\xff", 0, absl::Now()); },
                   "partition 0 offset 5: not an audit record"},
        ChainBreak{"RecordWithEntriesAndACheckpoint", nullptr,
                   [](Records& r) {
                     AuditRecord both;
                     *both.add_entries() = Chain(1, 1)[0];
                     *both.mutable_checkpoint() = Sign(Chain(1, 1)[0], *BrokerSigner());
                     r.Add(both.SerializeAsString(), 1, absl::Now());
                   },
                   "partition 1 offset 0: an audit record with both entries and a checkpoint"}),
    [](const auto& info) { return std::string(info.param.name); });

// The problems that cast doubt on entries name them (entry_problems), so
// that a reader of single entries (an item's chain of custody) can tell
// which of its entries are affected: an altered entry itself, a re-sealed
// one together with the entry that no longer links to it, every entry under
// a contradicted checkpoint, and a cut tail as truncated.
TEST(AuditChain, ProblemsNameTheEntriesTheyConcern) {
  auto only = [](const Verification& v) {
    EXPECT_EQ(v.entry_problems.size(), 1u) << v.first_break;
    return v.entry_problems.empty() ? EntryProblem{} : v.entry_problems[0];
  };
  {
    std::vector<AuditEntry> chain = Chain(0, 5);
    chain[2].set_recipient("BG-GDNP");  // seq 3, not re-sealed
    Records records;
    records.Entries(chain);
    const EntryProblem p = only(VerifyInMemory(records));
    EXPECT_EQ(p.chain, 0);
    EXPECT_EQ(p.from_seq, 3u);
    EXPECT_EQ(p.to_seq, 3u);
    EXPECT_FALSE(p.truncated);
  }
  {
    std::vector<AuditEntry> chain = Chain(0, 5);
    chain[2].set_recipient("BG-GDNP");
    Reseal(chain[2]);  // seq 4 no longer links to it
    Records records;
    records.Entries(chain);
    const EntryProblem p = only(VerifyInMemory(records));
    EXPECT_EQ(p.from_seq, 3u);
    EXPECT_EQ(p.to_seq, 4u);
  }
  {
    std::unique_ptr<certs::Signer> broker = BrokerSigner();
    Records records;
    records.Checkpoint(Sign(Chain(0, 4)[3], *broker), 0);
    records.Entries(Chain(0, 4, "rewritten"));
    const EntryProblem p = only(VerifyInMemory(records));
    EXPECT_EQ(p.from_seq, 1u);
    EXPECT_EQ(p.to_seq, 4u);
    EXPECT_NE(p.what.find("rewritten after it was checkpointed"), std::string::npos) << p.what;
  }
  {
    std::unique_ptr<certs::Signer> broker = BrokerSigner();
    std::vector<AuditEntry> chain = Chain(0, 5);
    Records records;
    records.Checkpoint(Sign(chain[4], *broker), 0);
    chain.resize(3);
    records.Entries(chain);
    const EntryProblem p = only(VerifyInMemory(records));
    EXPECT_EQ(p.from_seq, 4u);
    EXPECT_EQ(p.to_seq, 5u);
    EXPECT_TRUE(p.truncated);
  }
  {
    // A refused checkpoint names no entry.
    std::vector<AuditEntry> chain = Chain(0, 2);
    Records records;
    records.Entries(chain);
    records.Checkpoint(Sign(chain[1], *EndpointSigner()), 0);
    const Verification v = VerifyInMemory(records);
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(v.entry_problems.empty());
  }
}

TEST(AuditChain, GoodChainsVerifyWhateverTheirOrderInThePartition) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  std::vector<AuditEntry> c0 = Chain(0, 4);
  std::vector<AuditEntry> c1 = Chain(1, 2);
  Records records;
  records.Entries({c0[0], c0[2], c0[1], c0[3]});  // written out of seq order
  records.Entries(c1);
  records.Entries({c1[1]});  // a retried write
  records.Checkpoint(Sign(c0[3], *broker), 0);
  records.Checkpoint(Sign(c1[1], *broker), 1);
  const Verification v = VerifyInMemory(records);
  EXPECT_TRUE(v.ok) << v.first_break;
  EXPECT_TRUE(v.problems.empty());
  EXPECT_EQ(v.entries, 7);
  EXPECT_EQ(v.duplicates, 1);
  EXPECT_EQ(v.chains, 2);
  EXPECT_EQ(v.checkpoints, 2);
  ASSERT_EQ(v.chain_reports.size(), 2u);
  EXPECT_EQ(v.chain_reports[0].checkpointed_seq, 4u);
  EXPECT_EQ(v.chain_reports[1].checkpointed_seq, 2u);
  EXPECT_EQ(v.chain_reports[0].uncovered() + v.chain_reports[1].uncovered(), 0u);
}

TEST(AuditChain, AChainCutAtTheFrontIsANoteNotABreak) {
  // Retention removes a chain's oldest entries; the verifier cannot tell
  // that from a cut, so it notes it (a checkpoint pins what is left).
  std::vector<AuditEntry> chain = Chain(0, 5);
  Records records;
  records.Entries({chain.begin() + 2, chain.end()});
  records.Checkpoint(Sign(chain[4], *BrokerSigner()), 0);
  const Verification v = VerifyInMemory(records);
  EXPECT_TRUE(v.ok) << v.first_break;
  ASSERT_EQ(v.notes.size(), 1u);
  EXPECT_EQ(v.notes[0], "chain 0 starts at seq 3: earlier entries were removed by retention");
}

TEST(AuditChain, EntriesNoCheckpointCoversFailOnlyOnceOlderThanTheGrace) {
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const std::vector<AuditEntry> chain = Chain(0, 5);
  const absl::Time now = absl::Now();
  Records records;
  records.Entries({chain.begin(), chain.begin() + 3}, now - absl::Minutes(20));
  records.Checkpoint(Sign(chain[2], *broker), 0);
  records.Entries({chain.begin() + 3, chain.end()}, now - absl::Minutes(10));
  VerifyOptions options;
  options.now = now;

  // Without a grace: reported, not failed.
  Verification v = VerifyInMemory(records, options);
  EXPECT_TRUE(v.ok) << v.first_break;
  ASSERT_EQ(v.chain_reports.size(), 1u);
  EXPECT_EQ(v.chain_reports[0].uncovered(), 2u);
  // Written 10 minutes ago, 15 minutes' grace: the broker may still checkpoint them.
  options.uncovered_grace = absl::Minutes(15);
  EXPECT_TRUE(VerifyInMemory(records, options).ok);
  // 5 minutes' grace: no broker checkpointed them in time.
  options.uncovered_grace = absl::Minutes(5);
  v = VerifyInMemory(records, options);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.first_break.find("chain 0: entries 4..5 are covered by no signed checkpoint"),
            std::string::npos)
      << v.first_break;
}

TEST(AuditChain, ARefusedCheckpointCoversNothing) {
  const std::vector<AuditEntry> chain = Chain(0, 3);
  Records records;
  records.Entries(chain);
  records.Checkpoint(Sign(chain[2], *EndpointSigner()), 0);
  const Verification v = VerifyInMemory(records);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.first_break.find("partition 0 offset 3: checkpoint refused: "), std::string::npos)
      << v.first_break;
  EXPECT_EQ(v.checkpoints, 0);
  ASSERT_EQ(v.chain_reports.size(), 1u);
  EXPECT_EQ(v.chain_reports[0].checkpointed_seq, 0u);
  EXPECT_EQ(v.chain_reports[0].uncovered(), 3u);
}

// --- VerifyCheckpoint: one table of refused checkpoints ---------------------

// The domain separation checkpoint.h documents.
constexpr char kCheckpointContext[] = "liaison.v1.AuditCheckpoint\n";

// Signs `c` as SignCheckpoint does, but with whatever fields and bytes the
// case forged (SignCheckpoint would stamp broker_id).
SignedAuditCheckpoint SignAsIs(const AuditCheckpoint& c, const certs::Signer& signer) {
  SignedAuditCheckpoint out;
  out.set_checkpoint(c.SerializeAsString());
  absl::StatusOr<std::string> signature =
      signer.Sign(absl::StrCat(kCheckpointContext, out.checkpoint()));
  EXPECT_TRUE(signature.ok()) << signature.status();
  out.set_signature(*signature);
  out.set_broker_certificate(signer.certificate().der());
  return out;
}

// One forged checkpoint: what changes in an honest checkpoint of the broker
// over Chain(0, 1) before it is signed (`forge`), who signs it (`signer`, a
// path in the test PKI without .key/.pem; null: the broker), what changes
// after signing (`tamper`), and the status VerifyCheckpoint must return.
struct CheckpointForgery {
  const char* name;
  void (*forge)(AuditCheckpoint&);
  std::string (*signer)(const testing::TestPki&);
  void (*tamper)(SignedAuditCheckpoint&);
  absl::StatusCode code;
  const char* fragment;
};
void PrintTo(const CheckpointForgery& c, std::ostream* os) { *os << c.name; }

class RefusedCheckpoint : public ::testing::TestWithParam<CheckpointForgery> {};

TEST_P(RefusedCheckpoint, WithTheExactStatus) {
  const CheckpointForgery& f = GetParam();
  std::unique_ptr<certs::Signer> broker = BrokerSigner();
  const absl::Time now = absl::Now();
  const AuditEntry head = Chain(0, 1)[0];
  AuditCheckpoint c;
  c.set_chain(head.chain());
  c.set_seq(head.seq());
  c.set_head_hash(head.entry_hash());
  c.set_broker_id(broker->certificate().common_name());
  *c.mutable_signed_at() = ToProto(now);
  // The honest checkpoint verifies; the forged one must not.
  ASSERT_TRUE(VerifyCheckpoint(SignAsIs(c, *broker), NetworkVerifier(), now).ok());
  if (f.forge != nullptr) f.forge(c);
  std::unique_ptr<certs::Signer> other =
      f.signer == nullptr ? nullptr : testing::LoadSignerOrDie(f.signer(testing::SharedTestPki()));
  SignedAuditCheckpoint forged = SignAsIs(c, other != nullptr ? *other : *broker);
  if (f.tamper != nullptr) f.tamper(forged);
  EXPECT_TRUE(liaison::testing::IsError(VerifyCheckpoint(forged, NetworkVerifier(), now), f.code,
                                        f.fragment));
}

using Cp = AuditCheckpoint;
using Signed = SignedAuditCheckpoint;
using Pki = testing::TestPki;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;

INSTANTIATE_TEST_SUITE_P(
    AuditCheckpoint, RefusedCheckpoint,
    ::testing::Values(
        CheckpointForgery{"NoCheckpointBytes", nullptr, nullptr,
                          [](Signed& s) { s.clear_checkpoint(); }, kInvalid, "checkpoint: missing"},
        CheckpointForgery{"NoSignature", nullptr, nullptr, [](Signed& s) { s.clear_signature(); },
                          kInvalid, "signature: missing"},
        CheckpointForgery{"NoCertificate", nullptr, nullptr,
                          [](Signed& s) { s.clear_broker_certificate(); }, kInvalid,
                          "broker_certificate: missing"},
        CheckpointForgery{"BytesThatAreNoCheckpoint", nullptr, nullptr,
                          [](Signed& s) { s.set_checkpoint("\xff\xff\xff"); }, kInvalid,
                          "checkpoint: not an AuditCheckpoint"},
        CheckpointForgery{"SeqZero", [](Cp& c) { c.set_seq(0); }, nullptr, nullptr, kInvalid,
                          "checkpoint.seq: must be at least 1"},
        CheckpointForgery{"ShortHeadHash", [](Cp& c) { c.set_head_hash(c.head_hash().substr(1)); },
                          nullptr, nullptr, kInvalid, "checkpoint.head_hash: must be 32 bytes"},
        CheckpointForgery{"NoSignedAt", [](Cp& c) { c.clear_signed_at(); }, nullptr, nullptr,
                          kInvalid, "checkpoint.signed_at: missing"},
        CheckpointForgery{"SignedAtAnHourAhead",
                          [](Cp& c) {
                            *c.mutable_signed_at() =
                                ToProto(FromProto(c.signed_at()) + absl::Hours(1));
                          },
                          nullptr, nullptr, kInvalid, "lies in the future"},
        CheckpointForgery{"SignedByAnEndpoint", nullptr,
                          [](const Pki& p) { return p.EndpointFile("DE-BKA", "sign"); }, nullptr,
                          kDenied, "has role endpoint-signing, expected broker"},
        CheckpointForgery{"SignedByAnOperator", nullptr,
                          [](const Pki& p) { return p.dir + "/operators/ops-duty-1/tls"; }, nullptr,
                          kDenied, "has role operator, expected broker"},
        CheckpointForgery{"SignedByARevokedBroker",
                          [](Cp& c) { c.set_broker_id("liaison-broker-9"); },
                          [](const Pki& p) { return p.issued + "/broker-revoked"; }, nullptr,
                          kDenied, "is revoked"},
        CheckpointForgery{"SignedByAnExpiredBroker",
                          [](Cp& c) { c.set_broker_id("liaison-broker-8"); },
                          [](const Pki& p) { return p.issued + "/broker-expired"; }, nullptr,
                          kDenied, "expired at"},
        CheckpointForgery{"SignedUnderAnotherCa", nullptr,
                          [](const Pki& p) { return p.foreign_dir + "/endpoints/RO-IGPR/sign"; },
                          nullptr, kDenied, "is not issued by the network CA"},
        CheckpointForgery{
            "FlippedSignatureByte", nullptr, nullptr,
            [](Signed& s) { (*s.mutable_signature())[s.signature().size() / 2] ^= 0x01; }, kInvalid,
            "signature does not verify"},
        CheckpointForgery{"SeqMovedAfterSigning", nullptr, nullptr,
                          [](Signed& s) {
                            Cp c;
                            c.ParseFromString(s.checkpoint());
                            c.set_seq(2);
                            s.set_checkpoint(c.SerializeAsString());
                          },
                          kInvalid, "signature does not verify"},
        CheckpointForgery{"BrokerSignatureWithoutTheCheckpointContext", nullptr, nullptr,
                          [](Signed& s) {
                            // The broker's signature over the bare bytes (as it signs statements).
                            s.set_signature(*BrokerSigner()->Sign(s.checkpoint()));
                          },
                          kInvalid, "signature does not verify"},
        CheckpointForgery{"BrokerIdOfAnotherBroker",
                          [](Cp& c) { c.set_broker_id("liaison-broker-2"); }, nullptr, nullptr,
                          kDenied, "checkpoint.broker_id: not the signing broker"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace liaison::audit
