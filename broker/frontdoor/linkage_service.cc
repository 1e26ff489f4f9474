#include "broker/frontdoor/linkage_service.h"

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace liaison::broker {
namespace {

using liaison::v1::IndexBatchResult;
using liaison::v1::SignedIndexBatch;

// Up to kWindow batches of a stream are in the broker at once (read and
// waiting, being written, or waiting for Kafka), so a long index streams at
// Kafka's pace rather than one round trip per batch. Order is kept where it
// matters: batches are submitted one after the other (the next only once the
// previous batch's records are all queued in the producer, so Kafka keeps
// their order); a batch with withdrawals waits until every earlier batch is
// in the book (a withdrawal of a whole case must see all its entries); the
// entries of unfinished batches count against the endpoint's limit; results
// are written in the order the batches came.
class PublishReactor final : public grpc::ServerBidiReactor<SignedIndexBatch, IndexBatchResult> {
 public:
  static constexpr size_t kWindow = 4;

  PublishReactor(const LinkageService* service, absl::StatusOr<certs::Identity> peer)
      : service_(service) {
    if (!peer.ok()) {
      service_->ReportRpc(peer.status().code());
      Finish(ToGrpc(peer.status()));
      return;
    }
    peer_ = peer->id;
    Advance(Event{});
  }

  void OnReadDone(bool ok) override { Advance(Event{Event::kRead, ok}); }
  void OnWriteDone(bool ok) override { Advance(Event{Event::kWritten, ok}); }
  void OnDone() override { delete this; }

 private:
  struct Waiting {
    uint64_t sequence;
    SignedIndexBatch batch;
  };
  struct Unfinished {
    bool queued = false;
    int64_t entries = 0;
  };

  // What happened: a read or write completed, a batch was queued or finished.
  struct Event {
    enum Kind { kNone, kRead, kWritten, kQueued, kFinished } kind = kNone;
    bool ok = true;
    uint64_t sequence = 0;
    int64_t entries = 0;
    IndexBatchResult* result = nullptr;
  };

  void Apply(const Event& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    switch (e.kind) {
      case Event::kNone:
        return;
      case Event::kRead:
        reading_ = false;
        if (!e.ok) {  // the client closed its side: answer what is in, then finish
          read_closed_ = true;
          return;
        }
        waiting_.push_back({next_sequence_++, std::move(request_)});
        request_.Clear();
        return;
      case Event::kWritten:
        writing_ = false;
        if (!e.ok) {  // the client went away: finish once nothing is outstanding
          cancelled_ = true;
          read_closed_ = true;
        }
        return;
      case Event::kQueued: {
        submitting_ = false;
        auto it = unfinished_.find(e.sequence);
        if (it == unfinished_.end()) return;  // already finished
        it->second.queued = true;
        it->second.entries = e.entries;
        pending_entries_ += e.entries;
        return;
      }
      case Event::kFinished: {
        auto it = unfinished_.find(e.sequence);
        if (it != unfinished_.end()) {
          if (it->second.queued) pending_entries_ -= it->second.entries;
          unfinished_.erase(it);
        }
        results_[e.sequence] = std::move(*e.result);
        return;
      }
    }
  }

  // Applies `event` under mu_, decides what can move on, and does it after
  // releasing mu_ (gRPC operations and submissions never run under it).
  void Advance(const Event& event) ABSL_LOCKS_EXCLUDED(mu_) {
    std::optional<Waiting> submit;
    int64_t pending_entries = 0;
    bool read = false, write = false;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      Apply(event);
      if (!submitting_ && !waiting_.empty() && !cancelled_ &&
          (unfinished_.empty() || !HasWithdrawals(waiting_.front().batch.batch()))) {
        submit = std::move(waiting_.front());
        waiting_.pop_front();
        submitting_ = true;
        unfinished_[submit->sequence];
        pending_entries = pending_entries_;
      }
      if (!writing_ && !cancelled_) {
        auto it = results_.find(next_write_);
        if (it != results_.end()) {
          response_ = std::move(it->second);
          results_.erase(it);
          ++next_write_;
          writing_ = write = true;
        }
      }
      if (!reading_ && !read_closed_ &&
          waiting_.size() + unfinished_.size() + results_.size() < kWindow) {
        reading_ = read = true;
      }
      if (read_closed_ && !finished_ && !reading_ && !writing_ && !submitting_ &&
          unfinished_.empty() && (cancelled_ || (waiting_.empty() && results_.empty()))) {
        finished_ = true;
        finish = cancelled_ ? grpc::Status::CANCELLED : grpc::Status::OK;
      }
    }
    if (submit.has_value()) Submit(std::move(*submit), pending_entries);
    if (write) StartWrite(&response_);
    if (read) StartRead(&request_);
    if (finish.has_value()) {
      service_->ReportRpc(finish->ok() ? absl::StatusCode::kOk : absl::StatusCode::kCancelled);
      Finish(*finish);
    }
  }

  void Submit(Waiting next, int64_t pending_entries) {
    const uint64_t sequence = next.sequence;
    service_->publisher()->Submit(
        std::move(next.batch), peer_, sequence, pending_entries,
        [this, sequence](int64_t entries) {
          Advance(Event{Event::kQueued, true, sequence, entries});
        },
        [this, sequence](IndexBatchResult result) {
          Advance(Event{Event::kFinished, true, sequence, 0, &result});
        });
  }

  const LinkageService* const service_;
  std::string peer_;
  absl::Mutex mu_;
  SignedIndexBatch request_;   // the read in progress (one at a time)
  IndexBatchResult response_;  // the write in progress (one at a time)
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool submitting_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_write_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pending_entries_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Waiting> waiting_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Unfinished> unfinished_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, IndexBatchResult> results_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

grpc::ServerBidiReactor<SignedIndexBatch, IndexBatchResult>* LinkageService::Publish(
    grpc::CallbackServerContext* context) {
  return new PublishReactor(this, peers_->Authenticate(*context, certs::Role::kEndpointTls));
}

}  // namespace liaison::broker
