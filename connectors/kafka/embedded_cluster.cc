#include "connectors/kafka/embedded_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "connectors/kafka/internal/client.h"
#include "connectors/kafka/internal/errors.h"

namespace liaison::kafka {

struct EmbeddedCluster::Impl {
  absl::Status CheckBroker(int32_t broker_id) const {
    if (broker_id < 1 || broker_id > brokers) {
      return absl::InvalidArgumentError(
          absl::StrCat("embedded kafka: no broker ", broker_id, " (ids are 1..", brokers, ")"));
    }
    return absl::OkStatus();
  }
  // The mock creates a topic it does not know when asked to change it; we
  // refuse instead, so a typo in a test does not pass silently.
  absl::StatusOr<int> KnownTopic(const std::string& topic) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    auto it = topics.find(topic);
    if (it == topics.end()) {
      return absl::NotFoundError(
          absl::StrCat("embedded kafka: topic ", topic, " was not created with CreateTopic"));
    }
    return it->second;
  }

  // librdkafka 2.0.2's mock thread can lose the wake-up of a control call
  // issued right after the previous one returned: the mock drains its wake-up
  // pipe only after it has answered, so a byte written in between is eaten
  // and the new call waits for the mock's 1 s poll timeout. Keeping calls
  // ~2 ms apart gives the mock thread time to drain first.
  void Space() ABSL_LOCKS_EXCLUDED(mu) {
    absl::Time wait_until;
    {
      absl::MutexLock lock(&mu);
      wait_until = last_call + absl::Milliseconds(2);
    }
    absl::Duration d = wait_until - absl::Now();
    if (d > absl::ZeroDuration()) absl::SleepFor(d);
  }
  void CallDone() ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    last_call = absl::Now();
  }
  // Runs one mock control call with the spacing above.
  template <typename F>
  auto Call(F f) {
    Space();
    auto result = f();
    CallDone();
    return result;
  }

  int brokers = 0;
  // The mock cluster lives in (and is served by threads of) this otherwise
  // idle client handle.
  internal::ClientPtr host;
  rd_kafka_mock_cluster_t* mock = nullptr;
  std::string bootstrap;

  absl::Mutex mu;
  std::map<std::string, int> topics ABSL_GUARDED_BY(mu);  // name -> partitions
  absl::Time last_call ABSL_GUARDED_BY(mu) = absl::InfinitePast();
};

absl::StatusOr<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::Start(int brokers) {
  if (brokers < 1) return absl::InvalidArgumentError("embedded kafka: brokers must be >= 1");
  internal::ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  if (rd_kafka_conf_set(conf.get(), "client.id", "liaison-embedded-kafka", err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    return absl::InternalError(absl::StrCat("embedded kafka: ", err));
  }
  rd_kafka_conf_set_log_cb(conf.get(), &internal::LogCallback);
  absl::StatusOr<internal::ClientPtr> host =
      internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf));
  if (!host.ok()) return host.status();

  auto impl = std::make_unique<Impl>();
  impl->brokers = brokers;
  impl->host = *std::move(host);
  impl->mock = rd_kafka_mock_cluster_new(impl->host.get(), brokers);
  if (impl->mock == nullptr) {
    return absl::InternalError("embedded kafka: rd_kafka_mock_cluster_new failed (see log)");
  }
  impl->bootstrap = rd_kafka_mock_cluster_bootstraps(impl->mock);
  log::Info("kafka.embedded_started", {{"brokers", brokers}, {"bootstrap", impl->bootstrap}});
  return std::unique_ptr<EmbeddedCluster>(new EmbeddedCluster(std::move(impl)));
}

EmbeddedCluster::EmbeddedCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EmbeddedCluster::~EmbeddedCluster() {
  // (May take up to ~1 s in librdkafka 2.0.2: the mock's internal broker
  // thread notices its termination on a 1 s poll.)
  impl_->Space();
  rd_kafka_mock_cluster_destroy(impl_->mock);
  impl_->host.reset();
}

const std::string& EmbeddedCluster::bootstrap_servers() const { return impl_->bootstrap; }

