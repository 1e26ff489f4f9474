// The operators' views of one broker node, as liaison.v1 admin messages
// (admin.proto) and Prometheus text. The admin gRPC service and the HTTP
// server both answer from here, so what operators can see is decided in one
// place, and by construction: the admin messages have no field that could
// hold content, and everything here is built from metadata (observer hooks,
// delivery figures, hold metadata, versions, Kafka offsets).
//
// Thread-safe; every call reads the components' current state.
#ifndef LIAISON_BROKER_OPERATORS_OPERATOR_VIEWS_H_
#define LIAISON_BROKER_OPERATORS_OPERATOR_VIEWS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/frontdoor/exchange_service.h"
#include "broker/frontdoor/ingress.h"
#include "broker/operators/cluster_monitor.h"
#include "broker/operators/operations.h"
#include "broker/stage/audit.h"
#include "broker/stage/hold_book.h"
#include "broker/stage/policy_stage.h"
#include "broker/state/linkage_book.h"
#include "liaison/v1/admin.pb.h"
#include "policy/chain.h"

namespace liaison::broker {

// What the views read. Nothing is owned; everything must outlive the views.
struct OperatorDeps {
  std::string node_id;
  absl::Time started_at;
  bool embedded_kafka = false;
  bool policy_stage = true;
  ExchangeService* exchange = nullptr;
  const PolicyStage* stage = nullptr;
  const HoldBook* holds = nullptr;
  const ConsentBook* consents = nullptr;
  const AuditLog* audit = nullptr;
  const Ingress* ingress = nullptr;
  std::function<std::shared_ptr<const policy::Chain>()> chain;
  Operations* operations = nullptr;
  const ClusterMonitor* cluster = nullptr;
  // The case-linkage index; null = no linkage view (counted as empty).
  const LinkageBook* linkage = nullptr;
};

class OperatorViews {
 public:
  explicit OperatorViews(OperatorDeps deps) : deps_(std::move(deps)) {}

  liaison::v1::ListEndpointsResponse Endpoints() const;
  // InvalidArgument for a window that is not positive, or more than 10.
  absl::StatusOr<liaison::v1::FlowStatsResponse> Flows(
      const liaison::v1::FlowStatsRequest& request) const;
  liaison::v1::ListHoldsResponse Holds() const;
  liaison::v1::HealthResponse Health() const;
  // Entries per (endpoint, epoch) and the epochs in force: counts only.
  liaison::v1::LinkageIndexResponse Linkage() const;
  // The whole /metrics body (Prometheus text format 0.0.4).
  std::string Metrics() const;

  FlowLog& flow_log() const { return deps_.operations->flows(); }
  Operations& operations() const { return *deps_.operations; }

 private:
  const OperatorDeps deps_;
};

// One FlowLog record as the admin API shows it.
liaison::v1::FlowEventInfo ToFlowEventInfo(const FlowRecord& record);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_OPERATOR_VIEWS_H_
