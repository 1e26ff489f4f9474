// CreateTopics and PartitionCount (declared in consumer.h), ListTopics,
// DeleteTopics and RecordDeleter (admin.h).
#include "connectors/kafka/admin.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/internal/client.h"
#include "connectors/kafka/internal/errors.h"

namespace liaison::kafka {
namespace {

struct NewTopicsDeleter {
  size_t count;
  void operator()(rd_kafka_NewTopic_t** topics) const {
    rd_kafka_NewTopic_destroy_array(topics, count);
    delete[] topics;
  }
};
absl::StatusOr<internal::ClientPtr> AdminClient(const ClientConfig& config) {
  absl::StatusOr<internal::ConfPtr> conf =
      internal::NewConf(config, {{internal::kNoAutoCreate, "false"}}, {});
  if (!conf.ok()) return conf.status();
  // Connection errors queue up as events (internal::DrainConnectionErrors).
  rd_kafka_conf_set_events(conf->get(), RD_KAFKA_EVENT_ERROR);
  return internal::NewClient(RD_KAFKA_PRODUCER, *std::move(conf));
}

}  // namespace

// The mock cluster (EmbeddedCluster) does not implement the CreateTopics
// request: this is for real clusters. Against the mock the admin request waits
// for a controller the mock never names and ends with DeadlineExceeded.
absl::Status CreateTopics(const ClientConfig& config, const std::vector<TopicSpec>& topics,
                          absl::Duration timeout) {
  if (topics.empty()) return absl::OkStatus();
  absl::StatusOr<internal::ClientPtr> rk = AdminClient(config);
  if (!rk.ok()) return rk.status();

  std::unique_ptr<rd_kafka_NewTopic_t*[], NewTopicsDeleter> new_topics(
      new rd_kafka_NewTopic_t* [topics.size()](), NewTopicsDeleter { 0 });
  char err[512];
  for (const TopicSpec& spec : topics) {
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                                                   spec.replication_factor, err, sizeof err);
    if (t == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("kafka create topic ", spec.name, ": ", err));
    }
    new_topics[new_topics.get_deleter().count++] = t;
    for (const auto& [key, value] : spec.configs) {
      absl::Status s =
          internal::ToStatus(rd_kafka_NewTopic_set_config(t, key.c_str(), value.c_str()),
                             absl::StrCat("config ", key, " of topic ", spec.name));
      if (!s.ok()) return s;
    }
  }
  internal::AdminOptionsPtr options(
      rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  const int ms = internal::ToMillis(timeout);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), ms, err, sizeof err);
  // Wait until the controller has created them, so they are usable on return.
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), ms, err, sizeof err);

  internal::QueuePtr queue(rd_kafka_queue_new(rk->get()));
  rd_kafka_CreateTopics(rk->get(), new_topics.get(), topics.size(), options.get(), queue.get());
  // The request timeout fires inside librdkafka; leave it room to report.
  internal::EventPtr ev(rd_kafka_queue_poll(queue.get(), ms + 1000));
  if (ev == nullptr) {
    return internal::WithBootstrap(
        absl::DeadlineExceededError("kafka create topics: no answer within the timeout"),
        config.bootstrap_servers, internal::DrainConnectionErrors(rk->get()));
  }
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Kafka unreachable (at a broker's start, typically): say where and why.
    return internal::WithBootstrap(
        internal::ToStatus(rd_kafka_event_error(ev.get()), "create topics",
                           rd_kafka_event_error_string(ev.get())),
        config.bootstrap_servers, internal::DrainConnectionErrors(rk->get()));
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(ev.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      result != nullptr ? rd_kafka_CreateTopics_result_topics(result, &count) : nullptr;
  absl::Status status;
  std::vector<std::string> created;
  for (size_t i = 0; i < count; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    const char* name = rd_kafka_topic_result_name(results[i]);
    if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      created.push_back(name);  // perhaps by another client a moment ago
      continue;
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      if (status.ok()) {
        status = internal::ToStatus(e, absl::StrCat("create topic ", name),
                                    msg != nullptr ? msg : rd_kafka_err2str(e));
      }
      continue;
    }
    log::Info("kafka.topic_created", {{"topic", name}});
    created.push_back(name);
  }
  if (!status.ok()) return status;
  // The controller has created them, but on a real cluster each broker learns
  // of a new topic a little later, and a metadata request may reach one that
  // has not yet: wait until several requests in a row (librdkafka spreads
  // them over the brokers) list every topic, so callers can use them at once.
  const absl::Time deadline = absl::Now() + timeout;
  for (const std::string& name : created) {
    int seen = 0;
    while (seen < 3) {
      absl::StatusOr<int> n = internal::TopicPartitionCount(rk->get(), name, absl::Seconds(5));
      seen = n.ok() && *n > 0 ? seen + 1 : 0;
      if (seen == 0 && absl::Now() > deadline) {
        return internal::WithBootstrap(
            absl::DeadlineExceededError(absl::StrCat("kafka: topic ", name,
                                                     " created but not yet in the metadata of "
                                                     "every broker")),
            config.bootstrap_servers, internal::DrainConnectionErrors(rk->get()));
      }
      if (seen == 0) absl::SleepFor(absl::Milliseconds(100));
    }
  }
  return status;
}

