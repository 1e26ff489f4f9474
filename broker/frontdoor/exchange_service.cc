#include "broker/frontdoor/exchange_service.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "policy/registry.h"

namespace liaison::broker {
namespace {

using liaison::v1::SendResult;
using liaison::v1::SignedEnvelope;
using liaison::v1::SubscribeRequest;
using liaison::v1::SubscribeResponse;

// --- SendStream --------------------------------------------------------------

// Results come back from Ingress on worker or Kafka threads, possibly after
// the stream is gone: they reach the reactor through this shared state, whose
// `reactor` is cleared in OnDone. Reactor operations are decided under the
// lock and started after it is released.
class SendStreamReactor final : public grpc::ServerBidiReactor<SignedEnvelope, SendResult> {
 public:
  SendStreamReactor(ExchangeService* service, std::string peer_id, uint64_t stream)
      : service_(service),
        peer_id_(std::move(peer_id)),
        stream_(stream),
        state_(std::make_shared<State>()) {
    state_->reactor = this;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&state_->mu);
      state_->reads_done = true;
      Act(state_->Next());
      return;
    }
    const uint64_t sequence = next_sequence_++;
    // request_ is free before anything else happens: once the lock below
    // pauses reading, a result delivered on another thread may resume it
    // (StartRead(&request_)) before this thread returns.
    SignedEnvelope envelope = std::move(request_);
    request_.Clear();
    const int64_t bytes = static_cast<int64_t>(envelope.ByteSizeLong());
    if (absl::Status s = service_->TakeBytes(peer_id_, bytes); !s.ok()) {
      // Refused before anything was accepted: answered like any refusal.
      SendResult out;
      out.set_code(static_cast<int32_t>(s.code()));
      out.set_error(std::string(s.message()));
      out.set_sequence(sequence);
      {
        absl::MutexLock lock(&state_->mu);
        ++state_->in_flight;
      }
      state_->Deliver(std::move(out));
      StartRead(&request_);
      return;
    }
    bool read_more;
    {
      absl::MutexLock lock(&state_->mu);
      ++state_->in_flight;
      read_more = state_->in_flight < service_->options().max_stream_in_flight;
      if (!read_more) state_->read_paused = true;
    }
    service_->ingress()->Submit(std::move(envelope), peer_id_,
                                [state = state_, sequence, service = service_, endpoint = peer_id_,
                                 bytes](absl::StatusOr<SendResult> result) {
                                  service->ReleaseBytes(endpoint, bytes);
                                  SendResult out;
                                  if (result.ok()) {
                                    out = std::move(*result);
                                  } else {
                                    out.set_code(static_cast<int32_t>(result.status().code()));
                                    out.set_error(std::string(result.status().message()));
                                  }
                                  out.set_sequence(sequence);
                                  state->Deliver(std::move(out));
                                });
    if (read_more) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&state_->mu);
    state_->queue.pop_front();
    state_->writing = false;
    if (!ok) state_->broken = true;
    Act(state_->Next());
  }

  void OnDone() override {
    service_->ForgetStream(stream_);
    {
      absl::MutexLock lock(&state_->mu);
      state_->reactor = nullptr;
    }
    delete this;
  }

 private:
  // What to start next, decided under the lock.
  struct Action {
    SendResult* write = nullptr;
    bool last_write = false;
    bool resume_read = false;
    bool finish = false;
  };

  struct State {
    absl::Mutex mu;
    SendStreamReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
    std::deque<SendResult> queue ABSL_GUARDED_BY(mu);
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool broken ABSL_GUARDED_BY(mu) = false;
    size_t in_flight ABSL_GUARDED_BY(mu) = 0;
    bool reads_done ABSL_GUARDED_BY(mu) = false;
    bool read_paused ABSL_GUARDED_BY(mu) = false;
    bool finished ABSL_GUARDED_BY(mu) = false;

    Action Next() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      Action a;
      if (finished || reactor == nullptr) return a;
      if (broken) queue.clear();
      if (!writing && !queue.empty()) {
        writing = true;
        a.write = &queue.front();
        a.last_write = queue.size() == 1;
      }
      if (read_paused && !reads_done &&
          in_flight < reactor->service_->options().max_stream_in_flight / 2) {
        read_paused = false;
        a.resume_read = true;
      }
      if (reads_done && in_flight == 0 && queue.empty() && !writing) {
        finished = true;
        a.finish = true;
      }
      return a;
    }

    void Deliver(SendResult result) ABSL_LOCKS_EXCLUDED(mu) {
      absl::MutexLock lock(&mu);
      --in_flight;
      if (reactor == nullptr) return;
      queue.push_back(std::move(result));
      reactor->Act(Next());
    }
  };

  // Starting reactor operations under the state lock is safe: gRPC runs
  // application reactions on its own threads, never inline from Start*.
  void Act(const Action& a) {
    if (a.write != nullptr) {
      grpc::WriteOptions options;
      // Batch writes while more results are queued; flush on the last one.
      if (!a.last_write) options.set_buffer_hint();
      StartWrite(a.write, options);
    }
    if (a.resume_read) StartRead(&request_);
    if (a.finish) {
      service_->ReportRpc("liaison.v1.Exchange/SendStream", absl::StatusCode::kOk);
      Finish(grpc::Status::OK);
    }
  }

  ExchangeService* const service_;
  const std::string peer_id_;
  const uint64_t stream_;
  std::shared_ptr<State> state_;
  SignedEnvelope request_;
  uint64_t next_sequence_ = 0;
};

