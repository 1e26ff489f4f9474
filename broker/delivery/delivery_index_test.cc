// The delivery index on librdkafka's mock cluster: FindIndexed names the
// entries of one recipient's lost range, and a record that is not an index
// record is skipped loudly (log and counter), not silently.
#include "broker/delivery/delivery_index.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "base/log.h"
#include "base/testing/status_matchers.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/producer.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

constexpr char kIndex[] = "liaison.index.deliver";

class SkipCounter final : public Observer {
 public:
  void OnStateRecordSkipped(const std::string& topic) override {
    absl::MutexLock lock(&mu_);
    topics_.push_back(topic);
  }
  std::vector<std::string> topics() const {
    absl::MutexLock lock(&mu_);
    return topics_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> topics_ ABSL_GUARDED_BY(mu_);
};

liaison::v1::DeliveryIndexEntry Entry(const std::string& recipient, int32_t partition,
                                      int64_t offset, const std::string& message_id) {
  liaison::v1::DeliveryIndexEntry e;
  e.set_recipient(recipient);
  e.set_partition(partition);
  e.set_offset(offset);
  e.set_item_id("d-" + message_id);
  e.set_message_id(message_id);
  e.set_sender("FR-PN");
  return e;
}

// A one-broker mock cluster with the index topic of `partitions` partitions.
void StartIndex(int partitions, std::unique_ptr<kafka::EmbeddedCluster>& cluster,
                kafka::ClientConfig& config) {
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> started =
      kafka::EmbeddedCluster::Start(1);
  ASSERT_TRUE(started.ok()) << started.status();
  cluster = *std::move(started);
  LIAISON_ASSERT_OK(cluster->CreateTopic(kIndex, partitions, 1));
  config.bootstrap_servers = cluster->bootstrap_servers();
  config.fetch_wait_max_ms = 5;
}

// Writes `values` to the index topic and waits for Kafka's acknowledgements.
void Write(const kafka::ClientConfig& config, const std::vector<std::string>& values) {
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::atomic<int> failed{0};
  for (const std::string& v : values) {
    (*producer)->Produce(kIndex, "", v, [&failed](const kafka::DeliveryReport& r) {
      if (!r.status.ok()) ++failed;
    });
  }
  LIAISON_ASSERT_OK((*producer)->Flush(absl::Seconds(30)));
  ASSERT_EQ(failed.load(), 0);
}

TEST(DeliveryIndex, FindsTheEntriesOfOneRecipientsRangeAndCountsUnreadableRecords) {
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  kafka::ClientConfig config;
  ASSERT_NO_FATAL_FAILURE(StartIndex(2, cluster, config));

  liaison::v1::DeliveryIndexRecord first;
  *first.add_entries() = Entry("DE-BKA", 0, 10, "m-10");
  *first.add_entries() = Entry("SE-NOA", 0, 11, "m-11");  // another recipient
  liaison::v1::DeliveryIndexRecord second;
  *second.add_entries() = Entry("DE-BKA", 0, 12, "m-12");
  *second.add_entries() = Entry("DE-BKA", 1, 12, "m-12b");  // another partition
  *second.add_entries() = Entry("DE-BKA", 0, 20, "m-20");   // past the range
  *second.add_entries() = Entry("DE-BKA", 0, 9, "m-9");     // before it
  Write(config,
        {first.SerializeAsString(), "\xff\xff not an index record", second.SerializeAsString()});

  absl::Mutex mu;
  std::vector<std::string> logged;
  log::SetSink([&](std::string_view line) {
    absl::MutexLock lock(&mu);
    if (line.find("delivery.unreadable_index_record") != std::string_view::npos) {
      logged.emplace_back(line);
    }
  });
  SkipCounter observer;
  absl::StatusOr<std::vector<liaison::v1::DeliveryIndexEntry>> found =
      FindIndexed(config, kIndex, "DE-BKA", 0, 10, 20, absl::Seconds(30), &observer);
  log::ResetSink();
  ASSERT_TRUE(found.ok()) << found.status();
  std::vector<std::string> ids;
  for (const liaison::v1::DeliveryIndexEntry& e : *found) ids.push_back(e.message_id());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, std::vector<std::string>({"m-10", "m-12"}));
  EXPECT_EQ(observer.topics(), std::vector<std::string>({kIndex}));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("\"offset\":"), std::string::npos) << logged[0];
  EXPECT_EQ(logged[0].find("not an index record"), std::string::npos) << "content was logged";
}

TEST(DeliveryIndex, AnEmptyIndexFindsNothing) {
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  kafka::ClientConfig config;
  ASSERT_NO_FATAL_FAILURE(StartIndex(1, cluster, config));
  absl::StatusOr<std::vector<liaison::v1::DeliveryIndexEntry>> found =
      FindIndexed(config, kIndex, "DE-BKA", 0, 0, 100, absl::Seconds(30));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->empty());
}

}  // namespace
}  // namespace liaison::broker