absl::StatusOr<int> PartitionCount(const ClientConfig& config, const std::string& topic,
                                   absl::Duration timeout) {
  absl::StatusOr<internal::ClientPtr> rk = AdminClient(config);
  if (!rk.ok()) return rk.status();
  return internal::TopicPartitionCount(rk->get(), topic, timeout);
}

absl::StatusOr<std::vector<std::string>> ListTopics(const ClientConfig& config,
                                                    absl::Duration timeout) {
  absl::StatusOr<internal::ClientPtr> rk = AdminClient(config);
  if (!rk.ok()) return rk.status();
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk->get(), /*all_topics=*/1, nullptr, &md, internal::ToMillis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::WithBootstrap(internal::ToStatus(err, "metadata for every topic"),
                                   config.bootstrap_servers,
                                   internal::DrainConnectionErrors(rk->get()));
  }
  std::vector<std::string> names;
  names.reserve(md->topic_cnt);
  for (int i = 0; i < md->topic_cnt; ++i) names.emplace_back(md->topics[i].topic);
  rd_kafka_metadata_destroy(md);
  return names;
}

absl::Status DeleteTopics(const ClientConfig& config, const std::vector<std::string>& topics,
                          absl::Duration timeout) {
  if (topics.empty()) return absl::OkStatus();
  absl::StatusOr<internal::ClientPtr> rk = AdminClient(config);
  if (!rk.ok()) return rk.status();
  std::vector<rd_kafka_DeleteTopic_t*> del;
  del.reserve(topics.size());
  for (const std::string& name : topics) del.push_back(rd_kafka_DeleteTopic_new(name.c_str()));
  internal::AdminOptionsPtr options(
      rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_DELETETOPICS));
  char err[512];
  const int ms = internal::ToMillis(timeout);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), ms, err, sizeof err);
  internal::QueuePtr queue(rd_kafka_queue_new(rk->get()));
  rd_kafka_DeleteTopics(rk->get(), del.data(), del.size(), options.get(), queue.get());
  rd_kafka_DeleteTopic_destroy_array(del.data(), del.size());
  internal::EventPtr ev(rd_kafka_queue_poll(queue.get(), ms + 1000));
  if (ev == nullptr) {
    return internal::WithBootstrap(
        absl::DeadlineExceededError("kafka delete topics: no answer within the timeout"),
        config.bootstrap_servers, internal::DrainConnectionErrors(rk->get()));
  }
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::WithBootstrap(
        internal::ToStatus(rd_kafka_event_error(ev.get()), "delete topics",
                           rd_kafka_event_error_string(ev.get())),
        config.bootstrap_servers, internal::DrainConnectionErrors(rk->get()));
  }
  const rd_kafka_DeleteTopics_result_t* result = rd_kafka_event_DeleteTopics_result(ev.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      result != nullptr ? rd_kafka_DeleteTopics_result_topics(result, &count) : nullptr;
  size_t deleted = 0;
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    const char* name = rd_kafka_topic_result_name(results[i]);
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;  // gone already
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return internal::ToStatus(e, absl::StrCat("delete topic ", name),
                                msg != nullptr ? msg : rd_kafka_err2str(e));
    }
    ++deleted;
  }
  log::Info("kafka.topics_deleted",
            {{"deleted", absl::StrCat(deleted)}, {"first", topics.front()}});
  return absl::OkStatus();
}

