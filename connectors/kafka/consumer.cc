#include "connectors/kafka/consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "connectors/kafka/internal/client.h"
#include "connectors/kafka/internal/errors.h"

namespace liaison::kafka {
namespace {

using Key = std::pair<std::string, int32_t>;

// How long a committed position beyond the partition's end is retried (a new
// leader's high watermark may briefly lag) before the partition is replayed
// from its start.
constexpr absl::Duration kBeyondEndPatience = absl::Seconds(30);
constexpr absl::Duration kRequestTimeout = absl::Seconds(10);
constexpr absl::Duration kNewTopicGrace = absl::Seconds(5);

std::string ThrowawayGroupId(const std::string& client_id) {
  std::random_device rd;
  uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return absl::StrCat("liaison-reader-", client_id, "-", absl::Hex(r, absl::kZeroPad16));
}

Record ToRecord(const rd_kafka_message_t* m) {
  Record r;
  r.topic = rd_kafka_topic_name(m->rkt);
  r.partition = m->partition;
  r.offset = m->offset;
  if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
  r.tombstone = m->payload == nullptr;
  rd_kafka_timestamp_type_t type;
  int64_t ts = rd_kafka_message_timestamp(m, &type);
  if (ts >= 0) r.timestamp = absl::FromUnixMillis(ts);
  rd_kafka_headers_t* hdrs = nullptr;  // owned by the message
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      Header h;
      h.key = name;
      if (value != nullptr) h.value.assign(static_cast<const char*>(value), size);
      r.headers.push_back(std::move(h));
    }
  }
  return r;
}

}  // namespace

struct Consumer::Impl {
  // A partition whose fetch position is out of range and that could not be
  // resolved yet (watermarks unavailable, or position beyond the end). It
  // stays stopped (librdkafka does not fetch it) until resolved.
  struct Unresolved {
    int64_t from = 0;
    absl::Time since;
  };

  void OnAssign(rd_kafka_topic_partition_list_t* partitions);
  void OnRevoke(rd_kafka_topic_partition_list_t* partitions);
  void TakeAssignmentEvents(PollResult& result);
  void HandleOutOfRange(const TopicPartition& tp, int64_t fetch_offset, PollResult& result);
  // Returns false when the partition stays unresolved. `timeout` bounds the
  // watermark query.
  bool Resolve(const TopicPartition& tp, Unresolved& u, absl::Duration timeout, PollResult& result);
  // Restarts the fetch of `key` (a partition stopped by an out-of-range
  // error) from next[key]: under the eager protocol by assigning every
  // partition again, under the cooperative one that partition alone.
  void Reassign(const Key& key);
  bool Cooperative() const;
  // Sets the partitions of `list` that have no committed offset in this
  // group (offset < 0) to previous_group's committed offset, where it has
  // one.
  void TakeOverPrevious(rd_kafka_topic_partition_list_t* list);
  absl::Status DoCommit(const std::vector<CommitOffset>& offsets, bool async);

  bool reader_mode = false;
  bool cooperative = false;
  std::string group_id;
  std::function<void(const std::vector<TopicPartition>&)> before_revoke;
  std::function<std::string(const std::string&)> previous_group;
  internal::ClientPtr rk;
  bool closed = false;
  // For Watermarks: the high watermark, not the last stable offset
  // (internal::NewWatermarkClient); made on first use.
  ClientConfig config;
  absl::Mutex marks_mu;
  internal::ClientPtr marks ABSL_GUARDED_BY(marks_mu);

  // Per owned partition (the keys are the assignment): the offset of the next record the caller
  // gets, or a logical offset (BEGINNING in reader mode, INVALID = "librdkafka looks up the
  // committed offset") before the first record.
  std::map<Key, int64_t> next;
  std::map<Key, Unresolved> unresolved;
  // Filled by the rebalance callback (runs inside rd_kafka_consumer_poll on
  // the polling thread), moved into the next PollResult.
  std::vector<TopicPartition> assigned_events;
  std::vector<TopicPartition> revoked_events;
  bool lost_event = false;
};

namespace {

void RebalanceCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* impl = static_cast<Consumer::Impl*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    impl->OnAssign(partitions);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    impl->OnRevoke(partitions);
  } else {
    log::Error("kafka.rebalance_failed",
               {{"group", impl->group_id}, {"error", rd_kafka_err2name(err)}});
    impl->OnRevoke(partitions);
  }
  (void)rk;
}

void OffsetCommitCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  (void)rk;
  auto* impl = static_cast<Consumer::Impl*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing to commit
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::Warning("kafka.commit_failed", {{"group", impl->group_id},
                                         {"error", rd_kafka_err2name(err)},
                                         {"partitions", offsets ? offsets->cnt : 0}});
    return;
  }
  for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = offsets->elems[i];
    if (p.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    log::Warning("kafka.commit_failed", {{"group", impl->group_id},
                                         {"topic", p.topic},
                                         {"partition", p.partition},
                                         {"offset", p.offset},
                                         {"error", rd_kafka_err2name(p.err)}});
  }
}

void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  (void)opaque;
  internal::LogClientError(rk, static_cast<rd_kafka_resp_err_t>(err), reason);
}

}  // namespace

void Consumer::Impl::OnAssign(rd_kafka_topic_partition_list_t* partitions) {
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_copy(partitions));
  rd_kafka_resp_err_t err =
      rd_kafka_committed(rk.get(), list.get(), internal::ToMillis(kRequestTimeout));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && previous_group) TakeOverPrevious(list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Let librdkafka fetch them itself; a partition without one then
    // surfaces as __AUTO_OFFSET_RESET, which HandleOutOfRange treats as
    // "start at 0".
    log::Warning("kafka.committed_lookup_failed",
                 {{"group", group_id}, {"error", rd_kafka_err2name(err)}});
  }
  for (int i = 0; i < list->cnt; ++i) {
    rd_kafka_topic_partition_t& p = list->elems[i];
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      p.offset = RD_KAFKA_OFFSET_INVALID;
    } else if (p.offset < 0) {
      // No committed offset: start at 0, not at the log start, so that data
      // deleted before this group's first read is reported as a gap.
      p.offset = 0;
    }
    p.err = RD_KAFKA_RESP_ERR_NO_ERROR;
    next[{p.topic, p.partition}] = p.offset;
    assigned_events.push_back({p.topic, p.partition});
  }
  {
    // librdkafka keeps a partition's pause through its revoke and a new
    // assignment (confluentinc/librdkafka#1849): a partition paused before a
    // rebalance (or a lost assignment) took it would come back paused, and
    // a caller who knows it as newly assigned would never read it again.
    // Cleared before the assignment starts fetching. A partition this
    // client never had is unknown to librdkafka here, and not paused.
    internal::PartitionListPtr unpause(rd_kafka_topic_partition_list_copy(list.get()));
    (void)rd_kafka_resume_partitions(rk.get(), unpause.get());
  }
  if (Cooperative()) {
    // Added to what the member already owns.
    if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk.get(), list.get()); e != nullptr) {
      log::Error("kafka.assign_failed", {{"group", group_id}, {"error", rd_kafka_error_name(e)}});
      rd_kafka_error_destroy(e);
    }
  } else {
    err = rd_kafka_assign(rk.get(), list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::Error("kafka.assign_failed", {{"group", group_id}, {"error", rd_kafka_err2name(err)}});
    }
  }
  log::Info("kafka.assigned", {{"group", group_id}, {"partitions", list->cnt}});
}

void Consumer::Impl::OnRevoke(rd_kafka_topic_partition_list_t* partitions) {
  if (before_revoke) {
    std::vector<TopicPartition> going;
    for (int i = 0; partitions != nullptr && i < partitions->cnt; ++i) {
      going.push_back({partitions->elems[i].topic, partitions->elems[i].partition});
    }
    // The member rejoins (and the partitions can go to another member)
    // only once this callback has unassigned them.
    before_revoke(going);
  }
  for (int i = 0; partitions != nullptr && i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = partitions->elems[i];
    next.erase({p.topic, p.partition});
    unresolved.erase({p.topic, p.partition});
    // Assigned and revoked before the caller heard of it: it never owned it.
    const TopicPartition tp{p.topic, p.partition};
    auto pending = std::find(assigned_events.begin(), assigned_events.end(), tp);
    if (pending != assigned_events.end()) {
      assigned_events.erase(pending);
      continue;
    }
    revoked_events.push_back(tp);
  }
  if (rd_kafka_assignment_lost(rk.get())) {
    lost_event = true;
    log::Warning("kafka.assignment_lost", {{"group", group_id}});
  }
  if (Cooperative()) {
    // Only these go; the member keeps reading the rest.
    if (partitions != nullptr) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk.get(), partitions); e != nullptr) {
        log::Error("kafka.unassign_failed",
                   {{"group", group_id}, {"error", rd_kafka_error_name(e)}});
        rd_kafka_error_destroy(e);
      }
    }
  } else {
    rd_kafka_assign(rk.get(), nullptr);
  }
  log::Info("kafka.revoked",
            {{"group", group_id}, {"partitions", partitions ? partitions->cnt : 0}});
}

