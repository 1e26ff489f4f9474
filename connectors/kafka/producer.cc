#include "connectors/kafka/producer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/internal/client.h"
#include "connectors/kafka/internal/errors.h"

namespace liaison::kafka {
namespace {

// One record from Produce() until its callback has returned. It owns the
// value bytes librdkafka points at (produced without RD_KAFKA_MSG_F_COPY) and
// is the per-message opaque. Linked into Impl's registry so that the
// destructor can prove every callback ran.
struct PendingRecord {
  std::string value;
  DeliveryCallback done;
  // Set when produce() itself failed; the poller reports it.
  DeliveryReport early_report;
  PendingRecord* prev = nullptr;
  PendingRecord* next = nullptr;
};

// A fatal error of the idempotent producer that a new producer (a new
// producer id, sequence numbers from zero) clears: a sequence out of step
// with the partition leader after leaders moved (OUT_OF_ORDER_SEQUENCE_NUMBER,
// seen when a Kafka node was killed during a flood), an unknown or fenced
// producer id. Not a refusal of authorisation: a new producer would be
// refused alike. Nor fencing of a transactional id (TxnWriter handles that).
bool ClearedByANewProducer(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__FENCED:
      return false;
    default:
      return true;
  }
}

// A non-transactional producer replaces its librdkafka instance at most this
// often within the window; beyond, it stays failed (as a transactional one
// does at once), so that a cause a new producer does not clear cannot make
// it loop.
constexpr size_t kMaxRecreations = 5;
constexpr absl::Duration kRecreationWindow = absl::Minutes(10);

}  // namespace

// One librdkafka producer instance and its event queue (the queue goes
// first). A non-transactional Producer replaces it after a fatal error a new
// instance clears (Impl::Recreate).
struct Producer::Handle {
  internal::ClientPtr rk;
  internal::QueuePtr queue;

  // The instance `client` with its main queue, where its events arrive.
  static std::shared_ptr<Handle> Of(internal::ClientPtr client) {
    auto handle = std::make_shared<Handle>();
    handle->rk = std::move(client);
    handle->queue.reset(rd_kafka_queue_get_main(handle->rk.get()));
    return handle;
  }
};

struct Producer::Impl {
  Impl(ProducerOptions opts, internal::ClientPtr client, internal::ConfPtr spare)
      : options(opts), spare_conf(std::move(spare)) {
    current = Handle::Of(std::move(client));
    registry.prev = registry.next = &registry;
  }

  std::shared_ptr<Handle> Current() const ABSL_LOCKS_EXCLUDED(handle_mu) {
    absl::MutexLock lock(&handle_mu);
    return current;
  }

  // Whether a producer in librdkafka's fatal state `fatal` is replaced.
  bool Heals(rd_kafka_resp_err_t fatal) const {
    return options.transactional_id.empty() && !gave_up.load() && ClearedByANewProducer(fatal);
  }

