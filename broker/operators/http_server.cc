#include "broker/operators/http_server.h"

#include <httplib.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "broker/operators/dashboard/assets.h"
#include "certs/tls_server.h"
#include "google/protobuf/util/json_util.h"

namespace liaison::broker {
namespace {

constexpr size_t kMaxBatch = 200;
constexpr uint32_t kDefaultReplay = 50;
constexpr uint32_t kMaxReplay = 1000;
// A vanished browser is noticed on the next write: keep-alive comments free
// its stream slot within seconds.
constexpr absl::Duration kKeepAliveComment = absl::Seconds(5);

const std::set<std::string>& KnownPaths() {
  static const auto* paths =
      new std::set<std::string>{"/",           "/metrics",    "/api/endpoints", "/api/flows",
                                "/api/holds",  "/api/health", "/api/linkage",   "/api/recent",
                                "/api/events", "/index.html", "/dashboard.js",  "/dashboard.css"};
  return *paths;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  std::string host;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("address '", address, "': expected [v6]:port"));
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("address '", address, "': expected host:port"));
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  int n = 0;
  if (!absl::SimpleAtoi(port, &n) || n < 0 || n > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address '", address, "': bad port"));
  }
  return std::make_pair(host, n);
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(host.data(), host.size()), '.');
  int first = 0;
  return parts.size() == 4 && absl::SimpleAtoi(parts[0], &first) && first == 127;
}

struct HttpServer::Impl {
  HttpServerOptions options;
  const OperatorViews* views = nullptr;
  const PeerAuthenticator* peers = nullptr;
  std::string host;
  int port = 0;
  bool tls = false;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> streams{0};

  void Routes();
  httplib::Server::HandlerResponse Authenticate(const httplib::Request& req,
                                                httplib::Response& res) const;
  void Events(const httplib::Request& req, httplib::Response& res);
};

httplib::Server::HandlerResponse HttpServer::Impl::Authenticate(const httplib::Request& req,
                                                                httplib::Response& res) const {
  if (!tls) return httplib::Server::HandlerResponse::Unhandled;
  absl::StatusOr<certs::Identity> peer =
      peers->AuthenticatePem(certs::PeerCertificatePem(req.ssl), certs::Role::kOperator);
  if (peer.ok()) return httplib::Server::HandlerResponse::Unhandled;
  res.status = peer.status().code() == absl::StatusCode::kUnauthenticated ? 401 : 403;
  res.set_content(absl::StrCat(peer.status().message(), "\n"), "text/plain; charset=utf-8");
  log::Warning("http.refused", {{"code", absl::StatusCodeToString(peer.status().code())},
                                {"error", peer.status().message()}});
  return httplib::Server::HandlerResponse::Handled;
}

void HttpServer::Impl::Events(const httplib::Request& req, httplib::Response& res) {
  if (streams.fetch_add(1) >= options.max_event_streams) {
    --streams;
    res.status = 503;
    res.set_content("too many event streams open\n", "text/plain; charset=utf-8");
    return;
  }
  FlowLog& log = views->flow_log();
  const uint64_t last = log.last_seq();
  uint64_t replay = kDefaultReplay;
  if (req.has_param("replay")) {
    uint32_t n = 0;
    if (absl::SimpleAtoi(req.get_param_value("replay"), &n)) replay = std::min(n, kMaxReplay);
  }
  uint64_t after = last > replay ? last - replay : 0;
  // A reconnecting browser resumes after the last event it saw.
  if (req.has_header("Last-Event-ID")) {
    uint64_t id = 0;
    if (absl::SimpleAtoi(req.get_header_value("Last-Event-ID"), &id) && id <= last) after = id;
  }
  struct Stream {
    uint64_t after;
    bool started = false;
    absl::Time last_write = absl::Now();
  };
  auto state = std::make_shared<Stream>(Stream{after});
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, state, &log](size_t /*offset*/, httplib::DataSink& sink) {
        std::string out;
        if (!state->started) {
          state->started = true;
          out = "retry: 2000\n\n";
        }
        std::vector<FlowRecord> batch = log.Since(state->after, kMaxBatch);
        if (batch.empty() && out.empty()) {
          const bool more = log.WaitAfter(state->after, absl::Seconds(1));
          if (stopping.load() || log.closed()) {
            sink.done();
            return true;
          }
          if (more) batch = log.Since(state->after, kMaxBatch);
        }
        for (const FlowRecord& r : batch) {
          absl::StrAppend(&out, "id: ", r.seq, "\nevent: flow\ndata: ", ToJson(ToFlowEventInfo(r)),
                          "\n\n");
          state->after = r.seq;
        }
        if (out.empty() && absl::Now() - state->last_write > kKeepAliveComment) {
          out = ": keep-alive\n\n";
        }
        if (out.empty()) return true;
        state->last_write = absl::Now();
        return sink.write(out.data(), out.size());
      },
      [this](bool /*success*/) { --streams; });
}

