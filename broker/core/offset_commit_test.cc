// A refused offset commit is logged and counted by group, no longer dropped.
#include "broker/core/offset_commit.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/testing/status_matchers.h"
#include "connectors/kafka/embedded_cluster.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

using ::liaison::testing::IsError;

class CommitCounter final : public Observer {
 public:
  void OnCommitFailed(const std::string& group) override { groups.push_back(group); }
  std::vector<std::string> groups;
};

// A one-broker mock cluster with topic `topic` and a member of group
// `group` subscribed to it.
struct GroupMember {
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  std::unique_ptr<kafka::Consumer> consumer;
};
void Join(const std::string& topic, const std::string& group, GroupMember& out) {
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> cluster =
      kafka::EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  out.cluster = *std::move(cluster);
  LIAISON_ASSERT_OK(out.cluster->CreateTopic(topic, 1, 1));
  kafka::ClientConfig config;
  config.bootstrap_servers = out.cluster->bootstrap_servers();
  kafka::ConsumerOptions options;
  options.group_id = group;
  options.topics = {topic};
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(config, options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  out.consumer = *std::move(consumer);
}

TEST(OffsetCommit, ARefusedCommitIsLoggedAndCountedByGroup) {
  GroupMember member;
  ASSERT_NO_FATAL_FAILURE(Join("liaison.deliver.DE-BKA", "liaison-deliver.DE-BKA", member));
  kafka::Consumer* consumer = member.consumer.get();
  const std::string group = "liaison-deliver.DE-BKA";
  LIAISON_ASSERT_OK(consumer->Close());  // a closed consumer cannot commit

  absl::Mutex mu;
  std::vector<std::string> logged;
  log::SetSink([&](std::string_view line) {
    absl::MutexLock lock(&mu);
    if (line.find("kafka.commit_failed") != std::string_view::npos) logged.emplace_back(line);
  });
  CommitCounter observer;
  const std::vector<kafka::Consumer::CommitOffset> offsets = {{{"liaison.deliver.DE-BKA", 0}, 5}};
  EXPECT_TRUE(IsError(CommitOffsets(*consumer, offsets, CommitMode::kAsync, group, &observer),
                      absl::StatusCode::kFailedPrecondition, "closed"));
  EXPECT_TRUE(IsError(CommitOffsets(*consumer, offsets, CommitMode::kSync, group, &observer),
                      absl::StatusCode::kFailedPrecondition, "closed"));
  // Nothing to commit is not a failure.
  EXPECT_TRUE(CommitOffsets(*consumer, {}, CommitMode::kSync, group, &observer).ok());
  log::ResetSink();
  EXPECT_EQ(observer.groups,
            std::vector<std::string>({"liaison-deliver.DE-BKA", "liaison-deliver.DE-BKA"}));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_NE(logged[0].find("\"group\":\"liaison-deliver.DE-BKA\""), std::string::npos) << logged[0];
  EXPECT_NE(logged[0].find("\"offsets\":1"), std::string::npos) << logged[0];
}

TEST(OffsetCommit, AnAcceptedCommitIsNotCounted) {
  GroupMember member;
  ASSERT_NO_FATAL_FAILURE(Join("t", "g", member));
  kafka::Consumer* consumer = member.consumer.get();
  // A member of the group once it has its partition (before that the
  // coordinator refuses: UNKNOWN_MEMBER_ID, counted like any refusal).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool assigned = false;
  while (!assigned && absl::Now() < deadline) {
    absl::StatusOr<kafka::PollResult> polled = consumer->Poll(absl::Milliseconds(100), 10);
    ASSERT_TRUE(polled.ok()) << polled.status();
    assigned = !polled->assigned.empty();
  }
  ASSERT_TRUE(assigned);
  CommitCounter observer;
  LIAISON_ASSERT_OK(CommitOffsets(*consumer, {{{"t", 0}, 0}}, CommitMode::kSync, "g", &observer));
  EXPECT_TRUE(observer.groups.empty());
}

}  // namespace
}  // namespace liaison::broker
