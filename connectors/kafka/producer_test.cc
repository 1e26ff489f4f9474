#include "connectors/kafka/producer.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/log.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/internal/test_util.h"

namespace liaison::kafka {
namespace {

using testing::LogCapture;
using testing::MockConfig;
using testing::Polled;
using testing::PollUntil;
using testing::ReaderOptions;
using testing::Reports;

std::string BrokerAddress(const EmbeddedCluster& cluster, int32_t broker_id) {
  std::vector<std::string> brokers = absl::StrSplit(cluster.bootstrap_servers(), ',');
  return brokers.at(broker_id - 1);
}

TEST(Producer, ReportCarriesPartitionAndOffsetAndBytesArriveIntact) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 2).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();

  // 4 MiB of random bytes: the value is moved in, not copied, and must reach
  // the broker unchanged.
  std::string big(4 << 20, '\0');
  std::mt19937_64 rng(42);
  for (char& c : big) c = static_cast<char>(rng());
  const std::string expected = big;
  Reports reports;
  (*producer)->Produce("t", "k", std::move(big), reports.Callback(), 1,
                       {{"trace", "abc"}, {"empty", ""}});
  (*producer)->Produce("t", "", "small", reports.Callback(), 1);
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(20)).ok());
  std::vector<DeliveryReport> got = reports.Get();
  ASSERT_EQ(got.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(got[i].status.ok()) << got[i].status;
    EXPECT_EQ(got[i].topic, "t");
    EXPECT_EQ(got[i].partition, 1);
    EXPECT_EQ(got[i].offset, i);
  }
  EXPECT_EQ((*producer)->outstanding(), 0);
  EXPECT_NE(reports.Threads()[0], std::this_thread::get_id());

  auto reader = Consumer::Create(config, ReaderOptions("t"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  Polled polled;
  ASSERT_TRUE(PollUntil(**reader, polled, [](const Polled& p) { return p.records.size() >= 2; }));
  ASSERT_EQ(polled.records.size(), 2u);
  const Record& r = polled.records[0];
  EXPECT_EQ(r.partition, 1);
  EXPECT_EQ(r.offset, 0);
  EXPECT_EQ(r.key, "k");
  EXPECT_TRUE(r.value == expected) << "value bytes differ";
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].key, "trace");
  EXPECT_EQ(r.headers[0].value, "abc");
  EXPECT_EQ(r.headers[1].key, "empty");
  EXPECT_EQ(r.headers[1].value, "");
  EXPECT_GT(r.timestamp, absl::Now() - absl::Minutes(1));
  EXPECT_EQ(polled.records[1].key, "");  // no key
  EXPECT_EQ(polled.records[1].value, "small");
}

// A compacted topic's delete marker: a null value, told apart from an empty
// one by the consumer (the linkage index withdraws entries this way).
// The producers' request timeout (15 s: a node gone silent is left for
// another) stays within what librdkafka accepts for a transactional
// producer, at most its transaction timeout: a 10 s transaction timeout,
// the broker's, used to fail every real-Kafka start of the policy stage.
TEST(Producer, ATransactionalProducerWithAShortTransactionTimeoutIsCreated) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  for (int timeout_ms : {1000, 10000, 60000}) {
    ProducerOptions options;
    options.transactional_id = absl::StrCat("t.txn.", timeout_ms);
    options.transaction_timeout_ms = timeout_ms;
    auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()), options);
    EXPECT_TRUE(producer.ok()) << timeout_ms << " ms: " << producer.status();
  }
}

TEST(Producer, TombstoneArrivesAsANullValueDistinctFromAnEmptyOne) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Reports reports;
  (*producer)->Produce("t", "k", "", reports.Callback());
  (*producer)->ProduceTombstone("t", "k", reports.Callback());
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(20)).ok());
  for (const DeliveryReport& r : reports.Get()) EXPECT_TRUE(r.status.ok()) << r.status;

  auto reader = Consumer::Create(config, ReaderOptions("t"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  Polled polled;
  ASSERT_TRUE(PollUntil(**reader, polled, [](const Polled& p) { return p.records.size() >= 2; }));
  ASSERT_EQ(polled.records.size(), 2u);
  EXPECT_FALSE(polled.records[0].tombstone) << "an empty value is not a tombstone";
  EXPECT_TRUE(polled.records[1].tombstone);
  EXPECT_EQ(polled.records[1].key, "k");
  EXPECT_EQ(polled.records[1].value, "");
}

TEST(Producer, ConcurrentCallersEachGetExactlyOneReportPerRecord) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 3).ok());
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()));
  ASSERT_TRUE(producer.ok());
  Reports reports;
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        (*producer)->Produce("t", absl::StrCat(t), absl::StrCat(t, "-", i), reports.Callback());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(20)).ok());
  EXPECT_EQ((*producer)->outstanding(), 0);
  std::vector<DeliveryReport> got = reports.Get();
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::pair<int32_t, int64_t>> positions;
  for (const DeliveryReport& r : got) {
    ASSERT_TRUE(r.status.ok()) << r.status;
    positions.insert({r.partition, r.offset});
  }
  EXPECT_EQ(positions.size(), got.size());
}