  // The status of a record that failed with `err` on instance `rk`. On an
  // instance being replaced: Unavailable and possibly persisted (librdkafka
  // cannot say whether the broker stored it; a caller that deduplicates
  // sends it again, through the new instance).
  absl::Status Failure(rd_kafka_t* rk, rd_kafka_resp_err_t err, bool* possibly_persisted) const {
    const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, nullptr, 0);
    if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR && Heals(fatal)) {
      *possibly_persisted = true;
      return absl::UnavailableError(absl::StrCat(
          "kafka delivery: the idempotent producer hit a fatal error (", rd_kafka_err2name(fatal),
          ") and is being replaced; the record may or may not be written, send "
          "it again"));
    }
    return internal::DeliveryStatus(err, fatal != RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  void Track(PendingRecord* rec) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    rec->next = &registry;
    rec->prev = registry.prev;
    registry.prev->next = rec;
    registry.prev = rec;
    ++outstanding;
  }

  // Runs the callback once, then forgets and frees the record.
  void Finish(PendingRecord* rec, const DeliveryReport& report) ABSL_LOCKS_EXCLUDED(mu) {
    if (rec->done) rec->done(report);
    {
      absl::MutexLock lock(&mu);
      rec->prev->next = rec->next;
      rec->next->prev = rec->prev;
      --outstanding;
    }
    delete rec;
  }

  void PollerLoop();
  void HandleEvent(Handle& h, rd_kafka_event_t* ev);
  void Deliver(Handle& h, const rd_kafka_message_t* m);
  void Recreate(const std::shared_ptr<Handle>& old);
  void DrainRetiring();
  void RunFailed() ABSL_LOCKS_EXCLUDED(mu);
  bool WaitIdle(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu);

  const ProducerOptions options;
  std::string bootstrap;
  // The last connection error (internal::DescribeConnectionError) and when;
  // poller thread only.
  std::string last_connection_error;
  absl::Time last_connection_error_at = absl::InfinitePast();
  // The instance records go to: set in the constructor, replaced by the
  // poller (Recreate), reset only by the destructor after the poller has
  // stopped. Its queue is rd_kafka_poll()'s: delivery reports and errors
  // arrive there as events (event mode, so that rd_kafka_flush() from any
  // thread only waits and never runs callbacks itself).
  mutable absl::Mutex handle_mu;
  std::shared_ptr<Handle> current ABSL_GUARDED_BY(handle_mu);
  // Non-transactional: the configuration a replacement instance is made of.
  internal::ConfPtr spare_conf;
  // Poller thread only: replaced instances whose last reports are still due,
  // when recent replacements happened, and a replacement asked for.
  std::vector<std::shared_ptr<Handle>> retiring;
  std::deque<absl::Time> recreations;
  bool recreate_due = false;
  std::atomic<bool> gave_up{false};
  std::atomic<int64_t> recreated{0};
  std::thread poller;
  std::atomic<bool> stop{false};

  mutable absl::Mutex mu;
  PendingRecord registry ABSL_GUARDED_BY(mu);  // sentinel of a circular list
  int64_t outstanding ABSL_GUARDED_BY(mu) = 0;
  std::vector<PendingRecord*> failed ABSL_GUARDED_BY(mu);
};

void Producer::Impl::PollerLoop() {
  while (true) {
    std::shared_ptr<Handle> h = Current();
    // While a replaced instance still owes reports, its queue is looked at
    // every 20 ms.
    rd_kafka_event_t* ev = rd_kafka_queue_poll(h->queue.get(), retiring.empty() ? 500 : 20);
    if (ev != nullptr) {
      HandleEvent(*h, ev);
      rd_kafka_event_destroy(ev);
    }
    if (recreate_due) {
      recreate_due = false;
      Recreate(h);
    }
    DrainRetiring();
    RunFailed();
    if (ev == nullptr && stop.load()) break;
  }
}

void Producer::Impl::Recreate(const std::shared_ptr<Handle>& old) {
  const absl::Time now = absl::Now();
  while (!recreations.empty() && now - recreations.front() > kRecreationWindow) {
    recreations.pop_front();
  }
  const std::string old_name = rd_kafka_name(old->rk.get());
  absl::StatusOr<internal::ClientPtr> rk = absl::ResourceExhaustedError(absl::StrCat(
      "replaced ", recreations.size(), " times within ", absl::FormatDuration(kRecreationWindow)));
  if (recreations.size() < kMaxRecreations) {
    rk = internal::NewClient(RD_KAFKA_PRODUCER,
                             internal::ConfPtr(rd_kafka_conf_dup(spare_conf.get())));
  }
  if (!rk.ok()) {
    gave_up.store(true);
    log::Error("kafka.producer.fatal",
               {{"client", old_name},
                {"error", rk.status().ToString()},
                {"effect",
                 "not replaced: every pending and future record fails with Internal; the "
                 "process must be restarted"}});
    return;
  }
  std::shared_ptr<Handle> fresh = Handle::Of(*std::move(rk));
  recreations.push_back(now);
  recreated.fetch_add(1);
  const std::string fresh_name = rd_kafka_name(fresh->rk.get());
  {
    absl::MutexLock lock(&handle_mu);
    current = std::move(fresh);
  }
  retiring.push_back(old);
  log::Warning("kafka.producer.recreated",
               {{"client", fresh_name},
                {"replaces", old_name},
                {"within_window", static_cast<int64_t>(recreations.size())}});
}