absl::Status EmbeddedCluster::CreateTopic(const std::string& topic, int partitions,
                                          int replication_factor) {
  if (topic.empty() || partitions < 1 || replication_factor < 1) {
    return absl::InvalidArgumentError(
        "embedded kafka: a topic needs a name, >= 1 partition and replication factor >= 1");
  }
  absl::Status s = internal::ToStatus(impl_->Call([&] {
    return rd_kafka_mock_topic_create(impl_->mock, topic.c_str(), partitions, replication_factor);
  }),
                                      absl::StrCat("create topic ", topic));
  if (!s.ok()) return s;
  absl::MutexLock lock(&impl_->mu);
  impl_->topics[topic] = partitions;
  return absl::OkStatus();
}

absl::Status EmbeddedCluster::SetBrokerDown(int32_t broker_id) {
  if (absl::Status s = impl_->CheckBroker(broker_id); !s.ok()) return s;
  log::Info("kafka.embedded_broker_down", {{"broker", broker_id}});
  return internal::ToStatus(
      impl_->Call([&] { return rd_kafka_mock_broker_set_down(impl_->mock, broker_id); }),
      "mock broker down");
}

absl::Status EmbeddedCluster::SetBrokerUp(int32_t broker_id) {
  if (absl::Status s = impl_->CheckBroker(broker_id); !s.ok()) return s;
  log::Info("kafka.embedded_broker_up", {{"broker", broker_id}});
  return internal::ToStatus(
      impl_->Call([&] { return rd_kafka_mock_broker_set_up(impl_->mock, broker_id); }),
      "mock broker up");
}

absl::Status EmbeddedCluster::SetBrokerRtt(int32_t broker_id, int rtt_ms) {
  if (absl::Status s = impl_->CheckBroker(broker_id); !s.ok()) return s;
  if (rtt_ms < 0) return absl::InvalidArgumentError("embedded kafka: rtt_ms must be >= 0");
  return internal::ToStatus(
      impl_->Call([&] { return rd_kafka_mock_broker_set_rtt(impl_->mock, broker_id, rtt_ms); }),
      "mock broker rtt");
}

absl::Status EmbeddedCluster::PushRequestErrors(ApiKey api, const std::vector<KafkaError>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  codes.reserve(errors.size());
  for (KafkaError e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(impl_->mock, static_cast<int16_t>(api), codes.size(),
                                          codes.data());
  return absl::OkStatus();
}

absl::Status EmbeddedCluster::PushBrokerRequestErrors(int32_t broker_id, ApiKey api,
                                                      const std::vector<KafkaError>& errors) {
  if (absl::Status s = impl_->CheckBroker(broker_id); !s.ok()) return s;
  for (KafkaError e : errors) {
    // The mock's per-broker variant takes (error, rtt) pairs as varargs.
    absl::Status s = internal::ToStatus(impl_->Call([&] {
      return rd_kafka_mock_broker_push_request_error_rtts(impl_->mock, broker_id,
                                                          static_cast<int16_t>(api), 1,
                                                          static_cast<rd_kafka_resp_err_t>(e), 0);
    }),
                                        "mock broker request errors");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status EmbeddedCluster::SetPartitionLeader(const std::string& topic, int32_t partition,
                                                 int32_t broker_id) {
  absl::StatusOr<int> partitions = impl_->KnownTopic(topic);
  if (!partitions.ok()) return partitions.status();
  if (partition < 0 || partition >= *partitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedded kafka: topic ", topic, " has no partition ", partition));
  }
  if (absl::Status s = impl_->CheckBroker(broker_id); !s.ok()) return s;
  return internal::ToStatus(impl_->Call([&] {
    return rd_kafka_mock_partition_set_leader(impl_->mock, topic.c_str(), partition, broker_id);
  }),
                            "mock partition leader");
}

absl::Status EmbeddedCluster::SetTopicError(const std::string& topic, KafkaError error) {
  absl::StatusOr<int> partitions = impl_->KnownTopic(topic);
  if (!partitions.ok()) return partitions.status();
  return impl_->Call([&] {
    rd_kafka_mock_topic_set_error(impl_->mock, topic.c_str(),
                                  static_cast<rd_kafka_resp_err_t>(error));
    return absl::OkStatus();
  });
}

absl::Status EmbeddedCluster::ClearTopicError(const std::string& topic) {
  return SetTopicError(topic, static_cast<KafkaError>(0));
}

}  // namespace liaison::kafka
