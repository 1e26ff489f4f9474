#include "connectors/kafka/embedded_cluster.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace liaison::kafka {
namespace {

TEST(EmbeddedCluster, StartsBrokersOnLoopbackPorts) {
  absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  std::vector<std::string> brokers = absl::StrSplit((*cluster)->bootstrap_servers(), ',');
  ASSERT_EQ(brokers.size(), 3u);
  for (const std::string& b : brokers) EXPECT_TRUE(absl::StartsWith(b, "127.0.0.1:")) << b;
}

TEST(EmbeddedCluster, RejectsZeroBrokers) {
  EXPECT_EQ(EmbeddedCluster::Start(0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EmbeddedCluster, CreatingATopicTwiceIsAlreadyExists) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 2).ok());
  EXPECT_EQ((*cluster)->CreateTopic("t", 2).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*cluster)->CreateTopic("u", 0).code(), absl::StatusCode::kInvalidArgument);
}

TEST(EmbeddedCluster, FaultInjectionRefusesUnknownBrokersTopicsAndPartitions) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  EmbeddedCluster& c = **cluster;
  ASSERT_TRUE(c.CreateTopic("t", 2).ok());
  EXPECT_EQ(c.SetBrokerDown(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.SetBrokerUp(4).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.SetBrokerRtt(1, -1).code(), absl::StatusCode::kInvalidArgument);
  // The mock itself would silently create these topics.
  EXPECT_EQ(c.SetPartitionLeader("typo", 0, 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c.SetTopicError("typo", KafkaError::kLeaderNotAvailable).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(c.SetPartitionLeader("t", 2, 1).code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(c.SetBrokerDown(2).ok());
  EXPECT_TRUE(c.SetBrokerUp(2).ok());
  EXPECT_TRUE(c.SetBrokerRtt(3, 10).ok());
  EXPECT_TRUE(c.SetPartitionLeader("t", 1, 3).ok());
  EXPECT_TRUE(c.SetTopicError("t", KafkaError::kLeaderNotAvailable).ok());
  EXPECT_TRUE(c.ClearTopicError("t").ok());
  EXPECT_TRUE(c.PushRequestErrors(ApiKey::kFetch, {KafkaError::kRequestTimedOut}).ok());
}

}  // namespace
}  // namespace liaison::kafka
