#include "connectors/endpoint/client.h"

#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "base/proto_time.h"
#include "base/status_macros.h"
#include "base/uuid.h"
#include "certs/envelope.h"

namespace liaison::endpoint {
namespace {

gpr_timespec Deadline(absl::Duration timeout) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_millis(absl::ToInt64Milliseconds(timeout), GPR_TIMESPAN));
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<ClientOptions> ClientOptions::FromPkiDir(const std::string& dir,
                                                        const std::string& endpoint_id,
                                                        const std::string& target) {
  ClientOptions o;
  o.target = target;
  o.endpoint_id = endpoint_id;
  const std::string ep = absl::StrCat(dir, "/endpoints/", endpoint_id);
  LIAISON_ASSIGN_OR_RETURN(o.ca_pem, ReadFile(dir + "/ca.pem"));
  LIAISON_ASSIGN_OR_RETURN(o.tls_cert_pem, ReadFile(ep + "/tls.pem"));
  LIAISON_ASSIGN_OR_RETURN(o.tls_key_pem, ReadFile(ep + "/tls.key"));
  LIAISON_ASSIGN_OR_RETURN(std::unique_ptr<certs::Signer> signer,
                           certs::Signer::FromPemFiles(ep + "/sign.key", ep + "/sign.pem"));
  o.signer = std::move(signer);
  LIAISON_ASSIGN_OR_RETURN(o.trust, certs::TrustStore::Load(dir + "/ca.pem", dir + "/crl.pem"));
  o.crl_path = dir + "/crl.pem";
  return o;
}

Client::Client(ClientOptions options, std::vector<std::string> targets, std::vector<Node> nodes)
    : options_(std::move(options)),
      targets_(std::move(targets)),
      nodes_(std::move(nodes)),
      channel_(nodes_.front().channel),
      linkage_stub_(liaison::v1::Linkage::NewStub(channel_)),
      evidence_stub_(liaison::v1::Evidence::NewStub(channel_)),
      verifier_(options_.trust, options_.endpoint_id) {
  if (!options_.crl_path.empty()) verifier_.FollowCrlFile(options_.ca_pem, options_.crl_path);
  for (const Node& node : nodes_) {
    evidence_stubs_.push_back(liaison::v1::Evidence::NewStub(node.channel));
  }
}

size_t Client::FailOver(size_t from) {
  size_t expected = from;
  const size_t next = (from + 1) % nodes_.size();
  // Only the first caller to see `from` fail moves on; the others use its choice.
  const size_t chosen = current_.compare_exchange_strong(expected, next) ? next : expected;
  WakeUp(chosen);
  return chosen;
}

void Client::WakeUp(size_t node) {
  grpc::Channel& channel = *nodes_[node].channel;
  if (channel.GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
    grpc::experimental::ChannelResetConnectionBackoff(&channel);
  }
}

Client::Failovers Client::failovers() const {
  absl::MutexLock lock(&stats_mu_);
  return failovers_;
}

grpc::Status Client::WithFailover(
    absl::Duration timeout,
    const std::function<grpc::Status(liaison::v1::Exchange::Stub&, grpc::ClientContext&)>& call) {
  const absl::Time deadline = absl::Now() + timeout;
  // Each node at most twice: a node that restarted gets a second chance,
  // and a network where every node is down answers within 2 x nodes tries.
  const size_t attempts = nodes_.size() == 1 ? 1 : 2 * nodes_.size();
  size_t node = current_.load();
  grpc::Status status;
  for (size_t attempt = 0; attempt < attempts; ++attempt) {
    if (attempt >= nodes_.size()) {
      // The second chance: a node that is reconnecting (WakeUp) gets up to
      // 1 s to finish, since a call on a channel not yet connected again
      // would be refused at once.
      nodes_[node].channel->WaitForConnected(Deadline(
          std::max(absl::ZeroDuration(), std::min(absl::Seconds(1), deadline - absl::Now()))));
    }
    grpc::ClientContext context;
    context.set_deadline(Deadline(std::max(absl::ZeroDuration(), deadline - absl::Now())));
    status = call(*nodes_[node].stub, context);
    const grpc::StatusCode code = status.error_code();
    // Resending is safe: the same envelope (same message id) is answered
    // from the deduplication window by whichever node gets it.
    const bool retry = code == grpc::StatusCode::UNAVAILABLE ||
                       code == grpc::StatusCode::CANCELLED ||
                       (code == grpc::StatusCode::DEADLINE_EXCEEDED && absl::Now() < deadline);
    if (!retry || absl::Now() >= deadline) break;
    if (attempt + 1 < attempts) {
      node = FailOver(node);
      if (attempt + 1 >= nodes_.size()) {
        // Every node failed once: wait a little before the second round.
        absl::SleepFor(std::min(absl::Milliseconds(200), deadline - absl::Now()));
      }
    }
  }
  return status;
}

absl::StatusOr<liaison::v1::EvidenceItem> Client::UploadItem(const std::string& path,
                                                             const UploadItemOptions& options) {
  std::vector<liaison::v1::Evidence::StubInterface*> order;
  const size_t first = current_.load();
  for (size_t i = 0; i < evidence_stubs_.size(); ++i) {
    order.push_back(evidence_stubs_[(first + i) % evidence_stubs_.size()].get());
  }
  return UploadEvidenceItem(order, path, options, *options_.trust, absl::Now());
}

absl::Status Client::DownloadItem(const liaison::v1::EvidenceItem& item,
                                  const certs::RecipientKey& key, const std::string& out_path,
                                  const DownloadItemOptions& options) {
  return DownloadEvidenceItem(*evidence_stub_, item, key, out_path, options);
}

absl::StatusOr<liaison::v1::ListResponse> Client::ListItems(absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  liaison::v1::ListResponse response;
  grpc::Status status = evidence_stub_->List(&context, liaison::v1::ListRequest(), &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

absl::StatusOr<absl::Time> Client::AcknowledgeItem(const std::string& item_id,
                                                   const std::string& sha256,
                                                   absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  liaison::v1::AcknowledgeRequest request;
  request.set_item_id(item_id);
  request.set_sha256(sha256);
  liaison::v1::AcknowledgeResponse response;
  grpc::Status status = evidence_stub_->Acknowledge(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  return FromProto(response.acknowledged_at());
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.signer == nullptr) return absl::InvalidArgumentError("options.signer: missing");
  if (options.trust == nullptr) return absl::InvalidArgumentError("options.trust: missing");
  std::vector<std::string> targets = options.targets;
  const char* field = "options.targets";
  if (targets.empty()) {
    if (options.target.empty()) return absl::InvalidArgumentError("options.target: missing");
    targets = absl::StrSplit(options.target, ',');
    field = "options.target";
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    targets[i] = std::string(absl::StripAsciiWhitespace(targets[i]));
    if (targets[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": node ", i + 1, " of ", targets.size(), " is empty"));
    }
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.ca_pem;
  ssl.pem_cert_chain = options.tls_cert_pem;
  ssl.pem_private_key = options.tls_key_pem;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  // gRPC's reconnect backoff grows to 120 s by default: a node down for a
  // minute or two (a restart reading large state topics) stayed refused that
  // long after it was back. Failing over resets it (WakeUp); this bounds it
  // for channels nothing fails over to.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  // A fixed 4 MiB receive window per stream (as the broker has): with
  // bandwidth-delay probing an evidence download's window grew to tens of
  // MiB held in the client while it decrypts and writes
  // (tests/bench/evidence_bench).
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4 * 1024 * 1024);
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  std::vector<Node> nodes;
  for (const std::string& target : targets) {
    Node node;
    node.channel = grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
    node.stub = liaison::v1::Exchange::NewStub(node.channel);
    nodes.push_back(std::move(node));
  }
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(targets), std::move(nodes)));
}

