// liaison.v1.Admin (admin.proto) on gRPC's callback API, for operators:
// every call first authenticates the TLS client certificate with the
// operator role (PeerAuthenticator): no certificate → UNAUTHENTICATED, an
// endpoint's or broker's certificate → PERMISSION_DENIED. Answers come from
// OperatorViews (metadata only). No handler blocks a gRPC thread.
#ifndef LIAISON_BROKER_OPERATORS_ADMIN_SERVICE_H_
#define LIAISON_BROKER_OPERATORS_ADMIN_SERVICE_H_

#include <set>

#include "absl/synchronization/mutex.h"
#include "broker/core/observer.h"
#include "broker/frontdoor/peer.h"
#include "broker/operators/operator_views.h"
#include "liaison/v1/admin.grpc.pb.h"

namespace liaison::broker {

class AdminService final : public liaison::v1::Admin::CallbackService {
 public:
  // Not owned; must outlive the service. `observer` may be null.
  AdminService(const OperatorViews* views, const PeerAuthenticator* peers, Observer* observer);
  ~AdminService() override;

  grpc::ServerUnaryReactor* ListEndpoints(grpc::CallbackServerContext* context,
                                          const liaison::v1::ListEndpointsRequest* request,
                                          liaison::v1::ListEndpointsResponse* response) override;
  grpc::ServerUnaryReactor* GetFlowStats(grpc::CallbackServerContext* context,
                                         const liaison::v1::FlowStatsRequest* request,
                                         liaison::v1::FlowStatsResponse* response) override;
  grpc::ServerWriteReactor<liaison::v1::FlowEventInfo>* WatchFlows(
      grpc::CallbackServerContext* context, const liaison::v1::WatchFlowsRequest* request) override;
  grpc::ServerUnaryReactor* ListHolds(grpc::CallbackServerContext* context,
                                      const liaison::v1::ListHoldsRequest* request,
                                      liaison::v1::ListHoldsResponse* response) override;
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* context,
                                      const liaison::v1::HealthRequest* request,
                                      liaison::v1::HealthResponse* response) override;
  grpc::ServerUnaryReactor* GetLinkageIndex(grpc::CallbackServerContext* context,
                                            const liaison::v1::LinkageIndexRequest* request,
                                            liaison::v1::LinkageIndexResponse* response) override;

  // Ends every WatchFlows stream with UNAVAILABLE and refuses new ones.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  // Used by the WatchFlows reactor.
  class Watcher;
  void Report(const char* method, absl::StatusCode code) const;
  void Forget(Watcher* watcher) ABSL_LOCKS_EXCLUDED(mu_);
  const OperatorViews& views() const { return *views_; }

 private:
  // Authenticates; on failure finishes `reactor` and returns false.
  bool Admit(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
             const char* method) const;

  const OperatorViews* const views_;
  const PeerAuthenticator* const peers_;
  Observer* const observer_;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_ADMIN_SERVICE_H_
