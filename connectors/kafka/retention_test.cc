// Data deleted by retention before a consumer read it is reported as a Gap,
// never skipped silently. The mock keeps at most 5 MiB per partition
// (hard-coded in librdkafka 2.0.2), so a few 1 MiB records push old ones out.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "absl/strings/str_cat.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/embedded_cluster.h"
#include "connectors/kafka/internal/test_util.h"
#include "connectors/kafka/producer.h"

namespace liaison::kafka {
namespace {

using testing::GroupOptions;
using testing::LogCapture;
using testing::MockConfig;
using testing::Polled;
using testing::PollUntil;
using testing::Reports;

constexpr size_t kMiB = 1 << 20;

std::string BigValue(int i) {
  std::string v = absl::StrCat("record-", i, "-");
  v.resize(kMiB, static_cast<char>('a' + i % 26));
  return v;
}

// Produces records [first, first + n) of BigValue to partition 0 of `topic`.
void ProduceBig(Producer& producer, const std::string& topic, int first, int n) {
  Reports reports;
  for (int i = first; i < first + n; ++i) {
    producer.Produce(topic, "", BigValue(i), reports.Callback(), 0);
  }
  std::vector<DeliveryReport> got = reports.WaitFor(n, absl::Seconds(30));
  ASSERT_EQ(got.size(), static_cast<size_t>(n));
  for (const DeliveryReport& r : got) ASSERT_TRUE(r.status.ok()) << r.status;
}

TEST(Retention, FreshGroupReportsTheGapFromOffsetZeroThenReadsTheRest) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  ProduceBig(**producer, "t", 0, 7);

  LogCapture logs;
  auto consumer = Consumer::Create(config, GroupOptions("fresh", "t"));
  ASSERT_TRUE(consumer.ok());
  auto marks = (*consumer)->Watermarks({"t", 0}, absl::Seconds(5));
  ASSERT_TRUE(marks.ok()) << marks.status();
  const int64_t low = marks->first;
  ASSERT_GT(low, 0) << "the mock kept everything: retention changed?";
  ASSERT_EQ(marks->second, 7);

  Polled polled;
  ASSERT_TRUE(PollUntil(**consumer, polled, [](const Polled& p) {
    return !p.records.empty() && p.records.back().offset == 6;
  }));
  ASSERT_EQ(polled.gaps.size(), 1u);
  EXPECT_EQ(polled.gaps[0].topic, "t");
  EXPECT_EQ(polled.gaps[0].partition, 0);
  EXPECT_EQ(polled.gaps[0].from, 0);  // no committed offset: the group starts at 0
  EXPECT_EQ(polled.gaps[0].to, low);
  ASSERT_EQ(polled.records.size(), static_cast<size_t>(7 - low));
  for (size_t i = 0; i < polled.records.size(); ++i) {
    const int64_t offset = low + static_cast<int64_t>(i);
    EXPECT_EQ(polled.records[i].offset, offset);
    EXPECT_TRUE(polled.records[i].value == BigValue(static_cast<int>(offset)));
  }
  EXPECT_TRUE(
      logs.WaitFor({"\"level\":\"error\"", "\"event\":\"kafka.gap\"", absl::StrCat("\"to\":", low)},
                   absl::Seconds(1)));
}

// A group taking over from a renamed one (the delivery consumer's): where
// it has no committed offset it reads from the previous group's committed
// offset: nothing read again, nothing before it reported lost though the
// start is gone; a previous offset below the start still reports the gap
// from there; a partition the previous group never committed starts at 0.
TEST(Retention, AGroupTakingOverFromAPreviousOneStartsAtItsOffsetNotAtAGap) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  ProduceBig(**producer, "t", 0, 8);
  {
    // Members that joined, then committed: 7 and 1.
    for (const auto& [group, offset] :
         {std::pair<std::string, int64_t>{"old", 7}, {"old-low", 1}}) {
      auto member = Consumer::Create(config, GroupOptions(group, "t"));
      ASSERT_TRUE(member.ok());
      Polled joined;
      ASSERT_TRUE(PollUntil(**member, joined, [](const Polled& p) { return !p.assigned.empty(); }));
      absl::Status committed = (*member)->CommitSync({{{"t", 0}, offset}});
      ASSERT_TRUE(committed.ok()) << committed;
      ASSERT_TRUE((*member)->Close().ok());
    }
  }
  ConsumerOptions options = GroupOptions("new", "t");
  options.previous_group = [](const std::string& topic) { return topic == "t" ? "old" : ""; };
  auto consumer = Consumer::Create(config, options);
  ASSERT_TRUE(consumer.ok());
  auto marks = (*consumer)->Watermarks({"t", 0}, absl::Seconds(5));
  ASSERT_TRUE(marks.ok()) << marks.status();
  const int64_t low = marks->first;
  ASSERT_GT(low, 1) << "the mock kept everything: retention changed?";
  ASSERT_LT(low, 7);
  Polled polled;
  ASSERT_TRUE(PollUntil(**consumer, polled, [](const Polled& p) { return !p.records.empty(); }));
  EXPECT_TRUE(polled.gaps.empty());
  EXPECT_EQ(polled.records.front().offset, 7);