absl::StatusOr<liaison::v1::SignedEnvelope> Client::Seal(liaison::v1::Message& message,
                                                         absl::Time now) const {
  liaison::v1::Header* h = message.mutable_header();
  if (!h->sender().empty() && h->sender() != options_.endpoint_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header.sender: '", h->sender(), "' is not this endpoint (", options_.endpoint_id, ")"));
  }
  h->set_sender(options_.endpoint_id);
  if (h->message_id().empty()) h->set_message_id(NewUuidV7(now));
  if (!h->has_created_at()) *h->mutable_created_at() = ToProto(now);
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    return absl::InvalidArgumentError("message: cannot be serialised");
  }
  return certs::SignEnvelope(std::move(bytes), *options_.signer);
}

absl::StatusOr<liaison::v1::SendResult> Client::Send(const liaison::v1::SignedEnvelope& envelope,
                                                     absl::Duration timeout) {
  liaison::v1::SendResult result;
  const absl::Time start = absl::Now();
  const size_t first = current_.load();
  size_t served_by = first;
  grpc::Status status =
      WithFailover(timeout, [&](liaison::v1::Exchange::Stub& stub, grpc::ClientContext& context) {
        for (size_t i = 0; i < nodes_.size(); ++i) {
          if (nodes_[i].stub.get() == &stub) served_by = i;
        }
        result.Clear();
        return stub.Send(&context, envelope, &result);
      });
  if (!status.ok()) return FromGrpc(status);
  if (served_by != first) {
    absl::MutexLock lock(&stats_mu_);
    ++failovers_.count;
    failovers_.longest = std::max(failovers_.longest, absl::Now() - start);
  }
  return result;
}

