// liaison.v1.Exchange on gRPC's callback API: no handler blocks a gRPC
// thread. Send and SendStream hand envelopes to Ingress and answer from the
// Kafka delivery report; Subscribe runs a Subscription per stream.
#ifndef LIAISON_BROKER_FRONTDOOR_EXCHANGE_SERVICE_H_
#define LIAISON_BROKER_FRONTDOOR_EXCHANGE_SERVICE_H_

#include <list>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "broker/core/observer.h"
#include "broker/delivery/subscription.h"
#include "broker/frontdoor/ingress.h"
#include "broker/frontdoor/peer.h"
#include "liaison/v1/exchange.grpc.pb.h"

namespace liaison::broker {

struct ExchangeOptions {
  // Envelopes of one SendStream being verified or written at once; the
  // stream stops reading (gRPC flow control pushes back) beyond this.
  size_t max_stream_in_flight = 2048;
  // Told of every finished call (may be null).
  Observer* observer = nullptr;
  // Answers Explain (null: UNIMPLEMENTED).
  std::function<absl::StatusOr<liaison::v1::ExplainResponse>(const liaison::v1::ExplainRequest&,
                                                             const std::string& peer_id)>
      explain;
  // The front-door limits of an endpoint (the registry's EndpointLimits;
  // null: the built-in defaults of policy::Registry::LimitsFor).
  std::function<liaison::v1::EndpointLimits(const std::string& endpoint)> limits;
};

class ExchangeService final : public liaison::v1::Exchange::CallbackService {
 public:
  ExchangeService(Ingress* ingress, const PeerAuthenticator* peers,
                  SubscriptionDeps subscription_deps, ExchangeOptions options = {});
  ~ExchangeService() override;

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context,
                                 const liaison::v1::SignedEnvelope* request,
                                 liaison::v1::SendResult* response) override;
  grpc::ServerBidiReactor<liaison::v1::SignedEnvelope, liaison::v1::SendResult>* SendStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<liaison::v1::SubscribeRequest, liaison::v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* context,
                                    const liaison::v1::ExplainRequest* request,
                                    liaison::v1::ExplainResponse* response) override;

  // Stops every subscription (their streams end) and waits for them.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  // Delivery figures per endpoint (for the operators' views).
  EndpointDeliveryStats* StatsFor(const std::string& endpoint) ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string> EndpointsWithStats() const ABSL_LOCKS_EXCLUDED(mu_);

  // Used by the Subscribe reactor.
  std::shared_ptr<Subscription> StartSubscription(const std::string& endpoint, uint32_t window,
                                                  SubscriptionSink* sink) ABSL_LOCKS_EXCLUDED(mu_);

  Ingress* ingress() const { return ingress_; }
  void ReportRpc(const char* method, absl::StatusCode code) const {
    if (options_.observer != nullptr) options_.observer->OnRpc(method, code);
  }
  const PeerAuthenticator* peers() const { return peers_; }
  const ExchangeOptions& options() const { return options_; }

  // Open SendStream and Subscribe streams, by the client certificate that
  // opened them, so that a CRL reload can end those of revoked certificates.
  // OpenStream (below) returns a token the reactor hands back in OnDone.
  void ForgetStream(uint64_t token) ABSL_LOCKS_EXCLUDED(streams_mu_);
  // Cancels every open stream whose client certificate `trust` revokes (the
  // client sees CANCELLED and cannot reconnect: its certificate is refused).
  // Called after each CRL reload; returns how many were ended.
  int EndRevokedStreams(const certs::TrustStore& trust) ABSL_LOCKS_EXCLUDED(streams_mu_);

  // Per-endpoint limits (registry EndpointLimits). Each returns OK and
  // counts, or ResourceExhausted naming the limit; the streams' counts drop
  // in ForgetStream, bytes with ReleaseBytes.
  enum class StreamKind { kSubscribe, kSend };
  absl::StatusOr<uint64_t> OpenStream(grpc::CallbackServerContext* context,
                                      const certs::Identity& peer, StreamKind kind)
      ABSL_LOCKS_EXCLUDED(streams_mu_);
  absl::Status TakeBytes(const std::string& endpoint, int64_t bytes)
      ABSL_LOCKS_EXCLUDED(streams_mu_);
  void ReleaseBytes(const std::string& endpoint, int64_t bytes) ABSL_LOCKS_EXCLUDED(streams_mu_);
  absl::Status TakeExplain(const std::string& endpoint) ABSL_LOCKS_EXCLUDED(streams_mu_);

 private:
  struct Stream {
    grpc::CallbackServerContext* context;
    std::string endpoint;
    std::string serial_hex;
    StreamKind kind;
  };
  liaison::v1::EndpointLimits LimitsOf(const std::string& endpoint) const;
  Ingress* const ingress_;
  const PeerAuthenticator* const peers_;
  const SubscriptionDeps subscription_deps_;
  const ExchangeOptions options_;

  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::list<std::shared_ptr<Subscription>> subscriptions_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, EndpointDeliveryStats> stats_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex streams_mu_;
  uint64_t next_stream_ ABSL_GUARDED_BY(streams_mu_) = 0;
  absl::flat_hash_map<uint64_t, Stream> streams_ ABSL_GUARDED_BY(streams_mu_);
  absl::flat_hash_map<std::string, int64_t> in_flight_bytes_ ABSL_GUARDED_BY(streams_mu_);
  // Explain calls per endpoint in the current minute: (minute, count).
  absl::flat_hash_map<std::string, std::pair<int64_t, int>> explains_ ABSL_GUARDED_BY(streams_mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_EXCHANGE_SERVICE_H_