  options.group_id = "newer";
  options.previous_group = [](const std::string&) { return std::string("old-low"); };
  auto below = Consumer::Create(config, options);
  ASSERT_TRUE(below.ok());
  Polled from_low;
  ASSERT_TRUE(PollUntil(**below, from_low, [](const Polled& p) { return !p.records.empty(); }));
  ASSERT_EQ(from_low.gaps.size(), 1u);
  EXPECT_EQ(from_low.gaps[0].from, 1);
  EXPECT_EQ(from_low.gaps[0].to, low);
  EXPECT_EQ(from_low.records.front().offset, low);

  // Nothing deleted: the previous group's offset, not 0.
  ASSERT_TRUE((*cluster)->CreateTopic("u", 2).ok());
  Reports reports;
  for (int i = 0; i < 4; ++i)
    (*producer)->Produce("u", "", absl::StrCat("u", i), reports.Callback(), 0);
  (*producer)->Produce("u", "", "other", reports.Callback(), 1);
  ASSERT_EQ(reports.WaitFor(5, absl::Seconds(30)).size(), 5u);
  {
    auto member = Consumer::Create(config, GroupOptions("old-u", "u"));
    ASSERT_TRUE(member.ok());
    Polled joined;
    ASSERT_TRUE(PollUntil(**member, joined, [](const Polled& p) { return !p.assigned.empty(); }));
    ASSERT_TRUE((*member)->CommitSync({{{"u", 0}, 3}}).ok());
    ASSERT_TRUE((*member)->Close().ok());
  }
  options.group_id = "new-u";
  options.topics = {"u"};
  options.previous_group = [](const std::string&) { return std::string("old-u"); };
  auto kept = Consumer::Create(config, options);
  ASSERT_TRUE(kept.ok());
  Polled read;
  ASSERT_TRUE(PollUntil(**kept, read, [](const Polled& p) { return p.records.size() >= 2; }));
  std::set<std::string> values;
  for (const Record& r : read.records) values.insert(r.value);
  EXPECT_EQ(values, std::set<std::string>({"u3", "other"}));
  EXPECT_TRUE(read.gaps.empty());
}