absl::StatusOr<liaison::v1::ExplainResponse> Client::Explain(
    const liaison::v1::Message& message, const std::vector<std::string>& recipients,
    std::optional<absl::Time> at, absl::Duration timeout) {
  liaison::v1::ExplainRequest request;
  *request.mutable_message() = message;
  for (const std::string& r : recipients) request.add_recipients(r);
  if (at.has_value()) *request.mutable_at() = ToProto(*at);
  liaison::v1::ExplainResponse response;
  grpc::Status status =
      WithFailover(timeout, [&](liaison::v1::Exchange::Stub& stub, grpc::ClientContext& context) {
        response.Clear();
        return stub.Explain(&context, request, &response);
      });
  if (!status.ok()) return FromGrpc(status);
  return response;
}

// --- Linkage index ---------------------------------------------------------------

absl::StatusOr<liaison::v1::SignedIndexBatch> Client::SealIndexBatch(liaison::v1::IndexBatch& batch,
                                                                     absl::Time now) const {
  if (!batch.publisher().empty() && batch.publisher() != options_.endpoint_id) {
    return absl::InvalidArgumentError(absl::StrCat("publisher: '", batch.publisher(),
                                                   "' is not this endpoint ('",
                                                   options_.endpoint_id, "')"));
  }
  batch.set_publisher(options_.endpoint_id);
  if (batch.batch_id().empty()) batch.set_batch_id(NewUuidV7(now));
  if (!batch.has_created_at()) *batch.mutable_created_at() = ToProto(now);
  liaison::v1::SignedIndexBatch out;
  out.set_batch(batch.SerializeAsString());
  LIAISON_ASSIGN_OR_RETURN(std::string signature,
                           options_.signer->Sign(certs::IndexBatchSigningInput(out.batch())));
  out.set_signature(std::move(signature));
  out.set_signer_certificate(options_.signer->certificate().der());
  return out;
}

absl::StatusOr<std::vector<liaison::v1::IndexBatchResult>> Client::PublishIndex(
    std::vector<liaison::v1::IndexBatch> batches, absl::Duration timeout) {
  std::vector<liaison::v1::SignedIndexBatch> sealed;
  sealed.reserve(batches.size());
  const absl::Time now = absl::Now();
  for (liaison::v1::IndexBatch& b : batches) {
    LIAISON_ASSIGN_OR_RETURN(liaison::v1::SignedIndexBatch s, SealIndexBatch(b, now));
    sealed.push_back(std::move(s));
  }
  return PublishSigned(sealed, timeout);
}

absl::StatusOr<std::vector<liaison::v1::IndexBatchResult>> Client::PublishSigned(
    const std::vector<liaison::v1::SignedIndexBatch>& sealed, absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(Deadline(timeout));
  std::unique_ptr<
      grpc::ClientReaderWriter<liaison::v1::SignedIndexBatch, liaison::v1::IndexBatchResult>>
      stream = linkage_stub_->Publish(&context);
  // Batches are written by their own thread while results are read here:
  // the broker works on several batches of the stream at once (and paces
  // the writes through gRPC's flow control); results come in order.
  std::thread writer([&stream, &sealed] {
    for (const liaison::v1::SignedIndexBatch& s : sealed) {
      if (!stream->Write(s)) break;
    }
    stream->WritesDone();
  });
  std::vector<liaison::v1::IndexBatchResult> results;
  for (liaison::v1::IndexBatchResult r; results.size() < sealed.size() && stream->Read(&r);) {
    results.push_back(std::move(r));
  }
  if (results.size() < sealed.size())
    context.TryCancel();  // the writer must not wait on a dead stream
  writer.join();
  const grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpc(status);
  if (results.size() != sealed.size()) {
    return absl::UnavailableError(absl::StrCat("the stream ended after ", results.size(), " of ",
                                               sealed.size(), " batches; publish the rest again"));
  }
  return results;
}

// --- SendStream --------------------------------------------------------------

