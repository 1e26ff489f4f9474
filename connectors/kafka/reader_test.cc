#include "connectors/kafka/reader.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/internal/test_util.h"
#include "connectors/kafka/producer.h"

namespace liaison::kafka {
namespace {

using testing::MockConfig;
using testing::Reports;

// 20 records into partition 1 of "chain" (values v0..v19), none into 0.
class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic("chain", 2).ok());
    config_ = MockConfig(cluster_->bootstrap_servers());
    auto producer = Producer::Create(config_);
    ASSERT_TRUE(producer.ok()) << producer.status();
    Reports reports;
    for (int i = 0; i < 20; ++i) {
      (*producer)->Produce("chain", "k", absl::StrCat("v", i), reports.Callback(), /*partition=*/1);
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
    for (const DeliveryReport& r : reports.Get()) ASSERT_TRUE(r.status.ok()) << r.status;
  }

  std::unique_ptr<EmbeddedCluster> cluster_;
  ClientConfig config_;
};

TEST_F(ReaderTest, ReadsExactlyTheAskedRange) {
  auto range = ReadPartition(config_, "chain", 1, 5, 9, absl::Seconds(10));
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->size(), 4u);
  for (size_t i = 0; i < range->size(); ++i) {
    EXPECT_EQ((*range)[i].offset, static_cast<int64_t>(5 + i));
    EXPECT_EQ((*range)[i].value, absl::StrCat("v", 5 + i));
    EXPECT_EQ((*range)[i].partition, 1);
    EXPECT_EQ((*range)[i].topic, "chain");
  }
  auto all = ReadPartition(config_, "chain", 1, 0, kToEnd, absl::Seconds(10));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 20u);
}

TEST_F(ReaderTest, NegativeFromCountsBackAndReadLastGivesTheLastRecord) {
  auto tail = ReadPartition(config_, "chain", 1, -3, kToEnd, absl::Seconds(10));
  ASSERT_TRUE(tail.ok()) << tail.status();
  ASSERT_EQ(tail->size(), 3u);
  EXPECT_EQ(tail->front().value, "v17");
  auto last = ReadLast(config_, "chain", 1, absl::Seconds(10));
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->value, "v19");
  EXPECT_EQ((*last)->offset, 19);
}

TEST_F(ReaderTest, AnEmptyPartitionHasNoLastRecord) {
  auto last = ReadLast(config_, "chain", 0, absl::Seconds(10));
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_FALSE(last->has_value());
}

// (A missing topic cannot be shown on the mock: it creates topics on
// demand, README.md.)
TEST_F(ReaderTest, AMissingPartitionIsAnErrorNotAnEmptyRange) {
  auto range = ReadPartition(config_, "chain", 7, 0, kToEnd, absl::Seconds(5));
  EXPECT_FALSE(range.ok());
}

// Readers are short-lived and made often (audit reads, chain heads). Each
// one is a client without a consumer group: with a group, librdkafka 2.0.2
// could abort on destroy (the coordinator's teardown raced the terminating
// broker threads: rd_kafka_broker_destroy_final's thread assertion). Many
// create/read/destroy cycles in a row, every one complete.
TEST_F(ReaderTest, ManyShortLivedReadersInARow) {
  for (int i = 0; i < 60; ++i) {
    auto last = ReadLast(config_, "chain", 1, absl::Seconds(10));
    ASSERT_TRUE(last.ok()) << "cycle " << i << ": " << last.status();
    ASSERT_TRUE(last->has_value());
    ASSERT_EQ((*last)->value, "v19");
  }
}

TEST_F(ReaderTest, RecordReaderReadsSingleRecordsByPositionOnOneClient) {
  auto reader = RecordReader::Create(config_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (int64_t offset : {7, 3, 19, 0, 7}) {  // any order, the same one twice
    auto r = (*reader)->Read("chain", 1, offset, absl::Seconds(10));
    ASSERT_TRUE(r.ok()) << offset << ": " << r.status();
    EXPECT_EQ(r->offset, offset);
    EXPECT_EQ(r->partition, 1);
    EXPECT_EQ(r->value, absl::StrCat("v", offset));
  }
}

TEST_F(ReaderTest, RecordsCarryTheirHeaders) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Reports reports;
  (*producer)->Produce("chain", "k", "with-headers", reports.Callback(), /*partition=*/0,
                       {{"chunk", "7"}, {"empty", ""}});
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  auto reader = RecordReader::Create(config_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (const Record& r : {*(*reader)->Read("chain", 0, 0, absl::Seconds(10)),
                          (*ReadPartition(config_, "chain", 0, 0, kToEnd, absl::Seconds(10)))[0]}) {
    ASSERT_EQ(r.headers.size(), 2u);
    EXPECT_EQ(r.headers[0].key, "chunk");
    EXPECT_EQ(r.headers[0].value, "7");
    EXPECT_EQ(r.headers[1].key, "empty");
  }
}

TEST_F(ReaderTest, RecordReaderSaysNotFoundForAnOffsetNeverWritten) {
  auto reader = RecordReader::Create(config_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto r = (*reader)->Read("chain", 1, 20, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find("chain/1@20"), std::string::npos) << r.status();
  auto empty = (*reader)->Read("chain", 0, 0, absl::Seconds(5));
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kNotFound) << empty.status();
}

TEST_F(ReaderTest, ReadEachAnswersEveryOffsetOnceInAscendingOrder) {
  auto reader = RecordReader::Create(config_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<std::pair<int64_t, std::string>> got;  // offset, value or error code
  (*reader)->ReadEach(
      "chain", 1, {17, 2, 9, 2, 25, 9}, absl::Seconds(10),
      [&](int64_t offset, absl::StatusOr<Record> r) {
        got.push_back(
            {offset, r.ok() ? r->value : std::string(absl::StatusCodeToString(r.status().code()))});
      });
  const std::vector<std::pair<int64_t, std::string>> want = {
      {2, "v2"}, {9, "v9"}, {17, "v17"}, {25, "NOT_FOUND"}};
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace liaison::kafka
