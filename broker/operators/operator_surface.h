// Everything operators reach on one broker node, assembled: the Kafka
// cluster monitor, the views, the admin gRPC service on its own listener
// (mutual TLS, operator certificates only) and the HTTP server (dashboard,
// /metrics, JSON and event stream). Broker::Start creates it once the
// pipeline runs; Broker::Shutdown stops it first.
#ifndef LIAISON_BROKER_OPERATORS_OPERATOR_SURFACE_H_
#define LIAISON_BROKER_OPERATORS_OPERATOR_SURFACE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/core/topics.h"
#include "broker/frontdoor/peer.h"
#include "broker/operators/admin_service.h"
#include "broker/operators/cluster_monitor.h"
#include "broker/operators/http_server.h"
#include "broker/operators/operator_views.h"
#include "connectors/kafka/client_config.h"
#include "grpcpp/grpcpp.h"

namespace liaison::broker {

struct OperatorSurfaceOptions {
  // Empty: no admin listener / no HTTP server.
  std::string admin_listen_address;
  std::string http_listen_address;
  HttpSecurity http_security = HttpSecurity::kAuto;
  // How often Kafka is probed for reachability and consumer lag.
  absl::Duration probe_interval = absl::Seconds(10);
  kafka::ClientConfig kafka;
  Topics topics;
  // The broker's TLS identity and the network CA, as files (HTTP) and PEM
  // texts (gRPC).
  std::string ca_path;
  std::string cert_path;
  std::string key_path;
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

class OperatorSurface {
 public:
  // `deps.cluster` is filled here. `peers` is not owned. Errors name the
  // listener at fault.
  static absl::StatusOr<std::unique_ptr<OperatorSurface>> Start(OperatorSurfaceOptions options,
                                                                OperatorDeps deps,
                                                                const PeerAuthenticator* peers);
  ~OperatorSurface();  // Shutdown()

  // Ends watch and event streams, stops both listeners and the monitor.
  // Idempotent.
  void Shutdown();

  int admin_port() const { return admin_port_; }
  int http_port() const { return http_ != nullptr ? http_->port() : 0; }
  std::string http_url() const { return http_ != nullptr ? http_->url() : ""; }
  const OperatorViews& views() const { return *views_; }
  ClusterMonitor& cluster() { return *cluster_; }

 private:
  OperatorSurface() = default;

  std::unique_ptr<ClusterMonitor> cluster_;
  std::unique_ptr<OperatorViews> views_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> admin_server_;
  int admin_port_ = 0;
  std::unique_ptr<HttpServer> http_;
  bool shut_down_ = false;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_OPERATOR_SURFACE_H_
