#include "broker/operators/admin_service.h"

#include <deque>

#include "base/log.h"

namespace liaison::broker {
namespace {

constexpr char kListEndpoints[] = "liaison.v1.Admin/ListEndpoints";
constexpr char kGetFlowStats[] = "liaison.v1.Admin/GetFlowStats";
constexpr char kWatchFlows[] = "liaison.v1.Admin/WatchFlows";
constexpr char kListHolds[] = "liaison.v1.Admin/ListHolds";
constexpr char kGetHealth[] = "liaison.v1.Admin/GetHealth";
constexpr char kGetLinkageIndex[] = "liaison.v1.Admin/GetLinkageIndex";

// Events waiting for a slow watcher; beyond this new ones are skipped (the
// watcher sees the seq jump).
constexpr size_t kMaxQueued = 1000;
constexpr uint32_t kMaxReplay = 1000;

class RefusedWatch final : public grpc::ServerWriteReactor<liaison::v1::FlowEventInfo> {
 public:
  explicit RefusedWatch(const absl::Status& status) { Finish(ToGrpc(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

// One WatchFlows stream. The FlowLog calls the listener (under the log's
// lock) for every new event; writes go out one at a time from a bounded queue.
// Lock order: FlowLog → Watcher::mu_, and AdminService::mu_ → Watcher::mu_.
class AdminService::Watcher final : public grpc::ServerWriteReactor<liaison::v1::FlowEventInfo> {
 public:
  Watcher(AdminService* service, uint32_t replay) : service_(service) {
    FlowLog& log = service_->views().flow_log();
    listener_ = log.AddListener([this](const FlowRecord& r) { Push(ToFlowEventInfo(r)); });
    // Replay what happened before the listener was added; whatever the
    // listener already queued is newer and stays behind it.
    std::vector<FlowRecord> recent = log.Recent(std::min(replay, kMaxReplay));
    absl::MutexLock lock(&mu_);
    const uint64_t first_live = queue_.empty() ? UINT64_MAX : queue_.front().seq();
    for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
      if (it->seq < first_live) queue_.push_front(ToFlowEventInfo(*it));
    }
    WriteNext();
  }

  void End(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!queue_.empty()) queue_.pop_front();
    if (!ok) {
      FinishLocked(absl::UnavailableError("write failed"));
      return;
    }
    WriteNext();
  }

  void OnCancel() override { End(absl::CancelledError("cancelled by the caller")); }

  void OnDone() override {
    service_->views().flow_log().RemoveListener(listener_);
    service_->Forget(this);
    delete this;
  }

 private:
  void Push(liaison::v1::FlowEventInfo event) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (queue_.size() >= kMaxQueued) return;
    queue_.push_back(std::move(event));
    WriteNext();
  }

  void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || queue_.empty()) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void FinishLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    service_->Report(kWatchFlows, status.code());
    Finish(ToGrpc(status));
  }

  AdminService* const service_;
  uint64_t listener_ = 0;
  absl::Mutex mu_;
  std::deque<liaison::v1::FlowEventInfo> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

AdminService::AdminService(const OperatorViews* views, const PeerAuthenticator* peers,
                           Observer* observer)
    : views_(views), peers_(peers), observer_(observer) {}

AdminService::~AdminService() { Shutdown(); }

void AdminService::Report(const char* method, absl::StatusCode code) const {
  if (observer_ != nullptr) observer_->OnRpc(method, code);
}

bool AdminService::Admit(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                         const char* method) const {
  absl::StatusOr<certs::Identity> peer = peers_->Authenticate(*context, certs::Role::kOperator);
  if (peer.ok()) return true;
  log::Warning("admin.refused", {{"method", method},
                                 {"code", absl::StatusCodeToString(peer.status().code())},
                                 {"error", peer.status().message()}});
  Report(method, peer.status().code());
  reactor->Finish(ToGrpc(peer.status()));
  return false;
}

grpc::ServerUnaryReactor* AdminService::ListEndpoints(
    grpc::CallbackServerContext* context, const liaison::v1::ListEndpointsRequest* /*request*/,
    liaison::v1::ListEndpointsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Admit(context, reactor, kListEndpoints)) return reactor;
  *response = views_->Endpoints();
  Report(kListEndpoints, absl::StatusCode::kOk);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetFlowStats(grpc::CallbackServerContext* context,
                                                     const liaison::v1::FlowStatsRequest* request,
                                                     liaison::v1::FlowStatsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Admit(context, reactor, kGetFlowStats)) return reactor;
  absl::StatusOr<liaison::v1::FlowStatsResponse> stats = views_->Flows(*request);
  Report(kGetFlowStats, stats.status().code());
  if (!stats.ok()) {
    reactor->Finish(ToGrpc(stats.status()));
    return reactor;
  }
  *response = *std::move(stats);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<liaison::v1::FlowEventInfo>* AdminService::WatchFlows(
    grpc::CallbackServerContext* context, const liaison::v1::WatchFlowsRequest* request) {
  absl::StatusOr<certs::Identity> peer = peers_->Authenticate(*context, certs::Role::kOperator);
  if (!peer.ok()) {
    log::Warning("admin.refused", {{"method", kWatchFlows},
                                   {"code", absl::StatusCodeToString(peer.status().code())},
                                   {"error", peer.status().message()}});
    Report(kWatchFlows, peer.status().code());
    return new RefusedWatch(peer.status());
  }
  absl::MutexLock lock(&mu_);
  if (shut_down_) {
    Report(kWatchFlows, absl::StatusCode::kUnavailable);
    return new RefusedWatch(absl::UnavailableError("broker is shutting down"));
  }
  auto* watcher = new Watcher(this, request->replay());
  watchers_.insert(watcher);
  log::Info("admin.watch_started", {{"operator", peer->id}});
  return watcher;
}

grpc::ServerUnaryReactor* AdminService::ListHolds(grpc::CallbackServerContext* context,
                                                  const liaison::v1::ListHoldsRequest* /*request*/,
                                                  liaison::v1::ListHoldsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Admit(context, reactor, kListHolds)) return reactor;
  *response = views_->Holds();
  Report(kListHolds, absl::StatusCode::kOk);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetHealth(grpc::CallbackServerContext* context,
                                                  const liaison::v1::HealthRequest* /*request*/,
                                                  liaison::v1::HealthResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Admit(context, reactor, kGetHealth)) return reactor;
  *response = views_->Health();
  Report(kGetHealth, absl::StatusCode::kOk);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetLinkageIndex(
    grpc::CallbackServerContext* context, const liaison::v1::LinkageIndexRequest* /*request*/,
    liaison::v1::LinkageIndexResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Admit(context, reactor, kGetLinkageIndex)) return reactor;
  *response = views_->Linkage();
  Report(kGetLinkageIndex, absl::StatusCode::kOk);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void AdminService::Forget(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

void AdminService::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
  for (Watcher* w : watchers_) w->End(absl::UnavailableError("broker is shutting down"));
}

}  // namespace liaison::broker