std::unique_ptr<SendStream> Client::OpenSendStream(SendStream::OnResult on_result, size_t window) {
  const size_t node = current_.load();
  auto context = std::make_unique<grpc::ClientContext>();
  auto stream = nodes_[node].stub->SendStream(context.get());
  std::function<void()> on_broken;
  if (nodes_.size() > 1) on_broken = [this, node] { FailOver(node); };
  return std::unique_ptr<SendStream>(new SendStream(
      std::move(context), std::move(stream), std::move(on_result), window, std::move(on_broken)));
}

SendStream::SendStream(
    std::unique_ptr<grpc::ClientContext> context,
    std::unique_ptr<grpc::ClientReaderWriter<liaison::v1::SignedEnvelope, liaison::v1::SendResult>>
        stream,
    OnResult on_result, size_t window, std::function<void()> on_broken)
    : context_(std::move(context)),
      stream_(std::move(stream)),
      on_result_(std::move(on_result)),
      window_(std::max<size_t>(1, window)),
      on_broken_(std::move(on_broken)) {
  reader_ = std::thread([this] { ReadLoop(); });
}

SendStream::~SendStream() {
  (void)Close();
  if (reader_.joinable()) reader_.join();
}

void SendStream::ReadLoop() {
  liaison::v1::SendResult result;
  while (stream_->Read(&result)) {
    on_result_(result);
    absl::MutexLock lock(&mu_);
    if (pending_ > 0) --pending_;
  }
  bool closed;
  {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    closed = closed_;
  }
  if (!closed && on_broken_) on_broken_();
}

absl::Status SendStream::Write(const liaison::v1::SignedEnvelope& envelope) {
  {
    absl::MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return pending_ < window_ || broken_ || closed_;
    };
    mu_.Await(absl::Condition(&room));
    if (closed_) return absl::FailedPreconditionError("stream: already closed");
    if (broken_)
      return absl::UnavailableError("stream: broken; results of pending sends are unknown");
    ++pending_;
  }
  // Batch writes while the window has room; gRPC flushes on the next
  // un-hinted write or when its buffer fills.
  if (!stream_->Write(envelope)) {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    return absl::UnavailableError("stream: write failed");
  }
  return absl::OkStatus();
}

size_t SendStream::pending() const {
  absl::MutexLock lock(&mu_);
  return pending_;
}

absl::Status SendStream::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
  }
  stream_->WritesDone();
  if (reader_.joinable()) reader_.join();
  return FromGrpc(stream_->Finish());
}

// --- Subscription ------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Subscription>> Client::Subscribe(uint32_t window,
                                                                absl::Duration ready_timeout) {
  Subscription::Connect connect = [this, window](bool failover) {
    size_t node = current_.load();
    if (failover) node = FailOver(node);
    auto context = std::make_unique<grpc::ClientContext>();
    std::unique_ptr<Subscription::Stream> stream = nodes_[node].stub->Subscribe(context.get());
    liaison::v1::SubscribeRequest start;
    start.mutable_start()->set_window(window);
    // A failed write shows as the stream's end, which the reader sees.
    (void)stream->Write(start);
    return std::make_pair(std::move(context), std::move(stream));
  };
  std::unique_ptr<Subscription> subscription(
      new Subscription(std::move(connect), nodes_.size() > 1, options_.reconnect_for, &verifier_));
  LIAISON_RETURN_IF_ERROR(subscription->WaitReady(ready_timeout));
  return subscription;
}

Subscription::Subscription(Connect connect, bool reconnect, absl::Duration reconnect_for,
                           const ItemVerifier* verifier)
    : connect_(std::move(connect)),
      reconnect_(reconnect),
      reconnect_for_(reconnect_for),
      verifier_(verifier) {
  {
    absl::MutexLock lock(&write_mu_);
    std::tie(context_, stream_) = connect_(false);
  }
  reader_ = std::thread([this] { ReadLoop(); });
}

Subscription::~Subscription() {
  (void)Close();
  if (reader_.joinable()) reader_.join();
}