void Producer::Impl::DrainRetiring() {
  for (auto it = retiring.begin(); it != retiring.end();) {
    Handle& h = **it;
    while (rd_kafka_event_t* ev = rd_kafka_queue_poll(h.queue.get(), 0)) {
      HandleEvent(h, ev);
      rd_kafka_event_destroy(ev);
    }
    // A failed instance takes no new record (produce() refuses it at
    // once): once nothing is queued or owed, it goes.
    if (rd_kafka_outq_len(h.rk.get()) == 0) {
      it = retiring.erase(it);
    } else {
      ++it;
    }
  }
}

void Producer::Impl::HandleEvent(Handle& h, rd_kafka_event_t* ev) {
  rd_kafka_t* rk = h.rk.get();
  switch (rd_kafka_event_type(ev)) {
    case RD_KAFKA_EVENT_DR: {
      const rd_kafka_message_t* m;
      while ((m = rd_kafka_event_message_next(ev)) != nullptr) Deliver(h, m);
      break;
    }
    case RD_KAFKA_EVENT_ERROR: {
      if (rd_kafka_event_error_is_fatal(ev)) {
        char reason[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, reason, sizeof reason);
        const bool heal = Heals(orig);
        log::Error("kafka.producer.fatal",
                   {{"client", rd_kafka_name(rk)},
                    {"error", rd_kafka_err2name(orig)},
                    {"detail", reason},
                    {"effect", heal ? "records pending fail with Unavailable (may or may not be "
                                      "written); a new producer takes the next ones"
                                    : "every pending and future record fails with Internal; "
                                      "the producer must be recreated"}});
        if (heal) recreate_due = true;
      } else {
        const char* reason = rd_kafka_event_error_string(ev);
        internal::LogClientError(rk, rd_kafka_event_error(ev), reason);
        std::string described =
            internal::DescribeConnectionError(rd_kafka_event_error(ev), reason ? reason : "");
        if (!described.empty()) {
          last_connection_error = std::move(described);
          last_connection_error_at = absl::Now();
        }
      }
      break;
    }
    default:
      break;
  }
}

void Producer::Impl::Deliver(Handle& h, const rd_kafka_message_t* m) {
  auto* rec = static_cast<PendingRecord*>(m->_private);
  if (m->len > 0 && m->payload != rec->value.data()) {
    // Cannot happen without RD_KAFKA_MSG_F_COPY; would mean a hidden copy.
    log::Error("kafka.internal_error", {{"detail", "delivery report is not for our buffer"}});
  }
  DeliveryReport report;
  report.topic = rd_kafka_topic_name(m->rkt);
  report.partition = m->partition;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    report.offset = m->offset;
  } else {
    report.possibly_persisted =
        rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED;
    report.status = Failure(h.rk.get(), m->err, &report.possibly_persisted);
    // The report's status reaches senders (broker/frontdoor/ingress.cc): it carries no
    // address. The log line names where and why, for operators: the last
    // connection error within the record's lifetime.
    const bool recent =
        last_connection_error_at >
        absl::Now() - absl::Milliseconds(options.message_timeout_ms) - absl::Seconds(1);
    log::Warning("kafka.delivery_failed",
                 {{"topic", report.topic},
                  {"partition", report.partition},
                  {"error", rd_kafka_err2name(m->err)},
                  {"possibly_persisted", report.possibly_persisted},
                  {"bytes", m->len},
                  {"bootstrap", bootstrap},
                  {"last_connection_error", recent ? last_connection_error : std::string()}});
  }
  Finish(rec, report);
}

