// The broker's signed checkpoints of its audit chains (issue 9 item 6): a
// running node checkpoints every chain it writes, and a trail rewritten or
// cut by someone with write access to Kafka no longer verifies. The insider
// is played by the test: it copies the broker's audit topic into a topic of
// its own (as if recreating `liaison.audit`), changing what it likes, and
// the auditor verifies the copy.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/audit/checkpoint.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/producer.h"
#include "connectors/kafka/reader.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

using liaison::v1::AuditRecord;

certs::Verifier NetworkVerifier() { return certs::Verifier(NetworkTrustOrDie()); }

absl::StatusOr<audit::Verification> Verify(const TestBroker& broker, const std::string& topic,
                                           const certs::Verifier& verifier,
                                           audit::VerifyOptions options = {}) {
  options.timeout = absl::Seconds(30);
  return audit::VerifyTopic(broker.KafkaClient(), topic, verifier, options);
}

// Sends one policy-clean alert per sender and waits until every recipient
// was served (so every decision is audited).
void SendAlerts(TestBroker& broker, const std::vector<std::string>& senders) {
  for (const std::string& sender : senders) {
    LIAISON_ASSERT_OK_AND_ASSIGN(auto client, broker.Client(sender));
    liaison::v1::Message m = TestAlert(sender, {"NL-NP"}, absl::Now());
    LIAISON_ASSERT_OK_AND_ASSIGN(liaison::v1::SignedEnvelope envelope,
                                 client->Seal(m, absl::Now()));
    LIAISON_ASSERT_OK(client->Send(envelope).status());
  }
}

// Waits until the trail verifies with every entry covered by a checkpoint.
absl::StatusOr<audit::Verification> WaitFullyCovered(const TestBroker& broker,
                                                     const certs::Verifier& verifier,
                                                     int64_t min_entries) {
  absl::StatusOr<audit::Verification> v;
  const bool covered = WaitFor(
      [&] {
        v = Verify(broker, broker.topics().Audit(), verifier);
        if (!v.ok() || !v->ok || v->entries < min_entries) return false;
        for (const audit::ChainReport& c : v->chain_reports) {
          if (c.uncovered() > 0) return false;
        }
        return true;
      },
      absl::Seconds(60));
  if (!v.ok()) return v.status();
  if (!covered) {
    return absl::DeadlineExceededError(
        absl::StrCat("not fully covered: ", v->entries, " entries, first break: ", v->first_break));
  }
  return v;
}

// Every record of the broker's audit topic, by partition.
std::map<int32_t, std::vector<AuditRecord>> ReadTrail(const TestBroker& broker) {
  std::map<int32_t, std::vector<AuditRecord>> out;
  for (int32_t p = 0; p < 6; ++p) {
    absl::StatusOr<std::vector<kafka::Record>> records = kafka::ReadPartition(
        broker.KafkaClient(), broker.topics().Audit(), p, 0, kafka::kToEnd, absl::Seconds(30));
    EXPECT_TRUE(records.ok()) << records.status();
    if (!records.ok()) continue;
    for (const kafka::Record& r : *records) {
      AuditRecord record;
      EXPECT_TRUE(record.ParseFromString(r.value));
      out[p].push_back(std::move(record));
    }
  }
  return out;
}

// The insider: writes `trail` into a new topic of the same cluster.
void WriteTrail(const TestBroker& broker, const std::string& topic,
                const std::map<int32_t, std::vector<AuditRecord>>& trail) {
  LIAISON_ASSERT_OK(broker.kafka()->CreateTopic(topic, 6, 1));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto producer, kafka::Producer::Create(broker.KafkaClient()));
  for (const auto& [partition, records] : trail) {
    for (const AuditRecord& record : records) {
      absl::Notification done;
      absl::Status status;
      producer->Produce(
          topic, "", record.SerializeAsString(),
          [&](const kafka::DeliveryReport& r) {
            status = r.status;
            done.Notify();
          },
          partition);
      done.WaitForNotification();
      LIAISON_ASSERT_OK(status);
    }
  }
}

// Re-seals every entry of `records` after `changed` was edited: each hash
// recomputed, so the copy is a consistent chain on its own.
void Reseal(std::vector<AuditRecord>& records) {
  std::string prev;
  for (AuditRecord& record : records) {
    for (liaison::v1::AuditEntry& e : *record.mutable_entries()) {
      e.set_prev_hash(prev);
      e.set_entry_hash(audit::EntryHash(e));
      prev = e.entry_hash();
    }
  }
}

int32_t ChainWithMostEntries(const audit::Verification& v) {
  int32_t best = v.chain_reports.front().chain;
  int64_t most = 0;
  for (const audit::ChainReport& c : v.chain_reports) {
    if (c.entries > most) {
      most = c.entries;
      best = c.chain;
    }
  }
  return best;
}

TEST(AuditCheckpoints, BrokerCheckpointsEveryChainItWrites) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status();
  const certs::Verifier verifier = NetworkVerifier();
  SendAlerts(**broker, {"RO-IGPR", "DE-BKA", "FR-OCRTEH"});
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification v,
                               WaitFullyCovered(**broker, verifier, /*min_entries=*/3));
  EXPECT_GE(v.checkpoints, static_cast<int64_t>(v.chain_reports.size()));
  for (const audit::ChainReport& c : v.chain_reports) {
    EXPECT_EQ(c.first_seq, 1u) << "chain " << c.chain;
    EXPECT_EQ(c.checkpointed_seq, c.last_seq) << "chain " << c.chain;
    EXPECT_EQ(c.checkpoint_signer, (*broker)->node().node_id()) << "chain " << c.chain;
  }
  EXPECT_TRUE(v.notes.empty()) << v.notes.front();
}

