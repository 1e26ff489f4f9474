#include "connectors/kafka/cluster_probe.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/kafka/internal/client.h"
#include "connectors/kafka/internal/errors.h"

namespace liaison::kafka {
namespace {

// rd_kafka_query_watermark_offsets waits for its ListOffsets requests to
// answer or time out whatever timeout it is given: while a partition's
// leader is down that is socket.timeout.ms (60 s by default). The probe's own
// clients time requests out sooner, so that a probe (and a broker node
// shutting down during a Kafka outage) never waits for a minute.
const std::pair<std::string, std::string> kRequestTimeout = {"socket.timeout.ms", "2000"};

// A consumer handle of `group` which never subscribes (so it never joins
// the group or disturbs its members), for reading the group's committed
// offsets: OffsetFetch through the group coordinator, the path every Liaison
// consumer takes. Deliberately not the Admin API: librdkafka 2.0.2's
// ListConsumerGroupOffsets aborts the process when a broker goes away while
// a request is outstanding (confluentinc/librdkafka#3663, #4605). The probe
// keeps one handle per group for its lifetime: a group handle's destroy
// tears its coordinator down, which in librdkafka 2.0.2 can race the
// terminating broker threads and abort (rd_kafka_broker_destroy_final's
// thread assertion), so such handles are made once, not every round.
absl::StatusOr<internal::ClientPtr> GroupHandle(const ClientConfig& config,
                                                const std::string& group) {
  absl::StatusOr<internal::ConfPtr> conf =
      internal::NewConf(config, {{"enable.partition.eof", "false"}, kRequestTimeout},
                        {{"group.id", group},
                         {"enable.auto.commit", "false"},
                         {"enable.auto.offset.store", "false"},
                         {"auto.offset.reset", "error"}});
  if (!conf.ok()) return conf.status();
  return internal::NewClient(RD_KAFKA_CONSUMER, *std::move(conf));
}

absl::StatusOr<std::map<int32_t, int64_t>> Committed(rd_kafka_t* rk, const std::string& group,
                                                     const std::string& topic, int partitions,
                                                     absl::Duration timeout) {
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(partitions));
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  }
  const rd_kafka_resp_err_t err = rd_kafka_committed(rk, list.get(), internal::ToMillis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ToStatus(err, absl::StrCat("committed offsets of group ", group));
  }
  std::map<int32_t, int64_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    if (tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.offset >= 0) out[tp.partition] = tp.offset;
  }
  return out;
}

// Low and high watermarks of every partition of `topic`, by ListOffsets for
// the earliest (-2) and latest (-1) offsets. rd_kafka_offsets_for_times
// honours its timeout; rd_kafka_query_watermark_offsets does not while a
// partition's leader is down (it waits for the request itself to fail).
absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> Watermarks(rd_kafka_t* rk,
                                                                    const std::string& topic,
                                                                    int partitions,
                                                                    absl::Duration timeout) {
  std::vector<std::pair<int64_t, int64_t>> out(static_cast<size_t>(partitions), {0, 0});
  for (const int64_t which : {RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END}) {
    internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(partitions));
    for (int32_t p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = which;
    }
    const rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(rk, list.get(), internal::ToMillis(timeout));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ToStatus(err, absl::StrCat("offsets of ", topic));
    }
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return internal::ToStatus(tp.err, absl::StrCat("offsets of ", topic, "/", tp.partition));
      }
      if (tp.partition < 0 || tp.partition >= partitions) continue;
      auto& mark = out[static_cast<size_t>(tp.partition)];
      (which == RD_KAFKA_OFFSET_BEGINNING ? mark.first : mark.second) = tp.offset;
    }
  }
  return out;
}

}  // namespace

