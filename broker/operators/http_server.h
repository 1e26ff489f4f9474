// The broker's HTTP server for operators (cpp-httplib): the web dashboard
// (embedded page), Prometheus /metrics, JSON views /api/endpoints,
// /api/flows, /api/holds, /api/health, /api/recent, and the live flow stream
// /api/events (server-sent events). Everything it serves comes from
// OperatorViews: metadata only.
//
// Security:
//  - TLS (HTTPS) with a client certificate: the handshake verifies the chain
//    to the network CA; every request is then authenticated like the admin
//    gRPC service (operator role, CRL, expiry): no certificate → 401, another
//    role → 403. Prometheus scrapes with an operator certificate too.
//  - Plain HTTP only in the embedded development mode (in-process mock Kafka)
//    and only on a loopback address; Start refuses anything else.
#ifndef LIAISON_BROKER_OPERATORS_HTTP_SERVER_H_
#define LIAISON_BROKER_OPERATORS_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "broker/frontdoor/peer.h"
#include "broker/operators/operator_views.h"

namespace liaison::broker {

// How the operators' HTTP server (dashboard, /metrics, /api/*) is protected.
enum class HttpSecurity {
  // Plain HTTP in the embedded development mode on a loopback address,
  // otherwise HTTPS requiring an operator client certificate.
  kAuto,
  // Always HTTPS with operator client certificates.
  kTls,
  // Plain HTTP: refused unless Kafka is embedded and the address is loopback.
  kPlain,
};

struct HttpServerOptions {
  // "host:port"; port 0 picks a free one.
  std::string listen_address = "127.0.0.1:7480";
  HttpSecurity security = HttpSecurity::kAuto;
  bool embedded_kafka = false;
  // The broker's TLS identity and the network CA (for client certificates).
  std::string ca_path;
  std::string cert_path;
  std::string key_path;
  // Concurrent /api/events streams (each holds a server thread); more get 503.
  size_t max_event_streams = 8;
  size_t threads = 16;
};

class HttpServer {
 public:
  // Binds and serves on a thread of its own. FailedPrecondition when plain
  // HTTP is asked for outside the embedded mode or off loopback;
  // InvalidArgument for a malformed address; Unavailable when the port
  // cannot be bound; the TLS files' errors name the file.
  // `views` and `peers` are not owned and must outlive the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                           const OperatorViews* views,
                                                           const PeerAuthenticator* peers);
  ~HttpServer();  // Stop()

  // Ends event streams (within about a second), stops listening and joins.
  void Stop();

  int port() const;
  bool tls() const;
  // "http://127.0.0.1:7480/" or "https://...".
  std::string url() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "127.0.0.1:7480" / "[::1]:7480" / "localhost:0" -> host, port.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address);
// 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_HTTP_SERVER_H_
