#include "connectors/kafka/reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/kafka/internal/client.h"
#include "connectors/kafka/internal/errors.h"

namespace liaison::kafka {
namespace {

struct TopicDeleter {
  void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
};

}  // namespace

absl::StatusOr<std::vector<Record>> ReadPartition(const ClientConfig& config,
                                                  const std::string& topic, int32_t partition,
                                                  int64_t from, int64_t to,
                                                  absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  ClientConfig c = config;
  c.client_id = config.client_id + "-range";
  internal::Properties defaults = {{"enable.partition.eof", "false"}};
  if (config.fetch_wait_max_ms > 0) {
    defaults.push_back({"fetch.wait.max.ms", absl::StrCat(config.fetch_wait_max_ms)});
  }
  // No consumer group: librdkafka's simple consumer reads one partition from
  // an absolute offset. A group would bring a coordinator connection whose
  // teardown on destroy races the other broker threads in librdkafka 2.0.2
  // (rd_kafka_broker_destroy_final asserting it runs on the broker's own
  // thread: the coordinator's "nodename changed" failure refreshes metadata
  // and can drop the last reference to a broker already terminating). These
  // readers are short-lived and created often (audit reads, chain heads), so
  // they met it; without a group there is no coordinator. group.id is fixed
  // empty so a configured property cannot bring one back.
  internal::Properties invariants = {
      {"group.id", ""},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "error"},
  };
  absl::StatusOr<internal::ConfPtr> conf = internal::NewConf(c, defaults, invariants);
  if (!conf.ok()) return conf.status();
  absl::StatusOr<internal::ClientPtr> rk =
      internal::NewClient(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!rk.ok()) return rk.status();

  int64_t low = 0;
  int64_t high = 0;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), partition, &low, &high,
                                       internal::ToMillis(deadline - absl::Now()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ToStatus(err, absl::StrCat("watermarks of ", topic, "/", partition));
  }
  if (from < 0) from = high + from;  // counted back from the end
  if (to == kToEnd || to > high) to = high;
  if (from < low) from = low;
  std::vector<Record> out;
  if (from >= to) return out;

  std::unique_ptr<rd_kafka_topic_t, TopicDeleter> rkt(
      rd_kafka_topic_new(rk->get(), topic.c_str(), nullptr));
  if (rkt == nullptr) {
    return internal::ToStatus(rd_kafka_last_error(), absl::StrCat("topic handle for ", topic));
  }
  if (rd_kafka_consume_start(rkt.get(), partition, from) == -1) {
    return internal::ToStatus(rd_kafka_last_error(),
                              absl::StrCat("reading ", topic, "/", partition));
  }
  // Stops the fetcher on every path out (consume_stop must precede destroy).
  struct Stop {
    rd_kafka_topic_t* rkt;
    int32_t partition;
    ~Stop() { (void)rd_kafka_consume_stop(rkt, partition); }
  } stop{rkt.get(), partition};

  int64_t next = from;
  while (next < to) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("reading ", topic, "/", partition, " [", from, ", ", to, ") timed out at ",
                       next));
    }
    internal::MessagePtr m(
        rd_kafka_consume(rkt.get(), partition, std::min(100, internal::ToMillis(left))));
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      // Retention removed the rest of the range meanwhile.
      break;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // transient (EOF, ...); librdkafka retries
    if (m->offset < next) continue;
    next = m->offset + 1;
    if (m->offset >= to) break;
    Record r;
    r.topic = topic;
    r.partition = partition;
    r.offset = m->offset;
    if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_timestamp_type_t type;
    const int64_t ts = rd_kafka_message_timestamp(m.get(), &type);
    if (ts >= 0) r.timestamp = absl::FromUnixMillis(ts);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::optional<Record>> ReadLast(const ClientConfig& config,
                                               const std::string& topic, int32_t partition,
                                               absl::Duration timeout) {
  // The last offset may be a transaction marker or compacted away on a real
  // cluster: read a small window back from the end and keep the last record.
  absl::StatusOr<std::vector<Record>> tail =
      ReadPartition(config, topic, partition, /*from=*/-16, kToEnd, timeout);
  if (!tail.ok()) return tail.status();
  if (tail->empty()) return std::optional<Record>();
  return std::optional<Record>(std::move(tail->back()));
}

}  // namespace liaison::kafka
