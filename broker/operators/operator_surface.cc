#include "broker/operators/operator_surface.h"

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace liaison::broker {

absl::StatusOr<std::unique_ptr<OperatorSurface>> OperatorSurface::Start(
    OperatorSurfaceOptions options, OperatorDeps deps, const PeerAuthenticator* peers) {
  auto surface = std::unique_ptr<OperatorSurface>(new OperatorSurface());
  auto chain = deps.chain;
  surface->cluster_ = std::make_unique<ClusterMonitor>(
      options.kafka, options.topics,
      [chain] {
        std::vector<std::string> ids;
        for (const liaison::v1::Endpoint& e : chain()->registry().proto().endpoints()) {
          ids.push_back(e.id());
        }
        return ids;
      },
      options.probe_interval);
  surface->cluster_->Start();
  deps.cluster = surface->cluster_.get();
  Operations* operations = deps.operations;
  const bool embedded_kafka = deps.embedded_kafka;
  surface->views_ = std::make_unique<OperatorViews>(std::move(deps));

  if (!options.admin_listen_address.empty()) {
    surface->admin_ = std::make_unique<AdminService>(surface->views_.get(), peers, operations);
    grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = options.ca_pem;
    ssl.pem_key_cert_pairs.push_back({options.key_pem, options.cert_pem});
    grpc::ServerBuilder builder;
    std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(ssl);
    creds->SetAuthMetadataProcessor(PeerCheckBeforeRequest(peers, certs::Role::kOperator));
    builder.AddListeningPort(options.admin_listen_address, creds, &surface->admin_port_);
    builder.RegisterService(surface->admin_.get());
    surface->admin_server_ = builder.BuildAndStart();
    if (surface->admin_server_ == nullptr || surface->admin_port_ == 0) {
      return absl::UnavailableError(absl::StrCat(
          "admin listener: cannot listen on ", options.admin_listen_address, " (address in use?)"));
    }
  }
  if (!options.http_listen_address.empty()) {
    HttpServerOptions http;
    http.listen_address = options.http_listen_address;
    http.security = options.http_security;
    http.embedded_kafka = embedded_kafka;
    http.ca_path = options.ca_path;
    http.cert_path = options.cert_path;
    http.key_path = options.key_path;
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(std::move(http), surface->views_.get(), peers);
    if (!server.ok()) return server.status();
    surface->http_ = *std::move(server);
  }
  log::Info("operations.started",
            {{"admin_port", surface->admin_port_}, {"http_url", surface->http_url()}});
  return surface;
}

OperatorSurface::~OperatorSurface() { Shutdown(); }

void OperatorSurface::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (views_ != nullptr) views_->flow_log().Close();
  if (http_ != nullptr) http_->Stop();
  if (admin_ != nullptr) admin_->Shutdown();
  if (admin_server_ != nullptr) {
    admin_server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    admin_server_->Wait();
  }
  if (cluster_ != nullptr) cluster_->Stop();
}

}  // namespace liaison::broker