void HttpServer::Impl::Routes() {
  httplib::Server& s = *server;
  s.set_default_headers({
      {"Cache-Control", "no-store"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
  });
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return Authenticate(req, res);
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    // Request paths are logged only when they are ours: the rest of a URL is
    // whatever a client typed.
    const std::string handler = KnownPaths().count(req.path) > 0 ? req.path : "(other)";
    views->operations().OnHttp(handler, res.status);
    log::Debug("http.request",
               {{"method", req.method}, {"handler", handler}, {"status", res.status}});
  });

  for (const DashboardAsset& asset : DashboardAssets()) {
    auto serve = [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(asset.body), std::string(asset.content_type));
    };
    s.Get(std::string(asset.path), serve);
    if (asset.path == "/index.html") s.Get("/", serve);
  }
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(views->Metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/api/endpoints", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(ToJson(views->Endpoints()), "application/json");
  });
  s.Get("/api/holds", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(ToJson(views->Holds()), "application/json");
  });
  s.Get("/api/linkage", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(ToJson(views->Linkage()), "application/json");
  });
  s.Get("/api/health", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(ToJson(views->Health()), "application/json");
  });
  s.Get("/api/flows", [this](const httplib::Request& req, httplib::Response& res) {
    // ?windows=60,900,3600 (seconds)
    liaison::v1::FlowStatsRequest request;
    if (req.has_param("windows")) {
      for (absl::string_view part : absl::StrSplit(req.get_param_value("windows"), ',')) {
        int64_t seconds = 0;
        if (!absl::SimpleAtoi(part, &seconds)) {
          res.status = 400;
          res.set_content("windows: comma-separated seconds, e.g. 60,900,3600\n", "text/plain");
          return;
        }
        request.add_windows()->set_seconds(seconds);
      }
    }
    absl::StatusOr<liaison::v1::FlowStatsResponse> flows = views->Flows(request);
    if (!flows.ok()) {
      res.status = 400;
      res.set_content(absl::StrCat(flows.status().message(), "\n"), "text/plain");
      return;
    }
    res.set_content(ToJson(*flows), "application/json");
  });
  s.Get("/api/recent", [this](const httplib::Request& req, httplib::Response& res) {
    uint32_t max = 100;
    if (req.has_param("max")) {
      if (!absl::SimpleAtoi(req.get_param_value("max"), &max)) max = 100;
    }
    std::vector<std::string> events;
    for (const FlowRecord& r : views->flow_log().Recent(std::min(max, kMaxReplay))) {
      events.push_back(ToJson(ToFlowEventInfo(r)));
    }
    res.set_content(absl::StrCat("{\"events\":[", absl::StrJoin(events, ","), "]}"),
                    "application/json");
  });
  s.Get("/api/events",
        [this](const httplib::Request& req, httplib::Response& res) { Events(req, res); });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              const OperatorViews* views,
                                                              const PeerAuthenticator* peers) {
  auto impl = std::make_unique<Impl>();
  absl::StatusOr<std::pair<std::string, int>> address = SplitHostPort(options.listen_address);
  if (!address.ok()) return address.status();
  impl->host = address->first;
  const bool dev = options.embedded_kafka && IsLoopbackHost(impl->host);
  switch (options.security) {
    case HttpSecurity::kAuto:
      impl->tls = !dev;
      break;
    case HttpSecurity::kTls:
      impl->tls = true;
      break;
    case HttpSecurity::kPlain:
      if (!dev) {
        return absl::FailedPreconditionError(
            absl::StrCat("http listener ", options.listen_address,
                         ": plain HTTP is allowed only with embedded Kafka on a loopback address; "
                         "operators must authenticate with their certificate (use TLS)"));
      }
      impl->tls = false;
      break;
  }
  if (impl->tls) {
    const HttpServerOptions& o = options;
    absl::Status configured;
    auto server = std::make_unique<httplib::SSLServer>([&o, &configured](SSL_CTX& ctx) {
      configured = certs::ConfigureMutualTlsServer(
          ctx, {.cert_path = o.cert_path, .key_path = o.key_path, .ca_path = o.ca_path});
      return configured.ok();
    });
    if (!server->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("http TLS: ", configured.ok() ? "the TLS context could not be created"
                                                     : configured.message()));
    }
    impl->server = std::move(server);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  impl->options = std::move(options);
  impl->views = views;
  impl->peers = peers;
  const size_t threads = impl->options.threads;
  impl->server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl->server->set_keep_alive_timeout(2);
  impl->server->set_read_timeout(10);
  impl->server->set_write_timeout(10);
  impl->Routes();

  impl->port =
      address->second == 0
          ? impl->server->bind_to_any_port(impl->host)
          : (impl->server->bind_to_port(impl->host, address->second) ? address->second : -1);
  if (impl->port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", impl->options.listen_address, " (address in use?)"));
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->server->listen_after_bind(); });
  // stop() only takes effect once the server runs: wait for it, so that a
  // Stop right after Start cannot leave the thread in accept() for ever.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!impl->server->is_running() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  auto out = std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  log::Info("http.started", {{"url", out->url()}, {"tls", out->tls()}});
  return out;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (impl_->stopping.exchange(true)) return;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpServer::port() const { return impl_->port; }
bool HttpServer::tls() const { return impl_->tls; }

std::string HttpServer::url() const {
  const std::string host = impl_->host.find(':') != std::string::npos
                               ? absl::StrCat("[", impl_->host, "]")
                               : impl_->host;
  return absl::StrCat(impl_->tls ? "https://" : "http://", host, ":", impl_->port, "/");
}

}  // namespace liaison::broker
