#include "connectors/kafka/reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
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

// A consumer without a consumer group: librdkafka's simple consumer reads
// one partition from an absolute offset. A group would bring a coordinator
// connection whose teardown on destroy races the other broker threads in
// librdkafka 2.0.2 (rd_kafka_broker_destroy_final asserting it runs on the
// broker's own thread: the coordinator's "nodename changed" failure
// refreshes metadata and can drop the last reference to a broker already
// terminating). Readers are short-lived and created often (audit reads,
// chain heads), so they met it; without a group there is no coordinator.
// group.id is fixed empty so a configured property cannot bring one back.
//
// `isolation` is read_committed for every client that reads records; only
// NewWatermarkClient, which never reads one, asks as read_uncommitted.
absl::StatusOr<internal::ClientPtr> NewReaderClient(const ClientConfig& config,
                                                    const std::string& suffix,
                                                    internal::Properties defaults,
                                                    const char* isolation = "read_committed") {
  ClientConfig c = config;
  c.client_id = config.client_id + suffix;
  if (std::none_of(defaults.begin(), defaults.end(),
                   [](const auto& p) { return p.first == "enable.partition.eof"; })) {
    defaults.push_back({"enable.partition.eof", "false"});
  }
  if (config.fetch_wait_max_ms > 0) {
    defaults.push_back({"fetch.wait.max.ms", absl::StrCat(config.fetch_wait_max_ms)});
  }
  internal::Properties invariants = {
      {"group.id", ""},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "error"},
      // Only committed transactions (consumer.cc says why).
      {"isolation.level", isolation},
  };
  absl::StatusOr<internal::ConfPtr> conf = internal::NewConf(c, defaults, invariants);
  if (!conf.ok()) return conf.status();
  return internal::NewClient(RD_KAFKA_CONSUMER, *std::move(conf));
}

absl::Status HighWatermark(rd_kafka_t* rk, const std::string& topic, int32_t partition,
                           absl::Time deadline, int64_t* low, int64_t* high) {
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk, topic.c_str(), partition, low, high, internal::ToMillis(deadline - absl::Now()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ToStatus(err, absl::StrCat("watermarks of ", topic, "/", partition));
  }
  return absl::OkStatus();
}

Record ToRecord(const std::string& topic, const rd_kafka_message_t& m) {
  Record r;
  r.topic = topic;
  r.partition = m.partition;
  r.offset = m.offset;
  if (m.key != nullptr) r.key.assign(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) r.value.assign(static_cast<const char*>(m.payload), m.len);
  r.tombstone = m.payload == nullptr;
  rd_kafka_timestamp_type_t type;
  const int64_t ts = rd_kafka_message_timestamp(&m, &type);
  if (ts >= 0) r.timestamp = absl::FromUnixMillis(ts);
  rd_kafka_headers_t* headers = nullptr;  // owned by the message
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      Header h;
      h.key = name;
      if (value != nullptr) h.value.assign(static_cast<const char*>(value), size);
      r.headers.push_back(std::move(h));
    }
  }
  return r;
}

// Stops a partition's fetcher on every path out (consume_stop must precede
// the topic handle's destroy).
struct FetchGuard {
  rd_kafka_topic_t* rkt;
  int32_t partition;
  ~FetchGuard() { (void)rd_kafka_consume_stop(rkt, partition); }
};

}  // namespace

// Where a partition really ends. Kafka answers a read_committed client's
// "latest offset" with the last stable offset: where the first transaction
// still open in the partition begins. Records committed after it exist but
// are not visible yet, so a read that took that offset for the end stopped
// early and missed them (a dead node's transaction left open in an audit
// partition hid every entry the next owner committed after it until Kafka
// aborted it: faults.LiaisonNodeKilledDuringAFlood). The high watermark
// comes from a client that only asks for offsets, as read_uncommitted; a
// read_committed fetch up to it then waits at the open transaction until it
// ends, as a reader of everything committed must.
absl::StatusOr<internal::ClientPtr> internal::NewWatermarkClient(const ClientConfig& config) {
  return NewReaderClient(config, "-marks", {}, "read_uncommitted");
}

