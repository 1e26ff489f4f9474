// One broker node, assembled: Kafka (real or embedded), state mirrored from
// Kafka, the front door, the policy stage, delivery, and the gRPC server.
// main.cc and the integration tests start it the same way.
#ifndef LIAISON_BROKER_BROKER_H_
#define LIAISON_BROKER_BROKER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/config.h"
#include "connectors/kafka/embedded_cluster.h"

namespace liaison::broker {

class Broker {
 public:
  // Starts everything and returns once the node serves. Errors name the
  // file or setting at fault.
  static absl::StatusOr<std::unique_ptr<Broker>> Start(BrokerConfig config);
  // Shuts down (see Shutdown).
  ~Broker();

  // Stops taking calls, ends streams, finishes in-flight Kafka writes, stops
  // the stages. Idempotent.
  void Shutdown();

  // Waits until the policy stage owns ingress partitions (the consumer
  // group's first join takes seconds). OK at once without a policy stage.
  absl::Status WaitReady(absl::Duration timeout);

  // Re-reads the registry file and returns the result; on error the old
  // registry stays in force. Like every reload, it runs on the node's one
  // config watcher thread (config_watcher.h); this call waits for it.
  absl::Status ReloadRegistry();
  // Re-reads the CRL file (same thread), and returns the result.
  absl::Status ReloadCrl();
  // Asks the config watcher to re-read both and log the outcome
  // (`broker.reload`); returns at once. main.cc calls it on SIGHUP.
  void RequestReload();

  int port() const;
  // The node's name: its broker certificate's common name (each node of a
  // network needs a certificate of its own to be told apart in the audit).
  const std::string& node_id() const;
  // The ingress partitions this node's policy stage owns now (empty without
  // a policy stage).
  std::vector<int32_t> OwnedIngressPartitions() const;
  const std::string& bootstrap_servers() const;
  // The in-process mock cluster, or null on a real cluster. Tests use it for
  // fault injection.
  kafka::EmbeddedCluster* embedded_cluster() const;

  // The operators' listeners (docs/operators.md): the admin gRPC port (0 when
  // off) and the dashboard's base URL, e.g. "http://127.0.0.1:7480/" ("" when
  // off).
  int admin_port() const;
  std::string http_url() const;
  // Probes Kafka (reachability, consumer lag) now instead of waiting for the
  // next probe interval.
  void ProbeKafkaForTest();
  // The policy stage writes in Kafka transactions (exactly once, real Kafka).
  bool PolicyTransactional() const;
  // Test hooks of the transactional policy stage (FailedPrecondition when it
  // does not write in transactions): the next transaction that would commit
  // is aborted (and written again in the next one), or left open as by a
  // crash (the stage then writes nothing more and stops consuming).
  absl::Status AbortNextTransactionForTest();
  absl::Status AbandonNextTransactionForTest();
  // The case-linkage index this node holds: live entries per (endpoint,
  // epoch). Counts only, as operators see them.
  std::map<std::pair<std::string, uint32_t>, int64_t> LinkageCounts() const;

  struct Impl;

 private:
  explicit Broker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_BROKER_H_
