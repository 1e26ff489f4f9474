// A Kafka producer with acks=all and the idempotent producer: a record either
// gets a delivery report with its offset, or an error report. Callers answer
// "accepted" only from the report.
#ifndef LIAISON_CONNECTORS_KAFKA_PRODUCER_H_
#define LIAISON_CONNECTORS_KAFKA_PRODUCER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"

namespace liaison::kafka {

inline constexpr int32_t kAnyPartition = -1;

struct DeliveryReport {
  // OK, or Unavailable (timed out, brokers down, retriable exhausted: the
  // record may or may not be written; re-sending is safe for callers that
  // deduplicate), or another code for permanent errors (InvalidArgument for a
  // record that is too large, PermissionDenied for an authorisation failure).
  absl::Status status;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  // When status is not OK: librdkafka could not rule out that the broker
  // stored the record (an idempotent-producer timeout after sending).
  bool possibly_persisted = false;
};

using DeliveryCallback = std::function<void(const DeliveryReport&)>;

struct ProducerOptions {
  // message.timeout.ms: how long to retry before reporting Unavailable.
  int message_timeout_ms = 30000;
  // linger.ms: batching delay.
  double linger_ms = 2;
  // queue.buffering.max.kbytes / .messages: local buffer before
  // Produce() reports ResourceExhausted.
  int queue_max_kbytes = 1048576;
  int queue_max_messages = 1000000;
  // message.max.bytes.
  int max_message_bytes = 8 * 1024 * 1024;
  // How long the destructor flushes before it gives up on the rest (their
  // callbacks then run with Unavailable).
  int shutdown_flush_ms = 10000;
};

struct Header {
  std::string key;
  std::string value;
};

// Thread-safe. Delivery callbacks run on the producer's own poller thread, one
// at a time; they must be quick (hand work off) and must not call Flush.
class Producer {
 public:
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const ClientConfig& config,
                                                          const ProducerOptions& options = {});
  // Flushes for up to options.shutdown_flush_ms (10 s), then purges what is
  // left and stops the poller; callbacks of records that did not make it run
  // with Unavailable (possibly_persisted set for purged in-flight ones) before
  // this returns.
  ~Producer();

  // Queues one record; `done` runs exactly once, later, on the poller thread
  // (also when the queue is full or the topic unknown: then with the error,
  // ResourceExhausted / NotFound / InvalidArgument for a record larger than
  // max_message_bytes). `value` is moved in and kept until the report: no
  // copy of the payload (the key and headers are copied). An empty key means
  // "no key" (null key: the partitioner spreads records).
  // After a fatal error of the idempotent producer (logged as
  // "kafka.producer.fatal") every failed report, including those of all later
  // Produce calls, is Internal: recreate the Producer.
  void Produce(const std::string& topic, std::string key, std::string value, DeliveryCallback done,
               int32_t partition = kAnyPartition, std::vector<Header> headers = {});
  // Queues a tombstone: a record of `key` with a null value, which on a
  // compacted topic deletes the key (consumers see Record::tombstone).
  // `done` as for Produce.
  void ProduceTombstone(const std::string& topic, std::string key, DeliveryCallback done,
                        int32_t partition = kAnyPartition);

  // Waits until every queued record has its report and its callback has
  // returned, or `timeout` (DeadlineExceeded). Sends lingering batches at
  // once. Not from a delivery callback.
  absl::Status Flush(absl::Duration timeout);

  // Records whose callback has not yet returned (queued, in flight, or
  // waiting for the poller to report a produce() error).
  int64_t outstanding() const;

  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  void Enqueue(const std::string& topic, std::string key, std::string value, bool tombstone,
               DeliveryCallback done, int32_t partition, std::vector<Header> headers);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_PRODUCER_H_
