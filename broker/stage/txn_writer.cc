#include "broker/stage/txn_writer.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"

namespace liaison::broker {
namespace {

constexpr int kRetriableAttempts = 5;

bool Retriable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TxnWriter>> TxnWriter::Create(const kafka::ClientConfig& kafka,
                                                             kafka::ProducerOptions producer,
                                                             Options options, GroupFn group) {
  if (options.transactional_id.empty()) {
    return absl::InvalidArgumentError("policy stage transactions: empty transactional_id");
  }
  producer.transactional_id = options.transactional_id;
  absl::StatusOr<std::unique_ptr<kafka::Producer>> p = kafka::Producer::Create(kafka, producer);
  if (!p.ok()) return p.status();
  auto writer = std::unique_ptr<TxnWriter>(
      new TxnWriter(*std::move(p), std::move(options), std::move(group), kafka, producer));
  // Kafka aborts what a previous producer of this id left open. A refusal
  // that retrying cannot cure (no ACL for the transactional id, transactions
  // unsupported) fails the start; an unreachable cluster is retried by the
  // writer thread.
  absl::Status init = writer->producer_->InitTransactions(writer->options_.call_timeout);
  if (!init.ok() && !Retriable(init)) {
    return absl::Status(
        init.code(),
        absl::StrCat("transactional.id ", writer->options_.transactional_id, ": ", init.message()));
  }
  writer->initialised_ = init.ok();
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  return writer;
}

TxnWriter::TxnWriter(std::unique_ptr<kafka::Producer> producer, Options options, GroupFn group,
                     kafka::ClientConfig kafka, kafka::ProducerOptions producer_options)
    : options_(std::move(options)),
      group_(std::move(group)),
      kafka_(std::move(kafka)),
      producer_options_(std::move(producer_options)),
      producer_(std::move(producer)) {}

TxnWriter::~TxnWriter() { Stop(); }

void TxnWriter::Finish(std::vector<Item>& items, const absl::Status& status) {
  for (Item& item : items) {
    if (item.finished) item.finished(status);
  }
  items.clear();
}

absl::Status TxnWriter::Submit(Item item) {
  absl::MutexLock lock(&mu_);
  if (failed_) {
    return absl::FailedPreconditionError(
        "policy stage transactions failed fatally: nothing is written any more");
  }
  if (stop_ || !running_) return absl::FailedPreconditionError("policy stage stopping");
  queue_.push_back(std::move(item));
  return absl::OkStatus();
}

void TxnWriter::Revoke(const std::vector<int32_t>& chains) {
  std::vector<Item> dropped;
  {
    absl::MutexLock lock(&mu_);
    revoked_.insert(chains.begin(), chains.end());
    const int64_t mine = ++revoke_requested_;
    auto handled = [this, mine]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return revoke_done_ >= mine || !running_;
    };
    mu_.Await(absl::Condition(&handled));
    if (!running_) dropped = TakeDroppedLocked(/*all=*/false);
  }
  Finish(dropped, absl::AbortedError("ingress partition revoked"));
}

void TxnWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  std::vector<Item> dropped;
  {
    absl::MutexLock lock(&mu_);
    dropped = TakeDroppedLocked(/*all=*/true);
  }
  Finish(dropped, absl::UnavailableError("policy stage stopping"));
  // Flushes; a transaction left open (abandoned) is Kafka's to abort.
  producer_.reset();
}

std::vector<TxnWriter::Item> TxnWriter::TakeDroppedLocked(bool all) {
  std::vector<Item> out;
  std::deque<Item> keep;
  for (Item& item : queue_) {
    if (all || revoked_.count(item.chain) > 0) {
      out.push_back(std::move(item));
    } else {
      keep.push_back(std::move(item));
    }
  }
  queue_.swap(keep);
  revoked_.clear();
  revoke_done_ = revoke_requested_;
  return out;
}

void TxnWriter::Fatal(const absl::Status& why) {
  failed_ = true;
  log::Error("policy.transactions_fatal",
             {{"transactional_id", options_.transactional_id},
              {"error", why.ToString()},
              {"effect",
               "this node writes nothing more and stops consuming liaison.ingress; its "
               "partitions go to the other nodes; nothing uncommitted is visible; restart the "
               "node (a second process with the same node id fences the first)"}});
  std::vector<Item> dropped;
  {
    absl::MutexLock lock(&mu_);
    dropped = TakeDroppedLocked(/*all=*/true);
  }
  Finish(dropped, absl::InternalError(why.message()));
}

