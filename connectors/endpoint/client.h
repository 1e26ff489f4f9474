// The C++ client library national systems link to talk to a Liaison broker:
// sign and send messages (one at a time or as a stream), subscribe to what
// is addressed to them, verify it, and acknowledge it.
//
//   auto options = ClientOptions::FromPkiDir("var/dev/pki", "RO-IGPR", "127.0.0.1:7443");
//   auto client = Client::Create(*options);
//   liaison::v1::Message m = ...;               // header.recipients, purposes, ...
//   auto envelope = (*client)->Seal(m);         // fills id, sender, created_at; signs
//   auto result = (*client)->Send(*envelope);   // "accepted" = durable in Kafka
#ifndef LIAISON_CONNECTORS_ENDPOINT_CLIENT_H_
#define LIAISON_CONNECTORS_ENDPOINT_CLIENT_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "certs/signature.h"
#include "certs/trust_store.h"
#include "connectors/endpoint/evidence_transfer.h"
#include "connectors/endpoint/item_verifier.h"
#include "grpcpp/grpcpp.h"
#include "liaison/v1/exchange.grpc.pb.h"
#include "liaison/v1/linkage.grpc.pb.h"

namespace liaison::endpoint {

struct ClientOptions {
  // "host:port" of a broker node, or several separated by commas
  // ("node-1:7443,node-2:7443"), which is the same as setting `targets`.
  std::string target;
  // Several broker nodes (of one network, on one Kafka cluster): Send,
  // SendStream, Explain and Subscribe fail over to the next one when the
  // node in use answers UNAVAILABLE or goes away (docs/cli.md "Several
  // broker nodes"). When set, `target` is ignored. Evidence transfer and
  // case linkage use the first node only.
  std::vector<std::string> targets;
  // How long a Subscribe stream that broke keeps trying the nodes in turn
  // before Next returns the stream's final status (several nodes only).
  absl::Duration reconnect_for = absl::Seconds(60);
  // This endpoint's id, e.g. "RO-IGPR".
  std::string endpoint_id;
  // PEM texts: the network CA, this endpoint's TLS certificate and key.
  std::string ca_pem;
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Signs outgoing messages (endpoint-signing certificate).
  std::shared_ptr<const certs::Signer> signer;
  // Verifies incoming items (network CA + CRL).
  std::shared_ptr<const certs::TrustStore> trust;
  // When set, the CRL file the client re-reads (every 10 s at most, when it
  // changed) so that long-running subscribers follow revocations; a CRL
  // older than the one in force is refused. FromPkiDir sets it.
  std::string crl_path;
  // Overrides the name checked against the broker certificate (empty: the
  // host part of each target).
  std::string tls_server_name;

  // Reads everything from a PKI folder laid out by certs/scripts/mint-dev-pki.sh:
  // DIR/ca.pem, DIR/crl.pem, DIR/endpoints/<ID>/{tls,sign}.{pem,key}.
  // InvalidArgument naming the missing or unreadable file.
  static absl::StatusOr<ClientOptions> FromPkiDir(const std::string& dir,
                                                  const std::string& endpoint_id,
                                                  const std::string& target);
};

// A stream of sends for high-volume senders: Write returns as soon as the
// envelope is on its way; results arrive on `on_result` (from the stream's
// reader thread) as Kafka confirms them. A stream is served by one node: when
// it breaks, Write returns Unavailable and the envelopes without a result
// must be sent again (same envelopes, same ids) on a new stream, which the
// client opens on the next node.
class SendStream {
 public:
  using OnResult = std::function<void(const liaison::v1::SendResult&)>;
  ~SendStream();

  // Blocks while `window` envelopes await their result. FailedPrecondition
  // after Close; Unavailable if the stream broke.
  absl::Status Write(const liaison::v1::SignedEnvelope& envelope) ABSL_LOCKS_EXCLUDED(mu_);
  // Half-closes, waits for every result and returns the stream's status.
  absl::Status Close() ABSL_LOCKS_EXCLUDED(mu_);
  // Envelopes written whose result has not arrived yet.
  size_t pending() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class Client;
  SendStream(std::unique_ptr<grpc::ClientContext> context,
             std::unique_ptr<
                 grpc::ClientReaderWriter<liaison::v1::SignedEnvelope, liaison::v1::SendResult>>
                 stream,
             OnResult on_result, size_t window, std::function<void()> on_broken);
  void ReadLoop();

  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<liaison::v1::SignedEnvelope, liaison::v1::SendResult>>
      stream_;
  const OnResult on_result_;
  const size_t window_;
  // Called once when the stream breaks before Close (the client then opens
  // the next stream on another node).
  const std::function<void()> on_broken_;
  mutable absl::Mutex mu_;
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reader_;
};

// One Subscribe stream. Items are verified before they are handed out.
class Subscription {
 public:
  struct Received {
    liaison::v1::DeliveryItem item;
    // The verification outcome; an item that fails verification is still
    // handed out (so it can be reported) but must not be trusted or acked.
    absl::StatusOr<VerifiedItem> verified;
  };
  ~Subscription();