void Consumer::Impl::TakeAssignmentEvents(PollResult& result) {
  for (TopicPartition& tp : assigned_events) result.assigned.push_back(std::move(tp));
  for (TopicPartition& tp : revoked_events) result.revoked.push_back(std::move(tp));
  assigned_events.clear();
  revoked_events.clear();
  result.lost = result.lost || lost_event;
  lost_event = false;
}

// With auto.offset.reset=error, librdkafka answers an OFFSET_OUT_OF_RANGE
// fetch by delivering a consumer error __AUTO_OFFSET_RESET for the partition
// (offset = the fetch offset) and stopping the partition's fetcher. A seek is
// refused in that state (__STATE); assigning the partition again restarts it.
void Consumer::Impl::HandleOutOfRange(const TopicPartition& tp, int64_t fetch_offset,
                                      PollResult& result) {
  auto it = next.find({tp.topic, tp.partition});
  if (it == next.end()) return;  // no longer ours
  Unresolved u;
  // What the caller has seen decides the gap: records librdkafka fetched but
  // we did not hand out are not lost, they are fetched again.
  u.from = it->second >= 0 ? it->second : (fetch_offset >= 0 ? fetch_offset : 0);
  u.since = absl::Now();
  unresolved.erase({tp.topic, tp.partition});
  if (!Resolve(tp, u, kRequestTimeout, result)) unresolved[{tp.topic, tp.partition}] = u;
}

bool Consumer::Impl::Resolve(const TopicPartition& tp, Unresolved& u, absl::Duration timeout,
                             PollResult& result) {
  int64_t low = -1;
  int64_t high = -1;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk.get(), tp.topic.c_str(), tp.partition, &low, &high, internal::ToMillis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::Warning("kafka.offset_reset_pending", {{"topic", tp.topic},
                                                {"partition", tp.partition},
                                                {"from", u.from},
                                                {"error", rd_kafka_err2name(err)}});
    return false;
  }
  int64_t resume = u.from;
  if (low > u.from) {
    result.gaps.push_back(Gap{tp.topic, tp.partition, u.from, low});
    log::Error("kafka.gap", {{"group", group_id},
                             {"topic", tp.topic},
                             {"partition", tp.partition},
                             {"from", u.from},
                             {"to", low},
                             {"lost", low - u.from}});
    resume = low;
  } else if (u.from > high) {
    if (absl::Now() - u.since < kBeyondEndPatience) return false;
    // The log is shorter than what we consumed (unclean leader election,
    // topic re-created): replay it rather than skip anything.
    log::Error("kafka.offset_beyond_end", {{"group", group_id},
                                           {"topic", tp.topic},
                                           {"partition", tp.partition},
                                           {"from", u.from},
                                           {"low", low},
                                           {"high", high}});
    resume = low;
  } else {
    log::Warning("kafka.offset_reset_retry", {{"topic", tp.topic},
                                              {"partition", tp.partition},
                                              {"from", u.from},
                                              {"low", low},
                                              {"high", high}});
  }
  next[{tp.topic, tp.partition}] = resume;
  Reassign({tp.topic, tp.partition});
  return true;
}

