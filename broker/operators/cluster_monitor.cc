#include "broker/operators/cluster_monitor.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"

namespace liaison::broker {
namespace {

constexpr absl::Duration kRequestTimeout = absl::Seconds(2);
// A probe round gives up on the remaining topics after this (a broker down:
// every look-up that needs it times out); their figures stay unknown.
constexpr absl::Duration kRoundBudget = absl::Seconds(10);

}  // namespace

ClusterMonitor::ClusterMonitor(kafka::ClientConfig kafka, Topics topics,
                               EndpointsProvider endpoints, absl::Duration interval)
    : kafka_(std::move(kafka)),
      topics_(std::move(topics)),
      endpoints_(std::move(endpoints)),
      interval_(interval) {}

ClusterMonitor::~ClusterMonitor() { Stop(); }

void ClusterMonitor::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void ClusterMonitor::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

ClusterSnapshot ClusterMonitor::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void ClusterMonitor::Loop() {
  do {
    ProbeNow();
  } while (!stop_.WaitForNotificationWithTimeout(interval_));
}

void ClusterMonitor::ProbeNow() {
  absl::MutexLock probe_lock(&probe_mu_);
  ClusterSnapshot next;
  next.probed = true;
  if (probe_ == nullptr) {
    absl::StatusOr<std::unique_ptr<kafka::ClusterProbe>> probe =
        kafka::ClusterProbe::Create(kafka_);
    if (!probe.ok()) {
      next.error = probe.status().ToString();
    } else {
      probe_ = *std::move(probe);
    }
  }
  if (probe_ != nullptr) {
    absl::StatusOr<int> partitions = probe_->Partitions(topics_.Ingress(), kRequestTimeout);
    next.reachable = partitions.ok();
    if (!partitions.ok()) next.error = partitions.status().ToString();
  }
  if (next.reachable) {
    kafka::ClusterProbe* probe = probe_.get();
    const absl::Time give_up = absl::Now() + kRoundBudget;
    auto lag = [&, probe](const std::string& topic, const std::string& group,
                          const std::string& endpoint) {
      ClusterSnapshot::Lag l{topic, group, endpoint, -1};
      if (absl::Now() > give_up || stop_.HasBeenNotified()) {
        next.lags.push_back(std::move(l));
        return;
      }
      absl::StatusOr<int64_t> records = probe->GroupLag(group, topic, kRequestTimeout);
      if (records.ok()) {
        l.records = *records;
      } else {
        log::Debug("operations.lag_unknown",
                   {{"topic", topic}, {"error", records.status().ToString()}});
      }
      next.lags.push_back(std::move(l));
    };
    lag(topics_.Ingress(), topics_.PolicyGroup(), "");
    for (const std::string& endpoint : endpoints_()) {
      lag(topics_.Deliver(endpoint), topics_.DeliverGroup(endpoint), endpoint);
    }
    if (absl::Now() <= give_up && !stop_.HasBeenNotified()) {
      absl::StatusOr<int64_t> audit = probe_->Records(topics_.Audit(), kRequestTimeout);
      if (audit.ok()) next.audit_records = *audit;
    }
  }
  next.checked_at = absl::Now();
  bool was_reachable;
  bool had_probe;
  {
    absl::MutexLock lock(&mu_);
    was_reachable = snapshot_.reachable;
    had_probe = snapshot_.probed;
    snapshot_ = next;
  }
  if (had_probe && was_reachable != next.reachable) {
    if (next.reachable) {
      log::Info("operations.kafka_reachable");
    } else {
      log::Error("operations.kafka_unreachable", {{"error", next.error}});
    }
  }
}

}  // namespace liaison::broker
