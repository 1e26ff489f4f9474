// The state mirror against the embedded mock cluster: "caught up" means
// every partition read to the end it had at the start, also when one
// partition's leader answers slowly.
#include "broker/state/topic_mirror.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/testing/log_capture.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

kafka::ClientConfig MockClient(const std::string& bootstrap) {
  kafka::ClientConfig config;
  config.bootstrap_servers = bootstrap;
  config.client_id = "topic-mirror-test";
  config.fetch_wait_max_ms = 5;
  return config;
}

// A mock cluster of 3 with `topic` in 2 partitions, led by brokers 1 and 2.
void StartTwoLeaders(const std::string& topic, std::unique_ptr<kafka::EmbeddedCluster>& out) {
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> cluster =
      kafka::EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic(topic, 2).ok());
  ASSERT_TRUE((*cluster)->SetPartitionLeader(topic, 0, 1).ok());
  ASSERT_TRUE((*cluster)->SetPartitionLeader(topic, 1, 2).ok());
  out = *std::move(cluster);
}

// Counts the records applied, by partition.
class Applied {
 public:
  TopicMirror::Apply Callback() {
    return [this](const kafka::Record& r) {
      absl::MutexLock lock(&mu_);
      ++count_[r.partition];
    };
  }
  int Count(int32_t partition) {
    absl::MutexLock lock(&mu_);
    return count_[partition];
  }

 private:
  absl::Mutex mu_;
  std::map<int32_t, int> count_ ABSL_GUARDED_BY(mu_);
};

// Before, the mirror also declared itself caught up after five empty polls
// (half a second without a record): a node whose leader of one state
// partition was slow, or had just died, started serving with that partition
// half read (accepted ids, acknowledgements, sources, consents forgotten).
TEST(TopicMirror, IsCaughtUpOnlyWhenEveryPartitionIsReadToItsEndEvenBehindASlowLeader) {
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  const std::string topic = "liaison.registry.acks";
  ASSERT_NO_FATAL_FAILURE(StartTwoLeaders(topic, cluster));
  const kafka::ClientConfig config = MockClient(cluster->bootstrap_servers());

  // A few records in partition 0; in partition 1 more than one fetch
  // response carries (about 1 MiB), so that reading it takes several round
  // trips, and less than the mock keeps (about 5 MiB a partition).
  constexpr int kSmall = 3;
  constexpr int kLarge = 12;
  {
    absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(config);
    ASSERT_TRUE(producer.ok()) << producer.status();
    absl::Mutex mu;
    int failed = 0;
    auto report = [&](const kafka::DeliveryReport& r) {
      absl::MutexLock lock(&mu);
      if (!r.status.ok()) ++failed;
    };
    for (int i = 0; i < kSmall; ++i) {
      (*producer)->Produce(topic, absl::StrCat("a-", i), "small", report, /*partition=*/0);
    }
    for (int i = 0; i < kLarge; ++i) {
      (*producer)->Produce(topic, absl::StrCat("b-", i), std::string(300 * 1024, 'x'), report,
                           /*partition=*/1);
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
    absl::MutexLock lock(&mu);
    ASSERT_EQ(failed, 0);
  }
  // Partition 1's leader now answers every request 700 ms late.
  ASSERT_TRUE(cluster->SetBrokerRtt(2, 700).ok());

  Applied applied;
  TopicMirror mirror(config, topic, applied.Callback());
  ASSERT_TRUE(mirror.Start().ok());
  const absl::Status caught_up = mirror.WaitCaughtUp(absl::Seconds(120));
  ASSERT_TRUE(caught_up.ok()) << caught_up;
  EXPECT_EQ(applied.Count(0), kSmall);
  EXPECT_EQ(applied.Count(1), kLarge) << "caught up with partition 1 half read";
  mirror.Stop();
}

// A partition whose leader is down cannot be read: the wait says every
// 10 s how far it got and ends in DeadlineExceeded naming the topic, never
// in a node serving without it.
TEST(TopicMirror, AnUnreadablePartitionIsNotCaughtUpAndTheErrorSaysWhich) {
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  const std::string topic = "liaison.registry.ids";
  ASSERT_NO_FATAL_FAILURE(StartTwoLeaders(topic, cluster));
  const kafka::ClientConfig config = MockClient(cluster->bootstrap_servers());
  {
    absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(config);
    ASSERT_TRUE(producer.ok()) << producer.status();
    for (int p = 0; p < 2; ++p) {
      (*producer)->Produce(
          topic, "k", "v", [](const kafka::DeliveryReport&) {}, p);
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  }
  ASSERT_TRUE(cluster->SetBrokerDown(2).ok());

  Applied applied;
  TopicMirror mirror(config, topic, applied.Callback());
  ASSERT_TRUE(mirror.Start().ok());
  liaison::testing::LogCapture logs;
  const absl::Status caught_up = mirror.WaitCaughtUp(absl::Seconds(12));
  EXPECT_EQ(caught_up.code(), absl::StatusCode::kDeadlineExceeded) << caught_up;
  EXPECT_NE(caught_up.message().find(topic), std::string::npos) << caught_up;
  EXPECT_TRUE(logs.Has({"mirror.catching_up", topic, "\"waited_s\":10"}));

  // The leader back: the mirror reads the partition and is caught up.
  ASSERT_TRUE(cluster->SetBrokerUp(2).ok());
  const absl::Status later = mirror.WaitCaughtUp(absl::Seconds(60));
  ASSERT_TRUE(later.ok()) << later;
  EXPECT_EQ(applied.Count(0), 1);
  EXPECT_EQ(applied.Count(1), 1);
  mirror.Stop();
}

}  // namespace
}  // namespace liaison::broker
