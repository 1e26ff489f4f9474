// The broker's own observer: each hook lands in its /metrics family and is
// passed on to the caller's observer.
#include "broker/operators/operations.h"

#include <string>

#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

class CountingObserver final : public Observer {
 public:
  void OnStateRecordSkipped(const std::string& topic) override { skipped += topic + ";"; }
  void OnCommitFailed(const std::string& group) override { failed += group + ";"; }
  std::string skipped;
  std::string failed;
};

std::string Render(const Operations& ops) {
  MetricsText text;
  ops.Render(text);
  return text.Take();
}

TEST(Operations, SkippedStateRecordsAndRefusedCommitsAreCountedByTopicAndGroup) {
  ManualClock clock(absl::FromUnixSeconds(1767225600));
  CountingObserver also;
  Operations ops(&clock, &also);
  const std::string before = Render(ops);
  // Declared (HELP, TYPE) before anything happened, with no sample.
  EXPECT_NE(before.find("# TYPE liaison_state_records_skipped_total counter\n"), std::string::npos);
  EXPECT_NE(before.find("# TYPE liaison_kafka_commit_failures_total counter\n"), std::string::npos);
  EXPECT_EQ(before.find("liaison_state_records_skipped_total{"), std::string::npos);

  ops.OnStateRecordSkipped("liaison.registry.ids");
  ops.OnStateRecordSkipped("liaison.registry.ids");
  ops.OnStateRecordSkipped("liaison.registry.sources");
  ops.OnCommitFailed("liaison-deliver.DE-BKA");
  const std::string after = Render(ops);
  EXPECT_NE(after.find("liaison_state_records_skipped_total{topic=\"liaison.registry.ids\"} 2\n"),
            std::string::npos)
      << after;
  EXPECT_NE(
      after.find("liaison_state_records_skipped_total{topic=\"liaison.registry.sources\"} 1\n"),
      std::string::npos);
  EXPECT_NE(after.find("liaison_kafka_commit_failures_total{group=\"liaison-deliver.DE-BKA\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(also.skipped, "liaison.registry.ids;liaison.registry.ids;liaison.registry.sources;");
  EXPECT_EQ(also.failed, "liaison-deliver.DE-BKA;");
}

TEST(Operations, EvidenceChunkDeletionsAreCountedByOutcomeWithTheRecordsDeleted) {
  ManualClock clock(absl::FromUnixSeconds(1767225600));
  Operations ops(&clock);
  ops.OnEvidenceChunkDeletion("deleted", 2);
  ops.OnEvidenceChunkDeletion("deleted", 3);
  ops.OnEvidenceChunkDeletion("failed", 0);
  const std::string text = Render(ops);
  EXPECT_NE(text.find("liaison_evidence_chunk_deletions_total{outcome=\"deleted\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("liaison_evidence_chunk_deletions_total{outcome=\"failed\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("liaison_evidence_chunk_records_deleted_total 5\n"), std::string::npos)
      << text;
}

TEST(Operations, SendsAndFlowsLandInTheirFamilies) {
  ManualClock clock(absl::FromUnixSeconds(1767225600));
  Operations ops(&clock);
  ops.OnSend("DE-BKA", absl::StatusCode::kOk, false, 1000);
  ops.OnSend("DE-BKA", absl::StatusCode::kOk, true, 1000);
  ops.OnSend("", absl::StatusCode::kInvalidArgument, false, 10);
  FlowEvent e;
  e.sender = "DE-BKA";
  e.recipient = "FR-PN";
  e.kind = liaison::v1::KIND_ALERT;
  e.outcome = liaison::v1::OUTCOME_REJECT;
  e.rule_ids = {"DP-PURPOSE-01"};
  ops.OnFlow(e);
  ops.OnLoss(LossSource::kDeliver, 3);
  const std::string text = Render(ops);
  for (const char* line : {
           "liaison_messages_accepted_total{sender=\"DE-BKA\"} 1\n",
           "liaison_messages_accepted_bytes_total{sender=\"DE-BKA\"} 1000\n",
           "liaison_messages_duplicate_total{sender=\"DE-BKA\"} 1\n",
           "liaison_messages_rejected_total{code=\"INVALID_ARGUMENT\"} 1\n",
           "liaison_policy_decisions_total{kind=\"ALERT\",outcome=\"REJECT\",event=\"decided\"} "
           "1\n",
           "liaison_policy_rule_decisions_total{rule_id=\"DP-PURPOSE-01\",outcome=\"REJECT\"} 1\n",
           "liaison_flows_total{sender=\"DE-BKA\",recipient=\"FR-PN\",outcome=\"REJECT\"} 1\n",
           "liaison_kafka_records_lost_total{topic_kind=\"deliver\"} 3\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(ops.records_lost(), 3);
  EXPECT_EQ(ops.flows().last_seq(), 1u);
}

}  // namespace
}  // namespace liaison::broker