  // The next item, DeadlineExceeded after `timeout`, or the stream's final
  // status (Unavailable etc.) once it ended.
  absl::StatusOr<Received> Next(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  // Acknowledges items by id. Thread-safe. With several nodes, an
  // acknowledgement the broken stream could not carry returns OK: the item
  // comes again from the next node and Next acknowledges it there instead of
  // handing it out (the last 100,000 acknowledged ids are remembered).
  absl::Status Ack(const std::vector<std::string>& item_ids) ABSL_LOCKS_EXCLUDED(write_mu_);
  // Ends the stream; unacknowledged items will be delivered again later.
  absl::Status Close() ABSL_LOCKS_EXCLUDED(mu_, write_mu_);

  // Several nodes: how often the stream broke and was opened again on
  // another node, and the longest time from a break to the new node's READY.
  struct Reconnects {
    int64_t count = 0;
    absl::Duration longest;
    // Items the broker sent again that this subscription had acknowledged
    // already (an acknowledgement the old node did not store in time):
    // acknowledged again, never handed out.
    int64_t replays_dropped = 0;
  };
  Reconnects reconnects() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class Client;
  using Stream =
      grpc::ClientReaderWriter<liaison::v1::SubscribeRequest, liaison::v1::SubscribeResponse>;
  // Opens the stream on a node (the next one when `failover`) and writes the
  // start request.
  using Connect =
      std::function<std::pair<std::unique_ptr<grpc::ClientContext>, std::unique_ptr<Stream>>(
          bool failover)>;
  Subscription(Connect connect, bool reconnect, absl::Duration reconnect_for,
               const ItemVerifier* verifier);
  // Waits for the broker's READY event.
  absl::Status WaitReady(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  void ReadLoop();
  // Remembers an acknowledged id (the last kRememberedAcks of them).
  void RememberAck(const std::string& item_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  static constexpr size_t kRememberedAcks = 100000;

  const Connect connect_;
  const bool reconnect_;
  const absl::Duration reconnect_for_;
  const ItemVerifier* const verifier_;
  // The stream in use; replaced (under write_mu_) only by the reader thread.
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<Stream> stream_;
  absl::Mutex write_mu_;
  bool writes_done_ ABSL_GUARDED_BY(write_mu_) = false;
  mutable absl::Mutex mu_;
  std::deque<liaison::v1::DeliveryItem> queue_ ABSL_GUARDED_BY(mu_);
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> acked_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> acked_order_ ABSL_GUARDED_BY(mu_);
  Reconnects reconnects_ ABSL_GUARDED_BY(mu_);
  std::thread reader_;
};

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);

  // Completes the header (sender = this endpoint; a new UUIDv7 message id and
  // created_at = now when unset), serialises once and signs those bytes.
  // InvalidArgument if header.sender names another endpoint.
  absl::StatusOr<liaison::v1::SignedEnvelope> Seal(liaison::v1::Message& message,
                                                   absl::Time now) const;

  // Unary send. The broker's status is returned as is (its message names
  // the problem); Unavailable means nothing was accepted: send it again.
  // With several nodes, an UNAVAILABLE or CANCELLED answer (node stopping,
  // Kafka not acknowledging, connection refused) or a deadline passed
  // while time remains sends the same envelope to the next node, each node
  // at most twice (the second time after up to 1 s for its connection);
  // the broker's deduplication answers a resend of an accepted id with
  // duplicate=true and the first accepted_at.
  absl::StatusOr<liaison::v1::SendResult> Send(const liaison::v1::SignedEnvelope& envelope,
                                               absl::Duration timeout = absl::Seconds(30));

  // Asks the broker how the policy in force would decide `message` for
  // `recipients` (empty: header.recipients) at `at` (nullopt: now). Nothing
  // is delivered, recorded or counted.
  absl::StatusOr<liaison::v1::ExplainResponse> Explain(const liaison::v1::Message& message,
                                                       const std::vector<std::string>& recipients,
                                                       std::optional<absl::Time> at = std::nullopt,
                                                       absl::Duration timeout = absl::Seconds(30));

  // Case linkage: completes each batch (publisher = this endpoint; a new
  // batch id and created_at = now when unset), signs it and streams the
  // batches to Linkage.Publish, one at a time. One result per batch, in
  // order: code 0 = stored and audited; otherwise nothing of that batch was
  // stored and the error names the entry and field. A broken stream returns
  // its status together with nothing for the batches not yet answered, so
  // `PublishIndex` may be called again with those (batches are idempotent).
  absl::StatusOr<std::vector<liaison::v1::IndexBatchResult>> PublishIndex(
      std::vector<liaison::v1::IndexBatch> batches, absl::Duration timeout = absl::Minutes(10));
  // The signed form of one batch (what PublishIndex sends).
  absl::StatusOr<liaison::v1::SignedIndexBatch> SealIndexBatch(liaison::v1::IndexBatch& batch,
                                                               absl::Time now) const;
  // Streams batches already signed (PublishIndex's second half).
  absl::StatusOr<std::vector<liaison::v1::IndexBatchResult>> PublishSigned(
      const std::vector<liaison::v1::SignedIndexBatch>& sealed,
      absl::Duration timeout = absl::Minutes(10));

  std::unique_ptr<SendStream> OpenSendStream(SendStream::OnResult on_result, size_t window = 1000);

  // Opens a Subscribe stream and waits until the broker streams (READY).
  absl::StatusOr<std::unique_ptr<Subscription>> Subscribe(
      uint32_t window = 256, absl::Duration ready_timeout = absl::Seconds(60));

  // JIT evidence (evidence_transfer.h, docs/evidence.md): encrypts the file
  // at `path` for options.recipients, uploads it and resumes after a broken
  // connection, on the next node when the connection broke or the node did
  // not answer (from the current one); returns the manifest entry's
  // transport fields.
  absl::StatusOr<liaison::v1::EvidenceItem> UploadItem(const std::string& path,
                                                       const UploadItemOptions& options);
  // Downloads, decrypts and verifies `item` (an entry of a verified
  // EVIDENCE_MANIFEST) with this endpoint's encryption `key`; writes
  // `out_path` only once every chunk and the whole SHA-256 are verified.
  absl::Status DownloadItem(const liaison::v1::EvidenceItem& item, const certs::RecipientKey& key,
                            const std::string& out_path, const DownloadItemOptions& options = {});
  // The items the policy granted this endpoint (Evidence.List), by item id,
  // each with its manifest entry and whether it is completely uploaded.
  absl::StatusOr<liaison::v1::ListResponse> ListItems(absl::Duration timeout = absl::Seconds(30));
  // Evidence.Acknowledge: this endpoint downloaded `item_id`, verified it
  // (`sha256`, the plaintext SHA-256 of the manifest entry) and stored it.
  // Returns when the broker recorded it (its chain of custody); once every
  // member the item was wrapped for acknowledged, the broker erases it
  // (docs/evidence.md). Errors: the broker's status as is
  // (PermissionDenied without a grant, InvalidArgument for another digest,
  // FailedPrecondition for an erased or incomplete item, Unavailable when
  // not recorded: acknowledge again).
  absl::StatusOr<absl::Time> AcknowledgeItem(const std::string& item_id, const std::string& sha256,
                                             absl::Duration timeout = absl::Seconds(30));

  const ItemVerifier& verifier() const { return verifier_; }
  const std::string& endpoint_id() const { return options_.endpoint_id; }

  // The broker nodes, and the one Send, SendStream, Explain and Subscribe
  // use now.
  const std::vector<std::string>& targets() const { return targets_; }
  const std::string& current_target() const { return targets_[current_.load()]; }
  // Sends that moved to another node, and the longest such send (from its
  // first attempt to the answer of the node that took it).
  struct Failovers {
    int64_t count = 0;
    absl::Duration longest;
  };
  Failovers failovers() const ABSL_LOCKS_EXCLUDED(stats_mu_);

 private:
  struct Node {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<liaison::v1::Exchange::Stub> stub;
  };
  Client(ClientOptions options, std::vector<std::string> targets, std::vector<Node> nodes);
  // Moves off node `from` (when it is still the current one); returns the
  // node to use now, its connection attempted at once (WakeUp).
  size_t FailOver(size_t from);
  // A node that was down a while has its channel in gRPC's reconnect
  // backoff (refusing calls at once until the next attempt): reset it, so
  // that a node that is back is tried now.
  void WakeUp(size_t node);
  // Calls `call` on the current node, failing over as Send describes.
  grpc::Status WithFailover(
      absl::Duration timeout,
      const std::function<grpc::Status(liaison::v1::Exchange::Stub&, grpc::ClientContext&)>& call);

  const ClientOptions options_;
  const std::vector<std::string> targets_;
  std::vector<Node> nodes_;
  std::atomic<size_t> current_{0};
  mutable absl::Mutex stats_mu_;
  Failovers failovers_ ABSL_GUARDED_BY(stats_mu_);
  std::shared_ptr<grpc::Channel> channel_;  // the first node's (evidence, linkage)
  std::unique_ptr<liaison::v1::Linkage::Stub> linkage_stub_;
  std::unique_ptr<liaison::v1::Evidence::Stub> evidence_stub_;
  // One per node (uploads fail over).
  std::vector<std::unique_ptr<liaison::v1::Evidence::Stub>> evidence_stubs_;
  ItemVerifier verifier_;
};

// grpc::Status -> absl::Status.
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace liaison::endpoint

#endif  // LIAISON_CONNECTORS_ENDPOINT_CLIENT_H_
