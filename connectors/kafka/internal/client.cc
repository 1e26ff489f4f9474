#include "connectors/kafka/internal/client.h"

#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "connectors/kafka/internal/errors.h"

namespace liaison::kafka::internal {
namespace {

absl::Status Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    // librdkafka's text may echo the value: name the property only.
    return absl::InvalidArgumentError(
        absl::StrCat("kafka property ", key, " is unknown or has an invalid value"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ConfPtr> NewConf(const ClientConfig& config, const Properties& role_defaults,
                                const Properties& invariants) {
  if (config.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka ClientConfig.bootstrap_servers is empty");
  }
  for (const auto& [key, value] : invariants) {
    auto it = config.properties.find(key);
    if (it != config.properties.end() && it->second != value) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka property ", key, " is fixed by Liaison and may not be overridden"));
    }
  }
  ConfPtr conf(rd_kafka_conf_new());
  Properties defaults = {
      {"bootstrap.servers", config.bootstrap_servers},
      {"client.id", config.client_id.empty() ? std::string("liaison") : config.client_id},
      {"socket.keepalive.enable", "true"},
      // TCP_NODELAY, as Kafka's own Java clients and brokers set it. With
      // Nagle on (librdkafka's default), a request written in more than one
      // segment (a TLS record split, a batch after its header) waits for the
      // ACK of the first, which the peer delays up to 40 ms on Linux: every
      // produce and fetch over TLS took ~40 ms on an idle real cluster.
      {"socket.nagle.disable", "true"},
      {"statistics.interval.ms", "0"},
  };
  for (const auto& [key, value] : defaults) {
    if (absl::Status s = Set(conf.get(), key, value); !s.ok()) return s;
  }
  for (const auto& [key, value] : role_defaults) {
    if (absl::Status s = Set(conf.get(), key, value); !s.ok()) return s;
  }
  for (const auto& [key, value] : config.properties) {
    if (absl::Status s = Set(conf.get(), key, value); !s.ok()) return s;
  }
  for (const auto& [key, value] : invariants) {
    if (absl::Status s = Set(conf.get(), key, value); !s.ok()) return s;
  }
  rd_kafka_conf_set_log_cb(conf.get(), &LogCallback);
  return conf;
}

absl::StatusOr<ClientPtr> NewClient(rd_kafka_type_t type, ConfPtr conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) {
    // rd_kafka_new reports inconsistent settings here (names, not secrets).
    return absl::InvalidArgumentError(absl::StrCat("kafka client: ", err));
  }
  conf.release();  // rd_kafka_new took it
  return ClientPtr(rk);
}

void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  log::Level ours = level <= 3   ? log::Level::kError
                    : level == 4 ? log::Level::kWarning
                    : level <= 6 ? log::Level::kInfo
                                 : log::Level::kDebug;
  if (!log::Enabled(ours)) return;
  log::Write(ours, "kafka.librdkafka",
             {{"client", rd_kafka_name(rk)}, {"facility", facility}, {"detail", text}});
}

void LogClientError(rd_kafka_t* rk, rd_kafka_resp_err_t err, const char* reason) {
  // Broker connection trouble is normal operation for a client (it
  // reconnects); a fatal error is not.
  const bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
  log::Write(fatal ? log::Level::kError : log::Level::kWarning, "kafka.client_error",
             {{"client", rd_kafka_name(rk)},
              {"error", rd_kafka_err2name(err)},
              {"fatal", fatal},
              {"detail", reason != nullptr ? reason : ""}});
}

int ToMillis(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

absl::StatusOr<int> TopicPartitionCount(rd_kafka_t* rk, const std::string& topic,
                                        absl::Duration timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) {
    return ToStatus(rd_kafka_last_error(), absl::StrCat("topic handle for ", topic));
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, ToMillis(timeout));
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ToStatus(err, absl::StrCat("metadata for topic ", topic));
  }
  absl::StatusOr<int> result =
      absl::NotFoundError(absl::StrCat("kafka metadata: topic ", topic, " not returned"));
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (std::strcmp(t.topic, topic.c_str()) != 0) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = ToStatus(t.err, absl::StrCat("metadata for topic ", topic));
    } else {
      result = t.partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  return result;
}

std::string DrainConnectionErrors(rd_kafka_t* rk) {
  QueuePtr queue(rd_kafka_queue_get_main(rk));
  std::string last;
  while (EventPtr ev{rd_kafka_queue_poll(queue.get(), 0)}) {
    if (rd_kafka_event_type(ev.get()) != RD_KAFKA_EVENT_ERROR) continue;
    const rd_kafka_resp_err_t err = rd_kafka_event_error(ev.get());
    const char* reason = rd_kafka_event_error_string(ev.get());
    std::string described = DescribeConnectionError(err, reason != nullptr ? reason : "");
    if (!described.empty()) last = std::move(described);
  }
  return last;
}

}  // namespace liaison::kafka::internal
