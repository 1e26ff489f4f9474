// CreateTopics / PartitionCount, and how ClientConfig becomes librdkafka
// configuration (defaults, overrides, fixed settings).
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/internal/test_util.h"
#include "connectors/kafka/producer.h"

namespace liaison::kafka {
namespace {

using testing::MockConfig;

TEST(PartitionCount, CountsPartitionsAndReportsMissingTopicAsNotFound) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("six", 6).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  absl::StatusOr<int> n = PartitionCount(config, "six", absl::Seconds(10));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 6);
  // A topic whose metadata reports UNKNOWN_TOPIC_OR_PART is NotFound.
  ASSERT_TRUE((*cluster)->CreateTopic("gone", 1).ok());
  ASSERT_TRUE((*cluster)->SetTopicError("gone", KafkaError::kUnknownTopicOrPartition).ok());
  EXPECT_EQ(PartitionCount(config, "gone", absl::Seconds(10)).status().code(),
            absl::StatusCode::kNotFound);
}

// Pins a mock quirk: it speaks Metadata v0..v2 only, so the client cannot send
// allow.auto.create.topics=false and the mock creates any topic a client asks
// about, with 4 partitions. (A real cluster answers NotFound here.)
TEST(PartitionCount, MockCreatesUnknownTopicsOnMetadataRequest) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  absl::StatusOr<int> n = PartitionCount(config, "never-created", absl::Seconds(10));
  ASSERT_TRUE(n.ok()) << n.status()
                      << ": the mock now honours allow.auto.create.topics; "
                         "update this test and README.md";
  EXPECT_EQ(*n, 4);
}

TEST(CreateTopics, MockClusterDoesNotImplementIt) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  absl::Status s = CreateTopics(config, {TopicSpec{"t", 3, 1, {{"cleanup.policy", "compact"}}}},
                                absl::Seconds(1));
  // It waits for a controller the mock never names.
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(CreateTopics(config, {}, absl::Seconds(1)).ok());
}

TEST(ClientConfig, PropertiesMayNotWeakenLiaisonsGuarantees) {
  ClientConfig config = MockConfig("127.0.0.1:1");
  config.properties = {{"acks", "1"}};
  EXPECT_EQ(Producer::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.properties = {{"enable.idempotence", "false"}};
  EXPECT_EQ(Producer::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.properties = {{"auto.offset.reset", "earliest"}};
  EXPECT_EQ(Consumer::Create(config, testing::ReaderOptions("t")).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.properties = {{"enable.auto.commit", "true"}};
  EXPECT_EQ(Consumer::Create(config, testing::GroupOptions("g", "t")).status().code(),
            absl::StatusCode::kInvalidArgument);
  config.properties = {{"partition.assignment.strategy", "cooperative-sticky"}};
  EXPECT_EQ(Consumer::Create(config, testing::GroupOptions("g", "t")).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Restating a fixed value is fine.
  config.properties = {{"acks", "all"}};
  EXPECT_TRUE(Producer::Create(config).ok());
}

TEST(ClientConfig, BadPropertyIsInvalidArgumentWithoutEchoingTheValue) {
  ClientConfig config = MockConfig("127.0.0.1:1");
  config.properties = {{"linger.ms", "secret-looking-value"}};
  absl::Status s = Producer::Create(config).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "linger.ms")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "secret-looking-value")) << s;
  config.properties = {{"no.such.property", "x"}};
  EXPECT_EQ(Producer::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.properties = {};
  config.bootstrap_servers = "";
  EXPECT_EQ(Producer::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Consumer::Create(MockConfig("127.0.0.1:1"), ConsumerOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);  // no topics
}

}  // namespace
}  // namespace liaison::kafka
