// RecordBatcher on librdkafka's mock cluster: a lone entry goes out at once
// and alone; entries added while a record is in flight go out together in
// the next one, every entry in exactly one record, every caller told.
#include "broker/core/record_batcher.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "base/testing/status_matchers.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/reader.h"
#include "gtest/gtest.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {
namespace {

constexpr char kTopic[] = "liaison.registry.ids";

struct Cluster {
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  kafka::ClientConfig config;
  std::unique_ptr<kafka::Producer> producer;
};

void StartCluster(Cluster& out) {
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> cluster =
      kafka::EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  out.cluster = *std::move(cluster);
  LIAISON_ASSERT_OK(out.cluster->CreateTopic(kTopic, 1, 1));
  out.config.bootstrap_servers = out.cluster->bootstrap_servers();
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(out.config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  out.producer = *std::move(producer);
}

liaison::v1::AcceptedId Id(int i) {
  liaison::v1::AcceptedId a;
  a.set_message_id("0190a2b4-0000-7000-8000-" + std::to_string(100000000000 + i));
  a.set_sender("RO-IGPR");
  a.set_partition(i % 6);
  a.set_offset(i);
  return a;
}

// Every record of the topic, parsed as a batch.
std::vector<liaison::v1::AcceptedIdBatch> Records(const Cluster& c) {
  absl::StatusOr<std::vector<kafka::Record>> records =
      kafka::ReadPartition(c.config, kTopic, 0, 0, kafka::kToEnd, absl::Seconds(10));
  EXPECT_TRUE(records.ok()) << records.status();
  std::vector<liaison::v1::AcceptedIdBatch> out;
  if (!records.ok()) return out;
  for (const kafka::Record& r : *records) {
    liaison::v1::AcceptedIdBatch batch;
    EXPECT_TRUE(batch.ParseFromString(r.value));
    EXPECT_EQ(r.key, batch.ids(0).message_id()) << "the key is the first entry's";
    out.push_back(std::move(batch));
  }
  return out;
}

TEST(RecordBatcher, EncodedEntriesParseAsTheRepeatedField) {
  const std::string value = RecordBatcher::Encode(
      liaison::v1::AcceptedIdBatch::kIdsFieldNumber,
      {Id(1).SerializeAsString(), Id(2).SerializeAsString(), Id(3).SerializeAsString()});
  liaison::v1::AcceptedIdBatch batch;
  ASSERT_TRUE(batch.ParseFromString(value));
  ASSERT_EQ(batch.ids_size(), 3);
  EXPECT_EQ(batch.ids(2).message_id(), Id(3).message_id());
  // A single entry of an earlier version parses as a batch of none.
  liaison::v1::AcceptedIdBatch old;
  ASSERT_TRUE(old.ParseFromString(Id(7).SerializeAsString()));
  EXPECT_EQ(old.ids_size(), 0);
}

TEST(RecordBatcher, ALoneEntryGoesAtOnceAndThoseAddedMeanwhileGoTogether) {
  Cluster c;
  ASSERT_NO_FATAL_FAILURE(StartCluster(c));
  RecordBatcher batcher(c.producer.get(),
                        {.topic = kTopic,
                         .field_number = liaison::v1::AcceptedIdBatch::kIdsFieldNumber,
                         .max_entries = 40});
  // A lone entry: written alone, its caller told.
  absl::Notification first;
  batcher.Add(Id(0).message_id(), Id(0).SerializeAsString(), [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    first.Notify();
  });
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(30)));

  // A slow broker keeps the next record in flight while 99 more are added.
  LIAISON_ASSERT_OK(c.cluster->SetBrokerRtt(1, 300));
  absl::Mutex mu;
  int answered = 0;
  int failed = 0;
  for (int i = 1; i <= 100; ++i) {
    batcher.Add(Id(i).message_id(), Id(i).SerializeAsString(), [&](absl::Status s) {
      absl::MutexLock lock(&mu);
      ++answered;
      failed += s.ok() ? 0 : 1;
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return answered == 100; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(60)));
    EXPECT_EQ(failed, 0);
  }
  // 1 + 1 (entry 1, sent at once) + 99 in records of at most 40: 5 records.
  const std::vector<liaison::v1::AcceptedIdBatch> records = Records(c);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].ids_size(), 1);
  EXPECT_EQ(records[1].ids_size(), 1);
  std::set<std::string> seen;
  size_t entries = 0;
  for (const liaison::v1::AcceptedIdBatch& r : records) {
    EXPECT_LE(r.ids_size(), 40);
    for (const liaison::v1::AcceptedId& a : r.ids()) {
      seen.insert(a.message_id());
      ++entries;
    }
  }
  EXPECT_EQ(entries, 101u) << "an entry written twice";
  EXPECT_EQ(seen.size(), 101u);
  EXPECT_EQ(batcher.records(), 5);
  EXPECT_EQ(batcher.entries(), 101);
}

}  // namespace
}  // namespace liaison::broker
