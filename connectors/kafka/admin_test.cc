// CreateTopics / PartitionCount, and how ClientConfig becomes librdkafka
// configuration (defaults, overrides, fixed settings).
#include <gtest/gtest.h>

#include <atomic>

#include "absl/strings/match.h"
#include "connectors/kafka/admin.h"
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

// librdkafka 2.0.2's mock has no DeleteRecords handler: the request is
// refused as not supported (the evidence keeper reports it; docs/evidence.md).
// Watermarks and the offset at a time work there.
TEST(RecordDeleter, MockClusterDoesNotImplementDeleteRecords) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("chunks", 1).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::atomic<int> acked{0};
  for (int i = 0; i < 3; ++i) {
    (*producer)->Produce("chunks", "k", "v", [&acked](const DeliveryReport& r) {
      if (r.status.ok()) ++acked;
    });
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  ASSERT_EQ(acked.load(), 3);
  auto deleter = RecordDeleter::Create(config);
  ASSERT_TRUE(deleter.ok()) << deleter.status();
  const TopicPartition tp{"chunks", 0};
  auto marks = (*deleter)->Watermarks(tp, absl::Seconds(10));
  ASSERT_TRUE(marks.ok()) << marks.status();
  EXPECT_EQ(*marks, std::make_pair(int64_t{0}, int64_t{3}));
  auto future = (*deleter)->OffsetAtTime(tp, absl::Now() + absl::Hours(1), absl::Seconds(10));
  ASSERT_TRUE(future.ok()) << future.status();
  EXPECT_EQ(*future, 3);  // no record that recent: the high watermark
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  // librdkafka 2.0.2's client leaks an allocation (176 bytes, inside
  // librdkafka) when the mock refuses DeleteRecords; the broker never asks the
  // mock (EvidenceKeeperDeps::embedded_kafka). Pinned in the plain build only.
  GTEST_SKIP() << "DeleteRecords refused by the mock: librdkafka leaks on it";
#endif
#endif
  absl::StatusOr<int64_t> deleted = (*deleter)->DeleteBefore(tp, 2, absl::Seconds(5));
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kUnimplemented) << deleted.status();
  EXPECT_TRUE(absl::StrContains(deleted.status().message(), "chunks partition 0"))
      << deleted.status();
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