void Subscription::ReadLoop() {
  std::optional<absl::Time> broke;  // set while reconnecting
  int tries = 0;
  for (;;) {
    liaison::v1::SubscribeResponse response;
    // stream_ is replaced only by this thread.
    while (stream_->Read(&response)) {
      absl::MutexLock lock(&mu_);
      if (response.has_event()) {
        if (response.event().kind() == liaison::v1::SubscriptionEvent::KIND_READY) {
          ready_ = true;
          if (broke.has_value()) {
            ++reconnects_.count;
            reconnects_.longest = std::max(reconnects_.longest, absl::Now() - *broke);
            broke.reset();
            tries = 0;
          }
        }
      } else if (response.has_item()) {
        queue_.push_back(std::move(*response.mutable_item()));
      }
      response.Clear();
    }
    absl::MutexLock write_lock(&write_mu_);
    const grpc::Status status = stream_->Finish();
    const grpc::StatusCode code = status.error_code();
    // Another node may serve the stream when this one went away; an answer
    // about the endpoint itself (revoked, not authorised) ends it.
    const bool node_gone = code == grpc::StatusCode::UNAVAILABLE ||
                           code == grpc::StatusCode::CANCELLED ||
                           code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN;
    if (!broke.has_value()) broke = absl::Now();
    if (!writes_done_ && reconnect_ && node_gone && absl::Now() - *broke < reconnect_for_) {
      // Items not acknowledged on the old node come again from the new one;
      // Next drops those this subscription acknowledged meanwhile.
      if (tries >= 1) {
        // Every node may be restarting: back off a little (100 ms .. 1 s).
        absl::SleepFor(std::min(absl::Seconds(1), absl::Milliseconds(100) * tries));
      }
      ++tries;
      std::tie(context_, stream_) = connect_(true);
      continue;
    }
    absl::MutexLock lock(&mu_);
    ended_ = true;
    final_status_ = status.ok() ? absl::CancelledError("subscription ended") : FromGrpc(status);
    return;
  }
}

Subscription::Reconnects Subscription::reconnects() const {
  absl::MutexLock lock(&mu_);
  return reconnects_;
}

void Subscription::RememberAck(const std::string& item_id) {
  if (!acked_.insert(item_id).second) return;
  acked_order_.push_back(item_id);
  if (acked_order_.size() > kRememberedAcks) {
    acked_.erase(acked_order_.front());
    acked_order_.pop_front();
  }
}

absl::Status Subscription::WaitReady(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready_or_ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ready_ || ended_; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready_or_ended), timeout)) {
    return absl::DeadlineExceededError("subscription: broker did not start streaming in time");
  }
  if (!ready_) return final_status_;
  return absl::OkStatus();
}

absl::StatusOr<Subscription::Received> Subscription::Next(absl::Duration timeout) {
  liaison::v1::DeliveryItem item;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto available = [this]()
                           ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || ended_; };
      if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
        return absl::DeadlineExceededError("no item within the timeout");
      }
      if (queue_.empty()) return final_status_;
      item = std::move(queue_.front());
      queue_.pop_front();
      if (!acked_.contains(item.item_id())) break;
      ++reconnects_.replays_dropped;
    }
    // Acknowledged before, sent again by a node that did not store the
    // acknowledgement: acknowledge it again so that it stops coming, and
    // never hand it to the application twice.
    (void)Ack({item.item_id()});
  }
  Received received;
  received.verified = verifier_->Verify(item, absl::Now());
  received.item = std::move(item);
  return received;
}

absl::Status Subscription::Ack(const std::vector<std::string>& item_ids) {
  liaison::v1::SubscribeRequest request;
  for (const std::string& id : item_ids) request.mutable_ack()->add_item_ids(id);
  absl::MutexLock lock(&write_mu_);
  if (writes_done_) return absl::FailedPreconditionError("subscription: closed");
  {
    // Remembered even when the write fails: the item, sent again after a
    // reconnect, is then acknowledged again rather than handed out twice.
    absl::MutexLock state(&mu_);
    for (const std::string& id : item_ids) RememberAck(id);
  }
  if (!stream_->Write(request)) {
    // With several nodes the stream is being opened again: the item comes
    // again there and Next acknowledges it then (see above).
    if (reconnect_) return absl::OkStatus();
    return absl::UnavailableError("subscription: stream broken");
  }
  return absl::OkStatus();
}

absl::Status Subscription::Close() {
  {
    absl::MutexLock lock(&write_mu_);
    if (writes_done_) return absl::OkStatus();
    writes_done_ = true;
    stream_->WritesDone();
  }
  // Give the broker a moment to end the call cleanly, then cancel.
  bool ended_in_time;
  {
    absl::MutexLock lock(&mu_);
    auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ended_; };
    ended_in_time = mu_.AwaitWithTimeout(absl::Condition(&ended), absl::Seconds(5));
  }
  if (!ended_in_time) {
    absl::MutexLock write_lock(&write_mu_);  // the reader may be replacing the stream
    context_->TryCancel();
  }
  if (reader_.joinable()) reader_.join();
  return absl::OkStatus();
}

}  // namespace liaison::endpoint