void Consumer::Impl::TakeOverPrevious(rd_kafka_topic_partition_list_t* list) {
  std::map<std::string, std::vector<int>> by_group;  // previous group -> indexes in list
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR || p.offset >= 0) continue;
    const std::string previous = previous_group(p.topic);
    if (!previous.empty() && previous != group_id) by_group[previous].push_back(i);
  }
  for (const auto& [previous, indexes] : by_group) {
    // Kafka's OffsetFetch for that group, asked through this client's own
    // connections (the Admin API): no handle of that group is made (making
    // and destroying group handles can abort librdkafka 2.0.2, see
    // cluster_probe.cc). Only partitions this group never committed ask.
    internal::PartitionListPtr asked(
        rd_kafka_topic_partition_list_new(static_cast<int>(indexes.size())));
    for (int i : indexes) {
      rd_kafka_topic_partition_list_add(asked.get(), list->elems[i].topic,
                                        list->elems[i].partition);
    }
    internal::QueuePtr queue(rd_kafka_queue_new(rk.get()));
    internal::AdminOptionsPtr options(
        rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS));
    char errstr[256];
    (void)rd_kafka_AdminOptions_set_request_timeout(
        options.get(), internal::ToMillis(kRequestTimeout), errstr, sizeof errstr);
    rd_kafka_ListConsumerGroupOffsets_t* request =
        rd_kafka_ListConsumerGroupOffsets_new(previous.c_str(), asked.get());
    rd_kafka_ListConsumerGroupOffsets(rk.get(), &request, 1, options.get(), queue.get());
    rd_kafka_ListConsumerGroupOffsets_destroy(request);
    internal::EventPtr event(
        rd_kafka_queue_poll(queue.get(), internal::ToMillis(kRequestTimeout + absl::Seconds(1))));
    const rd_kafka_ListConsumerGroupOffsets_result_t* result =
        event != nullptr ? rd_kafka_event_ListConsumerGroupOffsets_result(event.get()) : nullptr;
    size_t count = 0;
    const rd_kafka_group_result_t** groups =
        result != nullptr ? rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count)
                          : nullptr;
    if (event == nullptr || rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        count != 1 || rd_kafka_group_result_error(groups[0]) != nullptr) {
      // Read from 0 then: what the previous group read comes again, and
      // acknowledged items are dropped by id.
      log::Warning("kafka.previous_group_unreadable",
                   {{"group", group_id},
                    {"previous", previous},
                    {"error", event == nullptr ? "timed out"
                              : rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR
                                  ? rd_kafka_event_error_string(event.get())
                                  : "no group result"}});
      continue;
    }
    const rd_kafka_topic_partition_list_t* found = rd_kafka_group_result_partitions(groups[0]);
    for (int j = 0; found != nullptr && j < found->cnt; ++j) {
      const rd_kafka_topic_partition_t& f = found->elems[j];
      if (f.err != RD_KAFKA_RESP_ERR_NO_ERROR || f.offset < 0) continue;
      for (int i : indexes) {
        rd_kafka_topic_partition_t& p = list->elems[i];
        if (p.partition != f.partition || std::string_view(p.topic) != f.topic) continue;
        p.offset = f.offset;
        log::Info("kafka.offset_taken_over", {{"group", group_id},
                                              {"previous", previous},
                                              {"topic", f.topic},
                                              {"partition", f.partition},
                                              {"offset", f.offset}});
      }
    }
  }
}

bool Consumer::Impl::Cooperative() const {
  return cooperative && rk != nullptr &&
         std::string_view(rd_kafka_rebalance_protocol(rk.get())) == "COOPERATIVE";
}