bool TxnWriter::RecoverOrFail(const absl::Status& why, std::vector<Item>& batch) {
  const absl::Time now = absl::Now();
  while (!recoveries_.empty() && now - recoveries_.front() > kRecoveryWindow) {
    recoveries_.pop_front();
  }
  // Fenced, or any other fatal state of the producer (INVALID_TXN_STATE on
  // an abort after Kafka was down longer than the transaction timeout: seen
  // in KafkaDown.SendAnswersUnavailableWhileKafkaIsDownAndNothingAcceptedIsLost):
  // a new producer's InitTransactions aborts whatever the old one left open.
  const bool recoverable = producer_ != nullptr && (producer_->Fenced() || producer_->Fatal()) &&
                           static_cast<int>(recoveries_.size()) < kMaxRecoveries;
  if (recoverable) {
    recoveries_.push_back(now);
    ++recoveries_total_;
    log::Warning(
        "policy.txn_producer_recreated",
        {{"transactional_id", options_.transactional_id},
         {"error", why.ToString()},
         {"items", static_cast<int64_t>(batch.size())},
         {"recent", static_cast<int64_t>(recoveries_.size())},
         {"note",
          "the producer failed fatally: Kafka fenced this transactional id (a transaction that "
          "outlived transaction.timeout.ms while a Kafka node was down or leaders moved was "
          "aborted by Kafka, or another process uses this id), or Kafka was down longer than the "
          "transaction timeout; the producer is recreated and the transaction redone"}});
    producer_.reset();  // nothing of it is outstanding: every report came in
    absl::Status s;
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<std::unique_ptr<kafka::Producer>> p =
          kafka::Producer::Create(kafka_, producer_options_);
      s = p.ok() ? (*p)->InitTransactions(options_.call_timeout) : p.status();
      if (s.ok()) {
        producer_ = *std::move(p);
        break;
      }
      if (!Retriable(s)) break;
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::Seconds(1))) break;
    }
    if (producer_ != nullptr) {
      absl::MutexLock lock(&mu_);
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
      batch.clear();
      return true;
    }
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      stopping = stop_;
    }
    if (stopping) {
      failed_ = true;  // no producer: nothing more can be written
      Finish(batch, absl::UnavailableError("policy stage stopping"));
      return false;
    }
    Fatal(s);
    Finish(batch, absl::InternalError(s.message()));
    return false;
  }
  Fatal(why);
  Finish(batch, absl::InternalError(why.message()));
  return false;
}

void TxnWriter::Run() {
  for (int attempt = 0; !initialised_; ++attempt) {
    absl::Status s = producer_->InitTransactions(options_.call_timeout);
    if (s.ok()) break;
    if (!Retriable(s)) {
      Fatal(s);
      break;
    }
    log::Warning("policy.txn_init_retry",
                 {{"transactional_id", options_.transactional_id}, {"error", s.ToString()}});
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::Seconds(1))) break;
  }
  int failures = 0;
  while (!failed_) {
    std::vector<Item> dropped;
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stop_ || revoke_requested_ != revoke_done_;
      };
      mu_.Await(absl::Condition(&wake));
      stopping = stop_;
      if (stopping || revoke_requested_ != revoke_done_) dropped = TakeDroppedLocked(stopping);
    }
    Finish(dropped, stopping ? absl::UnavailableError("policy stage stopping")
                             : absl::AbortedError("ingress partition revoked"));
    if (stopping) break;
    {
      // A revoke may have taken everything queued: no empty transaction
      // (a test hook armed for "the next transaction" would fire on it).
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) continue;
    }
    std::vector<Item> batch;
    if (RunOne(batch)) {
      failures = 0;
      continue;
    }
    if (failed_) break;
    // Aborted and requeued: back off a little (interrupted by a revoke or stop).
    const absl::Duration backoff =
        std::min(absl::Seconds(5), absl::Milliseconds(100) * (1 << std::min(failures, 6)));
    ++failures;
    absl::MutexLock lock(&mu_);
    auto interrupt = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stop_ || revoke_requested_ != revoke_done_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&interrupt), backoff);
  }
  absl::MutexLock lock(&mu_);
  running_ = false;
}