TEST(AuditCheckpoints, RewrittenOrTruncatedTrailFailsAgainstTheBrokersCheckpoints) {
  LIAISON_SKIP_ON_REAL_KAFKA();  // the insider writes topics of its own
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status();
  TestBroker& b = **broker;
  const certs::Verifier verifier = NetworkVerifier();
  SendAlerts(b, {"RO-IGPR", "RO-IGPR", "DE-BKA"});
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification original,
                               WaitFullyCovered(b, verifier, /*min_entries=*/3));
  const int32_t chain = ChainWithMostEntries(original);
  const std::map<int32_t, std::vector<AuditRecord>> trail = ReadTrail(b);

  // A faithful copy verifies (the copy itself is not what is detected).
  WriteTrail(b, "insider.copy", trail);
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification copy, Verify(b, "insider.copy", verifier));
  EXPECT_TRUE(copy.ok) << copy.first_break;

  // Rewritten: the first entry's recipient changed, every hash recomputed,
  // the broker's checkpoints kept.
  {
    std::map<int32_t, std::vector<AuditRecord>> forged = trail;
    std::vector<AuditRecord>& records = forged[chain];
    for (AuditRecord& r : records) {
      if (r.entries_size() > 0) {
        r.mutable_entries(0)->set_recipient("ZZ-ELSEWHERE");
        break;
      }
    }
    Reseal(records);
    WriteTrail(b, "insider.rewritten", forged);
    LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification v, Verify(b, "insider.rewritten", verifier));
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(absl::StrContains(v.first_break, "rewritten after it was checkpointed"))
        << v.first_break;
    EXPECT_TRUE(absl::StrContains(v.first_break, absl::StrCat("chain ", chain, " seq ")))
        << v.first_break;

    // The same forgery without the checkpoints is consistent on its own, but
    // the checkpoints the auditor kept from the original catch it.
    for (AuditRecord& r : records) r.clear_checkpoint();
    std::vector<AuditRecord> entries_only;
    for (AuditRecord& r : records) {
      if (r.entries_size() > 0) entries_only.push_back(r);
    }
    forged[chain] = entries_only;
    WriteTrail(b, "insider.rewritten-bare", forged);
    audit::VerifyOptions pinned;
    pinned.pinned = original.latest_checkpoints;
    LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification bare,
                                 Verify(b, "insider.rewritten-bare", verifier, pinned));
    EXPECT_FALSE(bare.ok);
    EXPECT_TRUE(absl::StrContains(bare.first_break, "pinned checkpoint")) << bare.first_break;
    EXPECT_TRUE(absl::StrContains(bare.first_break, "rewritten")) << bare.first_break;
  }

  // Truncated: the chain's last entry record dropped, its checkpoints kept.
  {
    std::map<int32_t, std::vector<AuditRecord>> cut = trail;
    std::vector<AuditRecord>& records = cut[chain];
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
      if (it->entries_size() > 0) {
        records.erase(std::next(it).base());
        break;
      }
    }
    WriteTrail(b, "insider.truncated", cut);
    LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification v, Verify(b, "insider.truncated", verifier));
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(absl::StrContains(v.first_break, "(truncated)")) << v.first_break;
  }
}

// A policy node that takes partitions over continues each chain after the
// checkpoint its previous owner wrote last (LoadHead skips checkpoint
// records to find the last entry): one chain across both nodes, no seq used
// twice, all of it covered.
TEST(AuditCheckpoints, ANodeTakingOverContinuesTheChainsAfterTheLastCheckpoint) {
  LIAISON_SKIP_ON_REAL_KAFKA();  // nodes join the first node's embedded Kafka
  TestBrokerOptions front;
  front.run_policy_stage = false;  // owns the embedded Kafka, decides nothing
  absl::StatusOr<std::unique_ptr<TestBroker>> front_door = TestBroker::Start(front);
  ASSERT_TRUE(front_door.ok()) << front_door.status();
  TestBrokerOptions policy_node;
  policy_node.kafka_bootstrap = (*front_door)->node().bootstrap_servers();
  const certs::Verifier verifier = NetworkVerifier();

  absl::StatusOr<std::unique_ptr<TestBroker>> first = TestBroker::Start(policy_node);
  ASSERT_TRUE(first.ok()) << first.status();
  SendAlerts(**front_door, {"RO-IGPR", "DE-BKA", "FR-OCRTEH", "ES-PN"});
  LIAISON_ASSERT_OK_AND_ASSIGN(audit::Verification before,
                               WaitFullyCovered(**front_door, verifier, /*min_entries=*/4));
  // Every chain's partition now ends with a checkpoint record.
  first->reset();

  absl::StatusOr<std::unique_ptr<TestBroker>> second = TestBroker::Start(policy_node);
  ASSERT_TRUE(second.ok()) << second.status();
  SendAlerts(**front_door, {"RO-IGPR", "DE-BKA", "FR-OCRTEH", "ES-PN"});
  LIAISON_ASSERT_OK_AND_ASSIGN(
      audit::Verification after,
      WaitFullyCovered(**front_door, verifier, /*min_entries=*/before.entries + 4));
  EXPECT_TRUE(after.notes.empty()) << after.notes.front();
  for (const audit::ChainReport& c : after.chain_reports) {
    EXPECT_EQ(c.first_seq, 1u) << "chain " << c.chain;
    EXPECT_EQ(static_cast<uint64_t>(c.entries), c.last_seq) << "chain " << c.chain;
  }
}

}  // namespace
}  // namespace liaison::testing
