// liaison.v1.Exchange on gRPC's callback API: no handler blocks a gRPC
// thread. Send and SendStream hand envelopes to Ingress and answer from the
// Kafka delivery report; Subscribe runs a Subscription per stream.
#ifndef LIAISON_BROKER_EXCHANGE_SERVICE_H_
#define LIAISON_BROKER_EXCHANGE_SERVICE_H_

#include <list>
#include <memory>
#include <string>

#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "broker/ingress.h"
#include "broker/observer.h"
#include "broker/peer.h"
#include "broker/subscription.h"
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
  grpc::ServerBidiReactor<liaison::v1::SubscribeRequest, liaison::v1::SubscribeResponse>*
  Subscribe(grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* context,
                                    const liaison::v1::ExplainRequest* request,
                                    liaison::v1::ExplainResponse* response) override;

  // Stops every subscription (their streams end) and waits for them.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  // Delivery figures per endpoint (for the operators' views).
  EndpointDeliveryStats* StatsFor(const std::string& endpoint) ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string> EndpointsWithStats() const ABSL_LOCKS_EXCLUDED(mu_);

  // Used by the Subscribe reactor.
  std::shared_ptr<Subscription> StartSubscription(const std::string& endpoint,
                                                  uint32_t window, SubscriptionSink* sink)
      ABSL_LOCKS_EXCLUDED(mu_);

  Ingress* ingress() const { return ingress_; }
  void ReportRpc(const char* method, absl::StatusCode code) const {
    if (options_.observer != nullptr) options_.observer->OnRpc(method, code);
  }
  const PeerAuthenticator* peers() const { return peers_; }
  const ExchangeOptions& options() const { return options_; }

 private:
  Ingress* const ingress_;
  const PeerAuthenticator* const peers_;
  const SubscriptionDeps subscription_deps_;
  const ExchangeOptions options_;

  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::list<std::shared_ptr<Subscription>> subscriptions_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, EndpointDeliveryStats> stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_EXCHANGE_SERVICE_H_
