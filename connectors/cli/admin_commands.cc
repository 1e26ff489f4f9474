#include "connectors/cli/admin_commands.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <deque>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/file.h"
#include "connectors/cli/admin_render.h"
#include "connectors/cli/exit_codes.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "liaison/v1/admin.grpc.pb.h"

namespace liaison::cli {
namespace {

using liaison::v1::Admin;

std::atomic<bool> interrupted{false};

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// The admin channel: mutual TLS with the operator's certificate.
absl::StatusOr<std::unique_ptr<Admin::Stub>> Connect(Connection& c) {
  c.target_field = "admin_target";
  if (absl::Status s = c.Resolve(); !s.ok()) return s;
  if (absl::Status s = c.ResolveIdentity(Connection::Role::kOperator); !s.ok()) return s;
  const std::string dir = absl::StrCat(c.pki_dir, "/operators/", c.as);
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadFile(c.pki_dir + "/ca.pem");
  if (!ca.ok()) return ca.status();
  absl::StatusOr<std::string> cert = ReadFile(dir + "/tls.pem");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(dir + "/tls.key");
  if (!key.ok()) return key.status();
  ssl.pem_root_certs = *ca;
  ssl.pem_cert_chain = *cert;
  ssl.pem_private_key = *key;
  return Admin::NewStub(grpc::CreateChannel(c.target, grpc::SslCredentials(ssl)));
}

void Deadline(grpc::ClientContext& context) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
}

std::string Json(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = pretty;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// One unary call, printed as a table or JSON.
template <typename Request, typename Response, typename Call, typename Render>
int RunUnary(AdminArgs& args, const Request& request, Call call, Render render) {
  absl::StatusOr<std::unique_ptr<Admin::Stub>> stub = Connect(args.connection);
  if (!stub.ok()) return Fail(stub.status());
  grpc::ClientContext context;
  Deadline(context);
  Response response;
  grpc::Status status = call(stub->get(), &context, request, &response);
  if (!status.ok()) return Fail(FromGrpc(status));
  std::cout << (args.json ? Json(response, true) + "\n" : render(response)) << std::flush;
  return 0;
}

liaison::v1::FlowStatsRequest FlowsRequest(const std::vector<int64_t>& windows) {
  liaison::v1::FlowStatsRequest request;
  for (int64_t seconds : windows) request.add_windows()->set_seconds(seconds);
  return request;
}

// Reads a WatchFlows stream on a thread of its own into a bounded buffer.
class EventReader {
 public:
  EventReader(Admin::Stub* stub, unsigned replay) {
    liaison::v1::WatchFlowsRequest request;
    request.set_replay(replay);
    reader_ = stub->WatchFlows(&context_, request);
    thread_ = std::thread([this] {
      liaison::v1::FlowEventInfo event;
      while (reader_->Read(&event)) {
        absl::MutexLock lock(&mu_);
        events_.push_back(event);
        while (events_.size() > 1000) events_.pop_front();
      }
      absl::MutexLock lock(&mu_);
      status_ = FromGrpc(reader_->Finish());
      done_ = true;
    });
  }
  ~EventReader() {
    context_.TryCancel();
    thread_.join();
  }
  // Events read since the last call.
  std::deque<liaison::v1::FlowEventInfo> Take() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::deque<liaison::v1::FlowEventInfo> out;
    out.swap(events_);
    return out;
  }
  // Waits for events or the end of the stream, at most `timeout`.
  void Wait(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || !events_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  }
  // The stream's status once it ended; OK while it runs.
  std::pair<bool, absl::Status> Ended() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return {done_, status_};
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<liaison::v1::FlowEventInfo>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::deque<liaison::v1::FlowEventInfo> events_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

void OnInterrupt() {
  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });
}

int RunWatch(AdminArgs& args) {
  absl::StatusOr<std::unique_ptr<Admin::Stub>> stub = Connect(args.connection);
  if (!stub.ok()) return Fail(stub.status());
  OnInterrupt();
  EventReader reader(stub->get(), args.replay);
  int printed = 0;
  while (!interrupted && (args.count == 0 || printed < args.count)) {
    reader.Wait(absl::Milliseconds(200));
    for (const liaison::v1::FlowEventInfo& e : reader.Take()) {
      std::cout << (args.json ? Json(e, false) : RenderEvent(e)) << std::endl;
      if (args.count > 0 && ++printed >= args.count) break;
    }
    if (auto [done, status] = reader.Ended(); done) {
      return status.ok() ? 0 : Fail(status);
    }
  }
  return 0;
}

int RunTop(AdminArgs& args) {
  absl::StatusOr<std::unique_ptr<Admin::Stub>> stub = Connect(args.connection);
  if (!stub.ok()) return Fail(stub.status());
  OnInterrupt();
  EventReader reader(stub->get(), args.replay);
  const bool clear = !args.json && isatty(STDOUT_FILENO);
  TopView view;
  const absl::Duration interval = absl::Seconds(std::max(0.1, args.interval_seconds));
  for (int i = 0; !interrupted && (args.iterations == 0 || i < args.iterations); ++i) {
    const absl::Time next = absl::Now() + interval;
    grpc::Status status;
    {
      grpc::ClientContext c;
      Deadline(c);
      status = (*stub)->GetHealth(&c, {}, &view.health);
    }
    if (status.ok()) {
      grpc::ClientContext c;
      Deadline(c);
      status = (*stub)->ListEndpoints(&c, {}, &view.endpoints);
    }
    if (status.ok()) {
      grpc::ClientContext c;
      Deadline(c);
      status = (*stub)->GetFlowStats(&c, FlowsRequest({60}), &view.flows);
    }
    if (status.ok()) {
      grpc::ClientContext c;
      Deadline(c);
      status = (*stub)->ListHolds(&c, {}, &view.holds);
    }
    if (!status.ok()) return Fail(FromGrpc(status));
    for (liaison::v1::FlowEventInfo& e : reader.Take()) view.events.push_back(std::move(e));
    while (view.events.size() > 15) view.events.pop_front();
    if (args.json) {
      // One JSON object per screen (JSON lines).
      std::string events;
      for (const liaison::v1::FlowEventInfo& e : view.events) {
        absl::StrAppend(&events, events.empty() ? "" : ",", Json(e, false));
      }
      std::cout << "{\"health\":" << Json(view.health, false)
                << ",\"endpoints\":" << Json(view.endpoints, false)
                << ",\"flows\":" << Json(view.flows, false)
                << ",\"holds\":" << Json(view.holds, false) << ",\"events\":[" << events << "]}"
                << std::endl;
    } else {
      if (clear) std::cout << "\x1b[H\x1b[2J";
      std::cout << RenderTop(view) << std::flush;
    }
    if (args.iterations != 0 && i + 1 >= args.iterations) break;
    while (!interrupted && absl::Now() < next) absl::SleepFor(absl::Milliseconds(50));
  }
  return 0;
}

