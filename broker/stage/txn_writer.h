// The policy stage's writes on real Kafka, in Kafka transactions (exactly
// once; docs/architecture.md "Exactly once on real Kafka").
//
// One transactional producer per node (transactional.id stable per node, so
// a restarted node fences its previous incarnation and aborts what it left
// open). Items are what the stage writes for one ingress record, released
// hold or erasure: audit entries first, then the records. Every item
// submitted while a transaction is open joins it; a transaction is closed
// once everything in it is acknowledged and nothing new is queued (group
// commit), or after `max_items` items or `max_wait`, and commits
// the items' records together with the ingress offsets they finish
// (SendOffsetsToTransaction with the consumer group's metadata, KIP-447: a
// member whose generation is stale cannot commit).
//
//   - A record that fails, an abortable error, or a refused offset commit:
//     the transaction is aborted (read_committed readers never see its
//     records) and its items are produced again, in the same order, in the
//     next one: the same sealed audit bytes and records, so the audit chain
//     has no gap and nothing is decided twice.
//   - Revoke: the open transaction is aborted and the items of the revoked
//     chains are dropped (`finished` gets Aborted): their next owner reads
//     the ingress from the committed offsets and decides them again.
//   - Fenced: Kafka bumped this id's producer epoch. Either the transaction
//     coordinator aborted a transaction that outlived transaction.timeout.ms
//     (a Kafka node down, leaders or the coordinator moving: found by
//     faults.KafkaNodeKilledAndRestartedDuringAFlood, where both nodes were
//     fenced and stopped for good) or another process initialised the same
//     id. librdkafka reports both alike, so the writer recreates its producer
//     and initialises it again (logged as policy.txn_producer_recreated) and
//     redoes the transaction's items; a second process with this id would
//     fence it back, so after kMaxRecoveries within kRecoveryWindow it is
//     treated as the fatal error below.
//   - A fatal error (the producer unusable, recovery refused or exhausted):
//     logged as policy.transactions_fatal, every item is dropped with
//     Internal, failed() turns true and stays so; the stage then stops
//     consuming.
//
// Threads: one writer thread of its own drives the transactions; Submit and
// Revoke are thread-safe. `produce` runs on the writer thread; `finished`
// on the writer thread, or on the caller's of Revoke/Stop, never under a
// lock of this class.
#ifndef LIAISON_BROKER_STAGE_TXN_WRITER_H_
#define LIAISON_BROKER_STAGE_TXN_WRITER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/producer.h"

namespace liaison::broker {

class TxnWriter {
 public:
  struct Options {
    std::string transactional_id;
    // The consumer offsets committed with a transaction are of this topic.
    std::string ingress_topic;
    // A transaction closes after this many items or this long after its
    // first item, whichever comes first.
    int max_items = 1000;
    absl::Duration max_wait = absl::Milliseconds(20);
    // Bound of each blocking transactional call.
    absl::Duration call_timeout = absl::Seconds(30);
    // Records written once per transaction, for all its items (the stage's
    // delivery index): `begin` runs on the writer thread as each
    // transaction begins (also the one redoing an aborted one), so what
    // the items add starts empty; `before_commit` runs once every item's
    // records are acknowledged, produces what they added through
    // `producer` and returns when that is acknowledged. An error aborts the
    // transaction, whose items are written again in the next. Either may
    // be empty.
    std::function<void()> begin;
    std::function<absl::Status(kafka::Producer& producer)> before_commit;
  };
  // Produces the item's records through `producer` (the open transaction)
  // and calls `done` once, when every record is acknowledged or one failed.
  using ProduceFn =
      std::function<void(kafka::Producer& producer, std::function<void(absl::Status)> done)>;
  struct Item {
    int32_t chain = 0;
    // >= 0: this item finishes the ingress record at this offset of
    // partition `chain` (its offset is committed with the transaction).
    int64_t ingress_offset = -1;
    ProduceFn produce;
    // Once: OK after the transaction holding the item committed; Aborted
    // (chain revoked), Unavailable (stopping) or Internal (fatal) when the
    // item is dropped, written by no transaction that will commit.
    std::function<void(absl::Status)> finished;
  };
  using GroupFn = std::function<absl::StatusOr<kafka::GroupMetadata>()>;