namespace {

// What ReadRange read: the records from `from`, the absolute offset the
// request began at, and `began_at_start` tells that `from` is the
// partition's low watermark (nothing older exists).
struct Range {
  std::vector<Record> records;
  int64_t from = 0;
  bool began_at_start = false;
};

absl::StatusOr<Range> ReadRange(const ClientConfig& config, const std::string& topic,
                                int32_t partition, int64_t from, int64_t to,
                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Partition EOF: the range ends at the end of what a read_committed reader
  // may see, which on a transactional partition is often a commit marker
  // (no record carries its offset) or, while a transaction is open, the last
  // stable offset (then the read waits for the transaction to end).
  absl::StatusOr<internal::ClientPtr> rk =
      NewReaderClient(config, "-range", {{"enable.partition.eof", "true"}});
  if (!rk.ok()) return rk.status();

  int64_t low = 0;
  int64_t high = 0;
  {
    absl::StatusOr<internal::ClientPtr> marks = internal::NewWatermarkClient(config);
    if (!marks.ok()) return marks.status();
    absl::Status s = HighWatermark(marks->get(), topic, partition, deadline, &low, &high);
    if (!s.ok()) return s;
  }
  if (from < 0) from = high + from;  // counted back from the end
  if (to == kToEnd || to > high) to = high;
  if (from < low) from = low;
  Range out;
  out.from = from;
  out.began_at_start = from <= low;
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
  FetchGuard stop{rkt.get(), partition};

  int64_t next = from;
  while (next < to) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat("reading ", topic, "/", partition, " [", from,
                                                      ", ", to, ") timed out at ", next));
    }
    internal::MessagePtr m(
        rd_kafka_consume(rkt.get(), partition, std::min(100, internal::ToMillis(left))));
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
      // Retention removed the rest of the range meanwhile.
      break;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->offset >= to) break;  // everything up to `to` read (markers have no record)
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // transient; librdkafka retries
    if (m->offset < next) continue;
    next = m->offset + 1;
    if (m->offset >= to) break;
    out.records.push_back(ToRecord(topic, *m));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Record>> ReadPartition(const ClientConfig& config,
                                                  const std::string& topic, int32_t partition,
                                                  int64_t from, int64_t to,
                                                  absl::Duration timeout) {
  absl::StatusOr<Range> range = ReadRange(config, topic, partition, from, to, timeout);
  if (!range.ok()) return range.status();
  return std::move(range->records);
}

absl::Status ScanBackward(const ClientConfig& config, const std::string& topic, int32_t partition,
                          absl::Duration timeout, const std::function<bool(const Record&)>& visit) {
  const absl::Time deadline = absl::Now() + timeout;
  int64_t from = -16;  // the first window: counted back from the high watermark
  int64_t to = kToEnd;
  for (int64_t window = 16;;) {
    absl::StatusOr<Range> range =
        ReadRange(config, topic, partition, from, to, deadline - absl::Now());
    if (!range.ok()) return range.status();
    for (auto it = range->records.rbegin(); it != range->records.rend(); ++it) {
      if (!visit(*it)) return absl::OkStatus();
    }
    if (range->began_at_start) return absl::OkStatus();
    // The next window ends where this one began.
    window = std::min<int64_t>(window * 16, int64_t{1} << 40);
    to = range->from;
    from = std::max<int64_t>(0, range->from - window);
  }
}

absl::StatusOr<std::optional<Record>> ReadLast(const ClientConfig& config, const std::string& topic,
                                               int32_t partition, absl::Duration timeout) {
  std::optional<Record> last;
  absl::Status s = ScanBackward(config, topic, partition, timeout, [&](const Record& r) {
    last = r;
    return false;
  });
  if (!s.ok()) return s;
  return last;
}

}  // namespace liaison::kafka

namespace liaison::kafka {

struct RecordReader::Impl {
  internal::ClientPtr rk;
  // Asks for high watermarks only (NewWatermarkClient); made on first use.
  internal::ClientPtr marks;
  ClientConfig config;
  std::map<std::string, std::unique_ptr<rd_kafka_topic_t, TopicDeleter>> topics;
  // Partitions being fetched, and the offset the next consumed record will
  // have (the fetcher reads ahead into a 1 MiB queue, then waits).
  std::map<std::pair<std::string, int32_t>, int64_t> started;