// --- Subscribe ---------------------------------------------------------------

class SubscribeReactor final : public grpc::ServerBidiReactor<SubscribeRequest, SubscribeResponse>,
                               public SubscriptionSink {
 public:
  SubscribeReactor(ExchangeService* service, std::string endpoint, uint64_t stream)
      : service_(service), endpoint_(std::move(endpoint)), stream_(stream) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The endpoint closed its side: stop streaming and end the call.
      End(absl::OkStatus());
      return;
    }
    if (request_.has_start()) {
      if (subscription_ != nullptr) {
        End(absl::InvalidArgumentError("start: sent twice on one stream"));
        return;
      }
      subscription_ = service_->StartSubscription(endpoint_, request_.start().window(), this);
      if (subscription_ == nullptr) {
        End(absl::UnavailableError("broker is shutting down; reconnect to another node"));
        return;
      }
    } else if (request_.has_ack()) {
      if (subscription_ == nullptr) {
        End(absl::InvalidArgumentError("ack: the first message must be 'start'"));
        return;
      }
      subscription_->Ack({request_.ack().item_ids().begin(), request_.ack().item_ids().end()});
    } else {
      End(absl::InvalidArgumentError("request: neither 'start' nor 'ack'"));
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  void Push(SubscribeResponse response) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    queue_.push_back(std::move(response));
    WriteNext();
  }

  void End(absl::Status status) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    if (!status.ok()) {
      log::Info("subscribe.ended", {{"endpoint", endpoint_},
                                    {"code", absl::StatusCodeToString(status.code())},
                                    {"error", status.message()}});
    }
    service_->ReportRpc("liaison.v1.Exchange/Subscribe", status.code());
    Finish(ToGrpc(status));
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    writing_ = false;
    if (!ok) {
      // The stream broke; reads fail too and OnDone follows. End() may have
      // finished the call already (a cancel or a server shutdown while this
      // write was in flight): a second Finish aborts the process in gRPC
      // (CallbackWithSuccessTag::Set, "call_ == nullptr").
      if (!finished_) {
        finished_ = true;
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      }
      return;
    }
    WriteNext();
  }

  void OnCancel() override { End(absl::CancelledError("cancelled")); }

  void OnDone() override {
    service_->ForgetStream(stream_);
    if (subscription_ != nullptr) subscription_->Stop();
    delete this;
  }

 private:
  void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || queue_.empty() || finished_) return;
    writing_ = true;
    grpc::WriteOptions options;
    if (queue_.size() > 1) options.set_buffer_hint();
    StartWrite(&queue_.front(), options);
  }

  ExchangeService* const service_;
  const std::string endpoint_;
  const uint64_t stream_;
  SubscribeRequest request_;
  std::shared_ptr<Subscription> subscription_;  // only touched by reads and OnDone

  absl::Mutex mu_;
  std::deque<SubscribeResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