void AddFlags(CLI::App* cmd, AdminArgs& args) {
  Connection& c = args.connection;
  cmd->add_option("--as", c.as,
                  "Operator id: a folder of <pki>/operators/ (e.g. ops-duty-1; any case)")
      ->required();
  cmd->add_option("--state-dir", c.state_dir,
                  "State folder of the broker (reads admin_target and pki_dir in broker.json)")
      ->capture_default_str();
  cmd->add_option("--target", c.target,
                  "Admin listener host:port (default: admin_target in broker.json)");
  cmd->add_option("--pki", c.pki_dir, "PKI folder (default: from broker.json)");
  cmd->add_flag("--json", args.json, "Print protobuf JSON instead of a table");
}

}  // namespace

void AddAdminCommands(CLI::App& app, AdminArgs& args, int& exit_code) {
  CLI::App* admin = app.add_subcommand(
      "admin", "Operators: the broker's state and message flow, from metadata only");
  admin->require_subcommand(1);

  CLI::App* endpoints = admin->add_subcommand(
      "endpoints", "Endpoints: subscribers, backlog, pending in Kafka, delivered/acked, last seen");
  AddFlags(endpoints, args);
  endpoints->callback([&] {
    exit_code = RunUnary<liaison::v1::ListEndpointsRequest, liaison::v1::ListEndpointsResponse>(
        args, {},
        [](Admin::Stub* s, grpc::ClientContext* c, const auto& req, auto* res) {
          return s->ListEndpoints(c, req, res);
        },
        RenderEndpoints);
  });

  CLI::App* flows = admin->add_subcommand(
      "flows", "Decisions by sender → recipient, kind and outcome, and by rule, over windows");
  AddFlags(flows, args);
  flows->add_option("--window", args.windows,
                    "Window in seconds (repeatable; default 60 900 3600)");
  flows->callback([&] {
    exit_code = RunUnary<liaison::v1::FlowStatsRequest, liaison::v1::FlowStatsResponse>(
        args, FlowsRequest(args.windows),
        [](Admin::Stub* s, grpc::ClientContext* c, const auto& req, auto* res) {
          return s->GetFlowStats(c, req, res);
        },
        RenderFlows);
  });

  CLI::App* holds = admin->add_subcommand("holds", "Held and delayed messages awaiting consent");
  AddFlags(holds, args);
  holds->callback([&] {
    exit_code = RunUnary<liaison::v1::ListHoldsRequest, liaison::v1::ListHoldsResponse>(
        args, {},
        [](Admin::Stub* s, grpc::ClientContext* c, const auto& req, auto* res) {
          return s->ListHolds(c, req, res);
        },
        RenderHolds);
  });

  CLI::App* health = admin->add_subcommand(
      "health", "Kafka reachable, consumer lag, policy and registry versions, node, uptime");
  AddFlags(health, args);
  health->callback([&] {
    exit_code = RunUnary<liaison::v1::HealthRequest, liaison::v1::HealthResponse>(
        args, {},
        [](Admin::Stub* s, grpc::ClientContext* c, const auto& req, auto* res) {
          return s->GetHealth(c, req, res);
        },
        RenderHealth);
  });

  CLI::App* linkage = admin->add_subcommand(
      "linkage", "Case-linkage index: entries per endpoint and key epoch, epochs in force");
  AddFlags(linkage, args);
  linkage->callback([&] {
    exit_code = RunUnary<liaison::v1::LinkageIndexRequest, liaison::v1::LinkageIndexResponse>(
        args, {},
        [](Admin::Stub* s, grpc::ClientContext* c, const auto& req, auto* res) {
          return s->GetLinkageIndex(c, req, res);
        },
        RenderLinkage);
  });

  CLI::App* watch = admin->add_subcommand("watch", "Print decisions as they happen");
  AddFlags(watch, args);
  watch->add_option("--count", args.count, "Stop after this many events");
  watch->add_option("--replay", args.replay, "Recent events to print first")->capture_default_str();
  watch->callback([&] { exit_code = RunWatch(args); });

  CLI::App* top = admin->add_subcommand(
      "top", "Live view refreshing every second until Ctrl-C (or --iterations)");
  AddFlags(top, args);
  top->add_option("--iterations", args.iterations, "Screens to draw, then exit");
  top->add_option("--interval", args.interval_seconds, "Seconds between screens")
      ->capture_default_str();
  top->add_option("--replay", args.replay, "Recent events to show at start")->capture_default_str();
  top->callback([&] { exit_code = RunTop(args); });
}

}  // namespace liaison::cli
