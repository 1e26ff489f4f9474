// Probes the Kafka cluster in the background for operators' views: is it
// reachable, how far behind are the policy stage's and each endpoint's
// consumer groups, how many records the audit topic holds. Reads no record.
//
// The figures are cluster-wide (any node sees the same) and at most one
// probe interval old. Thread-safe; one thread of its own.
#ifndef LIAISON_BROKER_OPERATORS_CLUSTER_MONITOR_H_
#define LIAISON_BROKER_OPERATORS_CLUSTER_MONITOR_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "broker/core/topics.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/cluster_probe.h"

namespace liaison::broker {

struct ClusterSnapshot {
  bool probed = false;  // at least one probe finished
  bool reachable = false;
  std::string error;  // why not reachable (status code and librdkafka's text)
  absl::Time checked_at;
  struct Lag {
    std::string topic;
    std::string group;
    std::string endpoint;  // for delivery topics
    int64_t records = -1;  // -1 = could not be read
  };
  std::vector<Lag> lags;  // the policy group first, then one per endpoint
  int64_t audit_records = -1;
};

class ClusterMonitor {
 public:
  using EndpointsProvider = std::function<std::vector<std::string>()>;
  ClusterMonitor(kafka::ClientConfig kafka, Topics topics, EndpointsProvider endpoints,
                 absl::Duration interval);
  ~ClusterMonitor();  // Stop()

  // Probes once now (so the first views have figures), then every interval.
  void Start();
  void Stop();

  ClusterSnapshot Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  // Probes now and waits for it (tests; the admin views use the snapshot).
  void ProbeNow() ABSL_LOCKS_EXCLUDED(probe_mu_, mu_);

 private:
  void Loop();

  const kafka::ClientConfig kafka_;
  const Topics topics_;
  const EndpointsProvider endpoints_;
  const absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;

  absl::Mutex probe_mu_;  // one probe at a time
  std::unique_ptr<kafka::ClusterProbe> probe_ ABSL_GUARDED_BY(probe_mu_);

  mutable absl::Mutex mu_;
  ClusterSnapshot snapshot_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_CLUSTER_MONITOR_H_