template <typename Request, typename Response>
class RejectingBidiReactor final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  RejectingBidiReactor(const ExchangeService* service, const char* method,
                       const absl::Status& status) {
    service->ReportRpc(method, status.code());
    this->Finish(ToGrpc(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

ExchangeService::ExchangeService(Ingress* ingress, const PeerAuthenticator* peers,
                                 SubscriptionDeps subscription_deps, ExchangeOptions options)
    : ingress_(ingress),
      peers_(peers),
      subscription_deps_(std::move(subscription_deps)),
      options_(options) {}

ExchangeService::~ExchangeService() { Shutdown(); }

grpc::ServerUnaryReactor* ExchangeService::Send(grpc::CallbackServerContext* context,
                                                const SignedEnvelope* request,
                                                SendResult* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<certs::Identity> peer = peers_->Authenticate(*context, certs::Role::kEndpointTls);
  if (!peer.ok()) {
    ReportRpc("liaison.v1.Exchange/Send", peer.status().code());
    reactor->Finish(ToGrpc(peer.status()));
    return reactor;
  }
  const int64_t bytes = static_cast<int64_t>(request->ByteSizeLong());
  if (absl::Status s = TakeBytes(peer->id, bytes); !s.ok()) {
    ReportRpc("liaison.v1.Exchange/Send", s.code());
    reactor->Finish(ToGrpc(s));
    return reactor;
  }
  ingress_->Submit(
      *request, peer->id,
      [this, reactor, response, bytes, endpoint = peer->id](absl::StatusOr<SendResult> result) {
        ReleaseBytes(endpoint, bytes);
        ReportRpc("liaison.v1.Exchange/Send", result.status().code());
        if (!result.ok()) {
          reactor->Finish(ToGrpc(result.status()));
          return;
        }
        *response = std::move(*result);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerBidiReactor<SignedEnvelope, SendResult>* ExchangeService::SendStream(
    grpc::CallbackServerContext* context) {
  absl::StatusOr<certs::Identity> peer = peers_->Authenticate(*context, certs::Role::kEndpointTls);
  if (!peer.ok()) {
    return new RejectingBidiReactor<SignedEnvelope, SendResult>(
        this, "liaison.v1.Exchange/SendStream", peer.status());
  }
  absl::StatusOr<uint64_t> stream = OpenStream(context, *peer, StreamKind::kSend);
  if (!stream.ok()) {
    return new RejectingBidiReactor<SignedEnvelope, SendResult>(
        this, "liaison.v1.Exchange/SendStream", stream.status());
  }
  return new SendStreamReactor(this, peer->id, *stream);
}

grpc::ServerBidiReactor<SubscribeRequest, SubscribeResponse>* ExchangeService::Subscribe(
    grpc::CallbackServerContext* context) {
  absl::StatusOr<certs::Identity> peer = peers_->Authenticate(*context, certs::Role::kEndpointTls);
  if (!peer.ok()) {
    return new RejectingBidiReactor<SubscribeRequest, SubscribeResponse>(
        this, "liaison.v1.Exchange/Subscribe", peer.status());
  }
  absl::StatusOr<uint64_t> stream = OpenStream(context, *peer, StreamKind::kSubscribe);
  if (!stream.ok()) {
    return new RejectingBidiReactor<SubscribeRequest, SubscribeResponse>(
        this, "liaison.v1.Exchange/Subscribe", stream.status());
  }
  return new SubscribeReactor(this, peer->id, *stream);
}

grpc::ServerUnaryReactor* ExchangeService::Explain(grpc::CallbackServerContext* context,
                                                   const liaison::v1::ExplainRequest* request,
                                                   liaison::v1::ExplainResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<certs::Identity> peer = peers_->Authenticate(*context, certs::Role::kEndpointTls);
  absl::Status status = peer.status();
  if (status.ok()) status = TakeExplain(peer->id);
  if (status.ok() && !options_.explain) {
    status = absl::UnimplementedError("explain is not served by this node");
  }
  if (status.ok()) {
    // Policy evaluation is a few microseconds per recipient: inline.
    absl::StatusOr<liaison::v1::ExplainResponse> r = options_.explain(*request, peer->id);
    if (r.ok()) {
      *response = std::move(*r);
    } else {
      status = r.status();
    }
  }
  ReportRpc("liaison.v1.Exchange/Explain", status.code());
  reactor->Finish(ToGrpc(status));
  return reactor;
}

liaison::v1::EndpointLimits ExchangeService::LimitsOf(const std::string& endpoint) const {
  return options_.limits ? options_.limits(endpoint) : policy::Registry::DefaultLimits();
}

absl::StatusOr<uint64_t> ExchangeService::OpenStream(grpc::CallbackServerContext* context,
                                                     const certs::Identity& peer, StreamKind kind) {
  const liaison::v1::EndpointLimits limits = LimitsOf(peer.id);
  const int max =
      kind == StreamKind::kSubscribe ? limits.max_subscribe_streams() : limits.max_send_streams();
  absl::MutexLock lock(&streams_mu_);
  int open = 0;
  for (const auto& [token, s] : streams_) open += s.endpoint == peer.id && s.kind == kind ? 1 : 0;
  if (open >= max) {
    return absl::ResourceExhaustedError(absl::StrCat(
        peer.id, " already has ", open,
        kind == StreamKind::kSubscribe ? " Subscribe" : " SendStream",
        " streams open; the registry limit is ",
        kind == StreamKind::kSubscribe ? "max_subscribe_streams " : "max_send_streams ", max));
  }
  const uint64_t token = ++next_stream_;
  streams_.emplace(token, Stream{context, peer.id, peer.serial_hex, kind});
  return token;
}

absl::Status ExchangeService::TakeBytes(const std::string& endpoint, int64_t bytes) {
  const int64_t max = LimitsOf(endpoint).max_in_flight_bytes();
  absl::MutexLock lock(&streams_mu_);
  int64_t& in_flight = in_flight_bytes_[endpoint];
  if (in_flight > 0 && in_flight + bytes > max) {
    return absl::ResourceExhaustedError(
        absl::StrCat(endpoint, " has ", in_flight,
                     " envelope bytes being accepted; the registry limit is "
                     "max_in_flight_bytes ",
                     max, ": wait for answers, then send again"));
  }
  in_flight += bytes;
  return absl::OkStatus();
}

void ExchangeService::ReleaseBytes(const std::string& endpoint, int64_t bytes) {
  absl::MutexLock lock(&streams_mu_);
  auto it = in_flight_bytes_.find(endpoint);
  if (it == in_flight_bytes_.end()) return;
  it->second -= bytes;
  if (it->second <= 0) in_flight_bytes_.erase(it);
}

absl::Status ExchangeService::TakeExplain(const std::string& endpoint) {
  const int max = LimitsOf(endpoint).max_explain_per_minute();
  const int64_t minute = absl::ToUnixSeconds(absl::Now()) / 60;
  absl::MutexLock lock(&streams_mu_);
  auto& [at, count] = explains_[endpoint];
  if (at != minute) {
    at = minute;
    count = 0;
  }
  if (count >= max) {
    return absl::ResourceExhaustedError(
        absl::StrCat(endpoint, " made ", count,
                     " Explain calls this minute; the registry limit is "
                     "max_explain_per_minute ",
                     max));
  }
  ++count;
  return absl::OkStatus();
}

void ExchangeService::ForgetStream(uint64_t token) {
  absl::MutexLock lock(&streams_mu_);
  streams_.erase(token);
}

int ExchangeService::EndRevokedStreams(const certs::TrustStore& trust) {
  int ended = 0;
  // Under the lock: a reactor forgets its stream in OnDone, before its
  // context goes, so every context here is still alive. TryCancel is
  // thread-safe and only schedules OnCancel/OnDone.
  absl::MutexLock lock(&streams_mu_);
  for (auto& [token, s] : streams_) {
    if (!trust.IsRevoked(s.serial_hex)) continue;
    s.context->TryCancel();
    ++ended;
    log::Warning("exchange.stream_revoked", {{"endpoint", s.endpoint}, {"serial", s.serial_hex}});
  }
  return ended;
}

std::shared_ptr<Subscription> ExchangeService::StartSubscription(const std::string& endpoint,
                                                                 uint32_t window,
                                                                 SubscriptionSink* sink) {
  std::shared_ptr<Subscription> subscription;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return nullptr;
    // Reap streams that have ended.
    subscriptions_.remove_if([](const std::shared_ptr<Subscription>& s) { return s->Finished(); });
    SubscriptionDeps deps = subscription_deps_;
    deps.stats = &stats_[endpoint];
    subscription = std::make_shared<Subscription>(endpoint, window, std::move(deps), sink);
    subscriptions_.push_back(subscription);
  }
  log::Info("subscribe.started", {{"endpoint", endpoint}, {"window", window}});
  subscription->Start();
  return subscription;
}

void ExchangeService::Shutdown() {
  std::list<std::shared_ptr<Subscription>> subscriptions;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    subscriptions.swap(subscriptions_);
  }
  for (const std::shared_ptr<Subscription>& s : subscriptions) s->Stop();
  // Destroying them joins their threads (each closes its Kafka consumer).
  subscriptions.clear();
}

EndpointDeliveryStats* ExchangeService::StatsFor(const std::string& endpoint) {
  absl::MutexLock lock(&mu_);
  return &stats_[endpoint];
}

std::vector<std::string> ExchangeService::EndpointsWithStats() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [endpoint, stats] : stats_) out.push_back(endpoint);
  return out;
}

}  // namespace liaison::broker