TEST(Producer, LeaderDownUntilTheMessageTimeoutReportsUnavailable) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ASSERT_TRUE((*cluster)->SetPartitionLeader("t", 0, 1).ok());
  ASSERT_TRUE((*cluster)->SetBrokerDown(1).ok());
  ProducerOptions options;
  options.message_timeout_ms = 1000;
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()), options);
  ASSERT_TRUE(producer.ok());
  Reports reports;
  (*producer)->Produce("t", "k", "v", reports.Callback());
  std::vector<DeliveryReport> got = reports.WaitFor(1, absl::Seconds(10));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), absl::StatusCode::kUnavailable) << got[0].status;
  EXPECT_FALSE(got[0].possibly_persisted);  // never reached the broker
  EXPECT_EQ(got[0].offset, -1);
}

TEST(Producer, LeaderBackBeforeTheMessageTimeoutDelivers) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ASSERT_TRUE((*cluster)->SetPartitionLeader("t", 0, 1).ok());
  ASSERT_TRUE((*cluster)->SetBrokerDown(1).ok());
  LogCapture logs;
  ProducerOptions options;
  options.message_timeout_ms = 15000;
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()), options);
  ASSERT_TRUE(producer.ok());
  Reports reports;
  (*producer)->Produce("t", "k", "v", reports.Callback());
  // The client has tried the leader and been refused.
  ASSERT_TRUE(logs.WaitFor({BrokerAddress(**cluster, 1), "Connection refused"}, absl::Seconds(10)));
  EXPECT_TRUE(reports.Get().empty());
  ASSERT_TRUE((*cluster)->SetBrokerUp(1).ok());
  std::vector<DeliveryReport> got = reports.WaitFor(1, absl::Seconds(14));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].status.ok()) << got[0].status;
  EXPECT_EQ(got[0].offset, 0);
}

TEST(Producer, InjectedProduceErrorsStillDeliverEachRecordExactlyOnce) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 3).ok());
  ASSERT_TRUE(
      (*cluster)
          ->PushRequestErrors(ApiKey::kProduce,
                              {KafkaError::kNotLeaderForPartition, KafkaError::kRequestTimedOut,
                               KafkaError::kTransport, KafkaError::kNotEnoughReplicas})
          .ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  Reports reports;
  constexpr int kRecords = 60;
  for (int i = 0; i < kRecords; ++i) {
    (*producer)->Produce("t", absl::StrCat("key-", i % 7), absl::StrCat("value-", i),
                         reports.Callback());
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  std::vector<DeliveryReport> got = reports.Get();
  ASSERT_EQ(got.size(), static_cast<size_t>(kRecords));
  std::map<int32_t, int64_t> per_partition;
  for (const DeliveryReport& r : got) {
    ASSERT_TRUE(r.status.ok()) << r.status;
    ++per_partition[r.partition];
  }

  auto reader = Consumer::Create(config, ReaderOptions("t"));
  ASSERT_TRUE(reader.ok());
  // Nothing was written twice: each partition holds exactly its records.
  for (const auto& [partition, count] : per_partition) {
    auto marks = (*reader)->Watermarks({"t", partition}, absl::Seconds(5));
    ASSERT_TRUE(marks.ok()) << marks.status();
    EXPECT_EQ(marks->first, 0);
    EXPECT_EQ(marks->second, count) << "partition " << partition;
  }
  Polled polled;
  ASSERT_TRUE(
      PollUntil(**reader, polled, [](const Polled& p) { return p.records.size() >= kRecords; }));
  std::set<std::string> values;
  for (const Record& r : polled.records) values.insert(r.value);
  EXPECT_EQ(values.size(), static_cast<size_t>(kRecords));
}

// Waits up to 10 s for the producer to have replaced its instance `n` times.
bool WaitRecreated(const Producer& producer, int64_t n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (producer.recreated() < n) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// A Kafka node killed during a flood left a node's idempotent producer out of
// step with the new partition leader (OUT_OF_ORDER_SEQUENCE_NUMBER, fatal in
// librdkafka): every later record of that node failed with Internal until the
// process was restarted (faults.soak_short lost the acknowledgements taken
// there). The producer now replaces its librdkafka instance: the records
// caught in the failure report Unavailable, possibly persisted (the caller
// sends them again), and the next ones are delivered.
TEST(Producer, AFatalIdempotenceErrorIsClearedByANewInstance) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  LogCapture log_lines;
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()));
  ASSERT_TRUE(producer.ok()) << producer.status();
  Reports before;
  for (int i = 0; i < 5; ++i) {
    (*producer)->Produce("t", "k", absl::StrCat("before-", i), before.Callback());
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(20)).ok());
  for (const DeliveryReport& r : before.Get()) ASSERT_TRUE(r.status.ok()) << r.status;

  // OUT_OF_ORDER_SEQUENCE_NUMBER on the head request: librdkafka can no longer
  // reason about the sequence and raises a fatal error.
  ASSERT_TRUE((*cluster)
                  ->PushRequestErrors(ApiKey::kProduce, {KafkaError::kOutOfOrderSequenceNumber})
                  .ok());
  Reports caught;
  (*producer)->Produce("t", "k", "caught", caught.Callback());
  std::vector<DeliveryReport> got = caught.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(absl::IsUnavailable(got[0].status)) << got[0].status;
  EXPECT_TRUE(got[0].possibly_persisted);
  EXPECT_TRUE(absl::StrContains(got[0].status.message(), "OUT_OF_ORDER_SEQUENCE_NUMBER"))
      << got[0].status;
  EXPECT_TRUE(absl::StrContains(got[0].status.message(), "send it again")) << got[0].status;
  ASSERT_TRUE(WaitRecreated(**producer, 1)) << log_lines.Text();

  Reports after;
  for (int i = 0; i < 20; ++i) {
    (*producer)->Produce("t", "k", absl::StrCat("after-", i), after.Callback());
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  got = after.Get();
  ASSERT_EQ(got.size(), 20u);
  for (const DeliveryReport& r : got) EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_FALSE((*producer)->Fatal());
  EXPECT_EQ((*producer)->recreated(), 1);
  EXPECT_TRUE(log_lines.Has({"\"level\":\"error\"", "kafka.producer.fatal",
                             "OUT_OF_ORDER_SEQUENCE_NUMBER", "a new producer takes the next ones"}))
      << log_lines.Text();
  EXPECT_TRUE(log_lines.Has({"kafka.producer.recreated"})) << log_lines.Text();
  EXPECT_EQ((*producer)->outstanding(), 0);
}