TEST(Retention, MidSessionGapIsReportedAndReadingContinues) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());

  // A consumer that falls behind: librdkafka's local prefetch buffer is full
  // at 1 MiB (otherwise it would keep fetching while we do not poll).
  ClientConfig slow = config;
  slow.properties["queued.max.messages.kbytes"] = "1024";
  auto consumer = Consumer::Create(slow, GroupOptions("slow", "t"));
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ProduceBig(**producer, "t", 0, 2);
  Polled polled;
  ASSERT_TRUE(PollUntil(**consumer, polled, [](const Polled& p) { return p.records.size() >= 2; }));
  ASSERT_TRUE((*consumer)->CommitSync({{{"t", 0}, 2}}).ok());

  // Not polling while 10 MiB arrive: the committed position falls out.
  ProduceBig(**producer, "t", 2, 10);
  auto marks = (*consumer)->Watermarks({"t", 0}, absl::Seconds(5));
  ASSERT_TRUE(marks.ok());
  const int64_t low = marks->first;
  ASSERT_GT(low, 4);
  ASSERT_EQ(marks->second, 12);

  ASSERT_TRUE(
      PollUntil(**consumer, polled, [](const Polled& p) { return p.records.back().offset == 11; }));
  ASSERT_EQ(polled.gaps.size(), 1u);
  const Gap& gap = polled.gaps[0];
  EXPECT_EQ(gap.to, low);
  // Records and the gap cover every offset exactly once: whatever librdkafka
  // had already buffered is delivered, nothing still present is skipped.
  int64_t expect = 0;
  for (const Record& r : polled.records) {
    if (expect == gap.from) expect = gap.to;
    EXPECT_EQ(r.offset, expect);
    EXPECT_TRUE(r.value == BigValue(static_cast<int>(r.offset))) << r.offset;
    ++expect;
  }
  EXPECT_EQ(expect, 12);
  EXPECT_GE(gap.from, 2);
  EXPECT_TRUE((*consumer)->CommitSync({{{"t", 0}, 12}}).ok());
}

// Healing a gap re-assigns every owned partition; records another partition
// had buffered but not handed out are fetched again: none lost, none twice.
TEST(Retention, GapOnOnePartitionLosesAndRepeatsNothingOnTheOthers) {
  auto cluster = EmbeddedCluster::Start(3);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 2).ok());
  ClientConfig config = MockConfig((*cluster)->bootstrap_servers());
  auto producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok());
  Reports small;
  auto produce_small = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      (*producer)->Produce("t", "", absl::StrCat(i), small.Callback(), 1);
    }
    ASSERT_EQ(small.WaitFor(to).size(), static_cast<size_t>(to));
  };
  ProduceBig(**producer, "t", 0, 1);
  produce_small(0, 20);

  ClientConfig slow = config;
  slow.properties["queued.max.messages.kbytes"] = "1024";
  if (std::getenv("KAFKA_TEST_DEBUG")) slow.properties["debug"] = std::getenv("KAFKA_TEST_DEBUG");
  auto reader = Consumer::Create(slow, testing::ReaderOptions("t"));
  ASSERT_TRUE(reader.ok());
  Polled polled;
  auto count = [](const Polled& p, int32_t partition) {
    return std::count_if(p.records.begin(), p.records.end(),
                         [partition](const Record& r) { return r.partition == partition; });
  };
  ASSERT_TRUE(PollUntil(**reader, polled,
                        [&](const Polled& p) { return count(p, 0) == 1 && count(p, 1) == 20; }));
  // While the reader is not polling: partition 0 runs out of retention, and
  // partition 1 gets records that arrive around the out-of-range error, so
  // some sit in librdkafka's queue when the gap is healed.
  ProduceBig(**producer, "t", 1, 10);
  produce_small(20, 50);
  ASSERT_TRUE(PollUntil(
      **reader, polled,
      [&](const Polled& p) {
        return count(p, 1) >= 50 &&
               std::any_of(p.records.begin(), p.records.end(),
                           [](const Record& r) { return r.partition == 0 && r.offset == 10; });
      },
      absl::Seconds(30), /*max_records=*/3));
  ASSERT_EQ(polled.gaps.size(), 1u);
  const Gap& gap = polled.gaps[0];
  EXPECT_EQ(gap.partition, 0);
  int64_t expect0 = 0;
  int64_t expect1 = 0;
  for (const Record& r : polled.records) {
    if (r.partition == 1) {
      EXPECT_EQ(r.offset, expect1);
      EXPECT_EQ(r.value, absl::StrCat(expect1));
      ++expect1;
    } else {
      if (expect0 == gap.from) expect0 = gap.to;
      EXPECT_EQ(r.offset, expect0);
      ++expect0;
    }
  }
  EXPECT_EQ(expect1, 50);
  EXPECT_EQ(expect0, 11);
}