  // Creates the transactional producer, calls InitTransactions (Kafka aborts
  // what a previous producer of this id left open; an error retrying cannot
  // cure, e.g. PermissionDenied without the TransactionalId ACL, is returned;
  // an unreachable cluster is retried by the writer thread) and starts the
  // writer thread.
  static absl::StatusOr<std::unique_ptr<TxnWriter>> Create(const kafka::ClientConfig& kafka,
                                                           kafka::ProducerOptions producer,
                                                           Options options, GroupFn group);
  // Stop().
  ~TxnWriter();

  // Queues `item` for the next transaction. Refused (FailedPrecondition:
  // stopping or failed; `finished` is then never called) once Stop was
  // called or after a fatal error. May be called under the caller's locks:
  // it never runs a callback itself.
  absl::Status Submit(Item item) ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until no transaction holding an item of `chains` can commit any
  // more (the open one is aborted; other chains' items are written again in
  // the next) and their queued items are dropped.
  void Revoke(const std::vector<int32_t>& chains) ABSL_LOCKS_EXCLUDED(mu_);
  // Commits the transaction in progress (if it can), drops what is queued
  // (Unavailable), stops the thread and closes the producer.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // A fatal error happened: nothing is written any more.
  bool failed() const { return failed_.load(); }
  int64_t commits() const { return commits_.load(); }
  int64_t aborts() const { return aborts_.load(); }
  // Producers recreated after fencing (see above).
  int64_t recoveries() const { return recoveries_total_.load(); }

  // Recoveries allowed within the window before fencing is final.
  static constexpr int kMaxRecoveries = 5;
  static constexpr absl::Duration kRecoveryWindow = absl::Minutes(10);

  // Test hook: the next transaction that would commit is aborted instead
  // (its items are written again in the next one).
  void AbortNextCommitForTest() { abort_next_for_test_ = true; }
  // Test hook: the next transaction is neither committed nor aborted; the
  // writer stops as a crashed process would (nothing more written, the
  // producer closed without ending it). Kafka aborts it after the
  // transaction timeout.
  void AbandonNextCommitForTest() { abandon_next_for_test_ = true; }
  // Revoke calls made so far (a test waits for one to be under way).
  int64_t RevokesRequestedForTest() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return revoke_requested_;
  }

 private:
  TxnWriter(std::unique_ptr<kafka::Producer> producer, Options options, GroupFn group,
            kafka::ClientConfig kafka, kafka::ProducerOptions producer_options);
  void Run();
  // One transaction over `batch`; false: it did not commit (requeued,
  // dropped or fatal).
  bool RunOne(std::vector<Item>& batch);
  // Aborts the open transaction; the batch goes back to the queue's front
  // (items of revoked chains are dropped later, with the queue's).
  void AbortAndRequeue(std::vector<Item>& batch, const absl::Status& why);
  void Fatal(const absl::Status& why) ABSL_LOCKS_EXCLUDED(mu_);
  // `why` came from a call that failed fatally: when the producer was fenced
  // and recovery is allowed, recreates and initialises it and puts `batch`
  // back at the queue's front (true); else Fatal and `batch` dropped (false).
  bool RecoverOrFail(const absl::Status& why, std::vector<Item>& batch) ABSL_LOCKS_EXCLUDED(mu_);
  // Moves out the queued items of revoked chains (all when stopping) and
  // clears the revoke request; the caller runs their `finished`.
  std::vector<Item> TakeDroppedLocked(bool all) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Finish(std::vector<Item>& items, const absl::Status& status);

  const Options options_;
  const GroupFn group_;
  // To recreate the producer after fencing.
  const kafka::ClientConfig kafka_;
  const kafka::ProducerOptions producer_options_;
  std::unique_ptr<kafka::Producer> producer_;
  std::deque<absl::Time> recoveries_;  // writer thread only
  std::atomic<int64_t> recoveries_total_{0};
  std::thread thread_;
  bool initialised_ = false;  // InitTransactions succeeded (writer thread after Create)
  std::atomic<bool> failed_{false};
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> aborts_{0};
  std::atomic<bool> abort_next_for_test_{false};
  std::atomic<bool> abandon_next_for_test_{false};

  mutable absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // Chains revoked and not handled yet; revoke_done_ counts handled requests.
  std::set<int32_t> revoked_ ABSL_GUARDED_BY(mu_);
  int64_t revoke_requested_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t revoke_done_ ABSL_GUARDED_BY(mu_) = 0;
  bool running_ ABSL_GUARDED_BY(mu_) = true;
  // Items of the transaction in progress whose produce has not reported.
  int64_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status batch_failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_TXN_WRITER_H_