// Records produced while the failure is being handled: each reported once,
// delivered or Unavailable and possibly persisted, never Internal.
TEST(Producer, RecordsCaughtInAFatalErrorAskToBeSentAgain) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 3).ok());
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()));
  ASSERT_TRUE(producer.ok()) << producer.status();
  (*producer)->FailFatallyForTest(static_cast<int>(KafkaError::kOutOfOrderSequenceNumber));
  Reports caught;
  for (int i = 0; i < 50; ++i) {
    (*producer)->Produce("t", "k", absl::StrCat("caught-", i), caught.Callback());
  }
  ASSERT_TRUE(WaitRecreated(**producer, 1));
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  std::vector<DeliveryReport> got = caught.Get();
  ASSERT_EQ(got.size(), 50u);
  for (const DeliveryReport& r : got) {
    if (r.status.ok()) continue;
    EXPECT_TRUE(absl::IsUnavailable(r.status)) << r.status;
    EXPECT_TRUE(r.possibly_persisted);
  }
}

// A new producer would be refused alike: no replacement, Internal as before.
TEST(Producer, ARefusedAuthorisationIsNotAnsweredWithANewInstance) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()));
  ASSERT_TRUE(producer.ok()) << producer.status();
  (*producer)->FailFatallyForTest(static_cast<int>(KafkaError::kClusterAuthorizationFailed));
  Reports reports;
  (*producer)->Produce("t", "k", "v", reports.Callback());
  std::vector<DeliveryReport> got = reports.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(absl::IsInternal(got[0].status)) << got[0].status;
  absl::SleepFor(absl::Milliseconds(600));  // a poller round
  EXPECT_EQ((*producer)->recreated(), 0);
  EXPECT_TRUE((*producer)->Fatal());
}

// A cause a new instance does not clear cannot make the producer loop: after
// five replacements within ten minutes it stays failed, with Internal.
TEST(Producer, AProducerIsReplacedAtMostFiveTimesWithinTenMinutes) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  LogCapture log_lines;
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()));
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (int i = 1; i <= 5; ++i) {
    (*producer)->FailFatallyForTest(static_cast<int>(KafkaError::kOutOfOrderSequenceNumber));
    ASSERT_TRUE(WaitRecreated(**producer, i)) << log_lines.Text();
  }
  (*producer)->FailFatallyForTest(static_cast<int>(KafkaError::kOutOfOrderSequenceNumber));
  EXPECT_TRUE(log_lines.WaitFor({"kafka.producer.fatal", "not replaced"}, absl::Seconds(10)))
      << log_lines.Text();
  Reports reports;
  (*producer)->Produce("t", "k", "v", reports.Callback());
  std::vector<DeliveryReport> got = reports.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(absl::IsInternal(got[0].status)) << got[0].status;
  EXPECT_EQ((*producer)->recreated(), 5);
}