void Consumer::Impl::Reassign(const Key& key) {
  if (Cooperative()) {
    // That partition alone: out of the assignment, back in at next[key].
    internal::PartitionListPtr one(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(one.get(), key.first.c_str(), key.second);
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk.get(), one.get()); e != nullptr) {
      log::Error("kafka.unassign_failed", {{"group", group_id}, {"error", rd_kafka_error_name(e)}});
      rd_kafka_error_destroy(e);
    }
    one->elems[0].offset = next[key];
    if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk.get(), one.get()); e != nullptr) {
      log::Error("kafka.assign_failed", {{"group", group_id}, {"error", rd_kafka_error_name(e)}});
      rd_kafka_error_destroy(e);
    }
    return;
  }
  // Every owned partition except the stopped (unresolved) ones, each from the
  // next offset the caller gets. Buffered records that were not handed out
  // yet are dropped by librdkafka and fetched again.
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
  for (const auto& [key, offset] : next) {
    if (unresolved.count(key) > 0) continue;
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::Error("kafka.assign_failed", {{"group", group_id}, {"error", rd_kafka_err2name(err)}});
  }
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(const ClientConfig& config,
                                                           const ConsumerOptions& options) {
  if (options.topics.empty()) {
    return absl::InvalidArgumentError("kafka ConsumerOptions.topics is empty");
  }
  if (auto it = config.properties.find("partition.assignment.strategy");
      it != config.properties.end() && absl::StrContains(it->second, "cooperative")) {
    return absl::InvalidArgumentError(
        "kafka property partition.assignment.strategy: set by the consumer (cooperative-sticky "
        "where its owner asks for it, eager elsewhere)");
  }
  auto impl = std::make_unique<Impl>();
  impl->cooperative = options.cooperative;
  impl->config = config;
  impl->reader_mode = options.group_id.empty();
  impl->group_id = impl->reader_mode ? ThrowawayGroupId(config.client_id) : options.group_id;

  internal::Properties defaults = {
      {"session.timeout.ms", absl::StrCat(options.session_timeout_ms)},
      {"heartbeat.interval.ms", absl::StrCat(options.heartbeat_interval_ms)},
      {"max.poll.interval.ms", absl::StrCat(options.max_poll_interval_ms)},
      // Eager by default: a rebalance revokes every partition and assigns
      // anew (the policy stage's revoke handling assumes it). Cooperative
      // where the owner asks (ConsumerOptions::cooperative): only the
      // partitions that move are revoked.
      {"partition.assignment.strategy",
       options.cooperative ? "cooperative-sticky" : "range,roundrobin"},
      {"enable.partition.eof", "false"},
  };
  // Long poll: Kafka holds a fetch until a record arrives (fetch.min.bytes 1)
  // or the wait ends, so an idle consumer sends about one fetch per broker
  // per wait and a record is handed over as soon as it is written. Only
  // against the mock is the wait short (it never answers an empty fetch early).
  defaults.push_back(
      {"fetch.wait.max.ms", absl::StrCat(config.fetch_wait_max_ms > 0 ? config.fetch_wait_max_ms
                                                                      : kLongPollFetchWaitMs)});
  defaults.push_back({"fetch.min.bytes", "1"});
  // A fetch is answered within fetch.wait.max.ms; a request unanswered for
  // 15 s means a node that went silent (cut off the network: no reset, no
  // close), and the consumer drops the connection and asks another node
  // who leads now. librdkafka's 60 s default held a partition led by a
  // node cut off that long (faults.KafkaNodeCutOffTheNetwork).
  defaults.push_back({"socket.timeout.ms", "15000"});
  // Offsets move only when the caller commits; a missing offset is an error
  // (reported as a gap), never a silent jump.
  internal::Properties invariants = {
      {"group.id", impl->group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "error"},
      // Records of transactions that were aborted, or are still open, are
      // never handed out (librdkafka's default, stated so that it cannot be
      // configured away): the policy stage's writes on real Kafka are
      // transactional. Committed offsets are fetched as stable ones
      // (KIP-447): a new owner waits for its predecessor's transaction.
      {"isolation.level", "read_committed"},
  };
  impl->before_revoke = options.before_revoke;
  impl->previous_group = options.previous_group;
  absl::StatusOr<internal::ConfPtr> conf = internal::NewConf(config, defaults, invariants);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  rd_kafka_conf_set_error_cb(conf->get(), &ErrorCallback);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), &OffsetCommitCallback);
  if (!impl->reader_mode) rd_kafka_conf_set_rebalance_cb(conf->get(), &RebalanceCallback);
  absl::StatusOr<internal::ClientPtr> rk = internal::NewClient(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  impl->rk = *std::move(rk);
  rd_kafka_poll_set_consumer(impl->rk.get());

  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(options.topics.size())));
  if (impl->reader_mode) {
    for (const std::string& topic : options.topics) {
      // On a real cluster a topic just created is not yet known to every
      // broker, and this client's metadata request may reach one that has not
      // learnt of it: UNKNOWN_TOPIC_OR_PART for a moment. Asked again until
      // kNewTopicGrace has passed; a topic that is really missing is NotFound.
      const absl::Time grace_ends = absl::Now() + kNewTopicGrace;
      absl::StatusOr<int> count =
          internal::TopicPartitionCount(impl->rk.get(), topic, kRequestTimeout);
      while (absl::IsNotFound(count.status()) && absl::Now() < grace_ends) {
        absl::SleepFor(absl::Milliseconds(100));
        count = internal::TopicPartitionCount(impl->rk.get(), topic, kRequestTimeout);
      }
      if (!count.ok()) return count.status();
      for (int32_t p = 0; p < *count; ++p) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        impl->next[{topic, p}] = RD_KAFKA_OFFSET_BEGINNING;
        impl->assigned_events.push_back({topic, p});
      }
    }
    absl::Status s = internal::ToStatus(rd_kafka_assign(impl->rk.get(), list.get()), "assign");
    if (!s.ok()) return s;
  } else {
    for (const std::string& topic : options.topics) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    absl::Status s =
        internal::ToStatus(rd_kafka_subscribe(impl->rk.get(), list.get()), "subscribe");
    if (!s.ok()) return s;
  }
  log::Info("kafka.consumer_started",
            {{"group", impl->group_id},
             {"mode", impl->reader_mode ? "reader" : "group"},
             {"topics", static_cast<int64_t>(options.topics.size())},
             {"fetch_wait_ms",
              config.fetch_wait_max_ms > 0 ? config.fetch_wait_max_ms : kLongPollFetchWaitMs}});
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() {
  if (!impl_->closed) (void)Close();
}

