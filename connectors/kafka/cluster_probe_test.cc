// ClusterProbe against the mock cluster: reachability, record counts and a
// consumer group's lag before and after it commits.
#include "connectors/kafka/cluster_probe.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/internal/test_util.h"
#include "connectors/kafka/producer.h"

namespace liaison::kafka {
namespace {

using testing::MockConfig;

TEST(ClusterProbe, CountsRecordsAndGroupLagUntilTheGroupCommits) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("probed", 2).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto probe = ClusterProbe::Create(config);
  ASSERT_TRUE(probe.ok()) << probe.status();

  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  testing::Reports reports;
  for (int i = 0; i < 5; ++i) {
    (*producer)->Produce("probed", "", "v", reports.Callback(), i % 2);
  }
  ASSERT_EQ(reports.WaitFor(5).size(), 5u);

  absl::StatusOr<int> partitions = (*probe)->Partitions("probed", absl::Seconds(5));
  ASSERT_TRUE(partitions.ok()) << partitions.status();
  EXPECT_EQ(*partitions, 2);
  absl::StatusOr<int64_t> records = (*probe)->Records("probed", absl::Seconds(5));
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(*records, 5);
  absl::StatusOr<int64_t> written = (*probe)->Written("probed", absl::Seconds(5));
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 5);
  // A group that never committed is behind by everything present.
  absl::StatusOr<int64_t> lag = (*probe)->GroupLag("readers", "probed", absl::Seconds(5));
  ASSERT_TRUE(lag.ok()) << lag.status();
  EXPECT_EQ(*lag, 5);

  auto consumer = Consumer::Create(config, testing::GroupOptions("readers", "probed"));
  ASSERT_TRUE(consumer.ok());
  testing::Polled polled;
  ASSERT_TRUE(testing::PollUntil(**consumer, polled,
                                 [](const testing::Polled& p) { return p.records.size() >= 5; }));
  // Commit partition 0 completely (3 records) and nothing of partition 1.
  ASSERT_TRUE((*consumer)->CommitSync({{{"probed", 0}, 3}}).ok());
  lag = (*probe)->GroupLag("readers", "probed", absl::Seconds(5));
  ASSERT_TRUE(lag.ok()) << lag.status();
  EXPECT_EQ(*lag, 2);
  ASSERT_TRUE((*consumer)->Close().ok());
}

// librdkafka 2.0.2's Admin API (ListConsumerGroupOffsets) aborts the process
// when a broker goes away while a request is outstanding
// (confluentinc/librdkafka#3663, #4605). The probe must survive brokers going
// down and up under it: a Kafka node restart must never take a Liaison node
// down.
TEST(ClusterProbe, SurvivesBrokersGoingDownAndUpWhileProbing) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("flaky", 3).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto probe = ClusterProbe::Create(config);
  ASSERT_TRUE(probe.ok()) << probe.status();
  for (int round = 0; round < 6; ++round) {
    const int32_t broker = 1 + round % 3;
    ASSERT_TRUE((*cluster)->SetBrokerDown(broker).ok());
    for (int i = 0; i < 3; ++i) {
      // Any answer is fine (the figures may be unknown); the process lives.
      (void)(*probe)->GroupLag("some-group", "flaky", absl::Milliseconds(300));
      (void)(*probe)->Records("flaky", absl::Milliseconds(300));
    }
    ASSERT_TRUE((*cluster)->SetBrokerUp(broker).ok());
  }
  // And it answers again once every broker is back: after six rounds of
  // outages librdkafka's reconnect backoff (growing to
  // reconnect.backoff.max.ms, 10 s) can make the first questions time out on
  // a loaded machine, so it is asked until a deadline, not once.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  absl::StatusOr<int64_t> lag = absl::UnavailableError("not asked");
  while (!lag.ok() && absl::Now() < deadline) {
    lag = (*probe)->GroupLag("some-group", "flaky", absl::Seconds(10));
  }
  EXPECT_TRUE(lag.ok()) << lag.status();
}

TEST(ClusterProbe, UnreachableClusterIsAnErrorNotAHang) {
  ClientConfig config = MockConfig("127.0.0.1:1");
  auto probe = ClusterProbe::Create(config);
  ASSERT_TRUE(probe.ok()) << probe.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<int> partitions = (*probe)->Partitions("any", absl::Milliseconds(500));
  EXPECT_FALSE(partitions.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace liaison::kafka