TEST(Producer, FullQueueReportsResourceExhaustedThroughTheCallback) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ProducerOptions options;
  options.linger_ms = 5000;  // nothing leaves the queue on its own meanwhile
  options.queue_max_messages = 5;
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()), options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Reports reports;
  for (int i = 0; i < 6; ++i) (*producer)->Produce("t", "", "v", reports.Callback());
  std::vector<DeliveryReport> got = reports.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), absl::StatusCode::kResourceExhausted) << got[0].status;
  EXPECT_NE(reports.Threads()[0], std::this_thread::get_id());
  // Flush sends lingering batches at once.
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(4)).ok());
  got = reports.Get();
  ASSERT_EQ(got.size(), 6u);
  for (size_t i = 1; i < got.size(); ++i) EXPECT_TRUE(got[i].status.ok()) << got[i].status;
}

TEST(Producer, RecordLargerThanTheLimitIsInvalidArgument) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ProducerOptions options;
  options.max_message_bytes = 1000;
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()), options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Reports reports;
  (*producer)->Produce("t", "", std::string(2000, 'x'), reports.Callback());
  std::vector<DeliveryReport> got = reports.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), absl::StatusCode::kInvalidArgument) << got[0].status;
  // outstanding() counts a record until its callback has returned.
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(5)).ok());
  EXPECT_EQ((*producer)->outstanding(), 0);
}

// (An authorisation error injected with SetTopicError does not fail records
// on the mock: librdkafka ignores the partition-less metadata and the records
// time out as Unavailable. PermissionDenied is covered in errors_test.cc.)
TEST(Producer, UnknownTopicIsNotFound) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("gone", 1).ok());
  ASSERT_TRUE((*cluster)->SetTopicError("gone", KafkaError::kUnknownTopicOrPartition).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  // How long librdkafka waits for a new topic to appear before failing.
  config.properties["topic.metadata.propagation.max.ms"] = "50";
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Reports reports;
  (*producer)->Produce("gone", "", "v", reports.Callback());
  ASSERT_EQ(reports.WaitFor(1).size(), 1u);
  // Now librdkafka knows: produce() itself refuses, still through the callback.
  (*producer)->Produce("gone", "", "v", reports.Callback());
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  std::vector<DeliveryReport> got = reports.Get();
  ASSERT_EQ(got.size(), 2u);
  for (const DeliveryReport& r : got) {
    EXPECT_EQ(r.status.code(), absl::StatusCode::kNotFound) << r.status;
  }
}

TEST(Producer, DestructorDeliversLingeringRecordsBeforeReturning) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ProducerOptions options;
  options.linger_ms = 5000;
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()), options);
  ASSERT_TRUE(producer.ok());
  Reports reports;
  for (int i = 0; i < 3; ++i) (*producer)->Produce("t", "", "v", reports.Callback());
  const absl::Time start = absl::Now();
  producer->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));  // did not wait out linger.ms
  std::vector<DeliveryReport> got = reports.Get();
  ASSERT_EQ(got.size(), 3u);
  for (const DeliveryReport& r : got) EXPECT_TRUE(r.status.ok()) << r.status;
}

TEST(Producer, DestructorRunsEveryOutstandingCallbackWhenDeliveryIsImpossible) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ASSERT_TRUE((*cluster)->SetPartitionLeader("t", 0, 1).ok());
  ASSERT_TRUE((*cluster)->SetBrokerDown(1).ok());
  ProducerOptions options;
  options.message_timeout_ms = 60000;
  options.shutdown_flush_ms = 300;
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()), options);
  ASSERT_TRUE(producer.ok());
  Reports reports;
  for (int i = 0; i < 3; ++i) (*producer)->Produce("t", "", "v", reports.Callback());
  EXPECT_EQ((*producer)->outstanding(), 3);
  EXPECT_EQ((*producer)->Flush(absl::Milliseconds(50)).code(), absl::StatusCode::kDeadlineExceeded);
  producer->reset();
  std::vector<DeliveryReport> got = reports.Get();
  ASSERT_EQ(got.size(), 3u);
  for (const DeliveryReport& r : got) {
    EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  }
}

}  // namespace
}  // namespace liaison::kafka