struct ClusterProbe::Impl {
  struct NoCloseDeleter {  // never subscribed: nothing to leave
    void operator()(rd_kafka_t* rk) const {
      rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
  };
  ClientConfig config;
  internal::ClientPtr rk;
  std::map<std::string, std::unique_ptr<rd_kafka_t, NoCloseDeleter>> groups;
};

ClusterProbe::ClusterProbe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterProbe::~ClusterProbe() = default;

absl::StatusOr<std::unique_ptr<ClusterProbe>> ClusterProbe::Create(const ClientConfig& config) {
  // A producer handle that never produces: the cheapest client that can ask
  // for metadata and watermarks. Committed offsets need a consumer handle of
  // the group (see Committed).
  absl::StatusOr<internal::ConfPtr> conf =
      internal::NewConf(config, {{internal::kNoAutoCreate, "false"}, kRequestTimeout}, {});
  if (!conf.ok()) return conf.status();
  // Connection errors queue up as events, read by Partitions (see there).
  rd_kafka_conf_set_events(conf->get(), RD_KAFKA_EVENT_ERROR);
  absl::StatusOr<internal::ClientPtr> rk = internal::NewClient(RD_KAFKA_PRODUCER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->rk = *std::move(rk);
  return std::unique_ptr<ClusterProbe>(new ClusterProbe(std::move(impl)));
}

absl::StatusOr<int> ClusterProbe::Partitions(const std::string& topic, absl::Duration timeout) {
  absl::StatusOr<int> partitions = internal::TopicPartitionCount(impl_->rk.get(), topic, timeout);
  // Drained on every call, so that only errors since the last call count.
  const std::string connection_error = internal::DrainConnectionErrors(impl_->rk.get());
  if (partitions.ok() || partitions.status().code() == absl::StatusCode::kNotFound) {
    return partitions;
  }
  // Unreachable: name the bootstrap address and what failed (TLS, refused...).
  return internal::WithBootstrap(partitions.status(), impl_->config.bootstrap_servers,
                                 connection_error);
}

absl::StatusOr<int64_t> ClusterProbe::Records(const std::string& topic, absl::Duration timeout) {
  return SumWatermarks(topic, timeout, /*from_low=*/true);
}

absl::StatusOr<int64_t> ClusterProbe::Written(const std::string& topic, absl::Duration timeout) {
  return SumWatermarks(topic, timeout, /*from_low=*/false);
}

absl::StatusOr<int64_t> ClusterProbe::SumWatermarks(const std::string& topic,
                                                    absl::Duration timeout, bool from_low) {
  absl::StatusOr<int> partitions = Partitions(topic, timeout);
  if (!partitions.ok()) return partitions.status();
  absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> marks =
      Watermarks(impl_->rk.get(), topic, *partitions, timeout);
  if (!marks.ok()) return marks.status();
  int64_t total = 0;
  for (const auto& [low, high] : *marks)
    total += std::max<int64_t>(0, from_low ? high - low : high);
  return total;
}

absl::StatusOr<int64_t> ClusterProbe::GroupLag(const std::string& group, const std::string& topic,
                                               absl::Duration timeout) {
  absl::StatusOr<int> partitions = Partitions(topic, timeout);
  if (!partitions.ok()) return partitions.status();
  auto& handle = impl_->groups[group];
  if (handle == nullptr) {
    absl::StatusOr<internal::ClientPtr> made = GroupHandle(impl_->config, group);
    if (!made.ok()) {
      impl_->groups.erase(group);
      return made.status();
    }
    handle.reset(made->release());
  }
  absl::StatusOr<std::map<int32_t, int64_t>> committed =
      Committed(handle.get(), group, topic, *partitions, timeout);
  if (!committed.ok()) return committed.status();
  absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> marks =
      Watermarks(impl_->rk.get(), topic, *partitions, timeout);
  if (!marks.ok()) return marks.status();
  int64_t lag = 0;
  for (int32_t p = 0; p < *partitions; ++p) {
    const auto [low, high] = (*marks)[static_cast<size_t>(p)];
    auto it = committed->find(p);
    const int64_t at = it == committed->end() ? low : std::max(low, it->second);
    lag += std::max<int64_t>(0, high - at);
  }
  return lag;
}

}  // namespace liaison::kafka