struct RecordDeleter::Impl {
  ClientConfig config;
  internal::ClientPtr rk;

  absl::Status Failed(absl::Status status) {
    return internal::WithBootstrap(status, config.bootstrap_servers,
                                   internal::DrainConnectionErrors(rk.get()));
  }
};

RecordDeleter::RecordDeleter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecordDeleter::~RecordDeleter() = default;

absl::StatusOr<std::unique_ptr<RecordDeleter>> RecordDeleter::Create(const ClientConfig& config) {
  absl::StatusOr<internal::ClientPtr> rk = AdminClient(config);
  if (!rk.ok()) return rk.status();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->rk = *std::move(rk);
  return std::unique_ptr<RecordDeleter>(new RecordDeleter(std::move(impl)));
}

absl::StatusOr<std::pair<int64_t, int64_t>> RecordDeleter::Watermarks(const TopicPartition& tp,
                                                                      absl::Duration timeout) {
  int64_t low = -1, high = -1;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      impl_->rk.get(), tp.topic.c_str(), tp.partition, &low, &high, internal::ToMillis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return impl_->Failed(internal::ToStatus(
        err, absl::StrCat("watermarks of ", tp.topic, " partition ", tp.partition)));
  }
  return std::make_pair(low, high);
}

absl::StatusOr<int64_t> RecordDeleter::OffsetAtTime(const TopicPartition& tp, absl::Time t,
                                                    absl::Duration timeout) {
  const std::string context =
      absl::StrCat("offset by time of ", tp.topic, " partition ", tp.partition);
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset =
      absl::ToUnixMillis(t);
  rd_kafka_resp_err_t err =
      rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), internal::ToMillis(timeout));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return impl_->Failed(internal::ToStatus(err, context));
  const int64_t offset = list->elems[0].offset;
  if (offset >= 0) return offset;
  // No record at or after `t` (Kafka answers -1): every record is older.
  absl::StatusOr<std::pair<int64_t, int64_t>> marks = Watermarks(tp, timeout);
  if (!marks.ok()) return marks.status();
  return marks->second;
}

absl::StatusOr<int64_t> RecordDeleter::DeleteBefore(const TopicPartition& tp, int64_t before,
                                                    absl::Duration timeout) {
  const std::string context = absl::StrCat("delete records of ", tp.topic, " partition ",
                                           tp.partition, " below offset ", before);
  if (before < 0) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": a negative offset"));
  }
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = before;
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(list.get());
  internal::AdminOptionsPtr options(
      rd_kafka_AdminOptions_new(impl_->rk.get(), RD_KAFKA_ADMIN_OP_DELETERECORDS));
  char err[512];
  const int ms = internal::ToMillis(timeout);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), ms, err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), ms, err, sizeof err);
  internal::QueuePtr queue(rd_kafka_queue_new(impl_->rk.get()));
  rd_kafka_DeleteRecords(impl_->rk.get(), &del, 1, options.get(), queue.get());
  rd_kafka_DeleteRecords_destroy(del);
  internal::EventPtr ev(rd_kafka_queue_poll(queue.get(), ms + 1000));
  if (ev == nullptr) {
    return impl_->Failed(
        absl::DeadlineExceededError(absl::StrCat("kafka ", context, ": no answer in time")));
  }
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return impl_->Failed(internal::ToStatus(rd_kafka_event_error(ev.get()), context,
                                            rd_kafka_event_error_string(ev.get())));
  }
  const rd_kafka_DeleteRecords_result_t* result = rd_kafka_event_DeleteRecords_result(ev.get());
  const rd_kafka_topic_partition_list_t* offsets =
      result != nullptr ? rd_kafka_DeleteRecords_result_offsets(result) : nullptr;
  if (offsets == nullptr || offsets->cnt != 1) {
    return absl::InternalError(absl::StrCat("kafka ", context, ": no result for the partition"));
  }
  const rd_kafka_topic_partition_t& r = offsets->elems[0];
  if (r.err != RD_KAFKA_RESP_ERR_NO_ERROR) return impl_->Failed(internal::ToStatus(r.err, context));
  return r.offset;
}

}  // namespace liaison::kafka