void Producer::Impl::RunFailed() {
  std::vector<PendingRecord*> batch;
  {
    absl::MutexLock lock(&mu);
    batch.swap(failed);
  }
  for (PendingRecord* rec : batch) Finish(rec, rec->early_report);
}

bool Producer::Impl::WaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return outstanding == 0; };
  return mu.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const ClientConfig& config,
                                                           const ProducerOptions& options) {
  const bool transactional = !options.transactional_id.empty();
  // librdkafka refuses a message timeout above the transaction timeout.
  const int message_timeout_ms =
      transactional ? std::min(options.message_timeout_ms, options.transaction_timeout_ms)
                    : options.message_timeout_ms;
  internal::Properties defaults = {
      {"message.timeout.ms", absl::StrCat(message_timeout_ms)},
      {"linger.ms", absl::StrCat(options.linger_ms)},
      {"queue.buffering.max.kbytes", absl::StrCat(options.queue_max_kbytes)},
      {"queue.buffering.max.messages", absl::StrCat(options.queue_max_messages)},
      {"message.max.bytes", absl::StrCat(options.max_message_bytes)},
      {internal::kNoAutoCreate, "false"},
  };
  // A request unanswered for 15 s means a node gone silent (cut off the
  // network): the producer drops the connection, asks another node who leads
  // now and sends again (idempotent: no duplicate). librdkafka's 60 s default
  // (bounded by message.timeout.ms) made a sender whose record went to a node
  // cut off wait for the whole produce timeout. 15 s stays above what a
  // healthy leader takes to acknowledge an acks=all write while a cut-off
  // follower is still in the in-sync replicas (replica.lag.time.max.ms, 10 s
  // in deploy/). A transactional producer is left to librdkafka, which sets
  // it to the transaction timeout (and refuses more).
  if (!transactional) defaults.push_back({"socket.timeout.ms", "15000"});
  // "Accepted means durable": every in-sync replica has the record, and
  // retries cannot duplicate or reorder it.
  internal::Properties invariants = {{"acks", "all"}, {"enable.idempotence", "true"}};
  if (transactional) {
    invariants.push_back({"transactional.id", options.transactional_id});
    invariants.push_back({"transaction.timeout.ms", absl::StrCat(options.transaction_timeout_ms)});
  }
  absl::StatusOr<internal::ConfPtr> conf = internal::NewConf(config, defaults, invariants);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_events(conf->get(), RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
  internal::ConfPtr spare;
  if (!transactional) spare.reset(rd_kafka_conf_dup(conf->get()));
  absl::StatusOr<internal::ClientPtr> rk = internal::NewClient(RD_KAFKA_PRODUCER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  auto impl = std::make_unique<Impl>(options, *std::move(rk), std::move(spare));
  impl->bootstrap = config.bootstrap_servers;
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] { raw->PollerLoop(); });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() {
  Impl& impl = *impl_;
  absl::Status flushed = Flush(absl::Milliseconds(impl.options.shutdown_flush_ms));
  if (!flushed.ok()) {
    std::shared_ptr<Handle> h = impl.Current();
    log::Warning("kafka.producer.shutdown_purge",
                 {{"client", rd_kafka_name(h->rk.get())}, {"outstanding", outstanding()}});
    // Queued records fail with __PURGE_QUEUE, in-flight ones with
    // __PURGE_INFLIGHT (possibly persisted): both report Unavailable.
    rd_kafka_purge(h->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    impl.WaitIdle(absl::Now() + absl::Seconds(5));
  }
  impl.stop.store(true);
  rd_kafka_queue_yield(impl.Current()->queue.get());
  impl.poller.join();
  // Whatever still has no report (nothing, unless librdkafka lost a report)
  // is reported here, after librdkafka is gone and no longer points at the
  // values.
  impl.retiring.clear();
  {
    absl::MutexLock lock(&impl.handle_mu);
    impl.current.reset();
  }
  impl.RunFailed();
  while (true) {
    PendingRecord* rec;
    {
      absl::MutexLock lock(&impl.mu);
      if (impl.registry.next == &impl.registry) break;
      rec = impl.registry.next;
    }
    DeliveryReport report;
    report.status = absl::UnavailableError("kafka producer destroyed before a delivery report");
    report.possibly_persisted = true;
    impl.Finish(rec, report);
  }
}

void Producer::Produce(const std::string& topic, std::string key, std::string value,
                       DeliveryCallback done, int32_t partition, std::vector<Header> headers) {
  Enqueue(topic, std::move(key), std::move(value), /*tombstone=*/false, std::move(done), partition,
          std::move(headers));
}

void Producer::ProduceTombstone(const std::string& topic, std::string key, DeliveryCallback done,
                                int32_t partition) {
  Enqueue(topic, std::move(key), std::string(), /*tombstone=*/true, std::move(done), partition, {});
}

void Producer::Enqueue(const std::string& topic, std::string key, std::string value, bool tombstone,
                       DeliveryCallback done, int32_t partition, std::vector<Header> headers) {
  Impl& impl = *impl_;
  auto* rec = new PendingRecord;
  rec->value = std::move(value);
  rec->done = std::move(done);
  impl.Track(rec);

  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const Header& h : headers) {
      rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
  }
  rd_kafka_vu_t vus[7];
  size_t n = 0;
  vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[n++].u.cstr = topic.c_str();
  vus[n].vtype = RD_KAFKA_VTYPE_PARTITION;
  vus[n++].u.i32 = partition;
  // No RD_KAFKA_MSG_F_COPY: librdkafka points at rec->value until the report.
  vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[n++].u.i = 0;
  if (!tombstone) {  // no value at all: a null value, Kafka's delete marker
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n].u.mem.ptr = rec->value.data();
    vus[n++].u.mem.size = rec->value.size();
  }
  if (!key.empty()) {  // librdkafka always copies the key
    vus[n].vtype = RD_KAFKA_VTYPE_KEY;
    vus[n].u.mem.ptr = key.data();
    vus[n++].u.mem.size = key.size();
  }
  vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[n++].u.ptr = rec;
  if (hdrs != nullptr) {
    vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
    vus[n++].u.headers = hdrs;
  }
  const std::shared_ptr<Handle> h = impl.Current();
  rd_kafka_error_t* error = rd_kafka_produceva(h->rk.get(), vus, n);
  if (error == nullptr) return;

  // librdkafka did not take the record (nor the headers): report from the
  // poller thread, as the contract promises.
  if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
  const rd_kafka_resp_err_t err = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  rec->early_report.topic = topic;
  rec->early_report.partition = partition;
  rec->early_report.status = impl.Failure(h->rk.get(), err, &rec->early_report.possibly_persisted);
  log::Warning("kafka.produce_rejected", {{"topic", topic},
                                          {"partition", partition},
                                          {"error", rd_kafka_err2name(err)},
                                          {"bytes", rec->value.size()}});
  {
    absl::MutexLock lock(&impl.mu);
    impl.failed.push_back(rec);
  }
  rd_kafka_queue_yield(impl.Current()->queue.get());  // wake the poller
}

