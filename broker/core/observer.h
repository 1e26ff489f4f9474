// What the broker's components report as they work, for the operators'
// views (admin API, metrics, dashboard). Metadata only, by construction:
// the hooks take ids, endpoint ids, kinds, sizes, codes, outcomes, rule ids
// and durations — never a payload, a name, an identifier or a case
// reference. All hooks are called from many threads and must be quick and
// thread-safe; the default implementation does nothing.
#ifndef LIAISON_BROKER_CORE_OBSERVER_H_
#define LIAISON_BROKER_CORE_OBSERVER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "liaison/v1/common.pb.h"

namespace liaison::broker {

// What a FlowEvent reports. The label (FlowStepLabel) is what metrics, the
// admin API and the dashboard show.
enum class FlowStep {
  kDecided,                // the policy stage decided on arrival
  kReleased,               // a held message was decided again and released
  kHoldTimeout,            // a hold ran out without a decision
  kExpiredBeforeDelivery,  // the message expired before it could be delivered
};
const char* FlowStepLabel(FlowStep step);  // "decided", "released", ...

// Where Kafka lost records before the broker read them (or, for kForged, where
// a record was refused as forged). The label is the metrics' topic_kind.
enum class LossSource {
  kIngress,  // liaison.ingress
  kDeliver,  // a liaison.deliver.<endpoint> topic
  kForged,   // an ingress control record whose signature did not verify
};
const char* LossSourceLabel(LossSource source);  // "ingress", "deliver", "forged"

// One decided (message, recipient) pair (also hold releases, hold timeouts,
// expiries). Metadata only.
struct FlowEvent {
  std::string message_id;
  liaison::v1::Kind kind = liaison::v1::KIND_UNSPECIFIED;
  std::string sender;
  std::string recipient;
  size_t bytes = 0;
  liaison::v1::Outcome outcome = liaison::v1::OUTCOME_UNSPECIFIED;
  // The rules that decided `outcome` (policy::Decision::deciding_rules):
  // for ALLOW, those that attached obligations. Rules that only evaluated,
  // or redacted under a REJECT, are not named.
  std::vector<std::string> rule_ids;
  absl::Time accepted_at;
  absl::Time decided_at;
  FlowStep step = FlowStep::kDecided;
};

class Observer {
 public:
  virtual ~Observer() = default;

  // The front door answered a send: `code` OK (accepted; `duplicate` when the
  // id was known) or the refusal's code. `sender` is the TLS peer's id
  // (empty when unauthenticated); `bytes` the signed message size.
  virtual void OnSend(const std::string& /*sender*/, absl::StatusCode /*code*/, bool /*duplicate*/,
                      size_t /*bytes*/) {}
  // A Kafka write the front door waited for (produce -> acknowledgement).
  virtual void OnIngressProduce(absl::Duration /*latency*/, bool /*ok*/) {}
  // The policy stage decided (or a hold/expiry was resolved).
  virtual void OnFlow(const FlowEvent& /*event*/) {}
  // An item was pushed to a Subscribe stream / acknowledged by its endpoint.
  // `since_accepted`: from the front door's acceptance to now (deliveries
  // only; zero for notices and receipts).
  virtual void OnDelivered(const std::string& /*endpoint*/, bool /*is_delivery*/) {}
  virtual void OnAcknowledged(const std::string& /*endpoint*/, bool /*is_delivery*/,
                              absl::Duration /*since_accepted*/) {}
  // Kafka lost `records` of a topic before they were read.
  virtual void OnLoss(LossSource /*source*/, int64_t /*records*/) {}
  // A gRPC call finished: "liaison.v1.Exchange/Send", status code.
  virtual void OnRpc(const std::string& /*method*/, absl::StatusCode /*code*/) {}
  // A record of a state topic (`topic`, e.g. liaison.registry.ids) could
  // not be read into its book and was skipped (logged with its position).
  virtual void OnStateRecordSkipped(const std::string& /*topic*/) {}
  // Kafka refused to commit the offsets of consumer group `group` (logged
  // with the error); the records are read again after a rebalance.
  virtual void OnCommitFailed(const std::string& /*group*/) {}
  // The evidence keeper asked Kafka to delete the head of a partition of
  // the evidence chunk topic: `outcome` "deleted" (`records` records gone),
  // "unsupported" (the cluster has no DeleteRecords: the embedded mock) or
  // "failed" (logged; tried again).
  virtual void OnEvidenceChunkDeletion(const std::string& /*outcome*/, int64_t /*records*/) {}
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_OBSERVER_H_