absl::StatusOr<PollResult> Consumer::Poll(absl::Duration timeout, size_t max_records) {
  Impl& impl = *impl_;
  if (impl.closed) return absl::FailedPreconditionError("kafka consumer is closed");
  if (max_records == 0) max_records = 1;
  PollResult result;
  // Partitions stopped by an earlier out-of-range error; retries stay
  // roughly within the caller's timeout.
  const absl::Duration retry_timeout = std::max(timeout, absl::Milliseconds(100));
  for (auto it = impl.unresolved.begin(); it != impl.unresolved.end();) {
    TopicPartition tp{it->first.first, it->first.second};
    Impl::Unresolved u = it->second;
    it = impl.unresolved.erase(it);
    if (!impl.Resolve(tp, u, retry_timeout, result)) impl.unresolved[{tp.topic, tp.partition}] = u;
  }
  bool ready = !result.gaps.empty();
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    // Wait for the first record; after it, only take what is already there.
    const int wait_ms = ready ? 0 : internal::ToMillis(deadline - absl::Now());
    internal::MessagePtr m(rd_kafka_consumer_poll(impl.rk.get(), wait_ms));
    if (!impl.assigned_events.empty() || !impl.revoked_events.empty()) {
      impl.TakeAssignmentEvents(result);
      ready = true;
    }
    if (m == nullptr) {
      if (ready || absl::Now() >= deadline) break;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      result.records.push_back(ToRecord(m.get()));
      auto it = impl.next.find({result.records.back().topic, m->partition});
      if (it != impl.next.end()) it->second = m->offset + 1;
      ready = true;
      if (result.records.size() >= max_records) break;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && m->rkt != nullptr) {
      impl.HandleOutOfRange({rd_kafka_topic_name(m->rkt), m->partition}, m->offset, result);
      ready = true;
      continue;
    }
    char reason[512];
    if (rd_kafka_fatal_error(impl.rk.get(), reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::Error("kafka.consumer.fatal", {{"group", impl.group_id}, {"detail", reason}});
      return absl::InternalError(absl::StrCat("kafka consumer fatal error: ", reason));
    }
    log::Warning("kafka.consumer_error",
                 {{"group", impl.group_id},
                  {"topic", m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : ""},
                  {"partition", m->partition},
                  {"error", rd_kafka_err2name(m->err)},
                  {"detail", rd_kafka_message_errstr(m.get())}});
  }
  return result;
}

absl::Status Consumer::Impl::DoCommit(const std::vector<CommitOffset>& offsets, bool async) {
  if (closed) return absl::FailedPreconditionError("kafka consumer is closed");
  if (reader_mode) {
    return absl::FailedPreconditionError("kafka commit: a reader-mode consumer has no group");
  }
  if (offsets.empty()) return absl::OkStatus();
  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const CommitOffset& c : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), c.tp.topic.c_str(), c.tp.partition)->offset =
        c.next_offset;
  }
  return internal::ToStatus(rd_kafka_commit(rk.get(), list.get(), async ? 1 : 0), "commit");
}