  ~Impl() {
    for (const auto& [tp, position] : started) {
      (void)rd_kafka_consume_stop(topics[tp.first].get(), tp.second);
    }
  }
  void Stop(const std::string& topic, int32_t partition) {
    if (started.erase({topic, partition}) > 0) {
      (void)rd_kafka_consume_stop(topics[topic].get(), partition);
    }
  }
};

absl::StatusOr<std::unique_ptr<RecordReader>> RecordReader::Create(const ClientConfig& config) {
  // A partition once read stays started until StopAll: librdkafka 2.0.2
  // leaves a fetch that is not driven by network I/O (the first after
  // consume_start, the next after the application drained a full queue)
  // waiting for its broker thread's 1 s serve timeout. Started, a partition
  // reads ahead into a queue of at most 8 MiB, so a release burst gets 8 MiB
  // per such wait at worst instead of one session per second; the next
  // read continues from there or seeks. Idle at the log's end it long-polls
  // (fetch.wait.max.ms 500). (queued.min.messages stays at its default: at
  // 1, the barrier op a start or seek queues counts as a message and
  // blocked the first fetch.)
  absl::StatusOr<internal::ClientPtr> rk = NewReaderClient(
      config, "-record", {{"queued.max.messages.kbytes", "8192"}, {"fetch.wait.max.ms", "500"}});
  if (!rk.ok()) return rk.status();
  auto impl = std::make_unique<Impl>();
  impl->rk = *std::move(rk);
  impl->config = config;
  return std::unique_ptr<RecordReader>(new RecordReader(std::move(impl)));
}

RecordReader::RecordReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecordReader::~RecordReader() = default;

void RecordReader::StopAll() {
  while (!impl_->started.empty()) {
    const auto tp = impl_->started.begin()->first;
    impl_->Stop(tp.first, tp.second);
  }
}

bool RecordReader::Started() const { return !impl_->started.empty(); }

absl::StatusOr<Record> RecordReader::Read(const std::string& topic, int32_t partition,
                                          int64_t offset, absl::Duration timeout) {
  absl::StatusOr<Record> out = absl::InternalError("not read");
  ReadEach(topic, partition, {offset}, timeout,
           [&](int64_t, absl::StatusOr<Record> r) { out = std::move(r); });
  return out;
}

void RecordReader::ReadEach(
    const std::string& topic, int32_t partition, std::vector<int64_t> offsets,
    absl::Duration timeout,
    const std::function<void(int64_t offset, absl::StatusOr<Record>)>& each) {
  std::sort(offsets.begin(), offsets.end());
  offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  if (offsets.empty()) return;
  const absl::Time deadline = absl::Now() + timeout;
  auto where = [&](int64_t offset) { return absl::StrCat(topic, "/", partition, "@", offset); };
  size_t next = 0;  // offsets[next] is the next one to answer
  // Answers offsets [next, until) with `s`.
  auto fail_until = [&](size_t until, const absl::Status& s) {
    for (; next < until; ++next) {
      each(offsets[next], absl::Status(s.code(), absl::StrCat("reading ", where(offsets[next]),
                                                              ": ", s.message())));
    }
  };

  // The partition's real end: an offset behind another transaction still
  // open exists, and the read below waits for it (NewWatermarkClient).
  if (impl_->marks == nullptr) {
    absl::StatusOr<internal::ClientPtr> marks = internal::NewWatermarkClient(impl_->config);
    if (!marks.ok()) {
      fail_until(offsets.size(), marks.status());
      return;
    }
    impl_->marks = *std::move(marks);
  }
  int64_t low = 0;
  int64_t high = 0;
  if (absl::Status s = HighWatermark(impl_->marks.get(), topic, partition, deadline, &low, &high);
      !s.ok()) {
    fail_until(offsets.size(), s);
    return;
  }
  for (; next < offsets.size() && offsets[next] < low; ++next) {
    each(offsets[next], absl::NotFoundError(absl::StrCat(
                            where(offsets[next]), " no longer exists (the partition starts at ",
                            low, ": retention removed it)")));
  }
  size_t end = offsets.size();
  while (end > next && offsets[end - 1] >= high) --end;
  auto never_written = [&] {
    for (size_t i = end; i < offsets.size(); ++i) {
      each(offsets[i],
           absl::NotFoundError(absl::StrCat(
               where(offsets[i]), " was never written (the partition ends at ", high, ")")));
    }
  };
  if (next == end) {
    never_written();
    return;
  }

  auto& rkt = impl_->topics[topic];
  if (rkt == nullptr) {
    rkt.reset(rd_kafka_topic_new(impl_->rk.get(), topic.c_str(), nullptr));
    if (rkt == nullptr) {
      fail_until(
          end, internal::ToStatus(rd_kafka_last_error(), absl::StrCat("topic handle for ", topic)));
      never_written();
      return;
    }
  }
  // Continue where the partition's fetcher is when the first wanted record
  // is at most kReadAhead records ahead; seek otherwise; start if stopped.
  constexpr int64_t kReadAhead = 64;
  const std::pair<std::string, int32_t> key{topic, partition};
  auto session = impl_->started.find(key);
  const int64_t first = offsets[next];
  if (session != impl_->started.end() &&
      (first < session->second || first - session->second > kReadAhead)) {
    if (rd_kafka_seek(rkt.get(), partition, first, internal::ToMillis(deadline - absl::Now())) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      session->second = first;
    } else {
      impl_->Stop(topic, partition);
      session = impl_->started.end();
    }
  }
  if (session == impl_->started.end()) {
    if (rd_kafka_consume_start(rkt.get(), partition, first) == -1) {
      fail_until(end, internal::ToStatus(rd_kafka_last_error(), "consume_start"));
      never_written();
      return;
    }
    session = impl_->started.emplace(key, first).first;
  }
  {
    bool stop = false;  // a reset: start afresh next time
    while (next < end) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      internal::MessagePtr m(
          rd_kafka_consume(rkt.get(), partition, std::min(100, internal::ToMillis(left))));
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        for (; next < end; ++next) {
          each(offsets[next], absl::NotFoundError(absl::StrCat(
                                  where(offsets[next]), " no longer exists (removed meanwhile)")));
        }
        stop = true;
        break;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // transient; librdkafka retries
      if (m->offset >= session->second) session->second = m->offset + 1;
      // Offsets passed over: compaction removed them, or they held
      // transaction markers.
      for (; next < end && offsets[next] < m->offset; ++next) {
        each(offsets[next], absl::NotFoundError(absl::StrCat(
                                where(offsets[next]), " no longer exists (the next record is at ",
                                m->offset, ")")));
      }
      if (next < end && offsets[next] == m->offset) {
        each(offsets[next], ToRecord(topic, *m));
        ++next;
      }
    }
    if (stop || next < end) impl_->Stop(topic, partition);
  }
  fail_until(end, absl::DeadlineExceededError("timed out"));
  never_written();
}

}  // namespace liaison::kafka