// A bare librdkafka consumer configured like Consumer (auto.offset.reset=error).
rd_kafka_t* RawConsumer(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (auto [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"bootstrap.servers", bootstrap},
                                                        {"group.id", "pin"},
                                                        {"auto.offset.reset", "error"},
                                                        {"enable.auto.commit", "false"},
                                                        {"fetch.wait.max.ms", "5"},
                                                        {"log_level", "0"}}) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), nullptr, 0) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, nullptr, 0);
  if (rk != nullptr) rd_kafka_poll_set_consumer(rk);
  return rk;
}

rd_kafka_resp_err_t AssignAt(rd_kafka_t* rk, int64_t offset) {
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, "t", 0)->offset = offset;
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  return err;
}

// Next message or error, waiting up to 10 s.
rd_kafka_message_t* NextMessage(rd_kafka_t* rk) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100)) return m;
  }
  return nullptr;
}

// Pins the librdkafka 2.0.2 behaviour Consumer's gap handling rests on: with
// auto.offset.reset=error an out-of-range fetch surfaces as a consumer error
// __AUTO_OFFSET_RESET carrying the wanted offset, the partition stops, a seek
// is refused (__STATE), and assigning it again resumes fetching.
TEST(Retention, LibrdkafkaStopsAnOutOfRangePartitionUntilItIsAssignedAgain) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()));
  ASSERT_TRUE(producer.ok());
  ProduceBig(**producer, "t", 0, 7);

  rd_kafka_t* rk = RawConsumer((*cluster)->bootstrap_servers());
  ASSERT_NE(rk, nullptr);
  int64_t low = -1, high = -1;
  ASSERT_EQ(rd_kafka_query_watermark_offsets(rk, "t", 0, &low, &high, 5000),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_GT(low, 0);

  ASSERT_EQ(AssignAt(rk, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_message_t* m = NextMessage(rk);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->err, RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET);
  ASSERT_NE(m->rkt, nullptr);
  EXPECT_STREQ(rd_kafka_topic_name(m->rkt), "t");
  EXPECT_EQ(m->partition, 0);
  EXPECT_EQ(m->offset, 0);  // the offset we wanted
  rd_kafka_message_destroy(m);

  rd_kafka_topic_partition_list_t* seek = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(seek, "t", 0)->offset = low;
  rd_kafka_error_t* error = rd_kafka_seek_partitions(rk, seek, 5000);
  EXPECT_EQ(error, nullptr);  // the call itself succeeds ...
  if (error != nullptr) rd_kafka_error_destroy(error);
  EXPECT_EQ(seek->elems[0].err, RD_KAFKA_RESP_ERR__STATE);  // ... the partition refuses
  rd_kafka_topic_partition_list_destroy(seek);

  ASSERT_EQ(AssignAt(rk, low), RD_KAFKA_RESP_ERR_NO_ERROR);
  m = NextMessage(rk);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2name(m->err);
  EXPECT_EQ(m->offset, low);
  rd_kafka_message_destroy(m);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

// Pins what Consumer's re-assignment relies on for the partitions without a
// gap: assigning again drops records librdkafka had fetched but not handed
// out, and fetching restarts at the given offset: nothing lost, nothing twice.
TEST(Retention, LibrdkafkaReassignRefetchesBufferedRecordsFromTheGivenOffset) {
  auto cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1).ok());
  ProducerOptions options;
  options.linger_ms = 50;  // one batch
  auto producer = Producer::Create(MockConfig((*cluster)->bootstrap_servers()), options);
  ASSERT_TRUE(producer.ok());
  Reports reports;
  for (int i = 0; i < 10; ++i)
    (*producer)->Produce("t", "", absl::StrCat(i), reports.Callback(), 0);
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());

  rd_kafka_t* rk = RawConsumer((*cluster)->bootstrap_servers());
  ASSERT_NE(rk, nullptr);
  ASSERT_EQ(AssignAt(rk, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_message_t* m = NextMessage(rk);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(m->offset, 0);  // 1..9 came in the same fetch and are buffered
  rd_kafka_message_destroy(m);
  ASSERT_EQ(AssignAt(rk, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int64_t want = 1; want < 10; ++want) {
    m = NextMessage(rk);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2name(m->err);
    EXPECT_EQ(m->offset, want);
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(rd_kafka_consumer_poll(rk, 50), nullptr);  // no duplicates follow
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

}  // namespace
}  // namespace liaison::kafka