absl::Status Consumer::Commit(const std::vector<CommitOffset>& offsets) {
  return impl_->DoCommit(offsets, /*async=*/true);
}

absl::Status Consumer::CommitSync(const std::vector<CommitOffset>& offsets) {
  return impl_->DoCommit(offsets, /*async=*/false);
}

absl::StatusOr<std::pair<int64_t, int64_t>> Consumer::Watermarks(const TopicPartition& tp,
                                                                 absl::Duration timeout) {
  if (impl_->closed) return absl::FailedPreconditionError("kafka consumer is closed");
  absl::MutexLock lock(&impl_->marks_mu);
  if (impl_->marks == nullptr) {
    absl::StatusOr<internal::ClientPtr> marks = internal::NewWatermarkClient(impl_->config);
    if (!marks.ok()) return marks.status();
    impl_->marks = *std::move(marks);
  }
  int64_t low = -1;
  int64_t high = -1;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      impl_->marks.get(), tp.topic.c_str(), tp.partition, &low, &high, internal::ToMillis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ToStatus(err, absl::StrCat("watermarks of ", tp.topic, "/", tp.partition));
  }
  return std::make_pair(low, high);
}

std::pair<int64_t, int64_t> Consumer::CachedWatermarks(const TopicPartition& tp) const {
  int64_t low = -1;
  int64_t high = -1;
  if (!impl_->closed) {
    rd_kafka_get_watermark_offsets(impl_->rk.get(), tp.topic.c_str(), tp.partition, &low, &high);
  }
  return {low, high};
}

absl::StatusOr<std::vector<int64_t>> Consumer::EndOffsets(
    const std::vector<TopicPartition>& partitions, absl::Duration timeout) const {
  if (impl_->closed) return absl::FailedPreconditionError("kafka consumer is closed");
  std::vector<int64_t> out;
  if (partitions.empty()) return out;
  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartition& tp : partitions) {
    // A ListOffsets "timestamp" of -1 asks for the end (as
    // rd_kafka_query_watermark_offsets does), with the client's isolation
    // level; one request per leader for all the partitions.
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
        RD_KAFKA_OFFSET_END;
  }
  rd_kafka_resp_err_t err =
      rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), internal::ToMillis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string named;  // the first few, "topic/partition"
    for (size_t i = 0; i < partitions.size() && i < 4; ++i) {
      absl::StrAppend(&named, i == 0 ? "" : ", ", partitions[i].topic, "/",
                      partitions[i].partition);
    }
    if (partitions.size() > 4) absl::StrAppend(&named, " and ", partitions.size() - 4, " more");
    return internal::ToStatus(err, absl::StrCat("end offsets of ", named));
  }
  out.reserve(partitions.size());
  for (const TopicPartition& tp : partitions) {
    const rd_kafka_topic_partition_t* found =
        rd_kafka_topic_partition_list_find(list.get(), tp.topic.c_str(), tp.partition);
    if (found == nullptr || found->err != RD_KAFKA_RESP_ERR_NO_ERROR || found->offset < 0) {
      return internal::ToStatus(
          found == nullptr ? RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION : found->err,
          absl::StrCat("end offset of ", tp.topic, "/", tp.partition));
    }
    out.push_back(found->offset);
  }
  return out;
}

std::vector<int64_t> Consumer::Positions(const std::vector<TopicPartition>& partitions) const {
  std::vector<int64_t> out(partitions.size(), -1);
  if (impl_->closed || partitions.empty()) return out;
  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  }
  if (rd_kafka_position(impl_->rk.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const int64_t at = list->elems[i].offset;
    if (list->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && at >= 0) out[i] = at;
  }
  return out;
}

absl::StatusOr<GroupMetadata> Consumer::CurrentGroupMetadata() const {
  if (impl_->reader_mode) {
    return absl::FailedPreconditionError("group metadata of a consumer in reader mode (no group)");
  }
  rd_kafka_consumer_group_metadata_t* md = rd_kafka_consumer_group_metadata(impl_->rk.get());
  if (md == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("group ", impl_->group_id, ": no group metadata (consumer closed?)"));
  }
  GroupMetadata out;
  out.md_.reset(md, &rd_kafka_consumer_group_metadata_destroy);
  return out;
}