namespace {

// A transactional call's outcome as producer.h promises it.
absl::Status TxnStatus(rd_kafka_error_t* error, absl::string_view call) {
  if (error == nullptr) return absl::OkStatus();
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  const std::string what = absl::StrCat("kafka ", call, ": ", rd_kafka_error_name(error), ": ",
                                        rd_kafka_error_string(error));
  absl::Status out;
  if (rd_kafka_error_is_fatal(error)) {
    out = absl::InternalError(absl::StrCat(what, " (fatal: the producer is unusable)"));
  } else if (rd_kafka_error_txn_requires_abort(error)) {
    out = absl::AbortedError(absl::StrCat(what, " (abort the transaction and redo it)"));
  } else if (rd_kafka_error_is_retriable(error)) {
    out = code == RD_KAFKA_RESP_ERR__TIMED_OUT ? absl::DeadlineExceededError(what)
                                               : absl::UnavailableError(what);
  } else if (code == RD_KAFKA_RESP_ERR__STATE || code == RD_KAFKA_RESP_ERR__NOT_CONFIGURED) {
    out = absl::FailedPreconditionError(what);
  } else {
    out = internal::ToStatus(code, absl::StrCat("kafka ", call), rd_kafka_error_string(error));
  }
  rd_kafka_error_destroy(error);
  return out;
}

}  // namespace