bool TxnWriter::RunOne(std::vector<Item>& batch) {
  if (absl::Status s = producer_->BeginTransaction(); !s.ok()) {
    RecoverOrFail(s, batch);
    return false;
  }
  if (options_.begin) options_.begin();
  const absl::Time deadline = absl::Now() + options_.max_wait;
  const size_t max_items = static_cast<size_t>(std::max(1, options_.max_items));
  {
    absl::MutexLock lock(&mu_);
    outstanding_ = 0;
    batch_failure_ = absl::OkStatus();
  }
  while (true) {
    std::vector<Item> take;
    {
      absl::MutexLock lock(&mu_);
      while (!queue_.empty() && batch.size() + take.size() < max_items) {
        take.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      outstanding_ += static_cast<int64_t>(take.size());
    }
    for (Item& item : take) {
      item.produce(*producer_, [this](absl::Status s) {
        absl::MutexLock lock(&mu_);
        --outstanding_;
        if (!s.ok() && batch_failure_.ok()) batch_failure_ = std::move(s);
      });
      batch.push_back(std::move(item));
    }
    if (batch.size() >= max_items) break;
    absl::MutexLock lock(&mu_);
    // Group commit: the transaction also closes as soon as everything in it
    // is acknowledged and nothing new came, so a lone message waits for its
    // own acknowledgements only, and under load the items arriving during
    // one commit make the next transaction.
    auto more = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !queue_.empty() || stop_ || revoke_requested_ != revoke_done_ || outstanding_ == 0;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&more), deadline)) break;
    if (stop_ || revoke_requested_ != revoke_done_) break;
    if (queue_.empty() && outstanding_ == 0) break;
  }
  absl::Status failure;
  bool revoked = false;
  {
    absl::MutexLock lock(&mu_);
    auto reported = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
    mu_.Await(absl::Condition(&reported));
    failure = batch_failure_;
    revoked = revoke_requested_ != revoke_done_;
  }
  if (revoked) {
    AbortAndRequeue(batch, absl::AbortedError("ingress partition revoked"));
    return false;
  }
  if (failure.ok() && options_.before_commit) failure = options_.before_commit(*producer_);
  if (!failure.ok()) {
    AbortAndRequeue(batch, failure);
    return false;
  }

  std::map<int32_t, int64_t> next;
  for (const Item& item : batch) {
    if (item.ingress_offset < 0) continue;
    int64_t& n = next[item.chain];
    n = std::max(n, item.ingress_offset + 1);
  }
  if (!next.empty()) {
    absl::StatusOr<kafka::GroupMetadata> group = group_();
    if (!group.ok()) {
      AbortAndRequeue(batch, group.status());
      return false;
    }
    std::vector<kafka::OffsetToCommit> offsets;
    for (const auto& [chain, offset] : next) {
      offsets.push_back({options_.ingress_topic, chain, offset});
    }
    absl::Status s;
    for (int attempt = 0; attempt < kRetriableAttempts; ++attempt) {
      s = producer_->SendOffsetsToTransaction(offsets, *group, options_.call_timeout);
      if (!Retriable(s)) break;
    }
    if (absl::IsInternal(s)) {
      RecoverOrFail(s, batch);
      return false;
    }
    if (!s.ok()) {
      // Aborted (e.g. the group moved on: this member is stale) or retries
      // exhausted: nothing of this transaction may become visible.
      AbortAndRequeue(batch, s);
      return false;
    }
  }
  if (abandon_next_for_test_.exchange(false)) {
    log::Warning("policy.txn_abandoned_for_test", {{"items", static_cast<int64_t>(batch.size())}});
    failed_ = true;  // writes nothing more, like a crashed process
    Finish(batch, absl::UnavailableError("transaction abandoned (test)"));
    std::vector<Item> dropped;
    {
      absl::MutexLock lock(&mu_);
      dropped = TakeDroppedLocked(/*all=*/true);
    }
    Finish(dropped, absl::UnavailableError("transaction abandoned (test)"));
    return false;
  }
  if (abort_next_for_test_.exchange(false)) {
    AbortAndRequeue(batch, absl::AbortedError("aborted by a test hook"));
    return false;
  }
  absl::Status s;
  for (int attempt = 0; attempt < kRetriableAttempts; ++attempt) {
    s = producer_->CommitTransaction(options_.call_timeout);
    if (!Retriable(s)) break;
    log::Warning("policy.txn_commit_retry", {{"attempt", attempt + 1}, {"error", s.ToString()}});
  }
  if (s.ok()) {
    ++commits_;
    Finish(batch, absl::OkStatus());
    return true;
  }
  if (absl::IsInternal(s)) {
    RecoverOrFail(s, batch);
    return false;
  }
  AbortAndRequeue(batch, s);
  return false;
}

void TxnWriter::AbortAndRequeue(std::vector<Item>& batch, const absl::Status& why) {
  ++aborts_;
  log::Warning("policy.txn_aborted", {{"transactional_id", options_.transactional_id},
                                      {"items", static_cast<int64_t>(batch.size())},
                                      {"error", why.ToString()}});
  absl::Status s;
  for (int attempt = 0; attempt < kRetriableAttempts; ++attempt) {
    s = producer_->AbortTransaction(options_.call_timeout);
    if (!Retriable(s)) break;
  }
  if (!s.ok()) {
    RecoverOrFail(s, batch);
    return;
  }
  absl::MutexLock lock(&mu_);
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
  batch.clear();
}

}  // namespace liaison::broker