std::vector<TopicPartition> Consumer::Assignment() const {
  // The partitions we own, including any stopped while an out-of-range
  // position is being resolved (librdkafka's own assignment omits those).
  std::vector<TopicPartition> out;
  if (impl_->closed) return out;
  for (const auto& entry : impl_->next) out.push_back({entry.first.first, entry.first.second});
  return out;
}

absl::Status Consumer::Subscribe(const std::vector<std::string>& topics) {
  Impl& impl = *impl_;
  if (impl.closed) return absl::FailedPreconditionError("kafka consumer is closed");
  if (impl.reader_mode) {
    return absl::FailedPreconditionError("kafka subscribe: a reader-mode consumer has no group");
  }
  if (topics.empty()) return internal::ToStatus(rd_kafka_unsubscribe(impl.rk.get()), "unsubscribe");
  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const std::string& topic : topics) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  return internal::ToStatus(rd_kafka_subscribe(impl.rk.get(), list.get()), "subscribe");
}

namespace {

internal::PartitionListPtr ListOf(const std::vector<TopicPartition>& partitions) {
  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(std::max<size_t>(partitions.size(), 1))));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  }
  return list;
}

}  // namespace

absl::Status Consumer::Pause(const std::vector<TopicPartition>& partitions) {
  if (impl_->closed) return absl::FailedPreconditionError("kafka consumer is closed");
  if (partitions.empty()) return absl::OkStatus();
  internal::PartitionListPtr list = ListOf(partitions);
  return internal::ToStatus(rd_kafka_pause_partitions(impl_->rk.get(), list.get()), "pause");
}

absl::Status Consumer::Resume(const std::vector<TopicPartition>& partitions) {
  Impl& impl = *impl_;
  if (impl.closed) return absl::FailedPreconditionError("kafka consumer is closed");
  if (partitions.empty()) return absl::OkStatus();
  internal::PartitionListPtr list = ListOf(partitions);
  absl::Status s =
      internal::ToStatus(rd_kafka_resume_partitions(impl.rk.get(), list.get()), "resume");
  if (!s.ok()) return s;
  // From the offset after the last record handed out, whatever librdkafka
  // had fetched before the pause.
  for (const TopicPartition& tp : partitions) {
    auto it = impl.next.find({tp.topic, tp.partition});
    if (it == impl.next.end() || it->second < 0) continue;
    absl::Status sought = Seek(tp, it->second);
    if (!sought.ok()) return sought;
  }
  return absl::OkStatus();
}

absl::Status Consumer::Seek(const TopicPartition& tp, int64_t offset) {
  Impl& impl = *impl_;
  if (impl.closed) return absl::FailedPreconditionError("kafka consumer is closed");
  auto it = impl.next.find({tp.topic, tp.partition});
  if (it == impl.next.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("kafka seek: ", tp.topic, "/", tp.partition, " is not owned"));
  }
  it->second = offset;
  if (auto u = impl.unresolved.find({tp.topic, tp.partition}); u != impl.unresolved.end()) {
    // Stopped while an out-of-range position is resolved: resolved from here.
    u->second.from = offset;
    return absl::OkStatus();
  }
  internal::PartitionListPtr list = ListOf({tp});
  list->elems[0].offset = offset;
  rd_kafka_error_t* e =
      rd_kafka_seek_partitions(impl.rk.get(), list.get(), internal::ToMillis(kRequestTimeout));
  if (e != nullptr) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("kafka seek ", tp.topic, "/", tp.partition, ": ", rd_kafka_error_string(e)));
    rd_kafka_error_destroy(e);
    return s;
  }
  if (list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ToStatus(list->elems[0].err,
                              absl::StrCat("seek ", tp.topic, "/", tp.partition));
  }
  return absl::OkStatus();
}

absl::Status Consumer::Close() {
  Impl& impl = *impl_;
  if (impl.closed) return absl::OkStatus();
  impl.closed = true;
  // Leaves the group (the rebalance callback sees the final revoke).
  absl::Status s = internal::ToStatus(rd_kafka_consumer_close(impl.rk.get()), "close");
  impl.rk.reset();
  log::Info("kafka.consumer_closed", {{"group", impl.group_id}});
  return s;
}

}  // namespace liaison::kafka