bool Producer::transactional() const { return !impl_->options.transactional_id.empty(); }

bool Producer::Fenced() const {
  return rd_kafka_fatal_error(impl_->Current()->rk.get(), nullptr, 0) == RD_KAFKA_RESP_ERR__FENCED;
}

bool Producer::Fatal() const {
  return rd_kafka_fatal_error(impl_->Current()->rk.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

int64_t Producer::recreated() const { return impl_->recreated.load(); }

void Producer::FailFatallyForTest(int kafka_error) {
  rd_kafka_test_fatal_error(impl_->Current()->rk.get(),
                            static_cast<rd_kafka_resp_err_t>(kafka_error), "for a test");
}

absl::Status Producer::InitTransactions(absl::Duration timeout) {
  if (!transactional()) return absl::FailedPreconditionError("producer is not transactional");
  return TxnStatus(
      rd_kafka_init_transactions(impl_->Current()->rk.get(), internal::ToMillis(timeout)),
      "init_transactions");
}

absl::Status Producer::BeginTransaction() {
  if (!transactional()) return absl::FailedPreconditionError("producer is not transactional");
  return TxnStatus(rd_kafka_begin_transaction(impl_->Current()->rk.get()), "begin_transaction");
}

absl::Status Producer::SendOffsetsToTransaction(const std::vector<OffsetToCommit>& offsets,
                                                const GroupMetadata& group,
                                                absl::Duration timeout) {
  if (!transactional()) return absl::FailedPreconditionError("producer is not transactional");
  if (group.get() == nullptr) return absl::FailedPreconditionError("no group metadata");
  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const OffsetToCommit& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset =
        o.next_offset;
  }
  return TxnStatus(rd_kafka_send_offsets_to_transaction(impl_->Current()->rk.get(), list.get(),
                                                        group.get(), internal::ToMillis(timeout)),
                   "send_offsets_to_transaction");
}

absl::Status Producer::CommitTransaction(absl::Duration timeout) {
  if (!transactional()) return absl::FailedPreconditionError("producer is not transactional");
  absl::Status s = TxnStatus(
      rd_kafka_commit_transaction(impl_->Current()->rk.get(), internal::ToMillis(timeout)),
      "commit_transaction");
  // librdkafka has flushed the transaction's records; their reports may
  // still sit in the event queue: the promise is that callbacks ran.
  if (s.ok()) impl_->WaitIdle(absl::Now() + timeout);
  return s;
}

absl::Status Producer::AbortTransaction(absl::Duration timeout) {
  if (!transactional()) return absl::FailedPreconditionError("producer is not transactional");
  absl::Status s =
      TxnStatus(rd_kafka_abort_transaction(impl_->Current()->rk.get(), internal::ToMillis(timeout)),
                "abort_transaction");
  if (s.ok()) impl_->WaitIdle(absl::Now() + timeout);
  return s;
}

absl::Status Producer::Flush(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Sends lingering batches now and waits for librdkafka's count to reach
  // zero; in event mode it runs no callbacks on this thread.
  rd_kafka_flush(impl_->Current()->rk.get(), internal::ToMillis(timeout));
  if (!impl_->WaitIdle(deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("kafka flush: ", outstanding(), " records still without a report"));
  }
  return absl::OkStatus();
}

int64_t Producer::outstanding() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->outstanding;
}

}  // namespace liaison::kafka
