// A Kafka producer with acks=all and the idempotent producer: a record either
// gets a delivery report with its offset, or an error report. Callers answer
// "accepted" only from the report.
//
// Transactional (ProducerOptions::transactional_id set; real Kafka only, the
// embedded mock accepts the calls and does nothing): records produced between
// BeginTransaction and CommitTransaction, together with consumer offsets sent
// to the transaction, become visible to read_committed readers all at once,
// or never (AbortTransaction, or the producer dies and Kafka aborts the
// transaction after transaction_timeout_ms).
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

class GroupMetadata;  // consumer.h

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
  // Non-empty: transactional.id of a transactional producer (InitTransactions
  // before the first transaction). Stable per producing process: a new
  // producer with the same id fences the old one and aborts its open
  // transaction at once.
  std::string transactional_id;
  // transaction.timeout.ms: how long Kafka keeps a silent producer's
  // transaction open before aborting it (readers of its partitions wait that
  // long at most). message_timeout_ms is capped to it.
  int transaction_timeout_ms = 10000;
};

// A consumer offset for Producer::SendOffsetsToTransaction.
struct OffsetToCommit {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;  // the offset of the next record to read
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
  // A fatal error of the idempotent producer (logged as "kafka.producer.fatal";
  // e.g. OUT_OF_ORDER_SEQUENCE_NUMBER after leaders moved) fails the records
  // pending. A non-transactional Producer then replaces its librdkafka
  // instance ("kafka.producer.recreated": a new producer id) and takes the
  // next records there; the failed ones report Unavailable with
  // possibly_persisted (send again, deduplicating). It does so at most 5
  // times within 10 minutes and never for a refused authorisation: then,
  // and for a transactional producer, every failed report, including those
  // of all later Produce calls, is Internal: recreate the Producer.
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

  // Transactions (options.transactional_id set). Each call blocks up to
  // `timeout` (Begin does not block). Errors say what to do next:
  //   Aborted           the transaction cannot commit: AbortTransaction, then
  //                     produce its records again in a new one;
  //   Unavailable /     retriable: call the same method again;
  //   DeadlineExceeded
  //   Internal          fatal (e.g. fenced: another producer with the same
  //                     transactional.id, or a stale consumer generation the
  //                     broker refuses for good): the producer is unusable;
  //   FailedPrecondition a call out of order (a bug), or not transactional.
  // Messages name librdkafka's error and the call, never record content.
  absl::Status InitTransactions(absl::Duration timeout);
  absl::Status BeginTransaction();
  // Adds the consumer group's offsets to the open transaction: committed with
  // it, and refused (Aborted or Internal) when `group` is stale, i.e. the
  // group has moved on since (KIP-447 fencing of a zombie member).
  absl::Status SendOffsetsToTransaction(const std::vector<OffsetToCommit>& offsets,
                                        const GroupMetadata& group, absl::Duration timeout);
  // Waits for every record of the transaction (their callbacks run before
  // this returns OK), then commits.
  absl::Status CommitTransaction(absl::Duration timeout);
  // Drops the transaction's records (failed reports, Unavailable, for those
  // not reported yet) and ends it.
  absl::Status AbortTransaction(absl::Duration timeout);
  bool transactional() const;
  // The producer failed fatally because Kafka fenced its transactional.id's
  // epoch: another producer initialised the id, or (the same report in
  // librdkafka 2.0.2) the transaction coordinator aborted a transaction that
  // outlived transaction.timeout.ms and bumped the epoch. A new producer with
  // the same id can go on (TxnWriter does, a bounded number of times).
  bool Fenced() const;
  // The producer is in librdkafka's fatal state (fenced, or another fatal
  // transactional error such as INVALID_TXN_STATE after Kafka was down
  // longer than the transaction timeout): nothing more can be done with it;
  // a new producer with the same id starts from a clean state.
  bool Fatal() const;

  // Records whose callback has not yet returned (queued, in flight, or
  // waiting for the poller to report a produce() error).
  int64_t outstanding() const;

  // How many times the producer replaced its librdkafka instance after a
  // fatal error (see Produce).
  int64_t recreated() const;
  // Tests: librdkafka's own fatal-error path with `kafka_error` (an
  // rd_kafka_resp_err_t) as the cause, as if the cluster had caused it.
  void FailFatallyForTest(int kafka_error);

  struct Handle;
  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  void Enqueue(const std::string& topic, std::string key, std::string value, bool tombstone,
               DeliveryCallback done, int32_t partition, std::vector<Header> headers);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_PRODUCER_H_
